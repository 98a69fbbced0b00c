//! The main window: created once (hidden when Tapgate starts in the tray), shown and focused
//! on demand, hidden — never destroyed — when closed, so forwarders and state live on.

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

/// Brings the main window forward.
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
