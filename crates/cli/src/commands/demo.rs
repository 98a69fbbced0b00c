//! `tapgate demo`: the whole product on one machine in one command. The `tapgate-demo` crate
//! starts the environment (dev IdP, alice@example.com's software key, PostgreSQL 18 with TLS and
//! Tapgate's OAuth validator, the demo config in its own folder); this command then runs
//! `tapgate connect demo` on it as a child and prints the progress.
//! Ctrl-C stops everything it started, in order: the forwarder (drained), PostgreSQL
//! (`pg_ctl stop -m fast`), the IdP; also when start-up fails or is interrupted halfway.
//! A second run reuses the folder (IdP data, key, cluster, ports) and is up in seconds.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use anyhow::{Context as _, bail};
use tapgate_demo::{DemoBinaries, DemoDir, DemoEnvironment, processes};
use tokio_util::sync::CancellationToken;

use crate::args::DemoArgs;
use crate::demo::forwarder::DemoForwarder;
use crate::demo::progress::TerminalProgress;
use crate::demo::signals::Signals;

/// What has been started so far, stopped in reverse order by [`Started::stop`].
#[derive(Default)]
struct Started {
    environment: Option<DemoEnvironment>,
    forwarder: Option<DemoForwarder>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // First, so a Ctrl-C from now on is ours to handle and never kills the demo mid-start.
    let mut signals = Signals::listen()?;
    let stop = CancellationToken::new();
    // The forwarder's PID once it runs: every Ctrl-C is passed on to it.
    let forwarder_pid = Arc::new(AtomicU32::new(0));
    let on_signal = (stop.clone(), forwarder_pid.clone());
    tokio::spawn(async move {
        loop {
            signals.recv().await;
            on_signal.0.cancel();
            let pid = on_signal.1.load(Ordering::SeqCst);
            if pid != 0 {
                processes::send_signal(pid, "INT").await;
            }
        }
    });

    let dir = DemoDir::open(args.dir)?;
    eprintln!("Tapgate demo in {}", dir.root().display());
    let began = Instant::now();
    let progress = TerminalProgress::default();
    let mut started = Started::default();
    let outcome = bring_up(&dir, &progress, &mut started, &forwarder_pid, &stop).await;
    let code = match outcome {
        Ok(()) => {
            eprintln!("Demo ready in {:.1} s.", began.elapsed().as_secs_f64());
            wait_until_stopped(&mut started, &stop).await
        }
        Err(e) => {
            progress.close();
            if stop.is_cancelled() {
                eprintln!("Interrupted during start-up.");
            } else {
                eprintln!("tapgate: {e:#}");
            }
            None
        }
    };
    started.stop(&progress).await;
    eprintln!("Demo stopped; everything it started has exited. Its folder is kept for the next run.");
    Ok(match code {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("tapgate: {e:#}");
            ExitCode::FAILURE
        }
        None if stop.is_cancelled() => ExitCode::from(130),
        None => ExitCode::FAILURE,
    })
}

/// The environment (which stops itself if it fails halfway), then the forwarder, each recorded
/// in `started` as soon as it exists.
async fn bring_up(
    dir: &DemoDir,
    progress: &TerminalProgress,
    started: &mut Started,
    forwarder_pid: &AtomicU32,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let tapgate = std::env::current_exe().context("cannot find the tapgate binary's folder")?;
    let binaries = DemoBinaries::beside(&tapgate)?;
    let environment =
        started.environment.insert(DemoEnvironment::start(dir, &binaries, progress, stop).await?);

    eprintln!("  Starting the forwarder (tapgate connect demo)…");
    let (forwarder, ready) =
        DemoForwarder::spawn(&tapgate, &environment.config_path(), &environment.data_dir())?;
    let pid = forwarder.pid().unwrap_or(0);
    forwarder_pid.store(pid, Ordering::SeqCst);
    let forwarder = started.forwarder.insert(forwarder);
    if let Err(e) = environment.record_process("tapgate-connect", pid) {
        eprintln!("tapgate: warning: {e}");
    }
    // A Ctrl-C now reaches the forwarder too (the signal task passes it on), which then exits.
    tokio::select! {
        _ = ready => Ok(()),
        exited = forwarder.exited() => match exited {
            Ok(()) => bail!("the forwarder exited before it was ready"),
            Err(e) => Err(e),
        },
    }
}

/// Runs until Ctrl-C (passed on to the forwarder by the signal task) or until the forwarder
/// stops by itself. `Some(Err)` when it failed on its own.
async fn wait_until_stopped(started: &mut Started, stop: &CancellationToken) -> Option<anyhow::Result<()>> {
    let forwarder = started.forwarder.as_mut()?;
    tokio::select! {
        _ = stop.cancelled() => Some(Ok(())),
        exited = forwarder.exited() => Some(exited.and_then(|()| Err(anyhow::anyhow!("the forwarder stopped")))),
    }
}

impl Started {
    /// Stops what runs, newest first: clients lose the forwarder before the server goes away.
    async fn stop(self, progress: &TerminalProgress) {
        if let Some(forwarder) = self.forwarder {
            forwarder.finish().await;
        }
        if let Some(environment) = self.environment {
            environment.stop(progress).await;
        }
    }
}
