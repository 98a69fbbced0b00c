//! Tapgate's runtime folder (status files, locks, the forwarders' Unix-domain sockets) must be
//! the person's own and closed to others: whoever can write in it could put their own socket
//! where clients look for Tapgate's.

use std::path::Path;

use super::Check;

const NAME: &str = "runtime-dir";

pub(super) fn runtime_dir(dir: &Path) -> Check {
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Ok(meta) => judge(dir, &meta),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => match nearest_existing(dir) {
            Some(parent) if writable(parent) => Check::pass(
                NAME,
                format!(
                    "{shown} is not there yet; Tapgate makes it (mode 0700) when a forwarder first starts"
                ),
            ),
            Some(parent) => Check::fail(
                NAME,
                format!("{shown} is not there, and {} is not writable by you to make it", parent.display()),
                "set XDG_RUNTIME_DIR (or TAPGATE_DATA_DIR) to a folder of yours",
            ),
            None => Check::fail(
                NAME,
                format!("{shown} is not there, nor any folder above it"),
                "set XDG_RUNTIME_DIR (or TAPGATE_DATA_DIR) to a folder of yours",
            ),
        },
        Err(error) => Check::fail(
            NAME,
            format!("cannot look at {shown}: {error}"),
            format!("make {shown} readable by you"),
        ),
    }
}

#[cfg(unix)]
fn judge(dir: &Path, meta: &std::fs::Metadata) -> Check {
    use std::os::unix::fs::MetadataExt;
    let shown = dir.display();
    let own = tapgate_forward::own_uid();
    let mode = meta.mode() & 0o7777;
    if !meta.is_dir() {
        Check::fail(
            NAME,
            format!("{shown} is not a folder"),
            format!("remove {shown}; Tapgate makes the folder itself"),
        )
    } else if meta.uid() != own {
        Check::fail(
            NAME,
            format!(
                "{shown} belongs to uid {}, not to you (uid {own}): its owner could put their own socket there",
                meta.uid()
            ),
            "have it removed, or set XDG_RUNTIME_DIR (or TAPGATE_DATA_DIR) to a folder of yours",
        )
    } else if mode & 0o077 != 0 {
        Check::fail(
            NAME,
            format!("{shown} is open to others (mode {mode:04o})"),
            format!("chmod 700 {shown}"),
        )
    } else {
        Check::pass(NAME, format!("{shown} is yours and private (mode {mode:04o})"))
    }
}

#[cfg(not(unix))]
fn judge(dir: &Path, _meta: &std::fs::Metadata) -> Check {
    Check::pass(NAME, format!("{} exists", dir.display()))
}

fn nearest_existing(dir: &Path) -> Option<&Path> {
    dir.ancestors().skip(1).find(|parent| parent.is_dir())
}

#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    rustix::fs::access(dir, rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK).is_ok()
}

#[cfg(not(unix))]
fn writable(_dir: &Path) -> bool {
    true
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::doctor::Status;

    #[test]
    fn the_folder_must_be_private_and_a_missing_one_is_made_later() -> std::io::Result<()> {
        let temp = tempfile::tempdir()?;
        let dir = temp.path().join("run");
        assert_eq!(runtime_dir(&dir).status, Status::Pass, "not there yet, but makeable");
        std::fs::create_dir(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let open = runtime_dir(&dir);
        assert_eq!((open.status, open.fix), (Status::Fail, Some(format!("chmod 700 {}", dir.display()))));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        assert_eq!(runtime_dir(&dir).status, Status::Pass);
        Ok(())
    }
}
