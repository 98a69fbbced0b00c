//! [`ConnectionObserver`]: how history and status learn about connections: one call when a
//! connection opens, one when it closes, never per message.

use std::time::SystemTime;

/// A client connection that has sent its StartupMessage (or a bad first packet).
#[derive(Debug, Clone)]
pub struct ConnectionStart {
    /// The database's name in Tapgate's configuration ("prod").
    pub database: String,
    /// The PostgreSQL database the session logs in to, when known.
    pub dbname: Option<String>,
    /// The role asked for (the client's user name), when known.
    pub role: Option<String>,
    /// Who is signed in, when already known (usually only at close: see [`ConnectionEnd`]).
    pub identity: Option<String>,
    /// The client's own `application_name`, when it sent one.
    pub application_name: Option<String>,
    /// The forwarder's loopback port.
    pub local_port: u16,
    /// Where the client connected from: a loopback address, or the Unix-domain socket.
    pub peer: crate::ClientAddr,
    /// When the client connected.
    pub started_at: SystemTime,
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in and relayed until one side closed.
    Ok,
    /// Logged in and relayed until the server's side failed (a reset, a cut): not a clean end.
    ServerLost,
    /// Refused: by the server (its ErrorResponse, e.g. authentication failed), or by Tapgate
    /// (role not allowed, the server asked for MD5/SCRAM).
    Refused,
    /// Refused before anything else: the client's socket belongs to another OS user (or to no
    /// user that could be found), and the database accepts only the person's own programs.
    RefusedOtherUser,
    /// The server could not be reached, did not answer in time, or dropped the login.
    UpstreamUnreachable,
    /// The server offers no TLS, or its certificate or the handshake failed.
    TlsError,
    /// Past `max_connections`.
    OverLimit,
    /// No token: the TokenSource failed or the sign-in took longer than `token_wait`.
    SignInFailed,
    /// The client (or, rarely, the server) broke the protocol: bad or missing startup packet.
    ProtocolError,
    /// A CancelRequest for a live session, forwarded to the server.
    Cancelled,
    /// Ended before the login finished because the client left or Tapgate shut down.
    Aborted,
}

impl Outcome {
    /// A short lower-case name for history and logs ("ok", "refused", "tls error", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ServerLost => "server lost",
            Outcome::Refused => "refused",
            Outcome::RefusedOtherUser => "refused: another user",
            Outcome::UpstreamUnreachable => "upstream unreachable",
            Outcome::TlsError => "tls error",
            Outcome::OverLimit => "over limit",
            Outcome::SignInFailed => "sign-in failed",
            Outcome::ProtocolError => "protocol error",
            Outcome::Cancelled => "cancelled",
            Outcome::Aborted => "aborted",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection that has closed.
#[derive(Debug, Clone)]
pub struct ConnectionEnd {
    /// How it ended.
    pub outcome: Outcome,
    /// The role logged in as (or asked for), when known.
    pub role: Option<String>,
    /// Who was signed in, when a token was obtained.
    pub identity: Option<String>,
    /// Bytes received from the client after its StartupMessage and passed to the server.
    pub bytes_from_client: u64,
    /// Bytes passed from the server to the client (login messages included).
    pub bytes_to_client: u64,
    /// When it closed.
    pub ended_at: SystemTime,
    /// What went wrong, in words, when something did (never the token).
    pub error: Option<String>,
}

/// Told about each connection when it opens and when it closes. Implementations must return
/// quickly (queue the write): they run on the connection's task.
pub trait ConnectionObserver: Send + Sync + 'static {
    /// A connection opened; returns an id that [`ConnectionObserver::closed`] gets back.
    fn opened(&self, connection: &ConnectionStart) -> u64;
    /// The connection `id` closed.
    fn closed(&self, id: u64, end: &ConnectionEnd);
}

/// An observer that records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl ConnectionObserver for NoObserver {
    fn opened(&self, _connection: &ConnectionStart) -> u64 {
        0
    }

    fn closed(&self, _id: u64, _end: &ConnectionEnd) {}
}
