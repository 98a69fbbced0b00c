//! Tapgate's local state on the user's machine.
//!
//! # Layout
//! - [`token_cache`]: [`TokenCache`], tokens in the OS keyring (Secret Service, Keychain,
//!   Credential Manager), one entry per IdP, with an in-memory fallback when no keyring is
//!   available.
//! - [`cached_session`]: [`CachedSession`], what one keyring entry holds.
//! - [`history`]: connections and sign-ins in SQLite, written by one thread off the relay's path.
//! - [`outcome`]: [`ConnectionOutcome`], [`SignInMethod`], [`SignInOutcome`]: what the history records, as types.
//! - [`error`]: the crate's error type, [`StoreError`].
//!
//! Tokens are never written to a plain file: the keyring or this process's memory, nothing else.

pub mod cached_session;
pub mod error;
pub mod history;
pub mod outcome;
pub mod token_cache;

pub use cached_session::CachedSession;
pub use error::StoreError;
pub use history::{
    ConnectionEnd, ConnectionRecord, HistoryQuery, HistoryReader, HistoryWriter, SignInRecord, history_path,
};
pub use outcome::{ConnectionOutcome, SignInMethod, SignInOutcome};
pub use token_cache::{CacheBackend, TokenCache};
