//! The processes the harness starts and watches. Each helper leads its own process group so it
//! can be stopped whole; signals go through rustix, the process table is read through procfs,
//! and exits are awaited on a pidfd (the kernel says when the process ends; nothing polls).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use procfs::process::{Process, Stat};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, PidfdFlags, Signal};

/// How long a stopped helper gets to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A process the harness started, leader of its own process group; the group (and any
/// descendant that left it) is stopped on drop.
pub(crate) struct Helper {
    pub(crate) child: Child,
    log: Option<PathBuf>,
}

impl Helper {
    /// Starts `cmd` in a new process group; its stdio as the caller set it up.
    pub(crate) fn spawn(name: &'static str, cmd: &mut Command, log: Option<PathBuf>) -> Helper {
        cmd.process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Helper { child, log }
    }

    /// Starts `cmd` with stdout and stderr written to `log`.
    pub(crate) fn spawn_logged(name: &'static str, cmd: &mut Command, log: PathBuf) -> Helper {
        let file = File::create(&log).unwrap();
        cmd.stdin(Stdio::null()).stdout(file.try_clone().unwrap()).stderr(file);
        Helper::spawn(name, cmd, Some(log))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it logged so far.
    pub(crate) fn log(&self) -> String {
        self.log.as_ref().map(|p| std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }

    /// The helper and every process it started that is still running.
    pub(crate) fn family(&self) -> Vec<u32> {
        let mut family = vec![self.pid()];
        family.extend(descendants(self.pid()));
        family.retain(|&pid| process_alive(pid));
        family
    }

    /// SIGTERM to the group, up to [`STOP_GRACE`] for the whole family to exit, then SIGKILL to
    /// the group and to any descendant that moved to another group.
    fn stop(&mut self) {
        let family = self.family();
        signal_group(self.pid(), Signal::TERM);
        let left = wait_for_exits(&family, STOP_GRACE);
        if !left.is_empty() {
            signal_group(self.pid(), Signal::KILL);
            for pid in left {
                signal(pid, Signal::KILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pid_of(pid: u32) -> Option<Pid> {
    Pid::from_raw(i32::try_from(pid).ok()?)
}

/// Sends `signal` to the process `pid`; a process that is gone already is not an error here.
pub fn signal(pid: u32, signal: Signal) {
    if let Some(pid) = pid_of(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Sends `signal` to every member of the process group `pgid`.
pub fn signal_group(pgid: u32, signal: Signal) {
    if let Some(pgid) = pid_of(pgid) {
        let _ = rustix::process::kill_process_group(pgid, signal);
    }
}

/// `/proc/PID/stat` of every process.
fn processes() -> Vec<Stat> {
    let Ok(all) = procfs::process::all_processes() else { return Vec::new() };
    all.flatten().filter_map(|p| p.stat().ok()).collect()
}

/// Every live descendant of `root`, and every member of the process group `root` leads.
pub fn descendants(root: u32) -> Vec<u32> {
    let Ok(root) = i32::try_from(root) else { return Vec::new() };
    let all = processes();
    let mut found: Vec<i32> = all.iter().filter(|p| p.pgrp == root && p.pid != root).map(|p| p.pid).collect();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in all.iter().filter(|p| p.ppid == parent) {
            if !found.contains(&p.pid) {
                found.push(p.pid);
            }
            frontier.push(p.pid);
        }
    }
    found.into_iter().filter_map(|pid| u32::try_from(pid).ok()).collect()
}

fn process(pid: u32) -> Option<Process> {
    Process::new(i32::try_from(pid).ok()?).ok()
}

/// Whether `pid` runs (a zombie no longer does).
pub fn process_alive(pid: u32) -> bool {
    process(pid).and_then(|p| p.stat().ok()).is_some_and(|s| !matches!(s.state, 'Z' | 'X'))
}

/// The short name of `pid` (`comm`), empty when it is gone.
pub fn process_name(pid: u32) -> String {
    process(pid).and_then(|p| p.stat().ok()).map(|s| s.comm).unwrap_or_default()
}

/// The executable `pid` runs (a rebuilt binary shows as "<path> (deleted)").
pub fn process_exe(pid: u32) -> Option<PathBuf> {
    process(pid)?.exe().ok()
}

/// Waits up to `timeout` for `pid` to end (exit or be killed: a zombie has ended); whether it
/// did. Waits on a pidfd, which becomes readable when the process ends.
pub fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    let Some(raw) = pid_of(pid) else { return true };
    let Ok(pidfd) = rustix::process::pidfd_open(raw, PidfdFlags::empty()) else {
        // ESRCH: there is no such process (any more).
        return !process_alive(pid);
    };
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timespec = Timespec::try_from(left).unwrap_or(Timespec { tv_sec: i64::MAX, tv_nsec: 0 });
        let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timespec)) {
            Ok(0) => return false,
            Ok(_) => return true,
            // EINTR: a signal arrived; wait for what is left of the timeout.
            Err(rustix::io::Errno::INTR) if !left.is_zero() => continue,
            Err(_) => return !process_alive(pid),
        }
    }
}

/// Waits up to `timeout` (in all) for every process of `pids` to end; returns those still running.
pub fn wait_for_exits(pids: &[u32], timeout: Duration) -> Vec<u32> {
    let deadline = Instant::now() + timeout;
    pids.iter()
        .copied()
        .filter(|&pid| !wait_for_exit(pid, deadline.saturating_duration_since(Instant::now())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_group_is_signalled_and_its_exit_awaited() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & wait"]).stdin(Stdio::null());
        let helper = Helper::spawn("sh", &mut cmd, None);
        let pid = helper.pid();
        let sleep = crate::desktop::wait_until(
            "sh to start its sleep",
            Duration::from_secs(10),
            || descendants(pid).into_iter().find(|&p| process_name(p) == "sleep"),
            || format!("{:?}", helper.family()),
        );
        assert!(process_alive(sleep) && process_alive(pid));
        assert!(!wait_for_exit(pid, Duration::from_millis(50)), "sh ended by itself");
        drop(helper);
        assert!(!process_alive(pid) && !process_alive(sleep), "still running: {:?}", [pid, sleep]);
    }
}
