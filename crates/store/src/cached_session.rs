//! One IdP's tokens as the cache keeps them.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Tokens and what Tapgate needs to know about them without asking the IdP again.
///
/// `Debug` never shows token text.
#[derive(Clone)]
pub struct CachedSession {
    /// Issuer the tokens came from; an entry for another issuer is ignored.
    pub issuer: String,
    /// The user name the tokens were obtained for; an entry for another user is ignored.
    pub username: String,
    pub access_token: SecretString,
    pub id_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// Unix seconds on the IdP's clock when the access token expires.
    pub expires_at: i64,
    /// IdP clock minus local clock, measured when the tokens were obtained.
    pub skew_seconds: i64,
    /// Unix seconds (local clock) when the tokens were obtained.
    pub obtained_at: i64,
}

impl std::fmt::Debug for CachedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSession")
            .field("issuer", &self.issuer)
            .field("username", &self.username)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "[redacted]"))
            .field("expires_at", &self.expires_at)
            .field("skew_seconds", &self.skew_seconds)
            .finish()
    }
}

/// The serialised form, only ever handed to the keyring.
#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    issuer: String,
    username: String,
    access_token: String,
    id_token: Option<String>,
    refresh_token: Option<String>,
    expires_at: i64,
    skew_seconds: i64,
    obtained_at: i64,
}

const FORMAT_VERSION: u32 = 1;

impl CachedSession {
    pub(crate) fn to_secret_json(&self) -> SecretString {
        let stored = Stored {
            version: FORMAT_VERSION,
            issuer: self.issuer.clone(),
            username: self.username.clone(),
            access_token: self.access_token.expose_secret().to_string(),
            id_token: self.id_token.as_ref().map(|t| t.expose_secret().to_string()),
            refresh_token: self.refresh_token.as_ref().map(|t| t.expose_secret().to_string()),
            expires_at: self.expires_at,
            skew_seconds: self.skew_seconds,
            obtained_at: self.obtained_at,
        };
        // Serialising plain strings and integers cannot fail.
        SecretString::from(serde_json::to_string(&stored).unwrap_or_default())
    }

    pub(crate) fn from_secret_json(text: &str) -> Result<CachedSession, String> {
        let stored: Stored =
            serde_json::from_str(text).map_err(|e| format!("not a Tapgate entry ({})", e.classify_name()))?;
        if stored.version != FORMAT_VERSION {
            return Err(format!("entry format {} is not {FORMAT_VERSION}", stored.version));
        }
        Ok(CachedSession {
            issuer: stored.issuer,
            username: stored.username,
            access_token: stored.access_token.into(),
            id_token: stored.id_token.map(Into::into),
            refresh_token: stored.refresh_token.map(Into::into),
            expires_at: stored.expires_at,
            skew_seconds: stored.skew_seconds,
            obtained_at: stored.obtained_at,
        })
    }
}

/// A short name for a serde_json error class; the error text itself could quote the secret.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CachedSession {
        CachedSession {
            issuer: "https://localhost:8443".into(),
            username: "alice@example.com".into(),
            access_token: "eyJsecret.access.token".to_string().into(),
            id_token: None,
            refresh_token: Some("refresh-secret".to_string().into()),
            expires_at: 1_900_000_000,
            skew_seconds: -3,
            obtained_at: 1_899_999_000,
        }
    }

    #[test]
    fn round_trips_through_json() {
        let json = sample().to_secret_json();
        let back = CachedSession::from_secret_json(json.expose_secret()).expect("parses");
        assert_eq!(back.access_token.expose_secret(), "eyJsecret.access.token");
        assert_eq!(
            back.refresh_token.map(|t| t.expose_secret().to_string()).as_deref(),
            Some("refresh-secret")
        );
        assert_eq!(back.skew_seconds, -3);
    }

    #[test]
    fn debug_redacts_tokens() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("secret"), "{text}");
    }

    #[test]
    fn parse_errors_do_not_echo_the_entry() {
        let err = CachedSession::from_secret_json("{\"access_token\": \"eyJleak").expect_err("bad");
        assert!(!err.contains("eyJleak"), "{err}");
    }
}
