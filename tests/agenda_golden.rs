//! Golden fixtures for `plazo::agenda::parse`, the pure iCalendar stage: real exports (weekly
//! meetings with EXDATE and moved instances, other zones with their VTIMEZONE, floating and UTC
//! times, all-day and away events, both DST changes in Madrid and New York, a holiday calendar
//! across a year end, free and cancelled events, broken input) read into busy times and days,
//! and compared with a reviewed expected file. The unit tests in `src/agenda.rs` check single
//! rules; these check whole files as exporters write them, so a change of `icalendar`, `rrule`
//! or of plazo's reading shows up here as a diff a reviewer can check against RFC 5545.
//!
//! Every `tests/fixtures/agenda/NAME.ics` is read with the settings at the top of
//! `NAME.expected` (its leading `# key: value` lines) and must give the rest of that file:
//!
//! ```text
//! # zone: Europe/Madrid                                the freelancer's zone
//! # window: 2026-06-01T00:00:00Z 2026-07-01T00:00:00Z  the window `parse` is asked about
//! # holidays: false                                    `Meaning::holidays`; away words: AWAY_WORDS
//! # note: why the expected lines are right             (any number, ignored)
//! busy 2026-06-02 10:00+02:00 .. 2026-06-02 11:00+02:00 = 2026-06-02T08:00Z .. 2026-06-02T09:00Z standup@example.test
//! away 2026-08-03 .. 2026-08-14 summer@example.test
//! problem not an iCalendar file
//! ```
//!
//! One line per busy time, in `parse`'s order (sorted by start, as `Agenda` promises): its start
//! and end in the freelancer's zone with the offset, then in UTC, then the UID. One line per day
//! block (`away` or `holiday`, first and last day included, UID), sorted by days, kind and UID
//! (`parse` gives them in file order, which means nothing). One line per problem, in `parse`'s
//! order, with plazo's own words only: the `line N: event UID: ` prefix and what follows it up
//! to the next `: ` (the parser's detail after it is left out: it changes with the crate). An
//! agenda with nothing in it is the line `nothing`.
//!
//! Each file is parsed twice, with bare LF and with CRLF line ends; both must give the expected
//! lines. `PLAZO_BLESS=1` writes the expected files from what `parse` gives now (keeping their
//! header), for review in the diff: an expected file holds what is right, not what the code
//! happens to give.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use plazo::agenda::{AWAY_WORDS, Agenda, Meaning};

/// Fewer fixtures than this means the folder was not found or lost its files.
const AT_LEAST: usize = 10;

fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agenda")
}

/// What one fixture is read with.
struct Settings {
    zone: Tz,
    window: (DateTime<Utc>, DateTime<Utc>),
    holidays: bool,
}

/// The settings of an expected file's header, and the header's text (kept when blessing).
fn header(expected: &str, name: &str) -> (Settings, String) {
    let mut zone = None;
    let mut window = None;
    let mut holidays = None;
    let mut text = String::new();
    for line in expected.lines().take_while(|l| l.starts_with('#')) {
        text.push_str(line);
        text.push('\n');
        let (key, value) = line
            .trim_start_matches('#')
            .split_once(':')
            .unwrap_or_else(|| panic!("{name}.expected: header line without a key: {line}"));
        let value = value.trim();
        match key.trim() {
            "zone" => {
                zone = Some(
                    value
                        .parse::<Tz>()
                        .unwrap_or_else(|e| panic!("{name}.expected: zone {value}: {e}")),
                );
            }
            "window" => {
                let at = |s: &str| {
                    DateTime::parse_from_rfc3339(s)
                        .unwrap_or_else(|e| panic!("{name}.expected: window {s}: {e}"))
                        .to_utc()
                };
                let (from, until) = value.split_once(' ').unwrap_or_else(|| {
                    panic!("{name}.expected: window needs a start and an end: {value}")
                });
                window = Some((at(from.trim()), at(until.trim())));
            }
            "holidays" => {
                holidays = Some(
                    value
                        .parse::<bool>()
                        .unwrap_or_else(|e| panic!("{name}.expected: holidays {value}: {e}")),
                );
            }
            "note" => {}
            other => panic!("{name}.expected: unknown header key {other:?}"),
        }
    }
    let settings = Settings {
        zone: zone.unwrap_or_else(|| panic!("{name}.expected: no `# zone:` line")),
        window: window.unwrap_or_else(|| panic!("{name}.expected: no `# window:` line")),
        holidays: holidays.unwrap_or_else(|| panic!("{name}.expected: no `# holidays:` line")),
    };
    (settings, text)
}

/// An instant as `2026-06-02 10:00+02:00` in `zone` (seconds only when there are some).
fn local(at: DateTime<Utc>, zone: Tz) -> String {
    let t = at.with_timezone(&zone);
    if t.second() == 0 {
        t.format("%Y-%m-%d %H:%M%:z").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
    }
}

