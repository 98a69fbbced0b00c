//! Where the module reads its verifier configuration (the same `verify.toml` format as
//! `tapgate-pam-verify`), first match wins:
//!
//! 1. `$TAPGATE_VERIFY_CONFIG` in the server's environment (set for the postmaster, inherited by
//!    every backend; e.g. a systemd drop-in `Environment=`). When set, only this path is used.
//! 2. `tapgate-verify.toml` in the backend's working directory, which PostgreSQL sets to the data
//!    directory at startup (`ChangeToDataDir`): one file per cluster.
//! 3. `/etc/tapgate/verify.toml`, shared with the PAM verifier.

use std::path::{Path, PathBuf};

use crate::ValidatorError;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "TAPGATE_VERIFY_CONFIG";
/// The file name looked for in the data directory.
pub const DATA_DIR_FILE: &str = "tapgate-verify.toml";

/// The places to look, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    candidates: Vec<PathBuf>,
}

impl ConfigLocation {
    /// The server's places: the environment variable, the working (data) directory, /etc.
    pub fn from_server_environment() -> ConfigLocation {
        let explicit = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let data_dir = std::env::current_dir().ok();
        ConfigLocation::new(explicit, data_dir.as_deref())
    }

    /// The places for an explicit path (when set) or a data directory.
    pub fn new(explicit: Option<PathBuf>, data_dir: Option<&Path>) -> ConfigLocation {
        let candidates = match explicit {
            Some(path) => vec![path],
            None => data_dir
                .map(|dir| dir.join(DATA_DIR_FILE))
                .into_iter()
                .chain([PathBuf::from(tapgate_verify::DEFAULT_CONFIG_PATH)])
                .collect(),
        };
        ConfigLocation { candidates }
    }

    /// The first place holding a file.
    pub fn resolve(&self) -> Result<PathBuf, ValidatorError> {
        // An explicit path is used even when missing, so its error names it.
        if let [only] = self.candidates.as_slice() {
            return Ok(only.clone());
        }
        self.candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| ValidatorError::NoConfig {
            default: PathBuf::from(tapgate_verify::DEFAULT_CONFIG_PATH),
            tried: self.candidates.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_path_wins_even_when_missing() {
        let location = ConfigLocation::new(Some("/nowhere/v.toml".into()), Some(Path::new("/data")));
        assert_eq!(location.resolve().ok(), Some(PathBuf::from("/nowhere/v.toml")));
    }

    #[test]
    fn the_data_directory_file_comes_before_etc() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(DATA_DIR_FILE), "").expect("write");
        let location = ConfigLocation::new(None, Some(dir.path()));
        assert_eq!(location.resolve().ok(), Some(dir.path().join(DATA_DIR_FILE)));
    }

    #[test]
    fn nothing_found_names_every_place_tried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = ConfigLocation::new(None, Some(dir.path()));
        if Path::new(tapgate_verify::DEFAULT_CONFIG_PATH).exists() {
            return; // A machine with a real installation: nothing to assert.
        }
        let message = location.resolve().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("TAPGATE_VERIFY_CONFIG"), "{message}");
        assert!(message.contains(DATA_DIR_FILE), "{message}");
        assert!(message.contains("/etc/tapgate/verify.toml"), "{message}");
    }
}
