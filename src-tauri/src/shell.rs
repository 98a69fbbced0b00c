//! [`Shell`]: the app's state between the UI, the tray and the engine.
//!
//! It knows which configuration is active (the user's file, the built-in demo, or none), holds
//! the [`Active`] engine and forwarders, remembers the last error per database and IdP in words a
//! person can act on; [`crate::overview`] turns all of that into the [`Overview`] the window and
//! the tray show.
//! Every change ends in [`Shell::publish`], which pushes the overview to the window and redraws
//! the tray: the UI never polls.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tapgate_config::{Config, ConfigError};
use tapgate_core::dsn::{Endpoint, connection_string};
use tapgate_core::{Context, CoreError, SignInPolicy};
use tapgate_desktop_model::overview::SessionFacts;
use tapgate_desktop_model::{
    AppMode, CommandError, DatabaseView, DsnFormatView, Notice, NoticeLevel, Overview, UI_EVENT, UiEvent,
};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tokio::sync::{Notify, RwLock};

use crate::active::Active;
use crate::notifications::Notifier;
pub use crate::overview::{dsn_format, now_ms};
use crate::prompt::PromptBroker;

/// The app's state; one per process, shared by commands, the tray and the event pump.
pub struct Shell {
    pub app: AppHandle,
    /// The user's config file (`TAPGATE_CONFIG` or the XDG location): what Settings edits.
    pub config_path: PathBuf,
    /// The person's own folders and keyring, for their configuration (the demo has its own).
    pub person: Context,
    pub prompts: Arc<PromptBroker>,
    pub notifier: Arc<Notifier>,
    pub(crate) active: RwLock<Option<Arc<Active>>>,
    status: Mutex<Status>,
    /// The built-in demo's servers, while it runs.
    pub demo: tokio::sync::Mutex<Option<tapgate_demo::DemoEnvironment>>,
    /// Wakes the tray's redraw loop when the overview changed.
    pub changed: Notify,
    /// The overview last published, for the tray loop.
    published: Mutex<Option<Overview>>,
    /// A terminal emulator exists for "Open psql" (looked up once at start).
    pub terminal_available: bool,
}

/// What is not part of the engine: mode, errors, sign-ins under way.
#[derive(Default)]
pub(crate) struct Status {
    pub(crate) mode: Option<AppMode>,
    pub(crate) config_error: Option<String>,
    pub(crate) db_errors: HashMap<String, String>,
    pub(crate) idp_errors: HashMap<String, String>,
    pub(crate) signing_in: HashSet<String>,
    /// Signed-in state per IdP as last read from the token cache (read on sign-in events only,
    /// not on every connection).
    pub(crate) sessions: HashMap<String, SessionFacts>,
}

impl Shell {
    pub fn new(
        app: AppHandle,
        config_path: PathBuf,
        person: Context,
        prompts: Arc<PromptBroker>,
        notifier: Arc<Notifier>,
    ) -> Shell {
        Shell {
            app,
            config_path,
            person,
            prompts,
            notifier,
            active: RwLock::default(),
            status: Mutex::default(),
            demo: tokio::sync::Mutex::default(),
            changed: Notify::new(),
            published: Mutex::default(),
            terminal_available: crate::terminal::Terminal::find().is_some(),
        }
    }

    pub(crate) fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine and forwarders in use; an error a person understands when there are none.
    pub async fn active(&self) -> Result<Arc<Active>, CommandError> {
        self.active.read().await.clone().ok_or_else(|| match self.mode() {
            AppMode::StartingDemo => CommandError::new("The demo is still starting."),
            AppMode::ConfigError => CommandError::new(format!(
                "Your config file does not load: {}",
                self.status().config_error.clone().unwrap_or_default()
            )),
            _ => {
                CommandError::new("Nothing is configured yet: start the demo or add a database in Settings.")
            }
        })
    }

    pub fn mode(&self) -> AppMode {
        self.status().mode.unwrap_or(AppMode::Unconfigured)
    }

    pub fn set_mode(&self, mode: AppMode) {
        self.status().mode = Some(mode);
    }

    /// Loads the user's config file: configured, unconfigured (no file) or config error.
    pub async fn load_user_config(self: &Arc<Self>) {
        match load_config(self.config_path.clone()).await {
            Ok(config) => {
                if let Err(e) = self.activate(config, self.person.clone(), AppMode::Configured).await {
                    self.config_failed(e.message);
                }
            }
            Err(ConfigError::NotFound { .. }) => {
                self.deactivate().await;
                self.set_mode(AppMode::Unconfigured);
            }
            Err(e) => {
                self.deactivate().await;
                self.config_failed(e.to_string());
            }
        }
        self.publish_full().await;
    }

