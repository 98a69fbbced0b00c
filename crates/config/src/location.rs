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
