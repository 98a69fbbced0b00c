//! The Okta dialect's WebAuthn grant at `POST /oauth/token` (docs/idp-wire-contract.md §8e):
//! `grant_type=urn:okta:params:oauth:grant-type:webauthn` with the assertion as flat form
//! fields and no session and no credential id. The challenge inside the signed clientDataJSON
//! finds the pending ceremony; each of the user's keys is tried as the signer.
//!
//! Refusals are 400 `invalid_grant` (RFC 6749 §5.2), worded as for the Auth0 dialect so the
//! client reads them the same way.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use webauthn_rs::prelude::PublicKeyCredential;

use super::IdpState;
use super::api_error::ApiError;
use super::body::OAuthBody;
use super::key_ceremony;
use super::token::{Grant, GrantLog, Issued, bad_grant, signed_in};
use crate::authorize_request::DEFAULT_SCOPE;

/// Redeems a pending Okta ceremony for tokens.
pub(super) fn redeem(state: &IdpState, body: &OAuthBody, log: &mut GrantLog) -> Result<Issued, ApiError> {
    let client_id = body.required("client_id")?;
    let login_hint = body.field("login_hint")?;
    let client_data_json = binary(body, "clientDataJSON")?;
    let authenticator_data = binary(body, "authenticatorData")?;
    let signature = binary(body, "signature")?;
    let user_handle = body.field("userHandle")?.map(|text| decode(&text, "userHandle")).transpose()?;
    let scope = body.field("scope")?.unwrap_or_else(|| DEFAULT_SCOPE.to_owned());
    let audience = body.field("audience")?.unwrap_or_else(|| client_id.clone());
    state.check_client(&client_id)?;

    let challenge = signed_challenge(&client_data_json)?;
    let now = state.clock.unix_now();
    let ceremony = state
        .okta_ceremonies
        .take(&challenge, now)
        .ok_or_else(|| bad_grant("challenge unknown, expired or already used"))?;
    log.user = Some(ceremony.key.user_name.clone());
    if ceremony.client_id != client_id {
        return Err(bad_grant("the challenge was issued to another client"));
    }
    if login_hint.is_some_and(|hint| hint.trim().to_lowercase() != ceremony.key.user_name) {
        return Err(bad_grant("login_hint is not the user the challenge was issued for"));
    }

    let assertion = assertion(&client_data_json, &authenticator_data, &signature, user_handle.as_deref())?;
    let (user, amr) = key_ceremony::check_unnamed(state, &assertion, &ceremony.key, bad_grant)?;
    signed_in(state, &user, Grant { client_id, audience, scope, amr }, now)
}

/// A binary field; Okta's encoding is not confirmed, so standard base64 and base64url, padded
/// or not, are all read.
fn binary(body: &OAuthBody, name: &str) -> Result<Vec<u8>, ApiError> {
    decode(&body.required(name)?, name)
}

fn decode(text: &str, name: &str) -> Result<Vec<u8>, ApiError> {
    let url_safe: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect();
    URL_SAFE_NO_PAD
        .decode(url_safe)
        .map_err(|e| ApiError::invalid_request(format!("{name} is not base64: {e}")))
}

/// The challenge the key signed (W3C WebAuthn §5.8.1 `challenge`, base64url), normalised.
fn signed_challenge(client_data_json: &[u8]) -> Result<String, ApiError> {
    let client_data: Value = serde_json::from_slice(client_data_json)
        .map_err(|e| ApiError::invalid_request(format!("clientDataJSON is not JSON: {e}")))?;
    let challenge = client_data
        .get("challenge")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::invalid_request("clientDataJSON has no challenge"))?;
    Ok(URL_SAFE_NO_PAD.encode(decode(challenge, "the challenge in clientDataJSON")?))
}

/// The flat fields as webauthn-rs's assertion type; the credential id is filled in per key.
fn assertion(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    user_handle: Option<&[u8]>,
) -> Result<PublicKeyCredential, ApiError> {
    let mut response = json!({
        "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data_json),
        "authenticatorData": URL_SAFE_NO_PAD.encode(authenticator_data),
        "signature": URL_SAFE_NO_PAD.encode(signature),
    });
    if let Some(handle) = user_handle {
        response["userHandle"] = json!(URL_SAFE_NO_PAD.encode(handle));
    }
    serde_json::from_value(json!({
        "id": "",
        "rawId": "",
        "type": "public-key",
        "response": response,
        "extensions": {},
    }))
    .map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", format!("not a WebAuthn assertion: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_base64_alphabets_with_or_without_padding_decode() -> Result<(), ApiError> {
        assert_eq!(decode("+/8=", "x")?, vec![0xfb, 0xff]);
        assert_eq!(decode("-_8", "x")?, vec![0xfb, 0xff]);
        assert!(decode("not base64!", "x").is_err());
        Ok(())
    }

    #[test]
    fn the_signed_challenge_is_read_from_client_data() -> Result<(), ApiError> {
        let client_data = br#"{"type":"webauthn.get","challenge":"c2lnbi1pbi1jaGFsbGVuZ2U","origin":"https://localhost:8443"}"#;
        assert_eq!(signed_challenge(client_data)?, "c2lnbi1pbi1jaGFsbGVuZ2U");
        assert!(signed_challenge(b"{}").is_err());
        Ok(())
    }
}
