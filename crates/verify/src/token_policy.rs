//! How a token must have been obtained, beyond being genuine: the sign-in method (`amr`, RFC
//! 8176), the client that asked for it (`azp` / `client_id`, RFC 9068 §2.2), its lifetime
//! (`exp - iat`), its type (`typ: at+jwt`, RFC 9068 §2.1) and, when the person is named by
//! `email`, that the IdP verified the address (`email_verified`, OIDC Core §5.1).
//!
//! Without these a token the IdP issued for the same audience to any other app (a password and
//! SMS sign-in, a device-code token, a CI service account) would log in too. Every check runs
//! on claims of a token whose signature verified.

use std::time::Duration;

use crate::VerifyError;
use crate::token::VerifiedToken;

/// The policy of one `verify.toml`; `None` means the check is off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TokenPolicy {
    /// `require_amr`: at least one of these methods must be in the token's `amr`.
    pub require_amr: Option<Vec<String>>,
    /// `allowed_clients`: `azp` and `client_id`, where present, must be among these (one must be
    /// present).
    pub allowed_clients: Option<Vec<String>>,
    /// `max_token_lifetime`: `exp - iat` must not exceed it (`iat` required).
    pub max_token_lifetime: Option<Duration>,
    /// `require_typ`: the JWT header's `typ` must equal it (case-insensitively, RFC 7515 §4.1.9
    /// media types).
    pub require_typ: Option<String>,
    /// With `identity_claim = "email"`: `email_verified` must be `true`.
    pub require_email_verified: bool,
}

impl TokenPolicy {
    /// Refuses `token` when a check that is on does not pass.
    pub fn check(&self, token: &VerifiedToken) -> Result<(), VerifyError> {
        let identity = || Some(token.identity.clone());
        if let Some(expected) = &self.require_typ {
            let found = token.typ.as_deref().unwrap_or("(none)");
            if !found.eq_ignore_ascii_case(expected) {
                return Err(VerifyError::WrongType {
                    identity: identity(),
                    found: found.to_string(),
                    expected: expected.clone(),
                });
            }
        }
        if let Some(required) = &self.require_amr
            && !token.amr.iter().any(|method| required.contains(method))
        {
            return Err(VerifyError::AmrNotAccepted {
                identity: identity(),
                found: token.amr.clone(),
                required: required.clone(),
            });
        }
        if let Some(allowed) = &self.allowed_clients {
            let named: Vec<&str> =
                token.azp.iter().chain(token.client_id.iter()).map(String::as_str).collect();
            let stranger = named.iter().find(|client| !allowed.iter().any(|a| a.as_str() == **client));
            if named.is_empty() || stranger.is_some() {
                return Err(VerifyError::ClientNotAllowed {
                    identity: identity(),
                    found: stranger.map(|c| c.to_string()),
                    allowed: allowed.clone(),
                });
            }
        }
        if let Some(max) = self.max_token_lifetime {
            let Some(issued_at) = token.issued_at else {
                return Err(VerifyError::MissingClaim {
                    identity: identity(),
                    claim: "iat (max_token_lifetime needs it)".to_string(),
                });
            };
            let lifetime = token.expires_at.saturating_sub(issued_at);
            if lifetime > i64::try_from(max.as_secs()).unwrap_or(i64::MAX) {
                return Err(VerifyError::LifetimeTooLong {
                    identity: identity(),
                    lifetime,
                    max: max.as_secs(),
                });
            }
        }
        if self.require_email_verified && token.email_verified != Some(true) {
            return Err(VerifyError::EmailNotVerified {
                identity: identity(),
                found: token.email_verified.map_or("absent".to_string(), |v| v.to_string()),
            });
        }
        Ok(())
    }

    /// The checks that are off, in the words of the keys that turn them on.
    pub fn unchecked(&self, identity_claim: &str) -> Vec<&'static str> {
        let mut off = Vec::new();
        if self.require_amr.is_none() {
            off.push("sign-in method (amr: set require_amr)");
        }
        if self.allowed_clients.is_none() {
            off.push("client (azp/client_id: set allowed_clients)");
        }
        if self.max_token_lifetime.is_none() {
            off.push("token lifetime (set max_token_lifetime)");
        }
        if identity_claim == "email" && !self.require_email_verified {
            off.push("email_verified (identity_claim = \"email\")");
        }
        off
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;

    fn token() -> VerifiedToken {
        VerifiedToken {
            identity: "alice@example.com".into(),
            groups: vec!["dba".into()],
            subject: Some("u-1".into()),
            expires_at: 1_000_600,
            issued_at: Some(1_000_000),
            kid: "k1".into(),
            typ: Some("at+jwt".into()),
            amr: vec!["hwk".into()],
            azp: Some("tapgate".into()),
            client_id: Some("tapgate".into()),
            jti: Some("j-1".into()),
            email_verified: Some(true),
            claims: Map::new(),
        }
    }

