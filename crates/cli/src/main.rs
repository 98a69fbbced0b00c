//! `tapgate`: sign in with a security key and reach PostgreSQL with short-lived tokens.
//!
//! # Layout
//! - [`args`]: the command line (clap).
//! - [`commands`]: one file per subcommand.
//! - [`demo`]: the terminal side of `tapgate demo` (signals, progress lines);
//!   the environment it starts (dev IdP, PostgreSQL 18) is the `tapgate-demo` crate.
//! - [`prompt`]: the terminal side of a sign-in (spinner, PIN entry).
//! - [`device_prompt`]: the device flow's page, code and QR code.
//! - [`output`]: countdowns, and the printer for engine events.
//!
//! Exit codes: 0 success; 1 failure or (for `whoami`) signed out / expired; 2 usage error.

mod args;
mod browser;
mod commands;
mod demo;
mod device_prompt;
mod output;
mod prompt;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tapgate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tapgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Login(a) => commands::login::run(cli.config, a).await,
        Command::Whoami(a) => commands::whoami::run(cli.config, a).await,
        Command::Logout(a) => commands::logout::run(cli.config, a).await,
        Command::Token(a) => commands::token::run(cli.config, a).await,
        Command::Connect(a) => commands::connect::run(cli.config, a).await,
        Command::Dsn(a) => commands::dsn::run(cli.config, a).await,
        Command::Status(a) => commands::status::run(cli.config, a).await,
        Command::History(a) => commands::history::run(cli.config, a).await,
        Command::Doctor(a) => commands::doctor::run(cli.config, a).await,
        Command::Exec(a) => commands::exec::run(cli.config, a).await,
        // The demo writes and uses its own configuration, never the user's.
        Command::Demo(a) => commands::demo::run(a).await,
        // Both read only the clap definition: no configuration, no engine.
        Command::Completions(a) => commands::completions::run(a),
        Command::Man(a) => commands::man::run(a),
    }
}

/// Logs go to stderr; `-v` shows Tapgate's own info lines, `TAPGATE_LOG` takes a full filter.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "warn,tapgate=info",
        _ => "info,tapgate=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TAPGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // aws-sigv4's trace lines hold the canonical request, session token included: never on.
        .add_directive(tapgate_core::NEVER_LOGGED.parse().expect("a valid directive"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
