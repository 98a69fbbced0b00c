//! OIDC discovery (`/.well-known/openid-configuration`), the JWKS, and the `/authorize`
//! placeholder (wire contract 1 and 2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::{IdpState, blocking};
use crate::keys::SigningKeys;

/// The grant Auth0 Native Passkeys uses at the token endpoint.
pub(crate) const WEBAUTHN_GRANT: &str = "urn:okta:params:oauth:grant-type:webauthn";

/// Scopes granted when a client asks for none.
pub(crate) const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(state): State<Arc<IdpState>>) -> Json<Value> {
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["refresh_token", WEBAUTHN_GRANT],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "iss", "aud", "sub", "iat", "nbf", "exp", "jti",
            "preferred_username", "email", "groups", "scope", "client_id"
        ],
    }))
}

/// `GET /.well-known/jwks.json`: read from disk each time so `rotate-key` shows at once.
pub(crate) async fn jwks(State(state): State<Arc<IdpState>>) -> Result<Json<Value>, ApiError> {
    let token_ttl = state.token_ttl;
    let data = state.data.clone();
    blocking(move || {
        SigningKeys::load(&data).and_then(|keys| keys.jwks(token_ttl)).map(Json).map_err(ApiError::server)
    })
    .await?
}

/// `/authorize`: the browser flow is not offered (the contract allows 501).
pub(crate) async fn authorize() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "unsupported_response_type",
        "this dev IdP has no browser sign-in: use POST /passkey/challenge and the webauthn grant",
    )
}
