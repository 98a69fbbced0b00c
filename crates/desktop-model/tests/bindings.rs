//! Writes the TypeScript bindings of the UI contract to `ui/src/api/bindings/` and fails when
//! the checked-in files were stale, so a change to a Rust type cannot reach the UI unnoticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tapgate_desktop_model::{
    CommandError, HistoryFilter, HistoryPage, PromptAnswer, SettingsChange, SettingsView, UiEvent,
};
use ts_rs::TS;

fn bindings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/api/bindings")
}

fn read_all(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    std::fs::read_to_string(e.path()).ok().map(|text| (name, text))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn typescript_bindings_are_up_to_date() {
    let fresh = tempfile::tempdir().expect("temp dir");
    let cfg = ts_rs::Config::new().with_out_dir(fresh.path()).with_large_int("number");
    UiEvent::export_all(&cfg).expect("export UiEvent");
    CommandError::export_all(&cfg).expect("export CommandError");
    HistoryFilter::export_all(&cfg).expect("export HistoryFilter");
    HistoryPage::export_all(&cfg).expect("export HistoryPage");
    PromptAnswer::export_all(&cfg).expect("export PromptAnswer");
    SettingsChange::export_all(&cfg).expect("export SettingsChange");
    SettingsView::export_all(&cfg).expect("export SettingsView");
    tapgate_desktop_model::DsnFormatView::export_all(&cfg).expect("export DsnFormatView");
    tapgate_config::ImportSummary::export_all(&cfg).expect("export ImportSummary");

    let generated = read_all(fresh.path());
    let checked_in = read_all(&bindings_dir());
    let stale = generated != checked_in;
    if stale {
        let dir = bindings_dir();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create bindings dir");
        for (name, text) in &generated {
            std::fs::write(dir.join(name), text).expect("write binding");
        }
    }
    assert!(
        !stale,
        "ui/src/api/bindings was stale and has been regenerated ({} files); review and commit it",
        generated.len()
    );
}
