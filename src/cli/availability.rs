//! `plazo availability`: the free working time ahead, day by day, and what closed the rest:
//! the timetable, a holiday, an away period, or an event of her calendars (by UID, never by
//! title). What plazo will promise comes from exactly this.

use std::io::Write;
use std::process::ExitCode;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::agenda::{self, Agenda};
use crate::clock;
use crate::config::Config;

/// Arguments of `plazo availability`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many days ahead, today included.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Print one JSON object per day (local HH:MM times; the README documents the keys).
    #[arg(long)]
    pub json: bool,
}

/// One day of `plazo availability` (one JSON object per line with `--json`; the README
/// documents the structure).
#[derive(Debug, Serialize)]
struct Day {
    date: NaiveDate,
    /// The free working intervals, local times.
    free: Vec<Span>,
    /// Why the day is closed, when it is.
    closed: Option<Closed>,
    /// Calendar events that took time out of it, local times.
    busy: Vec<Taken>,
}

/// A free interval, local `HH:MM`.
#[derive(Debug, Serialize)]
struct Span {
    from: String,
    to: String,
}

/// Why a whole day is closed: `holiday`, `away` or `no hours`, and the calendar event that
/// closed it (by UID), if one did.
#[derive(Debug, Serialize)]
struct Closed {
    why: &'static str,
    event: Option<String>,
}

/// Time an event took, local `HH:MM`.
#[derive(Debug, Serialize)]
struct Taken {
    event: String,
    from: String,
    to: String,
}

/// Runs `plazo availability` with an already loaded config.
pub fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    let now = clock::now();
    let agenda = super::calendars(config, agenda::window(now));
    let config = config.with_agenda(&agenda);
    let today = now.with_timezone(&config.schedule.tz).date_naive();
    let mut out = std::io::stdout().lock();
    for n in 0..args.days {
        let Some(date) = today.checked_add_signed(Duration::days(i64::from(n))) else {
            break;
        };
        let day = describe(&config, &agenda, date);
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&day)?)?;
            continue;
        }
        let free = if day.free.is_empty() {
            "—".to_string()
        } else {
            day.free
                .iter()
                .map(|s| format!("{}-{}", s.from, s.to))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut line = format!("{}  free {free}", date.format("%a %Y-%m-%d"));
        match &day.closed {
            Some(Closed {
                why,
                event: Some(uid),
            }) => line.push_str(&format!("  (closed: {why} (event {uid}))")),
            Some(Closed { why, event: None }) => line.push_str(&format!("  (closed: {why})")),
            None => {}
        }
        for t in &day.busy {
            line.push_str(&format!("  [busy {}-{}: event {}]", t.from, t.to, t.event));
        }
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(config: &Config, agenda: &Agenda, date: NaiveDate) -> Day {
    let schedule = &config.schedule;
    let tz = schedule.tz;
    let hm = |t: DateTime<Utc>| t.with_timezone(&tz).format("%H:%M").to_string();
    let closed_by = |why: &'static str| Closed {
        why,
        event: agenda
            .days
            .iter()
            .find(|d| d.kind == why && d.days.first <= date && date <= d.days.last)
            .map(|d| d.uid.clone()),
    };
    let closed = if schedule.is_holiday(date) {
        Some(closed_by("holiday"))
    } else if schedule.is_closed(date) {
        Some(closed_by("away"))
    } else if schedule.ranges(chrono::Datelike::weekday(&date)).is_empty() {
        Some(Closed {
            why: "no hours",
            event: None,
        })
    } else {
        None
    };
    let start = crate::zone::Zone::Named(tz)
        .instant(date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .to_utc();
    let end = start + Duration::days(1);
    let busy = schedule
        .busy
        .iter()
        .filter(|b| b.start < end && b.end > start && closed.is_none())
        .map(|b| Taken {
            event: b.uid.clone(),
            from: hm(b.start.max(start)),
            to: hm(b.end.min(end)),
        })
        .collect();
    Day {
        date,
        free: schedule
            .free_on(date)
            .into_iter()
            .map(|(a, b)| Span {
                from: hm(a),
                to: hm(b),
            })
            .collect(),
        closed,
        busy,
    }
}
