//! `POST /passkey/challenge` (wire contract 3): starts a security-key sign-in for a named user.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::{IdpState, blocking, key_ceremony};
use crate::passkey::{Ceremony, challenge_options};

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

    let (challenge, key) = key_ceremony::begin(state, &username)?;
    tracing::debug!(user = %key.user_name, "challenge issued");
    let auth_session = state.ceremonies.insert(Ceremony { client_id, key }, state.clock.unix_now());

    let body = json!({
        "auth_session": auth_session,
        "authn_params_public_key": challenge_options(&challenge),
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
