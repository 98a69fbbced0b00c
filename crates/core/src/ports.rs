//! Stable loopback ports: chosen once per database and remembered, so a GUI client saved with
//! `127.0.0.1:54321` keeps working across restarts.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use tapgate_config::DbConfig;

use crate::CoreError;

/// The remembered ports, in `ports.json` in the data folder (no secrets in it).
#[derive(Debug, Clone)]
pub struct PortBook {
    path: PathBuf,
}

impl PortBook {
    pub fn new(data_dir: &Path) -> PortBook {
        PortBook { path: data_dir.join("ports.json") }
    }

    /// The port for `db`: its `local_port`, else the remembered one, else a free port now
    /// remembered for next time.
    pub fn port_for(&self, db: &DbConfig) -> Result<u16, CoreError> {
        if let Some(port) = db.local_port {
            return Ok(port);
        }
        let mut book = self.read();
        if let Some(port) = book.get(&db.name) {
            return Ok(*port);
        }
        let taken: Vec<u16> = book.values().copied().collect();
        let port = free_port(&taken)?;
        book.insert(db.name.clone(), port);
        self.write(&book)?;
        Ok(port)
    }

    fn read(&self) -> BTreeMap<String, u16> {
        std::fs::read(&self.path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    fn write(&self, book: &BTreeMap<String, u16>) -> Result<(), CoreError> {
        let io = |e: std::io::Error| CoreError::Local(format!("cannot save {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(book).map_err(|e| CoreError::Local(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// A free port in the dynamic range that no other database has.
fn free_port(taken: &[u16]) -> Result<u16, CoreError> {
    for _ in 0..32 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| CoreError::Local(format!("cannot find a free loopback port: {e}")))?;
        let port = listener.local_addr().map_err(|e| CoreError::Local(e.to_string()))?.port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
    Err(CoreError::Local("cannot find a free loopback port".into()))
}
