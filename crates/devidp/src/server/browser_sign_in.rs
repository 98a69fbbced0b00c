//! The sign-in page's calls (wire contract 7): `POST /authorize/challenge` starts the
//! WebAuthn ceremony for the named user, `POST /authorize/assertion` finishes it and issues
//! the authorization code, `POST /authorize/cancel` gives up. Each answers JSON; on success
//! `{"redirect_to": URL}` tells the page where to send the browser.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::key_ceremony::{self, KeyCeremony};
use super::{IdpState, blocking};
use crate::auth_code::{self, CODE_TTL_SECS, CodeRecord};
use crate::authorize_request::{AuthorizeRequest, error_redirect};
use crate::redirect_uri::with_params;

/// How long a sign-in page stays usable.
pub(super) const SIGN_IN_TTL_SECS: i64 = 600;

/// A browser sign-in between `GET /authorize` and the assertion.
pub(crate) struct BrowserSignIn {
    pub(super) request: AuthorizeRequest,
    /// Set by `/authorize/challenge`, used up by `/authorize/assertion`.
    pub(super) ceremony: Option<KeyCeremony>,
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
    let id = body.required("request")?;
    let now = state.clock.unix_now();
    let (sign_in, _) = state.browser_sign_ins.take(&id, now).ok_or_else(expired)?;
    let request = sign_in.request;
    tracing::info!(outcome = %"cancelled", "browser sign-in");
    // RFC 6749 4.1.2.1: the person said no.
    let location = error_redirect(
        &request.redirect_uri,
        "access_denied",
        "the sign-in was cancelled",
        request.state.as_deref(),
    );
    Ok(redirect_to(location.as_str()))
}

fn start(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let id = body.required("request")?;
    let username = body.required("username")?;
    let now = state.clock.unix_now();
    let (mut sign_in, expires_at) = state.browser_sign_ins.take(&id, now).ok_or_else(expired)?;

    // Whatever goes wrong here, the page may try again with another name.
    let started = key_ceremony::begin(state, &username);
    let result = started.map(|(challenge, ceremony)| {
        sign_in.ceremony = Some(ceremony);
        challenge
    });
    state.browser_sign_ins.put(id, sign_in, expires_at, now);
    let challenge = result?;
    Ok(no_store(Json(json!({ "publicKey": challenge.public_key }))))
}

fn finish(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let id = body.required("request")?;
    let now = state.clock.unix_now();
    let (sign_in, expires_at) = state.browser_sign_ins.take(&id, now).ok_or_else(expired)?;
    let BrowserSignIn { request, ceremony } = sign_in;
    // The challenge is single use; the page may ask for a new one and try again.
    let retry = |request: AuthorizeRequest| {
        state.browser_sign_ins.put(id.clone(), BrowserSignIn { request, ceremony: None }, expires_at, now);
    };
    let Some(ceremony) = ceremony else {
        retry(request);
        return Err(ApiError::invalid_request("ask /authorize/challenge for a challenge first"));
    };
    let amr = match key_ceremony::verify(state, body, &ceremony) {
        Ok(amr) => amr,
        Err(refusal) => {
            tracing::warn!(user = %ceremony.user_name, outcome = %"refused", reason = %refusal.description(), "browser sign-in");
            retry(request);
            return Err(refusal);
        }
    };

    let record = CodeRecord {
        client_id: request.client_id,
        redirect_uri: request.redirect_uri.to_string(),
        code_challenge: request.code_challenge,
        nonce: request.nonce,
        sub: ceremony.sub,
        user_name: ceremony.user_name.clone(),
        audience: request.audience,
        scope: request.scope,
        authenticated_at: now,
        amr,
        expires_at: now.saturating_add(CODE_TTL_SECS),
        used: false,
    };
    let code = auth_code::issue(&state.data, record, now).map_err(ApiError::server)?;
    tracing::info!(user = %ceremony.user_name, outcome = %"code issued", "browser sign-in");

    let mut params = vec![("code", code.as_str())];
    if let Some(client_state) = request.state.as_deref() {
        params.push(("state", client_state));
    }
    // RFC 9207: says which IdP answered, against mix-up attacks.
    params.push(("iss", state.issuer.as_str()));
    Ok(redirect_to(with_params(&request.redirect_uri, &params).as_str()))
}

fn redirect_to(location: &str) -> Response {
    no_store(Json(json!({ "redirect_to": location })))
}

pub(super) fn no_store(body: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

pub(super) fn expired() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "sign_in_expired",
        "this sign-in page has expired: start the sign-in again from the application",
    )
}
