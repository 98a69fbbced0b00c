//! Connection and sign-in history in SQLite, written off the relay's path.
//!
//! The forwarder reports a connection when it opens and when it closes. Those reports go through
//! a channel to one writer thread that owns the database, so a slow disk never stalls a client:
//! sending on the channel is all the relay's tasks ever do. Readers (`tapgate history`) open their
//! own connection; SQLite's WAL mode lets them read while the writer writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::StoreError;
use crate::outcome::{ConnectionOutcome, SignInMethod, SignInOutcome};
use tapgate_clock::SharedClock;

/// Rows older than this are deleted when the history is opened.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);

/// One client connection through a forwarder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionRecord {
    pub database: String,
    pub role: String,
    /// The signed-in person, when known.
    pub identity: Option<String>,
    /// The client's `application_name`, when it sent one.
    pub application: Option<String>,
    pub local_port: u16,
    /// Unix milliseconds.
    pub started_at: i64,
    /// Unix milliseconds; `None` while open.
    pub ended_at: Option<i64>,
    /// Client to server.
    pub bytes_up: u64,
    /// Server to client.
    pub bytes_down: u64,
    pub outcome: ConnectionOutcome,
    pub error: Option<String>,
}

/// How a connection ended, reported by the forwarder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionEnd {
    pub ended_at: i64,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub outcome: ConnectionOutcome,
    pub error: Option<String>,
    /// The role and identity as finally settled (they may be unknown at open).
    pub role: Option<String>,
    pub identity: Option<String>,
}

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignInRecord {
    pub idp: String,
    pub identity: Option<String>,
    pub method: SignInMethod,
    /// Unix milliseconds.
    pub at: i64,
    pub outcome: SignInOutcome,
    pub error: Option<String>,
}

/// What to read back.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    pub database: Option<String>,
    pub limit: usize,
}

enum Write {
    Open { id: u64, record: ConnectionRecord },
    Close { id: u64, end: ConnectionEnd },
    SignIn(SignInRecord),
    Flush(mpsc::Sender<()>),
}

/// The writer side: cheap to clone, never blocks the caller.
#[derive(Clone)]
pub struct HistoryWriter {
    sender: mpsc::Sender<Write>,
    next_id: std::sync::Arc<AtomicU64>,
}

impl std::fmt::Debug for HistoryWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryWriter").finish_non_exhaustive()
    }
}

