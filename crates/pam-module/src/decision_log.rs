//! Where a login's lines go: the verifier's decision (its stderr: a text line and a JSON line
//! with the backend's pid, the client's address, subject, `jti`, amr and client) and the
//! module's own notes. With `log=FILE` they are appended to FILE, the verifier's text line after a
//! time prefix; without it (or when FILE cannot be opened) they go to the backend's stderr, which
//! is the PostgreSQL server log.
//!
//! When the module itself decides (the verifier could not run, was killed at the timeout, or
//! died of a signal) it writes the JSON line, so every login has one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::SystemTime;

/// The log of one login: the `log=` file, or none for stderr.
#[derive(Debug)]
pub struct DecisionLog {
    file: Option<File>,
}

impl DecisionLog {
    /// Opens `path` for appending; without a path, or when it cannot be opened (said on stderr),
    /// everything goes to stderr.
    pub fn open(path: Option<&Path>) -> DecisionLog {
        let file = path.and_then(|path| match open_log(path) {
            Ok(file) => Some(file),
            Err(e) => {
                eprintln!(
                    "pam_tapgate: cannot open log={} ({e}); the decision goes to stderr",
                    path.display()
                );
                None
            }
        });
        DecisionLog { file }
    }

    /// The verifier's stderr: the log file, with the time already written so the verifier's line
    /// follows it; stderr when there is no file or it cannot take the prefix.
    pub fn verifier_stderr(&mut self) -> Stdio {
        match self.file.as_mut().map(|file| (file.write_all(timestamp().as_bytes()), file.try_clone())) {
            Some((Ok(()), Ok(clone))) => Stdio::from(clone),
            _ => Stdio::inherit(),
        }
    }

    /// A line of our own, to the log when there is one, else to stderr (the server log).
    pub fn note(&mut self, line: &str) {
        match &mut self.file {
            Some(file) => {
                let _ = writeln!(file, "{line}");
            }
            None => eprintln!("{line}"),
        }
    }
}

/// The JSON line of a refusal the module made without the verifier's answer. The module runs
/// inside the backend (PAM is called in the backend process), so its pid is the backend's.
pub fn module_refusal_json(role: &[u8], rhost: Option<&[u8]>, reason: &str) -> String {
    serde_json::json!({
        "time": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "program": "pam_tapgate",
        "decision": "denied",
        "role": String::from_utf8_lossy(role),
        "identity": null,
        "backend_pid": std::process::id(),
        "client_addr": rhost.map(String::from_utf8_lossy),
        "reason": reason,
    })
    .to_string()
}

fn open_log(path: &Path) -> std::io::Result<File> {
    // Asked for 0644 like pam_exec's log; PostgreSQL's umask (0077) makes it 0600, which suits a
    // file naming people and roles.
    OpenOptions::new().create(true).append(true).mode(0o644).open(path)
}

/// `2026-11-27T10:00:00Z `: the verifier's line follows on the same line.
fn timestamp() -> String {
    format!("{} ", humantime::format_rfc3339_seconds(SystemTime::now()))
}
