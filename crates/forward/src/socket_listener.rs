//! [`SocketListener`]: the database's Unix-domain socket, `FOLDER/.s.PGSQL.PORT`, the name
//! libpq looks for with `host=FOLDER port=PORT`.
//!
//! The socket is the door only the person can use: the folder is theirs and mode 0700, so no
//! other user can even reach the socket file (the kernel checks that before any connection
//! exists), and each connection's `SO_PEERCRED` is checked on top. A folder that belongs to
//! someone else is refused rather than used: whoever owns it could swap the socket for their own.

use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

use crate::ForwardError;

/// The longest socket path the kernel takes (`sun_path` is 108 bytes on Linux, 104 on macOS,
/// with the terminating NUL).
const MAX_SOCKET_PATH: usize = 103;

/// A listening Unix-domain socket; its file is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct SocketListener {
    listener: UnixListener,
    path: PathBuf,
}

/// The socket file for `port` in `folder`: `.s.PGSQL.PORT`, as PostgreSQL names its own.
pub fn socket_path(folder: &Path, port: u16) -> PathBuf {
    folder.join(format!(".s.PGSQL.{port}"))
}

impl SocketListener {
    /// Binds `folder/.s.PGSQL.PORT`, making `folder` (mode 0700) if needed. A leftover socket
    /// file of a forwarder that died is replaced: the caller already holds the TCP port of the
    /// same number, so no live forwarder of this person can be using it.
    pub(crate) fn bind(folder: &Path, port: u16) -> Result<SocketListener, ForwardError> {
        let path = socket_path(folder, port);
        let refuse = |reason: String| ForwardError::Socket { path: path.clone(), reason };
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(refuse(format!(
                "the path is longer than the {MAX_SOCKET_PATH} bytes a socket path may have; set \
                 XDG_RUNTIME_DIR to a shorter folder, or unix_socket = false for this database"
            )));
        }
        private_folder(folder).map_err(|e| refuse(e.to_string()))?;
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_socket() => {
                std::fs::remove_file(&path)
                    .map_err(|e| refuse(format!("cannot remove the old socket: {e}")))?;
            }
            Ok(_) => return Err(refuse("something that is not a socket is in its place".to_owned())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(refuse(e.to_string())),
        }
        let listener = UnixListener::bind(&path).map_err(|e| refuse(e.to_string()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| refuse(e.to_string()))?;
        Ok(SocketListener { listener, path })
    }

    /// The socket file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The next client.
    pub(crate) async fn accept(&self) -> io::Result<UnixStream> {
        self.listener.accept().await.map(|(stream, _)| stream)
    }
}

impl Drop for SocketListener {
    fn drop(&mut self) {
        // A client finding no file is told "no such file", not left waiting on a dead socket.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Makes `folder` if missing, mode 0700; an existing one must be this user's, and is made
/// private if it is not.
fn private_folder(folder: &Path) -> io::Result<()> {
    match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(folder) {
        Ok(()) => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("cannot make the folder: {e}"))),
    }
    let meta = std::fs::symlink_metadata(folder)?;
    let own = crate::own_uid();
    if !meta.is_dir() {
        return Err(io::Error::other("the socket folder is not a folder"));
    }
    if meta.uid() != own {
        return Err(io::Error::other(format!(
            "the socket folder {} belongs to uid {}, not to you (uid {own}); whoever owns it could \
             put their own socket there",
            folder.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_socket_is_private_and_removed_when_dropped() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        let folder = temp.path().join("tapgate");
        let listener = SocketListener::bind(&folder, 54321)?;
        assert_eq!(listener.path(), folder.join(".s.PGSQL.54321"));
        assert_eq!(std::fs::metadata(&folder)?.mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(listener.path())?.mode() & 0o777, 0o600);
        let path = listener.path().to_path_buf();
        drop(listener);
        assert!(!path.exists());
        Ok(())
    }

    #[tokio::test]
    async fn a_leftover_socket_is_replaced_and_other_files_are_not() -> Result<(), Box<dyn std::error::Error>>
    {
        let temp = tempfile::tempdir()?;
        let stale = std::os::unix::net::UnixListener::bind(temp.path().join(".s.PGSQL.5"))?;
        drop(stale);
        assert!(SocketListener::bind(temp.path(), 5).is_ok());
        std::fs::write(temp.path().join(".s.PGSQL.6"), b"not a socket")?;
        let refused = SocketListener::bind(temp.path(), 6).expect_err("a plain file is not replaced");
        assert!(refused.to_string().contains("not a socket"), "{refused}");
        Ok(())
    }

    #[tokio::test]
    async fn an_open_folder_is_made_private() -> Result<(), Box<dyn std::error::Error>> {
        let temp = tempfile::tempdir()?;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o777))?;
        let _listener = SocketListener::bind(temp.path(), 7)?;
        assert_eq!(std::fs::metadata(temp.path())?.mode() & 0o777, 0o700);
        Ok(())
    }

    #[test]
    fn a_path_too_long_for_a_socket_is_refused_with_what_to_do() {
        let folder = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        let refused = SocketListener::bind(&folder, 5432).expect_err("too long");
        assert!(refused.to_string().contains("unix_socket = false"), "{refused}");
    }
}
