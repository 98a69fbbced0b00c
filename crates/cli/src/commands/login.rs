//! `tapgate login [IDP]`: a valid session, from the cache, a refresh or a key tap;
//! `--device`: a new sign-in with the device flow (RFC 8628).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use tapgate_core::{SessionOrigin, SignInPolicy};

use crate::args::LoginArgs;
use crate::output::{countdown, print_events};
use crate::prompt::TerminalPrompt;

pub async fn run(config: Option<PathBuf>, args: LoginArgs) -> anyhow::Result<ExitCode> {
    let engine = super::engine(config).await?;
    let printer = print_events(engine.subscribe());
    let policy = if args.device {
        SignInPolicy::ForceDevice
    } else if args.force {
        SignInPolicy::ForceTap
    } else {
        SignInPolicy::Reuse
    };
    let prompt = Arc::new(TerminalPrompt::default());
    let result = engine.session(args.idp.idp.as_deref(), prompt.clone(), policy).await;
    prompt.finished_now();
    drop(engine);
    let _ = printer.await;
    let session = result?;
    let what = match session.origin {
        SessionOrigin::Cache => "Already signed in to",
        SessionOrigin::Refreshed => "Session renewed without a tap:",
        SessionOrigin::SignedIn => "Signed in to",
    };
    let groups =
        if session.claims.groups.is_empty() { "none".to_string() } else { session.claims.groups.join(", ") };
    println!(
        "{what} {} as {} (groups: {groups}); token valid for {}.",
        session.idp,
        session.identity(),
        countdown(session.seconds_left())
    );
    Ok(ExitCode::SUCCESS)
}

impl TerminalPrompt {
    /// Clears the spinner even when the ceremony ended in an error.
    pub fn finished_now(&self) {
        tapgate_core::Prompt::finished(self);
    }
}
