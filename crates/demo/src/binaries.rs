//! The programs the demo runs besides PostgreSQL: `tapgate-devidp` and the validator module,
//! both built into the same folder as `tapgate` (and the desktop app), so they are looked up
//! beside the running executable rather than on PATH, where an older install could answer.

use std::path::{Path, PathBuf};

use crate::DemoError;

/// The dev IdP binary's file name.
const DEVIDP: &str = "tapgate-devidp";
/// The validator module's file name, as cargo builds it.
pub(crate) const VALIDATOR: &str = "libtapgate_pg_validator.so";
/// What marks a Tapgate checkout (and installs PostgreSQL 18 when it is missing).
pub(crate) const INSTALL_PG18: &str = "scripts/install-pg18.sh";

/// Where the demo's binaries are.
#[derive(Debug, Clone)]
pub struct DemoBinaries {
    devidp: PathBuf,
    validator: PathBuf,
    checkout: Option<PathBuf>,
    /// PostgreSQL 18's bin folder when the program was told it (`TAPGATE_PG18_BIN`).
    postgres_bin: Option<PathBuf>,
}

impl DemoBinaries {
    /// The binaries built with `exe` (usually `std::env::current_exe()`): `tapgate-devidp`
    /// beside it; the validator module beside it or in `deps/`, where `cargo build --bins`
    /// leaves it, the newer one winning; and the Tapgate checkout `exe` was built in, if any,
    /// whose scripts/install-pg18.sh installs PostgreSQL 18 when it is missing.
    pub fn beside(exe: &Path) -> Result<DemoBinaries, DemoError> {
        let devidp = exe.with_file_name(DEVIDP);
        if !devidp.exists() {
            let beside = exe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(DemoError::MissingIdp { path: devidp, beside });
        }
        let validator = validator_module(exe)?;
        let checkout =
            exe.ancestors().skip(1).find(|dir| dir.join(INSTALL_PG18).is_file()).map(Path::to_path_buf);
        Ok(DemoBinaries { devidp, validator, checkout, postgres_bin: None })
    }

    /// The same binaries with PostgreSQL 18 taken from `dir` (the programs pass
    /// `TAPGATE_PG18_BIN` here) instead of looked up in the checkout.
    pub fn with_postgres_bin(self, dir: Option<PathBuf>) -> DemoBinaries {
        DemoBinaries { postgres_bin: dir, ..self }
    }

    /// PostgreSQL 18's bin folder, when given.
    pub(crate) fn postgres_bin(&self) -> Option<&Path> {
        self.postgres_bin.as_deref()
    }

    /// `tapgate-devidp`.
    pub fn devidp(&self) -> &Path {
        &self.devidp
    }

    /// `libtapgate_pg_validator.so`, copied into the cluster's folder on every start.
    pub fn validator(&self) -> &Path {
        &self.validator
    }

    /// The Tapgate checkout the executable was built in (target/<profile>/<exe>), if any.
    pub(crate) fn checkout(&self) -> Option<&Path> {
        self.checkout.as_deref()
    }
}

/// The validator module beside `exe` or in `deps/`; the newer one wins (a `cargo build --lib`
/// refreshes only one of them).
fn validator_module(exe: &Path) -> Result<PathBuf, DemoError> {
    let beside = exe.with_file_name(VALIDATOR);
    let in_deps = exe.with_file_name("deps").join(VALIDATOR);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    [beside.clone(), in_deps]
        .into_iter()
        .filter_map(|p| modified(&p).map(|t| (t, p)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
        .ok_or(DemoError::MissingValidator { path: beside })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, SystemTime};

    use super::{DEVIDP, DemoBinaries, VALIDATOR};
    use crate::DemoError;

    #[test]
    fn a_missing_dev_idp_is_named_with_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = DemoBinaries::beside(&dir.path().join("tapgate")).unwrap_err();
        assert!(matches!(err, DemoError::MissingIdp { .. }), "{err}");
        assert!(err.to_string().contains("built next to tapgate"), "{err}");
    }

    #[test]
    fn the_newer_validator_module_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DEVIDP), "").unwrap();
        let exe = dir.path().join("tapgate");
        let err = DemoBinaries::beside(&exe).unwrap_err();
        assert!(matches!(err, DemoError::MissingValidator { .. }), "{err}");

        std::fs::create_dir(dir.path().join("deps")).unwrap();
        let beside = dir.path().join(VALIDATOR);
        let in_deps = dir.path().join("deps").join(VALIDATOR);
        std::fs::write(&beside, "").unwrap();
        std::fs::write(&in_deps, "").unwrap();
        let older = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options().write(true).open(&beside).unwrap().set_modified(older).unwrap();
        assert_eq!(DemoBinaries::beside(&exe).unwrap().validator(), in_deps);
    }
}
