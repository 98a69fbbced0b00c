//! `export-credential`: what a WebDriver virtual authenticator needs to hold a soft key's
//! credential, so a real browser can sign in with it (W3C WebAuthn Level 2, 11.6 "Add
//! Credential": `POST /session/{id}/webauthn/authenticator/{authId}/credential`).
//!
//! A soft key file is a webauthn-authenticator-rs `SoftToken` in CBOR: credential ids map to
//! SEC1 DER P-256 private keys, and one signature counter serves them all. WebDriver wants
//! the key as PKCS#8, so it is re-encoded here.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::pkcs8::EncodePrivateKey;
use serde::{Deserialize, Serialize};

use crate::data_dir::DataDir;
use crate::error::{Error, describe_io};
use crate::passkey::RP_ID;
use crate::users::{StoredCredential, Users};

/// The body of the WebDriver "Add Credential" call for one credential, field for field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedCredential {
    /// The credential id, base64url without padding.
    pub credential_id: String,
    /// Always `false`: enrolled soft keys hold server-side (non-discoverable) credentials.
    pub is_resident_credential: bool,
    /// `localhost`, the relying party of every dev IdP credential.
    pub rp_id: String,
    /// The P-256 private key as PKCS#8 DER, base64url without padding. A secret.
    pub private_key: String,
    /// The WebAuthn user handle given at enrolment (the user's `sub` as 16 bytes), base64url.
    pub user_handle: String,
    /// Where the browser's counter starts: above anything the IdP has seen from this key,
    /// so its first assertion is not taken for a cloned key.
    pub sign_count: u32,
}

/// The parts of a `SoftToken` file this module reads; the rest is ignored.
#[derive(Deserialize)]
struct SoftTokenFile {
    /// Credential id -> SEC1 DER private key.
    tokens: HashMap<Vec<u8>, Vec<u8>>,
    counter: u32,
}

/// The credentials of the soft key at `soft_key` that are enrolled in `dir`, ready for a
/// WebDriver virtual authenticator.
pub fn export_credentials(dir: &DataDir, soft_key: &Path) -> Result<Vec<ExportedCredential>, Error> {
    let bytes = std::fs::read(soft_key)
        .map_err(|e| Error::Read { path: soft_key.to_owned(), reason: describe_io(&e) })?;
    let token: SoftTokenFile = serde_cbor_2::from_slice(&bytes).map_err(|e| Error::Corrupt {
        path: soft_key.to_owned(),
        reason: format!("not a soft key file ({e})"),
    })?;
    let users = Users::load(dir)?;

    let mut exported = Vec::new();
    for (credential_id, sec1_der) in &token.tokens {
        // Credentials of other data directories are of no use to this IdP.
        let Some(user) = users.credential_owner(credential_id) else {
            continue;
        };
        let stored = user.credentials.iter().find(|c| c.key.cred_id().as_slice() == credential_id.as_slice());
        let private_key = p256::SecretKey::from_sec1_der(sec1_der)
            .and_then(|key| key.to_pkcs8_der().map_err(|_| p256::elliptic_curve::Error))
            .map_err(|_| Error::Corrupt {
                path: soft_key.to_owned(),
                reason: "a credential's private key is not a P-256 key".to_owned(),
            })?;
        exported.push(ExportedCredential {
            credential_id: URL_SAFE_NO_PAD.encode(credential_id),
            is_resident_credential: false,
            rp_id: RP_ID.to_owned(),
            private_key: URL_SAFE_NO_PAD.encode(private_key.as_bytes()),
            user_handle: URL_SAFE_NO_PAD.encode(user.sub.as_bytes()),
            sign_count: token.counter.max(stored.map_or(0, stored_counter)),
        });
    }
    if exported.is_empty() {
        return Err(Error::NotEnrolled { key_file: soft_key.to_owned(), data_dir: dir.path().to_owned() });
    }
    exported.sort_by(|a, b| a.credential_id.cmp(&b.credential_id));
    Ok(exported)
}

/// The signature counter webauthn-rs last saw from a credential. webauthn-rs keeps it
/// private unless built with `danger-credential-internals`; its serialised form (which
/// `users.json` holds) names it.
fn stored_counter(credential: &StoredCredential) -> u32 {
    serde_json::to_value(&credential.key)
        .ok()
        .and_then(|value| value["cred"]["counter"].as_u64())
        .and_then(|counter| u32::try_from(counter).ok())
        .unwrap_or(0)
}
