//! [`DemoEnvironment`]: everything the demo needs before a forwarder can run, started in order
//! (dev IdP, software key, PostgreSQL 18, schema, demo config) and stopped in reverse. What has
//! started is recorded as soon as it exists, so an error or a cancel halfway stops exactly that.

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::binaries::DemoBinaries;
use crate::dir::DemoDir;
use crate::error::{DemoError, IoContext as _};
use crate::idp::{self, DevIdp};
use crate::postgres::{self, Cluster};
use crate::processes;
use crate::progress::Progress;
use crate::{DEMO_GROUP, DEMO_USER};

/// A running demo environment: the dev IdP, PostgreSQL 18 with the sample schema, and the demo
/// config written. Stop it with [`DemoEnvironment::stop`]; dropped without that (a panic), the
/// IdP is killed and PostgreSQL told to shut down fast, so neither outlives the program.
pub struct DemoEnvironment {
    dir: DemoDir,
    idp: Option<DevIdp>,
    postgres: Option<Cluster>,
    /// Processes the caller started on top (the CLI's forwarder), for the PID list.
    others: Vec<(String, u32)>,
}

impl DemoEnvironment {
    /// Starts everything; on failure, or when `stop` is cancelled midway, stops whatever it had
    /// started (reporting those stops to `progress`) before returning the error
    /// ([`DemoError::Interrupted`] for a cancel between steps).
    ///
    /// A cancel is honoured between steps and while PostgreSQL is being installed, never inside
    /// a step: a `pg_ctl start` abandoned halfway could leave a server nobody stops.
    pub async fn start(
        dir: &DemoDir,
        binaries: &DemoBinaries,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> Result<DemoEnvironment, DemoError> {
        let mut env = DemoEnvironment { dir: dir.clone(), idp: None, postgres: None, others: Vec::new() };
        match env.bring_up(binaries, progress, stop).await {
            Ok(()) => Ok(env),
            Err(e) => {
                env.stop(progress).await;
                Err(e)
            }
        }
    }

    async fn bring_up(
        &mut self,
        binaries: &DemoBinaries,
        progress: &dyn Progress,
        stop: &CancellationToken,
    ) -> Result<(), DemoError> {
        let go_on = || if stop.is_cancelled() { Err(DemoError::Interrupted) } else { Ok(()) };
        let dir = self.dir.clone();
        stop_leftovers(&dir, progress).await;

        let step = "Starting the dev IdP";
        progress.started(step);
        let issuer = self.idp.insert(DevIdp::start(binaries.devidp(), &dir).await?).issuer.clone();
        progress.finished(step, &issuer);
        self.write_pids(progress);
        go_on()?;

        let step = format!("Enrolling a software key for {DEMO_USER} (group {DEMO_GROUP})");
        progress.started(&step);
        let enrolled = idp::enroll_demo_user(binaries.devidp(), &dir).await?;
        progress.finished(&step, if enrolled { "new key" } else { "already enrolled" });
        go_on()?;

        let step = "Finding PostgreSQL 18";
        progress.started(step);
        // The one long wait that may be a download: a cancel must not sit it out.
        let (bin, installed) = tokio::select! {
            found = postgres::find_binaries(binaries) => found?,
            _ = stop.cancelled() => return Err(DemoError::Interrupted),
        };
        let detail =
            if installed { format!("installed in {}", bin.display()) } else { bin.display().to_string() };
        progress.finished(step, &detail);

        let cluster = Cluster::prepare(&dir, bin).await?;
        if !cluster.exists() {
            let step = "Creating the database cluster";
            progress.started(step);
            cluster.init().await?;
            progress.finished(step, "");
        }
        go_on()?;
        cluster.configure(&dir, &issuer, binaries.validator())?;
        dir.write_config(&issuer, cluster.port)?;
        let engine_data = dir.engine_data();
        std::fs::create_dir_all(&engine_data)
            .context_with(|| format!("cannot create {}", engine_data.display()))?;

        let step = "Starting PostgreSQL 18";
        progress.started(step);
        // Recorded before it starts: a stop that finds nothing running is harmless, a server
        // started behind our back would outlive the demo.
        let cluster = self.postgres.insert(cluster);
        cluster.start(progress).await?;
        let detail =
            format!("127.0.0.1:{}, TLS, OAuth validator; log {}", cluster.port, cluster.log().display());
        progress.finished(step, &detail);
        self.write_pids(progress);
        go_on()?;

        // Borrowed again: the PID list above needed all of `self`.
        let Some(cluster) = &self.postgres else { return Ok(()) };
        if !cluster.has_schema().await? {
            let step = "Creating roles app_rw and app_ro and the sample database `demo`";
            progress.started(step);
            cluster.create_schema().await?;
            progress.finished(step, "");
        }
        go_on()
    }

    /// The demo config (IdP `demo` with the software key, database `demo`); hand it to the
    /// forwarder instead of the user's config.
    pub fn config_path(&self) -> PathBuf {
        self.dir.config()
    }

    /// The demo's own `TAPGATE_DATA_DIR` (remembered port, history, status file), apart from
    /// the user's; it exists once the environment has started.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.engine_data()
    }

