//! The sign-in policy: a valid session from the engine's memory or the token cache, else a
//! refresh without a tap, else a key tap; one sign-in per IdP at a time, in this process (a
//! mutex) and across the person's processes (a lock file in the runtime folder).

use std::path::PathBuf;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tapgate_config::IdpConfig;
use tapgate_idp::{BrowserSettings, ClockSkew, IdpClient, IdpError, Prompt, TokenSet};
use tapgate_store::{CachedSession, SignInMethod, SignInOutcome, SignInRecord};

use crate::atomic_file::FileLock;
use crate::{CoreError, CoreEvent, Engine, Session, SessionOrigin};

/// How hard to try for a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInPolicy {
    /// Use a valid cached token, else refresh, else ask for a tap.
    Reuse,
    /// Renew now: refresh without a tap when a refresh token is held, else ask for a tap
    /// (the app's "Renew" before a token runs out).
    Renew,
    /// Ask for a tap even if a valid token is cached.
    ForceTap,
    /// A new sign-in with the device flow (RFC 8628), whatever the IdP's `flow` says
    /// (`tapgate login --device`): no cached token, no refresh.
    ForceDevice,
    /// A valid cached token, else a refresh; never a tap ([`CoreError::TapNeeded`]): how an open
    /// session learns whether the person's access goes on past its token.
    NoTap,
}

impl Engine {
    /// A valid session for the IdP: cached, refreshed, or signed in with a tap through `prompt`.
    pub async fn session(
        &self,
        idp: Option<&str>,
        prompt: Arc<dyn Prompt>,
        policy: SignInPolicy,
    ) -> Result<Session, CoreError> {
        let config = self.idp(idp)?.clone();
        if matches!(policy, SignInPolicy::Reuse | SignInPolicy::NoTap)
            && let Some(session) = self.current_session(&config.name)
        {
            return Ok(session);
        }
        let lock = self.sign_in_lock(&config.name);
        let _one_at_a_time = lock.lock().await;
        let result = match self.sign_in_file_lock(&config.name).await {
            Ok(_one_process_at_a_time) => self.session_locked(&config, prompt, policy).await,
            Err(e) => Err(e),
        };
        match &result {
            Ok(session) => {
                self.current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(config.name.clone(), session.clone());
            }
            // Asked not to tap, and a tap was needed: nothing failed.
            Err(CoreError::TapNeeded { .. }) => {}
            Err(e) => self.emit(CoreEvent::SignInFailed { idp: config.name.clone(), error: e.to_string() }),
        }
        self.record_sign_in(&config.name, &result);
        result
    }

    /// The cached session without any network call; it may be expired. `None` when signed out.
    pub async fn cached_session(&self, idp: Option<&str>) -> Result<Option<Session>, CoreError> {
        let config = self.idp(idp)?;
        let Some(stored) = self.load_matching(config).await? else {
            return Ok(None);
        };
        Ok(self.session_from_entry(&config.name, &stored, stored.refresh_token.is_some()))
    }

    /// A cache entry as a session of `idp`; `None` when its token no longer decodes (an entry
    /// as good as none).
    pub(crate) fn session_from_entry(
        &self,
        idp: &str,
        stored: &CachedSession,
        can_refresh: bool,
    ) -> Option<Session> {
        let id_token = stored.id_token.as_ref().map(|t| t.expose_secret());
        let claims = tapgate_idp::Claims::of_tokens(stored.access_token.expose_secret(), id_token).ok()?;
        Some(Session {
            idp: idp.to_string(),
            claims,
            access_token: stored.access_token.clone(),
            expires_at: stored.expires_at,
            skew: ClockSkew { seconds: stored.skew_seconds },
            origin: SessionOrigin::Cache,
            can_refresh,
            clock: self.context.clock.clone(),
        })
    }

