//! One client connection from accept to close: its first packets, then either a session
//! (role, token, server connection, login, relay) or a cancel; reported to the observer at
//! open and close, and in one log line each.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use tapgate_pgwire::{CancelRequest, StartupMessage, UpstreamAuth};
use tokio::io::AsyncWriteExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::cancel::{CancelRegistry, forward_cancel};
use crate::client::{ClientHello, read_hello};
use crate::client_stream::{ClientAddr, ClientStream};
use crate::handshake::login;
use crate::inject::Injecting;
use crate::local_password;
use crate::login::{choose_dbname, choose_role, negotiation, upstream_startup};
use crate::peer_owner;
use crate::relay::{Ending, Relayed, relay};
use crate::session_limit::Watch;
use crate::upstream::connect;
use crate::upstream_tls::UpstreamTls;
use crate::{
    ClientInfo, ConnectionEnd, ConnectionObserver, ConnectionStart, ForwardError, ForwarderConfig,
    LocalAccess, Outcome, SessionLimit, Shutdown, TokenSource, UpstreamToken,
};

/// Bound on writing a final ErrorResponse to a client that may not be reading.
const FAREWELL_TIMEOUT: Duration = Duration::from_secs(5);

/// What every connection task of one forwarder shares.
pub(crate) struct Shared {
    pub(crate) config: ForwarderConfig,
    pub(crate) tls: UpstreamTls,
    pub(crate) local_port: u16,
    pub(crate) tokens: Arc<dyn TokenSource>,
    pub(crate) observer: Arc<dyn ConnectionObserver>,
    /// One permit per open session: `max_connections` of them.
    pub(crate) sessions: Arc<Semaphore>,
    pub(crate) cancels: CancelRegistry,
    /// Fires when the shutdown grace period is over: everything still open closes.
    pub(crate) stop: CancellationToken,
    /// The forwarder's stop signal, which says why sessions were closed.
    pub(crate) shutdown: Shutdown,
}

/// Serves one accepted client until it is done.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    mut client: ClientStream,
    peer: ClientAddr,
    pending: OwnedSemaphorePermit,
) {
    let started_at = shared.config.clock.now();
    let socket = match &client {
        // Asked first, while the client's socket is surely in the kernel's tables. Reading and
        // parsing those tables is file work sized by the machine's socket count: the blocking
        // pool's.
        ClientStream::Tcp(stream) => match (stream.local_addr(), peer) {
            (Ok(ours), ClientAddr::Tcp(theirs)) => {
                tokio::task::spawn_blocking(move || peer_owner::client_socket(ours, theirs))
                    .await
                    .ok()
                    .flatten()
            }
            _ => None,
        },
        ClientStream::Unix(stream) => peer_owner::unix_client(stream),
    };
    let stranger = stranger(&shared, socket, peer);
    if let ClientStream::Tcp(stream) = &client
        && let Err(error) = stream.set_nodelay(true)
    {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a client connection");
    }
    let hello = tokio::select! {
        hello = read_hello(&mut client, shared.config.startup_timeout) => hello,
        () = shared.stop.cancelled() => return,
    };
    drop(pending);

    let opening = Opening { shared: &shared, peer, started_at, stranger, socket };
    match hello {
        Ok(ClientHello::Closed) => {}
        Ok(ClientHello::Cancel(request)) => opening.cancel(request).await,
        Ok(ClientHello::Startup { message, pipelined }) => opening.session(client, message, pipelined).await,
        Err(error) => opening.bad_hello(client, error).await,
    }
}

/// A connection whose first packets have been read.
struct Opening<'a> {
    shared: &'a Shared,
    peer: ClientAddr,
    started_at: SystemTime,
    /// Set when this client may not use the forwarder: it is not the person's program.
    stranger: Option<Stranger>,
    /// The client's socket, for naming its program in a prompt.
    socket: Option<peer_owner::ClientSocket>,
}

/// A client that is not one of the person's own programs.
#[derive(Debug, Clone, Copy)]
struct Stranger {
    /// The person's uid.
    own: u32,
    /// The owner of the client's socket, when it could be found.
    peer: Option<u32>,
}

