//! [`ForwarderSet`]: the forwarders of one process, started and stopped one database at a time
//! (the desktop app's Connect/Disconnect) or all at once ([`crate::forwarding::serve`]).
//!
//! They share one token source backed by [`Engine::session`], one [`ConnectionObserver`] that
//! queues history rows, counts open connections, updates the status file and broadcasts
//! [`CoreEvent::ConnectionOpened`]/[`CoreEvent::ConnectionClosed`], and one status file, so
//! `tapgate status` sees every forwarder of the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tapgate_clock::unix_millis;
use tapgate_forward::{
    BoxFuture, ClientInfo, ConnectionEnd, ConnectionObserver, ConnectionStart, Outcome, Shutdown, TokenError,
    TokenSource, UpstreamToken,
};
use tapgate_idp::Prompt;
use tapgate_store::{ConnectionOutcome, ConnectionRecord, HistoryWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::forwarding::{BoundForwarder, PortChoice, bind_one};
use crate::status::{ForwarderStatus, StatusFile};
use crate::{CoreError, CoreEvent, Engine, SignInPolicy};

/// The prompt to use when a client's connection needs a sign-in, by database name and client:
/// the desktop app says which program asked for which database ("psql (pid 4242) connected to
/// prod while you were signed out"), so nobody taps for a program they did not start.
pub type PromptFor = Arc<dyn Fn(&str, &ClientInfo) -> Arc<dyn Prompt> + Send + Sync>;

/// The forwarders of this process.
pub struct ForwarderSet {
    engine: Arc<Engine>,
    tokens: Arc<EngineTokens>,
    recorder: Arc<Recorder>,
    running: Mutex<HashMap<String, Running>>,
    /// Local passwords made when their forwarder started, until the shell takes them to show.
    fresh_passwords: Mutex<HashMap<String, (secrecy::SecretString, std::path::PathBuf)>>,
    failures: mpsc::UnboundedSender<CoreError>,
    failed: tokio::sync::Mutex<mpsc::UnboundedReceiver<CoreError>>,
}

/// A serving forwarder.
struct Running {
    port: u16,
    idp: String,
    stop: Shutdown,
    task: JoinHandle<()>,
}

impl ForwarderSet {
    /// A set for every database in the engine's configuration; nothing listens yet.
    /// `program` names the process in its status file (`tapgate connect`, `tapgate-desktop`).
    pub fn new(engine: Arc<Engine>, prompt_for: PromptFor, program: &str) -> ForwarderSet {
        let status = Arc::new(StatusFile::create(
            &engine.context().runtime_dir,
            program,
            engine.clock().unix_seconds(),
        ));
        let dbs = &engine.config().dbs;
        let tokens = Arc::new(EngineTokens {
            engine: engine.clone(),
            prompt_for,
            idp_of: dbs.values().map(|db| (db.name.clone(), db.idp.clone())).collect(),
        });
        let recorder = Arc::new(Recorder {
            engine: engine.clone(),
            history: engine.history().cloned(),
            status,
            open: dbs.keys().map(|name| (name.clone(), AtomicUsize::new(0))).collect(),
            live: Mutex::default(),
            next_id: AtomicU64::new(1),
        });
        let (failures, failed) = mpsc::unbounded_channel();
        ForwarderSet {
            engine,
            tokens,
            recorder,
            running: Mutex::default(),
            fresh_passwords: Mutex::default(),
            failures,
            failed: tokio::sync::Mutex::new(failed),
        }
    }

    /// Starts the forwarder of `database` on its stable port and returns the port. Starting
    /// one that already serves returns its port.
    pub async fn start(&self, database: &str) -> Result<u16, CoreError> {
        if let Some(port) = self.port(database) {
            return Ok(port);
        }
        let bound = bind_one(&self.engine, database, PortChoice::Stable).await?;
        Ok(self.run(bound))
    }

    /// After [`CoreError::PortHeldByOtherUser`] on a remembered port: remembers a new port for
    /// `database` and starts it there. A `local_port` from the configuration is never changed
    /// (the person chose it); then the error stands.
    pub async fn start_on_new_port(&self, database: &str, held: u16) -> Result<u16, CoreError> {
        let db = self.engine.db(database)?.clone();
        if db.local_port.is_some() {
            return Err(CoreError::PortHeldByOtherUser {
                database: database.to_string(),
                port: held,
                uid: tapgate_forward::loopback_listener_uid(held).unwrap_or(u32::MAX),
            });
        }
        let book = self.engine.ports.clone();
        tokio::task::spawn_blocking(move || book.choose_again(&db, held)).await.map_err(|e| {
            CoreError::NoFreePort(std::io::Error::other(format!("the port choice stopped: {e}")))
        })??;
        self.start(database).await
    }

    /// Serves an already bound forwarder; returns its port.
    pub fn run(&self, bound: BoundForwarder) -> u16 {
        let BoundForwarder { db, forwarder, new_local_password } = bound;
        if let Some(fresh) = new_local_password {
            self.fresh_passwords.lock().unwrap_or_else(|p| p.into_inner()).insert(db.name.clone(), fresh);
        }
        let port = forwarder.local_port();
        self.recorder.status.add_forwarder(ForwarderStatus {
            database: db.name.clone(),
            idp: db.idp.clone(),
            local_port: port,
            open_connections: self.open_connections(&db.name),
        });
        let stop = Shutdown::new();
        let tokens: Arc<dyn TokenSource> = self.tokens.clone();
        let observer: Arc<dyn ConnectionObserver> = self.recorder.clone();
        let (failures, status, name) = (self.failures.clone(), self.recorder.status.clone(), db.name.clone());
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                if let Err(source) = forwarder.run(tokens, observer, stop).await {
                    status.remove_forwarder(&name);
                    let _ = failures.send(CoreError::ForwarderFailed { database: name, source });
                }
            }
        });
        let running = Running { port, idp: db.idp.clone(), stop, task };
        self.running.lock().unwrap_or_else(|p| p.into_inner()).insert(db.name, running);
        port
    }

    /// Stops the forwarder of `database`: no new connections; open ones get the forwarder's
    /// shutdown grace to finish. Returns once it is drained; `false` if it was not running.
    pub async fn stop(&self, database: &str) -> bool {
        let Some(running) = self.running.lock().unwrap_or_else(|p| p.into_inner()).remove(database) else {
            return false;
        };
        running.stop.drain();
        let _ = running.task.await;
        self.recorder.status.remove_forwarder(database);
        true
    }

    /// Stops the forwarders of `idp`'s databases and closes their open sessions at once, each
    /// client told `reason` (a sign-out: the person's access has ended). Returns the databases
    /// that were serving.
    pub async fn close_idp(&self, idp: &str, reason: &str) -> Vec<String> {
        let closing: Vec<(String, Running)> = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            let names: Vec<String> =
                running.iter().filter(|(_, r)| r.idp == idp).map(|(n, _)| n.clone()).collect();
            names.into_iter().filter_map(|name| running.remove(&name).map(|r| (name, r))).collect()
        };
        for (_, running) in &closing {
            running.stop.close_now(reason);
        }
        let mut closed = Vec::new();
        for (name, running) in closing {
            let _ = running.task.await;
            self.recorder.status.remove_forwarder(&name);
            closed.push(name);
        }
        closed.sort();
        closed
    }

    /// Stops every forwarder (draining them concurrently) and flushes the history.
    pub async fn shutdown(&self) {
        let all: Vec<(String, Running)> =
            self.running.lock().unwrap_or_else(|p| p.into_inner()).drain().collect();
        for (_, running) in &all {
            running.stop.drain();
        }
        for (name, running) in all {
            let _ = running.task.await;
            self.recorder.status.remove_forwarder(&name);
        }
        if let Some(history) = &self.recorder.history {
            history.flush(Duration::from_secs(2));
        }
    }

    /// The local password made when `database`'s forwarder started (`local_password = true`,
    /// first start), and the `.pgpass` it went to: handed out once, to be shown once.
    pub fn take_new_local_password(
        &self,
        database: &str,
    ) -> Option<(secrecy::SecretString, std::path::PathBuf)> {
        self.fresh_passwords.lock().unwrap_or_else(|p| p.into_inner()).remove(database)
    }

    /// The port `database` listens on, while it serves.
    pub fn port(&self, database: &str) -> Option<u16> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(database).filter(|r| !r.task.is_finished()).map(|r| r.port)
    }

    /// The port `database` gets when started: its `local_port`, or the one remembered for it.
    pub fn stable_port(&self, database: &str) -> Result<u16, CoreError> {
        self.engine.stable_port(database)
    }

    /// Client connections open through `database`'s forwarder now.
    pub fn open_connections(&self, database: &str) -> usize {
        self.recorder.open.get(database).map_or(0, |n| n.load(Ordering::SeqCst))
    }

    /// Resolves with the first forwarder that stops by itself with an error.
    pub async fn first_failure(&self) -> CoreError {
        let mut failed = self.failed.lock().await;
        match failed.recv().await {
            Some(e) => e,
            // Unreachable while `self` holds a sender; wait forever rather than report nothing.
            None => std::future::pending().await,
        }
    }
}

