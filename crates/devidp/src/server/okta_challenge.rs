//! `POST /oauth/primary-authenticate` (docs/idp-wire-contract.md §8c-d): the Okta dialect's
//! challenge, for a user named by `login_hint`, with `challenge_hint` asking for WebAuthn.
//!
//! The path is the token endpoint's (`/oauth/token`) with its final `/token` replaced, which
//! is how Okta's SDK (and Tapgate's client) find it: nothing new in discovery.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::discovery::WEBAUTHN_GRANT;
use super::{IdpState, blocking, key_ceremony};
use crate::passkey::{Ceremony, challenge_options};

pub(crate) async fn primary_authenticate(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || start(&state, &body)).await?
}

fn start(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let client_id = body.required("client_id")?;
    let username = body.required("login_hint")?;
    let hint = body.required("challenge_hint")?;
    state.check_client(&client_id)?;
    // Okta offers OTP and out-of-band factors here too; the dev IdP only has keys.
    if hint != WEBAUTHN_GRANT {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_challenge_type",
            format!("challenge_hint {hint:?} is not supported: the dev IdP only offers {WEBAUTHN_GRANT}"),
        ));
    }

    let (challenge, key) = key_ceremony::begin(state, &username)?;
    tracing::debug!(user = %key.user_name, "okta challenge issued");
    // The token request names no session: the challenge inside clientDataJSON finds this again.
    let id = URL_SAFE_NO_PAD.encode(challenge.public_key.challenge.as_slice());
    state.okta_ceremonies.insert_as(id, Ceremony { client_id, key }, state.clock.unix_now());

    let body = json!({
        "challengeType": WEBAUTHN_GRANT,
        "publicKey": okta_public_key(challenge_options(&challenge)),
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// The request options as in Okta's SDK fixture: no `rpId` (Okta ties it to the org domain,
/// and the client takes it from its origin), so the dev IdP tests that path of the client.
fn okta_public_key(mut options: Value) -> Value {
    if let Value::Object(members) = &mut options {
        members.remove("rpId");
    }
    options
}
