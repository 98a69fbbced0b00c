//! The token a database gets. Most take the IdP session's own token. A database with its own
//! `audience` or `scopes` ([`TokenTarget`]) gets a token asked for it alone, so a token for a
//! test cluster is refused by production: obtained with the IdP session's refresh token (one
//! tap serves every database of an IdP), cached per (IdP, target) in the keyring next to the
//! IdP's entry, and forgotten at sign-out with it.
//!
//! Without a refresh token (an IdP that gives none) each target needs a sign-in of its own.

use std::sync::Arc;

use tapgate_config::{IdpConfig, TokenTarget};
use tapgate_idp::{IdpClient, IdpError, Prompt, TokenSet};
use tapgate_store::CachedSession;

use crate::{CoreError, CoreEvent, Engine, Session, SessionOrigin, SignInPolicy};

impl Engine {
    /// A valid session whose token is for the database `database`: the IdP's own session when
    /// the database takes it, else one for the database's target (see the module header).
    pub async fn db_session(
        &self,
        database: &str,
        prompt: Arc<dyn Prompt>,
        policy: SignInPolicy,
    ) -> Result<Session, CoreError> {
        let db = self.db(database)?.clone();
        let Some(target) = db.token_target.clone() else {
            return self.session(Some(&db.idp), prompt, policy).await;
        };
        let config = self.idp(Some(&db.idp))?.clone();
        let key = target_key(&config.name, &target);
        let reuse = matches!(policy, SignInPolicy::Reuse | SignInPolicy::NoTap);
        if reuse && let Some(session) = self.current_target_session(&key) {
            return Ok(session);
        }
        // The IdP's own session first (cached, refreshed, or a tap): it holds the refresh token.
        let signed_in = self.session(Some(&config.name), prompt.clone(), policy).await?;

        let lock = self.sign_in_lock(&config.name);
        let _one_at_a_time = lock.lock().await;
        let result = match self.sign_in_file_lock(&config.name).await {
            Ok(_one_process_at_a_time) => {
                self.target_session_locked(&config, &target, &key, signed_in, prompt, policy).await
            }
            Err(e) => Err(e),
        };
        if let Ok(session) = &result {
            self.targeted.lock().unwrap_or_else(|p| p.into_inner()).insert(key, session.clone());
        }
        if !matches!(&result, Err(CoreError::TapNeeded { .. })) {
            self.record_sign_in(&config.name, &result);
        }
        result
    }

    async fn target_session_locked(
        &self,
        config: &IdpConfig,
        target: &TokenTarget,
        key: &str,
        signed_in: Session,
        prompt: Arc<dyn Prompt>,
        policy: SignInPolicy,
    ) -> Result<Session, CoreError> {
        if matches!(policy, SignInPolicy::Reuse | SignInPolicy::NoTap) {
            // Another caller may have got it while this one waited for the lock.
            if let Some(session) = self.current_target_session(key) {
                return Ok(session);
            }
            if let Some(session) = self.cached_target_session(config, key).await?
                && !session.needs_renewal()
            {
                return Ok(session);
            }
        }
        if let Some(refresh_token) = self.cached_refresh_token(config).await? {
            match self.client(config)?.refresh_for(&refresh_token, target).await {
                Ok(tokens) => {
                    self.keep_rotated_refresh_token(config, &tokens).await;
                    return self
                        .adopt_for_target(config, key, tokens, &signed_in, SessionOrigin::Refreshed)
                        .await;
                }
                Err(IdpError::RefreshRejected { .. }) => {
                    self.emit(CoreEvent::RefreshRejected { idp: config.name.clone() });
                }
                Err(other) => return Err(other.into()),
            }
        }
        if policy == SignInPolicy::NoTap {
            return Err(CoreError::TapNeeded { idp: config.name.clone() });
        }
        let tokens = self.target_client(config, target)?.sign_in_as_configured(prompt).await?;
        self.adopt_for_target(config, key, tokens, &signed_in, SessionOrigin::SignedIn).await
    }

