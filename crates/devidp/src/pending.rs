//! In-memory, single-use, expiring entries keyed by unguessable random ids: the state kept
//! between two requests of one sign-in (a passkey ceremony, a browser sign-in page).
//!
//! In memory on purpose: a restart simply asks for a new tap. What must outlive the process
//! or be seen by other processes (refresh tokens, authorization codes) lives in the data
//! directory instead.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

/// Entries by id, each with its expiry on the IdP clock.
pub(crate) struct Pending<T> {
    entries: Mutex<HashMap<String, (T, i64)>>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl<T> Pending<T> {
    /// Stores `value` until `expires_at` and returns its new id (32 random bytes, base64url).
    pub(crate) fn insert(&self, value: T, expires_at: i64, now: i64) -> String {
        let id = random_id();
        self.put(id.clone(), value, expires_at, now);
        id
    }

    /// Stores `value` under an id handed out earlier (a sign-in moving to its next step).
    pub(crate) fn put(&self, id: String, value: T, expires_at: i64, now: i64) {
        let mut entries = self.lock();
        // Housekeeping on write: abandoned sign-ins do not pile up.
        entries.retain(|_, (_, expiry)| *expiry > now);
        entries.insert(id, (value, expires_at));
    }

    /// Removes and returns the entry: an id is single use whatever the outcome. Expired
    /// entries read as absent.
    pub(crate) fn take(&self, id: &str, now: i64) -> Option<(T, i64)> {
        self.lock().remove(id).filter(|(_, expires_at)| *expires_at > now)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, (T, i64)>> {
        // A panic while holding the map cannot leave it half-updated; keep serving.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// 256 bits from the OS generator, base64url without padding.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_single_use_and_expire() {
        let pending = Pending::default();
        let id = pending.insert("a", 100, 0);
        assert_eq!(pending.take(&id, 50).map(|(v, _)| v), Some("a"));
        assert!(pending.take(&id, 50).is_none());

        let late = pending.insert("b", 100, 0);
        assert!(pending.take(&late, 100).is_none());
    }

    #[test]
    fn ids_are_unguessable() {
        assert_ne!(random_id(), random_id());
        assert_eq!(random_id().len(), 43);
    }
}
