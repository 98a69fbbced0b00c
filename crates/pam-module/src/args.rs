//! The module's arguments from the PAM line: `[log=FILE] [timeout=SECONDS]`, then the verifier's
//! absolute path and its own arguments (the shape of pam_exec's line).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

/// The verifier is killed after this long unless `timeout=` says otherwise: the JWKS fetch it may
/// make is bounded at 5 s and PostgreSQL's own authentication_timeout is 60 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// The module's arguments from the PAM line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleArgs {
    /// `log=FILE`: where the verifier's stderr is appended, else the server log.
    pub log: Option<PathBuf>,
    /// `timeout=SECONDS` (at least 1 s), else [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
    /// The verifier: the first absolute path on the line.
    pub command: PathBuf,
    /// Everything after the verifier's path.
    pub command_args: Vec<Vec<u8>>,
}

impl ModuleArgs {
    /// Options until the first absolute path, which is the command; the rest are its arguments.
    /// `None` for an unknown option, a bad timeout or no command (PAM_SERVICE_ERR).
    pub fn parse(args: &[Vec<u8>]) -> Option<ModuleArgs> {
        let mut log = None;
        let mut timeout = DEFAULT_TIMEOUT;
        let mut rest = args.iter();
        for arg in rest.by_ref() {
            if arg.first() == Some(&b'/') {
                return Some(ModuleArgs {
                    log,
                    timeout,
                    command: PathBuf::from(OsStr::from_bytes(arg)),
                    command_args: rest.cloned().collect(),
                });
            } else if let Some(path) = arg.strip_prefix(b"log=") {
                log = Some(PathBuf::from(OsStr::from_bytes(path)));
            } else if let Some(secs) = arg.strip_prefix(b"timeout=") {
                let secs: u64 = std::str::from_utf8(secs).ok()?.parse().ok()?;
                timeout = Duration::from_secs(secs.max(1));
            } else {
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|a| a.as_bytes().to_vec()).collect()
    }

    #[test]
    fn arguments_are_options_then_the_command_line() {
        let parsed =
            ModuleArgs::parse(&args(&["log=/var/log/t.log", "timeout=7", "/bin/v", "--config", "/c"]))
                .expect("parsed");
        assert_eq!(parsed.log, Some(PathBuf::from("/var/log/t.log")));
        assert_eq!(parsed.timeout, Duration::from_secs(7));
        assert_eq!(parsed.command, PathBuf::from("/bin/v"));
        assert_eq!(parsed.command_args, args(&["--config", "/c"]));
        assert_eq!(ModuleArgs::parse(&args(&["log=/x"])), None, "no command");
        assert_eq!(ModuleArgs::parse(&args(&["expose_authtok", "/bin/v"])), None, "unknown option");
    }
}
