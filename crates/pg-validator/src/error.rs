//! The crate's one error type: what makes the module answer "internal error" rather than a
//! refusal (PostgreSQL then logs "internal error in OAuth validator module" and the login fails).

use std::path::PathBuf;

/// An internal error of the validator module. A token that fails a check is not an error: it is
/// a refused [`crate::Outcome`].
#[derive(Debug, thiserror::Error)]
pub enum ValidatorError {
    /// No configuration file in any of the places the module looks.
    #[error(
        "no verifier configuration: set TAPGATE_VERIFY_CONFIG for the server, or create {} (tried {})",
        default.display(),
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoConfig { default: PathBuf, tried: Vec<PathBuf> },

    /// A configuration file in the data directory that the module must not believe.
    #[error("configuration not trusted: {reason}")]
    Untrusted { reason: String },

    /// The configuration exists but cannot be read or is invalid.
    #[error("{0}")]
    Config(#[from] tapgate_verify::VerifyError),

    /// PostgreSQL passed a null pointer where the ABI promises a string or a result.
    #[error("PostgreSQL passed no {what}")]
    NullArgument { what: &'static str },

    /// A panic inside the module, caught before it could unwind into PostgreSQL.
    #[error("the validator module panicked: {0}")]
    Panic(String),
}
