//! [`Forwarder`]: bind the loopback listener, accept clients, cap connections, and shut down
//! gracefully (stop accepting, let sessions finish for the grace period, then close them).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cancel::CancelRegistry;
use crate::client_stream::{ClientAddr, ClientStream};
use crate::listener::LoopbackListener;
use crate::session::{Shared, serve};
use crate::socket_listener::SocketListener;
use crate::upstream_tls::UpstreamTls;
use crate::{ConnectionObserver, ForwardError, ForwarderConfig, TokenSource};

/// Connections that may be in their startup phase at once beyond `max_connections` (over-limit
/// clients are still read so they get a proper error; this bounds how many).
const EXTRA_PENDING: usize = 32;

/// First and longest pause after a failed accept (e.g. out of file descriptors).
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(1));

/// Tells a running forwarder to stop: [`Shutdown::drain`] lets open sessions finish within the
/// shutdown grace; [`Shutdown::close_now`] closes them at once and tells their clients why (a
/// sign-out: access has ended).
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    requested: CancellationToken,
    now: CancellationToken,
    reason: Arc<std::sync::Mutex<Option<String>>>,
}

impl Shutdown {
    /// A signal not yet given.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Stop accepting; open sessions get the shutdown grace to finish.
    pub fn drain(&self) {
        self.requested.cancel();
    }