/// Whether the client is a stranger (`local_access = "same-user"`, the default).
fn stranger(shared: &Shared, socket: Option<peer_owner::ClientSocket>, peer: ClientAddr) -> Option<Stranger> {
    if shared.config.local_access == LocalAccess::Any {
        return None;
    }
    let own = peer_owner::own_uid();
    let owner = socket.map(|s| s.uid);
    if owner != Some(own) {
        tracing::info!(database = %shared.config.name, %peer, ?owner, "a connection from another user");
    }
    (owner != Some(own)).then_some(Stranger { own, peer: owner })
}

/// What a session learns on its way, for its close report.
#[derive(Default)]
struct Progress {
    identity: Option<String>,
    /// The user logged in as, once known (a per-person user differs from the one asked for).
    role: Option<String>,
    bytes_from_client: u64,
    bytes_to_client: u64,
    /// Messages for the client not yet written (negotiation, the server's login messages).
    to_client: BytesMut,
}

impl Opening<'_> {
    fn start(&self, message: Option<&StartupMessage>) -> ConnectionStart {
        ConnectionStart {
            database: self.shared.config.name.clone(),
            dbname: message.map(|m| choose_dbname(&self.shared.config, m)),
            role: message.map(|m| m.user().to_owned()),
            identity: None,
            application_name: message.and_then(|m| m.param("application_name")).map(str::to_owned),
            local_port: self.shared.local_port,
            peer: self.peer,
            started_at: self.started_at,
        }
    }

    fn end(
        &self,
        outcome: Outcome,
        role: Option<String>,
        progress: &Progress,
        error: Option<String>,
    ) -> ConnectionEnd {
        ConnectionEnd {
            outcome,
            role,
            identity: progress.identity.clone(),
            bytes_from_client: progress.bytes_from_client,
            bytes_to_client: progress.bytes_to_client,
            ended_at: self.shared.config.clock.now(),
            error,
        }
    }

    /// A first packet that was malformed, or none in time: the client hears why when that helps.
    async fn bad_hello(self, mut client: ClientStream, error: ForwardError) {
        let id = self.shared.observer.opened(&self.start(None));
        let mut progress = Progress::default();
        farewell(&mut client, &error, &mut progress).await;
        let end = self.end(error.outcome(), None, &progress, Some(error.to_string()));
        tracing::info!(
            database = %self.shared.config.name, peer = %self.peer, outcome = %end.outcome, error = %error,
            "connection refused before startup"
        );
        self.shared.observer.closed(id, &end);
    }

    /// A CancelRequest: forwarded when it names a live session of ours, else dropped silently.
    async fn cancel(self, request: CancelRequest) {
        if let Some(stranger) = self.stranger {
            // Another user's program cannot cancel the person's queries either; the attempt is
            // recorded like their other attempts.
            tracing::info!(database = %self.shared.config.name, peer = %self.peer, ?stranger, "dropped a cancel request from another user");
            let id = self.shared.observer.opened(&self.start(None));
            let error = ForwardError::OtherUser {
                name: self.shared.config.name.clone(),
                own: stranger.own,
                peer: stranger.peer,
            };
            let end = self.end(
                Outcome::RefusedOtherUser,
                None,
                &Progress::default(),
                Some(format!("cancel request dropped: {error}")),
            );
            self.shared.observer.closed(id, &end);
            return;
        }
        let Some(role) = self.shared.cancels.live_role(&request) else {
            tracing::debug!(database = %self.shared.config.name, "dropped a cancel request for no live session");
            return;
        };
        let mut start = self.start(None);
        start.role = Some(role.clone());
        let id = self.shared.observer.opened(&start);
        let forwarded = tokio::select! {
            result = forward_cancel(&self.shared.tls, &request, self.shared.config.connect_timeout) => result,
            () = self.shared.stop.cancelled() => Err(ForwardError::Shutdown),
        };
        let (outcome, error) = match &forwarded {
            Ok(()) => (Outcome::Cancelled, None),
            Err(error) => (error.outcome(), Some(format!("cancel request: {error}"))),
        };
        tracing::info!(
            database = %self.shared.config.name, role = %role, outcome = %outcome, error = ?error,
            "cancel request"
        );
        self.shared.observer.closed(id, &self.end(outcome, Some(role), &Progress::default(), error));
    }

    /// A session: login upstream, then relay until either side closes.
    async fn session(self, mut client: ClientStream, message: StartupMessage, pipelined: BytesMut) {
        let start = self.start(Some(&message));
        let id = self.shared.observer.opened(&start);
        tracing::info!(
            database = %start.database, role = %message.user(), dbname = ?start.dbname, peer = %self.peer,
            application_name = ?start.application_name, "connection opened"
        );

        let mut progress = Progress::default();
        let result = self.login_and_relay(&mut client, &message, pipelined, &mut progress).await;
        let role =
            |progress: &Progress| Some(progress.role.clone().unwrap_or_else(|| message.user().to_owned()));
        let end = match result {
            Ok(relayed) => match relayed.server_lost {
                Some(lost) => self.end(Outcome::ServerLost, role(&progress), &progress, Some(lost)),
                None => {
                    let error = relayed.closed_by_tapgate.or(relayed.error);
                    self.end(Outcome::Ok, role(&progress), &progress, error)
                }
            },
            Err(error) => {
                farewell(&mut client, &error, &mut progress).await;
                let role = role(&progress);
                self.end(error.outcome(), role, &progress, Some(error.to_string()))
            }
        };
        tracing::info!(
            database = %start.database, role = ?end.role, identity = ?end.identity, outcome = %end.outcome,
            bytes_from_client = end.bytes_from_client, bytes_to_client = end.bytes_to_client,
            error = ?end.error, "connection closed"
        );
        self.shared.observer.closed(id, &end);
    }

    async fn login_and_relay(
        &self,
        client: &mut ClientStream,
        message: &StartupMessage,
        mut pipelined: BytesMut,
        progress: &mut Progress,
    ) -> Result<Relayed, ForwardError> {
        let shared = self.shared;
        let config = &shared.config;
        if let Some(Stranger { own, peer }) = self.stranger {
            return Err(ForwardError::OtherUser { name: config.name.clone(), own, peer });
        }
        if let Some(options) = negotiation(message) {
            // The client asked for more than 3.0; the upstream leg speaks 3.0, so say so first,
            // as a 3.0 server would.
            tapgate_pgwire::report::negotiate_protocol_version(0, &options, &mut progress.to_client);
        }
        let _permit = shared.sessions.clone().try_acquire_owned().map_err(|_| ForwardError::OverLimit {
            name: config.name.clone(),
            limit: config.max_connections,
        })?;
        let role = choose_role(config, message.user())?;
        let dbname = choose_dbname(config, message);
        if let Some(verifier) = &config.local_password {
            // Before any token is asked for: a wrong password never costs a tap.
            let written = progress.to_client.len() as u64;
            local_password::check(
                client,
                &mut pipelined,
                &mut progress.to_client,
                verifier,
                &config.name,
                message.user(),
                config.startup_timeout,
            )
            .await?;
            progress.bytes_to_client += written;
        }

        // Everything before the relay is abandoned when the client leaves (no tap is waited for
        // on behalf of nobody) or the shutdown grace period ends.
        let prepare = async {
            let token = self.token(message).await?;
            progress.identity = Some(token.identity.clone());
            let expires_at = token.expires_at;
            // The person's own user, named by their token, when the database has one.
            let role = token.login_user.clone().unwrap_or_else(|| role.clone());
            progress.role = Some(role.clone());
            let mut upstream = connect(&shared.tls, config.connect_timeout).await?;
            let startup = upstream_startup(message, &role, &dbname, &token.identity)?;
            // `connect` only returns TLS streams: the channel is encrypted by construction.
            let auth = UpstreamAuth::new(config.auth, token.access_token, true);
            let logged_in = login(
                &shared.tls,
                &mut upstream,
                &startup,
                auth,
                config.login_timeout,
                &mut progress.to_client,
            )
            .await?;
            Ok::<_, ForwardError>((upstream, logged_in, expires_at, role))
        };
        let (upstream, logged_in, expires_at, role) = tokio::select! {
            prepared = prepare => prepared?,
            () = client_left(client) => return Err(ForwardError::ClientGone("while the login was under way")),
            () = shared.stop.cancelled() => return Err(ForwardError::Shutdown),
        };

        let _live_key = logged_in.cancel_key.map(|key| shared.cancels.register(key, &role));
        progress.to_client.extend_from_slice(&logged_in.early);
        client
            .write_all(&progress.to_client)
            .await
            .map_err(|_| ForwardError::ClientGone("before its session started"))?;
        progress.bytes_to_client += progress.to_client.len() as u64;
        progress.to_client.clear();
        let mut upstream = upstream;
        if !pipelined.is_empty() {
            upstream.write_all(&pipelined).await.map_err(|e| ForwardError::UpstreamLost {
                host: config.upstream_host.clone(),
                port: config.upstream_port,
                reason: e.to_string(),
            })?;
            progress.bytes_from_client += pipelined.len() as u64;
        }

        let (mut upstream, injector, delivered) = Injecting::new(upstream);
        // The stream to the client is between messages only once what went before has passed.
        upstream.track(&logged_in.early);
        let limit = self.limit(progress.identity.clone().unwrap_or_default(), expires_at, injector.clone());
        let stop_reason = {
            let (shutdown, name) = (shared.shutdown.clone(), config.name.clone());
            Box::new(move || {
                shutdown.reason().unwrap_or_else(|| format!("closed this session: Tapgate stopped forwarding {name} and its shutdown grace period ended"))
            })
        };
        let ending = Ending { limit, stop: shared.stop.clone(), stop_reason, injector, delivered };
        let relayed = relay(&mut *client, upstream, ending).await;
        progress.bytes_from_client += relayed.from_client;
        progress.bytes_to_client += relayed.to_client;
        Ok(relayed)
    }

    /// The session's end under `session_limit`: never without a limit or a known expiry.
    fn limit(
        &self,
        identity: String,
        expires_at: Option<SystemTime>,
        injector: crate::inject::Injector,
    ) -> impl std::future::Future<Output = String> + use<> {
        let config = &self.shared.config;
        let watch = match (config.session_limit, expires_at) {
            (SessionLimit::Token { grace }, Some(expires_at)) => Some(Watch {
                database: config.name.clone(),
                identity,
                expires_at,
                grace,
                clock: config.clock.clone(),
                tokens: self.shared.tokens.clone(),
                injector,
            }),
            _ => None,
        };
        async move {
            match watch {
                Some(watch) => watch.until_closed().await,
                None => std::future::pending().await,
            }
        }
    }

    /// A token from the TokenSource within `token_wait`.
    async fn token(&self, message: &StartupMessage) -> Result<UpstreamToken, ForwardError> {
        let config = &self.shared.config;
        let client = ClientInfo {
            socket: self.socket,
            application_name: message.param("application_name").map(str::to_owned),
            user: Some(message.user().to_owned()),
        };
        match tokio::time::timeout(config.token_wait, self.shared.tokens.token(&config.name, &client)).await {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(error)) => Err(ForwardError::SignIn(error)),
            Err(_) => {
                Err(ForwardError::SignInTimeout { name: config.name.clone(), waited: config.token_wait })
            }
        }
    }
}

/// Writes what is pending for the client and the error's ErrorResponse, if it gets one.
async fn farewell(client: &mut ClientStream, error: &ForwardError, progress: &mut Progress) {
    if let Some(report) = error.client_report() {
        report.encode(&mut progress.to_client);
    }
    if progress.to_client.is_empty() {
        return;
    }
    let write = async {
        client.write_all(&progress.to_client).await?;
        client.shutdown().await
    };
    if let Ok(Ok(())) = tokio::time::timeout(FAREWELL_TIMEOUT, write).await {
        progress.bytes_to_client += progress.to_client.len() as u64;
    }
    progress.to_client.clear();
}

/// Resolves when the client has closed its connection (or it failed). A client that sent more
/// bytes is still there: then this never resolves.
async fn client_left(client: &ClientStream) {
    if let Ok(1..) = client.peek_one().await {
        std::future::pending::<()>().await;
    }
}
