//! `tapgate history [--db DB] [--limit N] [--json]`: connections through Tapgate's forwarders.

use std::path::PathBuf;
use std::process::ExitCode;

use tapgate_core::{Engine, HistoryQuery};

use crate::args::HistoryArgs;
use crate::output::{human_bytes, utc_time};

pub async fn run(config: Option<PathBuf>, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let engine = super::local_engine(config).await?;
    if args.sign_ins {
        return sign_ins(&engine, &args);
    }
    let rows = engine.connections(&HistoryQuery { database: args.db.clone(), limit: args.limit })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No connections yet. Start a forwarder with `tapgate connect DB` and point a client at it.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = table(&[
        "started (UTC)",
        "database",
        "role",
        "identity",
        "application",
        "duration",
        "up",
        "down",
        "outcome",
    ]);
    for r in rows {
        let duration = match r.ended_at {
            Some(end) => format!("{:.1}s", (end - r.started_at) as f64 / 1000.0),
            None => "open".to_string(),
        };
        let outcome = match &r.error {
            Some(e) => format!("{}: {e}", r.outcome),
            None => r.outcome.to_string(),
        };
        table.add_row([
            utc_time(r.started_at / 1000),
            r.database,
            r.role,
            r.identity.unwrap_or_else(|| "-".into()),
            r.application.unwrap_or_else(|| "-".into()),
            duration,
            human_bytes(r.bytes_up),
            human_bytes(r.bytes_down),
            outcome,
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// `--sign-ins`: when each IdP session was obtained, by a tap or a refresh, and failures.
fn sign_ins(engine: &Engine, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let rows = engine.sign_ins(args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!("No sign-ins recorded yet (forwarders record them as they sign in).");
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = table(&["at (UTC)", "idp", "identity", "method", "outcome"]);
    for r in rows {
        let outcome = match &r.error {
            Some(e) => format!("{}: {e}", r.outcome),
            None => r.outcome.to_string(),
        };
        table.add_row([
            utc_time(r.at / 1000),
            r.idp,
            r.identity.unwrap_or_else(|| "-".into()),
            r.method.to_string(),
            outcome,
        ]);
    }
    println!("{table}");
    Ok(ExitCode::SUCCESS)
}

/// A borderless table that fits the terminal: long identities and errors wrap inside their
/// column instead of pushing the rest off screen (piped output keeps whole lines).
fn table(header: &[&str]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table
        .load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
        .set_header(header.iter().copied());
    table
}
