//! `tapgate completions SHELL`: the shell's completion script, generated from the clap definition.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    // Generated into memory first: clap_complete panics on a failed write, and a closed pipe
    // (`tapgate completions bash | head`) should be an error message, not a panic.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    std::io::stdout().lock().write_all(&script).context("cannot write the completion script to stdout")?;
    Ok(ExitCode::SUCCESS)
}