    /// Forgets the tokens of an IdP, after asking the IdP to revoke the refresh token (RFC
    /// 7009) where it can. Returns whether there were any. A revocation that fails does not
    /// stop the sign-out: it is reported as [`CoreEvent::RevocationFailed`].
    pub async fn sign_out(&self, idp: Option<&str>) -> Result<bool, CoreError> {
        let config = self.idp(idp)?.clone();
        let name = config.name.clone();
        if let Some(refresh_token) = self.cached_refresh_token(&config).await.ok().flatten() {
            let revoked = match self.client(&config) {
                Ok(client) => client.revoke(&refresh_token).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            if let Err(reason) = revoked {
                self.emit(CoreEvent::RevocationFailed { idp: name.clone(), reason });
            }
        }
        self.current.lock().unwrap_or_else(|p| p.into_inner()).remove(&name);
        self.forget_targets(&name).await;
        let removed = self.cache.remove(&name).await?;
        if removed {
            self.emit(CoreEvent::SignedOut { idp: name });
        }
        Ok(removed)
    }

    /// A history row for a sign-in that asked the IdP (a tap or a refresh), or failed.
    pub(crate) fn record_sign_in(&self, idp: &str, result: &Result<Session, CoreError>) {
        let (identity, method, outcome, error) = match result {
            Ok(s) if s.origin == SessionOrigin::Cache => return,
            Err(CoreError::TapNeeded { .. }) => return,
            Ok(s) => {
                let method = if s.origin == SessionOrigin::Refreshed {
                    SignInMethod::Refresh
                } else {
                    SignInMethod::Tap
                };
                (Some(s.identity().to_string()), method, SignInOutcome::Ok, None)
            }
            Err(e) => (None, SignInMethod::SignIn, SignInOutcome::Failed, Some(e.to_string())),
        };
        if let Some(history) = self.history() {
            history.signed_in(SignInRecord {
                idp: idp.to_string(),
                identity,
                method,
                at: self.context.clock.unix_millis(),
                outcome,
                error,
            });
        }
    }

    async fn session_locked(
        &self,
        config: &IdpConfig,
        prompt: Arc<dyn Prompt>,
        policy: SignInPolicy,
    ) -> Result<Session, CoreError> {
        if matches!(policy, SignInPolicy::Reuse | SignInPolicy::NoTap) {
            // Another caller may have signed in while this one waited for the lock.
            if let Some(session) = self.current_session(&config.name) {
                return Ok(session);
            }
            if let Some(session) = self.cached_session(Some(&config.name)).await?
                && !session.needs_renewal()
            {
                return Ok(session);
            }
        }
        if policy == SignInPolicy::ForceDevice {
            let tokens = self.client(config)?.sign_in_with_device(prompt).await?;
            return self.adopt(config, tokens, SessionOrigin::SignedIn).await;
        }
        if policy != SignInPolicy::ForceTap
            && let Some(refresh_token) = self.cached_refresh_token(config).await?
        {
            match self.client(config)?.refresh(&refresh_token).await {
                Ok(tokens) => return self.adopt(config, tokens, SessionOrigin::Refreshed).await,
                Err(IdpError::RefreshRejected { .. }) => {
                    self.emit(CoreEvent::RefreshRejected { idp: config.name.clone() });
                }
                // The IdP is down or misbehaving: a tap would fail the same way.
                Err(other) => return Err(other.into()),
            }
        }
        if policy == SignInPolicy::NoTap {
            return Err(CoreError::TapNeeded { idp: config.name.clone() });
        }

        let tokens = self.client(config)?.sign_in_as_configured(prompt).await?;
        self.adopt(config, tokens, SessionOrigin::SignedIn).await
    }

    /// The in-memory session of an IdP if it is still good to hand out.
    fn current_session(&self, idp: &str) -> Option<Session> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current
            .get(idp)
            .filter(|s| !s.needs_renewal())
            .map(|s| Session { origin: SessionOrigin::Cache, ..s.clone() })
    }

    /// One sign-in per IdP across processes: the app and CLIs of the same person share the
    /// runtime folder. Taken after the in-process lock, so only one caller per process waits
    /// here. Without it, two processes would each ask for a tap (or open a browser tab), and two
    /// refreshes with the same rotating refresh token would make the IdP revoke it.
    pub(crate) async fn sign_in_file_lock(&self, idp: &str) -> Result<FileLock, CoreError> {
        let path = self.context.runtime_dir.join("sign-in").join(format!("{idp}.sign-in"));
        if let Some(lock) = FileLock::try_acquire(&path)? {
            return Ok(lock);
        }
        self.emit(CoreEvent::WaitingForOtherSignIn { idp: idp.to_string() });
        // The other sign-in may wait minutes for a person; wait on the blocking pool. If this
        // caller gives up, the lock taken later is dropped at once.
        tokio::task::spawn_blocking(move || FileLock::acquire(&path)).await.map_err(|e| {
            CoreError::LocalFile {
                action: "lock",
                path: PathBuf::from("sign-in"),
                source: std::io::Error::other(e.to_string()),
            }
        })?
    }

