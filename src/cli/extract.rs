//! `plazo extract`: deadline extraction only, for scripts (`--jsonl`) and for people.

use std::process::ExitCode;

/// Arguments of `plazo extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read JSON objects {"id","text","now","tz"} from stdin, one per line, and write one answer per line.
    #[arg(long)]
    pub jsonl: bool,
}

/// Runs `plazo extract`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = args;
    anyhow::bail!("not built yet")
}
