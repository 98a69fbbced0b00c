//! `tapgate-desktop`: Tapgate in the system tray.
//!
//! # Layout
//! - [`app`]: [`app::run_app`], the Tauri wiring: plugins, the window, the tray, the run loop.
//! - [`shell`]: [`shell::Shell`], the app's state: which config is active (the user's, the demo,
//!   none), the engine and its forwarders, last errors, and the actions on them.
//! - [`overview`]: the [`Overview`] the UI shows, built from the shell's state and the engine.
//! - [`active`]: one loaded configuration with its engine and forwarders.
//! - [`config_watch`]: follows edits of the config file made outside the app.
//! - [`commands`]: the thin `#[tauri::command]`s the UI calls through `ui/src/api`.
//! - [`prompt`]: the sign-in prompt bridge: the engine's key ceremony ↔ the window's prompt.
//! - [`pump`]: engine events → UI events, tray updates and notifications; the tray's timer.
//! - [`tray`]: the tray menu and icon, drawn from `tapgate_desktop_model::tray`.
//! - [`notifications`]: desktop notifications (notify-rust); a missing notification service is fine.
//! - [`window`]: showing, focusing and hiding the main window.
//! - [`terminal`]: "Open psql in a terminal".
//! - [`demo`]: the built-in demo (`tapgate-demo`) started from the window or the tray.
//!
//! [`Overview`]: tapgate_desktop_model::Overview

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod active;
mod app;
mod commands;
mod config_watch;
mod demo;
mod notifications;
mod overview;
mod prompt;
mod pump;
mod shell;
mod terminal;
#[cfg(feature = "test-clock")]
mod test_clock;
mod tray;
mod window;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TAPGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,tapgate=info"))
                // aws-sigv4's trace lines hold the canonical request, session token included.
                .add_directive(tapgate_core::NEVER_LOGGED.parse().expect("a valid directive")),
        )
        .with_writer(std::io::stderr)
        .init();
    match app::run_app(tauri::Builder::default()) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("tapgate-desktop: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
