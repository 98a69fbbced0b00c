//! Follows the config file: an edit made outside the app (an editor, `tapgate` scripts, a team
//! tool) is picked up without a restart. Saves from the Settings view come back here too and
//! change nothing, because the resolved configuration is compared before anything restarts.

use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::shell::Shell;

/// Editors save in bursts (write a temp file, rename, touch): the debouncer waits this long for
/// the burst to end and reports it once.
const SETTLE: Duration = Duration::from_millis(300);

/// Keeps the file watcher alive for the life of the app.
pub struct ConfigWatch {
    _watcher: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
}

/// Starts watching the folder of the config file (the file itself may not exist yet, and
/// editors replace it by renaming, which a watch on the file would lose).
pub fn start(shell: Arc<Shell>) -> ConfigWatch {
    let path = shell.config_path.clone();
    let (Some(dir), Some(name)) =
        (path.parent().map(|d| d.to_path_buf()), path.file_name().map(|n| n.to_owned()))
    else {
        return ConfigWatch { _watcher: None };
    };
    let (changed, mut changes) = tokio::sync::mpsc::unbounded_channel();
    let watcher = new_debouncer(SETTLE, None, move |result: DebounceEventResult| {
        let ours = result.is_ok_and(|events| {
            events.iter().any(|e| e.paths.iter().any(|p| p.file_name() == Some(name.as_os_str())))
        });
        if ours {
            let _ = changed.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(watcher) => watcher,
        Err(e) => {
            tracing::warn!("cannot follow changes of {}: {e}", path.display());
            return ConfigWatch { _watcher: None };
        }
    };
    // The folder is Tapgate's own (`~/.config/tapgate`) unless TAPGATE_CONFIG points elsewhere.
    let _ = std::fs::create_dir_all(&dir);
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!("cannot follow changes of {}: {e}", path.display());
        return ConfigWatch { _watcher: None };
    }
    tauri::async_runtime::spawn(async move {
        while changes.recv().await.is_some() {
            // Reloads that queued while one ran become one.
            while changes.try_recv().is_ok() {}
            shell.reload_after_edit().await;
        }
    });
    ConfigWatch { _watcher: Some(watcher) }
}
