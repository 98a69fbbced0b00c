//! The Tapgate engine: what the `tapgate` CLI and the desktop app share, and the only crate of
//! ours they talk to (besides `tapgate-config` for loading and `tapgate-desktop-model` for views).
//!
//! # Layout
//! - [`context`]: [`Context`], the folders, clock and keyring an engine is opened with; the
//!   engine reads no environment variable and no well-known path itself.
//! - [`engine`]: [`Engine`], one configuration in one context: the token cache, IdP clients,
//!   events, the role check.
//! - [`sign_in`]: the sign-in policy ([`SignInPolicy`]): cache, then refresh, then a key tap.
//! - [`db_login`]: what a connection logs in with: the user (a fixed role or the person's own from a
//!   claim) and the password (the token, or an Amazon RDS token made through AWS STS).
//! - [`db_token`]: the token a database gets: the IdP's, or one for the database's own
//!   audience or scopes, by refresh.
//! - [`local_state`]: history queries, stable ports and running processes, through the engine.
//! - [`session`]: [`Session`], a signed-in identity with its token and countdown.
//! - [`events`]: [`CoreEvent`], broadcast to whoever shows things to people (CLI, tray app).
//! - [`forwarding`]: binding loopback forwarders for configured databases, and `serve` for a
//!   fixed set (`tapgate connect`, `tapgate exec`, `tapgate demo`).
//! - [`forwarder_set`]: [`ForwarderSet`], a process's forwarders started and stopped one at a
//!   time, wired to the engine, the history and the status file.
//! - [`ports`]: stable loopback ports, chosen once per database and remembered.
//! - [`local_password`]: per-database local passwords (`local_password = true`): the verifier
//!   kept, the password in `~/.pgpass`.
//! - `atomic_file`: whole-file replacement and the cross-process lock of `ports.json`.
//! - [`browser_command`]: how a browser sign-in opens its page: `$BROWSER` ([`CommandOpener`])
//!   or the default browser.
//! - [`dsn`]: connection strings (URI, keyword/value, JDBC, psql).
//! - [`status`]: what running Tapgate processes announce for `tapgate status`.
//! - [`doctor`]: `tapgate doctor`'s checks ([`doctor::Check`]), from the config file to each
//!   database's server, for the CLI to print and the app to show.
//! - [`error`]: the crate's error type, [`CoreError`].
//!
//! The types of the crates below that the shells need (the prompt a sign-in talks to, history
//! rows, the clock) are re-exported here, so the shells depend on this crate alone.

mod atomic_file;
pub mod browser_command;
pub mod context;
pub mod db_login;
pub mod db_token;
pub mod doctor;
pub mod dsn;
pub mod engine;
pub mod error;
pub mod events;
pub mod forwarder_set;
pub mod forwarding;
pub mod local_password;
mod local_state;
pub mod ports;
pub mod session;
pub mod sign_in;
pub mod status;

pub use browser_command::CommandOpener;
pub use context::{Context, KeyringChoice};
pub use db_login::DbLogin;

/// A log filter directive every Tapgate program adds to whatever `TAPGATE_LOG` says: aws-sigv4
/// traces the canonical request it signs, and that holds the AWS session token.
pub const NEVER_LOGGED: &str = "aws_sigv4=off";
pub use engine::Engine;
pub use error::CoreError;
pub use events::{CoreEvent, next_event};
pub use forwarder_set::{ForwarderSet, PromptFor};
pub use session::{Session, SessionOrigin};
pub use sign_in::SignInPolicy;
/// Who opened a connection that needs a sign-in (for prompts that name the program).
pub use tapgate_forward::{ClientInfo, ClientProgram};

/// Time: the engine's clock and the countdown format.
pub use tapgate_clock::{Clock, ManualClock, SharedClock, ShiftFileClock, SystemClock, clock_text};
/// What a key ceremony shows and asks through (the CLI's spinner, the app's dialog).
pub use tapgate_idp::{
    BrowserOpener, BrowserRequest, Claims, DeviceRequest, IdpError, KeyKind, Prompt, TouchRequest,
};
/// History rows and how connections and sign-ins went.
pub use tapgate_store::{
    CacheBackend, ConnectionOutcome, ConnectionRecord, HistoryQuery, SignInMethod, SignInOutcome,
    SignInRecord,
};
/// The URL type browser openers receive.
pub use url::Url;
