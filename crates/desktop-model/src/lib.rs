//! What the Tapgate desktop app shows, kept apart from Tauri so it is tested as plain Rust and
//! typed once for the TypeScript UI (ts-rs; `tests/bindings.rs` writes `ui/src/api/bindings/`).
//!
//! # Layout
//! - [`view`]: the state the window shows: [`Overview`] with one [`IdpView`] per IdP and one
//!   [`DatabaseView`] per database.
//! - [`prompt`]: the sign-in prompt ("Touch your security key for corp") and its answers.
//! - [`history`]: history rows, the filter, connections per day and the CSV export.
//! - [`event`]: [`UiEvent`], everything Rust pushes to the window, on one event name.
//! - [`command`]: the error every command returns ([`CommandError`]) and command argument types.
//! - [`countdown`]: "12:41 left" text shared by the tray and notifications.
//! - [`tray`]: the tray menu and icon as data, built from an [`Overview`].
//! - [`overview`]: the [`Overview`] itself, built from the configuration, session and forwarder
//!   facts and the time.

pub mod command;
pub mod countdown;
pub mod event;
pub mod history;
pub mod overview;
pub mod prompt;
pub mod tray;
pub mod view;

pub use command::{CommandError, DsnFormatView, SettingsChange, SettingsView};
pub use event::{DemoStep, Notice, NoticeLevel, UI_EVENT, UiEvent, ViewName};
pub use history::{DayCount, HistoryFilter, HistoryPage, HistoryRow};
pub use prompt::{PromptAnswer, PromptStage, PromptView};
pub use view::{AppMode, ConnectionStrings, DatabaseView, IdpView, KeyKindView, Overview};