    /// The demo folder.
    pub fn dir(&self) -> &DemoDir {
        &self.dir
    }

    /// The dev IdP's issuer URL (`https://localhost:PORT`).
    pub fn issuer(&self) -> &str {
        self.idp.as_ref().map_or("", |idp| idp.issuer.as_str())
    }

    /// The port PostgreSQL listens on (127.0.0.1, TLS only).
    pub fn postgres_port(&self) -> u16 {
        self.postgres.as_ref().map_or(0, |cluster| cluster.port)
    }

    /// PostgreSQL's log, where refused connections are explained.
    pub fn postgres_log(&self) -> Option<PathBuf> {
        self.postgres.as_ref().map(Cluster::log)
    }

    /// Adds a process the caller started for the demo (e.g. the CLI's `tapgate-connect` child)
    /// to the PID list in the demo folder, after the IdP and PostgreSQL.
    pub fn record_process(&mut self, name: &str, pid: u32) -> Result<(), DemoError> {
        self.others.push((name.to_string(), pid));
        self.dir.write_pids(&self.pids())
    }

    /// Stops PostgreSQL (`pg_ctl stop -m fast`, the server killed if it lingers), then the IdP
    /// (SIGTERM, then a kill): well under a minute in all. The folder is kept for the next run.
    /// Stop the forwarder first: its clients should not see the server vanish under them.
    pub async fn stop(mut self, progress: &dyn Progress) {
        if let Some(cluster) = self.postgres.take() {
            let step = "Stopping PostgreSQL";
            progress.started(step);
            cluster.stop().await;
            progress.finished(step, "");
        }
        if let Some(idp) = self.idp.take() {
            let step = "Stopping the dev IdP";
            progress.started(step);
            idp.stop().await;
            progress.finished(step, "");
        }
    }

    fn pids(&self) -> Vec<(String, u32)> {
        let mut pids = Vec::new();
        if let Some(pid) = self.idp.as_ref().and_then(DevIdp::pid) {
            pids.push(("tapgate-devidp".to_string(), pid));
        }
        if let Some(pid) = self.postgres.as_ref().and_then(Cluster::postmaster_pid) {
            pids.push(("postgres".to_string(), pid));
        }
        pids.extend(self.others.iter().cloned());
        pids
    }

    /// The PID list is for people and tests checking that nothing outlived the demo: worth a
    /// warning when it cannot be written, not a failed start.
    fn write_pids(&self, progress: &dyn Progress) {
        if let Err(e) = self.dir.write_pids(&self.pids()) {
            progress.warning(&e.to_string());
        }
    }
}

/// Stops the dev IdP and forwarder of an earlier demo that was killed before it could stop them
/// (PostgreSQL is handled by the cluster itself). Only processes still running with this demo
/// folder on their command line are touched, so a PID reused by something else is left alone.
async fn stop_leftovers(dir: &DemoDir, progress: &dyn Progress) {
    let Ok(text) = std::fs::read_to_string(dir.pids()) else { return };
    let root = dir.root().display().to_string();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, pid)) = line.split_once(' ') else { continue };
        let Ok(pid) = pid.trim().parse::<u32>() else { continue };
        if name == "postgres" || !processes::alive(pid) {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains(&root) {
            continue;
        }
        progress.note(&format!("stopping {name} left running by an earlier demo, pid {pid}"));
        processes::send_signal(pid, processes::Signal::TERM);
        if !processes::gone_within(pid, std::time::Duration::from_secs(3)).await {
            processes::send_signal(pid, processes::Signal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::DemoEnvironment;
    use crate::{DemoBinaries, DemoDir, Progress};

    /// Compiles only if starting and stopping can run on a spawned task (the desktop app does).
    #[allow(dead_code)]
    fn start_and_stop_are_send(
        dir: &DemoDir,
        binaries: &DemoBinaries,
        progress: &dyn Progress,
        stop: &CancellationToken,
        env: DemoEnvironment,
    ) {
        fn send<T: Send>(_: T) {}
        send(DemoEnvironment::start(dir, binaries, progress, stop));
        send(env.stop(progress));
    }
}
