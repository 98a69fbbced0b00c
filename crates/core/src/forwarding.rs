//! Running forwarders for configured databases: tokens from the engine, history and status from
//! the connections, one shutdown for all of them.
//!
//! The forwarder crate knows nothing of IdPs or files; this module gives it a [`TokenSource`]
//! backed by [`Engine::session`] and a [`ConnectionObserver`] that queues history rows, updates
//! the status file and broadcasts [`CoreEvent::ConnectionClosed`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tapgate_config::{DbAuth, DbConfig, SslMode, SslNegotiation};
use tapgate_forward::{
    AuthMethod, BoxFuture, ConnectionEnd, ConnectionObserver, ConnectionStart, Forwarder, ForwarderConfig,
    TokenError, TokenSource, UpstreamToken,
};
use tapgate_idp::Prompt;
use tapgate_store::{ConnectionRecord, HistoryWriter};
use tokio_util::sync::CancellationToken;

use crate::ports::PortBook;
use crate::status::{ForwarderStatus, StatusFile};
use crate::{CoreError, CoreEvent, Engine, SignInPolicy};

/// Which loopback port a forwarder gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortChoice {
    /// The database's `local_port`, or the one remembered for it (chosen once).
    Stable,
    /// Any free port, for a forwarder that lives as long as one command (`tapgate exec`).
    Ephemeral,
}

/// A forwarder bound to its port, not yet serving.
pub struct BoundForwarder {
    pub db: DbConfig,
    pub forwarder: Forwarder,
}

impl BoundForwarder {
    pub fn port(&self) -> u16 {
        self.forwarder.local_port()
    }
}

/// Binds one forwarder per database name (all or nothing).
pub async fn bind(
    engine: &Engine,
    names: &[String],
    ports: PortChoice,
) -> Result<Vec<BoundForwarder>, CoreError> {
    let book = PortBook::new(&tapgate_config::data_dir()?);
    let mut bound = Vec::new();
    for name in names {
        let db = engine.config().db(name)?.clone();
        let port = match ports {
            PortChoice::Stable => book.port_for(&db)?,
            PortChoice::Ephemeral => 0,
        };
        let forwarder = Forwarder::bind(forwarder_config(&db, port)).await.map_err(|e| {
            CoreError::Local(format!("cannot start the forwarder for {name} on 127.0.0.1:{port}: {e}"))
        })?;
        bound.push(BoundForwarder { db, forwarder });
    }
    Ok(bound)
}

/// Serves `forwarders` until `shutdown` fires, then drains them. Tokens come from `engine`
/// (sign-ins prompt through `prompt`); connections go to the history and the status file.
pub async fn serve(
    engine: Arc<Engine>,
    forwarders: Vec<BoundForwarder>,
    prompt: Arc<dyn Prompt>,
    program: &str,
    shutdown: CancellationToken,
) -> Result<(), CoreError> {
    let history = engine.history().cloned();
    let status = Arc::new(StatusFile::create(&tapgate_config::runtime_dir()?, program));
    for bound in &forwarders {
        status.add_forwarder(ForwarderStatus {
            database: bound.db.name.clone(),
            idp: bound.db.idp.clone(),
            local_port: bound.port(),
            open_connections: 0,
        });
    }

    let tokens: Arc<dyn TokenSource> = Arc::new(EngineTokens {
        engine: engine.clone(),
        prompt,
        idp_of: forwarders.iter().map(|b| (b.db.name.clone(), b.db.idp.clone())).collect(),
    });
    let observer = Arc::new(Recorder {
        engine: engine.clone(),
        history: history.clone(),
        status: status.clone(),
        open: forwarders.iter().map(|b| (b.db.name.clone(), AtomicUsize::new(0))).collect(),
        live: Mutex::default(),
        next_id: AtomicU64::new(1),
    });

    let mut tasks = Vec::new();
    for bound in forwarders {
        let (tokens, observer, shutdown) = (tokens.clone(), observer.clone(), shutdown.clone());
        let name = bound.db.name.clone();
        tasks.push(tokio::spawn(async move {
            let observer: Arc<dyn ConnectionObserver> = observer;
            (name, bound.forwarder.run(tokens, observer, shutdown).await)
        }));
    }
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok((_, Ok(()))) => {}
            Ok((name, Err(e))) => {
                first_error.get_or_insert(CoreError::Local(format!("the forwarder for {name} failed: {e}")));
            }
            Err(e) => {
                first_error.get_or_insert(CoreError::Local(format!("a forwarder task failed: {e}")));
            }
        }
    }
    if let Some(writer) = &history {
        writer.flush(Duration::from_secs(2));
    }
    first_error.map_or(Ok(()), Err)
}

