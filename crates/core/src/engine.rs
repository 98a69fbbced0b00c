//! [`Engine`]: one loaded configuration in one [`Context`], and everything the CLI and the
//! app ask of it. Sessions (cache, then refresh, then a key tap) are in [`crate::sign_in`];
//! history, ports and the status of running forwarders in [`crate::local_state`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use tapgate_clock::SharedClock;
use tapgate_config::{Config, DbConfig, IdpConfig};
use tapgate_idp::IdpClient;
use tapgate_store::{CacheBackend, HistoryWriter, TokenCache};
use tokio::sync::broadcast;

use crate::context::KeyringChoice;
use crate::ports::PortBook;
use crate::{Context, CoreError, CoreEvent, Session};

/// The engine the CLI and the app share.
pub struct Engine {
    pub(crate) config: Config,
    pub(crate) context: Context,
    pub(crate) cache: TokenCache,
    pub(crate) ports: PortBook,
    pub(crate) clients: Mutex<HashMap<String, IdpClient>>,
    pub(crate) skew_reported: Mutex<HashSet<String>>,
    /// The latest valid session per IdP, so busy forwarders do not read the keyring per connection.
    pub(crate) current: Mutex<HashMap<String, Session>>,
    /// The latest valid session per database target (`corp#aud=...`, see [`crate::db_token`]).
    pub(crate) targeted: Mutex<HashMap<String, Session>>,
    /// AWS STS credentials per IdP, role and person, in memory only (see [`crate::db_login`]).
    pub(crate) aws_credentials: Mutex<HashMap<String, tapgate_cloud::AwsCredentials>>,
    /// One sign-in at a time per IdP: fifty clients arriving while signed out get one tap, not fifty.
    pub(crate) sign_in_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The history database, opened on first use (most commands never write to it).
    pub(crate) history: OnceLock<Option<HistoryWriter>>,
    events: broadcast::Sender<CoreEvent>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config.path)
            .field("data_dir", &self.context.data_dir)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `config` in `context`: opens the token cache (probing the OS keyring when
    /// the context asks for it; see [`Engine::keyring_warning`]). Nothing is signed in, nothing
    /// listens and no file is written yet.
    pub async fn open(config: Config, context: Context) -> Engine {
        let cache = match &context.keyring {
            KeyringChoice::Os => TokenCache::open().await,
            KeyringChoice::Memory { reason } => TokenCache::in_memory(reason.clone()),
        };
        let (events, _) = broadcast::channel(64);
        Engine {
            ports: PortBook::new(&context.data_dir),
            config,
            context,
            cache,
            clients: Mutex::default(),
            skew_reported: Mutex::default(),
            current: Mutex::default(),
            targeted: Mutex::default(),
            aws_credentials: Mutex::default(),
            sign_in_locks: Mutex::default(),
            history: OnceLock::new(),
            events,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The folders, clock and keyring choice this engine runs with.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The engine's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.context.clock
    }

    /// Where tokens are kept.
    pub fn keyring(&self) -> &CacheBackend {
        self.cache.backend()
    }

    /// One sentence for the person when tokens live in memory only (no OS keyring answered),
    /// else `None`: what the CLI prints once. The app words its own notice from [`Engine::keyring`].
    pub fn keyring_warning(&self) -> Option<String> {
        match self.cache.backend() {
            CacheBackend::Keyring => None,
            CacheBackend::Memory { reason } => Some(format!(
                "no OS keyring available ({reason}); tokens are kept in memory until this program exits."
            )),
        }
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<CoreEvent> {
        self.events.subscribe()
    }

    /// The IdP called `name` (or the only one).
    pub fn idp(&self, name: Option<&str>) -> Result<&IdpConfig, CoreError> {
        Ok(self.config.idp(name)?)
    }

    /// The database called `name`.
    pub fn db(&self, name: &str) -> Result<&DbConfig, CoreError> {
        Ok(self.config.db(name)?)
    }

    /// The role a client of `database` logs in as: `requested` when the database allows it,
    /// else its default role. The one role check of `tapgate dsn`, `tapgate exec` and the
    /// forwarders' configuration.
    pub fn role_for(&self, database: &str, requested: Option<&str>) -> Result<String, CoreError> {
        let db = self.db(database)?;
        let Some(role) = requested else { return Ok(db.role.clone()) };
        let allowed = db.allowed_roles();
        if allowed.iter().any(|r| r == role) {
            Ok(role.to_string())
        } else {
            Err(CoreError::RoleNotAllowed { database: db.name.clone(), role: role.to_string(), allowed })
        }
    }

    /// The folder of `db`'s Unix-domain socket (the runtime folder, private to the person), or
    /// `None` when the database has `unix_socket = false` or the system has no such sockets.
    pub fn socket_dir(&self, db: &DbConfig) -> Option<std::path::PathBuf> {
        (cfg!(unix) && db.unix_socket).then(|| self.context.runtime_dir.clone())
    }

    /// The local password of `db` (`local_password = true`) for a forwarder on `port`: made and
    /// written to the context's `.pgpass` the first time, only its verifier kept.
    pub async fn local_password(
        &self,
        db: &DbConfig,
        port: u16,
        socket_dir: Option<std::path::PathBuf>,
    ) -> Result<crate::local_password::LocalPassword, CoreError> {
        let pgpass = self.context.pgpass.clone().ok_or_else(|| CoreError::LocalFile {
            action: "find",
            path: std::path::PathBuf::from(".pgpass"),
            source: std::io::Error::other(format!(
                "{} has local_password = true, and no home folder or PGPASSFILE is known to write it to",
                db.name
            )),
        })?;
        let passwords = crate::local_password::LocalPasswords::new(&self.context.data_dir, pgpass);
        let db = db.clone();
        // A file lock and file writes: the blocking pool's.
        tokio::task::spawn_blocking(move || passwords.for_db(&db, port, socket_dir.as_deref()))
            .await
            .map_err(|e| CoreError::LocalFile {
                action: "write",
                path: std::path::PathBuf::from(".pgpass"),
                source: std::io::Error::other(e.to_string()),
            })?
    }

    pub(crate) fn emit(&self, event: CoreEvent) {
        // No subscriber is fine: nobody is watching.
        let _ = self.events.send(event);
    }
}

impl Drop for Engine {
    /// Queued history rows are written before the process ends.
    fn drop(&mut self) {
        if let Some(Some(history)) = self.history.get() {
            history.flush(std::time::Duration::from_secs(2));
        }
    }
}
