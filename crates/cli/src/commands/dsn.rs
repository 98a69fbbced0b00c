//! `tapgate dsn DB [--format uri|keyword|jdbc|psql]`: the connection string for a database's
//! loopback forwarder (its stable port is chosen now if it has none yet).

use std::path::PathBuf;
use std::process::ExitCode;

use tapgate_core::dsn::connection_string;
use tapgate_core::ports::PortBook;

use crate::args::DsnArgs;

pub async fn run(config: Option<PathBuf>, args: DsnArgs) -> anyhow::Result<ExitCode> {
    let path = tapgate_config::config_path(config)?;
    let config = tapgate_config::Config::load(&path)?;
    let db = config.db(&args.db)?;
    let port = PortBook::new(&tapgate_config::data_dir()?).port_for(db)?;
    let role = args.role.as_deref().unwrap_or(&db.role);
    if !db.allowed_roles().iter().any(|r| r == role) {
        anyhow::bail!(
            "role `{role}` is not allowed for {} (allowed: {})",
            db.name,
            db.allowed_roles().join(", ")
        );
    }
    println!("{}", connection_string(args.format.into(), port, &db.dbname, role));
    Ok(ExitCode::SUCCESS)
}
