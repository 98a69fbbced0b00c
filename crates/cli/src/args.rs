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
    Token(TokenArgs),
    /// Run loopback forwarders for databases until Ctrl-C; point any PostgreSQL client at them.
    Connect(ConnectArgs),
    /// Print the connection string of a database's forwarder.
    Dsn(DsnArgs),
    /// Sign-in state per IdP and the forwarders of every running Tapgate.
    Status(StatusArgs),
    /// Connections made through Tapgate's forwarders.
    History(HistoryArgs),
    /// Check the configuration, keyring, keys, IdPs and databases; say what to fix.
    Doctor(DoctorArgs),
    /// Run a command with PGHOST/PGPORT/PGUSER/PGDATABASE pointing at a forwarder that lives as long as it.
    Exec(ExecArgs),
    /// Try Tapgate in one command: a dev IdP, a local PostgreSQL 18 with OAuth and a forwarder, until Ctrl-C.
    Demo(DemoArgs),
    /// Print the completion script for a shell (bash, zsh, fish, ...) on stdout.
    Completions(CompletionsArgs),
    /// Print the man page tapgate(1) in roff on stdout, or write every page into a folder (--dir).
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write tapgate.1 and a tapgate-COMMAND.1 for each command into DIR instead (for packages,
    /// or ~/.local/share/man/man1).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's own folder (IdP data, key, cluster, config); never your configuration
    /// [default: $XDG_DATA_HOME/tapgate/demo]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Databases from the configuration (`[db.NAME]`).
    #[arg(required = true)]
    pub dbs: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Uri,
    Keyword,
    Jdbc,
    Psql,
}

impl From<FormatArg> for tapgate_core::dsn::DsnFormat {
    fn from(value: FormatArg) -> Self {
        use tapgate_core::dsn::DsnFormat;
        match value {
            FormatArg::Uri => DsnFormat::Uri,
            FormatArg::Keyword => DsnFormat::Keyword,
            FormatArg::Jdbc => DsnFormat::Jdbc,
            FormatArg::Psql => DsnFormat::Psql,
        }
    }
}

#[derive(Debug, Args)]
pub struct DsnArgs {
    /// Database from the configuration.
    pub db: String,
    #[arg(long, value_enum, default_value = "uri")]
    pub format: FormatArg,
    /// Role to connect as (one of the database's roles); default: its `role`.
    #[arg(long)]
    pub role: Option<String>,
    /// Name the TCP port on 127.0.0.1 even where the Unix-domain socket could be used (for
    /// clients that only speak TCP).
    #[arg(long)]
    pub tcp: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machine-readable output (for support tickets): {"checks": [...], "ok": bool}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this database.
    #[arg(long)]
    pub db: Option<String>,
    /// Newest N rows (0 = all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Sign-ins (taps and refreshes) instead of connections.
    #[arg(long, conflicts_with = "db")]
    pub sign_ins: bool,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Database from the configuration.
    pub db: String,
    /// Role to connect as (one of the database's roles); default: its `role`.
    #[arg(long)]
    pub role: Option<String>,
    /// Point PGHOST at 127.0.0.1 rather than the forwarder's Unix-domain socket folder.
    #[arg(long)]
    pub tcp: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct IdpArg {
    /// IdP name from the configuration; may be left out when only one is configured.
    pub idp: Option<String>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub idp: IdpArg,
    /// What the database DB gets as the password instead of the IdP's token: its own token
    /// (`audience`/`scopes`, a cloud's scope), or on Amazon RDS an auth token for your user.
    #[arg(long, value_name = "DB", conflicts_with = "idp")]
    pub db: Option<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub idp: IdpArg,
    /// Ask for a tap even if a valid session is cached.
    #[arg(long)]
    pub force: bool,
    /// Sign in now with the device flow (a code to type on another device), whatever the
    /// IdP's `flow` is: for SSH sessions and machines without a browser.
    #[arg(long)]
    pub device: bool,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    #[command(flatten)]
    pub idp: IdpArg,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}
