//! `IdpClient`: one configured IdP, its HTTPS client, cached discovery, and the two things the
//! rest of Tapgate asks of it — a sign-in (a key tap, the IdP's page in the browser, or a code
//! typed on another device, as the table's `flow` says), and a refresh.

use std::sync::Arc;

use secrecy::SecretString;
use tapgate_clock::SharedClock;
use tapgate_config::{Dialect, Flow, IdpConfig, TokenTarget};
use tokio::sync::OnceCell;

use crate::discovery::{Discovery, discover};
use crate::http::IdpHttp;
use crate::token::{for_database, token_set};
use crate::{
    Authenticator, BrowserSettings, ClockSkew, DeviceSettings, IdpError, Prompt, TokenSet, TouchRequest,
    auth0, browser, device, okta,
};

/// What a passkey dialect needs, besides the assertion, to redeem a challenge.
enum Redeem {
    /// Auth0 ties the grant to the challenge by an opaque, single-use session.
    Auth0 { auth_session: SecretString },
    /// Okta ties it by the challenge inside the signed clientDataJSON: nothing to keep.
    Okta,
}

/// The client of one configured IdP. Cheap to clone: clones share the HTTP connection pool,
/// the cached discovery document and the skew measurements.
#[derive(Clone)]
pub struct IdpClient {
    inner: Arc<Inner>,
    /// How this program opens a browser; `None`: it cannot do `flow = "browser"`.
    browser: Option<Arc<BrowserSettings>>,
    /// How the device flow waits between polls.
    device: Arc<DeviceSettings>,
}

struct Inner {
    config: IdpConfig,
    http: IdpHttp,
    /// Fetched on first use; a failure is not cached, so the next call tries again.
    discovery: OnceCell<Discovery>,
    clock: SharedClock,
}

impl std::fmt::Debug for IdpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let config = &self.inner.config;
        f.debug_struct("IdpClient").field("idp", &config.name).field("issuer", &config.issuer).finish()
    }
}

impl IdpClient {
    /// Sets up the HTTPS client (rustls, system roots + `ca_file`, 5 s connect timeout, 20 s
    /// request timeout, no redirect to plain http). Does not contact the IdP.
    /// `clock` is the local clock: skew measurements and expiries of opaque tokens use it.
    pub fn new(config: &IdpConfig, clock: SharedClock) -> Result<IdpClient, IdpError> {
        let http = IdpHttp::new(config, clock.clone())?;
        Ok(IdpClient {
            inner: Arc::new(Inner { config: config.clone(), http, discovery: OnceCell::new(), clock }),
            browser: None,
            device: Arc::new(DeviceSettings::default()),
        })
    }

    /// How the device flow polls; only tests change the default (see [`DeviceSettings`]).
    pub fn with_device(mut self, settings: DeviceSettings) -> IdpClient {
        self.device = Arc::new(settings);
        self
    }

    /// Lets `sign_in` do `flow = "browser"`: how to open the browser and how long to wait for it.
    pub fn with_browser(mut self, settings: BrowserSettings) -> IdpClient {
        self.browser = Some(Arc::new(settings));
        self
    }

    /// The configuration this client was made from.
    pub fn config(&self) -> &IdpConfig {
        &self.inner.config
    }

    /// Full sign-in, as the table's `flow` says, with the key the table names for `passkey`
    /// (the key is only opened when the flow needs one: a browser table may name none).
    pub async fn sign_in_as_configured(&self, prompt: Arc<dyn Prompt>) -> Result<TokenSet, IdpError> {
        match self.inner.config.flow {
            Flow::Passkey(_) => {
                let authenticator = crate::authenticator_for(&self.inner.config.authenticator)?;
                self.sign_in(authenticator, prompt).await
            }
            Flow::Browser => self.sign_in_with_browser(prompt).await,
            Flow::Device => self.sign_in_with_device(prompt).await,
        }
    }

    /// The browser sign-in through the opener given to [`IdpClient::with_browser`].
    async fn sign_in_with_browser(&self, prompt: Arc<dyn Prompt>) -> Result<TokenSet, IdpError> {
        let config = &self.inner.config;
        let settings =
            self.browser.clone().ok_or_else(|| IdpError::NoBrowser { idp: config.name.clone() })?;
        let discovery = self.discovery().await?;
        let clock = self.inner.clock.as_ref();
        browser::sign_in(&self.inner.http, discovery, config, clock, &settings, prompt.as_ref()).await
    }

