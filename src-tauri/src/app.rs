//! The Tauri wiring: plugins, state, the window, the tray, commands and the run loop.

use std::sync::Arc;
use std::time::Instant;

use tapgate_core::SignInPolicy;
use tapgate_desktop_model::tray::TrayAction;
use tapgate_desktop_model::{PromptView, UiEvent, ViewName};
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_autostart::{MacosLauncher, ManagerExt};

use crate::notifications::Notifier;
use crate::prompt::{PromptBroker, PromptSurface};

use crate::shell::{Shell, shell_of};
use crate::tray::Tray;

/// The argument autostart passes: start in the tray without showing the window.
pub const HIDDEN_ARG: &str = "--hidden";

/// Builds and runs the app until Quit; returns the exit code.
pub fn run_app(builder: tauri::Builder<tauri::Wry>) -> anyhow::Result<u8> {
    let launched = Instant::now();
    let app = builder
        // First, so a second launch is caught before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            crate::window::show(app);
            shell_of(app).emit(UiEvent::Navigate { view: ViewName::Databases });
        }))
        .plugin(tauri_plugin_autostart::init(MacosLauncher::LaunchAgent, Some(vec![HIDDEN_ARG])))
        .plugin(tauri_plugin_clipboard_manager::init())
        .invoke_handler(tauri::generate_handler![
            crate::commands::get_overview,
            crate::commands::get_prompt,
            crate::commands::connect,
            crate::commands::disconnect,
            crate::commands::sign_in,
            crate::commands::sign_out,
            crate::commands::copy_connection_string,
            crate::commands::open_psql,
            crate::commands::answer_prompt,
            crate::commands::get_history,
            crate::commands::export_history_csv,
            crate::commands::get_settings,
            crate::commands::check_settings,
            crate::commands::save_settings,
            crate::commands::import_config,
            crate::commands::start_demo,
            crate::commands::set_autostart,
        ])
        .setup(move |app| {
            setup(app.handle(), launched)?;
            Ok(())
        })
        .build(tauri::generate_context!())?;
    let code = app.run_return(|_app, event| {
        // The last window closed (it only hides) or the platform asked: stay in the tray.
        // Quit calls `exit(0)`, which comes with a code and goes through.
        if let RunEvent::ExitRequested { api, code: None, .. } = event {
            api.prevent_exit();
        }
    });
    Ok(u8::try_from(code).unwrap_or(1))
}

fn setup(app: &AppHandle, launched: Instant) -> anyhow::Result<()> {
    let config_path = tapgate_config::config_path(None)?;
    let notifier = Arc::new(Notifier::default());
    // `$BROWSER` first (the Unix convention; tests hand the page to a WebDriver session).
    let opener = tapgate_core::browser_command::browser_opener(std::env::var("BROWSER").ok().as_deref());
    let prompts =
        Arc::new(PromptBroker::new(Arc::new(WindowSurface(app.clone()))).with_opener(opener.clone()));
    let mut person = tapgate_core::Context::new(tapgate_config::data_dir()?, tapgate_config::runtime_dir()?)
        .with_browser(opener);
    if let Some(pgpass) = tapgate_config::pgpass_path() {
        person = person.with_pgpass(pgpass);
    }
    #[cfg(feature = "test-clock")]
    let person = crate::test_clock::apply(person);
    let shell = Arc::new(Shell::new(app.clone(), config_path, person, prompts, notifier));
    app.manage(shell.clone());

    // Started hidden (at login): no window, and no web view, until the person or a prompt needs one.
    if !std::env::args().any(|a| a == HIDDEN_ARG) {
        crate::window::create(app, true)?;
    }
    let tray = Arc::new(Tray::create(app)?);

    tauri::async_runtime::spawn(quit_on_signals(shell.clone()));
    app.manage(crate::config_watch::start(shell.clone()));
    #[cfg(feature = "test-clock")]
    app.manage(crate::test_clock::follow(shell.clone()));
    tauri::async_runtime::spawn(async move {
        shell.load_user_config().await;
        tracing::info!(ms = launched.elapsed().as_millis() as u64, "tray ready");
        crate::pump::run_tray_clock(shell, tray).await;
    });
    Ok(())
}

