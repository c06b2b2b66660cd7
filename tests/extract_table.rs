//! Table tests of the deadline extractor: phrase, reference instant, zone → expected instant.
//!
//! The cases live in `tests/extract/table.tsv` (see its header for the format), so that adding a
//! case is adding a line. Every failing line is reported, not just the first.

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use plazo::extract::{self, Deadline};
use plazo::lang::Lang;
use plazo::zone::Zone;

const TABLE: &str = include_str!("extract/table.tsv");

struct Case {
    line: usize,
    text: String,
    now: DateTime<FixedOffset>,
    tz: Tz,
    expect: Option<DateTime<FixedOffset>>,
}

fn instant(s: &str, line: usize) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("line {line}: bad instant {s:?}: {e}"))
}

fn zone(s: &str, line: usize) -> Tz {
    s.parse()
        .unwrap_or_else(|_| panic!("line {line}: bad zone {s:?}"))
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut reference: Option<(DateTime<FixedOffset>, Tz)> = None;
    for (n, raw) in TABLE.lines().enumerate() {
        let line = n + 1;
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').collect();
        if cols.first() == Some(&"@") {
            assert_eq!(cols.len(), 3, "line {line}: '@ now zone'");
            reference = Some((instant(cols[1], line), zone(cols[2], line)));
            continue;
        }
        let (now, tz, expect) = match cols.len() {
            2 => {
                let (now, tz) =
                    reference.unwrap_or_else(|| panic!("line {line}: no '@' reference yet"));
                (now, tz, cols[1])
            }
            4 => (instant(cols[1], line), zone(cols[2], line), cols[3]),
            k => panic!("line {line}: {k} columns, expected 2 or 4"),
        };
        out.push(Case {
            line,
            text: cols[0].replace("\\n", "\n"),
            now,
            tz,
            expect: (expect != "none").then(|| instant(expect, line)),
        });
    }
    out
}

#[test]
fn table() {
    let cases = cases();
    assert!(
        cases.len() >= 200,
        "the table should hold at least 200 cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for c in &cases {
        let got = extract::find(&c.text, c.now, Zone::Named(c.tz)).map(|d| d.at);
        if got != c.expect {
            failures.push(format!(
                "line {}: {:?} (now {} in {}): expected {}, got {}",
                c.line,
                c.text,
                c.now.to_rfc3339(),
                c.tz.name(),
                c.expect.map_or("none".into(), |t| t.to_rfc3339()),
                got.map_or("none".into(), |t| t.to_rfc3339()),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn madrid_now() -> (DateTime<FixedOffset>, Zone) {
    (
        DateTime::parse_from_rfc3339("2025-05-14T10:00:00+02:00").expect("instant"),
        Zone::Named(chrono_tz::Europe::Madrid),
    )
}

#[test]
fn phrase_and_language_are_reported() {
    let (now, zone) = madrid_now();
    let d = extract::find(
        "Hola, lo necesito antes de las 10 de la mañana, gracias",
        now,
        zone,
    )
    .expect("a deadline");
    assert_eq!(d.phrase, "antes de las 10 de la mañana");
    assert_eq!(d.lang, Lang::Es);
    let d = extract::find("Could you send it by Friday noon?", now, zone).expect("a deadline");
    assert_eq!(d.phrase, "by Friday noon");
    assert_eq!(d.lang, Lang::En);
}

#[test]
fn subject_counts_too() {
    let (now, zone) = madrid_now();
    let d: Deadline =
        extract::find_in_mail("URGENTE: la web no carga", "Hola, mira esto.", now, zone)
            .expect("subject deadline");
    assert_eq!(d.at, now);
    let d = extract::find_in_mail("Slides for tomorrow", "Hi, see attached.", now, zone)
        .expect("subject deadline");
    assert_eq!(d.at.to_rfc3339(), "2025-05-15T18:00:00+02:00");
    let d = extract::find_in_mail("for tomorrow", "Actually I need it today", now, zone)
        .expect("body deadline");
    assert_eq!(d.at.to_rfc3339(), "2025-05-14T18:00:00+02:00");
}

#[test]
fn fixed_offset_zone() {
    let now = DateTime::parse_from_rfc3339("2025-05-14T10:00:00-05:00").expect("instant");
    let zone = Zone::Fixed(*now.offset());
    let d = extract::find("para mañana a las 9", now, zone).expect("deadline");
    assert_eq!(d.at.to_rfc3339(), "2025-05-15T09:00:00-05:00");
}

#[test]
fn explain_lists_ignored_phrases() {
    let (now, zone) = madrid_now();
    let all = extract::explain(
        "El viernes tengo una boda, así que lo necesito el jueves.",
        now,
        zone,
    );
    assert_eq!(all.len(), 2);
    assert!(!all[0].counts());
    assert!(all[1].counts());
}