    /// The in-memory session for a target if it is still good to hand out.
    fn current_target_session(&self, key: &str) -> Option<Session> {
        let targeted = self.targeted.lock().unwrap_or_else(|p| p.into_inner());
        targeted
            .get(key)
            .filter(|s| !s.needs_renewal())
            .map(|s| Session { origin: SessionOrigin::Cache, ..s.clone() })
    }

    async fn cached_target_session(
        &self,
        config: &IdpConfig,
        key: &str,
    ) -> Result<Option<Session>, CoreError> {
        // The IdP's entry holds the refresh token; this one never does.
        let stored = self.load_entry(config, key).await?;
        Ok(stored.and_then(|stored| self.session_from_entry(&config.name, &stored, false)))
    }

    /// An IdP that rotates refresh tokens hands out a new one with each refresh, and the old
    /// one is spent: it goes into the IdP's own entry, where the next refresh looks for it.
    async fn keep_rotated_refresh_token(&self, config: &IdpConfig, tokens: &TokenSet) {
        let Some(rotated) = &tokens.refresh_token else { return };
        let Ok(Some(mut entry)) = self.load_entry(config, &config.name).await else { return };
        entry.refresh_token = Some(rotated.clone());
        if let Err(e) = self.cache.save(&config.name, &entry).await {
            self.emit(CoreEvent::CacheWriteFailed { idp: config.name.clone(), reason: e.to_string() });
        }
    }

    async fn adopt_for_target(
        &self,
        config: &IdpConfig,
        key: &str,
        tokens: TokenSet,
        signed_in: &Session,
        origin: SessionOrigin,
    ) -> Result<Session, CoreError> {
        self.report_skew(&config.name, tokens.skew);
        // No refresh token here: the IdP's entry keeps the one refresh token there is.
        let stored = CachedSession {
            issuer: config.issuer.clone(),
            username: config.username.clone().unwrap_or_default(),
            access_token: tokens.access_token.clone(),
            // An opaque token (Cloud SQL's) is read through the ID token's claims.
            id_token: tokens.id_token.clone(),
            refresh_token: None,
            expires_at: tokens.expires_at,
            skew_seconds: tokens.skew.seconds,
            obtained_at: self.context.clock.unix_seconds(),
        };
        if let Err(e) = self.cache.save(key, &stored).await {
            self.emit(CoreEvent::CacheWriteFailed { idp: config.name.clone(), reason: e.to_string() });
        }
        Ok(Session {
            idp: config.name.clone(),
            claims: tokens.claims,
            access_token: tokens.access_token,
            expires_at: tokens.expires_at,
            skew: tokens.skew,
            origin,
            can_refresh: signed_in.can_refresh,
            clock: self.context.clock.clone(),
        })
    }

    /// A client that signs in for `target` (the IdP's settings with the target's audience and
    /// scopes), for IdPs that give no refresh token.
    fn target_client(&self, config: &IdpConfig, target: &TokenTarget) -> Result<IdpClient, CoreError> {
        let mut for_target = config.clone();
        if let Some(audience) = &target.audience {
            for_target.audience = Some(audience.clone());
        }
        if !target.scopes.is_empty() {
            for_target.scopes = target.scopes.clone();
        }
        if let Some(token) = target.token {
            for_target.token = token;
        }
        for_target.name = target_key(&config.name, target);
        self.client(&for_target)
    }

    /// Forgets every database target token of the IdP `idp` (at sign-out).
    pub(crate) async fn forget_targets(&self, idp: &str) {
        let keys: Vec<String> = self
            .config
            .dbs
            .values()
            .filter(|db| db.idp == idp)
            .filter_map(|db| db.token_target.as_ref().map(|t| target_key(idp, t)))
            .collect();
        for key in keys {
            self.targeted.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
            // Best effort: the IdP's entry, removed next, holds the refresh token that matters.
            let _ = self.cache.remove(&key).await;
        }
    }
}

/// The cache entry of `idp`'s token for `target`: `corp#aud=postgres-test`.
fn target_key(idp: &str, target: &TokenTarget) -> String {
    format!("{idp}#{}", target.cache_key())
}
