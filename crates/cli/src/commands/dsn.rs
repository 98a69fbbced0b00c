//! `tapgate dsn DB [--format uri|keyword|jdbc|psql]`: the connection string for a database's
//! loopback forwarder (its stable port is chosen now if it has none yet).

use std::path::PathBuf;
use std::process::ExitCode;

use tapgate_core::dsn::connection_string;

use crate::args::DsnArgs;

pub async fn run(config: Option<PathBuf>, args: DsnArgs) -> anyhow::Result<ExitCode> {
    let engine = super::local_engine(config).await?;
    let role = engine.role_for(&args.db, args.role.as_deref())?;
    let port = engine.stable_port(&args.db)?;
    let db = engine.db(&args.db)?;
    println!("{}", connection_string(args.format.into(), port, &db.dbname, &role));
    Ok(ExitCode::SUCCESS)
}
