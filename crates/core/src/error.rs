//! The engine's error type: configuration, IdP and store errors, composed.

/// Why the engine could not give a session.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Config(#[from] tapgate_config::ConfigError),
    #[error(transparent)]
    Idp(#[from] tapgate_idp::IdpError),
    #[error(transparent)]
    Store(#[from] tapgate_store::StoreError),
    /// Something on this machine: a port, a file in the data folder.
    #[error("{0}")]
    Local(String),
}
