//! [`ForwarderConfig`]: everything one database's forwarder needs, already validated by the
//! caller (Tapgate's config crate) and filled with defaults by [`ForwarderConfig::new`].

use std::path::PathBuf;
use std::time::Duration;

use tapgate_clock::{SharedClock, SystemClock};

pub use tapgate_pgwire::AuthMethod;

/// Who may use a forwarder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalAccess {
    /// Only connections whose client socket belongs to this process's user; one whose owner
    /// cannot be found is refused.
    #[default]
    SameUser,
    /// Any local user or program (shared jump hosts where everyone is trusted; not advised).
    Any,
}

/// How long a relayed session may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLimit {
    /// Until the token it logged in with expires plus `grace`, unless the sign-in is renewed
    /// meanwhile (then it carries on). The default.
    Token {
        /// Time after the token's expiry before the session is closed (a NOTICE goes out a
        /// minute before).
        grace: Duration,
    },
    /// No limit: a session lives until a side closes it.
    None,
}

/// Default `session_grace`.
pub const DEFAULT_SESSION_GRACE: Duration = Duration::from_secs(5 * 60);

impl Default for SessionLimit {
    fn default() -> SessionLimit {
        SessionLimit::Token { grace: DEFAULT_SESSION_GRACE }
    }
}

/// Default cap on client connections through one forwarder.
pub const DEFAULT_MAX_CONNECTIONS: usize = 100;
/// Default bound on reaching the server (TCP connect and TLS handshake).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a client may wait for a sign-in (a key tap).
pub const DEFAULT_TOKEN_WAIT: Duration = Duration::from_secs(60);
/// Default time open sessions get to finish after shutdown starts.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default time a client has to send its StartupMessage after connecting.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on the server's login (StartupMessage to ReadyForQuery); PostgreSQL's own
/// `authentication_timeout` is one minute too.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How the server's certificate is checked. There is no plaintext mode: a token never travels
/// without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// The chain must lead to a trusted root (system roots plus `ca_file`) and the certificate
    /// must name the host. The default.
    #[default]
    VerifyFull,
    /// The chain must lead to `ca_file` (required; system roots are not used, since any public
    /// certificate would pass), the name is not checked.
    VerifyCa,
    /// Encrypted, certificate not checked. Weak: protects against eavesdropping only; anyone who
    /// can intercept the connection can pose as the server and receive the token.
    Require,
}

/// How TLS starts on the upstream connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslNegotiation {
    /// SSLRequest, the server answers `S`, then the TLS handshake. Every PostgreSQL.
    #[default]
    Postgres,
    /// TLS right away with ALPN `postgresql` (PostgreSQL 17 and later): one round trip less.
    Direct,
}

/// One database's forwarder.
#[derive(Debug, Clone)]
pub struct ForwarderConfig {
    /// How long relayed sessions may live.
    pub session_limit: SessionLimit,
    /// The database's local password (`local_password = true`), as a SCRAM-SHA-256 verifier:
    /// clients must pass SCRAM with it before anything else happens. `None`: no password.
    pub local_password: Option<tapgate_pgwire::ScramVerifier>,
    /// Who may connect: only the programs of the user running the forwarder (the default), or
    /// anyone on the machine.
    pub local_access: LocalAccess,
    /// The database's name in Tapgate's configuration (`[db.prod]` -> "prod"): for messages,
    /// logs and the TokenSource.
    pub name: String,
    /// Loopback port to listen on; 0 picks one (read it back with `Forwarder::local_port`).
    pub local_port: u16,
    /// The folder of the database's Unix-domain socket (`.s.PGSQL.PORT` in it, PORT being the
    /// TCP port): only the person can reach it. `None`: TCP only.
    pub socket_dir: Option<PathBuf>,
    /// The server's host name or address; also the name its certificate must carry, unless
    /// `server_name` says otherwise.
    pub upstream_host: String,
    /// The name the server's certificate must carry instead of `upstream_host` (Cloud SQL
    /// certificates name the instance, `project:instance`); checked under verify-full.
    pub server_name: Option<String>,
    /// The server's port.
    pub upstream_port: u16,
    /// How the server's certificate is checked.
    pub sslmode: SslMode,
    /// Trusted roots (PEM): the only ones, as libpq's `sslrootcert`, unless `ca_file_add`.
    /// A server certificate in it is pinned (a self-signed server certificate works).
    pub ca_file: Option<PathBuf>,
    /// verify-full trusts the system roots too, besides `ca_file`.
    pub ca_file_add: bool,
    /// SSLRequest then TLS, or direct TLS.
    pub ssl_negotiation: SslNegotiation,
    /// Database to connect to when the client names none (or only libpq's default, its user name).
    pub dbname: String,
    /// Role to log in as by default.
    pub role: String,
    /// Other roles a client may pick with its user name.
    pub roles: Vec<String>,
    /// `role` is the person's own user, named by the token (a `{claim}` template): a client
    /// asking for any user but one of `roles` logs in as the person, whom the TokenSource
    /// names in [`crate::UpstreamToken::login_user`].
    pub per_person_user: bool,
    /// How the token is presented to the server.
    pub auth: AuthMethod,
    /// Open client sessions at most; the next one gets SQLSTATE 53300.
    pub max_connections: usize,
    /// Bound on TCP connect plus TLS handshake to the server.
    pub connect_timeout: Duration,
    /// How long a client may wait for a token (a sign-in may need a key tap).
    pub token_wait: Duration,
    /// How long open sessions may go on after shutdown starts.
    pub shutdown_grace: Duration,
    /// How long a new client has to send its StartupMessage.
    pub startup_timeout: Duration,
    /// Bound on the server's login: StartupMessage to ReadyForQuery.
    pub login_timeout: Duration,
    /// Dates connections for the observer (the engine's clock, so history and tests agree).
    pub clock: SharedClock,
}

impl ForwarderConfig {
    /// A forwarder for `name` to `upstream_host:upstream_port`, logging in to `dbname` as
    /// `role`, with every other setting at its default (verify-full, SSLRequest, token as
    /// password, a port picked at bind time).
    pub fn new(
        name: impl Into<String>,
        upstream_host: impl Into<String>,
        upstream_port: u16,
        dbname: impl Into<String>,
        role: impl Into<String>,
    ) -> ForwarderConfig {
        ForwarderConfig {
            local_access: LocalAccess::SameUser,
            session_limit: SessionLimit::default(),
            local_password: None,
            name: name.into(),
            local_port: 0,
            socket_dir: None,
            upstream_host: upstream_host.into(),
            upstream_port,
            server_name: None,
            sslmode: SslMode::default(),
            ca_file: None,
            ca_file_add: false,
            ssl_negotiation: SslNegotiation::default(),
            dbname: dbname.into(),
            role: role.into(),
            roles: Vec::new(),
            per_person_user: false,
            auth: AuthMethod::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            token_wait: DEFAULT_TOKEN_WAIT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
            clock: SystemClock::shared(),
        }
    }

    /// The roles a client may ask for: `role` first, then `roles`, without repeats.
    pub fn allowed_roles(&self) -> Vec<&str> {
        let mut allowed = vec![self.role.as_str()];
        for role in &self.roles {
            if !allowed.contains(&role.as_str()) {
                allowed.push(role);
            }
        }
        allowed
    }
}
