//! The device verification page (RFC 8628 §3.3; wire contract 8): `GET /device` serves it
//! (prefilled from `?user_code=`), `POST /device/challenge` checks the typed code and starts
//! the security-key ceremony for the named user, `POST /device/assertion` finishes it and
//! lets the device in, `POST /device/cancel` denies the device. Each POST answers JSON;
//! `{"message": ...}` is what the page then tells the person.
//!
//! Approving takes the same key ceremony as the browser sign-in (`key_ceremony`); denying
//! takes only the code, as anyone holding it could equally let it expire.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::browser_sign_in::{SIGN_IN_TTL_SECS, expired, no_store};
use super::key_ceremony::{self, KeyCeremony};
use super::sign_in_page;
use super::{IdpState, blocking};
use crate::device_code::{self, Decision};

/// A verification page between `GET /device` and the person's answer.
#[derive(Default)]
pub(crate) struct DeviceSignIn {
    /// Set by `/device/challenge` with the code it was for, used up by `/device/assertion`.
    ceremony: Option<(String, KeyCeremony)>,
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    user_code: Option<String>,
}

pub(crate) async fn page(State(state): State<Arc<IdpState>>, Query(query): Query<PageQuery>) -> Response {
    let now = state.clock.unix_now();
    let id = state.device_sign_ins.insert(DeviceSignIn::default(), now.saturating_add(SIGN_IN_TTL_SECS), now);
    sign_in_page::device(&id, query.user_code.as_deref())
}

pub(crate) async fn challenge(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || start(&state, &body)).await?
}

pub(crate) async fn assertion(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || finish(&state, &body)).await?
}

pub(crate) async fn cancel(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || deny(&state, &body)).await?
}

fn start(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let id = body.required("request")?;
    let typed = body.required("user_code")?;
    let username = body.required("username")?;
    let now = state.clock.unix_now();
    let (mut page, expires_at) = state.device_sign_ins.take(&id, now).ok_or_else(expired)?;

    // Whatever goes wrong here, the page may try again with another code or name.
    let started = (|| {
        device_code::waiting(&state.data, &typed, now).map_err(ApiError::server)?.ok_or_else(unknown_code)?;
        key_ceremony::begin(state, &username)
    })();
    let result = started.map(|(challenge, ceremony)| {
        page.ceremony = Some((typed, ceremony));
        challenge
    });
    state.device_sign_ins.put(id, page, expires_at, now);
    let challenge = result?;
    Ok(no_store(Json(json!({ "publicKey": challenge.public_key }))))
}

fn finish(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let id = body.required("request")?;
    let now = state.clock.unix_now();
    let (page, expires_at) = state.device_sign_ins.take(&id, now).ok_or_else(expired)?;
    let Some((typed, ceremony)) = page.ceremony else {
        state.device_sign_ins.put(id, DeviceSignIn::default(), expires_at, now);
        return Err(ApiError::invalid_request("ask /device/challenge for a challenge first"));
    };
    let amr = match key_ceremony::verify(state, body, &ceremony) {
        Ok(amr) => amr,
        Err(refusal) => {
            tracing::warn!(user = %ceremony.user_name, outcome = %"refused", reason = %refusal.description(), "device sign-in");
            // The challenge is single use; the page may ask for a new one and try again.
            state.device_sign_ins.put(id, DeviceSignIn::default(), expires_at, now);
            return Err(refusal);
        }
    };
    let decision = Decision::Approve {
        sub: ceremony.sub,
        user_name: ceremony.user_name.clone(),
        authenticated_at: now,
        amr,
    };
    if !device_code::decide(&state.data, &typed, decision, now).map_err(ApiError::server)? {
        // Expired or answered elsewhere while the key was being touched.
        return Err(unknown_code());
    }
    tracing::info!(user = %ceremony.user_name, outcome = %"approved", "device sign-in");
    Ok(message("Signed in. The device continues on its own: you can close this page."))
}

fn deny(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let id = body.required("request")?;
    let typed = body.required("user_code")?;
    let now = state.clock.unix_now();
    let (page, expires_at) = state.device_sign_ins.take(&id, now).ok_or_else(expired)?;
    if !device_code::decide(&state.data, &typed, Decision::Deny, now).map_err(ApiError::server)? {
        state.device_sign_ins.put(id, page, expires_at, now);
        return Err(unknown_code());
    }
    tracing::info!(outcome = %"denied", "device sign-in");
    Ok(message("Denied. The device will not be signed in."))
}

fn message(text: &str) -> Response {
    no_store(Json(json!({ "message": text })))
}

/// 400 `invalid_user_code`: nothing waits for this code (RFC 8628 §3.3 leaves the words to us).
fn unknown_code() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_user_code",
        "no sign-in is waiting for this code: check it, or start again on the device if it expired",
    )
}
