//! The built-in demo from the window or the tray: `tapgate-demo` starts the dev IdP, a
//! PostgreSQL 18 with Tapgate's OAuth validator and a software key; the app then runs the demo
//! config's forwarders in-process. Start-up steps appear in the window as they happen.

use std::sync::Arc;

use tapgate_config::Config;
use tapgate_core::Context;
use tapgate_demo::progress::Silent;
use tapgate_demo::{DemoBinaries, DemoDir, DemoEnvironment, Progress};
use tapgate_desktop_model::{AppMode, CommandError, DemoStep, NoticeLevel, UiEvent};
use tokio_util::sync::CancellationToken;

use crate::shell::Shell;

/// Progress shown in the window.
struct WindowProgress(Arc<Shell>);

impl Progress for WindowProgress {
    fn started(&self, step: &str) {
        self.0
            .emit(UiEvent::DemoProgress { step: DemoStep { step: step.into(), detail: None, done: false } });
    }

    fn finished(&self, step: &str, detail: &str) {
        let detail = (!detail.is_empty()).then(|| detail.to_string());
        self.0.emit(UiEvent::DemoProgress { step: DemoStep { step: step.into(), detail, done: true } });
    }
}

/// Starts the demo and makes its config the active one. Does nothing if it already runs.
pub async fn start(shell: Arc<Shell>) -> Result<(), CommandError> {
    let mut demo = shell.demo.lock().await;
    if demo.is_some() {
        return Ok(());
    }
    let previous_mode = shell.mode();
    shell.set_mode(AppMode::StartingDemo);
    shell.publish().await;
    match bring_up(&shell).await {
        Ok((environment, config)) => {
            // The demo's engine keeps its history, ports and status in the demo folder, never
            // in the person's own.
            let data = environment.data_dir();
            let context = Context::new(&data, data.join("run"));
            *demo = Some(environment);
            drop(demo);
            shell.activate(config, context, AppMode::Demo).await?;
            shell.publish_full().await;
            Ok(())
        }
        Err(message) => {
            shell.set_mode(previous_mode);
            shell.notice(NoticeLevel::Error, format!("The demo did not start: {message}"));
            shell.publish().await;
            Err(CommandError::new(message))
        }
    }
}

async fn bring_up(shell: &Arc<Shell>) -> Result<(DemoEnvironment, Config), String> {
    let data_dir = tapgate_config::data_dir().map_err(|e| e.to_string())?;
    let dir = DemoDir::open(DemoDir::default_under(&data_dir)).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?;
    let pg18 = std::env::var_os("TAPGATE_PG18_BIN").filter(|v| !v.is_empty()).map(Into::into);
    let binaries = DemoBinaries::beside(&exe).map_err(|e| e.to_string())?.with_postgres_bin(pg18);
    let progress = WindowProgress(shell.clone());
    let environment = DemoEnvironment::start(&dir, &binaries, &progress, &CancellationToken::new())
        .await
        .map_err(|e| e.to_string())?;
    match crate::shell::load_config(environment.config_path()).await {
        Ok(config) => Ok((environment, config)),
        Err(e) => {
            environment.stop(&Silent).await;
            Err(e.to_string())
        }
    }
}
