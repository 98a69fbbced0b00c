//! Which public key verifies a token: the cached JWKS while fresh, a refetch when it is stale or
//! does not know the token's `kid`, and a rate limit on refetches.
//!
//! The rules, in order:
//! 1. A fresh cache (fetched less than [`CacheTiming::fresh_for`] ago) that has the `kid` answers.
//! 2. Otherwise fetch, unless the last attempt (by any process) was less than
//!    [`CacheTiming::min_refetch_interval`] ago: that is what lets an IdP rotate its keys without
//!    anyone touching PostgreSQL, while a flood of tokens with made-up `kid`s costs the IdP at
//!    most one request per interval.
//! 3. When a fetch fails or is rate limited, a cached key younger than
//!    [`CacheTiming::max_stale`] still verifies, so a short IdP outage does not lock everyone out.
//!
//! Nothing here waits without a deadline ([`CacheTiming::fetch_timeout`], 5 s by default): the
//! lock is only tried, and when another process holds it a usable cached key answers at once
//! (a login does not wait for someone else's fetch it does not need); without one, the wait
//! and the fetch share the deadline. Cache times later than now (a clock that jumped back, or a
//! planted file) are clamped to now and written back, so they cannot hold off refetches.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;

use crate::VerifyError;
use crate::cache::{CachedJwks, JwksCacheFile, LockAttempt};
use crate::fetch::JwksSource;
use crate::jwks::PublicKeys;

/// How long cached keys are trusted and how often the IdP may be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTiming {
    /// Keys fetched less than this long ago are used without asking the IdP.
    pub fresh_for: Duration,
    /// At most one fetch per this interval, whatever the tokens say.
    pub min_refetch_interval: Duration,
    /// Keys older than this are not used even when the IdP cannot be reached.
    pub max_stale: Duration,
    /// The most one login spends on keys it has to fetch: waiting for the lock plus the fetch.
    pub fetch_timeout: Duration,
}

impl Default for CacheTiming {
    fn default() -> Self {
        CacheTiming {
            fresh_for: Duration::from_secs(3600),
            min_refetch_interval: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
            fetch_timeout: crate::config::DEFAULT_FETCH_TIMEOUT,
        }
    }
}

/// The issuer's keys, through the cache file.
#[derive(Debug)]
pub struct KeyStore<S> {
    issuer: String,
    source: S,
    cache: JwksCacheFile,
    timing: CacheTiming,
}

impl<S: JwksSource> KeyStore<S> {
    pub fn new(issuer: &str, source: S, cache: JwksCacheFile, timing: CacheTiming) -> KeyStore<S> {
        KeyStore { issuer: issuer.to_string(), source, cache, timing }
    }

    /// The key with `kid` at unix time `now`. Problems that did not stop the answer (an
    /// unwritable cache, a failed refresh served from the cache, a held lock) are pushed to
    /// `warnings`. Returns within [`CacheTiming::fetch_timeout`] (plus a read and a write of the
    /// cache file).
    pub fn key(&self, kid: &str, now: u64, warnings: &mut Vec<String>) -> Result<Jwk, VerifyError> {
        let deadline = Instant::now() + self.timing.fetch_timeout;
        let first = self.read(now, warnings);
        if let Some(record) = &first
            && self.is_fresh(record, now)
            && let Some(jwk) = lookup(record, kid)
        {
            return Ok(jwk);
        }

        // A key that may still be used answers at once when someone else holds the lock;
        // without one, waiting for their fetch is the only hope, up to the deadline.
        let usable_now = first.as_ref().and_then(|record| self.stale_key(record, kid, now));
        let wait_until = if usable_now.is_some() { Instant::now() } else { deadline };
        let _lock = match self.cache.lock_until(wait_until) {
            Ok(LockAttempt::Taken(lock)) => Some(lock),
            Ok(LockAttempt::Held) => return self.while_locked(kid, now, usable_now, warnings),
            Err(warning) => {
                warnings.push(warning);
                None
            }
        };

        // Decide about fetching under the lock, on a fresh read: another process may have
        // fetched while this one waited.
        let cached = self.read(now, &mut Vec::new());
        if let Some(record) = &cached
            && self.is_fresh(record, now)
            && let Some(jwk) = lookup(record, kid)
        {
            return Ok(jwk);
        }

        if let Some(record) = &cached {
            let since_attempt = now.saturating_sub(record.attempted_at);
            let interval = self.timing.min_refetch_interval.as_secs();
            if since_attempt < interval {
                return self.without_fetch(record, kid, now, interval - since_attempt, warnings);
            }
        }

        match self.source.fetch(deadline) {
            Ok(jwks) => {
                let record = CachedJwks::fetched(&self.issuer, jwks, now);
                if let Err(warning) = self.cache.write(&record) {
                    warnings.push(warning);
                }
                lookup(&record, kid).ok_or_else(|| VerifyError::UnknownKey {
                    kid: kid.to_string(),
                    detail: format!("JWKS fetched just now has {}", describe_kids(&record)),
                })
            }
            Err(error) => {
                let reason = error.to_string();
                let record = CachedJwks::failed(cached, &self.issuer, reason.clone(), now);
                if let Err(warning) = self.cache.write(&record) {
                    warnings.push(warning);
                }
                match self.stale_key(&record, kid, now) {
                    Some(jwk) => {
                        warnings.push(format!(
                            "refreshing the JWKS failed ({reason}); used keys fetched {} s ago",
                            age(&record, now)
                        ));
                        Ok(jwk)
                    }
                    None => Err(error),
                }
            }
        }
    }

