//! Fetching the IdP's JWKS: OpenID Connect Discovery 1.0 §4 for `jwks_uri`, then the JWK Set, over
//! HTTPS with the system roots plus `ca_file`, within one deadline the caller sets (`fetch_timeout`,
//! 5 s by default) that covers everything: DNS, connect, TLS and both requests. A login waits
//! for it, and an IdP that accepts connections and never answers must cost no more than that.
//!
//! ureq (blocking, rustls + ring) rather than reqwest: this code runs in a short-lived PAM helper
//! today and inside a PostgreSQL backend (the validator module) later, where an async runtime of
//! our own making has no place. ureq needs no runtime; its only helper thread is the one that
//! bounds a DNS lookup by the deadline.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::VerifyError;
use crate::error::one_line;

/// Connecting (TCP + TLS) to the IdP must not take longer than this (nor than what is left of
/// the fetch's deadline).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Discovery documents and key sets are small; anything bigger is not one.
const MAX_BODY_BYTES: u64 = 512 * 1024;

/// Where JWK Sets come from. The HTTPS implementation is [`HttpsJwks`]; tests count fetches.
pub trait JwksSource {
    /// The current JWK Set document of the issuer, or an error once `deadline` has passed.
    fn fetch(&self, deadline: Instant) -> Result<Value, VerifyError>;
}

/// Discovery + JWKS over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpsJwks {
    issuer: String,
    discovery_url: String,
    ca_file: Option<PathBuf>,
}

impl HttpsJwks {
    /// A source for `issuer`, trusting the system roots plus `ca_file`. Nothing is read or
    /// fetched until [`JwksSource::fetch`]: most logins are served from the cache.
    pub fn new(issuer: &str, discovery_url: &str, ca_file: Option<PathBuf>) -> HttpsJwks {
        HttpsJwks { issuer: issuer.to_string(), discovery_url: discovery_url.to_string(), ca_file }
    }

    fn unavailable(&self, reason: impl Into<String>) -> VerifyError {
        VerifyError::JwksUnavailable { issuer: self.issuer.clone(), reason: reason.into() }
    }

    fn agent(&self, deadline: Instant) -> Result<ureq::Agent, VerifyError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let roots = self.trust_roots()?;
        let tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(roots))).build();
        let config = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(true)
            // No proxy from the environment: the PAM module clears it, so `--check` run from a
            // shell must not succeed through a proxy that real logins never see.
            .proxy(None)
            .timeout_connect(Some(CONNECT_TIMEOUT.min(left)))
            // DNS too: ureq bounds a lookup by this on a helper thread.
            .timeout_resolve(Some(left))
            .max_redirects(3)
            // Statuses are read and explained below rather than turned into bare errors.
            .http_status_as_error(false)
            .user_agent(concat!("tapgate-verify/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(config.into())
    }

    fn trust_roots(&self) -> Result<Vec<Certificate<'static>>, VerifyError> {
        let native = rustls_native_certs::load_native_certs();
        let mut roots: Vec<Certificate<'static>> =
            native.certs.iter().map(|der| Certificate::from_der(der.as_ref()).to_owned()).collect();
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| self.unavailable(format!("cannot read ca_file {}: {e}", path.display())))?;
            let before = roots.len();
            for item in ureq::tls::parse_pem(&pem) {
                if let Ok(PemItem::Certificate(cert)) = item {
                    roots.push(cert);
                }
            }
            if roots.len() == before {
                return Err(self.unavailable(format!("ca_file {} holds no PEM certificate", path.display())));
            }
        }
        if roots.is_empty() {
            return Err(self.unavailable("no trust roots: install ca-certificates or set ca_file"));
        }
        Ok(roots)
    }

    /// GET `url` as JSON within what is left of `deadline`.
    fn get_json(&self, agent: &ureq::Agent, url: &str, deadline: Instant) -> Result<Value, VerifyError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.unavailable(format!("{url}: no answer before the fetch_timeout deadline")));
        }
        let mut response = agent
            .get(url)
            .header("Accept", "application/json")
            .config()
            .timeout_global(Some(left))
            .build()
            .call()
            .map_err(|e| self.unavailable(format!("{url}: {}", describe(&e))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.unavailable(format!("{url} answered HTTP {}", status.as_u16())));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_vec()
            .map_err(|e| self.unavailable(format!("{url}: {}", describe(&e))))?;
        serde_json::from_slice(&body).map_err(|e| self.unavailable(format!("{url} is not JSON: {e}")))
    }
}

