//! OIDC discovery (`/.well-known/openid-configuration`) and the JWKS (wire contract 1 and 2).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::device_grant::DEVICE_GRANT;
use super::{IdpState, blocking};
use crate::keys::SigningKeys;

/// The grant Auth0 Native Passkeys uses at the token endpoint.
pub(crate) const WEBAUTHN_GRANT: &str = "urn:okta:params:oauth:grant-type:webauthn";

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_configuration(State(state): State<Arc<IdpState>>) -> Json<Value> {
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "device_authorization_endpoint": format!("{issuer}/oauth/device/code"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT, WEBAUTHN_GRANT],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "iss", "aud", "azp", "sub", "iat", "nbf", "exp", "jti", "nonce",
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
