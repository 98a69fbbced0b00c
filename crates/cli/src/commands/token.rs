//! `tapgate token [IDP]` / `tapgate token --db DB`: print a valid access token for scripts (the
//! IdP's, or the one a database gets). The one place a token is printed.

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
        Some(db) => engine.db_session(db, prompt.clone(), SignInPolicy::Reuse).await,
        None => engine.session(args.idp.idp.as_deref(), prompt.clone(), SignInPolicy::Reuse).await,
    };
    prompt.finished_now();
    drop(engine);
    let _ = printer.await;
    let session = result?;
    // The user asked for the token: stdout only, so `$(tapgate token)` captures it and nothing else does.
    println!("{}", session.access_token.expose_secret());
    Ok(ExitCode::SUCCESS)
}