    /// The answer when another process holds the lock: the key usable before trying, or one a
    /// fetch by the holder has just cached, or a refusal that names the lock file.
    fn while_locked(
        &self,
        kid: &str,
        now: u64,
        usable_now: Option<Jwk>,
        warnings: &mut Vec<String>,
    ) -> Result<Jwk, VerifyError> {
        let lock = self.cache.lock_path();
        if let Some(record) = self.read(now, &mut Vec::new())
            && let Some(jwk) = self.stale_key(&record, kid, now)
        {
            if !self.is_fresh(&record, now) {
                warnings.push(format!(
                    "another process holds {}; used cached keys fetched {} s ago without refreshing them",
                    lock.display(),
                    age(&record, now)
                ));
            }
            return Ok(jwk);
        }
        if let Some(jwk) = usable_now {
            return Ok(jwk);
        }
        Err(VerifyError::JwksUnavailable {
            issuer: self.issuer.clone(),
            reason: format!(
                "another process held {} for {} s and no cached key has kid {kid}: find the holder (fuser -v {})",
                lock.display(),
                self.timing.fetch_timeout.as_secs_f32(),
                lock.display()
            ),
        })
    }

    /// Fetches now, whatever the cache and the rate limit say (`tapgate-pam-verify --check` and
    /// `refresh`), and stores the result. Returns the fetched keys. Waits for the lock up to the
    /// fetch deadline, then fetches anyway (the write is atomic; the lock only saves requests).
    pub fn refresh(&self, now: u64, warnings: &mut Vec<String>) -> Result<PublicKeys, VerifyError> {
        let deadline = Instant::now() + self.timing.fetch_timeout;
        let _lock = match self.cache.lock_until(deadline) {
            Ok(LockAttempt::Taken(lock)) => Some(lock),
            Ok(LockAttempt::Held) => {
                warnings.push(format!(
                    "another process held {} until the deadline; fetched without it",
                    self.cache.lock_path().display()
                ));
                None
            }
            Err(warning) => {
                warnings.push(warning);
                None
            }
        };
        let deadline = Instant::now() + self.timing.fetch_timeout;
        let jwks = self.source.fetch(deadline)?;
        let keys = PublicKeys::from_document(&jwks)
            .map_err(|reason| VerifyError::JwksUnavailable { issuer: self.issuer.clone(), reason })?;
        if let Err(warning) = self.cache.write(&CachedJwks::fetched(&self.issuer, jwks, now)) {
            warnings.push(warning);
        }
        Ok(keys)
    }

