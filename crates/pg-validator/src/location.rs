//! Where the module reads its verifier configuration (the same `verify.toml` format as
//! `tapgate-pam-verify`), first match wins:
//!
//! 1. `$TAPGATE_VERIFY_CONFIG` in the server's environment (set for the postmaster, inherited by
//!    every backend; e.g. a systemd drop-in `Environment=`). When set, only this path is used.
//! 2. `/etc/tapgate/verify.toml`, shared with the PAM verifier: the administrator's file.
//! 3. `tapgate-verify.toml` in the backend's working directory, which PostgreSQL sets to the data
//!    directory at startup (`ChangeToDataDir`), only when no file is at 2 and only when it is owned
//!    by the server's OS user and readable by nobody else but its group (0600 or 0640).
//!
//! Why the data directory comes last: anything that can write files as the server's OS user
//! (a superuser's `COPY ... TO`, a member of `pg_write_server_files`) can write there, and the
//! configuration decides which IdP's tokens log in as which role. It used to win over /etc, so
//! such a file could replace the administrator's trust; now it is a fallback for one-cluster
//! setups (the demo, tests), and production should use /etc or the environment variable.
//! Every file is also checked by [`tapgate_verify::FileTrust`] when loaded.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::ValidatorError;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "TAPGATE_VERIFY_CONFIG";
/// The file name looked for in the data directory.
pub const DATA_DIR_FILE: &str = "tapgate-verify.toml";
/// Mode bits a data-directory file must not have: group write or execute, anything for others.
const DATA_DIR_FORBIDDEN_MODE: u32 = 0o037;

/// The places to look, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigLocation {
    explicit: Option<PathBuf>,
    system: PathBuf,
    data_dir_file: Option<PathBuf>,
    /// The server's OS user, which must own a data-directory file.
    server_uid: Option<u32>,
}

impl ConfigLocation {
    /// The server's places: the environment variable, /etc, the working (data) directory.
    pub fn from_server_environment() -> ConfigLocation {
        let explicit = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()).map(PathBuf::from);
        let data_dir = std::env::current_dir().ok();
        ConfigLocation::new(explicit, data_dir.as_deref())
    }

    /// The places for an explicit path (when set), /etc, or a data directory.
    pub fn new(explicit: Option<PathBuf>, data_dir: Option<&Path>) -> ConfigLocation {
        ConfigLocation::with_system_path(
            explicit,
            PathBuf::from(tapgate_verify::DEFAULT_CONFIG_PATH),
            data_dir,
        )
    }

    /// As [`ConfigLocation::new`] with another system-wide path (tests).
    pub fn with_system_path(
        explicit: Option<PathBuf>,
        system: PathBuf,
        data_dir: Option<&Path>,
    ) -> ConfigLocation {
        ConfigLocation {
            explicit,
            system,
            data_dir_file: data_dir.map(|dir| dir.join(DATA_DIR_FILE)),
            server_uid: tapgate_verify::file_trust::effective_uid(),
        }
    }

    /// The file to load.
    pub fn resolve(&self) -> Result<PathBuf, ValidatorError> {
        // An explicit path is used even when missing, so its error names it.
        if let Some(path) = &self.explicit {
            return Ok(path.clone());
        }
        if self.system.is_file() {
            return Ok(self.system.clone());
        }
        if let Some(path) = self.data_dir_file.as_ref().filter(|p| p.is_file()) {
            self.check_data_dir_file(path)?;
            return Ok(path.clone());
        }
        Err(ValidatorError::NoConfig {
            default: self.system.clone(),
            tried: std::iter::once(self.system.clone()).chain(self.data_dir_file.clone()).collect(),
        })
    }

    /// A data-directory file is used only when the server's user owns it and nobody else can
    /// read or change it.
    fn check_data_dir_file(&self, path: &Path) -> Result<(), ValidatorError> {
        let meta = std::fs::metadata(path).map_err(|e| ValidatorError::Untrusted {
            reason: format!("cannot stat {}: {e}", path.display()),
        })?;
        let mode = meta.mode() & 0o7777;
        if Some(meta.uid()) != self.server_uid || mode & DATA_DIR_FORBIDDEN_MODE != 0 {
            return Err(ValidatorError::Untrusted {
                reason: format!(
                    "{} has owner uid {} and mode {mode:04o}; a configuration in the data directory is used only when owned by the server's user (uid {}) with mode 0600 or 0640: fix it, or move it to {} (which takes precedence)",
                    path.display(),
                    meta.uid(),
                    self.server_uid.map_or("unknown".to_string(), |u| u.to_string()),
                    self.system.display()
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn write(path: &Path, mode: u32) {
        std::fs::write(path, "").expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn an_explicit_path_wins_even_when_missing() {
        let location = ConfigLocation::new(Some("/nowhere/v.toml".into()), Some(Path::new("/data")));
        assert_eq!(location.resolve().ok(), Some(PathBuf::from("/nowhere/v.toml")));
    }

    #[test]
    fn the_system_file_wins_over_a_planted_data_directory_file() {
        let etc = tempfile::tempdir().expect("tempdir");
        let data = tempfile::tempdir().expect("tempdir");
        let system = etc.path().join("verify.toml");
        write(&system, 0o644);
        write(&data.path().join(DATA_DIR_FILE), 0o600);
        let location = ConfigLocation::with_system_path(None, system.clone(), Some(data.path()));
        assert_eq!(location.resolve().ok(), Some(system));
    }

    #[test]
    fn a_private_data_directory_file_is_used_without_a_system_file() {
        let data = tempfile::tempdir().expect("tempdir");
        let file = data.path().join(DATA_DIR_FILE);
        let location =
            ConfigLocation::with_system_path(None, data.path().join("no-etc.toml"), Some(data.path()));
        for mode in [0o600, 0o640] {
            write(&file, mode);
            assert_eq!(location.resolve().ok(), Some(file.clone()), "{mode:o}");
        }
    }

    #[test]
    fn a_data_directory_file_others_can_read_or_write_is_refused_naming_owner_and_mode() {
        let data = tempfile::tempdir().expect("tempdir");
        let file = data.path().join(DATA_DIR_FILE);
        let location =
            ConfigLocation::with_system_path(None, data.path().join("no-etc.toml"), Some(data.path()));
        for mode in [0o644, 0o660, 0o666] {
            write(&file, mode);
            let message = location.resolve().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(message.contains(&format!("mode {mode:04o}")), "{message}");
            assert!(message.contains("owner uid"), "{message}");
        }
        // Owned by someone other than the server's user.
        write(&file, 0o600);
        let stranger = ConfigLocation { server_uid: Some(4242), ..location };
        let message = stranger.resolve().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("uid 4242"), "{message}");
    }

    #[test]
    fn nothing_found_names_every_place_tried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = ConfigLocation::with_system_path(None, dir.path().join("etc.toml"), Some(dir.path()));
        let message = location.resolve().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("TAPGATE_VERIFY_CONFIG"), "{message}");
        assert!(message.contains(DATA_DIR_FILE), "{message}");
        assert!(message.contains("etc.toml"), "{message}");
    }
}
