//! Where the server's files live (its home: the data directory, the log, the module's copy) and
//! the port remembered there, so a second run finds the same cluster on the same port.

use std::path::{Path, PathBuf};

use super::PG_USER;
use super::server_user::{ServerUser, postgres_can_reach};
use crate::dir::{DemoDir, set_mode};
use crate::error::{DemoError, IoContext as _};

/// The folder of the server's files: `postgres/` in the demo folder, which the `postgres` user
/// must be able to reach when we are root (the demo folder is then opened to traversal only:
/// its files keep their own modes); failing that, a folder under /var/lib/tapgate named after
/// the demo folder, so a second run finds the same cluster.
pub(super) async fn server_home(dir: &DemoDir, user: ServerUser) -> Result<PathBuf, DemoError> {
    let home = match user {
        ServerUser::Me => dir.server_home(),
        ServerUser::Postgres { .. } => {
            if !postgres_can_reach(dir.root()).await {
                set_mode(dir.root(), 0o711)?;
            }
            if postgres_can_reach(dir.root()).await {
                dir.server_home()
            } else {
                let base = PathBuf::from("/var/lib/tapgate");
                std::fs::create_dir_all(&base)
                    .context_with(|| format!("cannot create {}", base.display()))?;
                set_mode(&base, 0o755)?;
                base.join(format!("demo-{:016x}", fnv1a(dir.root().as_os_str().as_encoded_bytes())))
            }
        }
    };
    std::fs::create_dir_all(&home).context_with(|| format!("cannot create {}", home.display()))?;
    set_mode(&home, 0o755)?;
    if let ServerUser::Postgres { uid, gid } = user {
        // The server writes its log here.
        std::os::unix::fs::chown(&home, Some(uid), Some(gid))
            .context_with(|| format!("cannot hand {} to the {PG_USER} user", home.display()))?;
    }
    Ok(home)
}

/// The port of last time when it is still free, else a free one; remembered in `home/port`.
pub(super) fn remembered_port(home: &Path) -> Result<u16, DemoError> {
    let file = home.join("port");
    let previous = std::fs::read_to_string(&file).ok().and_then(|t| t.trim().parse::<u16>().ok());
    if let Some(port) = previous
        && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    {
        return Ok(port);
    }
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .context_with(|| "cannot find a free loopback port".into())?
        .port();
    std::fs::write(&file, format!("{port}\n")).context_with(|| format!("cannot write {}", file.display()))?;
    Ok(port)
}

/// FNV-1a: a stable name for a path (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    /// The folder under /var/lib/tapgate is named by this hash: a different value would make the
    /// next run miss the cluster an earlier one made.
    #[test]
    fn the_home_name_hash_is_standard_fnv1a() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