    pub(crate) fn sign_in_lock(&self, idp: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.sign_in_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(idp.to_string())
            .or_default()
            .clone()
    }

    pub(crate) async fn cached_refresh_token(
        &self,
        config: &IdpConfig,
    ) -> Result<Option<secrecy::SecretString>, CoreError> {
        Ok(self.load_matching(config).await?.and_then(|s| s.refresh_token))
    }

    /// The cache entry, if it was made for this issuer and user (config may have changed since).
    async fn load_matching(&self, config: &IdpConfig) -> Result<Option<CachedSession>, CoreError> {
        self.load_entry(config, &config.name).await
    }

    /// The cache entry `key` of the IdP `config` (its own, or one of a database's target), if
    /// it was made for this issuer and user.
    pub(crate) async fn load_entry(
        &self,
        config: &IdpConfig,
        key: &str,
    ) -> Result<Option<CachedSession>, CoreError> {
        let entry = match self.cache.load(key).await {
            Ok(entry) => entry,
            // A damaged entry is replaced at the next sign-in rather than blocking the user.
            Err(tapgate_store::StoreError::Corrupt { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(entry.filter(|s| {
            s.issuer == config.issuer && s.username == config.username.as_deref().unwrap_or_default()
        }))
    }

    async fn adopt(
        &self,
        config: &IdpConfig,
        tokens: TokenSet,
        origin: SessionOrigin,
    ) -> Result<Session, CoreError> {
        self.report_skew(&config.name, tokens.skew);
        let previous_refresh = if tokens.refresh_token.is_none() {
            // Some IdPs do not rotate: keep the refresh token we had.
            self.cached_refresh_token(config).await.ok().flatten()
        } else {
            None
        };
        let refresh_token = tokens.refresh_token.clone().or(previous_refresh);
        let stored = CachedSession {
            issuer: config.issuer.clone(),
            username: config.username.clone().unwrap_or_default(),
            access_token: tokens.access_token.clone(),
            id_token: tokens.id_token.clone(),
            refresh_token: refresh_token.clone(),
            expires_at: tokens.expires_at,
            skew_seconds: tokens.skew.seconds,
            obtained_at: self.context.clock.unix_seconds(),
        };
        if let Err(e) = self.cache.save(&config.name, &stored).await {
            self.emit(CoreEvent::CacheWriteFailed { idp: config.name.clone(), reason: e.to_string() });
        }
        let session = Session {
            idp: config.name.clone(),
            claims: tokens.claims,
            access_token: tokens.access_token,
            expires_at: tokens.expires_at,
            skew: tokens.skew,
            origin,
            can_refresh: refresh_token.is_some(),
            clock: self.context.clock.clone(),
        };
        let (idp, identity, expires_at) =
            (config.name.clone(), session.identity().to_string(), session.expires_at);
        self.emit(match origin {
            SessionOrigin::Refreshed => CoreEvent::Refreshed { idp, identity, expires_at },
            _ => CoreEvent::SignedIn { idp, identity, expires_at },
        });
        Ok(session)
    }

    /// Reports a significant clock skew once per IdP for the life of the engine.
    pub(crate) fn report_skew(&self, idp: &str, skew: ClockSkew) {
        if !skew.is_significant() {
            return;
        }
        let first = self.skew_reported.lock().unwrap_or_else(|p| p.into_inner()).insert(idp.to_string());
        if first {
            self.emit(CoreEvent::ClockSkew { idp: idp.to_string(), seconds: skew.seconds });
        }
    }

    pub(crate) fn client(&self, config: &IdpConfig) -> Result<IdpClient, CoreError> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&config.name) {
            return Ok(client.clone());
        }
        let mut client = IdpClient::new(config, self.context.clock.clone())?;
        if let Some(opener) = &self.context.browser {
            client = client.with_browser(BrowserSettings::new(opener.clone()));
        }
        clients.insert(config.name.clone(), client.clone());
        Ok(client)
    }
}
