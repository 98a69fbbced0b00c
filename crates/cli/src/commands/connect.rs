//! `tapgate connect DB...`: loopback forwarders in the foreground until Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tapgate_core::dsn::{DsnFormat, Endpoint, connection_string};
use tapgate_core::forwarding::{self, PortChoice};
use tapgate_core::{CoreEvent, SessionOrigin, SignInPolicy, next_event};
use tokio_util::sync::CancellationToken;

use crate::args::ConnectArgs;
use crate::output::{countdown, human_bytes};
use crate::prompt::TerminalPrompt;

/// The last line `connect` prints once every forwarder listens; `tapgate demo` waits for it.
pub const READY_LINE: &str = "Press Ctrl-C to stop.";

pub async fn run(config: Option<PathBuf>, args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let engine = Arc::new(super::engine(config).await?);
    let forwarders = forwarding::bind(&engine, &args.dbs, PortChoice::Stable).await?;
    let printer = print_activity(engine.subscribe());
    let prompt = Arc::new(TerminalPrompt::default());

    // Sign in now, in this terminal, rather than while the first client waits.
    let mut idps: Vec<&str> = forwarders.iter().map(|f| f.db.idp.as_str()).collect();
    idps.dedup();
    for idp in idps {
        match engine.session(Some(idp), prompt.clone(), SignInPolicy::Reuse).await {
            // Fresh sign-ins and renewals are announced by the activity printer.
            Ok(session) if session.origin == SessionOrigin::Cache => eprintln!(
                "Using the {idp} session of {} ({} left).",
                session.identity(),
                countdown(session.seconds_left())
            ),
            Ok(_) => {}
            Err(e) => {
                eprintln!("tapgate: {e}\n  Clients will be asked to wait while Tapgate signs in again.")
            }
        }
        prompt.finished_now();
    }

    for f in &forwarders {
        if f.db.local_access == tapgate_config::LocalAccess::Any {
            eprintln!(
                "tapgate: warning: {} lets every user and program on this machine in as you (local_access = \"any\")",
                f.db.name
            );
        }
        println!("{} ready on 127.0.0.1:{}", f.db.name, f.port());
        let at = Endpoint { port: f.port(), socket_dir: f.socket_dir() };
        if let Some(folder) = f.socket_dir() {
            println!("  and on the socket {}", tapgate_core::dsn::socket_path(folder, f.port()).display());
        }
        println!("  {}", connection_string(DsnFormat::Uri, at, &f.db.dbname, &f.db.role));
        println!("  {}", connection_string(DsnFormat::Psql, at, &f.db.dbname, &f.db.role));
        if let Some((_, pgpass)) = &f.new_local_password {
            println!(
                "  a local password for {} is in {} (clients read it there)",
                f.db.name,
                pgpass.display()
            );
        }
        if f.socket_dir().is_some() {
            let tcp = connection_string(DsnFormat::Uri, Endpoint::tcp(f.port()), &f.db.dbname, &f.db.role);
            println!("  {tcp}  (TCP, for clients without Unix-domain sockets)");
        }
    }
    println!("{READY_LINE}");

    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("Stopping: open sessions get up to 10 s to finish (Ctrl-C again to stop now).");
        on_signal.cancel();
        wait_for_signal().await;
        std::process::exit(130);
    });
    forwarding::serve(engine.clone(), forwarders, prompt, "tapgate connect", shutdown).await?;
    drop(engine);
    printer.abort();
    eprintln!("Stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One line per finished connection and per sign-in, on stderr.
fn print_activity(mut events: tokio::sync::broadcast::Receiver<CoreEvent>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(event) = next_event(&mut events).await {
            match event {
                CoreEvent::ConnectionClosed {
                    database,
                    role,
                    identity,
                    application,
                    outcome,
                    error,
                    duration_ms,
                    bytes_up,
                    bytes_down,
                } => {
                    let who = identity.unwrap_or_else(|| "-".into());
                    let role = role.unwrap_or_else(|| "-".into());
                    let app = application.map(|a| format!(" ({a})")).unwrap_or_default();
                    let detail = error.map(|e| format!(": {e}")).unwrap_or_default();
                    eprintln!(
                        "{database}: {who} as {role}{app}: {outcome}{detail} [{:.1} s, {} up, {} down]",
                        duration_ms as f64 / 1000.0,
                        human_bytes(bytes_up),
                        human_bytes(bytes_down)
                    );
                }
                CoreEvent::SignedIn { idp, identity, .. } => eprintln!("Signed in to {idp} as {identity}."),
                CoreEvent::Refreshed { idp, .. } => eprintln!("Renewed the {idp} session without a tap."),
                CoreEvent::SignInFailed { idp, error } => {
                    eprintln!("tapgate: sign-in to {idp} failed: {error}")
                }
                other => crate::output::print_event(&other),
            }
        }
    })
}
