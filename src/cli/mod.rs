//! The command line (design §2): one file per subcommand; this file only dispatches and turns
//! outcomes into exit codes (0 success, 1 failure, 78 unusable config).

pub mod auth;
pub mod availability;
pub mod away;
pub mod check;
pub mod digest;
pub mod docs;
pub mod extract;
pub mod history;
pub mod preview;
pub mod run;
pub mod templates;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};

pub use crate::config::EXIT_CONFIG;

/// plazo: answers clients' after-hours and short-notice mail once, with the earliest real delivery.
#[derive(Debug, Parser)]
#[command(name = "plazo", version, about, propagate_version = true)]
pub struct Cli {
    /// The config file [default: $PLAZO_CONFIG, else $XDG_CONFIG_HOME/plazo/config.toml, else /etc/plazo/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The daemon: watch the mailbox, decide, reply.
    Run(run::Args),
    /// Validate the config file and the templates, listing every problem.
    Check(check::Args),
    /// Run the decision pipeline on .eml files and show each decision and reply.
    Preview(preview::Args),
    /// Deadline extraction only: what a text demands, and by when.
    Extract(extract::Args),
    /// What was answered or skipped, when and why.
    History(history::Args),
    /// OAuth2 sign-in for Gmail and Microsoft 365: `login`, `status`.
    Auth(auth::Args),
    /// Away until a date (`--until 2027-01-06`), or back (`--off`), in the running daemon at once.
    Away(away::Args),
    /// The reply templates: `list` (files and variables), `show NAME`, `init DIR`.
    Templates(templates::Args),
    /// Write the man pages and the bash, zsh and fish completions into a folder (for packaging).
    Docs(docs::Args),
    /// The weekly digest of what plazo did: `--preview` prints it as it stands now.
    Digest(digest::Args),
    /// The free working time ahead, day by day, after her timetable, holidays and calendars.
    Availability(availability::Args),
}

/// Crates that log raw protocol bytes at trace level: async-imap every IMAP command (LOGIN
/// passwords and AUTHENTICATE tokens included), rustls TLS records.
const RAW_PROTOCOL_TARGETS: [&str; 2] = ["async_imap", "rustls"];

/// Logs to stderr, filtered by `$PLAZO_LOG` (default `info`); trace events of
/// [`RAW_PROTOCOL_TARGETS`] are dropped whatever it says, so no secret reaches a log at any
/// level.
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let wanted = tracing_subscriber::EnvFilter::try_from_env("PLAZO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let no_raw_bytes = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() != tracing::Level::TRACE
            || !RAW_PROTOCOL_TARGETS
                .iter()
                .any(|t| meta.target().starts_with(t))
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(wanted)
        .with_filter(no_raw_bytes);
    tracing_subscriber::registry().with(layer).init();
}

/// Parses the command line, runs the subcommand and turns its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config_path = cli.config.unwrap_or_else(config::default_path);
    let result = match cli.command {
        Command::Check(args) => check::run(args, &config_path),
        Command::Run(args) => run::run(args, &config_path),
        Command::Preview(args) => match Config::load(&config_path) {
            Ok(config) => preview::run(args, &config),
            Err(err) => return config_failure(&err),
        },
        Command::History(args) => match Config::load(&config_path) {
            Ok(config) => history::run(args, &config),
            Err(err) => return config_failure(&err),
        },
        Command::Auth(args) => match Config::load(&config_path) {
            Ok(config) => auth::run(args, &config),
            Err(err) => return config_failure(&err),
        },
        Command::Away(args) => match Config::load(&config_path) {
            Ok(config) => away::run(args, &config),
            Err(err) => return config_failure(&err),
        },
        Command::Availability(args) => match Config::load(&config_path) {
            Ok(config) => availability::run(args, &config),
            Err(err) => return config_failure(&err),
        },
        Command::Digest(args) => match Config::load(&config_path) {
            Ok(config) => digest::run(args, &config),
            Err(err) => return config_failure(&err),
        },
        Command::Extract(args) => extract::run(args),
        Command::Docs(args) => docs::run(args),
        Command::Templates(args) => {
            templates::run(args, Config::load(&config_path).map_err(|e| e.to_string()))
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("plazo: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// The state store of `config`, for the commands that read what the daemon did.
fn open_store(config: &Config) -> anyhow::Result<crate::store::Store> {
    use anyhow::Context as _;
    let path = &config.state.path;
    if !path.exists() {
        anyhow::bail!(
            "no state store at {} yet: plazo run has not decided anything",
            path.display()
        );
    }
    crate::store::Store::open(path).with_context(|| format!("cannot open {}", path.display()))
}

/// Her calendars for a command, over `window`: fetched now, the state store's last good copy
/// where a server cannot be reached (and kept there when it can). What cannot be read is said
/// on stderr; the command goes on without it, as the daemon does.
fn calendars(
    config: &Config,
    window: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
) -> crate::agenda::Agenda {
    if config.calendars.is_empty() {
        return crate::agenda::Agenda::default();
    }
    let store = config
        .state
        .path
        .exists()
        .then(|| crate::store::Store::open(&config.state.path).ok())
        .flatten();
    let (agenda, texts) = crate::caldav::read_now(
        &config.calendars,
        config.schedule.tz,
        window,
        store.as_ref(),
    );
    for (source, got) in config.calendars.iter().zip(&texts) {
        if let crate::caldav::Got::Copy { fetched, error } = &got.got {
            eprintln!(
                "plazo: calendar {}: {error}; using the copy fetched {}",
                source.origin.describe(),
                fetched
                    .with_timezone(&config.schedule.tz)
                    .format("%Y-%m-%d %H:%M %Z")
            );
        }
    }
    for p in &agenda.problems {
        eprintln!("plazo: calendar: {p}");
    }
    agenda
}

fn config_failure(err: &config::ConfigError) -> ExitCode {
    eprintln!("plazo: {err}");
    ExitCode::from(EXIT_CONFIG)
}
