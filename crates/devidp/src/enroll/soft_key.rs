//! Registration with a webauthn-authenticator-rs `SoftToken` kept in a file.

use std::path::Path;

use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softtoken::{AAGUID, SoftToken};
use webauthn_rs::prelude::AttestationCaListBuilder;

use super::{Ceremony, Registered};
use crate::data_dir::{PRIVATE, write_atomic};
use crate::error::{Error, describe_io};

/// Registers a credential on the soft key at `path` (created when missing) and saves it.
///
/// The file is written with `SoftToken::to_cbor`, the format `SoftTokenFile::open` reads,
/// atomically and only after the ceremony succeeded. (`SoftTokenFile` itself saves when
/// dropped and can only log a failed save; here a failure must reach the user.)
pub(super) fn register(ceremony: &Ceremony<'_>, path: &Path) -> Result<Registered, Error> {
    let (mut token, attestation_ca) = match std::fs::read(path) {
        Ok(bytes) => {
            let token = SoftToken::from_cbor(&bytes).map_err(|e| Error::Corrupt {
                path: path.to_owned(),
                reason: format!("not a soft key file ({e})"),
            })?;
            // The token's CA certificate is not readable back from the file, so an added
            // credential is enrolled without checking its attestation.
            (token, None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // `true`: the soft key claims user verification, like a key with a PIN set.
            let (token, ca) = SoftToken::new(true)
                .map_err(|e| Error::Registration(format!("cannot create a soft key: {e}")))?;
            (token, Some(ca))
        }
        Err(e) => {
            return Err(Error::Read { path: path.to_owned(), reason: describe_io(&e) });
        }
    };

    let ca_list = match attestation_ca {
        Some(ca) => {
            let mut builder = AttestationCaListBuilder::new();
            builder
                .insert_device_x509(ca, AAGUID, "Tapgate soft key".to_owned(), Default::default())
                .map_err(|e| Error::Registration(format!("soft key attestation CA: {e}")))?;
            Some(builder.build())
        }
        None => None,
    };

    let (challenge, state) = ceremony
        .webauthn
        .start_securitykey_registration(
            ceremony.sub,
            ceremony.name,
            ceremony.name,
            Some(ceremony.exclude.clone()),
            ca_list,
            None,
        )
        .map_err(|e| Error::Registration(e.to_string()))?;
    let response = token
        .do_registration(ceremony.origin.clone(), challenge)
        .map_err(|e| Error::Registration(format!("the soft key refused to register: {e}")))?;
    let key = ceremony
        .webauthn
        .finish_securitykey_registration(&response, &state)
        .map_err(|e| Error::Registration(e.to_string()))?;

    let bytes =
        token.to_cbor().map_err(|e| Error::Registration(format!("cannot encode the soft key: {e}")))?;
    write_atomic(path, &bytes, PRIVATE)?;
    Ok(Registered { key, label: format!("soft key {}", path.display()), amr: crate::users::AMR_SOFTWARE_KEY })
}
