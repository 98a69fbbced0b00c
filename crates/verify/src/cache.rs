//! The JWKS cache file: the issuer's public keys with when they were fetched and when a fetch was
//! last tried, shared by every verifier process on the server.
//!
//! Each login is a fresh process (PAM) or backend (PostgreSQL 18), so the cache is the only
//! memory between them. It is replaced atomically (write a temporary file in the same folder,
//! then rename) so a reader never sees half a file, and a lock file serialises the
//! check-then-fetch step so a burst of logins makes one fetch, not one each.
//!
//! Both files are created 0600: the keys are public, but whoever can write the cache chooses
//! which keys sign valid tokens, and whoever can open the lock file can hold it. A cache owned
//! by someone else or writable by group or others is not believed ([`FileTrust`]). The lock is
//! only ever tried, never waited on without a deadline: `flock` cannot be interrupted by
//! PostgreSQL's `authentication_timeout`, so a blocking wait on a lock some other process holds
//! would hang the backend and use up connection slots.

use std::fs::{File, TryLockError};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::file_trust::FileTrust;

/// Bumped when the file's shape changes; other versions are ignored (and rewritten).
const FORMAT: u32 = 1;

/// What the cache file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedJwks {
    /// Format version of this file.
    pub format: u32,
    /// The issuer the keys belong to; a cache for another issuer is not used.
    pub issuer: String,
    /// Unix time of the last successful fetch; `None` when no fetch ever succeeded.
    pub fetched_at: Option<u64>,
    /// Unix time of the last fetch attempt, successful or not: the rate limit counts from here.
    pub attempted_at: u64,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// The JWK Set document as the IdP served it.
    pub jwks: Value,
}

impl CachedJwks {
    /// A record of a successful fetch at `now`.
    pub fn fetched(issuer: &str, jwks: Value, now: u64) -> CachedJwks {
        CachedJwks {
            format: FORMAT,
            issuer: issuer.to_string(),
            fetched_at: Some(now),
            attempted_at: now,
            last_error: None,
            jwks,
        }
    }

    /// This record after a failed attempt at `now`: the keys it had are kept.
    pub fn failed(previous: Option<CachedJwks>, issuer: &str, error: String, now: u64) -> CachedJwks {
        let mut record = previous.unwrap_or_else(|| CachedJwks {
            format: FORMAT,
            issuer: issuer.to_string(),
            fetched_at: None,
            attempted_at: now,
            last_error: None,
            jwks: serde_json::json!({"keys": []}),
        });
        record.attempted_at = now;
        record.last_error = Some(error);
        record
    }
}

/// The cache file at one path.
#[derive(Debug, Clone)]
pub struct JwksCacheFile {
    path: PathBuf,
    trust: FileTrust,
}

/// Held while one process decides whether to fetch; released on drop.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

/// The outcome of trying to take the lock until a deadline.
#[derive(Debug)]
pub enum LockAttempt {
    /// Ours until dropped.
    Taken(CacheLock),
    /// Another process held it until the deadline.
    Held,
}

/// How long to sleep between two tries of a held lock.
const LOCK_RETRY: Duration = Duration::from_millis(10);

impl JwksCacheFile {
    /// The cache at `path`, believed only when `trust` accepts its owner and mode.
    pub fn new(path: PathBuf, trust: FileTrust) -> JwksCacheFile {
        JwksCacheFile { path, trust }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<cache>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// The cached record for `issuer`. A missing file, another issuer's or another format's
    /// record is `Ok(None)`; an unreadable, corrupt or untrusted file is an error to report (and
    /// then treat as missing: the next fetch replaces it).
    pub fn read(&self, issuer: &str) -> Result<Option<CachedJwks>, String> {
        if let Some(reason) = self.trust.refusal(&self.path) {
            return Err(format!("the JWKS cache is not trusted and was ignored: {reason}"));
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read the JWKS cache {}: {e}", self.path.display())),
        };
        let record: CachedJwks = serde_json::from_slice(&bytes).map_err(|e| {
            format!("the JWKS cache {} is corrupt ({e}); it will be rewritten", self.path.display())
        })?;
        if record.format != FORMAT || record.issuer != issuer {
            return Ok(None);
        }
        Ok(Some(record))
    }

    /// Replaces the file with `record`, atomically, mode 0600, owned by this process's user.
    pub fn write(&self, record: &CachedJwks) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| {
            format!(
                "cannot write the JWKS cache {} ({e}): make its folder writable by the postgres user",
                self.path.display()
            )
        };
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        // tempfile creates 0600 already; said again so a change there cannot widen it.
        let mut temp = tempfile::Builder::new()
            .prefix(".jwks-")
            .permissions(std::fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .map_err(|e| fail(&e))?;
        let json = serde_json::to_vec_pretty(record).map_err(|e| fail(&e))?;
        temp.write_all(&json).map_err(|e| fail(&e))?;
        temp.as_file().sync_all().map_err(|e| fail(&e))?;
        temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| fail(&e))?;
        temp.persist(&self.path).map_err(|e| fail(&e.error))?;
        Ok(())
    }

