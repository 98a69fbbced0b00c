//! `tapgate logout [IDP]`: forget the tokens of an IdP.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::args::IdpArg;

pub async fn run(config: Option<PathBuf>, args: IdpArg) -> anyhow::Result<ExitCode> {
    let engine = super::engine(config).await?;
    let mut events = engine.subscribe();
    let name = engine.idp(args.idp.as_deref())?.name.clone();
    if engine.sign_out(Some(&name)).await? {
        println!("Signed out of {name}.");
    } else {
        println!("Not signed in to {name}.");
    }
    // A revocation the IdP refused was reported while signing out: say so.
    while let Ok(event) = events.try_recv() {
        crate::output::print_event(&event);
    }
    Ok(ExitCode::SUCCESS)
}
