//! The store's error type.

/// Why the token cache could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The keyring answered with an error (locked, denied, gone).
    #[error("the OS keyring failed: {0}")]
    Keyring(String),
    /// A keyring entry holds something that is not a Tapgate session (it is then ignored and replaced).
    #[error("the keyring entry for {idp} is not readable: {reason}")]
    Corrupt { idp: String, reason: String },
    /// The history database failed.
    #[error("history: {0}")]
    History(String),
    /// The blocking keyring call could not be run.
    #[error("keyring task failed: {0}")]
    Task(String),
}
