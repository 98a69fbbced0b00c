//! The dev IdP for the demo: `tapgate-devidp serve` on a loopback port (the same one as last
//! time when it is free, so the issuer, and with it cached sessions, survive a restart), and the
//! demo user's software key, enrolled once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout};

use super::files::{DEMO_GROUP, DEMO_USER, DemoDir};
use super::processes;

/// How long the IdP may take to print its issuer (a cold start generates a CA and keys).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running dev IdP.
pub struct DevIdp {
    child: Child,
    /// Held open: the IdP must never find its stdout closed.
    _stdout: BufReader<ChildStdout>,
    pub issuer: String,
}

impl DevIdp {
    /// Starts the IdP on the port it had last time, or on a free one.
    pub async fn start(bin: &Path, dir: &DemoDir) -> anyhow::Result<DevIdp> {
        let data = dir.idp_data();
        let previous = previous_port(&data);
        match DevIdp::start_on(bin, dir, previous.unwrap_or(0)).await {
            Ok(idp) => Ok(idp),
            // The remembered port is taken (by another program since): any port will do.
            Err(_) if previous.is_some() => DevIdp::start_on(bin, dir, 0).await,
            Err(e) => Err(e),
        }
    }

    async fn start_on(bin: &Path, dir: &DemoDir, port: u16) -> anyhow::Result<DevIdp> {
        let log = std::fs::File::create(dir.idp_log())
            .with_context(|| format!("cannot create {}", dir.idp_log().display()))?;
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
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let stdout = child.stdout.take().context("the dev IdP has no stdout")?;
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = tokio::time::timeout(START_TIMEOUT, stdout.read_line(&mut line)).await;
        let issuer = line.trim().to_string();
        if !matches!(read, Ok(Ok(n)) if n > 0) || !issuer.starts_with("https://") {
            processes::stop(&mut child, "TERM", Duration::from_secs(2)).await;
            bail!(
                "the dev IdP did not start (log {}):\n{}",
                dir.idp_log().display(),
                processes::log_tail(&dir.idp_log(), 10)
            );
        }
        Ok(DevIdp { child, _stdout: stdout, issuer })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGTERM, then a kill after a few seconds.
    pub async fn stop(mut self) {
        processes::stop(&mut self.child, "TERM", Duration::from_secs(5)).await;
    }
}

/// The port of the issuer the IdP wrote last time (`https://localhost:PORT`).
fn previous_port(data: &Path) -> Option<u16> {
    let issuer = std::fs::read_to_string(data.join("issuer")).ok()?;
    issuer.trim().rsplit(':').next()?.trim_end_matches('/').parse().ok().filter(|p| *p != 0)
}

/// Enrolls the demo user with a software key unless the key is already there. Returns whether
/// it enrolled now.
pub async fn enroll_demo_user(bin: &Path, dir: &DemoDir) -> anyhow::Result<bool> {
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
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        // A half-written key would make every later run skip the enrollment.
        let _ = std::fs::remove_file(dir.key());
        bail!("enrolling {DEMO_USER} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(true)
}

/// A sibling binary of the running `tapgate` (the build puts them side by side).
pub fn sibling_binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the tapgate binary's folder")?;
    let path = exe.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} is missing: it is built next to tapgate (`cargo build --workspace --bins`, or `make build`)",
            path.display()
        );
    }
    Ok(path)
}
