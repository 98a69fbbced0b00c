//! The Tapgate engine: what the `tapgate` CLI and the desktop app share.
//!
//! # Layout
//! - [`engine`]: [`Engine`], which owns the configuration, the token cache and one IdP client
//!   per IdP, and hands out valid [`Session`]s (cache, then refresh, then a key tap).
//! - [`session`]: [`Session`], a signed-in identity with its token and countdown.
//! - [`events`]: [`CoreEvent`], broadcast to whoever shows things to people (CLI, tray app).
//! - [`error`]: [`CoreError`].

pub mod engine;
pub mod error;
pub mod events;
pub mod session;

pub use engine::{Engine, SignInPolicy};
pub use error::CoreError;
pub use events::CoreEvent;
pub use session::{Session, SessionOrigin};
