//! `plazo run`: the daemon.

use std::path::Path;
use std::process::ExitCode;

use crate::daemon::{self, Options};

/// Arguments of `plazo run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Catch up with the mailbox, process what is new, send the queued replies, and exit.
    #[arg(long)]
    pub once: bool,
    /// Decide and log what would be done; record nothing and send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `plazo run`.
pub fn run(args: Args, path: &Path) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let opts = Options {
        once: args.once,
        dry_run: args.dry_run,
    };
    let code = runtime.block_on(daemon::run(path.to_path_buf(), opts));
    leave(runtime);
    Ok(ExitCode::from(code?))
}

/// Leaves the runtime to the process's exit instead of shutting it down: lettre's SMTP pool
/// spawns a task when it is dropped, which panics once the runtime is gone.
fn leave(runtime: tokio::runtime::Runtime) {
    std::mem::forget(runtime);
}

/// The tokio runtime other subcommands use for a few network calls.
pub fn block_on<F: Future>(fut: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = runtime.block_on(fut);
    leave(runtime);
    Ok(out)
}
