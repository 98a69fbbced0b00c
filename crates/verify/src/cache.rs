//! The JWKS cache file: the issuer's public keys with when they were fetched and when a fetch was
//! last tried, shared by every verifier process on the server.
//!
//! Each login is a fresh process, so the cache is the only memory between them. It holds public
//! data only (mode 0644), is replaced atomically (write a temporary file in the same folder, then
//! rename) so a reader never sees half a file, and a lock file serialises the
//! check-then-fetch step so a burst of logins makes one fetch, not one each.

use std::fs::File;
use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
}

/// Held while one process decides whether to fetch; released on drop.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

impl JwksCacheFile {
    pub fn new(path: PathBuf) -> JwksCacheFile {
        JwksCacheFile { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached record for `issuer`. A missing file, another issuer's or another format's
    /// record is `Ok(None)`; an unreadable or corrupt file is an error to report (and then treat
    /// as missing).
    pub fn read(&self, issuer: &str) -> Result<Option<CachedJwks>, String> {
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

    /// Replaces the file with `record`, atomically, mode 0644.
    pub fn write(&self, record: &CachedJwks) -> Result<(), String> {
        let fail = |e: &dyn std::fmt::Display| {
            format!(
                "cannot write the JWKS cache {} ({e}): make its folder writable by the postgres user",
                self.path.display()
            )
        };
        let dir = self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut temp = tempfile::Builder::new().prefix(".jwks-").tempfile_in(dir).map_err(|e| fail(&e))?;
        let json = serde_json::to_vec_pretty(record).map_err(|e| fail(&e))?;
        temp.write_all(&json).map_err(|e| fail(&e))?;
        temp.as_file().sync_all().map_err(|e| fail(&e))?;
        // Public keys only: any local user (and the admin debugging a login) may read them.
        #[cfg(unix)]
        temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(|e| fail(&e))?;
        temp.persist(&self.path).map_err(|e| fail(&e.error))?;
        Ok(())
    }

    /// Takes the cache's lock file (`<cache>.lock`), waiting for another process that holds it.
    /// The holder only ever fetches within the fetch deadline, so the wait is bounded.
    pub fn lock(&self) -> Result<CacheLock, String> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        // flock needs no write access: reading lets a lock file created by root (an admin's
        // `--check`) still serve the postgres user.
        let file = std::fs::File::open(&path)
            .or_else(|_| std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path))
            .map_err(|e| {
                format!("cannot open the lock file {} ({e}); fetches are not serialised", path.display())
            })?;
        file.lock()
            .map_err(|e| format!("cannot lock {} ({e}); fetches are not serialised", path.display()))?;
        Ok(CacheLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_written_record_reads_back_and_is_world_readable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = JwksCacheFile::new(dir.path().join("jwks.json"));
        assert_eq!(cache.read("https://i").expect("read"), None);

        let record = CachedJwks::fetched("https://i", json!({"keys": [{"kid": "a"}]}), 100);
        cache.write(&record).expect("write");
        assert_eq!(cache.read("https://i").expect("read"), Some(record.clone()));
        let mode = std::fs::metadata(cache.path()).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
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
        let err = JwksCacheFile::new(path).read("https://i").expect_err("corrupt");
        assert!(err.contains("corrupt"), "{err}");
    }

    #[test]
    fn an_unwritable_folder_is_reported_with_the_fix() {
        let cache = JwksCacheFile::new(PathBuf::from("/nonexistent/tapgate/jwks.json"));
        let err = cache.write(&CachedJwks::fetched("https://i", json!({"keys": []}), 1)).expect_err("no dir");
        assert!(err.contains("writable by the postgres user"), "{err}");
    }
}