    /// The answer when the rate limit forbids a fetch: a usable cached key, or why there is none.
    fn without_fetch(
        &self,
        record: &CachedJwks,
        kid: &str,
        now: u64,
        retry_in: u64,
        warnings: &mut Vec<String>,
    ) -> Result<Jwk, VerifyError> {
        if let Some(jwk) = self.stale_key(record, kid, now) {
            if let Some(error) = &record.last_error {
                warnings.push(format!(
                    "the last JWKS refresh failed ({error}); used keys fetched {} s ago",
                    age(record, now)
                ));
            }
            return Ok(jwk);
        }
        match (&record.last_error, record.fetched_at) {
            (Some(error), None) => Err(VerifyError::JwksUnavailable {
                issuer: self.issuer.clone(),
                reason: format!("{error} (next try in {retry_in} s)"),
            }),
            _ => Err(VerifyError::UnknownKey {
                kid: kid.to_string(),
                detail: format!(
                    "JWKS fetched {} s ago has {}; refetches are limited to one per {} s, next in {retry_in} s",
                    now.saturating_sub(record.attempted_at),
                    describe_kids(record),
                    self.timing.min_refetch_interval.as_secs()
                ),
            }),
        }
    }

    /// The cached record, with times later than `now` clamped to `now` (and the clamped record
    /// written back, so it ages from here instead of looking just fetched on every read).
    fn read(&self, now: u64, warnings: &mut Vec<String>) -> Option<CachedJwks> {
        let mut record = self.cache.read(&self.issuer).unwrap_or_else(|warning| {
            warnings.push(warning);
            None
        })?;
        let future = record.fetched_at.is_some_and(|at| at > now) || record.attempted_at > now;
        if future {
            warnings.push(format!(
                "the JWKS cache {} had times in the future (fetched_at {:?}, attempted_at {}, now {now}); clamped to now",
                self.cache.path().display(),
                record.fetched_at,
                record.attempted_at
            ));
            record.fetched_at = record.fetched_at.map(|at| at.min(now));
            record.attempted_at = record.attempted_at.min(now);
            if let Err(warning) = self.cache.write(&record) {
                warnings.push(warning);
            }
        }
        Some(record)
    }

    fn is_fresh(&self, record: &CachedJwks, now: u64) -> bool {
        record.fetched_at.is_some_and(|at| now.saturating_sub(at) < self.timing.fresh_for.as_secs())
    }

    fn stale_key(&self, record: &CachedJwks, kid: &str, now: u64) -> Option<Jwk> {
        let at = record.fetched_at?;
        if now.saturating_sub(at) >= self.timing.max_stale.as_secs() {
            return None;
        }
        lookup(record, kid)
    }
}

fn lookup(record: &CachedJwks, kid: &str) -> Option<Jwk> {
    PublicKeys::from_document(&record.jwks).ok()?.get(kid).cloned()
}

fn age(record: &CachedJwks, now: u64) -> u64 {
    record.fetched_at.map_or(0, |at| now.saturating_sub(at))
}

