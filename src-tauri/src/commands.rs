//! The commands the window calls (through `ui/src/api`, typed by `tapgate-desktop-model`).
//! Each is a few lines over the [`Shell`], the engine or the config crate; errors become a
//! [`CommandError`] only here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tapgate_config::{ConfigDocument, ConfigError, FieldError, ImportSummary};
use tapgate_core::{ConnectionRecord, Engine, HistoryQuery, SignInPolicy};
use tapgate_desktop_model::history::{self, HistoryRow};
use tapgate_desktop_model::{
    AppMode, CommandError, DatabaseView, DsnFormatView, HistoryFilter, HistoryPage, Overview, PromptAnswer,
    PromptView, SettingsChange, SettingsView,
};
use tauri::State;

use crate::shell::{Shell, now_ms};

type Shared<'a> = State<'a, Arc<Shell>>;
type Result<T> = std::result::Result<T, CommandError>;

#[tauri::command]
pub async fn get_overview(shell: Shared<'_>) -> Result<Overview> {
    Ok(shell.overview().await)
}

/// The sign-in prompt waiting for the person, for a window that opens while it waits.
#[tauri::command]
pub fn get_prompt(shell: Shared<'_>) -> Option<PromptView> {
    shell.prompts.current()
}

#[tauri::command]
pub async fn connect(shell: Shared<'_>, database: String) -> Result<DatabaseView> {
    shell.inner().clone().connect(&database).await
}

#[tauri::command]
pub async fn disconnect(shell: Shared<'_>, database: String) -> Result<()> {
    shell.disconnect(&database).await
}

#[tauri::command]
pub async fn sign_in(shell: Shared<'_>, idp: String) -> Result<()> {
    shell.inner().clone().sign_in(&idp, SignInPolicy::Reuse).await
}

#[tauri::command]
pub async fn sign_out(shell: Shared<'_>, idp: String) -> Result<()> {
    shell.sign_out(&idp).await
}

#[tauri::command]
pub async fn copy_connection_string(
    shell: Shared<'_>,
    database: String,
    format: DsnFormatView,
) -> Result<String> {
    shell.copy_connection_string(&database, format).await
}

#[tauri::command]
pub async fn open_psql(shell: Shared<'_>, database: String) -> Result<()> {
    shell.open_psql(&database).await
}

#[tauri::command]
pub fn answer_prompt(shell: Shared<'_>, id: u64, answer: PromptAnswer) {
    shell.prompts.answer(id, answer);
}

#[tauri::command]
pub async fn get_history(shell: Shared<'_>, filter: HistoryFilter) -> Result<HistoryPage> {
    let engine = shell.active().await?.engine.clone();
    tauri::async_runtime::spawn_blocking(move || read_history(&engine, &filter))
        .await
        .map_err(|e| CommandError::new(format!("reading the history failed: {e}")))?
}

#[tauri::command]
pub async fn export_history_csv(shell: Shared<'_>, filter: HistoryFilter) -> Result<String> {
    let engine = shell.active().await?.engine.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let page = read_history(&engine, &HistoryFilter { limit: Some(100_000), ..filter })?;
        let dir = dirs::download_dir().or_else(dirs::home_dir).unwrap_or_else(std::env::temp_dir);
        let path = dir.join(history::export_file_name(now_ms()));
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, history::to_csv(&page.rows)))
            .map_err(|e| CommandError::new(format!("cannot write {}: {e}", path.display())))?;
        Ok(path.display().to_string())
    })
    .await
    .map_err(|e| CommandError::new(format!("exporting the history failed: {e}")))?
}

/// Rows newest first (text-filtered) and the per-day chart over the same filter, from the
/// active engine's history (the demo's own while the demo runs).
fn read_history(engine: &Engine, filter: &HistoryFilter) -> Result<HistoryPage> {
    let records = engine
        .connections(&HistoryQuery { database: filter.database.clone(), limit: 20_000 })
        .map_err(|e| CommandError::new(e.to_string()))?;
    Ok(history::page(records.into_iter().map(history_row).collect(), filter, now_ms()))
}

fn history_row(r: ConnectionRecord) -> HistoryRow {
    HistoryRow {
        duration_ms: r.ended_at.map(|end| end - r.started_at),
        started_at_ms: r.started_at,
        ended_at_ms: r.ended_at,
        database: r.database,
        role: r.role,
        identity: r.identity,
        application: r.application,
        bytes_up: r.bytes_up,
        bytes_down: r.bytes_down,
        outcome: r.outcome.to_string(),
        error: r.error,
    }
}

