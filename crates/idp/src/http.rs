//! HTTPS to the IdP: client construction (trust roots, timeouts, redirects), one exchange with
//! clock-skew capture from `Date`, classification of transport and TLS failures, and the OAuth
//! error body (RFC 6749 §5.2).

use std::error::Error as StdError;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use tapgate_clock::SharedClock;

use reqwest::header::{DATE, HeaderMap};
use reqwest::{StatusCode, redirect};
use serde::Deserialize;
use tapgate_config::IdpConfig;

use crate::error::one_line;
use crate::{ClockSkew, IdpError};

/// Connecting (TCP + TLS) must not take longer than this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole request, body included, must not take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// The shared HTTPS client of one IdP, and the latest clock skew it measured.
pub(crate) struct IdpHttp {
    client: reqwest::Client,
    idp: String,
    ca_file: Option<std::path::PathBuf>,
    latest_skew: Mutex<Option<ClockSkew>>,
    /// Brackets each exchange for the skew measurement.
    clock: SharedClock,
}

/// A complete response: the body is read before the exchange counts as done.
pub(crate) struct IdpResponse {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    /// Measured on this exchange when the IdP sent a readable `Date`.
    pub(crate) skew: Option<ClockSkew>,
}

impl IdpHttp {
    /// Builds the client: rustls with the system roots plus `ca_file`, 5 s to connect, 20 s per
    /// request, https only (a redirect to plain http is refused).
    pub(crate) fn new(config: &IdpConfig, clock: SharedClock) -> Result<IdpHttp, IdpError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            // System roots only: openidconnect's reqwest features also compile in the webpki
            // bundle, which the user's trust settings know nothing about.
            .tls_built_in_webpki_certs(false)
            .tls_built_in_native_certs(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .https_only(true)
            .redirect(redirect::Policy::custom(|attempt| {
                if attempt.url().scheme() != "https" {
                    let refused = format!("it redirected to {}, which is not https", attempt.url());
                    attempt.error(refused)
                } else if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            }))
            .user_agent(concat!("tapgate/", env!("CARGO_PKG_VERSION")));

        if let Some(path) = &config.ca_file {
            let ca_error =
                |reason: String| IdpError::CaFile { idp: config.name.clone(), path: path.clone(), reason };
            let pem = std::fs::read(path).map_err(|err| ca_error(err.to_string()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|err| ca_error(format!("not a PEM certificate bundle ({err})")))?;
            if certificates.is_empty() {
                return Err(ca_error("it holds no PEM certificate".to_string()));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }

        let client = builder
            .build()
            .map_err(|err| IdpError::HttpClient { idp: config.name.clone(), reason: innermost(&err) })?;
        Ok(IdpHttp {
            client,
            idp: config.name.clone(),
            ca_file: config.ca_file.clone(),
            latest_skew: Mutex::new(None),
            clock,
        })
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The skew measured on the most recent response that carried a `Date`.
    pub(crate) fn latest_skew(&self) -> Option<ClockSkew> {
        *self.latest_skew.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends one request and reads the whole response, measuring clock skew on the way.
    /// Any HTTP status is a response; only transport failures are errors.
    pub(crate) async fn execute(&self, request: reqwest::Request) -> Result<IdpResponse, IdpError> {
        let url = request.url().clone();
        let sent = self.clock.now();
        let response = self.client.execute(request).await.map_err(|err| self.transport_error(&err, &url))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|err| self.transport_error(&err, &url))?.to_vec();
        let received = self.clock.now();

        let skew = date_header(&headers).map(|date| ClockSkew::measure(date, sent, received));
        if let Some(skew) = skew {
            *self.latest_skew.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(skew);
        }
        Ok(IdpResponse { status, body, skew })
    }

    /// Turns a reqwest failure into "cannot reach" or "TLS failure", with the cause a user can act on.
    pub(crate) fn transport_error(&self, err: &reqwest::Error, url: &url::Url) -> IdpError {
        let idp = self.idp.clone();
        let at = url.origin().ascii_serialization();
        if let Some(tls) = find_rustls_error(err) {
            return IdpError::Tls { idp, url: at, reason: self.describe_tls(tls, url) };
        }
        let reason = if err.is_timeout() && err.is_connect() {
            format!("no connection within {} s", CONNECT_TIMEOUT.as_secs())
        } else if err.is_timeout() {
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
        } else if let Some(io) = find_io_error(err) {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_string(),
                _ => innermost(err),
            }
        } else {
            innermost(err)
        };
        IdpError::Unreachable { idp, url: at, reason }
    }

    fn describe_tls(&self, err: &rustls::Error, url: &url::Url) -> String {
        use rustls::CertificateError as Cert;
        let clock_hint = "; check the local clock";
        match err {
            rustls::Error::InvalidCertificate(Cert::UnknownIssuer) => match &self.ca_file {
                None => format!(
                    "certificate not trusted (UnknownIssuer); set ca_file in the [idp.{}] table if it uses a private CA",
                    self.idp
                ),
                Some(path) => format!(
                    "certificate not trusted (UnknownIssuer); check that ca_file {} in [idp.{}] is the CA that signed it",
                    path.display(),
                    self.idp
                ),
            },
            rustls::Error::InvalidCertificate(
                Cert::NotValidForName | Cert::NotValidForNameContext { .. },
            ) => {
                format!(
                    "the certificate is not valid for {} (NotValidForName)",
                    url.host_str().unwrap_or("this host")
                )
            }
            rustls::Error::InvalidCertificate(Cert::Expired | Cert::ExpiredContext { .. }) => {
                format!("the certificate has expired (Expired){clock_hint}")
            }
            rustls::Error::InvalidCertificate(Cert::NotValidYet | Cert::NotValidYetContext { .. }) => {
                format!("the certificate is not valid yet (NotValidYet){clock_hint}")
            }
            other => other.to_string(),
        }
    }
}

/// The IdP's OAuth error body (RFC 6749 §5.2; the Auth0 passkey endpoints use the same shape).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct OAuthError {
    #[serde(default)]
    pub(crate) error: String,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

impl OAuthError {
    /// Parses an error body; a body that is not the JSON error shape gives an empty error.
    pub(crate) fn parse(body: &[u8]) -> OAuthError {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// `description` if the IdP sent one, else `error`, as one line.
    pub(crate) fn describe(&self) -> String {
        match self.error_description.as_deref().filter(|d| !d.trim().is_empty()) {
            Some(description) => one_line(description),
            None if !self.error.is_empty() => one_line(&self.error),
            None => "no reason given".to_string(),
        }
    }

    /// "invalid_grant: refresh token expired" (or whichever parts are present).
    pub(crate) fn detail(&self) -> String {
        match (self.error.is_empty(), self.error_description.as_deref()) {
            (false, Some(description)) => format!("{}: {}", one_line(&self.error), one_line(description)),
            (false, None) => one_line(&self.error),
            (true, Some(description)) => one_line(description),
            (true, None) => "no OAuth error in the body".to_string(),
        }
    }
}

/// "HTTP 404 Not Found".
pub(crate) fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

fn date_header(headers: &HeaderMap) -> Option<SystemTime> {
    let value = headers.get(DATE)?.to_str().ok()?;
    httpdate::parse_http_date(value).ok()
}

/// Walks the source chain for the rustls error behind a handshake failure.
fn find_rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    causes(err).find_map(|e| e.downcast_ref::<rustls::Error>())
}

fn find_io_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a std::io::Error> {
    causes(err).find_map(|e| e.downcast_ref::<std::io::Error>())
}

/// An error and its causes, outermost first.
///
/// `io::Error::source()` skips the error it wraps (it returns the wrapped error's source), and
/// hyper/tokio-rustls nest a rustls error two `io::Error`s deep: step into a wrapped error
/// through `get_ref` instead.
fn causes<'a>(err: &'a (dyn StdError + 'static)) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e: &&'a (dyn StdError + 'static)| {
        match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(wrapped) => Some(wrapped as &(dyn StdError + 'static)),
            None => e.source(),
        }
    })
}

/// The most specific message in a source chain ("dns error: failed to lookup address ...").
fn innermost(err: &(dyn StdError + 'static)) -> String {
    causes(err).last().map(|e| one_line(&e.to_string())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_error_descriptions_are_one_line() {
        let err =
            OAuthError::parse(br#"{"error":"invalid_grant","error_description":"refresh token\nexpired"}"#);
        assert_eq!(err.describe(), "refresh token expired");
        assert_eq!(err.detail(), "invalid_grant: refresh token expired");

        let empty = OAuthError::parse(b"<html>502</html>");
        assert_eq!(empty.detail(), "no OAuth error in the body");
        assert_eq!(status_text(StatusCode::BAD_GATEWAY), "HTTP 502 Bad Gateway");
    }

    #[test]
    fn rustls_errors_are_found_behind_io_errors() {
        // As hyper-util reports it: io::Error(Other, io::Error(InvalidData, rustls::Error)).
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let inner = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let io = std::io::Error::other(inner);
        let found = find_rustls_error(&io).expect("found");
        assert!(matches!(found, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)));
    }
}
