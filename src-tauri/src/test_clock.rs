//! Test builds only (cargo feature `test-clock`): the app's clock is the system clock shifted by
//! the seconds in `TAPGATE_TEST_CLOCK_FILE`, the file the end-to-end tests share with the dev
//! IdP and the CLI, so a test lets a token near its end or expire without waiting for it.
//!
//! Moving the clock is an event like any other for the app: when the file changes, the
//! overview is rebuilt and the tray clock wakes, exactly as after a sign-in.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tapgate_core::{Context, ShiftFileClock};

use crate::shell::Shell;

const VARIABLE: &str = "TAPGATE_TEST_CLOCK_FILE";

/// Keeps the file watcher alive for the life of the app.
pub struct TestClockWatch {
    _watcher: Option<Debouncer<RecommendedWatcher, RecommendedCache>>,
}

fn clock_file() -> Option<PathBuf> {
    std::env::var_os(VARIABLE).map(PathBuf::from)
}

/// The person's context on the shifted clock, when the variable is set.
pub fn apply(context: Context) -> Context {
    match clock_file() {
        Some(file) => context.with_clock(Arc::new(ShiftFileClock::new(file))),
        None => context,
    }
}

/// Republishes the overview whenever the clock file is written.
pub fn follow(shell: Arc<Shell>) -> TestClockWatch {
    let Some((dir, file)) = clock_file().and_then(|f| Some((f.parent()?.to_path_buf(), f))) else {
        return TestClockWatch { _watcher: None };
    };
    let (moved, mut moves) = tokio::sync::mpsc::unbounded_channel();
    let watcher = new_debouncer(Duration::from_millis(50), None, move |result: DebounceEventResult| {
        // Only writes: the clock reads the file at every tick, and reads are events too.
        let written = |e: &notify_debouncer_full::DebouncedEvent| {
            (e.kind.is_create() || e.kind.is_modify()) && e.paths.contains(&file)
        };
        if result.is_ok_and(|events| events.iter().any(written)) {
            let _ = moved.send(());
        }
    });
    let Ok(mut watcher) = watcher else { return TestClockWatch { _watcher: None } };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!("cannot follow the test clock in {}: {e}", dir.display());
        return TestClockWatch { _watcher: None };
    }
    tauri::async_runtime::spawn(async move {
        while moves.recv().await.is_some() {
            while moves.try_recv().is_ok() {}
            tracing::info!("the test clock moved");
            shell.publish_full().await;
        }
    });
    TestClockWatch { _watcher: Some(watcher) }
}
