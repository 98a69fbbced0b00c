//! `POST /oauth/token` (wire contract 4): the webauthn grant, the refresh_token grant,
//! (in `code_grant`) the authorization_code grant and (in `device_grant`) the device_code
//! grant, each logged as one line (user, grant, outcome, kid; never a token or code).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use super::api_error::ApiError;
use super::body::OAuthBody;
use super::device_grant::DEVICE_GRANT;
use super::discovery::WEBAUTHN_GRANT;
use super::{IdpState, blocking, code_grant, device_grant, key_ceremony, okta_grant};
use crate::authorize_request::DEFAULT_SCOPE;
use crate::keys::SigningKeys;
use crate::refresh::{self, Redeemed, RefreshRecord};
use crate::tokens::{TokenGrant, mint};
use crate::users::{User, Users};

pub(crate) async fn token(State(state): State<Arc<IdpState>>, body: OAuthBody) -> Result<Response, ApiError> {
    blocking(move || grant(&state, &body)).await?
}

/// A successful token response and the key that signed it (for the log line).
pub(super) struct Issued {
    response: Response,
    kid: String,
}

/// Who asked, filled in as soon as the grant knows.
#[derive(Default)]
pub(super) struct GrantLog {
    pub(super) user: Option<String>,
}

fn grant(state: &IdpState, body: &OAuthBody) -> Result<Response, ApiError> {
    let grant_type = body.field("grant_type")?.unwrap_or_default();
    let mut log = GrantLog::default();
    let (grant_name, result) = match grant_type.as_str() {
        WEBAUTHN_GRANT => ("webauthn", webauthn_grant(state, body, &mut log)),
        "refresh_token" => ("refresh_token", refresh_grant(state, body, &mut log)),
        "authorization_code" => ("authorization_code", code_grant::redeem(state, body, &mut log)),
        DEVICE_GRANT => ("device_code", device_grant::redeem(state, body, &mut log)),
        "" => ("-", Err(ApiError::invalid_request("grant_type is required"))),
        other => (
            "-",
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type {other:?} is not supported: use authorization_code, {DEVICE_GRANT}, {WEBAUTHN_GRANT} or refresh_token"
                ),
            )),
        ),
    };
    let user = log.user.as_deref().unwrap_or("-");
    match result {
        Ok(issued) => {
            tracing::info!(
                user = %user,
                grant = %grant_name,
                outcome = %"issued",
                kid = %issued.kid,
                "token issued"
            );
            Ok(issued.response)
        }
        // A device polling while the person is still at the page is not worth a warning.
        Err(refusal) if matches!(refusal.code(), "authorization_pending" | "slow_down") => {
            tracing::debug!(grant = %grant_name, outcome = %refusal.code(), "token not yet");
            Err(refusal)
        }
        Err(refusal) => {
            tracing::warn!(
                user = %user,
                grant = %grant_name,
                outcome = %"refused",
                reason = %refusal.description(),
                "token refused"
            );
            Err(refusal)
        }
    }
}

/// Wire contract 4a: verify the assertion for a pending ceremony. The same grant type carries
/// Okta's flat assertion fields (section 8, `okta_grant`): an `auth_session` says Auth0.
fn webauthn_grant(state: &IdpState, body: &OAuthBody, log: &mut GrantLog) -> Result<Issued, ApiError> {
    if body.field("auth_session")?.is_none() && body.field("clientDataJSON")?.is_some() {
        return okta_grant::redeem(state, body, log);
    }
    let client_id = body.required("client_id")?;
    let auth_session = body.required("auth_session")?;
    let assertion: PublicKeyCredential = serde_json::from_value(body.object("authn_response")?)
        .map_err(|e| ApiError::invalid_request(format!("authn_response is not a WebAuthn assertion: {e}")))?;
    let scope = body.field("scope")?.unwrap_or_else(|| DEFAULT_SCOPE.to_owned());
    let audience = body.field("audience")?.unwrap_or_else(|| client_id.clone());
    state.check_client(&client_id)?;

    let now = state.clock.unix_now();
    let ceremony = state
        .ceremonies
        .take(&auth_session, now)
        .ok_or_else(|| forbidden("auth_session unknown or expired"))?;
    log.user = Some(ceremony.key.user_name.clone());
    if ceremony.client_id != client_id {
        return Err(forbidden("auth_session was issued to another client"));
    }
    let (user, amr) = key_ceremony::check(state, &assertion, &ceremony.key, forbidden)?;
    signed_in(state, &user, Grant { client_id, audience, scope, amr }, now)
}

/// What a key tap at the token endpoint was for.
pub(super) struct Grant {
    pub(super) client_id: String,
    pub(super) audience: String,
    pub(super) scope: String,
    /// How the person signed in (RFC 8176: `hwk` or `swk`).
    pub(super) amr: Vec<String>,
}

/// The tokens of a key tap at the token endpoint (either dialect): a new refresh-token
/// family that lives `refresh_ttl` from the tap.
pub(super) fn signed_in(state: &IdpState, user: &User, grant: Grant, now: i64) -> Result<Issued, ApiError> {
    let expires_at = now.saturating_add(secs(state.refresh_ttl));
    let Grant { client_id, audience, scope, amr } = grant;
    issue(
        state,
        user,
        RefreshRecord {
            sub: user.sub,
            client_id,
            audience,
            scope,
            authenticated_at: now,
            expires_at,
            grant: None,
            amr,
        },
        None,
    )
}

