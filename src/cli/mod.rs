//! The command line (design §2): one file per subcommand; this file only dispatches.

pub mod extract;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code for an unreadable or invalid configuration (EX_CONFIG).
pub const EXIT_CONFIG: u8 = 78;

/// plazo: answers clients' after-hours and short-notice mail once, with the earliest real delivery.
#[derive(Debug, Parser)]
#[command(name = "plazo", version, about)]
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Deadline extraction only: what a text demands, and by when.
    Extract(extract::Args),
}

/// Parses the command line, runs the subcommand and turns its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLAZO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command {
        Command::Extract(args) => extract::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("plazo: {err:#}");
            ExitCode::from(1)
        }
    }
}
