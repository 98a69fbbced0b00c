//! `POST /oauth/device/code` (RFC 8628 §3.1, §3.2; wire contract 8): a device code for the
//! client to poll with, and a user code for the person to type at `/device`.
//!
//! Logged as one line without either code: they are the only secrets of the flow until the
//! person answers.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use url::Url;

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::browser_sign_in::no_store;
use super::{IdpState, blocking};
use crate::authorize_request::DEFAULT_SCOPE;
use crate::device_code::{self, DEVICE_CODE_TTL_SECS, DeviceRecord, DeviceState};
use crate::user_code;

pub(crate) async fn device_authorization(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || start(&state, &body)).await?
}

fn start(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let client_id = body.required("client_id")?;
    state.check_client(&client_id)?;
    let scope = body.field("scope")?.unwrap_or_else(|| DEFAULT_SCOPE.to_owned());
    let audience = audience(body.field("audience")?, body.field("resource")?, &client_id)?;

    let now = state.clock.unix_now();
    let record = DeviceRecord {
        client_id,
        scope,
        audience,
        user_code_digest: String::new(),
        interval_secs: state.device_interval_secs,
        expires_at: now.saturating_add(DEVICE_CODE_TTL_SECS),
        last_polled_ms: None,
        state: DeviceState::Pending,
    };
    let issued = device_code::issue(&state.data, record, now).map_err(ApiError::server)?;
    tracing::info!(outcome = %"device code issued", "device authorization");

    let shown = user_code::display(&issued.user_code);
    let page = format!("{}/device", state.issuer);
    // The issuer is a URL the server made itself; this cannot fail, but is not unwrapped.
    let complete = Url::parse_with_params(&page, [("user_code", shown.as_str())]).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", format!("bad verification URI: {e}"))
    })?;
    Ok(no_store(Json(json!({
        "device_code": issued.device_code,
        "user_code": shown,
        "verification_uri": page,
        "verification_uri_complete": complete.as_str(),
        "expires_in": DEVICE_CODE_TTL_SECS,
        "interval": state.device_interval_secs,
    })))
    .into_response())
}

/// The access token's audience, chosen as `/authorize` chooses it: `audience` (Auth0), else
/// `resource` (RFC 8707, an absolute URI), else the client.
fn audience(audience: Option<String>, resource: Option<String>, client_id: &str) -> Result<String, ApiError> {
    if let Some(resource) = &resource {
        match Url::parse(resource) {
            Ok(url) if url.fragment().is_none() => {}
            _ => return Err(ApiError::invalid_target("resource must be an absolute URI without a fragment")),
        }
    }
    match (audience, resource) {
        (Some(audience), Some(resource)) if audience != resource => Err(ApiError::invalid_target(format!(
            "audience {audience:?} and resource {resource:?} disagree: send one"
        ))),
        (Some(audience), _) => Ok(audience),
        (None, Some(resource)) => Ok(resource),
        (None, None) => Ok(client_id.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_is_chosen_as_authorize_chooses_it() {
        let pick =
            |a: Option<&str>, r: Option<&str>| audience(a.map(String::from), r.map(String::from), "tapgate");
        assert_eq!(pick(Some("postgres"), None).ok().as_deref(), Some("postgres"));
        assert_eq!(pick(None, Some("https://db.example")).ok().as_deref(), Some("https://db.example"));
        assert_eq!(
            pick(Some("https://db.example"), Some("https://db.example")).ok().as_deref(),
            Some("https://db.example")
        );
        assert_eq!(pick(None, None).ok().as_deref(), Some("tapgate"));
        assert!(pick(Some("a"), Some("https://b.example")).is_err());
        assert!(pick(None, Some("not a uri")).is_err());
    }
}