/// Tokens for forwarders: the engine's session for the database's IdP.
struct EngineTokens {
    engine: Arc<Engine>,
    prompt_for: PromptFor,
    idp_of: HashMap<String, String>,
}

impl TokenSource for EngineTokens {
    fn token(
        &self,
        database: &str,
        client: &ClientInfo,
    ) -> BoxFuture<'static, Result<UpstreamToken, TokenError>> {
        let engine = self.engine.clone();
        let prompt = (self.prompt_for)(database, client);
        let idp = self.idp_of.get(database).cloned();
        let database = database.to_string();
        let client = client.clone();
        Box::pin(async move {
            let idp = idp.ok_or_else(|| TokenError::new(format!("Tapgate: no database {database} here")))?;
            let requested_user = client.user.clone().unwrap_or_default();
            match engine.db_login(&database, &requested_user, prompt, SignInPolicy::Reuse).await {
                Ok(login) => Ok(UpstreamToken {
                    access_token: login.password,
                    identity: login.session.identity().to_string(),
                    expires_at: Some(local_expiry(&login.session)),
                    login_user: Some(login.user),
                }),
                // What to fix is on the cloud's side or in the file: a tap would not help.
                Err(e @ (CoreError::Cloud { .. } | CoreError::UserClaimMissing { .. })) => {
                    Err(TokenError::new(format!("Tapgate: {e}")))
                }
                Err(CoreError::Idp(e)) if e.is_unreachable() => {
                    Err(TokenError::new(format!("Tapgate: IdP unreachable: {e}")))
                }
                // A tap would not change the IdP's mind about this database's audience.
                Err(CoreError::Idp(e @ tapgate_idp::IdpError::TargetRefused { .. })) => {
                    Err(TokenError::new(format!("Tapgate: {e}")))
                }
                Err(e) => Err(TokenError::new(format!(
                    "Tapgate: sign-in needed for {idp}: {e}. Touch your security key when Tapgate asks, \
                     or run `tapgate login {idp}`"
                ))),
            }
        })
    }

    fn expiry_without_tap(&self, database: &str) -> BoxFuture<'static, Option<SystemTime>> {
        let engine = self.engine.clone();
        // Never shown: a NoTap sign-in does not prompt.
        let prompt = (self.prompt_for)(database, &ClientInfo::default());
        let idp = self.idp_of.get(database).cloned();
        let database = database.to_string();
        Box::pin(async move {
            idp?;
            let session = engine.db_session(&database, prompt, SignInPolicy::NoTap).await.ok()?;
            Some(local_expiry(&session))
        })
    }
}

