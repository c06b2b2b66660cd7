//! `plazo preview`: runs the whole decision pipeline on `.eml` files, in order, with one
//! in-memory ledger, and shows each decision and the reply as the client would see it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::config::Config;
use crate::mail::Inbound;
use crate::pipeline::{self, Decision, MemoryLedger, Moment};
use crate::render::{Templates, format_instant};

/// Arguments of `plazo preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The arrival instant (RFC 3339, e.g. 2026-11-20T21:30:00+01:00); default: each file's Date header.
    #[arg(long, value_parser = parse_instant)]
    pub at: Option<DateTime<Utc>>,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// The messages, processed in order.
    #[arg(required = true, value_name = "FILE.eml")]
    pub files: Vec<PathBuf>,
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| format!("{e}: write an RFC 3339 instant like 2026-11-20T21:30:00+01:00"))
}

/// Runs `plazo preview` with an already loaded config.
pub fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    // Her calendars, over the last two years and the next one (mails are decided at their Date).
    let with_calendars;
    let config = if config.calendars.is_empty() {
        config
    } else {
        let now = crate::clock::now();
        let (_, until) = crate::agenda::window(now);
        let agenda = super::calendars(config, (now - chrono::Duration::days(730), until));
        with_calendars = config.with_agenda(&agenda);
        &with_calendars
    };
    let templates = Templates::load_for(config)
        .with_context(|| format!("cannot load the templates of {}", config.path.display()))?;
    let mut ledger = MemoryLedger::default();
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &args.files {
        match preview_one(file, args.at, config, &templates, &mut ledger) {
            Ok((msg, decision)) => {
                if args.json {
                    writeln!(out, "{}", to_json(file, &msg, &decision, config))?;
                } else {
                    write!(out, "{}", to_text(file, &msg, &decision, config))?;
                }
            }
            Err(err) => {
                failed = true;
                tracing::error!("{err:#}");
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn preview_one(
    file: &Path,
    at: Option<DateTime<Utc>>,
    config: &Config,
    templates: &Templates,
    ledger: &mut MemoryLedger,
) -> anyhow::Result<(Inbound, Decision)> {
    let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let msg = Inbound::parse(&raw);
    let arrival = at
        .or_else(|| msg.date.map(|d| d.to_utc()))
        .with_context(|| {
            format!(
                "{}: no valid Date header: give the arrival with --at",
                file.display()
            )
        })?;
    let moment = Moment {
        arrival,
        now: arrival,
    };
    let decision = pipeline::decide(&msg, config, templates, moment, ledger)
        .with_context(|| format!("{}: cannot decide", file.display()))?;
    if let (Some(_), Some(to)) = (&decision.reply, &decision.recipient) {
        ledger.record(to, &decision.triggers, &decision.thread, arrival);
    }
    Ok((msg, decision))
}

/// The calendar events (by UID) between the arrival and the promise: what moved it.
fn in_the_way(config: &Config, a: &crate::policy::Assessment) -> Vec<String> {
    let Some(until) = a.earliest.or(a.next_opening) else {
        return Vec::new();
    };
    let mut uids: Vec<String> = config
        .schedule
        .busy_between(a.received, until)
        .into_iter()
        .map(|b| format!("event {}", b.uid))
        .collect();
    uids.dedup();
    uids
}

fn to_json(file: &Path, msg: &Inbound, d: &Decision, config: &Config) -> Value {
    let tz = config.schedule.tz;
    let instant = |t: Option<DateTime<Utc>>| t.map(|t| t.with_timezone(&tz).to_rfc3339());
    let a = d.assessment.as_ref();
    json!({
        "file": file.display().to_string(),
        "message_id": msg.message_id,
        "action": d.action,
        "reason": d.reason(),
        "client": d.client,
        "triggers": d.triggers,
        "received": d.received.with_timezone(&tz).to_rfc3339(),
        "deadline": d.deadline().map(|dl| dl.at.to_rfc3339()),
        "deadline_phrase": d.deadline().map(|dl| dl.phrase.clone()),
        "deadline_role": d.deadline().map(|dl| dl.role.tag()),
        "findings": d.explained(),
        "blocks": msg.segments.blocks.iter().map(|b| json!({
            "kind": b.kind.name(),
            "start": b.range.start,
            "end": b.range.end,
        })).collect::<Vec<_>>(),
        "earliest": instant(a.and_then(|a| a.earliest)),
        "rush_earliest": instant(a.and_then(|a| a.rush_earliest)),
        "next_opening": instant(a.and_then(|a| a.next_opening)),
        "calendar_busy": a.map(|a| in_the_way(config, a)).unwrap_or_default(),
        "outside_hours": a.map(|a| a.outside_hours),
        "language": d.language.code(),
        "reply": d.reply.as_ref().map(|r| json!({
            "to": r.to,
            "from": r.from,
            "subject": r.subject,
            "headers": r.headers,
            "text": r.text,
        })),
    })
}

fn to_text(file: &Path, msg: &Inbound, d: &Decision, config: &Config) -> String {
    let tz = config.schedule.tz;
    let lang = d.language;
    let when = |t: DateTime<Utc>| format_instant(lang, tz, t, d.received);
    let mut s = format!("== {}\n", file.display());
    let from = msg
        .from
        .as_ref()
        .map_or_else(String::new, |m| match &m.name {
            Some(n) => format!("{n} <{}>", m.address),
            None => m.address.clone(),
        });
    s += &format!(
        "   from:         {from}\n   subject:      {}\n",
        msg.subject
    );
    s += &format!("   received:     {}\n", when(d.received));
    match d.action {
        pipeline::Action::Reply => s += &format!("   decision:     REPLY ({})\n", d.reason()),
        pipeline::Action::Skip => s += &format!("   decision:     skip ({})\n", d.reason()),
    }
    if let Some(name) = &d.client {
        s += &format!("   agreement:    {name} ([[client]])\n");
    }
    if let Some(a) = &d.assessment {
        s += &format!(
            "   within hours: {}\n",
            if a.outside_hours { "no" } else { "yes" }
        );
        match &a.deadline {
            Some(dl) => {
                s += &format!(
                    "   deadline:     {} (\"{}\")\n",
                    when(dl.at.to_utc()),
                    dl.phrase
                )
            }
            None => s += "   deadline:     none asked for\n",
        }
        if let Some(t) = a.next_opening {
            s += &format!("   next opening: {}\n", when(t));
        }
        if let Some(t) = a.earliest {
            s += &format!("   earliest:     {}\n", when(t));
        }
        if let Some(t) = a.rush_earliest {
            s += &format!("   with rush:    {}\n", when(t));
        }
        let moved = in_the_way(config, a);
        if !moved.is_empty() {
            s += &format!("   calendar:     busy in the way: {}\n", moved.join(", "));
        }
    }
    s += &format!("   language:     {}\n", lang.code());
    if d.assessment.is_some() {
        let mut explained = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = super::extract::write_blocks(&mut explained, &msg.text, &msg.segments);
        let _ = super::extract::write_findings(&mut explained, &d.explained());
        for line in String::from_utf8_lossy(&explained).lines() {
            s += &format!("   {line}\n");
        }
    }
    if let Some(r) = &d.reply {
        s += "\n--- the reply, as the client will see it ---\n";
        s += &r.as_seen();
        s += "--- end of reply ---\n";
    }
    s += "\n";
    s
}
