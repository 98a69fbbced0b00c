//! Where a login's lines go: the verifier's decision line (its stderr) and the module's own notes.
//! With `log=FILE` they are appended to FILE, the verifier's line after a time prefix; without
//! it (or when FILE cannot be opened) they go to the backend's stderr, which is the PostgreSQL
//! server log.

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

fn open_log(path: &Path) -> std::io::Result<File> {
    // Asked for 0644 like pam_exec's log; PostgreSQL's umask (0077) makes it 0600, which suits a
    // file naming people and roles.
    OpenOptions::new().create(true).append(true).mode(0o644).open(path)
}

/// `2026-11-27T10:00:00Z `: the verifier's line follows on the same line.
fn timestamp() -> String {
    format!("{} ", humantime::format_rfc3339_seconds(SystemTime::now()))
}
