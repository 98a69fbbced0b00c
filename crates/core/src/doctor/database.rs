//! A database's server from here, without logging in (`tapgate_forward::probe`): TCP to
//! `host:port`, TLS under its sslmode and `ca_file` exactly as its forwarder does it, and what
//! the server asks the role for, compared with the table's `auth`. No token is ever sent.

use std::time::Duration;

use tapgate_config::{DbAuth, DbConfig, SslMode};
use tapgate_forward::{ForwardError, ProbeFailure, ProbeStep, ServerProbe};
use tapgate_pgwire::ServerAuthRequest;

use super::Check;
use crate::Engine;

/// Each network step of a probe (TCP, TLS, the server's first answer) gets this long.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) async fn database(engine: &Engine, db: &DbConfig) -> Vec<Check> {
    let name = |check: &str| format!("db.{}.{check}", db.name);
    let config = crate::forwarding::forwarder_config(db, 0);
    // The user the forwarder would log in as; a per-person user (`user = "{email}"`) is only
    // known from a sign-in.
    let user = engine.db_user_now(&db.name).await.ok().flatten();
    let probe_user = user.clone().or_else(|| db.roles.first().cloned()).unwrap_or_else(|| db.role.clone());
    let found = tapgate_forward::probe(&config, &probe_user, STEP_TIMEOUT).await;

    let address = format!("{}:{}", db.host, db.port);
    let found = match found {
        Err(ProbeFailure { step: ProbeStep::Reach, error }) => {
            return vec![Check::fail(
                name("reach"),
                error.to_string(),
                format!(
                    "check host and port in [db.{}], and that the server runs and accepts connections from \
                     here (listen_addresses, firewall)",
                    db.name
                ),
            )];
        }
        other => other,
    };
    let mut checks = vec![Check::pass(name("reach"), format!("{address} accepts TCP connections"))];
    let probe = match found {
        Ok(probe) => probe,
        Err(ProbeFailure { step: ProbeStep::Tls, error }) => {
            checks.push(tls_failure(name("tls"), db, &error));
            return checks;
        }
        Err(ProbeFailure { error, .. }) => {
            checks.push(tls_passed(name("tls"), db, None));
            checks.push(Check::fail(
                name("auth"),
                error.to_string(),
                "the server stopped before saying what it wants: see the server's log",
            ));
            return checks;
        }
    };
    checks.push(tls_passed(name("tls"), db, Some(&probe)));
    checks.push(match user {
        Some(user) => auth(name("auth"), db, &user, &probe.auth),
        None if db.roles.contains(&probe_user) => auth(name("auth"), db, &probe_user, &probe.auth),
        None => Check::warn(
            name("auth"),
            format!("not checked: the database user comes from your token (user = \"{}\")", db.role),
            format!("`tapgate login {}`, then run `tapgate doctor` again", db.idp),
        ),
    });
    checks
}

fn tls_passed(name: String, db: &DbConfig, probe: Option<&ServerProbe>) -> Check {
    let version = probe.map_or("TLS", |p| p.tls_version.as_str());
    let trust = match &db.ca_file {
        Some(path) if db.ca_file_add => format!("ca_file {} and the system's roots", path.display()),
        Some(path) => format!("ca_file {}", path.display()),
        None => "the system's roots".to_owned(),
    };
    match db.sslmode {
        SslMode::VerifyFull => Check::pass(
            name,
            format!(
                "{version} with sslmode = \"verify-full\": the certificate is signed by {trust} and names {}",
                db.server_name.as_deref().unwrap_or(&db.host)
            ),
        ),
        SslMode::VerifyCa => Check::pass(
            name,
            format!(
                "{version} with sslmode = \"verify-ca\": the certificate is signed by {trust} (its name is not checked)"
            ),
        ),
        SslMode::Require => Check::warn(
            name,
            format!(
                "{version} with sslmode = \"require\": the certificate is not checked, so whoever sits in the middle can take the token"
            ),
            format!("set ca_file in [db.{}] and leave sslmode at \"verify-full\"", db.name),
        ),
    }
}

fn tls_failure(name: String, db: &DbConfig, error: &ForwardError) -> Check {
    let table = format!("[db.{}]", db.name);
    let fix = match error {
        ForwardError::Tls { hint: Some(hint), .. } => hint.clone(),
        ForwardError::NoTls { .. } => {
            "turn on ssl in the server's postgresql.conf: Tapgate never sends a token without TLS".to_owned()
        }
        ForwardError::CaFile { .. } => format!("point ca_file in {table} at a readable PEM file"),
        ForwardError::NoTrustRoots { .. } | ForwardError::VerifyCaNeedsCaFile { .. } => {
            format!("set ca_file in {table} to the CA certificate (PEM) that signed the server's certificate")
        }
        _ => format!("check sslmode, sslnegotiation, ca_file and server_name in {table}"),
    };
    Check::fail(name, error.to_string(), fix)
}

