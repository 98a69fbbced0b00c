//! [`UiEvent`]: everything Rust pushes to the window, all on the one event name [`UI_EVENT`].

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Overview, PromptView};

/// The Tauri event name the UI listens on.
pub const UI_EVENT: &str = "tapgate:ui";

/// A push from the shell to the window. The UI is driven by these, not by polling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum UiEvent {
    /// The state changed (sign-in, connect, a connection opened or closed, config saved).
    Overview { overview: Overview },
    /// A sign-in needs the person: bring the prompt forward.
    Prompt { prompt: PromptView },
    /// The ceremony `id` is over (signed in, failed or cancelled): hide its prompt.
    PromptClosed {
        #[ts(type = "number")]
        id: u64,
    },
    /// A connection or sign-in was recorded: the history view should reload.
    HistoryChanged,
    /// A step of the built-in demo's start-up.
    DemoProgress { step: DemoStep },
    /// Something to tell the person in the window (errors, "Saved").
    Notice { notice: Notice },
    /// Show a view (the tray's "Open Tapgate", a prompt, a second launch).
    Navigate { view: ViewName },
}

/// A step of the demo's start-up: "Starting PostgreSQL 18", then done with a detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DemoStep {
    pub step: String,
    pub detail: Option<String>,
    pub done: bool,
}

/// A message for the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum NoticeLevel {
    Info,
    Error,
}

/// The window's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ViewName {
    Databases,
    History,
    Settings,
}
