//! What the engine keeps on this machine besides tokens, all under its [`crate::Context`]'s
//! folders: the connection and sign-in history, the remembered ports, and the status files of
//! running forwarders. The CLI and the app read them through these methods only.

use tapgate_store::history::DEFAULT_RETENTION;
use tapgate_store::{
    ConnectionRecord, HistoryQuery, HistoryReader, HistoryWriter, SignInRecord, history_path,
};

use crate::status::{ProcessStatus, running_processes};
use crate::{CoreError, Engine};

impl Engine {
    /// The history writer, opened on first use; `None` (with a warning logged) when it cannot be
    /// opened: connections matter more than their history.
    pub(crate) fn history(&self) -> Option<&HistoryWriter> {
        self.history
            .get_or_init(|| {
                let path = history_path(&self.context.data_dir);
                HistoryWriter::open(&path, DEFAULT_RETENTION, self.context.clock.clone())
                    .map_err(|e| tracing::warn!("history is off: {e}"))
                    .ok()
            })
            .as_ref()
    }

    /// Waits (up to two seconds) until every history row queued so far is written, so a read
    /// right after sees it.
    pub fn flush_history(&self) {
        if let Some(Some(history)) = self.history.get() {
            history.flush(std::time::Duration::from_secs(2));
        }
    }

    /// Connections through forwarders, newest first; empty before the first one.
    pub fn connections(&self, query: &HistoryQuery) -> Result<Vec<ConnectionRecord>, CoreError> {
        match self.history_reader()? {
            Some(reader) => Ok(reader.connections(query)?),
            None => Ok(Vec::new()),
        }
    }

    /// Sign-ins (taps, refreshes, failures), newest first; empty before the first one.
    pub fn sign_ins(&self, limit: usize) -> Result<Vec<SignInRecord>, CoreError> {
        match self.history_reader()? {
            Some(reader) => Ok(reader.sign_ins(limit)?),
            None => Ok(Vec::new()),
        }
    }

    fn history_reader(&self) -> Result<Option<HistoryReader>, CoreError> {
        let path = history_path(&self.context.data_dir);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(HistoryReader::open(&path)?))
    }

    /// The loopback port `database` gets: its `local_port`, or the one remembered for it
    /// (chosen and remembered now if it has none yet).
    pub fn stable_port(&self, database: &str) -> Result<u16, CoreError> {
        self.ports.port_for(self.db(database)?)
    }

    /// Every running Tapgate process that announced forwarders in this context's runtime folder
    /// (this one included); files of processes that are gone are cleaned up.
    pub fn running_processes(&self) -> Vec<ProcessStatus> {
        running_processes(&self.context.runtime_dir)
    }
}
