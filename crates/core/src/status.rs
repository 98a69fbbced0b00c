//! What running Tapgate processes are doing, for `tapgate status` in another terminal.
//!
//! Each process that runs forwarders keeps one small JSON file, `<runtime dir>/<pid>.json`,
//! rewritten (atomically) when a forwarder starts or a connection opens or closes, and removed
//! at exit. Readers ignore and clean up files of processes that are gone. It holds no secrets.
//!
//! Changes are recorded in memory and written by one thread, so a connection task never waits on
//! the disk; a burst of changes becomes one write of the latest state.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use serde::{Deserialize, Serialize};

use crate::atomic_file::write_atomic;

/// One process's announcement.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessStatus {
    pub pid: u32,
    /// `tapgate connect`, `tapgate exec`, `tapgate-desktop`.
    pub program: String,
    /// Unix seconds.
    pub started_at: i64,
    pub forwarders: Vec<ForwarderStatus>,
}

/// One listening forwarder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ForwarderStatus {
    pub database: String,
    pub idp: String,
    pub local_port: u16,
    pub open_connections: usize,
}

/// Writes this process's status file and removes it when dropped.
#[derive(Debug)]
pub struct StatusFile {
    path: PathBuf,
    status: Arc<Mutex<ProcessStatus>>,
    /// Wakes the writer thread; dropping it ends the thread.
    changed: Option<mpsc::Sender<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl StatusFile {
    /// The status of this process, started at `started_at` (Unix seconds), in `runtime_dir`.
    pub fn create(runtime_dir: &Path, program: &str, started_at: i64) -> StatusFile {
        let pid = std::process::id();
        let status = ProcessStatus { pid, program: program.to_string(), started_at, forwarders: Vec::new() };
        let path = runtime_dir.join(format!("{pid}.json"));
        let _ = crate::atomic_file::private_folder(runtime_dir);
        let status = Arc::new(Mutex::new(status));
        let (changed, wake) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("tapgate-status".into())
            .spawn({
                let (path, status) = (path.clone(), status.clone());
                move || write_loop(&path, &status, &wake)
            })
            .ok();
        StatusFile { path, status, changed: Some(changed), writer }
    }

    /// Announces a forwarder.
    pub fn add_forwarder(&self, forwarder: ForwarderStatus) {
        self.update(|s| s.forwarders.push(forwarder));
    }

    /// Withdraws the forwarder of `database` (it stopped; the process goes on).
    pub fn remove_forwarder(&self, database: &str) {
        self.update(|s| s.forwarders.retain(|f| f.database != database));
    }

    /// Sets the open-connection count of `database`.
    pub fn set_open(&self, database: &str, open: usize) {
        self.update(|s| {
            if let Some(f) = s.forwarders.iter_mut().find(|f| f.database == database) {
                f.open_connections = open;
            }
        });
    }

    fn update(&self, change: impl FnOnce(&mut ProcessStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(changed) = &self.changed {
            let _ = changed.send(());
        }
    }
}

/// Writes the latest status each time it is woken, coalescing wake-ups that queued meanwhile.
fn write_loop(path: &Path, status: &Mutex<ProcessStatus>, wake: &mpsc::Receiver<()>) {
    while wake.recv().is_ok() {
        while wake.try_recv().is_ok() {}
        let snapshot = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // Status is a convenience: a failed write must never disturb anything else.
        if let Ok(text) = serde_json::to_vec(&snapshot)
            && let Err(e) = write_atomic(path, &text)
        {
            tracing::debug!("status file not written: {e}");
        }
    }
}

impl Drop for StatusFile {
    fn drop(&mut self) {
        // Let the writer finish its last write before the file is removed.
        drop(self.changed.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Status of every live Tapgate process; files of dead processes are removed.
pub fn running_processes(runtime_dir: &Path) -> Vec<ProcessStatus> {
    let Ok(entries) = std::fs::read_dir(runtime_dir) else { return Vec::new() };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Some(status) =
            std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<ProcessStatus>(&b).ok())
        else {
            continue;
        };
        if process_alive(status.pid) {
            all.push(status);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
    all.sort_by_key(|s| s.started_at);
    all
}

/// Whether a process with this id exists (signal 0: nothing is sent). A process of another
/// user answers "not permitted", which still means it exists.
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_follows_changes_and_is_removed_at_the_end() {
        let temp = tempfile::tempdir().expect("tempdir");
        let dir = temp.path().join("run");
        let status = StatusFile::create(&dir, "tapgate connect", 1_700_000_000);
        status.add_forwarder(ForwarderStatus {
            database: "prod".into(),
            idp: "corp".into(),
            local_port: 54321,
            open_connections: 0,
        });
        status.set_open("prod", 3);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let seen = loop {
            let running = running_processes(&dir);
            if running.first().map(|p| p.forwarders[0].open_connections) == Some(3) {
                break running;
            }
            assert!(std::time::Instant::now() < deadline, "status file not written: {running:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(seen[0].forwarders[0].local_port, 54321);
        drop(status);
        assert!(running_processes(&dir).is_empty(), "removed at the end");
    }
}
