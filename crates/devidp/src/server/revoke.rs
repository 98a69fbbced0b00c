//! `POST /oauth/revoke` (RFC 7009, wire contract 6): forgets a refresh token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::{IdpState, blocking};
use crate::refresh;
use crate::users::Users;

pub(crate) async fn revoke(
    State(state): State<Arc<IdpState>>,
    body: OAuthBody,
) -> Result<Response, ApiError> {
    blocking(move || revoke_token(&state, &body)).await?
}

fn revoke_token(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let token = body.required("token")?;
    // RFC 7009 2.1: the hint only speeds up the lookup, and there is one kind to look up
    // (access tokens are JWTs that cannot be revoked; they run out with --token-ttl).
    let _hint = body.field("token_type_hint")?;
    // A public client identifies itself with client_id; tolerate its absence.
    if let Some(client_id) = body.field("client_id")? {
        state.check_client(&client_id)?;
    }

    let outcome = match refresh::revoke(&state.data, &token).map_err(ApiError::server)? {
        Some(record) => {
            let user = Users::load(&state.data)
                .ok()
                .and_then(|users| users.by_sub(record.sub).map(|u| u.name.clone()))
                .unwrap_or_else(|| "-".to_owned());
            tracing::info!(user = %user, outcome = %"revoked", "refresh token revoked");
            "revoked"
        }
        None => "unknown",
    };
    tracing::debug!(outcome, "revocation request");
    // RFC 7009 2.2: 200 whether or not the token was known, so the answer reveals nothing.
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response())
}
