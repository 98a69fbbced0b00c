//! Small files of Tapgate's own (ports, status) replaced whole: written to a unique temporary
//! file beside the target and renamed over it (tempfile's `persist`), so a reader never sees half
//! a file and two writers never share a temporary name; and an advisory lock for
//! read-modify-write cycles shared by several processes (the app and a CLI at once).

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::CoreError;

/// Replaces `path` with `bytes` atomically (creating the folder when needed).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CoreError> {
    let failed = |action, source| CoreError::LocalFile { action, path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    private_folder(dir).map_err(|e| failed("create the folder of", e))?;
    let mut temp =
        tempfile::Builder::new().prefix(".tapgate-").tempfile_in(dir).map_err(|e| failed("write", e))?;
    temp.write_all(bytes).map_err(|e| failed("write", e))?;
    temp.persist(path).map_err(|e| failed("replace", e.error))?;
    Ok(())
}

/// `dir` and its missing parents, created 0700 (Tapgate's folders hold what only the person
/// should read: ports, status, locks, history).
pub(crate) fn private_folder(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// An exclusive advisory lock on `<path>.lock`, held until dropped. Other Tapgate processes
/// taking the same lock wait; nothing else is blocked.
pub(crate) struct FileLock {
    _file: File,
    #[allow(dead_code)] // kept for Debug output and future messages
    path: PathBuf,
}

impl FileLock {
    /// Takes the lock, waiting for another holder to let go (a blocking call: keep the work
    /// under it short).
    pub(crate) fn acquire(path: &Path) -> Result<FileLock, CoreError> {
        match FileLock::take(path, rustix::fs::FlockOperation::LockExclusive)? {
            Some(lock) => Ok(lock),
            None => unreachable!("a blocking flock returns only once the lock is held"),
        }
    }

    /// Takes the lock if nobody holds it; `None` when another holder has it.
    pub(crate) fn try_acquire(path: &Path) -> Result<Option<FileLock>, CoreError> {
        FileLock::take(path, rustix::fs::FlockOperation::NonBlockingLockExclusive)
    }

    fn take(path: &Path, how: rustix::fs::FlockOperation) -> Result<Option<FileLock>, CoreError> {
        let lock_path = path.with_extension("lock");
        let failed = |source| CoreError::LocalFile { action: "lock", path: lock_path.clone(), source };
        if let Some(dir) = lock_path.parent() {
            private_folder(dir).map_err(failed)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(failed)?;
        match rustix::fs::flock(&file, how) {
            Ok(()) => Ok(Some(FileLock { _file: file, path: lock_path })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(failed(std::io::Error::from(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub").join("ports.json");
        write_atomic(&path, b"first, longer content").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&path).expect("read"), b"second");
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("ports.json")]);
    }
}