    /// The config file changed on disk. A new valid configuration replaces the active one
    /// (forwarders drain first); an unchanged one (comments, a save from Settings) changes
    /// nothing; a broken one leaves the running configuration in place and says why. The demo
    /// is not interrupted by edits of the user's file.
    pub async fn reload_after_edit(self: &Arc<Self>) {
        if matches!(self.mode(), AppMode::Demo | AppMode::StartingDemo) {
            return;
        }
        let path = self.config_path.display().to_string();
        let running = self.active.read().await.clone();
        match load_config(self.config_path.clone()).await {
            Ok(config) => {
                let unchanged = running.as_ref().is_some_and(|active| {
                    let current = active.engine.config();
                    current.idps == config.idps && current.dbs == config.dbs
                });
                if unchanged {
                    return;
                }
                match self.activate(config, self.person.clone(), AppMode::Configured).await {
                    Ok(()) => self.notice(NoticeLevel::Info, format!("Reloaded {path}.")),
                    Err(e) => self.config_failed(e.message),
                }
            }
            Err(ConfigError::NotFound { .. }) => {
                self.deactivate().await;
                self.set_mode(AppMode::Unconfigured);
            }
            Err(e) if running.is_some() => {
                self.notice(
                    NoticeLevel::Error,
                    format!("{e}\nTapgate keeps using the last version of {path} that loaded."),
                );
                return;
            }
            Err(e) => self.config_failed(e.to_string()),
        }
        self.publish_full().await;
    }

    fn config_failed(&self, error: String) {
        let mut status = self.status();
        status.mode = Some(AppMode::ConfigError);
        status.config_error = Some(error);
    }

    /// Makes `config` the active one: the old forwarders drain, new ones are ready to start.
    pub async fn activate(
        self: &Arc<Self>,
        config: Config,
        context: Context,
        mode: AppMode,
    ) -> Result<(), CommandError> {
        let prompts = self.prompts.clone();
        let prompt_for: tapgate_core::PromptFor = Arc::new(move |database: &str, client| {
            // The program is looked up only if the prompt is shown (it walks every process's
            // open files), not for each connection.
            let (database, client) = (database.to_string(), client.clone());
            prompts.prompt_lazy(move || Some(client_reason(&database, &client)))
        });
        let active = Arc::new(Active::open(config, context, prompt_for).await);
        let previous = self.active.write().await.replace(active.clone());
        if let Some(previous) = previous {
            previous.shut_down().await;
        }
        {
            let mut status = self.status();
            status.mode = Some(mode);
            status.config_error = None;
            status.db_errors.clear();
            status.idp_errors.clear();
            status.sessions.clear();
        }
        if let Some(warning) = &active.keyring_warning {
            self.notice(NoticeLevel::Error, warning.clone());
        }
        crate::pump::follow_engine(self.clone(), active.engine.clone());
        Ok(())
    }

    /// Stops the active forwarders (draining them) and forgets the engine.
    pub async fn deactivate(&self) {
        let previous = self.active.write().await.take();
        if let Some(previous) = previous {
            previous.shut_down().await;
        }
    }

    // --- Actions (commands and tray items call these) -----------------------------------

    /// Signs in if needed, then starts the database's forwarder.
    pub async fn connect(self: &Arc<Self>, database: &str) -> Result<DatabaseView, CommandError> {
        let active = self.active().await?;
        let idp =
            active.engine.config().db(database).map_err(|e| CommandError::new(e.to_string()))?.idp.clone();
        if let Err(e) =
            self.sign_in_with(&active, &idp, SignInPolicy::Reuse, format!("Connect {database}")).await
        {
            // The card says why too, not only the IdP row.
            self.status().db_errors.insert(database.to_string(), e.message.clone());
            self.publish().await;
            return Err(e);
        }
        let started = match active.forwarders.start(database).await {
            // A remembered port taken by another user's program: a saved client would talk to
            // them. Move to a new port and say so, rather than refuse to connect.
            Err(CoreError::PortHeldByOtherUser { port: held, uid, .. }) => {
                let moved = active.forwarders.start_on_new_port(database, held).await;
                if let Ok(port) = &moved {
                    self.notice(
                        NoticeLevel::Error,
                        format!(
                            "127.0.0.1:{held} is held by another user (uid {uid}), so {database} now listens on \
                             127.0.0.1:{port}. Update the port in clients saved with {held}: the other user's \
                             program would get their connections."
                        ),
                    );
                }
                moved
            }
            other => other,
        };
        if let Some((password, pgpass)) = active.forwarders.take_new_local_password(database) {
            self.notice(
                NoticeLevel::Info,
                format!(
                    "The local password for {database} is {} (shown this once; it is saved in {} for your clients).",
                    secrecy::ExposeSecret::expose_secret(&password),
                    pgpass.display()
                ),
            );
        }
        match started {
            Ok(port) => {
                self.status().db_errors.remove(database);
                self.notifier.send(format!("{database} ready on 127.0.0.1:{port}"), None);
                let open_to_all = active
                    .engine
                    .config()
                    .db(database)
                    .is_ok_and(|db| db.local_access == tapgate_config::LocalAccess::Any);
                if open_to_all {
                    self.notice(
                        NoticeLevel::Error,
                        format!("{database} lets every user and program on this machine in as you (local_access = \"any\")."),
                    );
                }
            }
            Err(e) => {
                let message = e.to_string();
                self.status().db_errors.insert(database.to_string(), message.clone());
                self.publish().await;
                return Err(CommandError::new(message));
            }
        }
        let overview = self.publish().await;
        overview
            .database(database)
            .cloned()
            .ok_or_else(|| CommandError::new(format!("{database} is no longer configured")))
    }

