//! The HTTPS server: binding (loopback only), shared request state, routes, and a clean
//! shutdown when the caller's `shutdown` future completes.

mod api_error;
mod authorize;
mod body;
mod browser_sign_in;
mod challenge;
mod code_grant;
mod date_header;
mod device_authorization;
mod device_grant;
mod device_sign_in;
mod discovery;
pub(crate) mod key_ceremony;
mod okta_challenge;
mod okta_grant;
mod revoke;
mod sign_in_page;
mod token;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::map_response_with_state;
use axum::routing::{get, post};
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use url::Url;
use webauthn_rs::Webauthn;

use crate::clock::IdpClock;
use crate::data_dir::{DataDir, PUBLIC, write_atomic};
use crate::error::{Error, describe_io};
use crate::keys::ensure_signing_key;
use crate::passkey::{PendingCeremonies, relying_party};
use crate::pending::Pending;
use api_error::ApiError;
use browser_sign_in::BrowserSignIn;
use device_sign_in::DeviceSignIn;

/// Where the server listens unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8443);

/// How long in-flight requests get to finish after shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Everything `serve` needs; [`ServeOptions::new`] fills in the CLI defaults.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The data directory (`--data`), created when missing.
    pub data_dir: PathBuf,
    /// Loopback address to listen on (`--listen`); port 0 picks a free port.
    pub listen: SocketAddr,
    /// Lifetime of access and ID tokens (`--token-ttl`).
    pub token_ttl: Duration,
    /// Lifetime of a sign-in's refresh tokens (`--refresh-ttl`), counted from the key tap.
    pub refresh_ttl: Duration,
    /// Seconds added to the system clock for everything clients see (`--clock-offset`).
    pub clock_offset_secs: i64,
    /// A file whose seconds are added to the clock at every reading (`--clock-file`).
    pub clock_file: Option<PathBuf>,
    /// The one OAuth client accepted (`--client-id`).
    pub client_id: String,
    /// How long device-flow clients must wait between polls (`--device-interval`, RFC 8628
    /// §3.2 `interval`, whole seconds, at least one).
    pub device_interval: Duration,
}

impl ServeOptions {
    /// Defaults: 127.0.0.1:8443, 15 min tokens, 8 h refresh, no offset, client `tapgate`,
    /// device polls 5 s apart.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: DEFAULT_LISTEN,
            token_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(8 * 3600),
            clock_offset_secs: 0,
            clock_file: None,
            client_id: "tapgate".to_owned(),
            device_interval: Duration::from_secs(5),
        }
    }
}

/// Parses `--listen`: `IP:PORT`, or `localhost:PORT` (meaning 127.0.0.1), loopback only.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, Error> {
    let addr = match text.strip_prefix("localhost:") {
        Some(port) => {
            port.parse::<u16>().map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)).ok()
        }
        None => text.parse::<SocketAddr>().ok(),
    }
    .ok_or_else(|| Error::BadListenAddress { addr: text.to_owned() })?;
    check_loopback(addr)?;
    Ok(addr)
}

fn check_loopback(addr: SocketAddr) -> Result<(), Error> {
    if addr.ip().is_loopback() { Ok(()) } else { Err(Error::NotLoopback { addr: addr.to_string() }) }
}

/// State shared by all requests. Users, keys and refresh tokens are not cached here: they
/// are read from the data directory per request, so other processes' changes show at once.
pub(crate) struct IdpState {
    pub(crate) data: DataDir,
    pub(crate) issuer: String,
    /// The only origin accepted in clientDataJSON: the issuer.
    pub(crate) origin: Url,
    pub(crate) client_id: String,
    pub(crate) clock: IdpClock,
    pub(crate) token_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
    pub(crate) webauthn: Webauthn,
    /// Auth0 dialect sign-ins by `auth_session`.
    pub(crate) ceremonies: PendingCeremonies,
    /// Okta dialect sign-ins by challenge (base64url, as clientDataJSON carries it).
    pub(crate) okta_ceremonies: PendingCeremonies,
    /// Sign-in pages served by `/authorize` and not yet finished.
    pub(crate) browser_sign_ins: Pending<BrowserSignIn>,
    /// Verification pages served by `/device` and not yet answered.
    pub(crate) device_sign_ins: Pending<DeviceSignIn>,
    /// The device flow's poll interval in seconds.
    pub(crate) device_interval_secs: i64,
}

impl IdpState {
    pub(crate) fn check_client(&self, client_id: &str) -> Result<(), ApiError> {
        if client_id == self.client_id { Ok(()) } else { Err(ApiError::unknown_client(client_id)) }
    }
}

