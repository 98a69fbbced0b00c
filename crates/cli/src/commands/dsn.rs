//! `tapgate dsn DB [--format uri|keyword|jdbc|psql] [--tcp]`: the connection string for a
//! database's forwarder (its stable port is chosen now if it has none yet): its Unix-domain
//! socket where the format can name one, else 127.0.0.1. A database with the person's own user
//! (`user = "{email}"`) shows that user when a sign-in is cached (the template otherwise, which
//! the forwarder also takes).

use std::path::PathBuf;
use std::process::ExitCode;

use tapgate_core::dsn::{Endpoint, connection_string};

use crate::args::DsnArgs;

pub async fn run(config: Option<PathBuf>, args: DsnArgs) -> anyhow::Result<ExitCode> {
    let engine = super::local_engine(config.clone()).await?;
    let mut role = engine.role_for(&args.db, args.role.as_deref())?;
    if args.role.is_none() && engine.db(&args.db)?.user_template.is_some() {
        // The person's own user (`user = "{claim}"`), as the token signed in now names it.
        // Only this case reads the keyring, for the cached sign-in's claims.
        let with_keyring = super::engine(config).await?;
        match with_keyring.db_user_now(&args.db).await? {
            Some(own) => role = own,
            None => eprintln!(
                "tapgate: {} logs you in as your own user ({role} from your token); sign in (`tapgate login`) to see it here",
                args.db
            ),
        }
    }
    let port = engine.stable_port(&args.db)?;
    let db = engine.db(&args.db)?;
    let socket_dir = if args.tcp { None } else { engine.socket_dir(db) };
    let at = Endpoint { port, socket_dir: socket_dir.as_deref() };
    println!("{}", connection_string(args.format.into(), at, &db.dbname, &role));
    Ok(ExitCode::SUCCESS)
}
