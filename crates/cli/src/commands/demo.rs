//! `tapgate demo`: the whole product on one machine in one command. The `tapgate-demo` crate
//! starts the environment (dev IdP, alice@example.com's software key, PostgreSQL 18 with TLS and
//! Tapgate's OAuth validator, the demo config in its own folder); this command then serves the
//! demo database's forwarder in this process, with an engine whose data folder is the demo's
//! (its port, history and status never mix with the person's own), and prints the progress.
//! Ctrl-C stops everything it started, in order: the forwarder (drained), PostgreSQL
//! (`pg_ctl stop -m fast`), the IdP; also when start-up fails or is interrupted halfway.
//! A second run reuses the folder (IdP data, key, cluster, ports) and is up in seconds.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use tapgate_config::Config;
use tapgate_core::dsn::{DsnFormat, Endpoint, connection_string};
use tapgate_core::forwarding::{self, PortChoice};
use tapgate_core::{Context, Engine, SignInPolicy};
use tapgate_demo::{DEMO_NAME, DemoBinaries, DemoDir, DemoEnvironment};
use tokio_util::sync::CancellationToken;

use crate::args::DemoArgs;
use crate::commands::connect::READY_LINE;
use crate::demo::progress::TerminalProgress;
use crate::demo::signals::Signals;
use crate::prompt::TerminalPrompt;

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // First, so a Ctrl-C from now on is ours to handle and never kills the demo mid-start.
    let mut signals = Signals::listen()?;
    let stop = CancellationToken::new();
    let on_signal = stop.clone();
    tokio::spawn(async move {
        signals.recv().await;
        eprintln!("Stopping: open sessions get up to 10 s to finish.");
        on_signal.cancel();
    });

    let root = match args.dir {
        Some(dir) => dir,
        None => DemoDir::default_under(&tapgate_config::data_dir()?),
    };
    let dir = DemoDir::open(root)?;
    eprintln!("Tapgate demo in {}", dir.root().display());
    let began = Instant::now();
    let progress = TerminalProgress::default();
    let tapgate = std::env::current_exe().context("cannot find the tapgate binary's folder")?;
    let binaries = DemoBinaries::beside(&tapgate)?
        .with_postgres_bin(std::env::var_os("TAPGATE_PG18_BIN").filter(|v| !v.is_empty()).map(Into::into));

    let environment = match DemoEnvironment::start(&dir, &binaries, &progress, &stop).await {
        Ok(environment) => environment,
        Err(e) => {
            progress.close();
            if stop.is_cancelled() {
                eprintln!("Interrupted during start-up.");
                return Ok(ExitCode::from(130));
            }
            eprintln!("tapgate: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let served = serve(&environment, &stop, began).await;
    environment.stop(&progress).await;
    eprintln!("Demo stopped; everything it started has exited. Its folder is kept for the next run.");
    match served {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("tapgate: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The demo database's forwarder, in this process, until Ctrl-C.
async fn serve(
    environment: &DemoEnvironment,
    stop: &CancellationToken,
    began: Instant,
) -> anyhow::Result<()> {
    eprintln!("  Starting the forwarder…");
    let config = Config::load(&environment.config_path())?;
    let data = environment.data_dir();
    let engine = Arc::new(Engine::open(config, Context::new(&data, data.join("run"))).await);
    if let Some(warning) = engine.keyring_warning() {
        eprintln!("tapgate: {warning}");
    }
    let forwarders = forwarding::bind(&engine, &[DEMO_NAME.to_string()], PortChoice::Stable).await?;
    let prompt = Arc::new(TerminalPrompt::default());
    let signed_in = engine.session(Some(DEMO_NAME), prompt.clone(), SignInPolicy::Reuse).await;
    prompt.finished_now();
    if let Err(e) = signed_in {
        eprintln!("tapgate: {e}\n  Clients will be asked to wait while Tapgate signs in again.");
    }
    eprintln!("Demo ready in {:.1} s.", began.elapsed().as_secs_f64());
    for f in &forwarders {
        let at = Endpoint { port: f.port(), socket_dir: f.socket_dir() };
        let uri = connection_string(DsnFormat::Uri, at, &f.db.dbname, &f.db.role);
        println!("{} ready on 127.0.0.1:{}", f.db.name, f.port());
        println!("  {uri}");
        println!("  {}", connection_string(DsnFormat::Psql, at, &f.db.dbname, &f.db.role));
        println!();
        println!("Try:");
        println!("  {}", tapgate_demo::psql_hint(&uri));
        println!("  (the password is never asked: the forwarder signs alice in with her software key)");
    }
    println!("{READY_LINE}");
    let printer = crate::output::print_events(engine.subscribe());
    forwarding::serve(engine.clone(), forwarders, prompt, "tapgate demo", stop.clone()).await?;
    drop(engine);
    printer.abort();
    Ok(())
}
