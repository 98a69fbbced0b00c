//! `tapgate demo`: the whole product on one machine in one command. It starts the dev IdP,
//! enrolls a software key for alice@example.com, starts a PostgreSQL 18 with TLS and Tapgate's
//! OAuth validator, writes a demo config in its own folder and runs `tapgate connect demo` on it.
//! Ctrl-C stops everything it started, in order: the forwarder (drained), PostgreSQL
//! (`pg_ctl stop -m fast`), the IdP; also when start-up fails or is interrupted halfway.
//! A second run reuses the folder (IdP data, key, cluster, ports) and is up in seconds.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use anyhow::bail;
use tokio_util::sync::CancellationToken;

use crate::args::DemoArgs;
use crate::demo::files::{DEMO_GROUP, DEMO_USER, DemoDir};
use crate::demo::forwarder::DemoForwarder;
use crate::demo::idp::{self, DevIdp};
use crate::demo::postgres::{self, Cluster};
use crate::demo::processes::{self, Signals};
use crate::demo::progress::Step;

/// What has been started so far, stopped in reverse order by [`Started::stop`].
#[derive(Default)]
struct Started {
    idp: Option<DevIdp>,
    postgres: Option<Cluster>,
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
    let mut started = Started::default();
    let outcome = bring_up(&dir, &mut started, &forwarder_pid, &stop).await;
    let code = match outcome {
        Ok(()) => {
            eprintln!("Demo ready in {:.1} s.", began.elapsed().as_secs_f64());
            wait_until_stopped(&mut started, &stop).await
        }
        Err(e) => {
            if stop.is_cancelled() {
                eprintln!("Interrupted during start-up.");
            } else {
                eprintln!("tapgate: {e:#}");
            }
            None
        }
    };
    started.stop().await;
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

/// Every start-up step, recording what it started in `started` as soon as it exists.
///
/// A Ctrl-C is honoured between steps, and during the long waits (a download, the forwarder),
/// never inside a step: a `pg_ctl start` abandoned halfway could leave a server nobody stops.
async fn bring_up(
    dir: &DemoDir,
    started: &mut Started,
    forwarder_pid: &AtomicU32,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let go_on = || if stop.is_cancelled() { Err(anyhow::anyhow!("interrupted")) } else { Ok(()) };
    let tapgate = std::env::current_exe()?;
    let devidp = idp::sibling_binary("tapgate-devidp")?;
    let validator = postgres::validator_module()?;

    let step = Step::start("Starting the dev IdP");
    let started_idp = started.idp.insert(DevIdp::start(&devidp, dir).await?);
    let issuer = started_idp.issuer.clone();
    step.ok(&issuer);
    write_pids(dir, started);
    go_on()?;

    let step = Step::start(&format!("Enrolling a software key for {DEMO_USER} (group {DEMO_GROUP})"));
    let enrolled = idp::enroll_demo_user(&devidp, dir).await?;
    step.ok(if enrolled { "new key" } else { "already enrolled" });
    go_on()?;

    let step = Step::start("Finding PostgreSQL 18");
    let (bin, installed) = tokio::select! {
        found = postgres::find_binaries() => found?,
        _ = stop.cancelled() => bail!("interrupted"),
    };
    step.ok(&if installed { format!("installed in {}", bin.display()) } else { bin.display().to_string() });

    let cluster = Cluster::prepare(dir, bin).await?;
    if !cluster.exists() {
        let step = Step::start("Creating the database cluster");
        cluster.init().await?;
        step.ok("");
    }
    go_on()?;
    cluster.configure(dir, &issuer, &validator)?;
    dir.write_config(&issuer, cluster.port, &dir.server_ca())?;

    let step = Step::start("Starting PostgreSQL 18");
    // Recorded before it starts: a stop that finds nothing running is harmless, a server
    // started behind our back would outlive the demo.
    started.postgres.insert(cluster).start().await?;
    write_pids(dir, started);
    let Some(cluster) = started.postgres.as_ref() else { bail!("lost track of PostgreSQL") };
    step.ok(&format!("127.0.0.1:{}, TLS, OAuth validator; log {}", cluster.port, cluster.log().display()));
    go_on()?;

    if !cluster.has_schema().await? {
        let step = Step::start("Creating roles app_rw and app_ro and the sample database `demo`");
        cluster.create_schema().await?;
        step.ok("");
    }
    go_on()?;

    eprintln!("  Starting the forwarder (tapgate connect demo)…");
    let (forwarder, ready) = DemoForwarder::spawn(&tapgate, dir)?;
    forwarder_pid.store(forwarder.pid().unwrap_or(0), Ordering::SeqCst);
    started.forwarder = Some(forwarder);
    write_pids(dir, started);
    let Some(forwarder) = started.forwarder.as_mut() else { bail!("lost track of the forwarder") };
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

fn write_pids(dir: &DemoDir, started: &Started) {
    let mut pids = Vec::new();
    if let Some(pid) = started.idp.as_ref().and_then(DevIdp::pid) {
        pids.push(("tapgate-devidp", pid));
    }
    if let Some(pid) = started.postgres.as_ref().and_then(Cluster::postmaster_pid) {
        pids.push(("postgres", pid));
    }
    if let Some(pid) = started.forwarder.as_ref().and_then(DemoForwarder::pid) {
        pids.push(("tapgate-connect", pid));
    }
    if let Err(e) = dir.write_pids(&pids) {
        eprintln!("tapgate: warning: {e:#}");
    }
}

impl Started {
    /// Stops what runs, newest first: clients lose the forwarder before the server goes away.
    async fn stop(self) {
        if let Some(forwarder) = self.forwarder {
            forwarder.finish().await;
        }
        if let Some(cluster) = self.postgres {
            let step = Step::start("Stopping PostgreSQL");
            cluster.stop().await;
            step.ok("");
        }
        if let Some(idp) = self.idp {
            let step = Step::start("Stopping the dev IdP");
            idp.stop().await;
            step.ok("");
        }
    }
}
