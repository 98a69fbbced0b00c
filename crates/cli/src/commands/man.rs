//! `tapgate man [--dir DIR]`: the man pages in roff, generated from the clap definition:
//! tapgate(1) on stdout, or it and one page per command (tapgate-login(1), …) written to DIR.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::args::{Cli, ManArgs};

pub fn run(args: ManArgs) -> anyhow::Result<ExitCode> {
    // tapgate(1) names a page for each command; clap's `help` command gets none, so it is
    // left out of the list rather than naming a page that does not exist.
    let command = Cli::command().disable_help_subcommand(true);
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("cannot write the man pages to {}", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page).context("cannot render the man page")?;
            std::io::stdout().lock().write_all(&page).context("cannot write the man page to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
