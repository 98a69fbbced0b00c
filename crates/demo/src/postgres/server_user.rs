//! Who runs the server's commands: ourselves, or, when we are root (PostgreSQL refuses to run as
//! root), the `postgres` OS user through runuser(1).

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use tokio::process::Command;

use super::PG_USER;
use crate::error::DemoError;

/// Who runs the server's commands.
#[derive(Debug, Clone, Copy)]
pub(super) enum ServerUser {
    /// The current user (not root).
    Me,
    /// The `postgres` OS user, through runuser (we are root).
    Postgres { uid: u32, gid: u32 },
}

/// Root runs the server as `postgres`; anyone else runs it as themselves.
pub(super) async fn server_user() -> Result<ServerUser, DemoError> {
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    if me != 0 {
        return Ok(ServerUser::Me);
    }
    let id = |flag: &'static str| async move {
        let out = Command::new("id").args([flag, PG_USER]).output().await.ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().ok()
    };
    match (id("-u").await, id("-g").await) {
        (Some(uid), Some(gid)) => Ok(ServerUser::Postgres { uid, gid }),
        _ => Err(DemoError::NoPostgresUser),
    }
}

/// Whether the `postgres` OS user can traverse `path`.
pub(super) async fn postgres_can_reach(path: &Path) -> bool {
    Command::new("runuser")
        .args(["-u", PG_USER, "--", "test", "-x"])
        .arg(path)
        .current_dir("/")
        .status()
        .await
        .map(|s| s.success())
        .unwrap_or(false)
}
