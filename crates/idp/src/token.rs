//! The tokens of a successful sign-in or refresh: the OAuth token response (RFC 6749 §5.1)
//! turned into a `TokenSet` with decoded claims and an expiry on the IdP's clock.

use std::fmt;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tapgate_clock::Clock;
use tapgate_config::{IdpConfig, TokenChoice};

use crate::claims::{decode_claims, looks_like_jwt};
use crate::http::{IdpResponse, status_text};
use crate::{Claims, ClockSkew, IdpError};

/// Tokens from the IdP. `Debug` shows the claims and expiry, never a token.
#[derive(Clone)]
pub struct TokenSet {
    /// The bearer token sent to the database: the OAuth access token, or the ID token when the
    /// IdP's table says `token = "id"`.
    pub access_token: SecretString,
    /// The OIDC ID token, if the IdP sent one.
    pub id_token: Option<SecretString>,
    /// For `IdpClient::refresh`. After a refresh without rotation this is the one that was used.
    pub refresh_token: Option<SecretString>,
    /// Decoded from the access token (or the ID token if the access token is not a JWT).
    pub claims: Claims,
    /// Unix seconds on the IdP's clock: the access token's `exp`, else IdP-now + `expires_in`.
    pub expires_at: i64,
    /// Measured on the response that carried these tokens.
    pub skew: ClockSkew,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |present: bool| if present { "[redacted]" } else { "None" };
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("id_token", &redacted(self.id_token.is_some()))
            .field("refresh_token", &redacted(self.refresh_token.is_some()))
            .field("claims", &self.claims)
            .field("expires_at", &self.expires_at)
            .field("skew", &self.skew)
            .finish()
    }
}

/// RFC 6749 §5.1 successful token response.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    token_type: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    id_token: Option<SecretString>,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

/// Reads a 2xx token endpoint response.
///
/// `previous_refresh` is the refresh token just used, kept when the IdP does not rotate it
/// (RFC 6749 §6: a new one is optional). `fallback_skew` is used when the response had no `Date`.
pub(crate) fn token_set(
    idp: &str,
    endpoint: &str,
    response: &IdpResponse,
    previous_refresh: Option<&SecretString>,
    fallback_skew: Option<ClockSkew>,
    clock: &dyn Clock,
) -> Result<TokenSet, IdpError> {
    let unreadable = |detail: String| IdpError::Protocol {
        idp: idp.to_string(),
        endpoint: endpoint.to_string(),
        status: status_text(response.status),
        detail,
    };
    let body: TokenResponse =
        serde_json::from_slice(&response.body).map_err(|err| unreadable(describe_json_error(&err)))?;
    if !body.token_type.eq_ignore_ascii_case("bearer") {
        return Err(unreadable(format!("token_type {} (Tapgate needs Bearer)", body.token_type)));
    }

    let skew = response.skew.or(fallback_skew).unwrap_or_default();
    let access = body.access_token.expose_secret();
    let (claims, expires_at) = if looks_like_jwt(access) {
        let claims = decode_claims(access)?;
        let exp = claims.exp;
        (claims, exp)
    } else {
        let id_token = body.id_token.as_ref().ok_or_else(|| IdpError::InvalidToken {
            reason: "the access token is opaque and no ID token came with it".to_string(),
        })?;
        let claims = decode_claims(id_token.expose_secret())?;
        let expires_at = match body.expires_in {
            Some(seconds) => skew.idp_now(clock) + seconds,
            None => claims.exp,
        };
        (claims, expires_at)
    };

    Ok(TokenSet {
        access_token: body.access_token,
        id_token: body.id_token,
        refresh_token: body.refresh_token.or_else(|| previous_refresh.cloned()),
        claims,
        expires_at,
        skew,
    })
}

/// Puts the token the database should get (`token` in `[idp.NAME]`) in `access_token`, with
/// its claims and expiry. `access` leaves the set as it is.
pub(crate) fn for_database(
    set: TokenSet,
    config: &IdpConfig,
    choice: TokenChoice,
) -> Result<TokenSet, IdpError> {
    match choice {
        TokenChoice::Access => Ok(set),
        TokenChoice::Id => {
            let id_token = set.id_token.clone().ok_or_else(|| IdpError::InvalidToken {
                reason: format!(
                    "[idp.{}] has token = \"id\" but the IdP sent no ID token: check that scopes include openid",
                    config.name
                ),
            })?;
            let claims = decode_claims(id_token.expose_secret())?;
            Ok(TokenSet { access_token: id_token, expires_at: claims.exp, claims, ..set })
        }
    }
}

