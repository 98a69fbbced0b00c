//! The device authorization request and response (RFC 8628 §3.1, §3.2): the IdP hands out a
//! device code (kept here, a secret) and a user code with the page where the person types it.
//!
//! The request names the client, the scopes and the audience the same way the browser
//! sign-in's authorization request does (`audience` for Auth0-style IdPs, RFC 8707 `resource`
//! when the audience is a URI), so one `[idp.NAME]` table gives the same tokens either way.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use tapgate_config::IdpConfig;
use url::Url;

use crate::IdpError;
use crate::browser::resource_indicator;
use crate::error::one_line;
use crate::http::{IdpHttp, IdpResponse, OAuthError, status_text};

/// RFC 8628 §3.2: "If no value is provided, clients MUST use 5 as the default."
pub(crate) const DEFAULT_INTERVAL_SECS: u64 = 5;

/// What the IdP answered to a device authorization request.
pub(crate) struct DeviceAuthorization {
    /// Presented at the token endpoint while polling; never shown, never logged.
    pub(crate) device_code: SecretString,
    /// What the person types at `verification_uri`.
    pub(crate) user_code: String,
    pub(crate) verification_uri: Url,
    /// `verification_uri` with the user code in it (§3.3.1), for a QR code or a link.
    pub(crate) verification_uri_complete: Option<Url>,
    /// The device code's lifetime.
    pub(crate) expires_in: Duration,
    /// Seconds to wait between polls (§3.5); the default when the IdP sends none.
    pub(crate) interval_secs: u64,
}

