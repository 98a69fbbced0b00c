//! The command line as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Passwordless PostgreSQL access with a security key.
#[derive(Debug, Parser)]
#[command(name = "tapgate", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file [default: $TAPGATE_CONFIG, else $XDG_CONFIG_HOME/tapgate/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// More log output on stderr (-v, -vv); TAPGATE_LOG takes a full filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to an IdP with your security key (reuses a valid or refreshable session).
    Login(LoginArgs),
    /// Show who you are signed in as, your groups and the time left.
    Whoami(WhoamiArgs),
    /// Forget the tokens of an IdP.
    Logout(IdpArg),
    /// Print a valid access token on stdout, for scripts (refreshes or asks for a tap as needed).
    Token(IdpArg),
}

#[derive(Debug, Args)]
pub struct IdpArg {
    /// IdP name from the configuration; may be left out when only one is configured.
    pub idp: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub idp: IdpArg,
    /// Ask for a tap even if a valid session is cached.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    #[command(flatten)]
    pub idp: IdpArg,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}