/// An instant as `2026-06-02T08:00Z`.
fn utc(at: DateTime<Utc>) -> String {
    if at.second() == 0 {
        at.format("%Y-%m-%dT%H:%MZ").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// A problem in plazo's own words: `line N: event UID: why`, without the parser's detail after
/// it.
fn problem(text: &str) -> &str {
    let mut kept = 0;
    if let Some(rest) = text.strip_prefix("line ")
        && let Some(i) = rest.find(": ")
        && rest[..i].bytes().all(|b| b.is_ascii_digit())
    {
        kept = "line ".len() + i + 2;
    }
    if text[kept..].starts_with("event ")
        && let Some(i) = text[kept..].find(": ")
    {
        kept += i + 2;
    }
    match text[kept..].find(": ") {
        Some(i) => &text[..kept + i],
        None => text,
    }
}

/// The agenda as the expected file writes it (without the header).
fn render(agenda: &Agenda, zone: Tz) -> String {
    let mut out = String::new();
    for b in &agenda.busy {
        let _ = writeln!(
            out,
            "busy {} .. {} = {} .. {} {}",
            local(b.start, zone),
            local(b.end, zone),
            utc(b.start),
            utc(b.end),
            b.uid
        );
    }
    let mut days: Vec<_> = agenda.days.iter().collect();
    days.sort_by(|a, b| {
        (a.days.first, a.days.last, a.kind, &a.uid).cmp(&(
            b.days.first,
            b.days.last,
            b.kind,
            &b.uid,
        ))
    });
    for d in days {
        let _ = writeln!(
            out,
            "{} {} .. {} {}",
            d.kind, d.days.first, d.days.last, d.uid
        );
    }
    for p in &agenda.problems {
        let _ = writeln!(out, "problem {}", problem(p));
    }
    if out.is_empty() {
        out.push_str("nothing\n");
    }
    out
}

fn fixtures() -> Vec<PathBuf> {
    let dir = folder();
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ics"))
        .collect();
    files.sort();
    files
}

fn name_of(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_calendar_fixture_gives_its_expected_agenda() {
    let bless = std::env::var("PLAZO_BLESS").is_ok_and(|v| v == "1");
    let meaning = |holidays| Meaning {
        holidays,
        away_words: AWAY_WORDS.iter().map(|w| (*w).to_string()).collect(),
    };
    let files = fixtures();
    let mut failures = Vec::new();
    let mut passed = 0;
    for ics in &files {
        let name = name_of(ics);
        let expected_path = ics.with_extension("expected");
        let expected = fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (every NAME.ics needs a NAME.expected with at least its header)",
                expected_path.display()
            )
        });
        let (settings, head) = header(&expected, &name);
        let raw = fs::read(ics).unwrap_or_else(|e| panic!("{}: {e}", ics.display()));
        let lf = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
        let crlf = lf.replace('\n', "\r\n");
        let source = meaning(settings.holidays);
        let got: Vec<String> = [&lf, &crlf]
            .iter()
            .map(|text| {
                let agenda = plazo::agenda::parse(text, &source, settings.zone, settings.window);
                render(&agenda, settings.zone)
            })
            .collect();
        let want = if bless {
            fs::write(&expected_path, format!("{head}{}", got[1]))
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
            got[1].clone()
        } else {
            expected[head.len()..].to_string()
        };
        if got.iter().all(|g| *g == want) {
            passed += 1;
        } else if got[0] == got[1] {
            failures.push(format!("--- {name}: want\n{want}--- got\n{}", got[0]));
        } else {
            for (ends, got) in ["LF", "CRLF"].iter().zip(&got) {
                failures.push(format!(
                    "--- {name} ({ends} line ends; LF and CRLF differ): want\n{want}--- got\n{got}"
                ));
            }
        }
    }
    // Every expected file has its calendar.
    let orphans: Vec<String> = fs::read_dir(folder())
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "expected"))
        .filter(|p| !p.with_extension("ics").exists())
        .map(|p| name_of(&p))
        .collect();
    assert!(
        orphans.is_empty(),
        "expected files without a calendar: {orphans:?}"
    );
    assert!(
        files.len() >= AT_LEAST,
        "only {} fixtures in {} (at least {AT_LEAST})",
        files.len(),
        folder().display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ from their expected agenda:\n{}",
        files.len() - passed,
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn problems_keep_plazos_words_only() {
    assert_eq!(
        problem("not an iCalendar file: Error at line 1: expected BEGIN"),
        "not an iCalendar file"
    );
    assert_eq!(
        problem("event a@b: its recurrence cannot be read: recurrence rule error: x"),
        "event a@b: its recurrence cannot be read"
    );
    assert_eq!(problem("event a@b: no DTSTART"), "event a@b: no DTSTART");
    assert_eq!(
        problem("line 12: event a@b: its recurrence cannot be read: x: y"),
        "line 12: event a@b: its recurrence cannot be read"
    );
    let madrid: Tz = chrono_tz::Europe::Madrid;
    let at = Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 5).unwrap();
    assert_eq!(local(at, madrid), "2026-03-29 03:30:05+02:00");
    assert_eq!(utc(at), "2026-03-29T01:30:05Z");
}