// The settings commands read and write config.toml on a blocking thread (`on_config_file`):
// a slow disk never stalls the window's main thread or the async runtime.

#[tauri::command]
pub async fn get_settings(shell: Shared<'_>) -> Result<SettingsView> {
    on_config_file(&shell, |path| Ok(settings_view(&ConfigDocument::load(path).map_err(config_error)?))).await
}

#[tauri::command]
pub async fn check_settings(shell: Shared<'_>, change: SettingsChange) -> Result<Vec<FieldError>> {
    on_config_file(&shell, move |path| {
        let mut document = ConfigDocument::load(path).map_err(config_error)?;
        if let Err(e) = apply(&mut document, &change) {
            return Ok(vec![e]);
        }
        Ok(document.validate().err().unwrap_or_default())
    })
    .await
}

#[tauri::command]
pub async fn save_settings(shell: Shared<'_>, change: SettingsChange) -> Result<SettingsView> {
    let (config, view) = on_config_file(&shell, move |path| {
        let mut document = ConfigDocument::load(path).map_err(config_error)?;
        apply(&mut document, &change).map_err(|e| CommandError::fields(vec![e]))?;
        let config = document.save().map_err(config_error)?;
        Ok((config, settings_view(&document)))
    })
    .await?;
    reload(&shell, config).await?;
    Ok(view)
}

#[tauri::command]
pub async fn import_config(shell: Shared<'_>, path: String) -> Result<ImportSummary> {
    let (config, summary) = on_config_file(&shell, move |config_path| {
        let mut document = ConfigDocument::load(config_path).map_err(config_error)?;
        let summary = document.import(Path::new(&path)).map_err(config_error)?;
        Ok((document.save().map_err(config_error)?, summary))
    })
    .await?;
    reload(&shell, config).await?;
    Ok(summary)
}

/// Runs `work` on the user's config file on a blocking thread.
async fn on_config_file<T: Send + 'static>(
    shell: &Shell,
    work: impl FnOnce(&Path) -> Result<T> + Send + 'static,
) -> Result<T> {
    let path = shell.config_path.clone();
    tauri::async_runtime::spawn_blocking(move || work(&path))
        .await
        .map_err(|e| CommandError::new(format!("editing the settings failed: {e}")))?
}

#[tauri::command]
pub async fn start_demo(shell: Shared<'_>) -> Result<()> {
    crate::demo::start(shell.inner().clone()).await
}

#[tauri::command]
pub async fn set_autostart(shell: Shared<'_>, enabled: bool) -> Result<bool> {
    let now = crate::app::set_autostart(&shell.app, enabled).map_err(CommandError::new)?;
    shell.publish().await;
    Ok(now)
}

/// Makes a saved config the active one (leaving the demo, if it ran).
async fn reload(shell: &Arc<Shell>, config: tapgate_config::Config) -> Result<()> {
    shell.activate(config, shell.person.clone(), AppMode::Configured).await?;
    if let Some(demo) = shell.demo.lock().await.take() {
        demo.stop(&tapgate_demo::progress::Silent).await;
    }
    shell.publish_full().await;
    Ok(())
}

fn apply(document: &mut ConfigDocument, change: &SettingsChange) -> std::result::Result<(), FieldError> {
    match change {
        SettingsChange::UpsertIdp { form, previous_name } => {
            document.upsert_idp(form, previous_name.as_deref())
        }
        SettingsChange::UpsertDb { form, previous_name } => {
            document.upsert_db(form, previous_name.as_deref())
        }
        SettingsChange::RemoveIdp { name } => document.remove_idp(name),
        SettingsChange::RemoveDb { name } => {
            document.remove_db(name);
            Ok(())
        }
    }
}

fn settings_view(document: &ConfigDocument) -> SettingsView {
    SettingsView {
        config_path: PathBuf::from(document.path()).display().to_string(),
        idps: document.idps(),
        databases: document.databases(),
    }
}

/// A config error as form errors (a refusal's field errors, or one error for the whole file).
fn config_error(e: ConfigError) -> CommandError {
    CommandError::fields(e.field_errors())
}
