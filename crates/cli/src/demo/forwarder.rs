//! The demo's forwarder: `tapgate connect demo` itself, run as a child with the demo config and
//! `TAPGATE_DATA_DIR` set to the demo folder, so its remembered port, history and status file
//! never mix with the user's. Its stdout (the connection strings) is passed through, with a
//! "try: psql ..." line added before "Press Ctrl-C to stop."; its stderr (sign-ins, one line per
//! connection) goes straight to the terminal.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tapgate_demo::{DEMO_NAME, processes};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::oneshot;

use crate::commands::connect::READY_LINE;

/// A running `tapgate connect demo`.
pub struct DemoForwarder {
    child: Child,
}

impl DemoForwarder {
    /// Runs `tapgate connect demo` with the demo's `config` and `data_dir`; the receiver fires
    /// once it listens.
    pub fn spawn(
        tapgate: &Path,
        config: &Path,
        data_dir: &Path,
    ) -> anyhow::Result<(DemoForwarder, oneshot::Receiver<()>)> {
        let mut child = processes::command(tapgate)
            .arg("--config")
            .arg(config)
            .args(["connect", DEMO_NAME])
            .env("TAPGATE_DATA_DIR", data_dir)
            .env_remove("TAPGATE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot run {}", tapgate.display()))?;
        let stdout = child.stdout.take().context("the forwarder has no stdout")?;
        let (ready_tx, ready_rx) = oneshot::channel();
        tokio::spawn(relay(BufReader::new(stdout), ready_tx));
        Ok((DemoForwarder { child }, ready_rx))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits until the forwarder exits on its own.
    pub async fn exited(&mut self) -> anyhow::Result<()> {
        let status = self.child.wait().await.context("lost the forwarder")?;
        if !status.success() {
            bail!("the forwarder stopped ({status})");
        }
        Ok(())
    }

    /// Waits for the exit after Ctrl-C was passed on (the forwarder drains open sessions for up
    /// to 10 s; a second Ctrl-C, passed on too, stops it at once); killed past that.
    pub async fn finish(mut self) {
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await.is_err() {
            processes::stop(&mut self.child, "KILL", Duration::from_secs(2)).await;
        }
    }
}

/// Copies the forwarder's stdout to ours; before its ready line, adds the line to try.
async fn relay(mut stdout: BufReader<tokio::process::ChildStdout>, ready: oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut uri = None;
    let mut line = String::new();
    loop {
        line.clear();
        match stdout.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = line.trim_end();
        if uri.is_none() && text.trim_start().starts_with("postgresql://") {
            uri = Some(text.trim().to_string());
        }
        if text == READY_LINE {
            if let Some(uri) = &uri {
                println!();
                println!("Try:");
                println!("  {}", tapgate_demo::psql_hint(uri));
                println!(
                    "  (the password is never asked: the forwarder signs alice in with her software key)"
                );
            }
            println!("{text}");
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
        } else {
            println!("{text}");
        }
    }
}
