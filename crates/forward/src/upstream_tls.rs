//! [`UpstreamTls`]: the rustls client for one database, built once at bind time from its
//! sslmode, the system roots and `ca_file`, and the explanation of handshake failures.
//!
//! Roots: verify-full trusts `ca_file` alone when it is given, as libpq's `sslrootcert` does
//! (plus the system store with `ca_file_add`), else the system store (rustls-native-certs: the
//! OS's CA bundle, or the file/directory in `SSL_CERT_FILE` / `SSL_CERT_DIR`); a server
//! certificate in `ca_file` is pinned ([`crate::pinned_certificate`]). verify-ca trusts
//! `ca_file` alone; require checks nothing but the handshake's own signatures.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::instance_name::InstanceName;
use crate::pinned_certificate::PinnedOrWebPki;
use crate::{ForwardError, ForwarderConfig, SslMode, SslNegotiation};

/// ALPN protocol id PostgreSQL 17+ requires for direct TLS (and accepts after SSLRequest).
pub(crate) const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// A ready TLS client for one server.
#[derive(Clone)]
pub(crate) struct UpstreamTls {
    pub(crate) connector: TlsConnector,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) negotiation: SslNegotiation,
    pub(crate) mode: SslMode,
    pub(crate) name: String,
    pub(crate) host: String,
    /// The name the certificate must carry: `server_name`, else the host.
    pub(crate) checked_name: String,
    pub(crate) port: u16,
}

impl std::fmt::Debug for UpstreamTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamTls")
            .field("server_name", &self.server_name)
            .field("negotiation", &self.negotiation)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl UpstreamTls {
    /// Loads the roots and builds the rustls client (ring provider) for `config`.
    pub(crate) fn new(config: &ForwarderConfig) -> Result<UpstreamTls, ForwardError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let setup =
            |e: rustls::Error| ForwardError::TlsSetup { name: config.name.clone(), reason: e.to_string() };
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(setup)?;

        // A `server_name` that is a DNS name is simply the name checked (and sent as SNI); one
        // that is not (Cloud SQL's `project:instance`) is checked by [`InstanceName`].
        let dns_server_name = config.server_name.as_ref().and_then(|n| ServerName::try_from(n.clone()).ok());
        let instance_name = config.server_name.clone().filter(|_| dns_server_name.is_none());
        let mut client = match config.sslmode {
            SslMode::VerifyFull => {
                let verifier: Arc<dyn ServerCertVerifier> = match &config.ca_file {
                    None => webpki_verifier(config, system_roots(), &provider)?,
                    Some(path) => {
                        let mut roots =
                            if config.ca_file_add { system_roots() } else { RootCertStore::empty() };
                        let pinned = add_ca_file(&mut roots, path)?;
                        Arc::new(PinnedOrWebPki { pinned, inner: webpki_verifier(config, roots, &provider)? })
                    }
                };
                let verifier = match instance_name {
                    Some(name) => Arc::new(InstanceName { inner: verifier, name }),
                    None => verifier,
                };
                builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
            }
            SslMode::VerifyCa => {
                let Some(path) = &config.ca_file else {
                    return Err(ForwardError::VerifyCaNeedsCaFile { name: config.name.clone() });
                };
                let mut roots = RootCertStore::empty();
                add_ca_file(&mut roots, path)?;
                let verifier = ChainOnly { inner: webpki_verifier(config, roots, &provider)? };
                builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
            }
            SslMode::Require => {
                let verifier = NoCertificateCheck { algorithms: provider.signature_verification_algorithms };
                builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
            }
        };
        // libpq 17 offers ALPN on every TLS connection; PostgreSQL 17+ requires it for direct
        // TLS and checks it when offered, older servers ignore it.
        client.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];

        let server_name = match dns_server_name {
            Some(name) => name,
            None => {
                ServerName::try_from(config.upstream_host.clone()).map_err(|e| ForwardError::TlsSetup {
                    name: config.name.clone(),
                    reason: format!("host {}: {e}", config.upstream_host),
                })?
            }
        };
        Ok(UpstreamTls {
            connector: TlsConnector::from(Arc::new(client)),
            server_name,
            negotiation: config.ssl_negotiation,
            mode: config.sslmode,
            name: config.name.clone(),
            host: config.upstream_host.clone(),
            checked_name: config.server_name.clone().unwrap_or_else(|| config.upstream_host.clone()),
            port: config.upstream_port,
        })
    }

    /// Turns a failed handshake into words and, when we know one, a fix.
    pub(crate) fn explain(&self, error: &io::Error) -> ForwardError {
        let rustls_error = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        let (explanation, hint) = match rustls_error {
            Some(rustls::Error::InvalidCertificate(certificate)) => self.explain_certificate(certificate),
            Some(rustls::Error::AlertReceived(alert)) => (
                format!("the server ended the handshake with the alert \"{alert:?}\""),
                (self.negotiation == SslNegotiation::Direct).then(|| {
                    "direct TLS needs PostgreSQL 17 or later with ALPN \"postgresql\"; try \
                     sslnegotiation = \"postgres\""
                        .to_owned()
                }),
            ),
            Some(other) => (other.to_string(), None),
            None if self.negotiation == SslNegotiation::Direct
                && matches!(error.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset) =>
            {
                (
                    "the server closed the connection during the handshake".to_owned(),
                    Some(
                        "direct TLS (sslnegotiation = \"direct\") needs PostgreSQL 17 or later; use \
                         sslnegotiation = \"postgres\" for older servers"
                            .to_owned(),
                    ),
                )
            }
            None => (error.to_string(), None),
        };
        ForwardError::Tls { host: self.host.clone(), port: self.port, explanation, hint }
    }

    fn explain_certificate(&self, error: &CertificateError) -> (String, Option<String>) {
        let ca_hint = || {
            Some(format!(
                "set ca_file for {} to the CA certificate (PEM) that signed the server's certificate",
                self.name
            ))
        };
        match error {
            CertificateError::UnknownIssuer => {
                ("the server's certificate is not signed by a CA Tapgate trusts".to_owned(), ca_hint())
            }
            CertificateError::BadSignature => (
                "the server's certificate was not signed by the trusted CA of the same name (bad signature)"
                    .to_owned(),
                ca_hint(),
            ),
            CertificateError::NotValidForNameContext { presented, .. } => (
                format!(
                    "the server's certificate is not valid for {} (it names: {})",
                    self.checked_name,
                    if presented.is_empty() {
                        "no names".to_owned()
                    } else {
                        presented.iter().map(|name| presented_name(name)).collect::<Vec<_>>().join(", ")
                    }
                ),
                Some(format!(
                    "connect to a host name the certificate names, or have the server's certificate name {} \
                     (server_name sets the name to check when it is not the host)",
                    self.checked_name
                )),
            ),
            CertificateError::NotValidForName => {
                (format!("the server's certificate is not valid for {}", self.checked_name), None)
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                ("the server's certificate has expired".to_owned(), None)
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                ("the server's certificate is not valid yet (check this computer's clock)".to_owned(), None)
            }
            // WebPKI's `CaUsedAsEndEntity`, reached through rustls's opaque `Other` (its type is
            // rustls-webpki's, which this crate does not name): a self-signed certificate.
            CertificateError::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => (
                "the server's certificate is self-signed (a CA certificate used as the server's) and \
                 is not the one in ca_file"
                    .to_owned(),
                Some(format!(
                    "put the server's own certificate (PEM) in ca_file for {}, as for libpq's sslrootcert",
                    self.name
                )),
            ),
            other => (format!("the server's certificate was refused: {other:?}"), None),
        }
    }
}