fn describe_kids(record: &CachedJwks) -> String {
    let kids = PublicKeys::from_document(&record.jwks).map(|k| k.kids()).unwrap_or_default();
    if kids.is_empty() { "no keys".to_string() } else { format!("kids {}", kids.join(", ")) }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use serde_json::{Value, json};

    use super::*;
    use crate::file_trust::FileTrust;

    /// A JWKS source whose answer the test sets, counting fetches.
    struct FakeIdp {
        jwks: RefCell<Result<Value, String>>,
        fetches: Cell<u32>,
    }

    impl FakeIdp {
        fn with_kids(kids: &[&str]) -> FakeIdp {
            FakeIdp { jwks: RefCell::new(Ok(jwks(kids))), fetches: Cell::new(0) }
        }
    }

    impl JwksSource for &FakeIdp {
        fn fetch(&self, _deadline: Instant) -> Result<Value, VerifyError> {
            self.fetches.set(self.fetches.get() + 1);
            self.jwks
                .borrow()
                .clone()
                .map_err(|reason| VerifyError::JwksUnavailable { issuer: "https://idp.test".into(), reason })
        }
    }

    fn jwks(kids: &[&str]) -> Value {
        let keys: Vec<Value> = kids
            .iter()
            .map(|kid| {
                json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                       "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
                       "y": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"})
            })
            .collect();
        json!({ "keys": keys })
    }

    fn store<'a>(idp: &'a FakeIdp, dir: &tempfile::TempDir) -> KeyStore<&'a FakeIdp> {
        KeyStore::new(
            "https://idp.test",
            idp,
            JwksCacheFile::new(dir.path().join("jwks.json"), FileTrust::for_this_process()),
            CacheTiming::default(),
        )
    }

    const T0: u64 = 1_800_000_000;

    #[test]
    fn a_fresh_cache_answers_without_asking_the_idp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = store(&idp, &dir);
        let mut warnings = Vec::new();
        keys.key("k1", T0, &mut warnings).expect("first fetch");
        keys.key("k1", T0 + 10, &mut warnings).expect("cached");
        keys.key("k1", T0 + 3599, &mut warnings).expect("still fresh");
        assert_eq!(idp.fetches.get(), 1);
        assert!(warnings.is_empty(), "{warnings:?}");

        keys.key("k1", T0 + 3600, &mut warnings).expect("refetched when stale");
        assert_eq!(idp.fetches.get(), 2);
    }

    #[test]
    fn an_unknown_kid_refetches_once_the_interval_has_passed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["old"]);
        let keys = store(&idp, &dir);
        let mut warnings = Vec::new();
        keys.key("old", T0, &mut warnings).expect("first fetch");

        // The IdP rotates.
        *idp.jwks.borrow_mut() = Ok(jwks(&["new", "old"]));
        let err = keys.key("new", T0 + 5, &mut warnings).expect_err("rate limited").to_string();
        assert!(err.contains("signing key new is not in the IdP's JWKS"), "{err}");
        assert!(err.contains("limited to one per 30 s, next in 25 s"), "{err}");
        assert_eq!(idp.fetches.get(), 1, "no fetch within the interval");

        keys.key("new", T0 + 30, &mut warnings).expect("refetched");
        assert_eq!(idp.fetches.get(), 2);
        // Both keys are now cached.
        keys.key("old", T0 + 31, &mut warnings).expect("old still cached");
        assert_eq!(idp.fetches.get(), 2);
    }

    #[test]
    fn a_flood_of_made_up_kids_costs_one_fetch_per_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = store(&idp, &dir);
        let mut warnings = Vec::new();
        for i in 0..100u64 {
            let _ = keys.key(&format!("bogus{i}"), T0 + i / 10, &mut warnings);
        }
        assert_eq!(idp.fetches.get(), 1);
        let _ = keys.key("bogus", T0 + 31, &mut warnings);
        assert_eq!(idp.fetches.get(), 2);
    }

    #[test]
    fn the_rate_limit_is_shared_through_the_cache_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let mut warnings = Vec::new();
        store(&idp, &dir).key("k1", T0, &mut warnings).expect("first process");
        // A second process (a new KeyStore on the same file) does not refetch for a bad kid.
        assert!(store(&idp, &dir).key("k2", T0 + 1, &mut warnings).is_err());
        assert_eq!(idp.fetches.get(), 1);
    }

    #[test]
    fn an_unreachable_idp_is_bridged_by_cached_keys_for_a_day() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = store(&idp, &dir);
        let mut warnings = Vec::new();
        keys.key("k1", T0, &mut warnings).expect("first fetch");

        *idp.jwks.borrow_mut() = Err("connection refused".into());
        keys.key("k1", T0 + 7200, &mut warnings).expect("stale key used");
        assert_eq!(idp.fetches.get(), 2);
        assert!(warnings.iter().any(|w| w.contains("connection refused")), "{warnings:?}");

        // Within the interval after the failure: no new attempt, still served.
        keys.key("k1", T0 + 7210, &mut warnings).expect("stale key used again");
        assert_eq!(idp.fetches.get(), 2);

        let err = keys.key("k1", T0 + 24 * 3600, &mut warnings).expect_err("too old").to_string();
        assert!(err.contains("connection refused"), "{err}");
    }

    #[test]
    fn a_first_fetch_that_fails_is_reported_and_retried_after_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp { jwks: RefCell::new(Err("no answer within 5 s".into())), fetches: Cell::new(0) };
        let keys = store(&idp, &dir);
        let mut warnings = Vec::new();
        let err = keys.key("k1", T0, &mut warnings).expect_err("down").to_string();
        assert!(err.contains("no answer within 5 s"), "{err}");
        let err = keys.key("k1", T0 + 10, &mut warnings).expect_err("down").to_string();
        assert!(err.contains("next try in 20 s"), "{err}");
        assert_eq!(idp.fetches.get(), 1);

        *idp.jwks.borrow_mut() = Ok(jwks(&["k1"]));
        keys.key("k1", T0 + 30, &mut warnings).expect("up again");
    }

    #[test]
    fn an_unwritable_cache_still_verifies_and_says_so() {
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = KeyStore::new(
            "https://idp.test",
            &idp,
            JwksCacheFile::new("/nonexistent/tapgate/jwks.json".into(), FileTrust::for_this_process()),
            CacheTiming::default(),
        );
        let mut warnings = Vec::new();
        keys.key("k1", T0, &mut warnings).expect("fetched");
        assert!(warnings.iter().any(|w| w.contains("writable by the postgres user")), "{warnings:?}");
    }

    #[test]
    fn cache_times_in_the_future_are_clamped_and_cannot_hold_off_refetches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = store(&idp, &dir);
        // A cache claiming a fetch ten days from now.
        let planted = CachedJwks::fetched("https://idp.test", jwks(&["k1"]), T0 + 10 * 86_400);
        keys.cache.write(&planted).expect("write");

        let mut warnings = Vec::new();
        keys.key("k1", T0, &mut warnings).expect("served from the cache");
        assert!(
            warnings.iter().any(|w| w.contains("times in the future") && w.contains("clamped")),
            "{warnings:?}"
        );
        let stored = keys.cache.read("https://idp.test").expect("read").expect("record");
        assert_eq!((stored.fetched_at, stored.attempted_at), (Some(T0), T0));
        assert_eq!(idp.fetches.get(), 0);

        // An hour on, the keys are due again, as if fetched at T0.
        keys.key("k1", T0 + 3600, &mut Vec::new()).expect("refetched");
        assert_eq!(idp.fetches.get(), 1);
    }

    /// Holds the cache's lock from another open file description, as another process would.
    fn hold_lock(keys: &KeyStore<&FakeIdp>) -> std::fs::File {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(keys.cache.lock_path())
            .expect("open");
        file.try_lock().expect("held by the test");
        file
    }

    #[test]
    fn a_held_lock_does_not_delay_a_login_a_cached_key_can_serve() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = KeyStore::new(
            "https://idp.test",
            &idp,
            JwksCacheFile::new(dir.path().join("jwks.json"), FileTrust::for_this_process()),
            CacheTiming { fetch_timeout: Duration::from_secs(3), ..CacheTiming::default() },
        );
        keys.key("k1", T0, &mut Vec::new()).expect("first fetch");
        let _held = hold_lock(&keys);

        // Two hours on the keys are stale and a fetch is due, but the lock is held.
        let started = Instant::now();
        let mut warnings = Vec::new();
        keys.key("k1", T0 + 7200, &mut warnings).expect("stale key served");
        assert!(started.elapsed() < Duration::from_millis(500), "waited {:?}", started.elapsed());
        assert!(warnings.iter().any(|w| w.contains("another process holds")), "{warnings:?}");
        assert_eq!(idp.fetches.get(), 1, "no fetch without the lock");
    }

    #[test]
    fn a_held_lock_with_no_usable_key_fails_at_the_deadline_naming_the_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let idp = FakeIdp::with_kids(&["k1"]);
        let keys = KeyStore::new(
            "https://idp.test",
            &idp,
            JwksCacheFile::new(dir.path().join("jwks.json"), FileTrust::for_this_process()),
            CacheTiming { fetch_timeout: Duration::from_millis(300), ..CacheTiming::default() },
        );
        let _held = hold_lock(&keys);
        let started = Instant::now();
        let err = keys.key("k1", T0, &mut Vec::new()).expect_err("nothing cached").to_string();
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "{took:?}");
        assert!(err.contains("another process held") && err.contains("jwks.json.lock"), "{err}");
        assert_eq!(idp.fetches.get(), 0);
    }
}
