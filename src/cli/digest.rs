//! `plazo digest --preview`: the weekly digest as it stands now, from the state store: what
//! the next one will report (since the last digest, or the last seven days), and when it goes.

use std::io::Write;
use std::process::ExitCode;

use crate::clock;
use crate::config::Config;
use crate::render::digest;

/// Arguments of `plazo digest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the digest as it stands now instead of sending it (the running daemon sends it
    /// at its time, `[digest]` in the config).
    #[arg(long, required = true)]
    pub preview: bool,
    /// Print its HTML part instead of the plain text.
    #[arg(long)]
    pub html: bool,
}

/// Runs `plazo digest` with an already loaded config.
pub fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    let store = super::open_store(config)?;
    let now = clock::now();
    // Up to now included (the store keeps whole seconds).
    let until = now + chrono::Duration::seconds(1);
    let (_, text) = crate::digest::compose_until(&store, config, until)?;
    let settings = &config.digest;
    let next = digest::next_due(settings, &config.schedule, now).with_timezone(&config.schedule.tz);
    let mut out = std::io::stdout().lock();
    if settings.enabled {
        writeln!(
            out,
            "# next digest to {} at {}",
            settings.to,
            next.format("%Y-%m-%d %H:%M %Z")
        )?;
    } else {
        writeln!(out, "# the weekly digest is off ([digest] enabled = false)")?;
    }
    writeln!(out, "Subject: {}\n", text.subject)?;
    out.write_all(if args.html {
        text.html.as_bytes()
    } else {
        text.text.as_bytes()
    })?;
    Ok(ExitCode::SUCCESS)
}