    /// Full sign-in, as the table's `flow` says.
    ///
    /// `passkey`: discovery, a challenge for the configured user, the WebAuthn ceremony with
    /// `authenticator` on a blocking thread, then the WebAuthn grant at the token endpoint.
    /// `browser`: the IdP's page through the opener given to [`IdpClient::with_browser`]
    /// (`authenticator` is not used; `prompt` shows the URL). `device`: as
    /// [`IdpClient::sign_in_with_device`].
    pub async fn sign_in(
        &self,
        authenticator: Arc<dyn Authenticator>,
        prompt: Arc<dyn Prompt>,
    ) -> Result<TokenSet, IdpError> {
        let config = &self.inner.config;
        match config.flow {
            // Each dialect by name: a new `Dialect` variant makes this stop compiling, on purpose.
            Flow::Passkey(dialect @ (Dialect::Auth0 | Dialect::Okta)) => {
                self.sign_in_with_passkey(dialect, authenticator, prompt).await
            }
            Flow::Browser => self.sign_in_with_browser(prompt).await,
            Flow::Device => self.sign_in_with_device(prompt).await,
        }
    }

    /// The device sign-in (RFC 8628) whatever the table's `flow` says (`tapgate login
    /// --device`): `prompt` shows the verification URI and the user code, then the client polls
    /// the token endpoint until the person has confirmed at the IdP, refused, or the code
    /// expired. Fails with [`IdpError::NoDeviceFlow`] when the IdP's discovery document names
    /// no `device_authorization_endpoint`. Cancel by dropping the future.
    pub async fn sign_in_with_device(&self, prompt: Arc<dyn Prompt>) -> Result<TokenSet, IdpError> {
        let config = &self.inner.config;
        let discovery = self.discovery().await?;
        let clock = self.inner.clock.as_ref();
        device::sign_in(&self.inner.http, discovery, config, clock, &self.device, prompt.as_ref()).await
    }

    /// A key tap through the IdP's passkey API: Auth0 Native Passkeys (docs/idp-wire-contract.md
    /// §3-4) or Okta Direct Authentication with WebAuthn (§8).
    async fn sign_in_with_passkey(
        &self,
        dialect: Dialect,
        authenticator: Arc<dyn Authenticator>,
        prompt: Arc<dyn Prompt>,
    ) -> Result<TokenSet, IdpError> {
        let config = &self.inner.config;
        let http = &self.inner.http;
        let username =
            config.username.clone().ok_or_else(|| IdpError::NoUsername { idp: config.name.clone() })?;
        let discovery = self.discovery().await?;

        // Step 1: the challenge for this user, and what redeems its assertion.
        let (options, redeem) = match dialect {
            Dialect::Auth0 => {
                auth0::check_discovery(discovery, config)?;
                let challenge = auth0::start(http, config).await?;
                (challenge.options, Redeem::Auth0 { auth_session: challenge.auth_session })
            }
            // No discovery check: whether Okta lists its WebAuthn grant in
            // grant_types_supported is not confirmed, and primary-authenticate says no itself.
            Dialect::Okta => (okta::start(http, discovery, config).await?, Redeem::Okta),
        };

        // Step 2: W3C WebAuthn §5.1.4 [[Get]] on the key. A USB ceremony waits up to a minute
        // for a touch, so it runs on a blocking thread.
        let request = TouchRequest { idp: config.name.clone(), username, kind: authenticator.kind() };
        let origin = config.rp_origin.clone();
        let ceremony_request = request.clone();
        let credential = tokio::task::spawn_blocking(move || {
            let result = authenticator.authenticate(&ceremony_request, &origin, options, prompt.as_ref());
            prompt.finished();
            result
        })
        .await
        .map_err(|join| IdpError::KeyFailed {
            idp: config.name.clone(),
            kind: request.kind,
            reason: format!("the key ceremony stopped unexpectedly ({join})"),
        })??;

        // Step 3: the WebAuthn grant.
        let response = match redeem {
            Redeem::Auth0 { auth_session } => {
                auth0::finish(http, discovery, config, &request, &auth_session, &credential).await?
            }
            Redeem::Okta => okta::finish(http, discovery, config, &request, &credential).await?,
        };
        token_set(
            &config.name,
            &format!("POST {}", discovery.token_endpoint),
            &response,
            None,
            http.latest_skew(),
            self.inner.clock.as_ref(),
        )
    }

