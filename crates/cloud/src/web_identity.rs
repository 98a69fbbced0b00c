//! What a web identity token says about itself: its issuer and audience, read without checking
//! the signature, only so that an STS refusal can name the IAM OIDC provider and the `aud`
//! condition to fix. Nothing here decides anything; STS verifies the token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;

/// The issuer and audience of a token, as far as they could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenOrigin {
    /// `iss`, e.g. `https://example.okta.com/oauth2/default`.
    pub(crate) issuer: Option<String>,
    /// `aud`, comma-separated when the token lists several.
    pub(crate) audience: Option<String>,
}

#[derive(Deserialize)]
struct OriginClaims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Claim values longer than this are not an issuer or a client id; they are not shown.
const MAX_CLAIM_LEN: usize = 256;

impl TokenOrigin {
    /// Reads `iss` and `aud` from the payload of a JWT; anything unreadable is left `None`.
    pub(crate) fn peek(token: &SecretString) -> TokenOrigin {
        let mut parts = token.expose_secret().split('.');
        let payload = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(_), Some(payload), Some(_), None) => payload,
            _ => return TokenOrigin::default(),
        };
        let Ok(json) = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')) else {
            return TokenOrigin::default();
        };
        let Ok(claims) = serde_json::from_slice::<OriginClaims>(&json) else {
            return TokenOrigin::default();
        };
        let audience = match claims.aud {
            Some(Audience::One(one)) => Some(one),
            Some(Audience::Many(many)) if !many.is_empty() => Some(many.join(", ")),
            _ => None,
        };
        TokenOrigin { issuer: claims.iss.and_then(shown), audience: audience.and_then(shown) }
    }

    /// The issuer for a message, or words saying it could not be read.
    pub(crate) fn issuer_text(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| "the identity provider (the token has no readable iss)".to_string())
    }

    /// The audience for a message, or words saying it could not be read.
    pub(crate) fn audience_text(&self) -> String {
        self.audience.clone().unwrap_or_else(|| "the token's aud (unreadable)".to_string())
    }

    /// The issuer as IAM names its OIDC provider: without `https://` and a trailing `/`
    /// (`example.okta.com/oauth2/default`).
    pub(crate) fn provider_name(&self) -> String {
        match &self.issuer {
            Some(issuer) => {
                issuer.strip_prefix("https://").unwrap_or(issuer).trim_end_matches('/').to_string()
            }
            None => "ISSUER-HOST".to_string(),
        }
    }
}

/// A claim value fit for one line of a message.
fn shown(value: String) -> Option<String> {
    let printable = !value.is_empty() && value.len() <= MAX_CLAIM_LEN && !value.chars().any(char::is_control);
    printable.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> SecretString {
        let body = URL_SAFE_NO_PAD.encode(payload);
        SecretString::from(format!("eyJhbGciOiJSUzI1NiJ9.{body}.c2lnbmF0dXJl"))
    }

    #[test]
    fn reads_issuer_and_one_audience() {
        let origin = TokenOrigin::peek(&jwt(
            r#"{"iss":"https://idp.example.com/oauth2/default/","aud":"tapgate","sub":"alice"}"#,
        ));
        assert_eq!(origin.issuer.as_deref(), Some("https://idp.example.com/oauth2/default/"));
        assert_eq!(origin.audience.as_deref(), Some("tapgate"));
        assert_eq!(origin.provider_name(), "idp.example.com/oauth2/default");
    }

    #[test]
    fn reads_a_list_of_audiences() {
        let origin = TokenOrigin::peek(&jwt(r#"{"iss":"https://idp.example.com","aud":["a","b"]}"#));
        assert_eq!(origin.audience.as_deref(), Some("a, b"));
    }

    #[test]
    fn an_opaque_token_gives_words_not_values() {
        let origin = TokenOrigin::peek(&SecretString::from("opaque-access-token"));
        assert_eq!(origin, TokenOrigin::default());
        assert!(origin.issuer_text().contains("no readable iss"));
        assert_eq!(origin.provider_name(), "ISSUER-HOST");
    }
}
