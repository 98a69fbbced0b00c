//! Ctrl-C and SIGTERM for `tapgate demo`. The demo's children run in process groups of their
//! own (see `tapgate_demo::processes`), so a Ctrl-C in the terminal reaches only us, and we stop
//! them in order instead of all of them dying at once mid-drain.

/// Ctrl-C and SIGTERM, listened for from the moment this is made (not from the first poll), so
/// a signal during start-up is never the default "die now" that would leave children behind.
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn listen() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The next Ctrl-C or SIGTERM.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
