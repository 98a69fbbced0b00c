//! What one poll of the token endpoint means (RFC 8628 §3.5): tokens, keep waiting, wait
//! longer, or stop with a reason the person can act on. Sans IO: a response in, a verdict out.

use tapgate_config::IdpConfig;

use crate::IdpError;
use crate::http::{IdpResponse, OAuthError, status_text};

/// The grant type of the poll (RFC 8628 §3.4).
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The verdict on one poll.
#[derive(Debug)]
pub(crate) enum PollAnswer {
    /// A successful token response: read it with `token_set`.
    Tokens,
    /// `authorization_pending`: the person has not finished yet; poll again after the interval.
    Pending,
    /// `slow_down`: as pending, and the interval grows by 5 seconds for good.
    SlowDown,
    /// Anything that ends the sign-in: `expired_token`, `access_denied`, a refusal.
    Stop(IdpError),
}

/// Judges the token endpoint's `response` to a poll with `device_code` (which an error
/// description must never repeat).
pub(crate) fn judge(
    config: &IdpConfig,
    endpoint: &str,
    response: &IdpResponse,
    device_code: &str,
) -> PollAnswer {
    if response.status.is_success() {
        return PollAnswer::Tokens;
    }
    let error = OAuthError::parse(&response.body);
    let idp = config.name.clone();
    let redact =
        |text: String| if device_code.len() >= 8 { text.replace(device_code, "[redacted]") } else { text };
    match error.error.as_str() {
        "authorization_pending" => PollAnswer::Pending,
        "slow_down" => PollAnswer::SlowDown,
        "expired_token" => PollAnswer::Stop(IdpError::DeviceCodeExpired { idp }),
        "access_denied" => PollAnswer::Stop(IdpError::DeviceAccessDenied { idp }),
        "invalid_client" | "unauthorized_client" => {
            PollAnswer::Stop(IdpError::UnknownClient { idp, client_id: config.client_id.clone() })
        }
        _ => PollAnswer::Stop(IdpError::Protocol {
            idp,
            endpoint: endpoint.to_string(),
            status: status_text(response.status),
            detail: redact(error.detail()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;
    use serde_json::json;

    use super::*;
    use crate::browser::tests_support::config;

    fn answer(status: u16, body: serde_json::Value) -> PollAnswer {
        let response = IdpResponse {
            status: StatusCode::from_u16(status).expect("status"),
            body: body.to_string().into_bytes(),
            skew: None,
        };
        judge(&config(), "POST https://login.example.com/token", &response, "device-code-SECRET")
    }

    fn stopped(answer: PollAnswer) -> String {
        match answer {
            PollAnswer::Stop(err) => err.to_string(),
            other => format!("not a stop: {other:?}"),
        }
    }

    #[test]
    fn each_rfc_8628_answer_has_its_verdict() {
        assert!(matches!(answer(200, json!({ "access_token": "x" })), PollAnswer::Tokens));
        assert!(matches!(answer(400, json!({ "error": "authorization_pending" })), PollAnswer::Pending));
        assert!(matches!(answer(400, json!({ "error": "slow_down" })), PollAnswer::SlowDown));
        assert_eq!(
            stopped(answer(400, json!({ "error": "expired_token" }))),
            "the code for corp expired before it was confirmed; run it again"
        );
        assert_eq!(
            stopped(answer(400, json!({ "error": "access_denied", "error_description": "End-User denied" }))),
            "the sign-in to corp was refused at the IdP"
        );
        assert_eq!(
            stopped(answer(401, json!({ "error": "invalid_client" }))),
            "the IdP corp does not know client_id tapgate: check client_id in [idp.corp]"
        );
    }

    #[test]
    fn other_refusals_never_quote_the_device_code() {
        let text = stopped(answer(
            400,
            json!({ "error": "invalid_grant", "error_description": "device-code-SECRET was already used" }),
        ));
        assert_eq!(
            text,
            "the IdP corp answered HTTP 400 Bad Request to POST https://login.example.com/token: invalid_grant: [redacted] was already used"
        );
    }
}