/// Wire contract 4b: redeem and rotate a refresh token.
fn refresh_grant(state: &IdpState, body: &OAuthBody, log: &mut GrantLog) -> Result<Issued, ApiError> {
    let client_id = body.required("client_id")?;
    let token = body.required("refresh_token")?;
    let requested_scope = body.field("scope")?;
    // Checked before the token is redeemed: a malformed request does not use it up.
    let audience = requested_audience(body)?;
    state.check_client(&client_id)?;

    let now = state.clock.unix_now();
    let record = match refresh::redeem(&state.data, &token, now).map_err(ApiError::server)? {
        Redeemed::Valid(record) => record,
        Redeemed::Expired(record) => {
            log.user = Users::load(&state.data)
                .ok()
                .and_then(|users| users.by_sub(record.sub).map(|u| u.name.clone()));
            return Err(bad_grant("refresh token expired"));
        }
        Redeemed::Unknown => return Err(bad_grant("refresh token unknown or already used")),
    };
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users
        .by_sub(record.sub)
        .ok_or_else(|| bad_grant("the user of this refresh token no longer exists"))?;
    log.user = Some(user.name.clone());
    if record.client_id != client_id {
        return Err(bad_grant("refresh token was issued to another client"));
    }

    // RFC 6749 6: a refresh may narrow the scope, never widen it.
    let scope = match requested_scope {
        None => record.scope.clone(),
        Some(requested) => {
            let granted: Vec<&str> = record.scope.split_whitespace().collect();
            if let Some(extra) = requested.split_whitespace().find(|s| !granted.contains(s)) {
                refresh::put_back(&state.data, &token, record.clone()).map_err(ApiError::server)?;
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("scope {extra:?} was not granted at sign-in"),
                ));
            }
            requested
        }
    };
    // RFC 8707: a refresh may ask for an access token for another resource (a database of
    // its own). The refresh token keeps the audience it was granted with; only this access
    // token is for the other one, as with IdPs whose refresh tokens serve several APIs.
    let record = RefreshRecord { scope, ..record };
    match audience {
        None => issue(state, user, record, None),
        Some(audience) => issue_for_audience(state, user, record, &audience),
    }
}

/// `audience` (Auth0's parameter) or `resource` (RFC 8707) of a refresh request; sent
/// together, they must agree.
fn requested_audience(body: &OAuthBody) -> Result<Option<String>, ApiError> {
    let target = |detail: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_target", detail);
    let resource = match body.field("resource")? {
        Some(resource) => match url::Url::parse(&resource) {
            Ok(url) if url.fragment().is_none() => Some(resource),
            _ => {
                return Err(target(format!(
                    "resource {resource:?} must be an absolute URI without a fragment"
                )));
            }
        },
        None => None,
    };
    match (body.field("audience")?, resource) {
        (Some(audience), Some(resource)) if audience != resource => {
            Err(target(format!("audience {audience:?} and resource {resource:?} disagree: send one")))
        }
        (Some(audience), _) => Ok(Some(audience)),
        (None, resource) => Ok(resource),
    }
}

/// Signs the tokens, stores the new refresh token and builds the response. `nonce` goes
/// into the ID token (browser sign-ins only).
pub(super) fn issue(
    state: &IdpState,
    user: &User,
    record: RefreshRecord,
    nonce: Option<&str>,
) -> Result<Issued, ApiError> {
    let audience = record.audience.clone();
    issue_tokens(state, user, record, nonce, &audience)
}

/// [`issue`] with the access token for `audience` instead of the grant's own.
fn issue_for_audience(
    state: &IdpState,
    user: &User,
    record: RefreshRecord,
    audience: &str,
) -> Result<Issued, ApiError> {
    issue_tokens(state, user, record, None, audience)
}

fn issue_tokens(
    state: &IdpState,
    user: &User,
    record: RefreshRecord,
    nonce: Option<&str>,
    audience: &str,
) -> Result<Issued, ApiError> {
    let key = SigningKeys::load(&state.data).and_then(|keys| keys.active()).map_err(ApiError::server)?;
    let minted = mint(
        &key,
        &state.issuer,
        &state.clock,
        state.token_ttl,
        &TokenGrant {
            user,
            client_id: &record.client_id,
            audience,
            scope: &record.scope,
            nonce,
            amr: &record.amr,
        },
    )
    .map_err(ApiError::server)?;
    let scope = record.scope.clone();
    let refresh_token =
        refresh::issue(&state.data, record, state.clock.unix_now()).map_err(ApiError::server)?;

    let body = json!({
        "access_token": minted.access_token,
        "id_token": minted.id_token,
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "expires_in": minted.expires_in,
        "scope": scope,
    });
    let response =
        ([(header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")], Json(body)).into_response();
    Ok(Issued { response, kid: key.kid })
}

/// 403 `invalid_grant`: the Auth0 webauthn grant's refusals (wire contract 4a).
fn forbidden(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "invalid_grant", description)
}

/// 400 `invalid_grant`: the refresh and code grants' refusals (wire contract 4b, 4c).
pub(super) fn bad_grant(description: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub(super) fn secs(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}
