//! The token cache: one keyring entry per IdP, or this process's memory when there is no keyring.
//!
//! Keyring calls block (D-Bus round trips, possibly an unlock dialog), so every one runs on
//! tokio's blocking pool, never on the async runtime's workers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;

use crate::{CachedSession, StoreError};

/// Keyring service name under which Tapgate's entries live.
const SERVICE: &str = "tapgate";
/// Entry used to check that the keyring answers.
const PROBE_USER: &str = "tapgate-probe";

/// Where tokens are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheBackend {
    /// The OS keyring.
    Keyring,
    /// Memory of this process only, because the keyring is not available (the reason says why).
    Memory { reason: String },
}

/// Cached tokens per IdP.
#[derive(Clone)]
pub struct TokenCache {
    backend: CacheBackend,
    memory: Arc<Mutex<HashMap<String, CachedSession>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("backend", &self.backend).finish_non_exhaustive()
    }
}

impl TokenCache {
    /// Opens the OS keyring, or falls back to memory when it does not answer.
    ///
    /// The caller tells the user once about a fallback ([`TokenCache::backend`]).
    pub async fn open() -> TokenCache {
        let backend = match blocking(probe_keyring).await {
            Ok(Ok(())) => CacheBackend::Keyring,
            Ok(Err(reason)) | Err(StoreError::Task(reason)) => CacheBackend::Memory { reason },
            Err(other) => CacheBackend::Memory { reason: other.to_string() },
        };
        TokenCache { backend, memory: Arc::default() }
    }

    /// A cache that only ever uses memory (for tests of the engine and for explicit opt-out).
    pub fn in_memory(reason: impl Into<String>) -> TokenCache {
        TokenCache { backend: CacheBackend::Memory { reason: reason.into() }, memory: Arc::default() }
    }

    /// Which backend is in use.
    pub fn backend(&self) -> &CacheBackend {
        &self.backend
    }

    /// The cached session for `idp`, if any.
    pub async fn load(&self, idp: &str) -> Result<Option<CachedSession>, StoreError> {
        match &self.backend {
            CacheBackend::Memory { .. } => Ok(self.memory_map().get(idp).cloned()),
            CacheBackend::Keyring => {
                let user = entry_user(idp);
                let text = blocking(move || match entry(&user)?.get_password() {
                    Ok(text) => Ok(Some(secrecy::SecretString::from(text))),
                    Err(keyring::Error::NoEntry) => Ok(None),
                    Err(e) => Err(StoreError::Keyring(e.to_string())),
                })
                .await??;
                match text {
                    None => Ok(None),
                    Some(text) => CachedSession::from_secret_json(text.expose_secret())
                        .map(Some)
                        .map_err(|reason| StoreError::Corrupt { idp: idp.to_string(), reason }),
                }
            }
        }
    }

    /// Stores `session` for `idp`, replacing what was there.
    pub async fn save(&self, idp: &str, session: &CachedSession) -> Result<(), StoreError> {
        match &self.backend {
            CacheBackend::Memory { .. } => {
                self.memory_map().insert(idp.to_string(), session.clone());
                Ok(())
            }
            CacheBackend::Keyring => {
                let user = entry_user(idp);
                let json = session.to_secret_json();
                blocking(move || {
                    entry(&user)?
                        .set_password(json.expose_secret())
                        .map_err(|e| StoreError::Keyring(e.to_string()))
                })
                .await?
            }
        }
    }

    /// Forgets the tokens of `idp`. Returns whether there were any.
    pub async fn remove(&self, idp: &str) -> Result<bool, StoreError> {
        match &self.backend {
            CacheBackend::Memory { .. } => Ok(self.memory_map().remove(idp).is_some()),
            CacheBackend::Keyring => {
                let user = entry_user(idp);
                blocking(move || match entry(&user)?.delete_credential() {
                    Ok(()) => Ok(true),
                    Err(keyring::Error::NoEntry) => Ok(false),
                    Err(e) => Err(StoreError::Keyring(e.to_string())),
                })
                .await?
            }
        }
    }

    fn memory_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedSession>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still usable.
        self.memory.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn entry_user(idp: &str) -> String {
    format!("idp:{idp}")
}

fn entry(user: &str) -> Result<keyring::Entry, StoreError> {
    keyring::Entry::new(SERVICE, user).map_err(|e| StoreError::Keyring(describe(&e)))
}

/// Checks that the keyring answers a read; a missing entry is a fine answer.
fn probe_keyring() -> Result<(), String> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(describe(e));
    }
    let probe = keyring::Entry::new(SERVICE, PROBE_USER).map_err(|e| describe(&e))?;
    match probe.get_password() {
        Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(describe(&e)),
    }
}

/// Keyring errors in words a person can act on.
fn describe(error: &keyring::Error) -> String {
    match error {
        keyring::Error::NoDefaultStore => {
            "no keyring service (is a Secret Service such as gnome-keyring running on the session bus?)"
                .to_string()
        }
        keyring::Error::NoStorageAccess(e) => format!("the keyring is locked or refused access ({e})"),
        keyring::Error::PlatformFailure(e) => {
            let text = e.to_string();
            // The common headless cases, in words; anything else verbatim.
            if text.contains("Failed to connect") || text.contains("No such file or directory") {
                "no D-Bus session bus, so no Secret Service to reach".to_string()
            } else if text.contains("ServiceUnknown") || text.contains("org.freedesktop.secrets") {
                "no Secret Service (such as gnome-keyring) on the session bus".to_string()
            } else {
                format!("the keyring service failed ({text})")
            }
        }
        other => other.to_string(),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Task(e.to_string()))
}