    /// The refresh_token grant (RFC 6749 §6). A refused refresh token (`invalid_grant`) is
    /// `IdpError::RefreshRejected`: the caller then asks for a tap.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, IdpError> {
        self.refresh_with(refresh_token, None).await
    }

    /// The refresh_token grant for a database's own audience or scopes (RFC 8707 `resource`,
    /// Auth0's `audience`, `scope`): one sign-in, then a token per database. The IdP may
    /// rotate the refresh token here as in [`Self::refresh`].
    pub async fn refresh_for(
        &self,
        refresh_token: &SecretString,
        target: &TokenTarget,
    ) -> Result<TokenSet, IdpError> {
        self.refresh_with(refresh_token, Some(target)).await
    }

    async fn refresh_with(
        &self,
        refresh_token: &SecretString,
        target: Option<&TokenTarget>,
    ) -> Result<TokenSet, IdpError> {
        let config = &self.inner.config;
        let http = &self.inner.http;
        let discovery = self.discovery().await?;
        let response = auth0::refresh(http, discovery, config, refresh_token, target).await?;
        let tokens = token_set(
            &config.name,
            &format!("POST {}", discovery.token_endpoint),
            &response,
            Some(refresh_token),
            http.latest_skew(),
            self.inner.clock.as_ref(),
        )?;
        for_database(tokens, config, target.and_then(|t| t.token).unwrap_or(config.token))
    }

    /// Revokes the refresh token at the IdP (RFC 7009). `Ok(false)` when the IdP publishes no
    /// revocation endpoint: nothing to do there, the token is only forgotten here.
    pub async fn revoke(&self, refresh_token: &SecretString) -> Result<bool, IdpError> {
        let discovery = self.discovery().await?;
        let Some(endpoint) = &discovery.revocation_endpoint else { return Ok(false) };
        crate::revoke::revoke(&self.inner.http, endpoint, &self.inner.config, refresh_token).await?;
        Ok(true)
    }

    /// The latest clock skew measured from the IdP's `Date` headers, if any response was seen.
    pub fn clock_skew(&self) -> Option<ClockSkew> {
        self.inner.http.latest_skew()
    }

    /// The HTTPS client of this IdP.
    pub(crate) fn http(&self) -> &IdpHttp {
        &self.inner.http
    }

    /// The discovery document, fetched on first use.
    pub(crate) async fn discovery(&self) -> Result<&Discovery, IdpError> {
        let inner = &self.inner;
        if let Some(discovery) = inner.discovery.get() {
            return Ok(discovery);
        }
        // Not `get_or_try_init` with a closure: a closure returning a borrowing future makes the
        // whole sign-in future fail rustc's `Send` check (higher-ranked lifetimes) for callers
        // that box it. Two concurrent first calls both fetch; the first result is kept.
        let fetched = discover(&inner.http, &inner.config).await?;
        let _ = inner.discovery.set(fetched);
        inner.discovery.get().ok_or_else(|| IdpError::BadDiscovery {
            idp: inner.config.name.clone(),
            issuer: inner.config.issuer.clone(),
            reason: "the discovery document could not be kept".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tapgate_clock::SystemClock;
    use tapgate_config::{AuthenticatorChoice, TokenChoice};
    use tokio::io::AsyncWriteExt as _;
    use url::Url;

    use super::*;

    fn config(port: u16) -> IdpConfig {
        IdpConfig {
            name: "corp".into(),
            issuer: format!("https://localhost:{port}"),
            client_id: "tapgate-cli".into(),
            username: Some("alice@example.com".into()),
            flow: Flow::Passkey(Dialect::Auth0),
            authenticator: AuthenticatorChoice::Soft(PathBuf::from("/nonexistent")),
            rp_origin: Url::parse(&format!("https://localhost:{port}")).expect("url"),
            audience: None,
            scopes: vec!["openid".into()],
            ca_file: None,
            token: TokenChoice::Access,
            redirect_port: 0,
            provider: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_with_connection_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);

        let client = IdpClient::new(&config(port), SystemClock::shared()).expect("client");
        let err = client.refresh(&SecretString::from("rt-SECRET-value")).await.expect_err("nobody listens");
        assert!(err.is_unreachable(), "{err}");
        assert_eq!(
            err.to_string(),
            format!("cannot reach the IdP corp at https://localhost:{port}: connection refused")
        );
        assert!(client.clock_skew().is_none());
    }

    #[tokio::test]
    async fn a_server_that_is_not_tls_is_a_tls_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = tokio::spawn(async move {
            // Answer the ClientHello with plain HTTP: rustls sees a corrupt record.
            if let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
                let _ = socket.shutdown().await;
            }
        });

        let client = IdpClient::new(
            &IdpConfig { issuer: format!("https://127.0.0.1:{port}"), ..config(port) },
            SystemClock::shared(),
        )
        .expect("client");
        let err = client.refresh(&SecretString::from("rt-SECRET-value")).await.expect_err("not TLS");
        let text = err.to_string();
        assert!(matches!(err, IdpError::Tls { .. }), "{text}");
        assert!(
            text.starts_with(&format!("TLS failure talking to the IdP corp at https://127.0.0.1:{port}: ")),
            "{text}"
        );
        assert!(!text.contains("SECRET"), "{text}");
        server.abort();
    }

    #[test]
    fn an_unreadable_ca_file_names_the_file_and_the_table() {
        let err = IdpClient::new(
            &IdpConfig { ca_file: Some(PathBuf::from("/nonexistent/ca.pem")), ..config(8443) },
            SystemClock::shared(),
        )
        .expect_err("missing ca file");
        assert!(
            err.to_string().starts_with("cannot use ca_file /nonexistent/ca.pem of [idp.corp]: "),
            "{err}"
        );
    }
}
