//! `GET /authorize` (RFC 6749 4.1.1, RFC 7636, RFC 8252, wire contract 7): checks the
//! request, then serves the sign-in page or sends the error back to the client.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::IdpState;
use super::browser_sign_in::{BrowserSignIn, SIGN_IN_TTL_SECS};
use super::sign_in_page;
use crate::authorize_request::{self, AuthorizeRefusal};

pub(crate) async fn authorize(State(state): State<Arc<IdpState>>, RawQuery(query): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    match authorize_request::parse(&params, &state.client_id) {
        Ok(request) => {
            let now = state.clock.unix_now();
            let client_id = request.client_id.clone();
            let login_hint = request.login_hint.clone();
            let id = state.browser_sign_ins.insert(
                BrowserSignIn { request, ceremony: None },
                now.saturating_add(SIGN_IN_TTL_SECS),
                now,
            );
            sign_in_page::sign_in(&id, &client_id, login_hint.as_deref())
        }
        Err(AuthorizeRefusal::Show(message)) => {
            tracing::warn!(reason = %message, "authorization request refused (error page)");
            sign_in_page::error(StatusCode::BAD_REQUEST, &message)
        }
        Err(refusal) => match refusal.location() {
            Some(location) => {
                tracing::warn!(?refusal, "authorization request refused (redirected)");
                found(location.as_str())
            }
            None => sign_in_page::error(StatusCode::BAD_REQUEST, "the request was refused"),
        },
    }
}

/// 302 to `location` (RFC 6749 4.1.2 uses Found in its examples).
pub(super) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => sign_in_page::error(StatusCode::BAD_REQUEST, "the redirect URI cannot be used"),
    }
}