/// Prompts appear in the window (brought forward), as a notification, and on the tray icon.
struct WindowSurface(AppHandle);

impl PromptSurface for WindowSurface {
    fn opened(&self, prompt: &PromptView) {
        let shell = shell_of(&self.0);
        crate::window::show(&self.0);
        shell.emit(UiEvent::Prompt { prompt: prompt.clone() });
        shell.notifier.send(prompt.message.clone(), prompt.reason.clone());
        shell.changed.notify_one();
    }

    fn closed(&self, id: u64) {
        let shell = shell_of(&self.0);
        shell.emit(UiEvent::PromptClosed { id });
        shell.changed.notify_one();
    }
}

/// A click on a tray menu item.
pub fn on_tray_item(app: &AppHandle, id: &str) {
    let Some(action) = TrayAction::parse(id) else { return };
    let shell = shell_of(app);
    tauri::async_runtime::spawn(async move {
        let result = match action {
            TrayAction::ToggleConnection(db) => {
                let listening = shell.last_overview().and_then(|o| o.database(&db).map(|d| d.listening));
                if listening == Some(true) {
                    shell.disconnect(&db).await
                } else {
                    shell.clone().connect(&db).await.map(|_| ())
                }
            }
            TrayAction::Copy(db, format) => shell.copy_connection_string(&db, format).await.map(|_| ()),
            TrayAction::OpenPsql(db) => shell.open_psql(&db).await,
            TrayAction::ToggleSignIn(idp) => {
                let signed_in = shell.last_overview().and_then(|o| o.idp(&idp).map(|i| i.signed_in));
                if signed_in == Some(true) {
                    shell.sign_out(&idp).await
                } else {
                    shell.clone().sign_in(&idp, SignInPolicy::Reuse).await
                }
            }
            TrayAction::StartDemo => {
                crate::window::show(&shell.app);
                crate::demo::start(shell.clone()).await
            }
            TrayAction::OpenWindow => {
                crate::window::show(&shell.app);
                if let Some(prompt) = shell.prompts.current() {
                    shell.emit(UiEvent::Prompt { prompt });
                }
                Ok(())
            }
            TrayAction::ToggleAutostart => {
                let enabled = autostart_enabled(&shell.app);
                let result = set_autostart(&shell.app, !enabled).map(|_| ());
                shell.publish().await;
                result.map_err(tapgate_desktop_model::CommandError::new)
            }
            TrayAction::Quit => {
                quit(&shell).await;
                Ok(())
            }
        };
        if let Err(e) = result {
            shell.notifier.send("Tapgate".into(), Some(e.message.clone()));
            shell.notice(tapgate_desktop_model::NoticeLevel::Error, e.message);
        }
    });
}

/// Quit: drains the forwarders (the same grace as the CLI), stops the demo, exits.
pub async fn quit(shell: &Shell) {
    if let Some(window) = shell.app.get_webview_window(crate::window::MAIN) {
        let _ = window.hide();
    }
    shell.shut_down().await;
    shell.app.exit(0);
}

/// SIGTERM, SIGINT or SIGHUP (logout, `kill`, Ctrl-C in the terminal that started it) quit
/// like the tray's Quit: forwarders drain and the demo's servers stop instead of being orphaned.
async fn quit_on_signals(shell: Arc<Shell>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) =
            (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::hangup()))
        else {
            tracing::warn!("cannot listen for termination signals; quit from the tray to stop cleanly");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
        tracing::info!("signal received: quitting");
        quit(&shell).await;
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_ok() {
            quit(&shell).await;
        }
    }
}

/// Whether Tapgate starts at login.
pub fn autostart_enabled(app: &AppHandle) -> bool {
    app.autolaunch().is_enabled().unwrap_or(false)
}

/// Turns start-at-login on or off; returns the new state.
pub fn set_autostart(app: &AppHandle, enabled: bool) -> Result<bool, String> {
    let launcher = app.autolaunch();
    let result = if enabled { launcher.enable() } else { launcher.disable() };
    result.map_err(|e| format!("cannot change start at login: {e}"))?;
    Ok(autostart_enabled(app))
}