/// What was wrong with a JSON body, without quoting it (serde_json's "invalid type" messages
/// quote values, and a value here may be a token).
fn describe_json_error(err: &serde_json::Error) -> String {
    let message = err.to_string();
    if message.starts_with("missing field") {
        format!("unreadable token response ({message})")
    } else {
        format!("unreadable token response (bad JSON at line {} column {})", err.line(), err.column())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use reqwest::StatusCode;
    use serde_json::json;
    use tapgate_clock::SystemClock;

    use super::*;

    fn jwt(payload: serde_json::Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"at+jwt"}"#);
        format!("{header}.{}.c2ln", URL_SAFE_NO_PAD.encode(payload.to_string()))
    }

    fn response(body: serde_json::Value, skew: Option<ClockSkew>) -> IdpResponse {
        IdpResponse { status: StatusCode::OK, body: body.to_string().into_bytes(), skew }
    }

    fn claims_json(exp: i64) -> serde_json::Value {
        json!({ "iss": "https://localhost:8443", "sub": "u1", "aud": "postgres", "exp": exp, "email": "alice@example.com" })
    }

    #[test]
    fn expiry_comes_from_the_access_token() {
        let access = jwt(claims_json(1_900_000_000));
        let set = token_set(
            "corp",
            "POST https://localhost:8443/oauth/token",
            &response(
                json!({ "access_token": access, "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-new" }),
                Some(ClockSkew { seconds: 9 }),
            ),
            None,
            None,
            &SystemClock,
        )
        .expect("token set");
        assert_eq!(set.expires_at, 1_900_000_000);
        assert_eq!(set.claims.identity(), "alice@example.com");
        assert_eq!(set.skew, ClockSkew { seconds: 9 });
        assert_eq!(
            set.refresh_token.as_ref().map(|t| t.expose_secret().to_string()),
            Some("rt-new".to_string())
        );
    }

    #[test]
    fn an_opaque_access_token_uses_the_id_token_and_expires_in() {
        let set = token_set(
            "corp",
            "token endpoint",
            &response(
                json!({ "access_token": "opaque", "token_type": "bearer", "expires_in": 300, "id_token": jwt(claims_json(1)) }),
                Some(ClockSkew { seconds: 0 }),
            ),
            Some(&SecretString::from("rt-old")),
            None,
            &SystemClock,
        )
        .expect("token set");
        let expected = ClockSkew::default().idp_now(&SystemClock) + 300;
        assert!((set.expires_at - expected).abs() <= 1, "{} vs {expected}", set.expires_at);
        assert_eq!(
            set.refresh_token.as_ref().map(|t| t.expose_secret().to_string()),
            Some("rt-old".to_string())
        );
    }

    #[test]
    fn debug_never_shows_a_token() {
        let access = jwt(claims_json(1_900_000_000));
        let set = token_set(
            "corp",
            "token endpoint",
            &response(json!({ "access_token": access, "token_type": "Bearer", "refresh_token": "rt-SECRET", "id_token": "id-SECRET" }), None),
            None,
            None,
            &SystemClock,
        )
        .expect("token set");
        let debug = format!("{set:?}");
        assert!(!debug.contains(&access), "{debug}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("alice@example.com"), "{debug}");
    }

    #[test]
    fn unreadable_bodies_do_not_quote_tokens() {
        let err = token_set(
            "corp",
            "token endpoint",
            &response(
                json!({ "access_token": "x", "token_type": "Bearer", "expires_in": "eyJ-SECRET" }),
                None,
            ),
            None,
            None,
            &SystemClock,
        )
        .expect_err("bad expires_in");
        assert!(!err.to_string().contains("SECRET"), "{err}");

        let err = token_set(
            "corp",
            "token endpoint",
            &response(json!({ "token_type": "Bearer" }), None),
            None,
            None,
            &SystemClock,
        )
        .expect_err("no access token");
        assert!(err.to_string().contains("missing field `access_token`"), "{err}");
    }

    #[test]
    fn token_id_puts_the_id_token_first() {
        let access = jwt(claims_json(1_900_000_000));
        let id = jwt(
            json!({ "iss": "https://localhost:8443", "sub": "u1", "aud": "tapgate", "exp": 1_800_000_000 }),
        );
        let set = token_set(
            "corp",
            "token endpoint",
            &response(json!({ "access_token": access, "token_type": "Bearer", "id_token": id }), None),
            None,
            None,
            &SystemClock,
        )
        .expect("token set");
        let mut config = crate::browser::tests_support::config();
        let unchanged = for_database(set.clone(), &config, config.token).expect("access");
        assert_eq!(unchanged.access_token.expose_secret(), access);
        config.token = TokenChoice::Id;
        let chosen = for_database(set.clone(), &config, config.token).expect("id");
        assert_eq!(chosen.access_token.expose_secret(), id);
        assert_eq!(chosen.claims.aud, vec!["tapgate".to_string()]);
        assert_eq!(chosen.expires_at, 1_800_000_000);
        let err =
            for_database(TokenSet { id_token: None, ..set }, &config, config.token).expect_err("no id token");
        assert!(err.to_string().contains("token = \"id\" but the IdP sent no ID token"), "{err}");
    }

    #[test]
    fn non_bearer_tokens_are_refused() {
        let err = token_set(
            "corp",
            "token endpoint",
            &response(json!({ "access_token": jwt(claims_json(1)), "token_type": "DPoP" }), None),
            None,
            None,
            &SystemClock,
        )
        .expect_err("DPoP");
        assert!(err.to_string().contains("token_type DPoP"), "{err}");
    }
}
