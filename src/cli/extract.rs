//! `plazo extract`: deadline extraction only, for scripts (`--jsonl`) and for people.
//!
//! Batch mode reads `{"id","text","now","tz"}` objects, one per line, and writes one answer per
//! line in input order; a bad line gets an answer with an `"error"` field instead of stopping
//! the batch. Human mode reads one text and shows its blocks (which lines are the message, the
//! signature, the quote…), every time phrase of the message with how it was read, its role, how
//! sure that is and why, and the earliest deadline.

use std::borrow::Cow;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::extract;
use crate::pipeline::Explained;
use crate::segment::Segments;
use crate::zone::Zone;

/// Arguments of `plazo extract`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read JSON objects {"id","text","now","tz"} from stdin, one per line, and write one answer
    /// per line: {"id","deadline","phrase","lang"} (plus "error" for a bad line).
    #[arg(long, conflicts_with_all = ["now", "tz", "file"])]
    pub jsonl: bool,

    /// The reference instant (the mail's Date), RFC 3339 [default: the current time].
    #[arg(long, value_name = "T", value_parser = parse_now)]
    pub now: Option<DateTime<FixedOffset>>,

    /// The sender's zone: an IANA name (Europe/Madrid), UTC, or an offset such as +02:00.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub tz: Zone,

    /// Print the pieces the grammar reads, one per line (for debugging the lexicons).
    #[arg(long, hide = true)]
    pub pieces: bool,

    /// The text to read [default: stdin].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Runs `plazo extract`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.jsonl {
        let stdin = io::stdin();
        let stdout = io::stdout();
        batch(
            stdin.lock(),
            BufWriter::with_capacity(1 << 16, stdout.lock()),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read FILE {}", path.display()))?,
        None => {
            let mut s = String::new();
            io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the text from stdin")?;
            s
        }
    };
    let now = args
        .now
        .unwrap_or_else(|| crate::clock::now().fixed_offset());
    let mut out = BufWriter::new(io::stdout().lock());
    if args.pieces {
        for line in extract::pieces(&text) {
            writeln!(out, "{line}")?;
        }
    }
    human(&text, now, args.tz, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One input line of batch mode.
#[derive(Deserialize)]
struct Case<'a> {
    id: serde_json::Value,
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(borrow)]
    now: Cow<'a, str>,
    #[serde(borrow)]
    tz: Cow<'a, str>,
}

/// One output line of batch mode.
#[derive(Serialize)]
struct Answer<'a> {
    id: &'a serde_json::Value,
    deadline: Option<String>,
    phrase: Option<&'a str>,
    lang: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Batch mode: one answer line per input line, in order.
pub fn batch(mut input: impl BufRead, mut out: impl Write) -> anyhow::Result<()> {
    let null = serde_json::Value::Null;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input
            .read_until(b'\n', &mut buf)
            .context("cannot read stdin")?
            == 0
        {
            break;
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            write_error(
                &mut out,
                &null,
                "cannot read the case: not UTF-8".to_owned(),
            )?;
            out.write_all(b"\n")?;
            continue;
        };
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Case>(line) {
            Ok(case) => {
                let answer = answer(&case);
                match answer {
                    Ok(found) => {
                        let a = Answer {
                            id: &case.id,
                            deadline: found
                                .as_ref()
                                .map(|d| d.at.to_rfc3339_opts(SecondsFormat::Secs, true)),
                            phrase: found.as_ref().map(|d| d.phrase.as_str()),
                            lang: found.as_ref().map(|d| d.lang.code()),
                            role: found.as_ref().map(|d| d.role.tag()),
                            error: None,
                        };
                        serde_json::to_writer(&mut out, &a)?;
                    }
                    Err(e) => write_error(&mut out, &case.id, e)?,
                }
            }
            Err(e) => {
                // Keep the id when the line is an object with one, so answers stay matched.
                let id = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("id").cloned())
                    .unwrap_or(null.clone());
                write_error(&mut out, &id, format!("cannot read the case: {e}"))?;
            }
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn answer(case: &Case) -> Result<Option<extract::Deadline>, String> {
    let now = parse_now(&case.now).map_err(|e| format!("now: {e}"))?;
    let zone = parse_zone(&case.tz).map_err(|e| format!("tz: {e}"))?;
    Ok(extract::find(&case.text, now, zone))
}

fn write_error(out: &mut impl Write, id: &serde_json::Value, error: String) -> anyhow::Result<()> {
    let a = Answer {
        id,
        deadline: None,
        phrase: None,
        lang: None,
        role: None,
        error: Some(error),
    };
    serde_json::to_writer(out, &a)?;
    Ok(())
}

/// Human mode: the blocks, every phrase found with its role, and the earliest deadline.
pub fn human(
    text: &str,
    now: DateTime<FixedOffset>,
    zone: Zone,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "now {} in {}",
        now.to_rfc3339_opts(SecondsFormat::Secs, true),
        zone_name(zone)
    )?;
    write_blocks(out, text, &Segments::of(text))?;
    let findings = extract::explain(text, now, zone);
    let explained: Vec<Explained> = findings.iter().map(Explained::from).collect();
    write_findings(out, &explained)?;
    match extract::earliest(&findings) {
        Some(d) => writeln!(
            out,
            "earliest: {} ({:?}, {}, {})",
            d.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            d.phrase,
            d.role.tag(),
            d.lang.code()
        )?,
        None => writeln!(out, "earliest: none (no deadline demanded)")?,
    }
    Ok(())
}

