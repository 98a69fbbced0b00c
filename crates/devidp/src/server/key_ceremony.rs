//! The security-key ceremony (W3C WebAuthn §7.2, with webauthn-rs): a challenge for a named
//! user's registered keys, then the assertion checked and the signature counter saved.
//! Shared by every way to sign in with a key: the browser sign-in page (`/authorize`), the
//! device verification page (`/device`), the Auth0 dialect's webauthn grant and the Okta
//! dialect's, which differ only in how the assertion arrives and what a success buys.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;
use webauthn_rs::prelude::{
    PublicKeyCredential, RequestChallengeResponse, SecurityKeyAuthentication, WebauthnError,
};

use super::IdpState;
use super::api_error::ApiError;
use super::body::OAuthBody;
use crate::passkey::refusal_reason;
use crate::users::{User, Users, record_authentication};

/// A ceremony between its challenge and its assertion.
pub(crate) struct KeyCeremony {
    pub(super) sub: Uuid,
    pub(super) user_name: String,
    state: SecurityKeyAuthentication,
}

/// How a caller words a refusal (the pages: 403 `access_denied`; the token endpoint:
/// `invalid_grant`).
pub(super) type Refuse = fn(String) -> ApiError;

/// A challenge for the keys of `username`, and the ceremony that checks the answer.
pub(super) fn begin(
    state: &IdpState,
    username: &str,
) -> Result<(RequestChallengeResponse, KeyCeremony), ApiError> {
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = users.by_name(username).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "user_not_found", format!("no user named {}", username.trim()))
    })?;
    let keys = user.security_keys();
    if keys.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_credentials",
            format!("{} has no registered security key", user.name),
        ));
    }
    let (challenge, ceremony) = state
        .webauthn
        .start_securitykey_authentication(&keys)
        .map_err(|e| ApiError::server(crate::Error::Webauthn(e)))?;
    Ok((challenge, KeyCeremony { sub: user.sub, user_name: user.name.clone(), state: ceremony }))
}

/// The pages: checks the assertion in `body` (`credential`) against the ceremony. Returns the
/// `amr` the sign-in proves.
pub(super) fn verify(
    state: &IdpState,
    body: &OAuthBody,
    ceremony: &KeyCeremony,
) -> Result<Vec<String>, ApiError> {
    let assertion: PublicKeyCredential = serde_json::from_value(body.object("credential")?)
        .map_err(|e| ApiError::invalid_request(format!("credential is not a WebAuthn assertion: {e}")))?;
    check(state, &assertion, ceremony, denied).map(|(_, amr)| amr)
}

/// Checks an assertion that names its credential (`rawId`), and saves the new counter.
/// Returns the user as now on disk and the `amr` of the key that signed (`hwk` or `swk`).
pub(super) fn check(
    state: &IdpState,
    assertion: &PublicKeyCredential,
    ceremony: &KeyCeremony,
    refuse: Refuse,
) -> Result<(User, Vec<String>), ApiError> {
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = ceremony_user(&users, ceremony, refuse)?;
    // Checked before webauthn-rs so the refusal names the actual problem.
    if !user.owns_credential(&assertion.raw_id) {
        return Err(not_registered(user, refuse));
    }
    finish(state, user, assertion, ceremony, refuse)
}

/// Checks an assertion that does not say which credential signed (Okta's token request sends
/// no credential id, docs/idp-wire-contract.md §8e): each of the user's keys is tried as the
/// signer; a signature none of them made means the key is not this user's.
///
/// `assertion`'s `id`/`rawId` are ignored and replaced per try. Returns the user and the `amr`
/// of the key that signed.
pub(super) fn check_unnamed(
    state: &IdpState,
    assertion: &PublicKeyCredential,
    ceremony: &KeyCeremony,
    refuse: Refuse,
) -> Result<(User, Vec<String>), ApiError> {
    let users = Users::load(&state.data).map_err(ApiError::server)?;
    let user = ceremony_user(&users, ceremony, refuse)?;
    for key in user.security_keys() {
        let mut attempt = assertion.clone();
        attempt.raw_id = key.cred_id().clone();
        attempt.id = URL_SAFE_NO_PAD.encode(key.cred_id().as_slice());
        match state.webauthn.finish_securitykey_authentication(&attempt, &ceremony.state) {
            Ok(result) => {
                record_authentication(&state.data, user.sub, &result).map_err(ApiError::server)?;
                return Ok((user.clone(), user.amr_for(key.cred_id())));
            }
            // Another key's signature: try the next one.
            Err(WebauthnError::AuthenticationFailure) => {}
            // Origin, challenge, RP ID, flags: the same for every key, so say it now.
            Err(e) => {
                return Err(refuse(format!(
                    "assertion refused: {}",
                    refusal_reason(&e, &attempt, &state.origin)
                )));
            }
        }
    }
    Err(not_registered(user, refuse))
}

fn ceremony_user<'u>(users: &'u Users, ceremony: &KeyCeremony, refuse: Refuse) -> Result<&'u User, ApiError> {
    users.by_sub(ceremony.sub).ok_or_else(|| refuse(format!("user {} no longer exists", ceremony.user_name)))
}

fn finish(
    state: &IdpState,
    user: &User,
    assertion: &PublicKeyCredential,
    ceremony: &KeyCeremony,
    refuse: Refuse,
) -> Result<(User, Vec<String>), ApiError> {
    let result =
        state.webauthn.finish_securitykey_authentication(assertion, &ceremony.state).map_err(|e| {
            refuse(format!("assertion refused: {}", refusal_reason(&e, assertion, &state.origin)))
        })?;
    record_authentication(&state.data, user.sub, &result).map_err(ApiError::server)?;
    Ok((user.clone(), user.amr_for(result.cred_id())))
}

fn not_registered(user: &User, refuse: Refuse) -> ApiError {
    refuse(format!("security key not registered for {}", user.name))
}

/// 403 `access_denied`: the key did not prove who the person said they were.
fn denied(description: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "access_denied", description)
}
