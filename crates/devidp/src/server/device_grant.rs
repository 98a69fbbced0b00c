//! The device_code grant at `POST /oauth/token` (RFC 8628 §3.4, §3.5; wire contract 8):
//! `authorization_pending` until the person answers, `slow_down` when polled sooner than the
//! interval, `expired_token`, `access_denied`, or the tokens, once.

use axum::http::StatusCode;

use super::IdpState;
use super::api_error::ApiError;
use super::body::OAuthBody;
use super::token::{GrantLog, Issued, bad_grant, issue, secs};
use crate::device_code::{self, DeviceState, Polled};
use crate::refresh::RefreshRecord;
use crate::users::Users;

/// RFC 8628 §3.4.
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Answers one poll with the device code in `body`.
pub(super) fn redeem(state: &IdpState, body: &OAuthBody, log: &mut GrantLog) -> Result<Issued, ApiError> {
    let client_id = body.required("client_id")?;
    let device_code = body.required("device_code")?;
    state.check_client(&client_id)?;

    let polled = device_code::poll(&state.data, &device_code, &client_id, state.clock.unix_millis())
        .map_err(ApiError::server)?;
    let (record, grant) = match polled {
        Polled::Approved { record, grant } => (record, grant),
        Polled::Pending => {
            return Err(refusal("authorization_pending", "the person has not answered yet"));
        }
        Polled::SlowDown => {
            return Err(refusal("slow_down", "polled sooner than the interval: wait 5 seconds longer"));
        }
        Polled::Expired => return Err(refusal("expired_token", "the device code expired")),
        Polled::Denied => return Err(refusal("access_denied", "the person denied the sign-in")),
        Polled::AlreadyRedeemed => return Err(bad_grant("device code already used")),
        Polled::OtherClient => return Err(bad_grant("device code was issued to another client")),
        Polled::Unknown => return Err(bad_grant("device code unknown")),
    };
    let DeviceState::Approved { sub, user_name, authenticated_at, amr } = record.state else {
        return Err(bad_grant("device code not approved"));
    };
    log.user = Some(user_name.clone());
    // RFC 8707 2.2: a token request may repeat the resource, not change it.
    if let Some(asked) = body.field("resource")?
        && asked != record.audience
    {
        return Err(ApiError::invalid_target(format!(
            "resource {asked:?} was not requested at the device authorization endpoint"
        )));
    }
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users.by_sub(sub).ok_or_else(|| bad_grant(format!("user {user_name} no longer exists")))?;
    let refresh = RefreshRecord {
        sub,
        client_id,
        audience: record.audience,
        scope: record.scope,
        authenticated_at,
        // Counted from the key tap, as for the other grants.
        expires_at: authenticated_at.saturating_add(secs(state.refresh_ttl)),
        grant: Some(grant),
        amr,
    };
    issue(state, user, refresh, None)
}

/// 400 with one of RFC 8628 §3.5's error codes.
fn refusal(code: &'static str, description: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, description)
}