    /// Stops the database's forwarder; open connections get the shutdown grace to finish.
    pub async fn disconnect(&self, database: &str) -> Result<(), CommandError> {
        let active = self.active().await?;
        active.forwarders.stop(database).await;
        self.status().db_errors.remove(database);
        self.publish().await;
        Ok(())
    }

    /// Signs in to `idp` (a tap unless a valid or refreshable token is held).
    pub async fn sign_in(self: &Arc<Self>, idp: &str, policy: SignInPolicy) -> Result<(), CommandError> {
        let active = self.active().await?;
        self.sign_in_with(&active, idp, policy, format!("Sign in to {idp}")).await
    }

    async fn sign_in_with(
        self: &Arc<Self>,
        active: &Active,
        idp: &str,
        policy: SignInPolicy,
        reason: String,
    ) -> Result<(), CommandError> {
        self.status().signing_in.insert(idp.to_string());
        self.publish().await;
        let result = active.engine.session(Some(idp), self.prompts.prompt(Some(reason)), policy).await;
        {
            let mut status = self.status();
            status.signing_in.remove(idp);
            match &result {
                Ok(_) => {
                    status.idp_errors.remove(idp);
                }
                Err(e) => {
                    status.idp_errors.insert(idp.to_string(), e.to_string());
                }
            }
        }
        self.publish_full().await;
        result.map(|_| ()).map_err(core_error)
    }

    /// Forgets the IdP's tokens, stops the forwarders of its databases and closes their open
    /// sessions: access ends with the sign-in.
    pub async fn sign_out(&self, idp: &str) -> Result<(), CommandError> {
        let active = self.active().await?;
        let reason = format!("closed this session: you signed out of {idp}");
        let stopped = active.forwarders.close_idp(idp, &reason).await;
        active.engine.sign_out(Some(idp)).await.map_err(core_error)?;
        self.status().idp_errors.remove(idp);
        if !stopped.is_empty() {
            let plural = if stopped.len() == 1 { "" } else { "s" };
            self.notice(
                NoticeLevel::Info,
                format!(
                    "Signed out of {idp}: stopped the forwarder{plural} of {} and closed their connections.",
                    stopped.join(", ")
                ),
            );
        }
        self.publish_full().await;
        Ok(())
    }

    /// The connection string of `database` in `format`.
    pub async fn connection_string(
        &self,
        database: &str,
        format: DsnFormatView,
    ) -> Result<String, CommandError> {
        let active = self.active().await?;
        let db = active.engine.config().db(database).map_err(|e| CommandError::new(e.to_string()))?;
        let port = match active.forwarders.port(database) {
            Some(port) => port,
            None => active.forwarders.stable_port(database).map_err(core_error)?,
        };
        let socket_dir = match format {
            DsnFormatView::Tcp => None,
            _ => active.engine.socket_dir(db),
        };
        let at = Endpoint { port, socket_dir: socket_dir.as_deref() };
        Ok(connection_string(dsn_format(format), at, &db.dbname, &db.role))
    }

    /// Puts the connection string of `database` in `format` on the clipboard and returns it.
    pub async fn copy_connection_string(
        &self,
        database: &str,
        format: DsnFormatView,
    ) -> Result<String, CommandError> {
        let text = self.connection_string(database, format).await?;
        self.app
            .clipboard()
            .write_text(text.clone())
            .map_err(|e| CommandError::new(format!("cannot use the clipboard: {e}")))?;
        Ok(text)
    }

