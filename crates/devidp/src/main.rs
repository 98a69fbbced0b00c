//! The `tapgate-devidp` binary: parses the command line and runs one command of the library.

mod cli;

use std::io::{IsTerminal, Write};

use anyhow::Context;
use clap::Parser;
use tapgate_devidp::{
    DataDir, EnrollKey, EnrollOptions, IdpServer, ServeOptions, enroll, export_credentials, list_users,
    parse_listen_address, rotate_key,
};

use cli::{Cli, Command, EnrollArgs, ServeArgs};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    tapgate_devidp::install_ring_provider();

    match run(Cli::parse().command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tapgate-devidp: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args),
        Command::Enroll(args) => enroll_key(args),
        Command::RotateKey(args) => {
            let dir = DataDir::create(&args.data)?;
            let rotated = rotate_key(&dir)?;
            match rotated.retired_kid {
                Some(old) => println!(
                    "new signing key {}; {old} retired (still published until its tokens expire)",
                    rotated.new_kid
                ),
                None => println!("new signing key {}", rotated.new_kid),
            }
            Ok(())
        }
        Command::Users(args) => {
            let dir = DataDir::existing(&args.data)?;
            let users = list_users(&dir)?;
            if users.is_empty() {
                println!("no users yet: add one with `tapgate-devidp enroll`");
            }
            for user in users {
                let groups = if user.groups.is_empty() { "-".to_owned() } else { user.groups.join(",") };
                let keys = if user.credentials == 1 { "key" } else { "keys" };
                println!("{}  groups={groups}  {} {keys}  sub={}", user.name, user.credentials, user.sub);
            }
            Ok(())
        }
        Command::ExportCredential(args) => {
            let dir = DataDir::existing(&args.data.data)?;
            let credentials = export_credentials(&dir, &args.soft_key)?;
            println!("{}", serde_json::to_string_pretty(&credentials)?);
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let options = ServeOptions {
        data_dir: args.data.data,
        listen: parse_listen_address(&args.listen)?,
        token_ttl: args.token_ttl,
        refresh_ttl: args.refresh_ttl,
        clock_offset_secs: args.clock_offset,
        clock_file: args.clock_file,
        client_id: args.client_id,
        device_interval: args.device_interval,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = IdpServer::bind(options)?;
        // First line on stdout, flushed: tests and scripts read the issuer from here.
        let mut stdout = std::io::stdout();
        writeln!(stdout, "{}", server.issuer()).context("cannot write to stdout")?;
        stdout.flush().context("cannot write to stdout")?;
        tracing::info!(issuer = %server.issuer(), "serving");
        server.run(shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot watch SIGTERM; stop with Ctrl-C");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn enroll_key(args: EnrollArgs) -> anyhow::Result<()> {
    let key = match (args.soft_key, args.usb) {
        (Some(path), _) => EnrollKey::SoftKey(path),
        (None, _) => EnrollKey::Usb,
    };
    let enrolled =
        enroll(&EnrollOptions { data_dir: args.data.data, user: args.user, groups: args.groups, key })?;
    let groups = if enrolled.groups.is_empty() { "-".to_owned() } else { enrolled.groups.join(",") };
    let key = match &enrolled.key_file {
        Some(path) => format!("soft key {}", path.display()),
        None => "USB key".to_owned(),
    };
    let verb = if enrolled.new_user { "created" } else { "updated" };
    println!("{verb} {}  groups={groups}  {key}  ({} key(s) enrolled)", enrolled.user, enrolled.credentials);
    Ok(())
}
