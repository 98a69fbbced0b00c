//! The security-key ceremony of the IdP's own pages (W3C WebAuthn §7.2, with webauthn-rs):
//! a challenge for a named user's registered keys, then the assertion checked and the
//! signature counter saved. Shared by the browser sign-in page (`/authorize`) and the device
//! verification page (`/device`), which differ only in what a success buys.

use axum::http::StatusCode;
use uuid::Uuid;
use webauthn_rs::prelude::{PublicKeyCredential, RequestChallengeResponse, SecurityKeyAuthentication};

use super::IdpState;
use super::api_error::ApiError;
use super::body::OAuthBody;
use crate::passkey::refusal_reason;
use crate::users::{Users, record_authentication};

/// A ceremony between its challenge and its assertion.
pub(crate) struct KeyCeremony {
    pub(super) sub: Uuid,
    pub(super) user_name: String,
    state: SecurityKeyAuthentication,
}

/// A challenge for the keys of `username`, and the ceremony that checks the answer.
pub(super) fn begin(
    state: &IdpState,
    username: &str,
) -> Result<(RequestChallengeResponse, KeyCeremony), ApiError> {
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users.by_name(username).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "user_not_found", format!("no user named {}", username.trim()))
    })?;
    let keys = user.security_keys();
    if keys.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_credentials",
            format!("{} has no registered security key", user.name),
        ));
    }
    let (challenge, ceremony) = state
        .webauthn
        .start_securitykey_authentication(&keys)
        .map_err(|e| ApiError::server(crate::Error::Webauthn(e)))?;
    Ok((challenge, KeyCeremony { sub: user.sub, user_name: user.name.clone(), state: ceremony }))
}

/// Checks the assertion in `body` (`credential`) against the ceremony, and saves the new
/// counter.
pub(super) fn verify(state: &IdpState, body: &OAuthBody, ceremony: &KeyCeremony) -> Result<(), ApiError> {
    let assertion: PublicKeyCredential = serde_json::from_value(body.object("credential")?)
        .map_err(|e| ApiError::invalid_request(format!("credential is not a WebAuthn assertion: {e}")))?;
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users
        .by_sub(ceremony.sub)
        .ok_or_else(|| denied(format!("user {} no longer exists", ceremony.user_name)))?;
    if !user.owns_credential(&assertion.raw_id) {
        return Err(denied(format!("security key not registered for {}", user.name)));
    }
    let result =
        state.webauthn.finish_securitykey_authentication(&assertion, &ceremony.state).map_err(|e| {
            denied(format!("assertion refused: {}", refusal_reason(&e, &assertion, &state.origin)))
        })?;
    record_authentication(&state.data, user.sub, &result).map_err(ApiError::server)
}

/// 403 `access_denied`: the key did not prove who the person said they were.
fn denied(description: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "access_denied", description)
}