impl HistoryWriter {
    /// Starts the writer thread, which opens (creating) the history at `path` and prunes rows
    /// older than `retention` before its first write. Nothing here touches the disk, so callers
    /// on an async runtime never wait on SQLite; a history that cannot be opened is logged by
    /// the thread and then only loses rows. The thread ends when the last writer is dropped.
    /// `clock` dates the pruning cutoff.
    pub fn open(path: &Path, retention: Duration, clock: SharedClock) -> Result<HistoryWriter, StoreError> {
        let (sender, receiver) = mpsc::channel();
        let path = path.to_path_buf();
        std::thread::Builder::new()
            .name("tapgate-history".into())
            .spawn(move || match open_and_prune(&path, retention, clock.unix_millis()) {
                Ok(conn) => write_loop(conn, receiver),
                Err(e) => {
                    tracing::warn!("history is off: {e}");
                    // Keep answering flushes so nobody waits for a history that is not there.
                    for write in receiver {
                        if let Write::Flush(done) = write {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .map_err(|e| StoreError::History(format!("cannot start the history writer: {e}")))?;
        Ok(HistoryWriter { sender, next_id: std::sync::Arc::new(AtomicU64::new(1)) })
    }

    /// Records a connection that just opened; returns its id for [`HistoryWriter::closed`].
    pub fn opened(&self, record: ConnectionRecord) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        // A gone writer thread only loses history, never a connection.
        let _ = self.sender.send(Write::Open { id, record });
        id
    }

    /// Records how connection `id` ended.
    pub fn closed(&self, id: u64, end: ConnectionEnd) {
        let _ = self.sender.send(Write::Close { id, end });
    }

    /// Records a sign-in attempt.
    pub fn signed_in(&self, record: SignInRecord) {
        let _ = self.sender.send(Write::SignIn(record));
    }

    /// Waits until everything sent so far is written (at shutdown; tests).
    pub fn flush(&self, timeout: Duration) {
        let (tx, rx) = mpsc::channel();
        if self.sender.send(Write::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(timeout);
        }
    }
}

fn open_and_prune(path: &Path, retention: Duration, now_ms: i64) -> Result<Connection, StoreError> {
    let conn = open_database(path)?;
    let cutoff = now_ms - retention.as_millis() as i64;
    conn.execute("DELETE FROM connections WHERE started_at < ?1", params![cutoff]).map_err(sql)?;
    conn.execute("DELETE FROM sign_ins WHERE at < ?1", params![cutoff]).map_err(sql)?;
    Ok(conn)
}

fn write_loop(conn: Connection, receiver: mpsc::Receiver<Write>) {
    let mut rowids = std::collections::HashMap::new();
    for write in receiver {
        let result = match write {
            Write::Open { id, record } => insert_connection(&conn, &record).map(|rowid| {
                rowids.insert(id, rowid);
            }),
            Write::Close { id, end } => match rowids.remove(&id) {
                Some(rowid) => update_connection(&conn, rowid, &end),
                None => Ok(()),
            },
            Write::SignIn(record) => insert_sign_in(&conn, &record),
            Write::Flush(done) => {
                let _ = done.send(());
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!("history: {e}");
        }
    }
}

fn insert_connection(conn: &Connection, r: &ConnectionRecord) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO connections (database, role, identity, application, local_port, started_at, ended_at,
                                  bytes_up, bytes_down, outcome, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            r.database,
            r.role,
            r.identity,
            r.application,
            r.local_port,
            r.started_at,
            r.ended_at,
            r.bytes_up as i64,
            r.bytes_down as i64,
            r.outcome,
            r.error
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn update_connection(conn: &Connection, rowid: i64, e: &ConnectionEnd) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE connections SET ended_at = ?2, bytes_up = ?3, bytes_down = ?4, outcome = ?5, error = ?6,
                                role = COALESCE(?7, role), identity = COALESCE(?8, identity)
         WHERE id = ?1",
        params![
            rowid,
            e.ended_at,
            e.bytes_up as i64,
            e.bytes_down as i64,
            e.outcome,
            e.error,
            e.role,
            e.identity
        ],
    )?;
    Ok(())
}

fn insert_sign_in(conn: &Connection, r: &SignInRecord) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sign_ins (idp, identity, method, at, outcome, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![r.idp, r.identity, r.method, r.at, r.outcome, r.error],
    )?;
    Ok(())
}

/// Reads history back (newest first).
#[derive(Debug)]
pub struct HistoryReader {
    conn: Connection,
}

impl HistoryReader {
    /// Opens the history at `path`; a missing file reads as empty.
    pub fn open(path: &Path) -> Result<HistoryReader, StoreError> {
        Ok(HistoryReader { conn: open_database(path)? })
    }

    pub fn connections(&self, query: &HistoryQuery) -> Result<Vec<ConnectionRecord>, StoreError> {
        let limit = if query.limit == 0 { i64::MAX } else { query.limit as i64 };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT database, role, identity, application, local_port, started_at, ended_at,
                        bytes_up, bytes_down, outcome, error
                 FROM connections WHERE (?1 IS NULL OR database = ?1)
                 ORDER BY started_at DESC, id DESC LIMIT ?2",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map(params![query.database, limit], |row| {
                Ok(ConnectionRecord {
                    database: row.get(0)?,
                    role: row.get(1)?,
                    identity: row.get(2)?,
                    application: row.get(3)?,
                    local_port: row.get(4)?,
                    started_at: row.get(5)?,
                    ended_at: row.get(6)?,
                    bytes_up: row.get::<_, i64>(7)? as u64,
                    bytes_down: row.get::<_, i64>(8)? as u64,
                    outcome: row.get(9)?,
                    error: row.get(10)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    pub fn sign_ins(&self, limit: usize) -> Result<Vec<SignInRecord>, StoreError> {
        let limit = if limit == 0 { i64::MAX } else { limit as i64 };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idp, identity, method, at, outcome, error FROM sign_ins ORDER BY at DESC, id DESC LIMIT ?1",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map(params![limit], |row| {
                Ok(SignInRecord {
                    idp: row.get(0)?,
                    identity: row.get(1)?,
                    method: row.get(2)?,
                    at: row.get(3)?,
                    outcome: row.get(4)?,
                    error: row.get(5)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    /// The newest connection's start, if any (handy for tests and status lines).
    pub fn last_started_at(&self) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row("SELECT MAX(started_at) FROM connections", [], |row| row.get(0))
            .optional()
            .map(Option::flatten)
            .map_err(sql)
    }
}

/// `dir` and its missing parents, created 0700; `dir` itself made 0700 if it existed.
fn private_folder(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// `path` created empty if missing, and readable by its owner only.
fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    std::fs::OpenOptions::new().create(true).append(true).open(path).map(drop)
}

/// The history file in Tapgate's data folder.
pub fn history_path(data_dir: &Path) -> PathBuf {
    data_dir.join("history.sqlite3")
}

fn open_database(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent() {
        private_folder(parent)
            .map_err(|e| StoreError::History(format!("cannot create {}: {e}", parent.display())))?;
    }
    // Who connected where and when is the person's business: the file (and the WAL and shared
    // memory files SQLite makes with the same mode) is theirs alone.
    private_file(path).map_err(|e| StoreError::History(format!("cannot create {}: {e}", path.display())))?;
    let conn = Connection::open(path)
        .map_err(|e| StoreError::History(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE IF NOT EXISTS connections (
             id INTEGER PRIMARY KEY,
             database TEXT NOT NULL,
             role TEXT NOT NULL,
             identity TEXT,
             application TEXT,
             local_port INTEGER NOT NULL,
             started_at INTEGER NOT NULL,
             ended_at INTEGER,
             bytes_up INTEGER NOT NULL DEFAULT 0,
             bytes_down INTEGER NOT NULL DEFAULT 0,
             outcome TEXT NOT NULL,
             error TEXT
         );
         CREATE INDEX IF NOT EXISTS connections_by_start ON connections (started_at);
         CREATE TABLE IF NOT EXISTS sign_ins (
             id INTEGER PRIMARY KEY,
             idp TEXT NOT NULL,
             identity TEXT,
             method TEXT NOT NULL,
             at INTEGER NOT NULL,
             outcome TEXT NOT NULL,
             error TEXT
         );",
    )
    .map_err(sql)?;
    Ok(conn)
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::History(e.to_string())
}

#[cfg(test)]
mod tests {
    use tapgate_clock::{Clock as _, ManualClock};

    use super::*;

    fn record(db: &str, started_at: i64) -> ConnectionRecord {
        ConnectionRecord {
            database: db.into(),
            role: "app_rw".into(),
            identity: Some("alice@example.com".into()),
            application: Some("psql".into()),
            local_port: 54321,
            started_at,
            ended_at: None,
            bytes_up: 0,
            bytes_down: 0,
            outcome: ConnectionOutcome::Open,
            error: None,
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_history_and_its_folder_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("tapgate");
        let path = history_path(&folder);
        let writer =
            HistoryWriter::open(&path, DEFAULT_RETENTION, ManualClock::starting_now()).expect("open");
        writer.opened(record("prod", 1));
        writer.flush(Duration::from_secs(5));
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&folder), 0o700);
        assert_eq!(mode(&path), 0o600);
        // SQLite gives the write-ahead log and its index the database file's mode.
        for companion in ["history.sqlite3-wal", "history.sqlite3-shm"] {
            assert_eq!(mode(&folder.join(companion)), 0o600, "{companion}");
        }
    }

    #[test]
    fn a_connection_is_recorded_at_open_and_completed_at_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = history_path(dir.path());
        let clock = ManualClock::starting_now();
        let writer = HistoryWriter::open(&path, DEFAULT_RETENTION, clock.clone()).expect("open");
        let now = clock.unix_millis();
        let id = writer.opened(record("prod", now));
        writer.flush(Duration::from_secs(5));
        let open =
            HistoryReader::open(&path).expect("reader").connections(&HistoryQuery::default()).expect("rows");
        assert_eq!(open[0].outcome, ConnectionOutcome::Open);

        let end = ConnectionEnd {
            ended_at: now + 1500,
            bytes_up: 120,
            bytes_down: 4096,
            outcome: ConnectionOutcome::Ok,
            error: None,
            role: None,
            identity: None,
        };
        writer.closed(id, end);
        writer.flush(Duration::from_secs(5));
        let rows =
            HistoryReader::open(&path).expect("reader").connections(&HistoryQuery::default()).expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].outcome.as_str(), rows[0].bytes_down, rows[0].ended_at),
            ("ok", 4096, Some(now + 1500))
        );
        assert_eq!(rows[0].role, "app_rw", "unknown at close keeps what was known at open");
    }

    #[test]
    fn filter_limit_and_retention() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = history_path(dir.path());
        let clock = ManualClock::starting_now();
        let now = clock.unix_millis();
        {
            let writer = HistoryWriter::open(&path, DEFAULT_RETENTION, clock.clone()).expect("open");
            writer.opened(record("prod", now - 100 * 24 * 3600 * 1000));
            writer.opened(record("prod", now - 2));
            writer.opened(record("staging", now - 1));
            writer.opened(record("prod", now));
            writer.flush(Duration::from_secs(5));
        }
        let reader = HistoryReader::open(&path).expect("reader");
        let prod =
            reader.connections(&HistoryQuery { database: Some("prod".into()), limit: 0 }).expect("rows");
        assert_eq!(prod.len(), 3);
        let newest = reader.connections(&HistoryQuery { database: None, limit: 1 }).expect("rows");
        assert_eq!(newest[0].started_at, now);

        // Reopening for writing prunes what is past the retention.
        let writer = HistoryWriter::open(&path, DEFAULT_RETENTION, clock.clone()).expect("reopen");
        writer.flush(Duration::from_secs(5));
        let all = reader.connections(&HistoryQuery::default()).expect("rows");
        assert_eq!(all.len(), 3, "the 100-day-old row is gone");
    }
}
