//! Which files the verifier may believe: the configuration decides whom a token logs in as and
//! the JWKS cache decides which keys sign valid tokens, so both are accepted only when owned by
//! root or by the user the verifier runs as (the server's OS user) and not writable by group or
//! others. Anyone else able to write them could let themselves in.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Group- and other-write bits: a file with any of them can be changed by someone else.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// The owners a trusted file may have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTrust {
    /// Accepted owners: root and the process's effective user.
    owners: Vec<u32>,
}

impl FileTrust {
    /// Root and this process's effective user. The effective uid is read from `/proc/self`,
    /// which proc(5) says is owned by it: no `geteuid` FFI in a crate that denies unsafe code.
    /// Where /proc cannot be read, only root's files are trusted (fail closed).
    pub fn for_this_process() -> FileTrust {
        FileTrust::owners(std::iter::once(0).chain(effective_uid()).collect())
    }

    /// Exactly these owners (tests name a uid that owns nothing).
    pub fn owners(mut owners: Vec<u32>) -> FileTrust {
        owners.sort_unstable();
        owners.dedup();
        FileTrust { owners }
    }

    /// Why the file at `path` must not be believed, or `None` when it may be. A missing file is
    /// not this function's concern (`None`): the caller reports that with its own words.
    pub fn refusal(&self, path: &Path) -> Option<String> {
        let meta = std::fs::metadata(path).ok()?;
        let mode = meta.mode() & 0o7777;
        if !self.owners.contains(&meta.uid()) {
            let allowed: Vec<String> = self.owners.iter().map(u32::to_string).collect();
            return Some(format!(
                "{} is owned by uid {} (mode {mode:04o}); only files owned by uid {} are trusted: chown it",
                path.display(),
                meta.uid(),
                allowed.join(" or ")
            ));
        }
        if mode & WRITABLE_BY_OTHERS != 0 {
            return Some(format!(
                "{} (owner uid {}) has mode {mode:04o}, writable by group or others: chmod go-w {}",
                path.display(),
                meta.uid(),
                path.display()
            ));
        }
        None
    }
}

/// This process's effective uid, from the owner of `/proc/self` (proc(5)); `None` without /proc.
pub fn effective_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn file_with_mode(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join(format!("f{mode:o}"));
        std::fs::write(&path, "x").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn own_files_without_group_or_other_write_are_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let trust = FileTrust::for_this_process();
        for mode in [0o600, 0o640, 0o644, 0o400] {
            assert_eq!(trust.refusal(&file_with_mode(dir.path(), mode)), None, "{mode:o}");
        }
        assert_eq!(trust.refusal(&dir.path().join("absent")), None);
    }

    #[test]
    fn group_or_world_writable_files_are_refused_with_owner_and_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let trust = FileTrust::for_this_process();
        for mode in [0o666, 0o660, 0o646] {
            let path = file_with_mode(dir.path(), mode);
            let reason = trust.refusal(&path).expect("refused");
            assert!(reason.contains(&path.display().to_string()), "{reason}");
            assert!(reason.contains(&format!("mode {mode:04o}")), "{reason}");
            assert!(reason.contains("owner uid"), "{reason}");
        }
    }

    #[test]
    fn a_file_of_another_owner_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = file_with_mode(dir.path(), 0o600);
        let owner = std::fs::metadata(&path).expect("meta").uid();
        // A trust that accepts some other uid only: this file's owner is then a stranger.
        let trust = FileTrust::owners(vec![owner.wrapping_add(4242)]);
        let reason = trust.refusal(&path).expect("refused");
        assert!(reason.contains(&format!("owned by uid {owner}")), "{reason}");
        assert!(reason.contains("chown"), "{reason}");
    }
}
