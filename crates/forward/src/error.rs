//! [`ForwardError`]: the one error type of the forwarder, for setting up a listener and for
//! each connection; every connection error knows its [`Outcome`] and what the client is told.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tapgate_pgwire::{ErrorReport, Refusal, WireError, sqlstate};

use crate::{Outcome, TokenError};

/// Why a forwarder could not start, or why one connection ended early.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// A loopback address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },

    /// The database's Unix-domain socket could not be made.
    #[error("cannot listen on the socket {}: {reason}", path.display())]
    Socket {
        /// The socket file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },

    /// `ca_file` could not be read or holds no certificate.
    #[error("cannot use ca_file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    /// No trusted roots at all: the system store is empty and no ca_file is set.
    #[error("no trusted CA certificates for {name}: the system has none and no ca_file is set")]
    NoTrustRoots {
        /// The database.
        name: String,
    },

    /// `sslmode = "verify-ca"` without a ca_file.
    #[error(
        "sslmode = \"verify-ca\" for {name} needs ca_file: verify-ca checks the chain against it alone \
         (with the system roots any public certificate would pass)"
    )]
    VerifyCaNeedsCaFile {
        /// The database.
        name: String,
    },

    /// The TLS client could not be configured.
    #[error("cannot set up TLS for {name}: {reason}")]
    TlsSetup {
        /// The database.
        name: String,
        /// Why.
        reason: String,
    },

    /// The client's first packet was malformed, truncated or oversized.
    #[error("invalid startup packet from the client: {0}")]
    BadStartup(WireError),

    /// The client broke the startup sequence in a way the parser cannot see.
    #[error("the client {0}")]
    ClientProtocol(&'static str),

    /// The client sent no StartupMessage in time.
    #[error("the client sent no startup packet within {}s", .0.as_secs())]
    StartupTimeout(Duration),

    /// The client hung up right after Tapgate declined TLS on the loopback leg.
    #[error(
        "the client hung up after Tapgate declined TLS on the loopback connection; set the client's \
         sslmode to disable or prefer (Tapgate does the TLS to the server)"
    )]
    ClientWantedTls,

    /// The client asked for a role that is not allowed.
    #[error("role \"{requested}\" is not allowed through Tapgate for {name}; allowed roles: {}", allowed.join(", "))]
    RoleNotAllowed {
        /// The database.
        name: String,
        /// The user name the client sent.
        requested: String,
        /// `role` and `roles`.
        allowed: Vec<String>,
    },

    /// The client is not one of the person's own programs (`local_access = "same-user"`).
    #[error(
        "{name} through Tapgate is only for the programs of the user who runs it (uid {own}); this connection comes from {}",
        match peer { Some(uid) => format!("uid {uid}"), None => "a program whose owner could not be found".to_owned() }
    )]
    OtherUser {
        /// The database.
        name: String,
        /// The person's uid.
        own: u32,
        /// The client socket's owner, when it could be found.
        peer: Option<u32>,
    },

    /// The client gave the wrong local password (`local_password = true`).
    #[error(
        "password authentication failed for user \"{user}\": the local password for {name} is wrong (it is in ~/.pgpass)"
    )]
    LocalPassword {
        /// The database.
        name: String,
        /// The user name the client sent.
        user: String,
    },

    /// Past `max_connections`.
    #[error("too many connections through Tapgate for {name} (limit {limit})")]
    OverLimit {
        /// The database.
        name: String,
        /// The limit.
        limit: usize,
    },

    /// The TokenSource gave no token; its message is for the client.
    #[error("{0}")]
    SignIn(TokenError),

    /// The TokenSource took longer than `token_wait`.
    #[error("Tapgate: no sign-in for {name} within {}s; sign in with `tapgate login` and connect again", waited.as_secs())]
    SignInTimeout {
        /// The database.
        name: String,
        /// How long the client waited.
        waited: Duration,
    },

    /// TCP to the server failed (DNS, refused, unreachable).
    #[error("cannot reach the server at {host}:{port}: {reason}")]
    UpstreamUnreachable {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// Why.
        reason: String,
    },

    /// The server did not complete a step in time.
    #[error("the server at {host}:{port} did not {step} within {}s", timeout.as_secs())]
    UpstreamTimeout {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// What it did not do ("accept the connection and TLS", "finish the login").
        step: &'static str,
        /// The bound.
        timeout: Duration,
    },

    /// The server answered the SSLRequest with `N` (or an error).
    #[error("the server at {host}:{port} does not offer TLS; Tapgate never sends a token without it")]
    NoTls {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
    },

    /// The TLS handshake failed; `explanation` says why in plain words.
    #[error("TLS with the server at {host}:{port} failed: {explanation}")]
    Tls {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// What went wrong.
        explanation: String,
        /// What to do about it, when we know.
        hint: Option<String>,
    },

    /// Tapgate stopped the login without sending the token (MD5, SCRAM, ...).
    #[error("{refusal}")]
    AuthRefused {
        /// Why.
        refusal: Refusal,
    },

    /// The server refused the login with an ErrorResponse (passed to the client verbatim).
    #[error("the server refused the login: {message}")]
    ServerRefused {
        /// The server's message (and SQLSTATE).
        message: String,
    },

    /// The server sent something that is not PostgreSQL protocol during the login.
    #[error("the server at {host}:{port} sent an invalid message during the login: {source}")]
    UpstreamProtocol {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// What was wrong.
        source: WireError,
    },

    /// The server connection failed during the login.
    #[error("the connection to the server at {host}:{port} failed during the login: {reason}")]
    UpstreamLost {
        /// The server.
        host: String,
        /// Its port.
        port: u16,
        /// Why.
        reason: String,
    },

    /// The client went away before the login finished.
    #[error("the client left {0}")]
    ClientGone(&'static str),

    /// Tapgate shut down before the login finished.
    #[error("Tapgate is shutting down")]
    Shutdown,
}

