//! HTTPS identity of the IdP: a private CA generated into the data directory on first start
//! and a `localhost` server certificate signed by it, both reused across restarts.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PublicKeyData,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::data_dir::{DataDir, PRIVATE, PUBLIC, write_atomic};
use crate::error::Error;

/// Names the server certificate answers to: every way a local client may spell loopback.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const CA_COMMON_NAME: &str = "Tapgate dev IdP CA";

/// Makes ring the process-wide rustls provider, so nothing in the process picks aws-lc.
///
/// The server's own config names ring explicitly; this is for other rustls users in the
/// same process. Calling it twice is harmless.
pub fn install_ring_provider() {
    // Err means a provider is already installed, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Loads the CA and server certificate from `dir`, creating whichever is missing, and
/// returns a rustls server configuration offering HTTP/2 and HTTP/1.1.
pub(crate) fn server_config(dir: &DataDir) -> Result<Arc<ServerConfig>, Error> {
    let _lock = dir.lock()?;
    let ca_key = load_or_create_ca(dir)?;
    let (cert_pem, key_pem) = load_or_create_server_cert(dir, ca_key)?;

    let cert = CertificateDer::from_pem_slice(&cert_pem).map_err(|e| corrupt(dir.server_cert_path(), e))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| corrupt(dir.server_key_path(), e))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The base64 SHA-256 of the server certificate's public key (its SubjectPublicKeyInfo):
/// what Chromium's `--ignore-certificate-errors-spki-list` takes to trust this IdP, and only
/// it, without installing the CA. The key survives restarts, so the value does too.
pub fn server_spki_sha256(dir: &DataDir) -> Result<String, Error> {
    let path = dir.server_key_path();
    let pem = dir
        .read(&path)?
        .ok_or_else(|| Error::Certificate(format!("{} is missing: start the server once", path.display())))?;
    let text = String::from_utf8(pem).map_err(|e| corrupt(path.clone(), e))?;
    let key = KeyPair::from_pem(&text).map_err(|e| corrupt(path, e))?;
    Ok(STANDARD.encode(Sha256::digest(key.subject_public_key_info())))
}

/// Returns the CA signing key, generating the CA (cert + key) on first use.
fn load_or_create_ca(dir: &DataDir) -> Result<KeyPair, Error> {
    let cert_path = dir.ca_cert_path();
    let key_path = dir.ca_key_path();
    if let (Some(_), Some(key_pem)) = (dir.read(&cert_path)?, dir.read(&key_path)?) {
        let key_pem = String::from_utf8(key_pem).map_err(|e| corrupt(key_path.clone(), e))?;
        return KeyPair::from_pem(&key_pem).map_err(|e| corrupt(key_path, e));
    }

    let key = KeyPair::generate().map_err(cert_error)?;
    let cert = ca_params()?.self_signed(&key).map_err(cert_error)?;
    // A new CA invalidates any server certificate signed by an older one.
    remove_if_present(&dir.server_cert_path())?;
    write_atomic(&key_path, key.serialize_pem().as_bytes(), PRIVATE)?;
    write_atomic(&cert_path, cert.pem().as_bytes(), PUBLIC)?;
    tracing::info!(ca = %cert_path.display(), "created a new certificate authority");
    Ok(key)
}

/// Returns (certificate PEM, key PEM) of the server certificate, issuing one when missing.
fn load_or_create_server_cert(dir: &DataDir, ca_key: KeyPair) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let cert_path = dir.server_cert_path();
    let key_path = dir.server_key_path();
    if let (Some(cert), Some(key)) = (dir.read(&cert_path)?, dir.read(&key_path)?) {
        return Ok((cert, key));
    }

    let issuer = Issuer::new(ca_params()?, ca_key);
    let mut params = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec()).map_err(cert_error)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "localhost");
    params.distinguished_name = name;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().map_err(cert_error)?;
    let cert = params.signed_by(&key, &issuer).map_err(cert_error)?;

    let cert_pem = cert.pem().into_bytes();
    let key_pem = key.serialize_pem().into_bytes();
    write_atomic(&key_path, &key_pem, PRIVATE)?;
    write_atomic(&cert_path, &cert_pem, PUBLIC)?;
    Ok((cert_pem, key_pem))
}

/// The CA's parameters. Rebuilt identically when signing a new server certificate, so the
/// CA certificate never has to be parsed back.
fn ca_params() -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

fn remove_if_present(path: &std::path::Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Write { path: path.to_owned(), reason: crate::error::describe_io(&e) }),
    }
}

fn cert_error(error: rcgen::Error) -> Error {
    Error::Certificate(error.to_string())
}

fn corrupt(path: std::path::PathBuf, error: impl std::fmt::Display) -> Error {
    Error::Corrupt { path, reason: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_created_once_and_reused() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let dir = DataDir::create(temp.path())?;
        server_config(&dir)?;
        let ca_first = std::fs::read(dir.ca_cert_path())?;
        let server_first = std::fs::read(dir.server_cert_path())?;
        server_config(&dir)?;
        assert_eq!(std::fs::read(dir.ca_cert_path())?, ca_first);
        assert_eq!(std::fs::read(dir.server_cert_path())?, server_first);

        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.ca_key_path())?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }
}
