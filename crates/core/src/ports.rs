//! Stable loopback ports: chosen once per database and remembered, so a GUI client saved with
//! `127.0.0.1:54321` keeps working across restarts.
//!
//! The app and a CLI may choose ports at the same moment: each choice is a read-modify-write
//! of `ports.json` under an exclusive lock, written atomically, so neither loses the other's
//! port and no two databases get the same one.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

use tapgate_config::DbConfig;

use crate::CoreError;
use crate::atomic_file::{FileLock, write_atomic};

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
        if let Some(port) = self.read().get(&db.name) {
            return Ok(*port);
        }
        let _lock = FileLock::acquire(&self.path)?;
        // Read again under the lock: another process may have chosen one meanwhile.
        let mut book = self.read();
        if let Some(port) = book.get(&db.name) {
            return Ok(*port);
        }
        let taken: Vec<u16> = book.values().copied().collect();
        let port = free_port(&taken)?;
        book.insert(db.name.clone(), port);
        let text = serde_json::to_vec_pretty(&book).unwrap_or_default();
        write_atomic(&self.path, &text)?;
        Ok(port)
    }

    /// A new remembered port for `db` in place of `abandoned` (held by someone else): the
    /// choice is kept for next time as the old one was.
    pub fn choose_again(&self, db: &DbConfig, abandoned: u16) -> Result<u16, CoreError> {
        let _lock = FileLock::acquire(&self.path)?;
        let mut book = self.read();
        let mut taken: Vec<u16> = book.values().copied().collect();
        taken.push(abandoned);
        let port = free_port(&taken)?;
        book.insert(db.name.clone(), port);
        write_atomic(&self.path, &serde_json::to_vec_pretty(&book).unwrap_or_default())?;
        Ok(port)
    }

    fn read(&self) -> BTreeMap<String, u16> {
        std::fs::read(&self.path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }
}

/// A free port in the dynamic range that no other database has.
fn free_port(taken: &[u16]) -> Result<u16, CoreError> {
    for _ in 0..32 {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(CoreError::NoFreePort)?;
        let port = listener.local_addr().map_err(CoreError::NoFreePort)?.port();
        if !taken.contains(&port) {
            return Ok(port);
        }
    }
    Err(CoreError::NoFreePort(std::io::Error::other(
        "every port offered is already remembered for another database",
    )))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn db(name: &str) -> DbConfig {
        let text = format!(
            "[idp.corp]\nissuer = \"https://idp.example.com\"\nclient_id = \"tapgate\"\nusername = \"a@example.com\"\n\
             [db.{name}]\nidp = \"corp\"\nhost = \"db.example.com\"\ndbname = \"app\"\nrole = \"app\"\n"
        );
        let config = tapgate_config::validate::parse(Path::new("config.toml"), &text).expect("config");
        config.db(name).expect("db").clone()
    }

    #[test]
    fn many_writers_at_once_each_keep_their_port_and_no_two_share_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = Arc::new(PortBook::new(dir.path()));
        let names: Vec<String> = (0..16).map(|i| format!("db{i}")).collect();
        let threads: Vec<_> = names
            .iter()
            .map(|name| {
                let (book, db) = (book.clone(), db(name));
                std::thread::spawn(move || book.port_for(&db).expect("port"))
            })
            .collect();
        let ports: Vec<u16> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        let remembered = book.read();
        assert_eq!(remembered.len(), names.len(), "no choice was lost: {remembered:?}");
        for (name, port) in names.iter().zip(&ports) {
            assert_eq!(remembered.get(name), Some(port));
            assert_eq!(book.port_for(&db(name)).expect("again"), *port, "stable");
        }
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "distinct ports: {ports:?}");
    }
}