impl JwksSource for HttpsJwks {
    fn fetch(&self, deadline: Instant) -> Result<Value, VerifyError> {
        let agent = self.agent(deadline)?;
        let discovery = self.get_json(&agent, &self.discovery_url, deadline)?;
        // Discovery §4.3: the document must name exactly the issuer it was fetched for.
        let named = discovery.get("issuer").and_then(Value::as_str).unwrap_or_default();
        if named != self.issuer {
            return Err(self.unavailable(format!(
                "the discovery document names issuer {:?}, not {}: check issuer in verify.toml",
                one_line(named),
                self.issuer
            )));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| self.unavailable("the discovery document has no jwks_uri"))?;
        if !jwks_uri.starts_with("https://") {
            return Err(self.unavailable(format!("jwks_uri {} is not https", one_line(jwks_uri))));
        }
        let jwks = self.get_json(&agent, jwks_uri, deadline)?;
        if !jwks.get("keys").is_some_and(Value::is_array) {
            return Err(self.unavailable(format!("{} holds no \"keys\" array", one_line(jwks_uri))));
        }
        Ok(jwks)
    }
}

/// One line a server admin can act on.
fn describe(error: &ureq::Error) -> String {
    if let Some(rustls::Error::InvalidCertificate(cert)) = rustls_error(error) {
        return format!(
            "TLS certificate not accepted ({cert:?}): set ca_file to the CA that signed the IdP's certificate, and check this server's clock"
        );
    }
    match error {
        ureq::Error::Timeout(_) => "no answer before the fetch_timeout deadline".to_string(),
        ureq::Error::HostNotFound => "host not found (DNS)".to_string(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ureq::Error::Io(io) if io.to_string().contains("failed to lookup address") => {
            format!("host not found (DNS: {})", one_line(&io.to_string()))
        }
        ureq::Error::Io(io) => one_line(&io.to_string()),
        other => one_line(&other.to_string()),
    }
}

/// The rustls error behind a failed handshake: ureq reports it directly or inside an io::Error.
fn rustls_error(error: &ureq::Error) -> Option<&rustls::Error> {
    match error {
        ureq::Error::Rustls(tls) => Some(tls),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    use serde_json::json;

    use super::*;

    /// A one-thread HTTPS server on 127.0.0.1 answering discovery and the JWKS; returns its
    /// issuer and a CA file that trusts it. `discovery_issuer` lets a test make the document lie.
    fn tiny_idp(dir: &std::path::Path, discovery_issuer: Option<&str>) -> (String, PathBuf) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().expect("ca key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).expect("write ca");
        let issuer_ca = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .signed_by(&key, &issuer_ca)
            .expect("cert");
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(
                    vec![CertificateDer::from(cert.der().to_vec())],
                    PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
                )
                .expect("server config");
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let issuer = format!("https://localhost:{}", listener.local_addr().expect("addr").port());
        let named = discovery_issuer.unwrap_or(&issuer).to_string();
        let jwks_uri = format!("{issuer}/jwks");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Ok(conn) = rustls::ServerConnection::new(Arc::clone(&config)) else { continue };
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut request_line = String::new();
                let mut reader = BufReader::new(&mut tls);
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let body = if request_line.contains("/.well-known/openid-configuration") {
                    json!({"issuer": named, "jwks_uri": jwks_uri}).to_string()
                } else {
                    json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
                        "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
                        "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"}]})
                    .to_string()
                };
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
        });
        (issuer, ca_file)
    }

    fn source(issuer: &str, ca_file: Option<PathBuf>) -> HttpsJwks {
        HttpsJwks::new(issuer, &format!("{issuer}/.well-known/openid-configuration"), ca_file)
    }

    #[test]
    fn discovery_then_jwks_over_https_with_the_configured_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (issuer, ca_file) = tiny_idp(dir.path(), None);
        let jwks = source(&issuer, Some(ca_file)).fetch(soon()).expect("fetched");
        assert_eq!(jwks["keys"][0]["kid"], "k1");
    }

    #[test]
    fn an_idp_certificate_from_an_unknown_ca_says_to_set_ca_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (issuer, _) = tiny_idp(dir.path(), None);
        let err = source(&issuer, None).fetch(soon()).expect_err("untrusted").to_string();
        assert!(err.contains("set ca_file"), "{err}");
    }

    #[test]
    fn a_discovery_document_for_another_issuer_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (issuer, ca_file) = tiny_idp(dir.path(), Some("https://evil.example"));
        let err = source(&issuer, Some(ca_file)).fetch(soon()).expect_err("mismatch").to_string();
        assert!(err.contains("names issuer \"https://evil.example\""), "{err}");
    }

    #[test]
    fn an_idp_that_is_down_is_reported_quickly() {
        // Bind and drop: nothing listens on this port any more.
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let issuer = format!("https://127.0.0.1:{port}");
        let started = Instant::now();
        let err = source(&issuer, None).fetch(soon()).expect_err("down").to_string();
        assert!(err.contains("connection refused"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(6));
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn an_idp_that_accepts_and_never_answers_costs_no_more_than_the_deadline() {
        // Accepts every connection and keeps it open without a byte: the TLS handshake hangs.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        let issuer = format!("https://127.0.0.1:{port}");
        let started = Instant::now();
        let err = source(&issuer, None)
            .fetch(Instant::now() + Duration::from_millis(800))
            .expect_err("hung")
            .to_string();
        let took = started.elapsed();
        assert!(err.contains("no answer before the fetch_timeout deadline"), "{err}");
        assert!(took < Duration::from_millis(2000), "took {took:?}");
    }
}