    /// Stop accepting and close open sessions now; their clients and history are told `reason`.
    pub fn close_now(&self, reason: impl Into<String>) {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.into());
        self.now.cancel();
        self.requested.cancel();
    }

    /// Why sessions were closed, when [`Shutdown::close_now`] said.
    pub(crate) fn reason(&self) -> Option<String> {
        self.reason.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl From<CancellationToken> for Shutdown {
    /// Cancelling `token` drains the forwarder.
    fn from(token: CancellationToken) -> Shutdown {
        Shutdown { requested: token, ..Shutdown::default() }
    }
}

/// A bound, not yet running, forwarder for one database.
#[derive(Debug)]
pub struct Forwarder {
    config: ForwarderConfig,
    tls: UpstreamTls,
    listener: LoopbackListener,
    /// The Unix-domain socket, when `socket_dir` is set.
    socket: Option<SocketListener>,
    sessions: Arc<Semaphore>,
}

/// Counts a forwarder's open sessions; a cheap handle that stays usable while it runs.
#[derive(Debug, Clone)]
pub struct ConnectionGauge {
    sessions: Arc<Semaphore>,
    max: usize,
}

impl ConnectionGauge {
    /// Sessions open right now (logged in or logging in).
    pub fn open(&self) -> usize {
        self.max.saturating_sub(self.sessions.available_permits())
    }
}

impl Forwarder {
    /// Checks the TLS settings (roots, ca_file) and binds 127.0.0.1 and ::1 on the configured
    /// port (0: a free one), then the Unix-domain socket of the same number when `socket_dir`
    /// is set. Nothing is accepted until [`Forwarder::run`].
    pub async fn bind(config: ForwarderConfig) -> Result<Forwarder, ForwardError> {
        let tls = UpstreamTls::new(&config)?;
        let listener = LoopbackListener::bind(config.local_port).await?;
        let socket = match &config.socket_dir {
            Some(folder) => Some(SocketListener::bind(folder, listener.port())?),
            None => None,
        };
        let max = config.max_connections.min(Semaphore::MAX_PERMITS);
        tracing::info!(
            database = %config.name, addrs = ?listener.local_addrs(),
            socket = ?socket.as_ref().map(SocketListener::path),
            upstream = %format_args!("{}:{}", config.upstream_host, config.upstream_port),
            "forwarder listening"
        );
        Ok(Forwarder { config, tls, listener, socket, sessions: Arc::new(Semaphore::new(max)) })
    }

    /// The Unix-domain socket file, when there is one.
    pub fn socket_path(&self) -> Option<&std::path::Path> {
        self.socket.as_ref().map(SocketListener::path)
    }

    /// The loopback port, the same on 127.0.0.1 and ::1.
    pub fn local_port(&self) -> u16 {
        self.listener.port()
    }

    /// The addresses listened on: 127.0.0.1, and ::1 when the system has IPv6.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listener.local_addrs()
    }

    /// Sessions open right now.
    pub fn open_connections(&self) -> usize {
        self.connection_gauge().open()
    }

    /// A handle that reads [`Forwarder::open_connections`] while [`Forwarder::run`] owns the forwarder.
    pub fn connection_gauge(&self) -> ConnectionGauge {
        ConnectionGauge {
            sessions: self.sessions.clone(),
            max: self.config.max_connections.min(Semaphore::MAX_PERMITS),
        }
    }

    /// Serves clients until `shutdown` is given, then stops accepting, gives open sessions
    /// `shutdown_grace` to finish (none after [`Shutdown::close_now`]), closes what is left, and
    /// returns once every task is done.
    pub async fn run(
        self,
        tokens: Arc<dyn TokenSource>,
        observer: Arc<dyn ConnectionObserver>,
        shutdown: impl Into<Shutdown>,
    ) -> Result<(), ForwardError> {
        let shutdown: Shutdown = shutdown.into();
        let Forwarder { config, tls, listener, socket, sessions } = self;
        let grace = config.shutdown_grace;
        let pending = Arc::new(Semaphore::new(
            config.max_connections.saturating_add(EXTRA_PENDING).min(Semaphore::MAX_PERMITS),
        ));
        let shared = Arc::new(Shared {
            local_port: listener.port(),
            config,
            tls,
            tokens,
            observer,
            sessions,
            cancels: CancelRegistry::default(),
            stop: CancellationToken::new(),
            shutdown: shutdown.clone(),
        });
        let tracker = TaskTracker::new();
        let mut backoff = ACCEPT_BACKOFF.0;

        loop {
            let accepted = tokio::select! {
                () = shutdown.requested.cancelled() => break,
                accepted = listener.accept() => {
                    accepted.map(|(stream, peer)| (ClientStream::Tcp(stream), ClientAddr::Tcp(peer)))
                }
                accepted = accept_unix(socket.as_ref()) => {
                    accepted.map(|stream| (ClientStream::Unix(stream), ClientAddr::Unix))
                }
            };
            match accepted {
                Ok((client, peer)) => {
                    backoff = ACCEPT_BACKOFF.0;
                    let Ok(permit) = pending.clone().try_acquire_owned() else {
                        tracing::warn!(database = %shared.config.name, %peer, "too many clients in their startup phase; closing a new one");
                        continue;
                    };
                    tracker.spawn(serve(shared.clone(), client, peer, permit));
                }
                Err(error) => {
                    tracing::warn!(database = %shared.config.name, %error, "accept failed; retrying");
                    tokio::select! {
                        () = shutdown.requested.cancelled() => break,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                }
            }
        }

        // Closing the listening sockets now makes new clients fail fast instead of queueing.
        drop(listener);
        drop(socket);
        tracker.close();
        let open = shared
            .config
            .max_connections
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(shared.sessions.available_permits());
        tracing::info!(
            database = %shared.config.name, open_sessions = open, grace_seconds = grace.as_secs_f64(),
            "forwarder stopping: no new connections; open sessions may finish"
        );
        let finished = tokio::select! {
            finished = tokio::time::timeout(grace, tracker.wait()) => finished.is_ok(),
            () = shutdown.now.cancelled() => false,
        };
        if !finished {
            tracing::info!(database = %shared.config.name, reason = ?shutdown.reason(), "closing remaining connections");
            shared.stop.cancel();
            tracker.wait().await;
        }
        tracing::info!(database = %shared.config.name, "forwarder stopped");
        Ok(())
    }
}

/// The next client on the Unix-domain socket; never, without one.
async fn accept_unix(socket: Option<&SocketListener>) -> std::io::Result<tokio::net::UnixStream> {
    match socket {
        Some(socket) => socket.accept().await,
        None => std::future::pending().await,
    }
}
