//! The identity claims of a token, decoded without verification.
//!
//! The client never trusts these for access decisions: the database side verifies the signature
//! against the IdP's JWKS. The client only needs them to show who signed in, which groups came
//! back, and when the token expires.

use serde::{Deserialize, Deserializer, Serialize};

use crate::IdpError;

/// Claims of an access token (or ID token) that Tapgate uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the IdP's stable id for the user.
    pub sub: String,
    /// Audience; a single string or an array in JSON (RFC 7519 §4.1.3), always a list here.
    #[serde(deserialize_with = "string_or_array")]
    pub aud: Vec<String>,
    /// The user's login name at the IdP.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// The user's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Entra ID's user principal name (the sign-in name, often but not always the address).
    #[serde(default)]
    pub upn: Option<String>,
    /// Group memberships; an IdP that sends none means none.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Issued at (unix seconds, IdP clock).
    #[serde(default)]
    pub iat: Option<i64>,
    /// Not before (unix seconds, IdP clock).
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Expiry (unix seconds, IdP clock).
    pub exp: i64,
    /// Token id.
    #[serde(default)]
    pub jti: Option<String>,
}

impl Claims {
    /// The name to show for the signed-in user: email, else preferred_username, else sub.
    pub fn identity(&self) -> &str {
        self.email
            .as_deref()
            .or(self.upn.as_deref())
            .or(self.preferred_username.as_deref())
            .unwrap_or(&self.sub)
    }

    /// The value of a claim a `user` template may name.
    pub fn user_claim(&self, claim: tapgate_config::UserClaim) -> Option<&str> {
        use tapgate_config::UserClaim;
        match claim {
            UserClaim::Email => self.email.as_deref(),
            UserClaim::Upn => self.upn.as_deref(),
            UserClaim::PreferredUsername => self.preferred_username.as_deref(),
            UserClaim::Sub => Some(&self.sub),
        }
    }

    /// The claims of a database token: the token's own when it is a JWT, else (an opaque
    /// token, as Google's) the ID token's that came with it.
    pub fn of_tokens(token: &str, id_token: Option<&str>) -> Result<Claims, IdpError> {
        if looks_like_jwt(token) {
            return decode_claims(token);
        }
        match id_token {
            Some(id_token) => decode_claims(id_token),
            None => Err(IdpError::InvalidToken {
                reason: "the access token is opaque and no ID token came with it".to_string(),
            }),
        }
    }
}

/// Decodes the claims of a JWT WITHOUT verifying its signature: the database side verifies;
/// the client only learns identity, groups and expiry.
pub fn decode_claims(jwt: &str) -> Result<Claims, IdpError> {
    jsonwebtoken::dangerous::insecure_decode::<Claims>(jwt)
        .map(|data| data.claims)
        // The jsonwebtoken error names the failing part (base64, JSON, missing field), never the
        // token's text.
        .map_err(|err| IdpError::InvalidToken { reason: err.to_string() })
}

/// Whether a token looks like a JWS compact serialisation (three dot-separated parts), as
/// opposed to an opaque access token.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

fn string_or_array<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    /// An unsigned-looking JWT around `payload`: the signature is never checked here.
    fn jwt(payload: serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"at+jwt","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(payload.to_string());
        let signature = URL_SAFE_NO_PAD.encode([7u8; 64]);
        format!("{header}.{body}.{signature}")
    }

    #[test]
    fn audience_as_a_string_becomes_a_list() {
        let claims = decode_claims(&jwt(serde_json::json!({
            "iss": "https://localhost:8443", "sub": "u1", "aud": "postgres", "exp": 1_700_000_300,
            "groups": ["dba", "dev"], "email": "alice@example.com",
        })))
        .expect("decodes");
        assert_eq!(claims.aud, vec!["postgres".to_string()]);
        assert_eq!(claims.groups, vec!["dba".to_string(), "dev".to_string()]);
        assert_eq!(claims.identity(), "alice@example.com");
        assert_eq!(claims.exp, 1_700_000_300);
    }

    #[test]
    fn audience_as_an_array_and_missing_groups() {
        let claims = decode_claims(&jwt(serde_json::json!({
            "iss": "https://localhost:8443", "sub": "u1", "aud": ["postgres", "tapgate"],
            "exp": 1_700_000_300, "iat": 1_700_000_000, "nbf": 1_700_000_000, "jti": "j1",
            "preferred_username": "alice",
        })))
        .expect("decodes");
        assert_eq!(claims.aud, vec!["postgres".to_string(), "tapgate".to_string()]);
        assert!(claims.groups.is_empty());
        assert_eq!(claims.iat, Some(1_700_000_000));
        assert_eq!(claims.identity(), "alice");
    }

    #[test]
    fn identity_falls_back_to_the_subject() {
        let claims = decode_claims(&jwt(serde_json::json!({
            "iss": "i", "sub": "user-42", "aud": "a", "exp": 1,
        })))
        .expect("decodes");
        assert_eq!(claims.identity(), "user-42");
    }

    #[test]
    fn garbage_is_an_error_that_does_not_echo_the_token() {
        let token = "not-a-jwt-SECRETVALUE";
        let err = decode_claims(token).expect_err("not a JWT");
        assert!(!err.to_string().contains("SECRETVALUE"), "{err}");

        let missing_exp = jwt(serde_json::json!({ "iss": "i", "sub": "s", "aud": "a" }));
        let err = decode_claims(&missing_exp).expect_err("exp is required");
        assert!(!err.to_string().contains(&missing_exp), "{err}");
    }

    #[test]
    fn jwt_shape_detection() {
        assert!(looks_like_jwt("a.b.c"));
        assert!(!looks_like_jwt("opaque-token"));
    }
}
