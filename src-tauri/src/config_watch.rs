//! Follows the config file: an edit made outside the app (an editor, `tapgate` scripts, a team
//! tool) is picked up without a restart. Saves from the Settings view come back here too and
//! change nothing, because the resolved configuration is compared before anything restarts.

use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::{self, PollWatcher, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{
    DebounceEventHandler, DebounceEventResult, Debouncer, NoCache, RecommendedCache, new_debouncer,
    new_debouncer_opt,
};

use crate::shell::Shell;

/// Editors save in bursts (write a temp file, rename, touch): the debouncer waits this long for
/// the burst to end and reports it once.
const SETTLE: Duration = Duration::from_millis(300);

/// How often the fallback watcher looks at the folder when the system's file events are not
/// available (inotify instances are a per-user quota that other programs can use up).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Keeps the file watcher alive for the life of the app.
pub struct ConfigWatch {
    _watcher: Option<ActiveWatcher>,
}

/// The system's file events when it gives them, else a poller. Held, never read: dropping it
/// stops the watching.
enum ActiveWatcher {
    Events(#[allow(dead_code)] Debouncer<RecommendedWatcher, RecommendedCache>),
    Polling(#[allow(dead_code)] Debouncer<PollWatcher, NoCache>),
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
    let on_events = move |result: DebounceEventResult| {
        let ours = result.is_ok_and(|events| {
            events.iter().any(|e| e.paths.iter().any(|p| p.file_name() == Some(name.as_os_str())))
        });
        if ours {
            let _ = changed.send(());
        }
    };
    // The folder is Tapgate's own (`~/.config/tapgate`) unless TAPGATE_CONFIG points elsewhere.
    let _ = std::fs::create_dir_all(&dir);
    let watcher = match watch_with_events(&dir, on_events.clone()) {
        Ok(watcher) => watcher,
        Err(events_error) => {
            tracing::warn!(
                "file events for {} are not available ({events_error}); looking for changes every {}s instead",
                path.display(),
                POLL_EVERY.as_secs()
            );
            match watch_by_polling(&dir, on_events) {
                Ok(watcher) => watcher,
                Err(e) => {
                    tracing::warn!("cannot follow changes of {}: {e}", path.display());
                    return ConfigWatch { _watcher: None };
                }
            }
        }
    };
    tauri::async_runtime::spawn(async move {
        while changes.recv().await.is_some() {
            // Reloads that queued while one ran become one.
            while changes.try_recv().is_ok() {}
            shell.reload_after_edit().await;
        }
    });
    ConfigWatch { _watcher: Some(watcher) }
}

fn watch_with_events(
    dir: &std::path::Path,
    on_events: impl DebounceEventHandler,
) -> notify::Result<ActiveWatcher> {
    let mut debouncer = new_debouncer(SETTLE, None, on_events)?;
    debouncer.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(ActiveWatcher::Events(debouncer))
}

fn watch_by_polling(
    dir: &std::path::Path,
    on_events: impl DebounceEventHandler,
) -> notify::Result<ActiveWatcher> {
    // Contents are compared too: an edit within the file system's timestamp resolution would
    // otherwise go unseen. The file is small.
    let config = notify::Config::default().with_poll_interval(POLL_EVERY).with_compare_contents(true);
    let mut debouncer = new_debouncer_opt::<_, PollWatcher, _>(SETTLE, None, on_events, NoCache, config)?;
    debouncer.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(ActiveWatcher::Polling(debouncer))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The fallback must see an edit on its own, as the events watcher does: it is what the
    /// app runs on when another program has used up the person's inotify instances.
    #[test]
    fn the_polling_fallback_reports_an_edit_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "[db.prod]\n").unwrap();
        let (seen, edits) = std::sync::mpsc::channel();
        let _watcher = watch_by_polling(dir.path(), move |result: DebounceEventResult| {
            if let Ok(events) = result {
                for path in events.iter().flat_map(|e| e.paths.clone()) {
                    let _ = seen.send(path);
                }
            }
        })
        .unwrap();
        std::fs::write(&file, "[db.prod]\n[db.staging]\n").unwrap();
        let path = edits.recv_timeout(Duration::from_secs(30)).expect("no change reported");
        assert_eq!(path.file_name(), file.file_name());
    }
}
