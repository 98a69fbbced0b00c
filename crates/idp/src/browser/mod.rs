//! Browser sign-in: OAuth 2.0 for Native Apps (RFC 8252) with the authorization code grant and
//! PKCE S256, for any OpenID Connect provider.
//!
//! The steps, in order: bind the loopback port (`listener`), build the authorization request
//! (`authorize`), show the URL through [`Prompt::browser_sign_in`] and hand it to the
//! [`BrowserOpener`], wait for the redirect (`callback` judges it), exchange the code
//! (`exchange`), check the ID token (`id_token`).
//!
//! The seam: this crate never starts a browser itself. The caller passes a [`BrowserOpener`]
//! in [`BrowserSettings`] to [`crate::IdpClient::with_browser`]: the CLI an opener crate, the
//! app tauri-plugin-opener, tests an HTTP client that plays the browser. The same URL also goes
//! to [`Prompt::browser_sign_in`], so a terminal can print it for SSH sessions where no
//! browser can open; an opener that fails is therefore logged, not fatal: the person can still
//! open the printed URL before the callback timeout.

mod authorize;
mod callback;
mod exchange;
pub(crate) mod id_token;
mod listener;

use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret as _;
use tapgate_clock::Clock;
use tapgate_config::IdpConfig;
use url::Url;

use crate::discovery::Discovery;
use crate::http::IdpHttp;
use crate::token::{for_database, token_set};
use crate::{IdpError, Prompt, TokenSet};

use authorize::{AuthorizationRequest, redirect_uri};
pub(crate) use authorize::{resource_indicator, resource_of};
use callback::Expected;
use listener::CallbackListener;

/// A browser-flow IdP table for unit tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::authorize::tests::config;
}

/// How long the browser sign-in waits for the redirect by default.
pub const DEFAULT_CALLBACK_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Hands the authorization URL to a browser.
pub trait BrowserOpener: Send + Sync {
    /// Opens `url` in a browser and returns without waiting for the sign-in (the callback
    /// listener does the waiting). Must not block for long.
    fn open(&self, url: &Url) -> Result<(), IdpError>;
}

impl<F> BrowserOpener for F
where
    F: Fn(&Url) -> Result<(), IdpError> + Send + Sync,
{
    fn open(&self, url: &Url) -> Result<(), IdpError> {
        self(url)
    }
}

/// What a browser sign-in needs from the program running it.
#[derive(Clone)]
pub struct BrowserSettings {
    opener: Arc<dyn BrowserOpener>,
    callback_timeout: Duration,
}

impl std::fmt::Debug for BrowserSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSettings").field("callback_timeout", &self.callback_timeout).finish()
    }
}

impl BrowserSettings {
    /// Settings with `opener` and the default 5-minute wait for the redirect.
    pub fn new(opener: Arc<dyn BrowserOpener>) -> BrowserSettings {
        BrowserSettings { opener, callback_timeout: DEFAULT_CALLBACK_TIMEOUT }
    }

    /// How long to wait for the browser to come back before giving up.
    pub fn callback_timeout(mut self, timeout: Duration) -> BrowserSettings {
        self.callback_timeout = timeout;
        self
    }
}

/// A browser sign-in waiting for the person, as [`Prompt::browser_sign_in`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrowserRequest {
    /// The IdP's name in the configuration.
    pub idp: String,
    /// The authorization URL to open (it holds `state`, `nonce` and the PKCE challenge, which
    /// are not secrets: the code comes back only to this machine's loopback port).
    pub url: Url,
}

/// The whole browser sign-in for `config`.
pub(crate) async fn sign_in(
    http: &IdpHttp,
    discovery: &Discovery,
    config: &IdpConfig,
    clock: &dyn Clock,
    settings: &BrowserSettings,
    prompt: &dyn Prompt,
) -> Result<TokenSet, IdpError> {
    let bad_discovery = |reason: String| IdpError::BadDiscovery {
        idp: config.name.clone(),
        issuer: config.issuer.clone(),
        reason,
    };
    for (name, url) in
        [("authorization_endpoint", &discovery.authorization_endpoint), ("jwks_uri", &discovery.jwks_uri)]
    {
        if url.scheme() != "https" {
            return Err(bad_discovery(format!("{name} {url} is not https")));
        }
    }

    // RFC 8252 §7.3: listen before the browser can come back.
    let listener = CallbackListener::bind(&config.name, config.redirect_port).await?;
    let redirect_uri = redirect_uri(listener.port());
    let request = AuthorizationRequest::new(&discovery.authorization_endpoint, config, &redirect_uri);

    let shown = BrowserRequest { idp: config.name.clone(), url: request.url.clone() };
    prompt.browser_sign_in(&shown);
    if let Err(err) = settings.opener.open(&request.url) {
        tracing::warn!(idp = %config.name, "{err}");
    }
    let expected = Expected { idp: &config.name, state: request.state.secret(), issuer: &config.issuer };
    // The person may give up (Cancel in the app): the listener closes with the wait.
    let code = tokio::select! {
        code = listener.wait(&expected, settings.callback_timeout) => code,
        () = prompt.cancelled() => Err(IdpError::Cancelled { idp: config.name.clone() }),
    };
    prompt.finished();
    let code = code?;

    let response =
        exchange::exchange(http, discovery, config, &code, &request.verifier, &redirect_uri).await?;
    drop(code);
    let endpoint = format!("POST {}", discovery.token_endpoint);
    let tokens = token_set(&config.name, &endpoint, &response, None, http.latest_skew(), clock)?;

    let id_token = tokens.id_token.as_ref().ok_or_else(|| IdpError::IdTokenRejected {
        idp: config.name.clone(),
        reason: "no ID token came back: check that scopes include openid".to_string(),
    })?;
    let idp_now = tokens.skew.idp_now(clock);
    id_token::fetch_and_verify(
        http,
        discovery,
        config,
        id_token.expose_secret(),
        Some(&request.nonce),
        idp_now,
    )
    .await?;
    for_database(tokens, config, config.token)
}
