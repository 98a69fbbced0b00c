//! Where tokens come from: [`TokenSource`], implemented by Tapgate's core (cache, then refresh,
//! then a key tap).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use secrecy::SecretString;

/// A boxed, sendable future (the same shape as `futures::future::BoxFuture`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Hands out a valid token for a database, signing in if it must.
pub trait TokenSource: Send + Sync + 'static {
    /// A token for `database` (the forwarder's `name`). May take as long as a sign-in takes; the
    /// forwarder gives up after its `token_wait`.
    ///
    /// `client` says who is asking (its socket, from which the program can be found), so a
    /// prompt can name the program that opened the connection.
    fn token(
        &self,
        database: &str,
        client: &ClientInfo,
    ) -> BoxFuture<'static, Result<UpstreamToken, TokenError>>;

    /// When the person's access to `database` ends now (this machine's clock), renewing the
    /// sign-in without a tap where it can (a refresh token); `None` when signed out or only a
    /// tap would help. Asked near the end of a session under `session_limit = "token"`: a later
    /// time lets the session carry on. Without an answer, sessions end with their token.
    fn expiry_without_tap(&self, database: &str) -> BoxFuture<'static, Option<std::time::SystemTime>> {
        let _ = database;
        Box::pin(async { None })
    }
}

/// The client a token is asked for.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Its socket, when the kernel's tables listed it.
    pub socket: Option<crate::peer_owner::ClientSocket>,
    /// The `application_name` it sent, if any.
    pub application_name: Option<String>,
    /// The user name it asked to log in as.
    pub user: Option<String>,
}

impl ClientInfo {
    /// The program that opened the connection ("psql, pid 4242"), looked up now.
    pub fn program(&self) -> Option<crate::peer_owner::ClientProgram> {
        self.socket.and_then(|socket| socket.program())
    }
}

/// A token and who it belongs to.
#[derive(Debug, Clone)]
pub struct UpstreamToken {
    /// Sent to the server as the password or OAuth bearer token; never logged.
    pub access_token: SecretString,
    /// Who signed in (e.g. `alice@example.com`): shown in `application_name` and history.
    pub identity: String,
    /// When it expires on this machine's clock, when known: sessions logged in with it end then
    /// (plus `session_grace`) under `session_limit = "token"`.
    pub expires_at: Option<std::time::SystemTime>,
    /// The database user to log in as, when the source names it (the person's own user, from
    /// a claim); `None`: the role the client chose.
    pub login_user: Option<String>,
}

/// Why there is no token; `message` is shown to the client verbatim, so it should say what to
/// do (e.g. "Tapgate: sign-in needed for corp: touch your security key ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    /// The message for the person at the client.
    pub message: String,
}

impl TokenError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> TokenError {
        TokenError { message: message.into() }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TokenError {}
