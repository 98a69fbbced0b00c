//! Argument and error types of the app's commands (`src-tauri/src/commands.rs`).

use serde::{Deserialize, Serialize};
use tapgate_config::{DbForm, FieldError, IdpForm};
use ts_rs::TS;

/// Every command's error: a sentence for people, plus per-field problems for the settings forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub message: String,
    pub field_errors: Vec<FieldError>,
}

impl CommandError {
    /// An error with only a message.
    pub fn new(message: impl Into<String>) -> CommandError {
        CommandError { message: message.into(), field_errors: Vec::new() }
    }

    /// Problems with the settings forms, addressed to their fields.
    pub fn fields(field_errors: Vec<FieldError>) -> CommandError {
        let message = match field_errors.as_slice() {
            [one] => one.message.clone(),
            many => format!("{} problems in the settings; see the marked fields", many.len()),
        };
        CommandError { message, field_errors }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Connection string formats (the tray's Copy submenu and the card's copy buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DsnFormatView {
    /// The URI, naming the Unix-domain socket where there is one.
    Uri,
    Keyword,
    Jdbc,
    Psql,
    /// The URI on 127.0.0.1, for GUI clients that speak only TCP.
    Tcp,
}

/// The settings view: the config file's IdPs and databases as forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub config_path: String,
    pub idps: Vec<IdpForm>,
    pub databases: Vec<DbForm>,
}

/// One edit of the settings, validated by the config file's rules before it is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum SettingsChange {
    /// Add an IdP, or change the one called `previous_name` (which may rename it).
    UpsertIdp {
        form: IdpForm,
        previous_name: Option<String>,
    },
    /// Add a database, or change the one called `previous_name`.
    UpsertDb {
        form: DbForm,
        previous_name: Option<String>,
    },
    RemoveIdp {
        name: String,
    },
    RemoveDb {
        name: String,
    },
}
