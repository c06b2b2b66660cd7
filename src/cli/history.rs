//! `plazo history`: what was answered or skipped, when and why, from the state store; under each
//! decision the deadline it acted on and the readings it was not sure of.

use std::io::Write;
use std::process::ExitCode;

use crate::config::Config;
use crate::extract::role::Strength;

/// Arguments of `plazo history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many decisions to show, newest first.
    #[arg(long, short = 'n', default_value_t = 50)]
    pub limit: usize,
    /// Print one JSON object per decision (instants in UTC, RFC 3339).
    #[arg(long)]
    pub json: bool,
    /// Show times in UTC instead of the freelancer's zone (schedule.timezone).
    #[arg(long)]
    pub utc: bool,
}

/// Runs `plazo history` with an already loaded config.
pub fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    let store = super::open_store(config)?;
    let rows = store.history(args.limit)?;
    let mut out = std::io::stdout().lock();
    for r in &rows {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(r)?)?;
        } else {
            let mut delivery = match (&r.delivery, &r.error) {
                (Some(d), Some(e)) => format!(" [{d}: {e}]"),
                (Some(d), None) => format!(" [{d}]"),
                _ => String::new(),
            };
            if let Some(client) = &r.client {
                delivery.push_str(&format!(" (client: {client})"));
            }
            let decided_at = if args.utc {
                r.decided_at.clone()
            } else {
                local(&r.decided_at, config.schedule.tz)
            };
            writeln!(
                out,
                "{}  {:<5} {:<28} {:<32} {}{}",
                decided_at,
                r.action,
                r.reason,
                r.sender.as_deref().unwrap_or("?"),
                r.subject,
                delivery
            )?;
            // The deadline it acted on, and the readings it was not sure of (never quoted to
            // the client), each with its role and why.
            for f in r
                .findings
                .iter()
                .filter(|f| f.counts || f.strength == Strength::Weak.tag())
            {
                let label = if f.counts { "deadline" } else { "unsure" };
                writeln!(
                    out,
                    "      {label}: {:?} {} ({}) → {}: {}",
                    f.phrase,
                    f.role,
                    f.strength,
                    f.at.as_deref().unwrap_or("no instant"),
                    f.why
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An RFC 3339 instant as the same instant in `tz` (unchanged when it does not parse).
fn local(rfc3339: &str, tz: chrono_tz::Tz) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}
