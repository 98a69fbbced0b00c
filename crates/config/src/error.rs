//! The configuration error: every message names the file, and where it can, the line and key.

use std::path::PathBuf;

/// Why a configuration could not be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// There is no file at the chosen location.
    #[error("no configuration file at {path}: create it (see docs/configuration.md) or pass --config PATH")]
    NotFound { path: PathBuf },

    /// The file exists but cannot be read.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid TOML, or a table has a key Tapgate does not know or lacks a required one.
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        /// Dotted key path, e.g. `idp.corp.issuer`.
        key: String,
        message: String,
    },

    /// The file has no `[idp.NAME]` table.
    #[error("{}: no IdP configured: add an [idp.NAME] table (see docs/configuration.md)", path.display())]
    NoIdps { path: PathBuf },

    /// A command named an IdP the file does not have.
    #[error("no IdP named `{name}` in {} (configured: {})", path.display(), known.join(", "))]
    UnknownIdp { name: String, path: PathBuf, known: Vec<String> },

    /// A command named a database the file does not have.
    #[error("no database named `{name}` in {} (configured: {})", path.display(), if known.is_empty() { "none: add a [db.NAME] table".to_string() } else { known.join(", ") })]
    UnknownDb { name: String, path: PathBuf, known: Vec<String> },

    /// Several IdPs are configured and the command did not say which.
    #[error("several IdPs are configured ({}): name one", known.join(", "))]
    AmbiguousIdp { known: Vec<String> },

    /// No location could be worked out for the file (no home directory).
    #[error("cannot find a configuration directory: set TAPGATE_CONFIG or pass --config PATH")]
    NoConfigDir,
}