/// webpki reports presented names in Debug form (`DnsName("db.example.com")`,
/// `IpAddress(10.0.0.1)`); people want just the name.
fn presented_name(debug: &str) -> &str {
    debug
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| debug.strip_prefix("IpAddress(").and_then(|rest| rest.strip_suffix(')')))
        .unwrap_or(debug)
}

/// The OS's roots; unreadable entries are skipped (logged), as every TLS client does.
fn system_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "skipping unreadable system CA certificates");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "loaded system CA certificates");
    roots
}

/// Adds the certificates of `path` to `roots` and returns them (for pinning).
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<Vec<CertificateDer<'static>>, ForwardError> {
    let fail = |reason: String| ForwardError::CaFile { path: path.to_owned(), reason };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    if certs.is_empty() {
        return Err(fail("it holds no PEM certificate".to_owned()));
    }
    for cert in &certs {
        roots.add(cert.clone()).map_err(|e| fail(e.to_string()))?;
    }
    Ok(certs)
}

fn webpki_verifier(
    config: &ForwarderConfig,
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, ForwardError> {
    if roots.is_empty() {
        return Err(ForwardError::NoTrustRoots { name: config.name.clone() });
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| ForwardError::TlsSetup { name: config.name.clone(), reason: e.to_string() })
}

/// verify-ca: the full WebPKI check, except that a name mismatch is accepted. The chain is
/// checked before the name, so a name error means the chain was good.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// require: any certificate is accepted (libpq's sslmode=require); the handshake signatures are
/// still checked so the session keys belong to whoever holds that certificate's key.
#[derive(Debug)]
struct NoCertificateCheck {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::presented_name;

    #[test]
    fn presented_names_read_like_names() {
        assert_eq!(presented_name("DnsName(\"db.example.com\")"), "db.example.com");
        assert_eq!(presented_name("DnsName(\"*.example.com\")"), "*.example.com");
        assert_eq!(presented_name("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(presented_name("Unsupported(0x66)"), "Unsupported(0x66)");
    }
}
