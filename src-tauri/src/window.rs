//! The main window: created at start, or — when Tapgate starts hidden in the tray (at login) —
//! only when first needed, so an idle tray app carries no web view; shown and focused on demand;
//! hidden, not destroyed, when closed. Forwarders and state live in Rust either way.

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder, WindowEvent};

/// The main window's label (also in `capabilities/main.json`).
pub const MAIN: &str = "main";

/// Creates the main window; `visible` when Tapgate should show itself at start.
pub fn create(app: &AppHandle, visible: bool) -> tauri::Result<WebviewWindow> {
    let window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("Tapgate")
        .inner_size(1000.0, 700.0)
        .min_inner_size(720.0, 480.0)
        .visible(visible)
        .build()?;
    let hide_on_close = window.clone();
    window.on_window_event(move |event| {
        if let WindowEvent::CloseRequested { api, .. } = event {
            // Closing hides: the tray and the forwarders keep running.
            api.prevent_close();
            let _ = hide_on_close.hide();
        }
    });
    Ok(window)
}

/// Brings the main window forward, creating it if Tapgate started hidden.
pub fn show(app: &AppHandle) {
    let window = match app.get_webview_window(MAIN) {
        Some(window) => window,
        None => match create(app, true) {
            Ok(window) => window,
            Err(e) => {
                tracing::warn!("cannot open the Tapgate window: {e}");
                return;
            }
        },
    };
    let _ = window.show();
    let _ = window.unminimize();
    let _ = window.set_focus();
}
