//! The dev IdP for the demo: `tapgate-devidp serve` on a loopback port (the same one as last
//! time when it is free, so the issuer, and with it cached sessions, survive a restart), and the
//! demo user's software key, enrolled once.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout};

use crate::dir::DemoDir;
use crate::error::{DemoError, IoContext as _};
use crate::processes;
use crate::{DEMO_GROUP, DEMO_USER};

/// How long the IdP may take to print its issuer (a cold start generates a CA and keys).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running dev IdP; killed if dropped without [`DevIdp::stop`] (the command's `kill_on_drop`).
pub struct DevIdp {
    child: Child,
    /// Held open: the IdP must never find its stdout closed.
    _stdout: BufReader<ChildStdout>,
    pub issuer: String,
}

impl DevIdp {
    /// Starts the IdP on the port it had last time, or on a free one.
    pub async fn start(bin: &Path, dir: &DemoDir) -> Result<DevIdp, DemoError> {
        let previous = previous_port(&dir.idp_data());
        match DevIdp::start_on(bin, dir, previous.unwrap_or(0)).await {
            Ok(idp) => Ok(idp),
            // The remembered port is taken (by another program since): any port will do.
            Err(_) if previous.is_some() => DevIdp::start_on(bin, dir, 0).await,
            Err(e) => Err(e),
        }
    }

    async fn start_on(bin: &Path, dir: &DemoDir, port: u16) -> Result<DevIdp, DemoError> {
        let log = std::fs::File::create(dir.idp_log())
            .context_with(|| format!("cannot create {}", dir.idp_log().display()))?;
        let mut child = processes::command(bin)
            .arg("serve")
            .arg("--data")
            .arg(dir.idp_data())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|error| DemoError::Run { program: bin.to_path_buf(), error })?;
        let started = match child.stdout.take() {
            Some(stdout) => {
                let mut stdout = BufReader::new(stdout);
                let mut line = String::new();
                let read = tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line)).await;
                let issuer = line.trim().to_string();
                (matches!(read, Ok(Ok(n)) if n > 0) && issuer.starts_with("https://"))
                    .then_some((stdout, issuer))
            }
            None => None,
        };
        let Some((stdout, issuer)) = started else {
            processes::stop(&mut child, processes::Signal::TERM, Duration::from_secs(2)).await;
            return Err(DemoError::IdpStart {
                log: dir.idp_log(),
                log_tail: processes::log_tail(&dir.idp_log(), 10),
            });
        };
        Ok(DevIdp { child, _stdout: stdout, issuer })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, then a kill after a few seconds.
    pub async fn stop(mut self) {
        processes::stop(&mut self.child, processes::Signal::TERM, Duration::from_secs(5)).await;
    }
}

/// The port of the issuer the IdP wrote last time (`https://localhost:PORT`).
fn previous_port(data: &Path) -> Option<u16> {
    let issuer = std::fs::read_to_string(data.join("issuer")).ok()?;
    issuer.trim().rsplit(':').next()?.trim_end_matches('/').parse().ok().filter(|p| *p != 0)
}

/// Enrolls the demo user with a software key unless the key is already there. Returns whether
/// it enrolled now.
pub async fn enroll_demo_user(bin: &Path, dir: &DemoDir) -> Result<bool, DemoError> {
    if dir.key().exists() {
        return Ok(false);
    }
    let out = processes::command(bin)
        .arg("enroll")
        .arg("--data")
        .arg(dir.idp_data())
        .args(["--user", DEMO_USER, "--groups", DEMO_GROUP, "--soft-key"])
        .arg(dir.key())
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| DemoError::Run { program: bin.to_path_buf(), error })?;
    if !out.status.success() {
        // A half-written key would make every later run skip the enrollment.
        let _ = std::fs::remove_file(dir.key());
        return Err(DemoError::Enroll {
            user: DEMO_USER.to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::previous_port;

    #[test]
    fn the_previous_port_comes_from_the_last_issuer() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(previous_port(dir.path()), None);
        std::fs::write(dir.path().join("issuer"), "https://localhost:45459/\n").unwrap();
        assert_eq!(previous_port(dir.path()), Some(45459));
        std::fs::write(dir.path().join("issuer"), "https://localhost:0\n").unwrap();
        assert_eq!(previous_port(dir.path()), None);
    }
}
