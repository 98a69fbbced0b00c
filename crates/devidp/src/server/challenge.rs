//! `POST /passkey/challenge` (wire contract 3): starts a security-key sign-in for a named user.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::{IdpState, blocking};
use crate::passkey::{Ceremony, challenge_options};
use crate::users::Users;

pub(crate) async fn challenge(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || start(&state, &body)).await?
}

fn start(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let client_id = body.required("client_id")?;
    // Security keys hold non-discoverable credentials: without a name there is nothing to
    // put in allowCredentials.
    let username = body.required("username")?;
    state.check_client(&client_id)?;

    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users.by_name(&username).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "user_not_found", format!("no user named {username}"))
    })?;
    let keys = user.security_keys();
    if keys.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_credentials",
            format!("{} has no registered security key", user.name),
        ));
    }

    let (challenge, ceremony_state) = state
        .webauthn
        .start_securitykey_authentication(&keys)
        .map_err(|e| ApiError::server(crate::Error::Webauthn(e)))?;
    let now = state.clock.unix_now();
    let ceremony = Ceremony { sub: user.sub, user_name: user.name.clone(), client_id, state: ceremony_state };
    let auth_session = state.ceremonies.insert(ceremony, now);
    tracing::debug!(user = %user.name, "challenge issued");

    let body = json!({
        "auth_session": auth_session,
        "authn_params_public_key": challenge_options(&challenge),
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