/// The §3.2 response body. `verification_url` is Google's spelling of `verification_uri`.
#[derive(Deserialize)]
struct Body {
    device_code: SecretString,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// The form of the §3.1 request for `config`.
pub(crate) fn form(config: &IdpConfig) -> Vec<(&'static str, String)> {
    // A public client identifies itself by client_id alone (RFC 6749 §3.2.1).
    let mut form = vec![("client_id", config.client_id.clone()), ("scope", config.scopes.join(" "))];
    if let Some(audience) = &config.audience {
        form.push(("audience", audience.clone()));
    }
    if let Some(resource) = resource_indicator(config) {
        form.push(("resource", resource.to_string()));
    }
    form
}

/// Asks `endpoint` for a device code (§3.1).
pub(crate) async fn request(
    http: &IdpHttp,
    endpoint: &Url,
    config: &IdpConfig,
) -> Result<DeviceAuthorization, IdpError> {
    let built = http.client().post(endpoint.clone()).form(&form(config)).build();
    let response = http.execute(built.map_err(|err| http.transport_error(&err, endpoint))?).await?;
    read(config, &format!("POST {endpoint}"), &response)
}

/// Reads the §3.2 answer: a device code, or why there is none.
pub(crate) fn read(
    config: &IdpConfig,
    endpoint: &str,
    response: &IdpResponse,
) -> Result<DeviceAuthorization, IdpError> {
    let protocol = |detail: String| IdpError::Protocol {
        idp: config.name.clone(),
        endpoint: endpoint.to_string(),
        status: status_text(response.status),
        detail,
    };
    if !response.status.is_success() {
        let error = OAuthError::parse(&response.body);
        return Err(match error.error.as_str() {
            "invalid_client" => {
                IdpError::UnknownClient { idp: config.name.clone(), client_id: config.client_id.clone() }
            }
            "" => protocol(error.detail()),
            _ => IdpError::DeviceFlowRefused {
                idp: config.name.clone(),
                client_id: config.client_id.clone(),
                description: error.detail(),
            },
        });
    }
    // serde's messages could quote the device code: say only where the body broke.
    let body: Body = serde_json::from_slice(&response.body).map_err(|err| {
        protocol(if err.to_string().starts_with("missing field") {
            format!("unreadable device authorization response ({err})")
        } else {
            "unreadable device authorization response".to_string()
        })
    })?;
    let page = |name: &str, text: &str| {
        // Shown to the person and put in a QR code: only a web page will do.
        let url = Url::parse(text).map_err(|_| protocol(format!("{name} is not a URL")))?;
        if url.scheme() != "https" {
            return Err(protocol(format!("{name} {} is not https", one_line(url.as_str()))));
        }
        Ok(url)
    };
    let verification_uri = page("verification_uri", &body.verification_uri)?;
    let verification_uri_complete = body
        .verification_uri_complete
        .as_deref()
        .map(|text| page("verification_uri_complete", text))
        .transpose()?;
    if body.user_code.trim().is_empty() || body.user_code.chars().any(char::is_control) {
        return Err(protocol("the user_code cannot be shown".to_string()));
    }
    Ok(DeviceAuthorization {
        device_code: body.device_code,
        user_code: body.user_code,
        verification_uri,
        verification_uri_complete,
        expires_in: Duration::from_secs(body.expires_in),
        // An interval of 0 would poll in a tight loop; one second is the least that makes sense.
        interval_secs: body.interval.unwrap_or(DEFAULT_INTERVAL_SECS).max(1),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use reqwest::StatusCode;
    use secrecy::ExposeSecret as _;
    use serde_json::json;

    use super::*;
    use crate::browser::tests_support::config;

    fn response(status: u16, body: serde_json::Value) -> IdpResponse {
        IdpResponse {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.to_string().into_bytes(),
            skew: None,
        }
    }

    #[test]
    fn the_request_names_client_scopes_and_audience_like_the_browser_flow() {
        let form: HashMap<_, _> = form(&config()).into_iter().collect();
        assert_eq!(form["client_id"], "tapgate");
        assert_eq!(form["scope"], "openid groups offline_access");
        assert_eq!(form["audience"], "https://postgres.example.com");
        assert_eq!(form["resource"], "https://postgres.example.com");
        let bare = IdpConfig { audience: Some("postgres".into()), ..config() };
        let form: HashMap<_, _> = super::form(&bare).into_iter().collect();
        assert!(!form.contains_key("resource"), "RFC 8707 §2: a resource is an absolute URI");
    }

    #[test]
    fn a_full_answer_is_read_and_the_interval_defaults_to_five_seconds() {
        let answer = read(
            &config(),
            "POST x",
            &response(
                200,
                json!({
                    "device_code": "dc-SECRET",
                    "user_code": "BCDF-GHJK",
                    "verification_uri": "https://login.example.com/device",
                    "verification_uri_complete": "https://login.example.com/device?user_code=BCDF-GHJK",
                    "expires_in": 600
                }),
            ),
        )
        .expect("read");
        assert_eq!(answer.device_code.expose_secret(), "dc-SECRET");
        assert_eq!(answer.user_code, "BCDF-GHJK");
        assert_eq!(answer.verification_uri.as_str(), "https://login.example.com/device");
        assert_eq!(
            answer.verification_uri_complete.map(String::from).as_deref(),
            Some("https://login.example.com/device?user_code=BCDF-GHJK")
        );
        assert_eq!(answer.expires_in, Duration::from_secs(600));
        assert_eq!(answer.interval_secs, 5);
    }

    #[test]
    fn googles_spelling_and_a_zero_interval_are_accepted_sanely() {
        let answer = read(
            &config(),
            "POST x",
            &response(
                200,
                json!({
                    "device_code": "d", "user_code": "ABCD", "expires_in": 60, "interval": 0,
                    "verification_url": "https://www.google.com/device"
                }),
            ),
        )
        .expect("read");
        assert_eq!(answer.verification_uri.as_str(), "https://www.google.com/device");
        assert_eq!(answer.interval_secs, 1);
    }

    #[test]
    fn refusals_and_bad_answers_are_one_line_without_the_device_code() {
        let err = read(&config(), "POST x", &response(400, json!({ "error": "invalid_client" })))
            .err()
            .expect("refused");
        assert!(matches!(err, IdpError::UnknownClient { .. }), "{err}");
        let err = read(
            &config(),
            "POST x",
            &response(400, json!({ "error": "unauthorized_client", "error_description": "no device grant" })),
        )
        .err()
        .expect("refused");
        assert_eq!(
            err.to_string(),
            "the IdP corp would not start a device sign-in (unauthorized_client: no device grant): check that client_id tapgate may use the device flow"
        );
        let err = read(
            &config(),
            "POST x",
            &response(
                200,
                json!({ "device_code": "dc-SECRET", "user_code": 7, "verification_uri": "x", "expires_in": 1 }),
            ),
        )
        .err()
        .expect("unreadable");
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = read(
            &config(),
            "POST x",
            &response(
                200,
                json!({ "device_code": "d", "user_code": "A", "verification_uri": "http://x/device", "expires_in": 1 }),
            ),
        )
        .err()
        .expect("plain http");
        assert!(err.to_string().ends_with("verification_uri http://x/device is not https"), "{err}");
    }
}
