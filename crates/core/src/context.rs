//! [`Context`]: everything the engine learns about the world it runs in, handed to it by the
//! program (the CLI, the desktop app, a test) instead of read from globals: where its files go,
//! which clock it believes, where tokens are kept and how a browser is opened.
//!
//! The engine never reads an environment variable or a well-known path itself. The CLI and the
//! app build a context from `tapgate-config`'s locations; the demos point it at their own
//! folder; tests point it at a temporary one and hand it a clock they move.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tapgate_clock::{SharedClock, SystemClock};
use tapgate_idp::BrowserOpener;

/// Where tokens are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyringChoice {
    /// The OS keyring (Secret Service, Keychain, Credential Manager); this process's memory
    /// when it does not answer, which [`crate::Engine::keyring_warning`] then says.
    Os,
    /// This process's memory only (tests; a person who opted out). `reason` is shown as the
    /// keyring warning.
    Memory { reason: String },
}

/// What the engine needs from its surroundings.
#[derive(Clone)]
pub struct Context {
    /// History, remembered ports; never tokens.
    pub data_dir: PathBuf,
    /// Status files of running forwarders (for `tapgate status`), and locks.
    pub runtime_dir: PathBuf,
    /// Now, for expiry, history and status.
    pub clock: SharedClock,
    pub keyring: KeyringChoice,
    /// The person's `.pgpass` (`$PGPASSFILE`, else `~/.pgpass`), where local passwords are
    /// written; without one, a database with `local_password = true` cannot start.
    pub pgpass: Option<PathBuf>,
    /// Hands the IdP's sign-in page to a browser (`flow = "browser"`): the CLI a system opener
    /// or `$BROWSER`, the app its opener plugin, tests a WebDriver session. Without one, a
    /// browser sign-in fails with a message that says so.
    pub browser: Option<Arc<dyn BrowserOpener>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("data_dir", &self.data_dir)
            .field("runtime_dir", &self.runtime_dir)
            .field("clock", &self.clock)
            .field("keyring", &self.keyring)
            .field("pgpass", &self.pgpass)
            .field("browser", &self.browser.is_some())
            .finish()
    }
}

impl Context {
    /// A context over the given folders with the system clock and the OS keyring: what the
    /// programs use.
    pub fn new(data_dir: impl Into<PathBuf>, runtime_dir: impl Into<PathBuf>) -> Context {
        Context {
            data_dir: data_dir.into(),
            runtime_dir: runtime_dir.into(),
            clock: SystemClock::shared(),
            keyring: KeyringChoice::Os,
            pgpass: None,
            browser: None,
        }
    }

    /// A context whose files all live under `root` (`data/` and `run/`): the demos and tests,
    /// which must never touch the person's own folders.
    pub fn under(root: &Path) -> Context {
        Context::new(root.join("data"), root.join("run"))
    }

    /// The same context with another clock.
    pub fn with_clock(self, clock: SharedClock) -> Context {
        Context { clock, ..self }
    }

    /// The same context with a way to open the browser for browser sign-ins.
    pub fn with_browser(self, opener: Arc<dyn BrowserOpener>) -> Context {
        Context { browser: Some(opener), ..self }
    }

    /// The same context with local passwords written to `pgpass`.
    pub fn with_pgpass(self, pgpass: impl Into<PathBuf>) -> Context {
        Context { pgpass: Some(pgpass.into()), ..self }
    }

    /// The same context with tokens kept in memory only.
    pub fn with_memory_keyring(self, reason: impl Into<String>) -> Context {
        Context { keyring: KeyringChoice::Memory { reason: reason.into() }, ..self }
    }
}
