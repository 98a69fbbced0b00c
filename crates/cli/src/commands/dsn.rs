//! `tapgate dsn DB [--format uri|keyword|jdbc|psql] [--tcp]`: the connection string for a
//! database's forwarder (its stable port is chosen now if it has none yet): its Unix-domain
//! socket where the format can name one, else 127.0.0.1.

use std::path::PathBuf;
use std::process::ExitCode;

use tapgate_core::dsn::{Endpoint, connection_string};

use crate::args::DsnArgs;

pub async fn run(config: Option<PathBuf>, args: DsnArgs) -> anyhow::Result<ExitCode> {
    let engine = super::local_engine(config).await?;
    let role = engine.role_for(&args.db, args.role.as_deref())?;
    let port = engine.stable_port(&args.db)?;
    let db = engine.db(&args.db)?;
    let socket_dir = if args.tcp { None } else { engine.socket_dir(db) };
    let at = Endpoint { port, socket_dir: socket_dir.as_deref() };
    println!("{}", connection_string(args.format.into(), at, &db.dbname, &role));
    Ok(ExitCode::SUCCESS)
}