/// When a session's token expires on this machine's clock.
fn local_expiry(session: &crate::Session) -> SystemTime {
    tapgate_clock::from_unix_seconds(session.local_expiry_ms().div_euclid(1000))
}

/// History rows, status counts and events for each connection.
struct Recorder {
    engine: Arc<Engine>,
    history: Option<HistoryWriter>,
    status: Arc<StatusFile>,
    open: HashMap<String, AtomicUsize>,
    /// What `closed` needs from `opened`, by the id handed to the forwarder.
    live: Mutex<HashMap<u64, LiveConnection>>,
    next_id: AtomicU64,
}

/// A connection between `opened` and `closed`.
struct LiveConnection {
    history_id: Option<u64>,
    database: String,
    started_at: SystemTime,
    application: Option<String>,
}

impl ConnectionObserver for Recorder {
    fn opened(&self, c: &ConnectionStart) -> u64 {
        let history_id = self.history.as_ref().map(|h| {
            h.opened(ConnectionRecord {
                database: c.database.clone(),
                role: c.role.clone().unwrap_or_default(),
                identity: c.identity.clone(),
                application: c.application_name.clone(),
                local_port: c.local_port,
                started_at: unix_millis(c.started_at),
                ended_at: None,
                bytes_up: 0,
                bytes_down: 0,
                outcome: ConnectionOutcome::Open,
                error: None,
            })
        });
        if let Some(count) = self.open.get(&c.database) {
            let now = count.fetch_add(1, Ordering::SeqCst) + 1;
            self.status.set_open(&c.database, now);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let live = LiveConnection {
            history_id,
            database: c.database.clone(),
            started_at: c.started_at,
            application: c.application_name.clone(),
        };
        self.live.lock().unwrap_or_else(|p| p.into_inner()).insert(id, live);
        self.engine.emit(CoreEvent::ConnectionOpened {
            database: c.database.clone(),
            application: c.application_name.clone(),
        });
        id
    }

    fn closed(&self, id: u64, end: &ConnectionEnd) {
        let Some(LiveConnection { history_id, database, started_at: started, application }) =
            self.live.lock().unwrap_or_else(|p| p.into_inner()).remove(&id)
        else {
            return;
        };
        if let (Some(history), Some(history_id)) = (&self.history, history_id) {
            history.closed(
                history_id,
                tapgate_store::ConnectionEnd {
                    ended_at: unix_millis(end.ended_at),
                    bytes_up: end.bytes_from_client,
                    bytes_down: end.bytes_to_client,
                    outcome: outcome_of(end.outcome),
                    error: end.error.clone(),
                    role: end.role.clone(),
                    identity: end.identity.clone(),
                },
            );
        }
        if let Some(count) = self.open.get(&database) {
            let now = count.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
            self.status.set_open(&database, now);
        }
        self.engine.emit(CoreEvent::ConnectionClosed {
            database,
            role: end.role.clone(),
            identity: end.identity.clone(),
            application,
            outcome: outcome_of(end.outcome),
            error: end.error.clone(),
            duration_ms: end.ended_at.duration_since(started).map(|d| d.as_millis() as u64).unwrap_or(0),
            bytes_up: end.bytes_from_client,
            bytes_down: end.bytes_to_client,
        });
    }
}

/// The history's name for how a forwarder's connection ended.
fn outcome_of(outcome: Outcome) -> ConnectionOutcome {
    match outcome {
        Outcome::Ok => ConnectionOutcome::Ok,
        Outcome::ServerLost => ConnectionOutcome::ServerLost,
        Outcome::Refused => ConnectionOutcome::Refused,
        Outcome::RefusedOtherUser => ConnectionOutcome::RefusedOtherUser,
        Outcome::UpstreamUnreachable => ConnectionOutcome::UpstreamUnreachable,
        Outcome::TlsError => ConnectionOutcome::TlsError,
        Outcome::OverLimit => ConnectionOutcome::OverLimit,
        Outcome::SignInFailed => ConnectionOutcome::SignInFailed,
        Outcome::ProtocolError => ConnectionOutcome::ProtocolError,
        Outcome::Cancelled => ConnectionOutcome::Cancelled,
        Outcome::Aborted => ConnectionOutcome::Aborted,
    }
}
