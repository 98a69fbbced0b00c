//! The data directory: where each piece of state lives, atomic private writes, and the lock
//! that keeps `serve`, `enroll` and `rotate-key` from losing each other's updates.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, describe_io};

/// Mode of files holding secrets or account data.
pub(crate) const PRIVATE: u32 = 0o600;
/// Mode of files meant to be handed out (the CA certificate, the issuer URL).
pub(crate) const PUBLIC: u32 = 0o644;

/// A data directory (`--data DIR`) holding everything the IdP keeps across restarts.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Opens `root` for reading and writing, creating it (mode 0700) when missing.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        if !root.exists() {
            fs::create_dir_all(&root).map_err(|e| dir_error(&root, &e))?;
            fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
                .map_err(|e| dir_error(&root, &e))?;
        }
        let dir = Self::existing(root)?;
        // Taking the lock creates `.lock`: this is where an unwritable directory shows up,
        // before any ceremony or key generation happens.
        drop(dir.lock()?);
        Ok(dir)
    }

    /// Opens an existing data directory, for commands that only read it.
    pub fn existing(root: impl Into<PathBuf>) -> Result<Self, Error> {
        let root = root.into();
        match fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => Ok(Self { root }),
            Ok(_) => Err(Error::DataDir { path: root, reason: "not a directory".to_owned() }),
            Err(e) => Err(dir_error(&root, &e)),
        }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The CA certificate clients should trust (PEM).
    pub fn ca_cert_path(&self) -> PathBuf {
        self.root.join("ca.pem")
    }

    pub(crate) fn ca_key_path(&self) -> PathBuf {
        self.root.join("ca-key.pem")
    }

    pub(crate) fn server_cert_path(&self) -> PathBuf {
        self.root.join("server.pem")
    }

    pub(crate) fn server_key_path(&self) -> PathBuf {
        self.root.join("server-key.pem")
    }

    /// The issuer URL of the last server started on this directory.
    pub fn issuer_path(&self) -> PathBuf {
        self.root.join("issuer")
    }

    pub(crate) fn users_path(&self) -> PathBuf {
        self.root.join("users.json")
    }

    pub(crate) fn signing_keys_path(&self) -> PathBuf {
        self.root.join("signing-keys.json")
    }

    pub(crate) fn refresh_tokens_path(&self) -> PathBuf {
        self.root.join("refresh-tokens.json")
    }

    pub(crate) fn authorization_codes_path(&self) -> PathBuf {
        self.root.join("authorization-codes.json")
    }

    /// Device codes of the device flow, by digest (see `device_code`).
    pub(crate) fn device_codes_path(&self) -> PathBuf {
        self.root.join("device-codes.json")
    }

    /// Takes the directory lock, waiting for other processes to release it.
    ///
    /// Hold it across read-modify-write cycles of the JSON stores; readers do not need it
    /// because writes replace files atomically.
    pub(crate) fn lock(&self) -> Result<DirLock, Error> {
        let path = self.root.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(PRIVATE)
            .open(&path)
            .map_err(|e| dir_error(&self.root, &e))?;
        file.lock().map_err(|e| dir_error(&self.root, &e))?;
        Ok(DirLock { _file: file })
    }

    /// Reads a file, `None` when it does not exist yet.
    pub(crate) fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, Error> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Read { path: path.to_owned(), reason: describe_io(&e) }),
        }
    }

    /// Reads a JSON store, `None` when it does not exist yet.
    pub(crate) fn read_json<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, Error> {
        let Some(bytes) = self.read(path)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt { path: path.to_owned(), reason: e.to_string() })
    }

    /// Replaces a JSON store atomically with mode 0600.
    pub(crate) fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), Error> {
        let mut bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| Error::Write { path: path.to_owned(), reason: e.to_string() })?;
        bytes.push(b'\n');
        write_atomic(path, &bytes, PRIVATE)
    }
}

/// Held while a process updates the stores; released when dropped (the file closes).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so readers
/// (the running server, a second process) never see a half-written file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let write_error = |e: io::Error| Error::Write { path: path.to_owned(), reason: describe_io(&e) };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp =
        parent.join(format!(".{name}.tmp-{}-{:08x}", std::process::id(), rand::rngs::OsRng.next_u32()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(mode).open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        // Best effort: a stale temp file is harmless but untidy.
        let _ = fs::remove_file(&temp);
    }
    result.map_err(write_error)
}

fn dir_error(path: &Path, error: &io::Error) -> Error {
    Error::DataDir { path: path.to_owned(), reason: describe_io(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_is_private_and_replaces() -> Result<(), Error> {
        let temp = tempfile::tempdir().map_err(|e| dir_error(Path::new("tmp"), &e))?;
        let dir = DataDir::create(temp.path().join("data"))?;
        let path = dir.users_path();
        dir.write_json(&path, &vec![1, 2, 3])?;
        dir.write_json(&path, &vec![4])?;
        let back: Option<Vec<u32>> = dir.read_json(&path)?;
        assert_eq!(back, Some(vec![4]));
        let mode = fs::metadata(&path).map_err(|e| dir_error(&path, &e))?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        Ok(())
    }

    #[test]
    fn missing_store_reads_as_none() -> Result<(), Error> {
        let temp = tempfile::tempdir().map_err(|e| dir_error(Path::new("tmp"), &e))?;
        let dir = DataDir::create(temp.path())?;
        let none: Option<Vec<u32>> = dir.read_json(&dir.users_path())?;
        assert!(none.is_none());
        Ok(())
    }
}
