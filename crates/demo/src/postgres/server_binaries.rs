//! Finding PostgreSQL 18's server binaries (`postgres`, `initdb`, `pg_ctl`), and installing them
//! with `scripts/install-pg18.sh` when the demo runs from a Tapgate checkout that has none yet.

use std::path::PathBuf;
use std::process::Stdio;

use crate::binaries::{DemoBinaries, INSTALL_PG18};
use crate::error::DemoError;
use crate::processes;

/// The PostgreSQL 18 server binaries' folder: the one given to [`DemoBinaries`], else what
/// scripts/install-pg18.sh installed (running it when the demo's executable sits in a Tapgate
/// checkout and nothing is installed yet). Returns the folder and whether it installed now.
pub async fn find_binaries(binaries: &DemoBinaries) -> Result<(PathBuf, bool), DemoError> {
    if let Some(dir) = binaries.postgres_bin().map(PathBuf::from) {
        if !dir.join("postgres").is_file() {
            return Err(DemoError::BadPostgresBin(dir));
        }
        return Ok((dir, false));
    }
    let Some(repo) = binaries.checkout() else {
        return Err(DemoError::NoPostgres);
    };
    if let Ok(text) = std::fs::read_to_string(repo.join(".cache/pg18.path")) {
        let dir = PathBuf::from(text.trim());
        if dir.join("postgres").is_file() && dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return Ok((dir, false));
        }
    }
    let script = repo.join(INSTALL_PG18);
    let out = processes::command(&script)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| DemoError::Run { program: script.clone(), error })?;
    if !out.status.success() {
        let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(DemoError::InstallPostgres { script, detail });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout.lines().last().map(|l| PathBuf::from(l.trim())).unwrap_or_default();
    if !dir.join("postgres").is_file() {
        let detail = format!("it printed no bin folder (got {:?})", stdout.trim());
        return Err(DemoError::InstallPostgres { script, detail });
    }
    Ok((dir, true))
}
