//! Child processes of the demo: each in its own process group, so a Ctrl-C in the terminal
//! reaches only the program running the demo, which then stops them in order (forwarder,
//! PostgreSQL, IdP) instead of all of them dying at once mid-drain. Public because the CLI runs
//! its forwarder child the same way.

use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::time::Duration;

use tokio::process::{Child, Command};

/// `program` in a process group of its own; PG* variables removed (a developer's PGPORT or
/// PGDATA must not steer the demo's server or setup).
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut std_cmd = std::process::Command::new(program);
    std_cmd.process_group(0);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            std_cmd.env_remove(key);
        }
    }
    let mut cmd = Command::from(std_cmd);
    // Dropped mid-start-up (an error elsewhere), a child must not be forgotten running.
    cmd.kill_on_drop(true);
    cmd
}

/// Sends `signal` (e.g. "INT", "TERM") to `pid` with kill(1): Tapgate's crates have no unsafe
/// code, and kill(1) is on every system PostgreSQL runs on.
pub async fn send_signal(pid: u32, signal: &str) {
    let _ = tokio::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await;
}

/// Stops `child` with `signal`, waiting up to `grace` before killing it; always reaps it.
pub async fn stop(child: &mut Child, signal: &str, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Some(pid) = child.id() {
        send_signal(pid, signal).await;
    }
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// Whether a process with this PID runs (for the PID of a server started by pg_ctl, which is
/// not our child). A zombie counts as gone: it has exited and only waits for its parent (or
/// init) to reap it.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may hold spaces.
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Waits up to `limit` for `pid` to be gone; returns whether it is.
pub async fn gone_within(pid: u32, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while alive(pid) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

/// The last `lines` lines of a log file, for error messages.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{alive, log_tail};

    #[test]
    fn this_process_is_alive_and_a_made_up_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }

    #[test]
    fn log_tail_keeps_the_last_lines_and_tolerates_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        assert_eq!(log_tail(&log, 3), "");
        std::fs::write(&log, "a\nb\nc\nd\n").unwrap();
        assert_eq!(log_tail(&log, 2), "c\nd");
    }
}
