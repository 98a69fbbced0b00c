//! OAuth-style JSON error responses (`{"error", "error_description"}`) and the 404/405
//! fallbacks.

use axum::Json;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::Error;

/// A refusal sent to the client. Not an error of the IdP: see [`crate::Error`] for those.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self { status, code, description: description.into() }
    }

    /// 400 `invalid_request`: the body is malformed or misses a field.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_target` (RFC 8707 2): a resource or audience that was not granted.
    pub(crate) fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_target", description)
    }

    /// 401 `unauthorized_client`.
    pub(crate) fn unknown_client(client_id: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized_client", format!("unknown client_id {client_id:?}"))
    }

    /// 500 `server_error`, logged: the IdP itself failed (a state file, a key).
    pub(crate) fn server(error: Error) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", error.to_string())
    }

    /// The OAuth `error` code.
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn description(&self) -> &str {
        &self.description
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "error_description": self.description });
        (
            self.status,
            // Errors of the token endpoint must not be cached either (RFC 6749 5.2).
            [(header::CACHE_CONTROL, "no-store")],
            Json(body),
        )
            .into_response()
    }
}

/// Unknown path (wire contract 5).
pub(crate) async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such endpoint: {}", uri.path()))
}

/// Known path, wrong method (wire contract 5).
pub(crate) async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept this method", uri.path()),
    )
}