/// A forwarder's settings from a `[db.NAME]` table.
pub fn forwarder_config(db: &DbConfig, port: u16) -> ForwarderConfig {
    let mut config = ForwarderConfig::new(&db.name, &db.host, db.port, &db.dbname, &db.role);
    config.local_port = port;
    config.roles = db.roles.clone();
    config.ca_file = db.ca_file.clone();
    config.max_connections = db.max_connections;
    config.sslmode = match db.sslmode {
        SslMode::VerifyFull => tapgate_forward::SslMode::VerifyFull,
        SslMode::VerifyCa => tapgate_forward::SslMode::VerifyCa,
        SslMode::Require => tapgate_forward::SslMode::Require,
    };
    config.ssl_negotiation = match db.sslnegotiation {
        SslNegotiation::Postgres => tapgate_forward::SslNegotiation::Postgres,
        SslNegotiation::Direct => tapgate_forward::SslNegotiation::Direct,
    };
    config.auth = match db.auth {
        DbAuth::Password => AuthMethod::Password,
        DbAuth::OAuthBearer => AuthMethod::OAuthBearer,
    };
    config
}

/// Tokens for forwarders: the engine's session for the database's IdP.
struct EngineTokens {
    engine: Arc<Engine>,
    prompt: Arc<dyn Prompt>,
    idp_of: HashMap<String, String>,
}

impl TokenSource for EngineTokens {
    fn token(&self, database: &str) -> BoxFuture<'static, Result<UpstreamToken, TokenError>> {
        let engine = self.engine.clone();
        let prompt = self.prompt.clone();
        let idp = self.idp_of.get(database).cloned();
        let database = database.to_string();
        Box::pin(async move {
            let idp = idp.ok_or_else(|| TokenError::new(format!("Tapgate: no database {database} here")))?;
            match engine.session(Some(&idp), prompt, SignInPolicy::Reuse).await {
                Ok(session) => Ok(UpstreamToken {
                    access_token: session.access_token.clone(),
                    identity: session.identity().to_string(),
                }),
                Err(CoreError::Idp(e)) if e.is_unreachable() => {
                    Err(TokenError::new(format!("Tapgate: IdP unreachable: {e}")))
                }
                Err(e) => Err(TokenError::new(format!(
                    "Tapgate: sign-in needed for {idp}: {e}. Touch your security key when Tapgate asks, \
                     or run `tapgate login {idp}`"
                ))),
            }
        })
    }
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
                started_at: millis(c.started_at),
                ended_at: None,
                bytes_up: 0,
                bytes_down: 0,
                outcome: "open".into(),
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
                    ended_at: millis(end.ended_at),
                    bytes_up: end.bytes_from_client,
                    bytes_down: end.bytes_to_client,
                    outcome: end.outcome.as_str().to_string(),
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
            outcome: end.outcome.as_str().to_string(),
            error: end.error.clone(),
            duration_ms: end.ended_at.duration_since(started).map(|d| d.as_millis() as u64).unwrap_or(0),
            bytes_up: end.bytes_from_client,
            bytes_down: end.bytes_to_client,
        });
    }
}

fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