/// What the server asks `user` for, against what the table says Tapgate presents.
fn auth(name: String, db: &DbConfig, user: &str, request: &ServerAuthRequest) -> Check {
    let table = format!("[db.{}]", db.name);
    let hba = format!(
        "the server's pg_hba.conf line for {user} must use pam (with tapgate-pam-verify) or oauth (PostgreSQL 18); \
         see docs/server-setup.md"
    );
    let wants_password = |what: &str| {
        Check::fail(
            name.clone(),
            format!(
                "the server asks {user} for {what}: Tapgate cannot log in with a token, the server wants a password"
            ),
            hba.clone(),
        )
    };
    match (request, db.auth) {
        (ServerAuthRequest::Password, DbAuth::Password) => Check::pass(
            name,
            format!(
                "the server asks {user} for a password, and Tapgate sends the token as one (auth = \"password\")"
            ),
        ),
        (ServerAuthRequest::Password, DbAuth::OAuthBearer) => Check::fail(
            name,
            format!("the server asks {user} for a password, but auth = \"oauthbearer\""),
            format!(
                "set auth = \"password\" in {table} (the server takes the token as a password, as with PAM), \
                 or make the server's pg_hba.conf line for {user} use oauth"
            ),
        ),
        (request, DbAuth::OAuthBearer) if request.offers_oauth() => Check::pass(
            name,
            format!(
                "the server offers {user} OAUTHBEARER, and Tapgate sends the token as a bearer token (auth = \"oauthbearer\")"
            ),
        ),
        (request, DbAuth::Password) if request.offers_oauth() => Check::fail(
            name,
            format!(
                "the server wants an OAuth bearer token from {user} (SASL OAUTHBEARER), but auth = \"password\""
            ),
            format!("set auth = \"oauthbearer\" in {table}"),
        ),
        (ServerAuthRequest::Sasl { mechanisms }, _) => {
            wants_password(&format!("scram ({})", mechanisms.join(", ")))
        }
        (ServerAuthRequest::Md5, _) => wants_password("an MD5 password"),
        (ServerAuthRequest::Other { method }, _) => Check::fail(
            name,
            format!("the server asks {user} for {method}, which Tapgate cannot answer with a token"),
            hba,
        ),
        (ServerAuthRequest::Trust, _) => Check::warn(
            name,
            format!(
                "the server lets {user} in with no credential at all (trust): anyone who reaches it gets in"
            ),
            hba,
        ),
        (ServerAuthRequest::Refused { message }, _) => Check::fail(
            name,
            format!("the server refused {user} before asking for anything: {message}"),
            format!(
                "check role and dbname in {table}, and that the server's pg_hba.conf has a hostssl line for {user} \
                 from this address (pam or oauth)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::doctor::Status;

    fn db(auth: &str) -> DbConfig {
        let text = format!(
            "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"tapgate\"\nusername = \"a@example.com\"\n\
             [db.prod]\nidp = \"corp\"\nhost = \"db.example.com\"\ndbname = \"app\"\nrole = \"app_rw\"\nauth = \"{auth}\"\n"
        );
        let config = tapgate_config::validate::parse(Path::new("config.toml"), &text).expect("config");
        config.db("prod").expect("db").clone()
    }

    fn sasl(mechanisms: &[&str]) -> ServerAuthRequest {
        ServerAuthRequest::Sasl { mechanisms: mechanisms.iter().map(|m| m.to_string()).collect() }
    }

    #[test]
    fn matching_methods_pass() {
        let password = auth("a".into(), &db("password"), "app_rw", &ServerAuthRequest::Password);
        assert_eq!(password.status, Status::Pass, "{password:?}");
        let oauth = auth("a".into(), &db("oauthbearer"), "app_rw", &sasl(&["OAUTHBEARER"]));
        assert_eq!(oauth.status, Status::Pass, "{oauth:?}");
    }

    #[test]
    fn a_mismatch_fails_with_the_auth_to_write() {
        let check = auth("a".into(), &db("password"), "app_rw", &sasl(&["OAUTHBEARER"]));
        assert_eq!(
            (check.status, check.fix.as_deref()),
            (Status::Fail, Some("set auth = \"oauthbearer\" in [db.prod]"))
        );
        let check = auth("a".into(), &db("oauthbearer"), "app_rw", &ServerAuthRequest::Password);
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.fix.as_deref().is_some_and(|f| f.starts_with("set auth = \"password\" in [db.prod]")),
            "{check:?}"
        );
    }

    #[test]
    fn scram_md5_and_the_rest_cannot_take_a_token() {
        let scram = auth("a".into(), &db("password"), "app_rw", &sasl(&["SCRAM-SHA-256"]));
        assert_eq!(scram.status, Status::Fail);
        assert_eq!(
            scram.detail,
            "the server asks app_rw for scram (SCRAM-SHA-256): Tapgate cannot log in with a token, the server wants a password"
        );
        assert!(scram.fix.as_deref().is_some_and(|f| f.contains("pam") && f.contains("oauth")));
        assert_eq!(
            auth("a".into(), &db("oauthbearer"), "app_rw", &ServerAuthRequest::Md5).status,
            Status::Fail
        );
        let gss = ServerAuthRequest::Other { method: "GSSAPI" };
        assert_eq!(auth("a".into(), &db("password"), "app_rw", &gss).status, Status::Fail);
        assert_eq!(
            auth("a".into(), &db("password"), "app_rw", &ServerAuthRequest::Trust).status,
            Status::Warn
        );
        let refused = ServerAuthRequest::Refused { message: "no pg_hba.conf entry (28000)".into() };
        assert_eq!(auth("a".into(), &db("password"), "app_rw", &refused).status, Status::Fail);
    }
}