    /// Tries to take the cache's lock file (`<cache>.lock`, created 0600) until `deadline`,
    /// sleeping briefly between tries; never blocks past it. `Err` when the lock file cannot be
    /// opened (fetches are then not serialised, which costs the IdP a request, not a login).
    pub fn lock_until(&self, deadline: Instant) -> Result<LockAttempt, String> {
        let path = self.lock_path();
        // flock needs no write access: reading lets a lock file created by root (an admin's
        // `--check`) still serve the postgres user.
        let file = std::fs::File::open(&path)
            .or_else(|_| {
                std::fs::OpenOptions::new().create(true).truncate(false).write(true).mode(0o600).open(&path)
            })
            .map_err(|e| {
                format!("cannot open the lock file {} ({e}); fetches are not serialised", path.display())
            })?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LockAttempt::Taken(CacheLock { _file: file })),
                Err(TryLockError::WouldBlock) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(LockAttempt::Held);
                    }
                    std::thread::sleep(left.min(LOCK_RETRY));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(format!("cannot lock {} ({e}); fetches are not serialised", path.display()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cache(path: PathBuf) -> JwksCacheFile {
        JwksCacheFile::new(path, FileTrust::for_this_process())
    }

    #[test]
    fn a_written_record_reads_back_and_only_its_owner_can_read_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = cache(dir.path().join("jwks.json"));
        assert_eq!(cache.read("https://i").expect("read"), None);

        let record = CachedJwks::fetched("https://i", json!({"keys": [{"kid": "a"}]}), 100);
        cache.write(&record).expect("write");
        assert_eq!(cache.read("https://i").expect("read"), Some(record.clone()));
        let mode = std::fs::metadata(cache.path()).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // No temporary files left behind.
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");

        // Another issuer's cache is not ours.
        assert_eq!(cache.read("https://other").expect("read"), None);
    }

    #[test]
    fn a_failed_attempt_keeps_the_keys_and_records_the_time() {
        let record = CachedJwks::fetched("https://i", json!({"keys": [{"kid": "a"}]}), 100);
        let failed = CachedJwks::failed(Some(record), "https://i", "refused".into(), 200);
        assert_eq!(failed.fetched_at, Some(100));
        assert_eq!(failed.attempted_at, 200);
        assert_eq!(failed.jwks["keys"][0]["kid"], "a");
        let first = CachedJwks::failed(None, "https://i", "refused".into(), 300);
        assert_eq!(first.fetched_at, None);
    }

    #[test]
    fn a_corrupt_cache_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, "{").expect("write");
        let err = cache(path).read("https://i").expect_err("corrupt");
        assert!(err.contains("corrupt"), "{err}");
    }

    #[test]
    fn an_unwritable_folder_is_reported_with_the_fix() {
        let cache = cache(PathBuf::from("/nonexistent/tapgate/jwks.json"));
        let err = cache.write(&CachedJwks::fetched("https://i", json!({"keys": []}), 1)).expect_err("no dir");
        assert!(err.contains("writable by the postgres user"), "{err}");
    }

    #[test]
    fn a_cache_others_can_write_is_not_believed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = cache(dir.path().join("jwks.json"));
        cache.write(&CachedJwks::fetched("https://i", json!({"keys": []}), 1)).expect("write");
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let err = cache.read("https://i").expect_err("untrusted");
        assert!(err.contains("not trusted") && err.contains("mode 0666"), "{err}");
        assert!(err.contains(&cache.path().display().to_string()), "{err}");
    }

    #[test]
    fn the_lock_file_is_private_and_a_held_lock_is_given_up_at_the_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = cache(dir.path().join("jwks.json"));
        let first = cache.lock_until(Instant::now()).expect("lock");
        assert!(matches!(first, LockAttempt::Taken(_)), "a free lock was not taken");
        let mode = std::fs::metadata(cache.lock_path()).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);

        // Another open file description (as another process would have) cannot take it, and
        // gives up at the deadline instead of waiting for the holder.
        let started = Instant::now();
        let attempt = cache.lock_until(Instant::now() + Duration::from_millis(200)).expect("tried");
        assert!(matches!(attempt, LockAttempt::Held), "{attempt:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(200) && waited < Duration::from_secs(2), "{waited:?}");

        drop(first);
        assert!(matches!(cache.lock_until(Instant::now()).expect("lock"), LockAttempt::Taken(_)));
    }
}
