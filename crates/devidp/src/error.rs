//! The one error type of the dev IdP library, worded for the person running it.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong outside a single HTTP request.
///
/// Refusals sent to HTTP clients (`invalid_grant` and friends) are not errors of the IdP and
/// live in `server::api_error` instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data directory is missing, unreadable or unwritable.
    #[error("cannot use data directory {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },

    /// A state file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: String },

    /// A state file could not be written.
    #[error("cannot write {path}: {reason}")]
    Write { path: PathBuf, reason: String },

    /// A state file exists but does not hold what the IdP wrote there.
    #[error("{path} is damaged: {reason} (fix or remove it)")]
    Corrupt { path: PathBuf, reason: String },

    /// The dev IdP is for demos and tests and must not be reachable from the network.
    #[error(
        "refusing to listen on {addr}: the dev IdP only listens on loopback addresses \
         (127.0.0.1, ::1, localhost)"
    )]
    NotLoopback { addr: String },

    /// `--listen` is not an address.
    #[error("cannot understand listen address {addr:?}: expected IP:PORT such as 127.0.0.1:8443")]
    BadListenAddress { addr: String },

    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },

    /// The HTTPS server stopped with an I/O error.
    #[error("the HTTPS server failed: {0}")]
    Serve(#[source] io::Error),

    /// The CA or server certificate could not be made or loaded.
    #[error("cannot prepare the TLS certificates: {0}")]
    Certificate(String),

    /// rustls refused the server configuration.
    #[error("cannot configure TLS: {0}")]
    Tls(#[from] rustls::Error),

    /// A signing key could not be generated, loaded or used.
    #[error("signing key problem: {0}")]
    SigningKey(String),

    /// A JWT could not be signed.
    #[error("cannot sign a token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),

    /// The WebAuthn relying party could not be set up.
    #[error("cannot set up WebAuthn for rp_id localhost: {0}")]
    Webauthn(#[source] webauthn_rs::prelude::WebauthnError),

    /// The registration ceremony of `enroll` failed.
    #[error("enrolling the security key failed: {0}")]
    Registration(String),

    /// A user name that cannot be an account.
    #[error("invalid user name {name:?}: {reason}")]
    InvalidUserName { name: String, reason: String },

    /// The key just registered already belongs to someone.
    #[error("this security key credential is already enrolled for {owner}")]
    CredentialTaken { owner: String },

    /// `export-credential` found no credential of the soft key enrolled in the data directory.
    #[error(
        "no credential of {key_file} is enrolled in {data_dir}: enroll it with \
         `tapgate-devidp enroll --data {data_dir} --user NAME --soft-key {key_file}`"
    )]
    NotEnrolled { key_file: PathBuf, data_dir: PathBuf },

    /// `enroll --usb` in a build without the `usb` feature.
    #[error(
        "this build of tapgate-devidp has no USB support: rebuild with \
         `cargo build -p tapgate-devidp --features usb`"
    )]
    UsbUnsupported,

    /// Talking to a USB security key failed.
    #[error("USB security key: {0}")]
    Usb(String),
}

/// Short wording for the I/O errors people actually hit, without "(os error 13)" noise.
pub(crate) fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        io::ErrorKind::AddrInUse => "address in use".to_owned(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
        io::ErrorKind::ReadOnlyFilesystem => "read-only file system".to_owned(),
        io::ErrorKind::StorageFull => "no space left on device".to_owned(),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_in_use_reads_like_a_sentence() {
        let error = io::Error::from(io::ErrorKind::AddrInUse);
        assert_eq!(describe_io(&error), "address in use");
    }
}
