//! An IdP from here, without signing in: its discovery document and signing keys (JWKS) over
//! TLS with its `ca_file`, through the client every sign-in uses, and this computer's clock
//! against the IdP's `Date` (tokens carry times on the IdP's clock).

use tapgate_config::IdpConfig;
use tapgate_idp::{IdpClient, IdpError};

use super::{Check, Status};
use crate::Engine;

/// A skew up to this many seconds passes: `Date` has whole seconds, plus the network's delay.
const SKEW_WARN_SECONDS: i64 = 30;
/// Beyond this, fresh tokens look expired or not yet valid to the servers that check them.
const SKEW_FAIL_SECONDS: i64 = 300;

pub(super) async fn idp(engine: &Engine, idp: &IdpConfig) -> Vec<Check> {
    let name = |check: &str| format!("idp.{}.{check}", idp.name);
    // A client of its own: the engine's may hold the discovery document from an earlier call,
    // and this check is about the IdP now.
    let client = match IdpClient::new(idp, engine.clock().clone()) {
        Ok(client) => client,
        Err(error) => return vec![failure(name("discovery"), idp, &error)],
    };
    let discovery = match client.probe_discovery().await {
        Ok(found) => found,
        Err(error) => return vec![failure(name("discovery"), idp, &error)],
    };
    let mut checks = vec![Check::pass(
        name("discovery"),
        format!("{} answers over TLS and names the issuer {}", discovery.url, idp.issuer),
    )];
    checks.push(match client.probe_jwks().await {
        Ok(jwks) if jwks.keys == 0 => Check::fail(
            name("jwks"),
            format!("{} holds no signing key, so no server can check a token", jwks.url),
            "the IdP must publish its signing keys: check its key settings",
        ),
        Ok(jwks) => Check::pass(
            name("jwks"),
            format!("{} holds {} signing key{}", jwks.url, jwks.keys, super::config::plural(jwks.keys)),
        ),
        Err(error) => failure(name("jwks"), idp, &error),
    });
    checks.push(clock(name("clock"), client.clock_skew().map(|skew| skew.seconds)));
    checks
}

fn failure(name: String, idp: &IdpConfig, error: &IdpError) -> Check {
    let table = format!("[idp.{}]", idp.name);
    let fix = match error {
        IdpError::Unreachable { .. } => format!(
            "check that the IdP is up and that issuer in {table} is right, and that nothing (proxy, firewall) \
             stops https to it"
        ),
        IdpError::Tls { .. } => format!(
            "the IdP's certificate must be trusted and name its host: set ca_file in {table} to the CA \
             certificate (PEM) that signed it if it uses a private CA"
        ),
        IdpError::CaFile { .. } => format!("point ca_file in {table} at a readable PEM file of the IdP's CA"),
        IdpError::BadDiscovery { .. } => {
            format!("check issuer in {table}: it must be exactly the issuer the IdP names itself with")
        }
        _ => format!("check the {table} table"),
    };
    Check::fail(name, error.to_string(), fix)
}

fn clock(name: String, skew: Option<i64>) -> Check {
    let Some(seconds) = skew else {
        return Check::warn(
            name,
            "the IdP sent no Date header, so this computer's clock could not be compared with its",
            "make sure this computer's clock is set by NTP",
        );
    };
    let detail = format!(
        "this computer's clock is {} s {} the IdP's",
        seconds.abs(),
        if seconds > 0 { "behind" } else { "ahead of" }
    );
    let fix = "set this computer's clock by NTP (`timedatectl set-ntp true` on Linux)";
    match skew_status(seconds) {
        Status::Pass => Check::pass(
            name,
            if seconds == 0 { "this computer's clock agrees with the IdP's".into() } else { detail },
        ),
        Status::Warn => Check::warn(name, format!("{detail}; countdowns use the IdP's clock"), fix),
        Status::Fail => Check::fail(
            name,
            format!("{detail}: servers will take fresh tokens for expired or not yet valid"),
            fix,
        ),
    }
}

/// The skew (IdP minus local, seconds) judged: over 30 s a warning, over 300 s a failure.
fn skew_status(seconds: i64) -> Status {
    match seconds.abs() {
        s if s > SKEW_FAIL_SECONDS => Status::Fail,
        s if s > SKEW_WARN_SECONDS => Status::Warn,
        _ => Status::Pass,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_warns_past_half_a_minute_and_fails_past_five() {
        assert_eq!(skew_status(0), Status::Pass);
        assert_eq!(skew_status(30), Status::Pass);
        assert_eq!(skew_status(-31), Status::Warn);
        assert_eq!(skew_status(300), Status::Warn);
        assert_eq!(skew_status(301), Status::Fail);
        assert_eq!(skew_status(-3600), Status::Fail);
    }

    #[test]
    fn the_skew_says_which_clock_is_ahead() {
        // Positive: the IdP's clock is ahead, so ours is behind.
        assert_eq!(
            clock("c".into(), Some(45)).detail,
            "this computer's clock is 45 s behind the IdP's; countdowns use the IdP's clock"
        );
        assert_eq!(clock("c".into(), Some(-2)).detail, "this computer's clock is 2 s ahead of the IdP's");
        assert_eq!(clock("c".into(), None).status, Status::Warn);
        assert_eq!(clock("c".into(), Some(-600)).status, Status::Fail);
    }
}
