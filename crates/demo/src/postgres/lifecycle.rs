//! Running the server: `pg_ctl start` (stopping first a server an earlier demo left running),
//! `pg_ctl stop -m fast` with a bounded wait and SIGQUIT after it, the postmaster's PID, and the
//! last-resort stop when a [`Cluster`] is dropped without [`Cluster::stop`].

use std::time::Duration;

use super::Cluster;
use crate::error::DemoError;
use crate::processes;
use crate::progress::Progress;

impl Cluster {
    /// `pg_ctl start`, waiting until the server accepts connections.
    pub async fn start(&self, progress: &dyn Progress) -> Result<(), DemoError> {
        // A server still running on this folder was left by a demo that did not get to stop it
        // (killed, or the terminal closed): it is ours, so stop it rather than fail on its lock.
        if let Some(pid) = self.postmaster_pid()
            && processes::alive(pid)
        {
            progress.note(&format!("stopping PostgreSQL left running by an earlier demo, pid {pid}"));
            self.stop().await;
        }
        let out = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "60", "-s", "start"])
            .output()
            .await
            .map_err(|error| DemoError::Run { program: self.bin.join("pg_ctl"), error })?;
        if !out.status.success() {
            return Err(DemoError::PostgresStart {
                log: self.log(),
                log_tail: processes::log_tail(&self.log(), 10),
            });
        }
        Ok(())
    }

    /// `pg_ctl stop -m fast`: sessions are ended, the cluster is kept for the next run.
    pub async fn stop(&self) {
        let pid = self.postmaster_pid();
        let stop = self
            .server_command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "30", "-s", "stop"])
            .output();
        let _ = tokio::time::timeout(Duration::from_secs(40), stop).await;
        // pg_ctl returns once postmaster.pid is gone, a moment before the process is; and if
        // pg_ctl gave up or could not run, the server must not be left behind either.
        if let Some(pid) = pid
            && !processes::gone_within(pid, Duration::from_secs(5)).await
        {
            processes::send_signal(pid, processes::Signal::QUIT);
            processes::gone_within(pid, Duration::from_secs(5)).await;
        }
    }

    /// The running postmaster's PID, from postmaster.pid (present only while a server runs).
    pub fn postmaster_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }
}

/// A last resort for when the demo unwinds (a panic) without reaching [`Cluster::stop`]: the
/// server runs detached from our process group, so nothing else would stop it. SIGINT is
/// PostgreSQL's fast shutdown. After a normal stop there is no postmaster.pid and this does nothing.
impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid()
            && processes::alive(pid)
        {
            let _ = std::process::Command::new("kill").arg("-INT").arg(pid.to_string()).status();
        }
    }
}
