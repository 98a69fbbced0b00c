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

pub use rustix::process::Signal;

/// Sends `signal` to `pid` (rustix's safe `kill`); a process that is already gone is fine.
pub fn send_signal(pid: u32, signal: Signal) {
    if let Some(pid) = pid_of(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

fn pid_of(pid: u32) -> Option<rustix::process::Pid> {
    i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw)
}

/// Stops `child` with `signal`, waiting up to `grace` before killing it; always reaps it.
pub async fn stop(child: &mut Child, signal: Signal, grace: Duration) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Some(pid) = child.id() {
        send_signal(pid, signal);
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
    let Ok(pid) = i32::try_from(pid) else { return false };
    let state = procfs::process::Process::new(pid).and_then(|p| p.stat()).and_then(|stat| stat.state());
    !matches!(state, Err(_) | Ok(procfs::process::ProcState::Zombie | procfs::process::ProcState::Dead))
}

/// Waits up to `limit` for `pid` to be gone; returns whether it is. The kernel says when it
/// exits (a pidfd turns readable), so this wakes at the exit, not at the next poll.
pub async fn gone_within(pid: u32, limit: Duration) -> bool {
    let Some(raw) = pid_of(pid) else { return true };
    let pidfd = match rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::NONBLOCK) {
        Ok(fd) => fd,
        // No such process: it is gone already.
        Err(rustix::io::Errno::SRCH) => return true,
        // No pidfds (an old kernel): the process table is the only way left to tell.
        Err(_) => return !alive(pid),
    };
    // poll(2) on a blocking thread: tokio's AsyncFd would need unsafe code for a raw pidfd.
    let waited = tokio::task::spawn_blocking(move || {
        let mut fds = [rustix::event::PollFd::new(&pidfd, rustix::event::PollFlags::IN)];
        let timeout = rustix::event::Timespec::try_from(limit).ok();
        matches!(rustix::event::poll(&mut fds, timeout.as_ref()), Ok(n) if n > 0)
    })
    .await;
    matches!(waited, Ok(true)) || !alive(pid)
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

    use std::time::Duration;

    use super::{Signal, alive, gone_within, log_tail, send_signal};

    #[test]
    fn this_process_is_alive_and_a_made_up_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }

    #[tokio::test]
    async fn a_process_that_exits_is_seen_gone_at_once_and_one_that_runs_is_not() {
        let mut child = tokio::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        assert!(!gone_within(pid, Duration::from_millis(50)).await, "sleep 30 is still running");
        send_signal(pid, Signal::TERM);
        // The child is a zombie until reaped: gone all the same.
        assert!(gone_within(pid, Duration::from_secs(10)).await);
        let _ = child.wait().await;
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
