//! `tapgate doctor`: everything between a person and their databases, checked one thing at a
//! time, each with what was found and, when it is not right, what to do. The CLI prints the
//! checks; the desktop app can show the same list.
//!
//! Nothing here prints, and no check's text ever holds a secret: the details are built from
//! names, paths, addresses and the crates' error messages, which never carry a token, a
//! refresh token, a password or key material. The probes never send one either: the IdP is
//! asked only for its public documents, and a database server only for what it would ask.
//!
//! # Layout
//! - `config`: the configuration file loads.
//! - `keyring`: the OS keyring answers, and each IdP's sign-in as the cache has it.
//! - `authenticator`: the key a passkey IdP signs with: a software key file is the person's
//!   own and private, a USB security key is plugged in and may be opened.
//! - `idp`: discovery, the signing keys (JWKS), and the clock against the IdP's.
//! - `database`: TCP, TLS under the database's sslmode, and what the server asks the role for.
//! - `port`: a database's loopback port is free, or held by its own Tapgate forwarder.
//! - `runtime_dir`: the runtime folder (status files, sockets) is private.

mod authenticator;
mod config;
mod database;
mod idp;
mod keyring;
mod port;
mod runtime_dir;

use std::path::Path;

use serde::Serialize;
use tapgate_config::Config;

use crate::{Context, Engine};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Pass,
    /// Works, but worth knowing (no key plugged in, a weak setting, a clock drifting).
    Warn,
    /// Stands in the way of signing in or connecting.
    Fail,
}

impl Status {
    /// `PASS`, `WARN`, `FAIL`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One thing checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `config`, `keyring`, `runtime-dir`, `idp.NAME.discovery`, `db.NAME.tls`, ...
    pub name: String,
    pub status: Status,
    /// What was found, in a sentence.
    pub detail: String,
    /// What to do about it; `None` when it passed.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Pass, detail: detail.into(), fix: None }
    }

    pub(crate) fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }

    pub(crate) fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name: name.into(), status: Status::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
}

/// Every check of a run, and whether none failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
    /// No check failed (warnings allowed).
    pub ok: bool,
}

impl Report {
    pub fn new(checks: Vec<Check>) -> Report {
        let ok = checks.iter().all(|check| check.status != Status::Fail);
        Report { checks, ok }
    }
}

/// Loads the configuration at `config_path` and checks everything in `context`. A file that
/// does not load is one failed check; the keyring and the runtime folder are checked anyway.
pub async fn run(config_path: &Path, context: Context) -> Report {
    let (loaded, config) = match Config::load(config_path) {
        Ok(config) => (config::loaded(&config), config),
        Err(error) => (
            config::failed(config_path, &error),
            Config { path: config_path.to_path_buf(), idps: Default::default(), dbs: Default::default() },
        ),
    };
    let engine = Engine::open(config, context).await;
    let mut checks = vec![loaded];
    checks.extend(check_engine(&engine).await);
    Report::new(checks)
}

/// Every check of an open engine (its configuration already loaded): the keyring, each IdP,
/// each database, the runtime folder. IdPs and databases are checked one after the other, each
/// network step bounded in time.
pub async fn check_engine(engine: &Engine) -> Vec<Check> {
    let mut checks = vec![keyring::keyring(engine)];
    for idp in engine.config().idps.values() {
        checks.push(keyring::session(engine, idp).await);
        checks.push(authenticator::authenticator(idp).await);
        checks.extend(idp::idp(engine, idp).await);
    }
    for db in engine.config().dbs.values() {
        checks.extend(database::database(engine, db).await);
        checks.push(port::port(engine, db).await);
    }
    checks.push(runtime_dir::runtime_dir(&engine.context().runtime_dir));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_ok_unless_a_check_failed() {
        let warned = Report::new(vec![Check::pass("a", "fine"), Check::warn("b", "hm", "look")]);
        assert!(warned.ok);
        let failed = Report::new(vec![Check::pass("a", "fine"), Check::fail("c", "broken", "mend it")]);
        assert!(!failed.ok);
    }

    #[test]
    fn the_json_shape_is_what_support_tickets_get() -> Result<(), serde_json::Error> {
        let report =
            Report::new(vec![Check::pass("config", "loads"), Check::fail("keyring", "locked", "unlock it")]);
        assert_eq!(
            serde_json::to_value(&report)?,
            serde_json::json!({
                "checks": [
                    {"name": "config", "status": "pass", "detail": "loads", "fix": null},
                    {"name": "keyring", "status": "fail", "detail": "locked", "fix": "unlock it"},
                ],
                "ok": false,
            })
        );
        Ok(())
    }
}
