//! Where the configuration file lives.
//!
//! Order: an explicit `--config PATH`, then `TAPGATE_CONFIG`, then
//! `$XDG_CONFIG_HOME/tapgate/config.toml` (the platform config dir on macOS and Windows).

use std::path::PathBuf;

use crate::ConfigError;

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "TAPGATE_CONFIG";

/// The configuration path to use, given an optional `--config` argument.
pub fn config_path(explicit: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    // dirs::config_dir honours XDG_CONFIG_HOME on Linux and falls back to ~/.config.
    let dir = dirs::config_dir().ok_or(ConfigError::NoConfigDir)?;
    Ok(dir.join("tapgate").join("config.toml"))
}

/// Environment variable naming Tapgate's data folder (history, remembered ports).
pub const DATA_DIR_ENV: &str = "TAPGATE_DATA_DIR";

/// Tapgate's data folder: `TAPGATE_DATA_DIR`, else `$XDG_DATA_HOME/tapgate` (the platform data dir
/// elsewhere). It holds history and remembered ports; never tokens.
pub fn data_dir() -> Result<PathBuf, ConfigError> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(dirs::data_dir().ok_or(ConfigError::NoConfigDir)?.join("tapgate"))
}

/// The person's `.pgpass`, where local passwords go: `PGPASSFILE` (as libpq reads it), else
/// `.pgpass` in the home folder.
pub fn pgpass_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    dirs::home_dir().map(|home| home.join(".pgpass"))
}

/// Where running Tapgate processes announce their forwarders for `tapgate status`:
/// `$XDG_RUNTIME_DIR/tapgate`, else `run/` in the data folder.
pub fn runtime_dir() -> Result<PathBuf, ConfigError> {
    match dirs::runtime_dir() {
        Some(dir) if std::env::var_os(DATA_DIR_ENV).is_none() => Ok(dir.join("tapgate")),
        _ => Ok(data_dir()?.join("run")),
    }
}
