//! What running Tapgate processes are doing, for `tapgate status` in another terminal.
//!
//! Each process that runs forwarders keeps one small JSON file, `<runtime dir>/<pid>.json`,
//! rewritten (atomically) when a forwarder starts or a connection opens or closes, and removed
//! at exit. Readers ignore and clean up files of processes that are gone. It holds no secrets.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

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
    status: Mutex<ProcessStatus>,
}

impl StatusFile {
    pub fn create(runtime_dir: &Path, program: &str) -> StatusFile {
        let pid = std::process::id();
        let status = ProcessStatus {
            pid,
            program: program.to_string(),
            started_at: crate::engine::now_unix(),
            forwarders: Vec::new(),
        };
        let file = StatusFile { path: runtime_dir.join(format!("{pid}.json")), status: Mutex::new(status) };
        if let Some(dir) = file.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        file
    }

    /// Announces a forwarder.
    pub fn add_forwarder(&self, forwarder: ForwarderStatus) {
        self.update(|s| s.forwarders.push(forwarder));
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
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        change(&mut status);
        let tmp = self.path.with_extension("json.tmp");
        // Status is a convenience: a failed write must never disturb a connection.
        if let Ok(text) = serde_json::to_vec(&*status)
            && std::fs::write(&tmp, text).is_ok()
        {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

impl Drop for StatusFile {
    fn drop(&mut self) {
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

fn process_alive(pid: u32) -> bool {
    // /proc is Linux; elsewhere assume alive (a stale entry is harmless and shows its pid).
    if cfg!(target_os = "linux") { Path::new(&format!("/proc/{pid}")).exists() } else { true }
}
