//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3) with the PKCE
//! verifier (RFC 7636 §4.5) and, when the audience is a URI, the RFC 8707 `resource` again
//! (§2.2: the token request names the resource the access token is for).
//!
//! Sent through our own HTTPS client, like every other IdP call, so the `Date` of the
//! response measures the clock skew the ID token checks then use.

use openidconnect::PkceCodeVerifier;
use tapgate_config::IdpConfig;

use super::authorize::resource_indicator;
use crate::IdpError;
use crate::discovery::Discovery;
use crate::http::{IdpHttp, IdpResponse, OAuthError, status_text};

/// Exchanges `code` for tokens; a 2xx response is returned whole for `token_set`.
pub(crate) async fn exchange(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    code: &str,
    verifier: &PkceCodeVerifier,
    redirect_uri: &str,
) -> Result<IdpResponse, IdpError> {
    let endpoint = &discovery.token_endpoint;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        // §4.1.3: the same redirect_uri as in the authorization request.
        ("redirect_uri", redirect_uri),
        // A public client identifies itself by client_id alone (§3.2.1).
        ("client_id", config.client_id.as_str()),
        ("code_verifier", verifier.secret().as_str()),
    ];
    if let Some(secret) = &config.provider.client_secret {
        // An installed app's secret (Google requires it; not a secret, see provider.rs).
        form.push(("client_secret", secret.as_str()));
    }
    if let Some(resource) = resource_indicator(config) {
        form.push(("resource", resource));
    }
    let built = http.client().post(endpoint.clone()).form(&form).build();
    drop(form); // holds the code and the verifier
    let response = http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await?;
    if response.status.is_success() {
        return Ok(response);
    }
    Err(exchange_error(config, &format!("POST {endpoint}"), &response, code))
}

/// A refused exchange (RFC 6749 §5.2), never quoting the code.
fn exchange_error(config: &IdpConfig, endpoint: &str, response: &IdpResponse, code: &str) -> IdpError {
    let error = OAuthError::parse(&response.body);
    let redact = |text: String| if code.len() >= 8 { text.replace(code, "[redacted]") } else { text };
    match error.error.as_str() {
        "invalid_grant" => {
            IdpError::CodeRejected { idp: config.name.clone(), description: redact(error.describe()) }
        }
        "unauthorized_client" | "invalid_client" => {
            IdpError::UnknownClient { idp: config.name.clone(), client_id: config.client_id.clone() }
        }
        _ => IdpError::Protocol {
            idp: config.name.clone(),
            endpoint: endpoint.to_string(),
            status: status_text(response.status),
            detail: redact(error.detail()),
        },
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::json;

    use super::*;

    fn response(status: u16, body: serde_json::Value) -> IdpResponse {
        IdpResponse {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.to_string().into_bytes(),
            skew: None,
        }
    }

    #[test]
    fn a_refused_code_asks_for_a_new_sign_in_without_quoting_it() {
        let config = crate::browser::tests_support::config();
        let err = exchange_error(
            &config,
            "POST https://login.example.com/token",
            &response(
                400,
                json!({ "error": "invalid_grant", "error_description": "grant request is invalid: code-SECRET-123 used" }),
            ),
            "code-SECRET-123",
        );
        assert_eq!(
            err.to_string(),
            "the IdP corp refused the sign-in code (grant request is invalid: [redacted] used): sign in again"
        );
        let err =
            exchange_error(&config, "POST x", &response(401, json!({ "error": "invalid_client" })), "c");
        assert!(matches!(err, IdpError::UnknownClient { .. }), "{err}");
        let err = exchange_error(&config, "POST x", &response(500, json!({})), "c");
        assert_eq!(
            err.to_string(),
            "the IdP corp answered HTTP 500 Internal Server Error to POST x: no OAuth error in the body"
        );
    }
}
