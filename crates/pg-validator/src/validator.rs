//! [`Validator`]: the module state of one PostgreSQL backend. It keeps the
//! [`tapgate_verify::Verifier`] between logins and reloads the configuration only when the file
//! changed (size or modification time), so an admin's edit applies to the next login without a
//! server restart or reload.

use std::path::PathBuf;
use std::time::SystemTime;

use tapgate_verify::{Decision, DecisionContext, FileTrust, Verifier, VerifyConfig};

use crate::{ConfigLocation, ValidatorError};

/// What the module tells PostgreSQL about one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `ValidatorModuleResult.authorized`.
    pub authorized: bool,
    /// `ValidatorModuleResult.authn_id`: the identity claim, set only when authorized (a refused
    /// login is not an authenticated identity; the decision line names who was refused).
    pub authn_id: Option<String>,
    /// The decision line for the server log (never contains the token).
    pub line: String,
    /// The same decision as one JSON line, with this backend's pid (`%p` in
    /// `log_line_prefix`), subject, token id, amr and client.
    pub json: String,
}

/// The program name in the JSON line.
const PROGRAM: &str = "tapgate-pg-validator";

/// The configuration file's identity at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug)]
struct Loaded {
    path: PathBuf,
    stamp: Stamp,
    verifier: Verifier,
}

/// The validator of one backend: where the configuration is, and the verifier built from it.
#[derive(Debug)]
pub struct Validator {
    location: ConfigLocation,
    loaded: Option<Loaded>,
}

impl Validator {
    /// A validator reading its configuration from `location` on first use.
    pub fn new(location: ConfigLocation) -> Validator {
        Validator { location, loaded: None }
    }

    /// Decides one login: `token` from the OAUTHBEARER `auth` value, `role` the user name of the
    /// startup message. A refusal is `Ok` with `authorized: false`; `Err` is an internal error
    /// (no or bad configuration).
    pub fn validate(&mut self, token: &[u8], role: &[u8]) -> Result<Outcome, ValidatorError> {
        let role_text = String::from_utf8_lossy(role);
        let Ok(token) = std::str::from_utf8(token) else {
            // PostgreSQL checks the b64token syntax (RFC 6750 §2.1) first, so this is defensive.
            let decision = Decision::deny(None, &role_text, "the token is not UTF-8".into());
            return Ok(outcome(decision));
        };
        let verifier = self.verifier()?;
        Ok(outcome(verifier.decide(token, &role_text)))
    }

    /// The verifier for the current configuration file, reloaded when the file changed.
    fn verifier(&mut self) -> Result<&Verifier, ValidatorError> {
        let path = self.location.resolve()?;
        let stamp = stamp(&path);
        let loaded = match self.loaded.take() {
            Some(loaded) if loaded.path == path && Some(loaded.stamp) == stamp => loaded,
            _ => {
                let config = VerifyConfig::load(&path, &FileTrust::for_this_process())?;
                let stamp = stamp.unwrap_or(Stamp { modified: None, len: 0 });
                Loaded { path, stamp, verifier: Verifier::new(config) }
            }
        };
        Ok(&self.loaded.insert(loaded).verifier)
    }
}

fn stamp(path: &std::path::Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Stamp { modified: meta.modified().ok(), len: meta.len() })
}

fn outcome(decision: Decision) -> Outcome {
    let line = decision.to_string();
    // The module runs inside the backend, so its pid is the backend's. The client's address is
    // not in the validator ABI: PostgreSQL logs it with the same pid (`%h`, log_connections).
    let context = DecisionContext {
        program: PROGRAM,
        backend_pid: Some(std::process::id()),
        client_addr: None,
        at: SystemTime::now(),
    };
    let json = decision.to_json_line(&context);
    let authn_id = if decision.allowed { decision.identity } else { None };
    Outcome { authorized: decision.allowed && authn_id.is_some(), authn_id, line, json }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> String {
        format!(
            "issuer = \"{issuer}\"\naudience = \"postgres\"\njwks_cache = \"jwks.json\"\n\
             [roles]\napp_rw = [\"dba\"]\n"
        )
    }

    #[test]
    fn a_garbage_token_is_a_refusal_not_an_error_and_never_logged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("verify.toml");
        std::fs::write(&path, config("https://idp.invalid")).expect("write");
        let mut validator = Validator::new(ConfigLocation::new(Some(path), None));
        let token = "not-a-jwt-secret-bytes";
        let outcome = validator.validate(token.as_bytes(), b"app_rw").expect("no internal error");
        assert!(!outcome.authorized);
        assert_eq!(outcome.authn_id, None);
        assert!(outcome.line.starts_with("denied (unverified token) as app_rw: "), "{}", outcome.line);
        assert!(!outcome.line.contains(token), "{}", outcome.line);
        assert!(!outcome.json.contains(token), "{}", outcome.json);
        let json: serde_json::Value = serde_json::from_str(&outcome.json).expect("json");
        assert_eq!(json["backend_pid"], std::process::id());
        assert_eq!(json["decision"], "denied");

        let outcome = validator.validate(&[0xff, 0xfe], b"app_rw").expect("no internal error");
        assert!(!outcome.authorized);
    }

    #[test]
    fn a_missing_or_invalid_configuration_is_an_internal_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("verify.toml");
        let mut validator = Validator::new(ConfigLocation::new(Some(path.clone()), None));
        let error = validator.validate(b"a.b.c", b"app_rw").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains(&path.display().to_string()), "{error}");

        std::fs::write(&path, config("http://plain.invalid")).expect("write");
        let error = validator.validate(b"a.b.c", b"app_rw").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("https"), "{error}");
    }

    #[test]
    fn an_edited_configuration_is_reloaded_on_the_next_login() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("verify.toml");
        std::fs::write(&path, config("https://one.invalid")).expect("write");
        let mut validator = Validator::new(ConfigLocation::new(Some(path.clone()), None));
        validator.validate(b"a.b.c", b"app_rw").expect("loads");
        let issuer = |v: &Validator| v.loaded.as_ref().map(|l| l.verifier.config().issuer.clone());
        assert_eq!(issuer(&validator).as_deref(), Some("https://one.invalid"));

        std::fs::write(&path, config("https://second.invalid")).expect("write");
        validator.validate(b"a.b.c", b"app_rw").expect("reloads");
        assert_eq!(issuer(&validator).as_deref(), Some("https://second.invalid"));
    }
}
