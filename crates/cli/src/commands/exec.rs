//! `tapgate exec DB -- COMMAND...`: run a command against a forwarder that lives as long as it.
//!
//! For scripts and automation agents: the command gets PGHOST, PGPORT, PGUSER, PGDATABASE (and
//! PGSSLMODE=disable for the loopback leg) and never sees a token. Tapgate exits with its code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tapgate_core::SignInPolicy;
use tapgate_core::forwarding::{self, PortChoice};
use tokio_util::sync::CancellationToken;

use crate::args::ExecArgs;
use crate::output::print_events;
use crate::prompt::TerminalPrompt;

pub async fn run(config: Option<PathBuf>, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let engine = Arc::new(super::engine(config).await?);
    let printer = print_events(engine.subscribe());
    let forwarders = forwarding::bind(&engine, std::slice::from_ref(&args.db), PortChoice::Ephemeral).await?;
    let Some(bound) = forwarders.first() else { anyhow::bail!("no forwarder for {}", args.db) };
    let (port, db) = (bound.port(), bound.db.clone());
    let role = engine.role_for(&db.name, args.role.as_deref())?;
    // A one-command forwarder's local password goes to that command only.
    let local_password = bound.new_local_password.as_ref().map(|(password, _)| password.clone());
    // The socket where there is one: only this person's programs can reach it.
    let pghost = match bound.socket_dir() {
        Some(folder) if !args.tcp => folder.to_string_lossy().into_owned(),
        _ => "127.0.0.1".to_owned(),
    };

    // Sign in before the command starts, so a tap prompt never interleaves with its output.
    let prompt = Arc::new(TerminalPrompt::default());
    let signed_in = engine.session(Some(&db.idp), prompt.clone(), SignInPolicy::Reuse).await;
    prompt.finished_now();
    signed_in?;
    // The person's own user, now that the token that names it is here.
    let role = match (args.role.as_deref(), db.user_template.is_some()) {
        (None, true) => engine.db_user_now(&db.name).await?.unwrap_or(role),
        _ => role,
    };

    let shutdown = CancellationToken::new();
    let serving =
        tokio::spawn(forwarding::serve(engine.clone(), forwarders, prompt, "tapgate exec", shutdown.clone()));

    let (program, rest) = args.command.split_first().ok_or_else(|| anyhow::anyhow!("no command given"))?;
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .env("PGHOST", &pghost)
        .env("PGPORT", port.to_string())
        .env("PGUSER", &role)
        .env("PGDATABASE", &db.dbname)
        .env("PGSSLMODE", "disable")
        .env_remove("PGPASSWORD")
        .envs(local_password.iter().map(|p| ("PGPASSWORD", p.expose_secret())))
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot run `{program}`: {e}"))?;

    // Ctrl-C reaches the command too (same process group); let it decide, and wait for it.
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::signal::ctrl_c() => continue,
        }
    };

    shutdown.cancel();
    let _ = serving.await;
    drop(engine);
    let _ = printer.await;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return ExitCode::from(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)));
        }
    }
    ExitCode::FAILURE
}
