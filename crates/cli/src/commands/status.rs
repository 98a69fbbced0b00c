//! `tapgate status [--json]`: sign-in state per IdP, and the forwarders of every running Tapgate.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::args::StatusArgs;
use crate::output::countdown;

pub async fn run(config: Option<PathBuf>, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let engine = super::engine(config).await?;
    let mut idps = Vec::new();
    for name in engine.config().idps.keys() {
        let session = engine.cached_session(Some(name)).await?;
        idps.push((name.clone(), session));
    }
    let processes = engine.running_processes();

    if args.json {
        let idps: Vec<_> = idps
            .iter()
            .map(|(name, s)| match s {
                Some(s) => json!({
                    "idp": name, "signed_in": !s.is_expired(), "identity": s.identity(),
                    "expires_in_seconds": s.seconds_left().max(0), "can_refresh": s.can_refresh,
                }),
                None => json!({ "idp": name, "signed_in": false }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "idps": idps, "processes": processes }))?);
        return Ok(ExitCode::SUCCESS);
    }

    for (name, session) in &idps {
        match session {
            Some(s) if !s.is_expired() => {
                println!("{name}: signed in as {} ({} left)", s.identity(), countdown(s.seconds_left()))
            }
            Some(s) if s.can_refresh => {
                println!("{name}: token expired; renews without a tap ({})", s.identity())
            }
            Some(_) => println!("{name}: signed out (token expired)"),
            None => println!("{name}: signed out"),
        }
    }
    if processes.is_empty() {
        println!("No forwarders running. Start one with `tapgate connect DB`.");
    }
    for p in &processes {
        for f in &p.forwarders {
            println!(
                "{} on 127.0.0.1:{} ({} open connection{}; {} pid {})",
                f.database,
                f.local_port,
                f.open_connections,
                if f.open_connections == 1 { "" } else { "s" },
                p.program,
                p.pid
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
