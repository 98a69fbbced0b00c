//! `tapgate token [IDP]` / `tapgate token --db DB`: print a valid access token for scripts (the
//! IdP's, or what a database gets as the password: its token, or on Amazon RDS an auth token
//! for the person's user, as `aws rds generate-db-auth-token` prints). The one place a token is
//! printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tapgate_core::SignInPolicy;

use crate::args::TokenArgs;
use crate::output::print_events;
use crate::prompt::TerminalPrompt;

pub async fn run(config: Option<PathBuf>, args: TokenArgs) -> anyhow::Result<ExitCode> {
    let engine = super::engine(config).await?;
    let printer = print_events(engine.subscribe());
    let prompt = Arc::new(TerminalPrompt::default());
    let result = match &args.db {
        // Exactly what the forwarder sends as the password for the database's default user:
        // the database's token, or on RDS an auth token made for the person's user.
        Some(db) => match engine.role_for(db, None) {
            Ok(user) => {
                engine.db_login(db, &user, prompt.clone(), SignInPolicy::Reuse).await.map(|l| l.password)
            }
            Err(e) => Err(e),
        },
        None => engine
            .session(args.idp.idp.as_deref(), prompt.clone(), SignInPolicy::Reuse)
            .await
            .map(|session| session.access_token),
    };
    prompt.finished_now();
    drop(engine);
    let _ = printer.await;
    let token = result?;
    // The user asked for the token: stdout only, so `$(tapgate token)` captures it and nothing else does.
    println!("{}", token.expose_secret());
    Ok(ExitCode::SUCCESS)
}