    fn strict() -> TokenPolicy {
        TokenPolicy {
            require_amr: Some(vec!["hwk".into()]),
            allowed_clients: Some(vec!["tapgate".into()]),
            max_token_lifetime: Some(Duration::from_secs(3600)),
            require_typ: Some("at+jwt".into()),
            require_email_verified: true,
        }
    }

    fn refusal(token: VerifiedToken) -> String {
        strict().check(&token).expect_err("refused").to_string()
    }

    #[test]
    fn a_token_from_a_key_tap_in_our_client_passes() {
        strict().check(&token()).expect("allowed");
        // Any one of the listed methods is enough; TYP compares case-insensitively.
        let policy = TokenPolicy { require_amr: Some(vec!["swk".into(), "hwk".into()]), ..strict() };
        policy.check(&VerifiedToken { amr: vec!["mfa".into(), "hwk".into()], ..token() }).expect("any");
        strict().check(&VerifiedToken { typ: Some("AT+JWT".into()), ..token() }).expect("typ case");
    }

    #[test]
    fn a_token_without_amr_is_refused() {
        let reason = refusal(VerifiedToken { amr: Vec::new(), ..token() });
        assert_eq!(
            reason,
            "the token's amr [] has none of the required sign-in methods [hwk] (require_amr): sign in with a security key"
        );
    }

    #[test]
    fn a_password_or_software_key_amr_is_refused() {
        let reason = refusal(VerifiedToken { amr: vec!["pwd".into(), "sms".into()], ..token() });
        assert!(reason.contains("amr [pwd, sms] has none of the required sign-in methods [hwk]"), "{reason}");
        let reason = refusal(VerifiedToken { amr: vec!["swk".into()], ..token() });
        assert!(reason.contains("amr [swk]"), "{reason}");
    }

    #[test]
    fn a_token_for_another_client_is_refused() {
        let reason = refusal(VerifiedToken { azp: Some("ci-runner".into()), client_id: None, ..token() });
        assert_eq!(reason, "the token was issued to client ci-runner, not one of allowed_clients [tapgate]");
        // client_id is checked too when both are present.
        let reason = refusal(VerifiedToken { client_id: Some("other".into()), ..token() });
        assert!(reason.contains("client other"), "{reason}");
        // Only client_id (RFC 9068) is enough.
        strict().check(&VerifiedToken { azp: None, ..token() }).expect("client_id alone");
        let reason = refusal(VerifiedToken { azp: None, client_id: None, ..token() });
        assert!(reason.contains("names no client (azp or client_id)"), "{reason}");
    }

    #[test]
    fn a_token_living_too_long_is_refused() {
        let reason = refusal(VerifiedToken { expires_at: 1_000_000 + 86_400, ..token() });
        assert_eq!(reason, "the token lives 86400 s (exp - iat), more than max_token_lifetime 3600 s");
        strict().check(&VerifiedToken { expires_at: 1_003_600, ..token() }).expect("exactly the max");
        let reason = refusal(VerifiedToken { issued_at: None, ..token() });
        assert!(reason.contains("no usable iat"), "{reason}");
    }

    #[test]
    fn a_wrong_or_missing_typ_is_refused() {
        let reason = refusal(VerifiedToken { typ: Some("JWT".into()), ..token() });
        assert_eq!(
            reason,
            "token type JWT is not the required at+jwt (require_typ): an ID token is not an access token"
        );
        let reason = refusal(VerifiedToken { typ: None, ..token() });
        assert!(reason.contains("token type (none)"), "{reason}");
    }

    #[test]
    fn an_unverified_or_missing_email_verified_is_refused() {
        let reason = refusal(VerifiedToken { email_verified: Some(false), ..token() });
        assert_eq!(
            reason,
            "email_verified is false: the IdP did not verify the address, so it cannot name the person (identity_claim = \"email\")"
        );
        let reason = refusal(VerifiedToken { email_verified: None, ..token() });
        assert!(reason.contains("email_verified is absent"), "{reason}");
    }

    #[test]
    fn checks_that_are_off_are_named() {
        let legacy = TokenPolicy::default();
        assert!(legacy.check(&VerifiedToken { amr: Vec::new(), azp: None, ..token() }).is_ok());
        assert_eq!(legacy.unchecked("email").len(), 4);
        assert_eq!(legacy.unchecked("sub").len(), 3);
        assert!(strict().unchecked("email").is_empty());
    }
}
