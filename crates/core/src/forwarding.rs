//! Loopback forwarders for configured databases, wired to the engine: binding them, and
//! [`serve`], which runs a fixed set until shutdown (`tapgate connect`, `tapgate exec`).
//! The desktop app starts and stops them one at a time with [`crate::ForwarderSet`], which
//! [`serve`] is built on, so both behave the same.

use std::path::PathBuf;
use std::sync::Arc;

use tapgate_config::{DbAuth, DbConfig, SslMode, SslNegotiation};
use tapgate_forward::{AuthMethod, ClientInfo, Forwarder, ForwarderConfig};
use tapgate_idp::Prompt;
use tokio_util::sync::CancellationToken;

use crate::forwarder_set::ForwarderSet;
use crate::{CoreError, Engine};

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
    /// The database's local password when it was made just now (`local_password = true`), to
    /// be shown once, and the `.pgpass` it was written to (empty for a one-command forwarder,
    /// whose password is only ever handed to that command).
    pub new_local_password: Option<(secrecy::SecretString, PathBuf)>,
}

impl BoundForwarder {
    pub fn port(&self) -> u16 {
        self.forwarder.local_port()
    }

    /// The folder of its Unix-domain socket (`host=` for libpq), when it has one.
    pub fn socket_dir(&self) -> Option<&std::path::Path> {
        self.forwarder.socket_path().and_then(std::path::Path::parent)
    }
}

/// Binds one forwarder per database name (all or nothing).
pub async fn bind(
    engine: &Engine,
    names: &[String],
    ports: PortChoice,
) -> Result<Vec<BoundForwarder>, CoreError> {
    let mut bound = Vec::new();
    for name in names {
        bound.push(bind_one(engine, name, ports).await?);
    }
    Ok(bound)
}

pub(crate) async fn bind_one(
    engine: &Engine,
    name: &str,
    ports: PortChoice,
) -> Result<BoundForwarder, CoreError> {
    let db = engine.db(name)?.clone();
    let port = match ports {
        // Choosing a port may wait on the cross-process lock of ports.json: not on a runtime worker.
        PortChoice::Stable => {
            let (book, chosen_for) = (engine.ports.clone(), db.clone());
            tokio::task::spawn_blocking(move || book.port_for(&chosen_for)).await.map_err(|e| {
                CoreError::NoFreePort(std::io::Error::other(format!("the port choice stopped: {e}")))
            })??
        }
        PortChoice::Ephemeral => 0,
    };
    let mut config = forwarder_config(&db, port);
    config.clock = engine.clock().clone();
    config.socket_dir = engine.socket_dir(&db);
    let mut new_local_password = None;
    if db.local_password {
        match ports {
            PortChoice::Stable => {
                let local = engine.local_password(&db, port, config.socket_dir.clone()).await?;
                config.local_password = Some(local.verifier);
                new_local_password = local.new_password.map(|p| (p, local.pgpass));
            }
            // A forwarder for one command gets a password for that command alone, handed to
            // it as PGPASSWORD (`tapgate exec`): nothing is written.
            PortChoice::Ephemeral => {
                let (password, verifier) = crate::local_password::one_time_secret();
                config.local_password = tapgate_pgwire::ScramVerifier::parse(&verifier);
                new_local_password = Some((password, PathBuf::new()));
            }
        }
    }
    let forwarder = Forwarder::bind(config).await.map_err(|source| {
        let held_by = (port != 0).then(|| tapgate_forward::loopback_listener_uid(port)).flatten();
        match held_by {
            Some(uid) if uid != tapgate_forward::own_uid() => {
                CoreError::PortHeldByOtherUser { database: name.to_string(), port, uid }
            }
            _ => CoreError::Bind { database: name.to_string(), port, source },
        }
    })?;
    Ok(BoundForwarder { db, forwarder, new_local_password })
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
    let set = ForwarderSet::new(engine, Arc::new(move |_: &str, _: &ClientInfo| prompt.clone()), program);
    for bound in forwarders {
        set.run(bound);
    }
    tokio::select! {
        _ = shutdown.cancelled() => {}
        failed = set.first_failure() => {
            set.shutdown().await;
            return Err(failed);
        }
    }
    set.shutdown().await;
    Ok(())
}

/// A forwarder's settings from a `[db.NAME]` table.
pub fn forwarder_config(db: &DbConfig, port: u16) -> ForwarderConfig {
    let mut config = ForwarderConfig::new(&db.name, &db.host, db.port, &db.dbname, &db.role);
    config.local_port = port;
    // The same list `Engine::role_for` checks `tapgate dsn` and `tapgate exec` against.
    config.roles = db.allowed_roles();
    config.per_person_user = db.user_template.is_some();
    config.server_name = db.server_name.clone();
    config.ca_file = db.ca_file.clone();
    config.ca_file_add = db.ca_file_add;
    config.max_connections = db.max_connections;
    config.session_limit = match db.session_limit {
        tapgate_config::SessionLimit::Token { grace } => tapgate_forward::SessionLimit::Token { grace },
        tapgate_config::SessionLimit::None => tapgate_forward::SessionLimit::None,
    };
    config.local_access = match db.local_access {
        tapgate_config::LocalAccess::SameUser => tapgate_forward::LocalAccess::SameUser,
        tapgate_config::LocalAccess::Any => tapgate_forward::LocalAccess::Any,
    };
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