/// Writes the blocks of a body: kind, line numbers, and the first line of each.
pub fn write_blocks(out: &mut impl Write, text: &str, segments: &Segments) -> io::Result<()> {
    writeln!(out, "blocks:")?;
    let line_of = |at: usize| text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1;
    for b in &segments.blocks {
        let body = text.get(b.range.clone()).unwrap_or("");
        let Some(first) = body.lines().map(str::trim).find(|l| !l.is_empty()) else {
            continue;
        };
        let (from, to) = (
            line_of(b.range.start),
            line_of(b.range.end.saturating_sub(1)),
        );
        let lines = if from == to {
            format!("{from}")
        } else {
            format!("{from}-{to}")
        };
        let mut shown: String = first.chars().take(60).collect();
        if shown.len() < first.len() {
            shown.push('…');
        }
        writeln!(out, "  {:<10} {:>7}  {shown}", b.kind.name(), lines)?;
    }
    Ok(())
}

/// Writes every finding: the words, the reading, the instant, the role, how sure and why.
pub fn write_findings(out: &mut impl Write, findings: &[Explained]) -> io::Result<()> {
    if findings.is_empty() {
        writeln!(out, "no time phrases found")?;
        return Ok(());
    }
    writeln!(out, "times:")?;
    for f in findings {
        let counts = if f.counts { "counts" } else { "not counted" };
        writeln!(
            out,
            "  {:?} [{}] → {} → {}\n      {} ({}), {counts}: {} [{}]",
            f.phrase,
            f.source,
            f.reading.as_deref().unwrap_or("no deadline"),
            f.at.as_deref().unwrap_or("no instant"),
            f.role,
            f.strength,
            f.why,
            f.lang
        )?;
    }
    Ok(())
}

fn zone_name(zone: Zone) -> String {
    match zone {
        Zone::Named(tz) => tz.name().to_owned(),
        Zone::Fixed(off) => off.to_string(),
    }
}

/// Parses `--now`: an RFC 3339 date-time with an offset.
fn parse_now(s: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map_err(|e| format!("not an RFC 3339 date-time with offset ({e}): {s:?}"))
}

/// Parses `--tz`: an IANA zone name, or a fixed offset (`+02:00`, `-0500`).
fn parse_zone(s: &str) -> Result<Zone, String> {
    let s = s.trim();
    if let Ok(tz) = Tz::from_str(s) {
        return Ok(Zone::Named(tz));
    }
    if let Ok(dt) =
        DateTime::parse_from_str(&format!("2000-01-01T00:00:00{s}"), "%Y-%m-%dT%H:%M:%S%z")
    {
        return Ok(Zone::Fixed(*dt.offset()));
    }
    Err(format!(
        "unknown time zone {s:?} (expected an IANA name such as Europe/Madrid, or +02:00)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_batch_bytes(input: &[u8]) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        batch(input, &mut out).expect("batch runs");
        String::from_utf8(out)
            .expect("utf-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }

    #[test]
    fn batch_answers_every_line_in_order() {
        let input = concat!(
            r#"{"id":"a","text":"Lo necesito para mañana","now":"2025-05-14T10:00:00+02:00","tz":"Europe/Madrid"}"#,
            "\n",
            r#"{"id":"b","text":"no rush","now":"2025-05-14T10:00:00-04:00","tz":"America/New_York"}"#,
            "\n",
            "not json\n",
            r#"{"id":7,"text":"today","now":"yesterday","tz":"UTC"}"#,
            "\n",
            r#"{"id":"c","text":"today","now":"2025-05-14T10:00:00Z","tz":"Mars/Olympus"}"#,
            "\n",
        );
        let mut bytes = input.as_bytes().to_vec();
        bytes.extend_from_slice(b"\xff\xfe not utf-8\n");
        let out = run_batch_bytes(&bytes);
        assert_eq!(out.len(), 6);
        assert!(
            out[5]["error"]
                .as_str()
                .is_some_and(|e| e.contains("UTF-8"))
        );
        assert_eq!(out[0]["id"], "a");
        assert_eq!(out[0]["deadline"], "2025-05-15T18:00:00+02:00");
        assert_eq!(out[0]["phrase"], "para mañana");
        assert_eq!(out[0]["lang"], "es");
        assert_eq!(out[1]["id"], "b");
        assert!(out[1]["deadline"].is_null() && out[1]["lang"].is_null());
        assert!(
            out[2]["error"]
                .as_str()
                .is_some_and(|e| e.contains("cannot read"))
        );
        assert_eq!(out[3]["id"], 7);
        assert!(
            out[3]["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("now:"))
        );
        assert!(
            out[4]["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("tz:"))
        );
        assert!(out[4]["deadline"].is_null());
    }

    #[test]
    fn human_mode_explains_each_phrase() {
        let now = parse_now("2025-05-27T22:15:00Z").expect("now");
        let zone = parse_zone("Europe/Madrid").expect("zone");
        let mut out = Vec::new();
        human(
            "El viernes tengo boda. Lo necesito antes de las 10 de la mañana.",
            now,
            zone,
            &mut out,
        )
        .expect("runs");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains(
            "\"antes de las 10 de la mañana\" [message] → before 10:00 (clock time, next occurrence) → 2025-05-28T10:00:00+02:00"
        ));
        assert!(text.contains("event (strong), not counted"), "{text}");
        assert!(text.contains("request (strong), counts"), "{text}");
        assert!(text.contains("earliest: 2025-05-28T10:00:00+02:00"));
    }

    #[test]
    fn zones_and_instants_parse() {
        assert!(matches!(parse_zone("+02:00"), Ok(Zone::Fixed(_))));
        assert!(matches!(parse_zone("UTC"), Ok(Zone::Named(_))));
        assert!(parse_zone("Europe/Atlantis").is_err());
        assert!(parse_now("2025-05-14 10:00").is_err());
    }
}
