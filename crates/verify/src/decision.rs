//! A decision: allowed or denied, who, as which role, and why, printed as the one text line per
//! login, and as one JSON line with what joins it to PostgreSQL's own log (the backend's pid, the
//! client's address) and to the IdP's (subject, token id, sign-in method, client).

use std::fmt;
use std::time::SystemTime;

use serde_json::json;

/// The outcome of one login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The identity claim of a token whose signature verified; `None` otherwise.
    pub identity: Option<String>,
    /// The PostgreSQL role asked for.
    pub role: String,
    /// Why, in one clause.
    pub reason: String,
    /// Problems that did not decide the outcome but need an admin (an unwritable cache, an IdP
    /// that could not be reached while cached keys still served).
    pub warnings: Vec<String>,
    /// What the token said about itself, when its signature verified.
    pub token: Option<TokenFacts>,
}

/// Claims of a verified token that let an admin find the sign-in at the IdP.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenFacts {
    /// `sub`.
    pub subject: Option<String>,
    /// `jti`.
    pub jti: Option<String>,
    /// `amr`.
    pub amr: Vec<String>,
    /// `azp`, else `client_id`.
    pub client: Option<String>,
}

/// Where a decision was made, for the JSON line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionContext {
    /// The program writing the line (`tapgate-pam-verify`, `tapgate-pg-validator`).
    pub program: &'static str,
    /// The PostgreSQL backend's pid: `%p` in `log_line_prefix`.
    pub backend_pid: Option<u32>,
    /// The client's address as PostgreSQL saw it (PAM_RHOST), when the caller knows it.
    pub client_addr: Option<String>,
    /// When the decision was made.
    pub at: SystemTime,
}

impl Decision {
    pub fn allow(identity: String, role: &str, reason: String) -> Decision {
        Decision {
            allowed: true,
            identity: Some(identity),
            role: role.to_string(),
            reason,
            warnings: Vec::new(),
            token: None,
        }
    }

    pub fn deny(identity: Option<String>, role: &str, reason: String) -> Decision {
        Decision {
            allowed: false,
            identity,
            role: role.to_string(),
            reason,
            warnings: Vec::new(),
            token: None,
        }
    }

    /// The decision as one line of JSON (no newline inside; never the token).
    pub fn to_json_line(&self, context: &DecisionContext) -> String {
        let facts = self.token.clone().unwrap_or_default();
        json!({
            "time": humantime::format_rfc3339_millis(context.at).to_string(),
            "program": context.program,
            "decision": if self.allowed { "allowed" } else { "denied" },
            "role": self.role,
            "identity": self.identity,
            "subject": facts.subject,
            "jti": facts.jti,
            "amr": facts.amr,
            "client_id": facts.client,
            "backend_pid": context.backend_pid,
            "client_addr": context.client_addr,
            "reason": self.reason,
            "warnings": self.warnings,
        })
        .to_string()
    }
}

/// `allowed alice@example.com as app_rw: group dba is allowed for app_rw`, or
/// `denied (unverified token) as app_rw: bad signature ...`; warnings follow after `; warning: `.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        let who = self.identity.as_deref().unwrap_or("(unverified token)");
        write!(f, "{verdict} {who} as {}: {}", self.role, self.reason)?;
        for warning in &self.warnings {
            write!(f, "; warning: {warning}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_as_a_sentence() {
        let denied = Decision::deny(
            Some("alice@example.com".into()),
            "app_rw",
            "groups [dev] are not allowed for app_rw (allowed: dba, backend)".into(),
        );
        assert_eq!(
            denied.to_string(),
            "denied alice@example.com as app_rw: groups [dev] are not allowed for app_rw (allowed: dba, backend)"
        );
        let mut unverified = Decision::deny(None, "app_rw", "bad signature".into());
        unverified.warnings.push("cannot write the JWKS cache".into());
        assert_eq!(
            unverified.to_string(),
            "denied (unverified token) as app_rw: bad signature; warning: cannot write the JWKS cache"
        );
    }

    #[test]
    fn the_json_line_carries_what_joins_the_logs() {
        let mut allowed = Decision::allow("alice@example.com".into(), "app_rw", "group dba".into());
        allowed.token = Some(TokenFacts {
            subject: Some("u-1".into()),
            jti: Some("j-1".into()),
            amr: vec!["hwk".into()],
            client: Some("tapgate".into()),
        });
        let context = DecisionContext {
            program: "tapgate-pam-verify",
            backend_pid: Some(4242),
            client_addr: Some("10.0.0.7".into()),
            at: std::time::UNIX_EPOCH,
        };
        let line = allowed.to_json_line(&context);
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["decision"], "allowed");
        assert_eq!(value["backend_pid"], 4242);
        assert_eq!(value["client_addr"], "10.0.0.7");
        assert_eq!(value["subject"], "u-1");
        assert_eq!(value["jti"], "j-1");
        assert_eq!(value["amr"], json!(["hwk"]));
        assert_eq!(value["client_id"], "tapgate");
        assert_eq!(value["time"], "1970-01-01T00:00:00.000Z");

        let denied = Decision::deny(None, "app_rw", "bad signature".into());
        let value: serde_json::Value = serde_json::from_str(&denied.to_json_line(&context)).expect("json");
        assert_eq!(value["decision"], "denied");
        assert!(value["subject"].is_null() && value["identity"].is_null());
    }
}
