//! A decision: allowed or denied, who, as which role, and why, printed as the one log line per
//! login.

use std::fmt;

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
}

impl Decision {
    pub fn allow(identity: String, role: &str, reason: String) -> Decision {
        Decision {
            allowed: true,
            identity: Some(identity),
            role: role.to_string(),
            reason,
            warnings: Vec::new(),
        }
    }

    pub fn deny(identity: Option<String>, role: &str, reason: String) -> Decision {
        Decision { allowed: false, identity, role: role.to_string(), reason, warnings: Vec::new() }
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
}