impl ForwardError {
    /// How a connection that failed with this error is recorded.
    pub fn outcome(&self) -> Outcome {
        match self {
            ForwardError::BadStartup(_)
            | ForwardError::ClientProtocol(_)
            | ForwardError::StartupTimeout(_)
            | ForwardError::ClientWantedTls
            | ForwardError::UpstreamProtocol { .. } => Outcome::ProtocolError,
            ForwardError::RoleNotAllowed { .. }
            | ForwardError::AuthRefused { .. }
            | ForwardError::ServerRefused { .. } => Outcome::Refused,
            ForwardError::OverLimit { .. } => Outcome::OverLimit,
            ForwardError::LocalPassword { .. } => Outcome::Refused,
            ForwardError::OtherUser { .. } => Outcome::RefusedOtherUser,
            ForwardError::SignIn(_) | ForwardError::SignInTimeout { .. } => Outcome::SignInFailed,
            ForwardError::UpstreamUnreachable { .. }
            | ForwardError::UpstreamTimeout { .. }
            | ForwardError::UpstreamLost { .. } => Outcome::UpstreamUnreachable,
            ForwardError::NoTls { .. }
            | ForwardError::Tls { .. }
            | ForwardError::CaFile { .. }
            | ForwardError::NoTrustRoots { .. }
            | ForwardError::VerifyCaNeedsCaFile { .. }
            | ForwardError::TlsSetup { .. } => Outcome::TlsError,
            ForwardError::ClientGone(_)
            | ForwardError::Shutdown
            | ForwardError::Bind { .. }
            | ForwardError::Socket { .. } => Outcome::Aborted,
        }
    }

    /// The ErrorResponse the client gets for this error, or `None` when it gets nothing: it is
    /// gone, speaks TLS, never spoke, or already got the server's own ErrorResponse verbatim.
    pub fn client_report(&self) -> Option<ErrorReport> {
        let tapgate = |code: &str| ErrorReport::fatal(code, format!("Tapgate: {self}"));
        let report = match self {
            ForwardError::BadStartup(WireError::DirectTls)
            | ForwardError::ClientGone(_)
            | ForwardError::ClientWantedTls
            | ForwardError::StartupTimeout(_)
            | ForwardError::ServerRefused { .. }
            | ForwardError::Bind { .. }
            | ForwardError::Socket { .. } => return None,
            ForwardError::BadStartup(_) | ForwardError::ClientProtocol(_) => {
                tapgate(sqlstate::PROTOCOL_VIOLATION)
            }
            ForwardError::RoleNotAllowed { allowed, .. } => {
                tapgate(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION)
                    .with_hint(format!("connect with one of these user names: {}", allowed.join(", ")))
            }
            ForwardError::OverLimit { .. } => {
                ErrorReport::fatal(sqlstate::TOO_MANY_CONNECTIONS, self.to_string())
            }
            ForwardError::LocalPassword { .. } => tapgate(sqlstate::INVALID_PASSWORD).with_hint(
                "use the password Tapgate wrote to ~/.pgpass for this database, or connect through its Unix-domain socket",
            ),
            ForwardError::OtherUser { .. } => tapgate(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION)
                .with_hint(
                    "run your own Tapgate and sign in as yourself; a forwarder never lends its user's token",
                ),
            // The TokenSource wrote this message for people: pass it on as it is.
            ForwardError::SignIn(error) => {
                ErrorReport::fatal(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION, error.message.clone())
            }
            ForwardError::SignInTimeout { .. } => {
                ErrorReport::fatal(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION, self.to_string())
            }
            ForwardError::AuthRefused { refusal } => {
                tapgate(sqlstate::INVALID_AUTHORIZATION_SPECIFICATION).with_hint(refusal.hint())
            }
            ForwardError::Tls { hint: Some(hint), .. } => {
                tapgate(sqlstate::UNABLE_TO_ESTABLISH_CONNECTION).with_hint(hint.clone())
            }
            ForwardError::UpstreamUnreachable { .. }
            | ForwardError::UpstreamTimeout { .. }
            | ForwardError::NoTls { .. }
            | ForwardError::Tls { .. }
            | ForwardError::CaFile { .. }
            | ForwardError::NoTrustRoots { .. }
            | ForwardError::VerifyCaNeedsCaFile { .. }
            | ForwardError::TlsSetup { .. } => tapgate(sqlstate::UNABLE_TO_ESTABLISH_CONNECTION),
            ForwardError::UpstreamProtocol { .. } | ForwardError::UpstreamLost { .. } => {
                tapgate(sqlstate::CONNECTION_FAILURE)
            }
            ForwardError::Shutdown => tapgate(sqlstate::ADMIN_SHUTDOWN),
        };
        Some(report)
    }
}
