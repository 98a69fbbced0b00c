//! Temporary AWS credentials as STS issues them, with a `Debug` that shows no secret and the one
//! renewal rule.

use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;

/// How long before expiry credentials count as due for renewal: an RDS auth token signed with
/// them is good for 15 minutes from signing, but RDS checks the session token at connect time, so
/// signing with credentials about to lapse gives a token that fails minutes later.
pub const RENEWAL_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Temporary credentials from `AssumeRoleWithWebIdentity`.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (`ASIA...` for temporary keys). Not a secret: CloudTrail shows it.
    pub access_key_id: String,
    /// The secret that signs; never leaves this process.
    pub secret_access_key: SecretString,
    /// The session token every request signed with these keys must carry.
    pub session_token: SecretString,
    /// When STS stops honouring these keys.
    pub expiration: SystemTime,
}

impl AwsCredentials {
    /// True from [`RENEWAL_MARGIN`] before `expiration` on (and after it).
    pub fn needs_renewal(&self, now: SystemTime) -> bool {
        now + RENEWAL_MARGIN >= self.expiration
    }
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("session_token", &"[redacted]")
            .field("expiration", &self.expiration)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expiring_at(expiration: SystemTime) -> AwsCredentials {
        AwsCredentials {
            access_key_id: "ASIAEXAMPLEKEY".to_string(),
            secret_access_key: SecretString::from("secret-key-text"),
            session_token: SecretString::from("session-token-text"),
            expiration,
        }
    }

    #[test]
    fn renewal_is_due_within_five_minutes_of_expiry() {
        let expiration = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let credentials = expiring_at(expiration);
        assert!(!credentials.needs_renewal(expiration - Duration::from_secs(301)));
        assert!(credentials.needs_renewal(expiration - Duration::from_secs(300)));
        assert!(credentials.needs_renewal(expiration - Duration::from_secs(1)));
        assert!(credentials.needs_renewal(expiration + Duration::from_secs(60)));
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!("{:?}", expiring_at(SystemTime::UNIX_EPOCH));
        assert!(shown.contains("ASIAEXAMPLEKEY"), "{shown}");
        assert!(!shown.contains("secret-key-text"), "{shown}");
        assert!(!shown.contains("session-token-text"), "{shown}");
    }
}
