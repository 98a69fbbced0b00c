//! The WebAuthn relying party (rp_id `localhost`) and the pending sign-in ceremonies between
//! a dialect's challenge (`POST /passkey/challenge`, `POST /oauth/primary-authenticate`) and
//! its webauthn grant.

use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;
use webauthn_rs::prelude::{PublicKeyCredential, RequestChallengeResponse, WebauthnError};
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::error::Error;
use crate::pending::Pending;
use crate::server::key_ceremony::KeyCeremony;

/// The relying party id every credential of the dev IdP is bound to.
pub(crate) const RP_ID: &str = "localhost";

/// How long the authenticator may wait for a touch (the challenge's `timeout`).
const AUTHENTICATOR_TIMEOUT: Duration = Duration::from_secs(60);

/// How long an `auth_session` (or an Okta challenge) stays redeemable (wire contract 4a).
const CEREMONY_TTL_SECS: i64 = 300;

/// Members of `authn_params_public_key` the wire contract names; webauthn-rs adds others
/// (`hints`) that an Auth0 client does not expect.
const CHALLENGE_MEMBERS: [&str; 5] = ["challenge", "rpId", "timeout", "userVerification", "allowCredentials"];

/// A WebAuthn relying party that accepts exactly `origin` (scheme, host and port), with
/// rp_id `localhost`.
pub(crate) fn relying_party(origin: &Url) -> Result<Webauthn, Error> {
    WebauthnBuilder::new(RP_ID, origin)
        .and_then(|b| b.rp_name("Tapgate dev IdP").timeout(AUTHENTICATOR_TIMEOUT).build())
        .map_err(Error::Webauthn)
}

/// A sign-in waiting for its assertion at the token endpoint.
pub(crate) struct Ceremony {
    /// The client the challenge was issued to; only it may redeem it.
    pub(crate) client_id: String,
    pub(crate) key: KeyCeremony,
}

/// Ceremonies by `auth_session` (Auth0) or by challenge (Okta), each redeemable for
/// [`CEREMONY_TTL_SECS`].
#[derive(Default)]
pub(crate) struct PendingCeremonies(Pending<Ceremony>);

impl PendingCeremonies {
    /// Stores a ceremony and returns its new, unguessable `auth_session`.
    pub(crate) fn insert(&self, ceremony: Ceremony, now: i64) -> String {
        self.0.insert(ceremony, now.saturating_add(CEREMONY_TTL_SECS), now)
    }

    /// Stores a ceremony under an id the dialect already has (Okta: the challenge itself,
    /// which comes back inside the signed clientDataJSON).
    pub(crate) fn insert_as(&self, id: String, ceremony: Ceremony, now: i64) {
        self.0.put(id, ceremony, now.saturating_add(CEREMONY_TTL_SECS), now);
    }

    /// Removes and returns the ceremony: an `auth_session` is single use whatever the outcome.
    pub(crate) fn take(&self, session: &str, now: i64) -> Option<Ceremony> {
        self.0.take(session, now).map(|(ceremony, _)| ceremony)
    }
}

/// `authn_params_public_key` of the challenge response, as the contract spells it.
pub(crate) fn challenge_options(challenge: &RequestChallengeResponse) -> Value {
    let mut options = Map::new();
    if let Ok(Value::Object(all)) = serde_json::to_value(&challenge.public_key) {
        for (name, value) in all {
            if CHALLENGE_MEMBERS.contains(&name.as_str()) {
                options.insert(name, value);
            }
        }
    }
    Value::Object(options)
}

/// Why webauthn-rs refused an assertion, in words that point at the cause.
pub(crate) fn refusal_reason(
    error: &WebauthnError,
    credential: &PublicKeyCredential,
    expected_origin: &Url,
) -> String {
    match error {
        WebauthnError::InvalidRPOrigin => {
            let asserted = asserted_origin(credential).unwrap_or_else(|| "?".to_owned());
            format!(
                "origin mismatch: the key signed for {asserted}, this IdP only accepts {}",
                expected_origin.origin().ascii_serialization()
            )
        }
        WebauthnError::MismatchedChallenge => {
            "challenge mismatch: the assertion answers another challenge".to_owned()
        }
        WebauthnError::CredentialPossibleCompromise => {
            "signature counter went backwards: the key may be cloned".to_owned()
        }
        other => other.to_string(),
    }
}

/// The origin in the signed clientDataJSON, to name it in a refusal.
fn asserted_origin(credential: &PublicKeyCredential) -> Option<String> {
    let client_data: Value = serde_json::from_slice(&credential.response.client_data_json).ok()?;
    client_data.get("origin")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_needs_a_localhost_origin() -> Result<(), url::ParseError> {
        assert!(relying_party(&Url::parse("https://localhost:8443")?).is_ok());
        assert!(relying_party(&Url::parse("https://example.com")?).is_err());
        Ok(())
    }
}