    /// Starts psql for `database` in a terminal emulator.
    pub async fn open_psql(&self, database: &str) -> Result<(), CommandError> {
        let conninfo = self.connection_string(database, DsnFormatView::Keyword).await?;
        let terminal = crate::terminal::Terminal::find()
            .ok_or_else(|| CommandError::new("No terminal emulator found; copy the psql command instead."))?;
        terminal.open_psql(&conninfo).map_err(|e| CommandError::new(format!("cannot open a terminal: {e}")))
    }

    /// Records a failed connection's reason for its card (from the event pump).
    pub fn connection_failed(&self, database: &str, error: String) {
        self.status().db_errors.insert(database.to_string(), error);
    }

    /// Records a sign-in failure reported by the engine (from the event pump).
    pub fn sign_in_failed(&self, idp: &str, error: String) {
        self.status().idp_errors.insert(idp.to_string(), error);
    }

    /// Tells the window something.
    pub fn notice(&self, level: NoticeLevel, text: String) {
        self.emit(UiEvent::Notice { notice: Notice { level, text } });
    }

    pub fn emit(&self, event: UiEvent) {
        if let Err(e) = self.app.emit(UI_EVENT, &event) {
            tracing::debug!("cannot reach the window: {e}");
        }
    }

    // --- The overview -------------------------------------------------------------------

    /// Re-reads the signed-in state of every IdP from the token cache, then publishes.
    pub async fn publish_full(&self) -> Overview {
        if let Some(active) = self.active.read().await.clone() {
            let mut sessions = HashMap::new();
            // Expiries go to the window in wall-clock time, since the UI counts down against
            // `Date.now()`; the engine's clock differs from it only in test builds.
            let wall_minus_engine_ms = now_ms() - active.engine.clock().unix_millis();
            for name in active.engine.config().idps.keys() {
                if let Ok(Some(session)) = active.engine.cached_session(Some(name)).await {
                    sessions.insert(
                        name.clone(),
                        SessionFacts {
                            identity: session.identity().to_string(),
                            groups: session.claims.groups.clone(),
                            user_claims: tapgate_config::UserClaim::ALL
                                .iter()
                                .filter_map(|name| {
                                    let claim = tapgate_config::UserClaim::parse(name)?;
                                    let value = session.claims.user_claim(claim)?;
                                    Some((name.to_string(), value.to_string()))
                                })
                                .collect(),
                            expires_at_ms: session.local_expiry_ms() + wall_minus_engine_ms,
                            can_refresh: session.can_refresh,
                        },
                    );
                }
            }
            self.status().sessions = sessions;
        }
        self.publish().await
    }

    /// Builds the overview from what is known, sends it to the window and wakes the tray.
    pub async fn publish(&self) -> Overview {
        let overview = self.overview().await;
        self.emit(UiEvent::Overview { overview: overview.clone() });
        *self.published.lock().unwrap_or_else(|p| p.into_inner()) = Some(overview.clone());
        self.changed.notify_one();
        overview
    }

    /// The overview last published.
    pub fn last_overview(&self) -> Option<Overview> {
        self.published.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Drains every forwarder and stops the demo's servers: Quit.
    pub async fn shut_down(&self) {
        self.deactivate().await;
        if let Some(demo) = self.demo.lock().await.take() {
            demo.stop(&tapgate_demo::progress::Silent).await;
        }
    }
}

/// Loads and validates a config file on a blocking thread (file reads stay off the runtime).
pub async fn load_config(path: PathBuf) -> Result<Config, ConfigError> {
    let shown = path.clone();
    tauri::async_runtime::spawn_blocking(move || Config::load(&path)).await.unwrap_or_else(|e| {
        Err(ConfigError::Read { path: shown, source: std::io::Error::other(e.to_string()) })
    })
}

/// Why a client's connection asks for a sign-in, naming the program that opened it when it can
/// be found: "psql (pid 4242) connected to prod while you were signed out".
fn client_reason(database: &str, client: &tapgate_core::ClientInfo) -> String {
    match client.program() {
        Some(program) => {
            format!(
                "{} (pid {}) connected to {database} while you were signed out",
                program.name, program.pid
            )
        }
        None => format!("A client connected to {database} while you were signed out"),
    }
}

/// An engine error as the one sentence a person sees.
pub fn core_error(e: CoreError) -> CommandError {
    CommandError::new(e.to_string())
}

/// The shell from an app handle (it is managed from setup on).
pub fn shell_of(app: &AppHandle) -> Arc<Shell> {
    app.state::<Arc<Shell>>().inner().clone()
}