/// A bound, not yet serving, IdP. Binding first lets the caller learn the issuer (and so the
/// port picked for port 0) before any request is served.
pub struct IdpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Arc<ServerConfig>,
    state: Arc<IdpState>,
}

impl IdpServer {
    /// Prepares the data directory (CA, server certificate, first signing key), binds the
    /// listening socket and writes `DIR/issuer`.
    pub fn bind(options: ServeOptions) -> Result<Self, Error> {
        check_loopback(options.listen)?;
        let data = DataDir::create(&options.data_dir)?;
        let tls = crate::tls::server_config(&data)?;
        ensure_signing_key(&data)?;

        let listener = TcpListener::bind(options.listen)
            .map_err(|e| Error::Listen { addr: options.listen, reason: describe_io(&e) })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::Listen { addr: options.listen, reason: describe_io(&e) })?;
        // The issuer names `localhost`, not the IP: WebAuthn origins need a domain.
        let issuer = format!("https://localhost:{}", local_addr.port());
        let origin =
            Url::parse(&issuer).map_err(|e| Error::Listen { addr: options.listen, reason: e.to_string() })?;
        write_atomic(&data.issuer_path(), issuer.as_bytes(), PUBLIC)?;

        let state = IdpState {
            webauthn: relying_party(&origin)?,
            data,
            issuer,
            origin,
            client_id: options.client_id,
            clock: IdpClock::new(options.clock_offset_secs).with_shift_file(options.clock_file.clone()),
            token_ttl: options.token_ttl,
            refresh_ttl: options.refresh_ttl,
            ceremonies: PendingCeremonies::default(),
            okta_ceremonies: PendingCeremonies::default(),
            browser_sign_ins: Pending::default(),
            device_sign_ins: Pending::default(),
            device_interval_secs: i64::try_from(options.device_interval.as_secs()).unwrap_or(i64::MAX).max(1),
        };
        Ok(Self { listener, local_addr, tls, state: Arc::new(state) })
    }

    /// `https://localhost:<port>`, no trailing slash.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves HTTPS until `shutdown` completes, then lets in-flight requests finish (up to
    /// a few seconds) and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let handle = axum_server::Handle::new();
        let mut server = axum_server::from_tcp_rustls(self.listener, RustlsConfig::from_config(self.tls))
            .handle(handle.clone());
        // The IdP stamps its own (offset) Date; hyper must not add a second, real-time one.
        server.http_builder().http1().auto_date_header(false);
        server.http_builder().http2().auto_date_header(false);

        let serving = server.serve(router(self.state).into_make_service());
        tokio::pin!(serving);
        tokio::select! {
            result = &mut serving => return result.map_err(Error::Serve),
            () = shutdown => handle.graceful_shutdown(Some(SHUTDOWN_GRACE)),
        }
        serving.await.map_err(Error::Serve)
    }
}

/// Binds and serves until `shutdown` completes. Use [`IdpServer`] to learn the issuer first.
pub async fn serve(options: ServeOptions, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    IdpServer::bind(options)?.run(shutdown).await
}

fn router(state: Arc<IdpState>) -> Router {
    let clock = state.clock.clone();
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery::openid_configuration))
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/authorize/challenge", post(browser_sign_in::challenge))
        .route("/authorize/assertion", post(browser_sign_in::assertion))
        .route("/authorize/cancel", post(browser_sign_in::cancel))
        .route("/device", get(device_sign_in::page))
        .route("/device/challenge", post(device_sign_in::challenge))
        .route("/device/assertion", post(device_sign_in::assertion))
        .route("/device/cancel", post(device_sign_in::cancel))
        .route("/oauth/device/code", post(device_authorization::device_authorization))
        .route("/passkey/challenge", post(challenge::challenge))
        .route("/oauth/primary-authenticate", post(okta_challenge::primary_authenticate))
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .fallback(api_error::not_found)
        .method_not_allowed_fallback(api_error::method_not_allowed)
        .layer(map_response_with_state(clock, date_header::stamp))
        .with_state(state)
}

/// Runs request logic that touches files or verifies signatures off the async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "request handler panicked");
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request handler failed",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_must_be_loopback() {
        assert!(parse_listen_address("127.0.0.1:0").is_ok());
        assert!(parse_listen_address("[::1]:8443").is_ok());
        assert_eq!(
            parse_listen_address("localhost:9000").ok(),
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9000))
        );
        assert!(matches!(parse_listen_address("0.0.0.0:8443"), Err(Error::NotLoopback { .. })));
        assert!(matches!(parse_listen_address("nonsense"), Err(Error::BadListenAddress { .. })));
    }
}
