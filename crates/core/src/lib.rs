//! The Tapgate engine: what the `tapgate` CLI and the desktop app share.
//!
//! # Layout
//! - [`engine`]: [`Engine`], which owns the configuration, the token cache and one IdP client
//!   per IdP, and hands out valid [`Session`]s (cache, then refresh, then a key tap).
//! - [`session`]: [`Session`], a signed-in identity with its token and countdown.
//! - [`events`]: [`CoreEvent`], broadcast to whoever shows things to people (CLI, tray app).
//! - [`forwarding`]: binding loopback forwarders for configured databases, and `serve` for a
//!   fixed set (`tapgate connect`).
//! - [`forwarder_set`]: [`ForwarderSet`], a process's forwarders started and stopped one at a
//!   time, wired to the engine, the history and the status file.
//! - [`ports`]: stable loopback ports, chosen once per database and remembered.
//! - [`dsn`]: connection strings (URI, keyword/value, JDBC, psql).
//! - [`status`]: what running Tapgate processes announce for `tapgate status`.
//! - [`error`]: the crate's error type, [`CoreError`].

pub mod dsn;
pub mod engine;
pub mod error;
pub mod events;
pub mod forwarder_set;
pub mod forwarding;
pub mod ports;
pub mod session;
pub mod status;

pub use engine::{Engine, SignInPolicy};
pub use error::CoreError;
pub use events::{CoreEvent, next_event};
pub use forwarder_set::{ForwarderSet, PromptFor};
pub use session::{Session, SessionOrigin};
