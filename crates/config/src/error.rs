//! The configuration error: every message names the file, and where it can, the line and key.

use std::path::PathBuf;

use crate::forms::FieldError;

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

    /// An edit or an import was refused by the same rules as loading the file; nothing was written.
    /// `path` is the file being saved, or the team file being imported.
    #[error("{}: {}", path.display(), first_of(errors))]
    Rejected { path: PathBuf, errors: Vec<FieldError> },

    /// Saving failed; the file on disk is as it was.
    #[error("cannot write configuration {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file was changed by something else (an editor) since it was opened; saving would lose that.
    #[error("{} changed on disk since it was opened: reload it and make the change again", path.display())]
    ChangedOnDisk { path: PathBuf },

    /// A team config with no `[idp.NAME]` or `[db.NAME]` table.
    #[error("{}: nothing to import: a team config holds [idp.NAME] and [db.NAME] tables", path.display())]
    NothingToImport { path: PathBuf },
}

/// The first problem, and how many more there are.
fn first_of(errors: &[FieldError]) -> String {
    match errors {
        [] => "refused".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

impl ConfigError {
    /// This error as problems addressed to the settings forms: a refused edit's field errors,
    /// a loader error placed on its table and key, anything else as one problem with the file.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            ConfigError::Rejected { errors, .. } => errors.clone(),
            ConfigError::Invalid { key, message, .. } => vec![FieldError::at_key(key, message, &[])],
            other => vec![FieldError { table: String::new(), field: None, message: other.to_string() }],
        }
    }
}
