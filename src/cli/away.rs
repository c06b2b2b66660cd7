//! `plazo away`: say from a shell that she is away until a date, or back, without editing the
//! config. It writes the state store, which the running daemon reads at every mail, so it takes
//! effect at once, with no restart; the period ends by itself after its last day.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::NaiveDate;

use crate::clock;
use crate::config::Config;
use crate::store::{AwaySetting, Store};

/// Arguments of `plazo away`. Without any, it says what is in force.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").args(["until", "off"])))]
pub struct Args {
    /// Away from today (or --from) until this local day, included: YYYY-MM-DD.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub until: Option<NaiveDate>,
    /// The first day away, when it is not today: YYYY-MM-DD.
    #[arg(long, value_name = "DATE", value_parser = parse_day, requires = "until")]
    pub from: Option<NaiveDate>,
    /// Your own words for the away reply, in place of the built-in sentence.
    #[arg(long, value_name = "TEXT", requires = "until")]
    pub message: Option<String>,
    /// Back: ends the period set here and any `[[away]]` period that holds today.
    #[arg(long)]
    pub off: bool,
    /// Print the state as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn parse_day(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("\"{text}\" is not a date such as 2027-01-06"))
}

/// Runs `plazo away`.
pub fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    let today = clock::now().with_timezone(&config.schedule.tz).date_naive();
    let path = &config.state.path;
    let store = Store::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    if let Some(until) = args.until {
        let from = args.from.unwrap_or(today);
        if until < from {
            eprintln!("plazo: --until {until} is before the first day away, {from}");
            return Ok(ExitCode::from(1));
        }
        if until < today {
            eprintln!("plazo: --until {until} is already past (today is {today})");
            return Ok(ExitCode::from(1));
        }
        let message = args.message.map(|m| m.trim().to_string());
        if message.as_deref().is_some_and(|m| m.contains(['\r', '\n'])) {
            eprintln!("plazo: --message must be one line");
            return Ok(ExitCode::from(1));
        }
        let setting = AwaySetting {
            period: Some((from, until, message.filter(|m| !m.is_empty()))),
            off: None,
        };
        store.set_away(&setting, clock::now())?;
    } else if args.off {
        let setting = AwaySetting {
            period: None,
            off: Some(today),
        };
        store.set_away(&setting, clock::now())?;
    }
    let setting = store.away()?;
    let period = setting
        .period
        .as_ref()
        .map(|(f, l, m)| (*f, *l, m.as_deref()));
    let effective = config.with_away(period, setting.off);
    let ahead: Vec<_> = effective
        .away
        .iter()
        .filter(|p| p.days.last >= today)
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let periods: Vec<serde_json::Value> = ahead
            .iter()
            .map(|p| {
                serde_json::json!({
                    "from": p.days.first.to_string(),
                    "until": p.days.last.to_string(),
                    "answer": p.answer,
                    "message": p.message.all,
                })
            })
            .collect();
        let now = effective.away_on(today).is_some();
        writeln!(
            out,
            "{}",
            serde_json::json!({"today": today.to_string(), "away_now": now, "periods": periods})
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    match effective.away_on(today) {
        Some(p) => writeln!(out, "away now: until {} (back the day after)", p.days.last)?,
        None => writeln!(out, "not away today ({today})")?,
    }
    for p in ahead.iter().filter(|p| p.days.first > today) {
        writeln!(out, "away from {} until {}", p.days.first, p.days.last)?;
    }
    Ok(ExitCode::SUCCESS)
}
