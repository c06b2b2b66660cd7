//! The understanding stage against its golden data.
//!
//! - `tests/fixtures/understand/<set>/<name>.eml` beside `<name>.json`: whole client mails and
//!   what plazo must make of them (the deadline, the language, which lines are the message, and
//!   the decision of the whole pipeline), each judged as written (CRLF) and with bare LF line
//!   ends. See the README in that folder.
//! - `tests/understand/roles.tsv`: sentences → the role of each time phrase.
//!
//! Every failing case is reported, not just the first. `PLAZO_BLESS=1` writes the `action` and
//! `reason` of each fixture's JSON from its `deadline` and arrival through the policy alone (the
//! business-time rules, not the extractor), for new fixtures.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset};
use plazo::extract::{self, Deadline};
use plazo::lang::Lang;
use plazo::mail::Inbound;
use plazo::pipeline::{self, Action, MemoryLedger, Moment};
use plazo::policy;
use plazo::zone::Zone;
use serde_json::Value;

mod common;

const CONFIG: &str = "tests/fixtures/understand/config.toml";

fn fixture_root() -> PathBuf {
    common::root().join("tests/fixtures/understand")
}

fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut sets: Vec<PathBuf> = fs::read_dir(fixture_root())
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sets.sort();
    for set in sets {
        let mut files: Vec<PathBuf> = fs::read_dir(&set)
            .expect("set folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// The bytes with every CRLF turned into LF (8-bit bodies in other charsets kept as they are).
fn lf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

fn instant(v: &Value) -> Option<DateTime<FixedOffset>> {
    v.as_str()
        .map(|s| DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s:?}: {e}")))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The decision the business-time rules give for a deadline, without the extractor.
fn expected_decision(
    config: &plazo::config::Config,
    arrival: DateTime<chrono::Utc>,
    deadline: Option<DateTime<FixedOffset>>,
) -> (String, String) {
    let d = deadline.map(|at| Deadline {
        at,
        phrase: String::new(),
        lang: Lang::Es,
        role: extract::role::Role::Request,
    });
    let a = policy::assess(config, None, arrival, d);
    if a.triggers.is_empty() {
        ("skip".into(), "no-trigger".into())
    } else {
        (
            "reply".into(),
            a.triggers
                .iter()
                .map(|t| t.tag())
                .collect::<Vec<_>>()
                .join("+"),
        )
    }
}

#[test]
fn every_fixture_mail_is_understood() {
    let config = common::config(CONFIG);
    let templates = common::templates();
    let bless = std::env::var_os("PLAZO_BLESS").is_some();
    let files = fixtures();
    assert!(
        files.len() >= 150,
        "found only {} fixture mails",
        files.len()
    );
    let mut failures = Vec::new();
    let mut runs = 0;
    for file in &files {
        let json_path = file.with_extension("json");
        let text = fs::read_to_string(&json_path)
            .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let mut expect: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let raw = fs::read(file).expect("read fixture");
        let name = file
            .strip_prefix(fixture_root())
            .unwrap_or(file)
            .display()
            .to_string();
        let deadline = instant(&expect["deadline"]);
        let language = expect["language"].as_str().and_then(Lang::from_code);
        let date = Inbound::parse(&raw)
            .date
            .unwrap_or_else(|| panic!("{name}: no Date header"));
        let arrival = date.to_utc() + Duration::minutes(1);
        let (action, reason) = expected_decision(&config, arrival, deadline);
        if bless {
            expect["action"] = Value::from(action.clone());
            expect["reason"] = Value::from(reason.clone());
            let pretty = serde_json::to_string_pretty(&expect).expect("json");
            fs::write(&json_path, pretty + "\n").expect("write json");
        }
        assert_eq!(
            (expect["action"].as_str(), expect["reason"].as_str()),
            (Some(action.as_str()), Some(reason.as_str())),
            "{name}: action/reason do not follow from the deadline (run with PLAZO_BLESS=1)"
        );
        for (ending, bytes) in [("crlf", raw.clone()), ("lf", lf(&raw))] {
            runs += 1;
            let msg = Inbound::parse(&bytes);
            let moment = Moment {
                arrival,
                now: arrival,
            };
            let decision =
                pipeline::decide(&msg, &config, &templates, moment, &MemoryLedger::default())
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            let got = decision.deadline().map(|d| d.at);
            let mut problems = Vec::new();
            if got != deadline {
                problems.push(format!(
                    "deadline: expected {}, got {}",
                    deadline.map_or("none".into(), |d| d.to_rfc3339()),
                    decision.deadline().map_or("none".into(), |d| format!(
                        "{} ({:?})",
                        d.at.to_rfc3339(),
                        d.phrase
                    ))
                ));
            }
            if Some(decision.language) != language {
                problems.push(format!(
                    "language: expected {language:?}, got {:?}",
                    decision.language
                ));
            }
            let got_action = match decision.action {
                Action::Reply => "reply",
                Action::Skip => "skip",
            };
            if (got_action, decision.reason()) != (action.as_str(), reason.clone()) {
                problems.push(format!(
                    "decision: expected {action} ({reason}), got {got_action} ({})",
                    decision.reason()
                ));
            }
            let own = msg
                .own_text
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            for frag in strings(&expect["message_has"]) {
                if !own.contains(&squash(&frag)) {
                    problems.push(format!("message lacks {frag:?}"));
                }
            }
            for frag in strings(&expect["message_lacks"]) {
                if own.contains(&squash(&frag)) {
                    problems.push(format!("message has {frag:?}"));
                }
            }
            if !problems.is_empty() {
                failures.push(format!("{name} ({ending}): {}", problems.join("; ")));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One row of the roles table.
struct Row {
    line: usize,
    lang: String,
    sentence: String,
    phrase: String,
    role: String,
    /// A documented limitation: the row is expected to fail, and why.
    known: Option<String>,
}

fn rows() -> Vec<Row> {
    let path = common::root().join("tests/understand/roles.tsv");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() || raw.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').collect();
        assert!(
            cols.len() == 4 || cols.len() == 5 && cols[4].starts_with("known: "),
            "roles.tsv line {}: 4 columns, or a fifth 'known: …'",
            n + 1
        );
        out.push(Row {
            line: n + 1,
            lang: cols[0].to_string(),
            sentence: cols[1].replace("\\n", "\n"),
            phrase: cols[2].to_string(),
            role: cols[3].to_string(),
            known: cols.get(4).map(|k| k.to_string()),
        });
    }
    out
}

/// Roles that a phrase the grammar does not read as a time satisfies by being ignored.
const NOT_A_TIME: &[&str] = &["number", "idiom", "no-deadline"];

#[test]
fn every_phrase_gets_its_role() {
    let rows = rows();
    assert!(rows.len() >= 300, "only {} rows", rows.len());
    let spanish = rows.iter().filter(|r| r.lang == "es").count();
    assert!(spanish * 3 >= rows.len(), "too few Spanish rows");
    // Tuesday 10 March 2026, 10:00 in Madrid.
    let now = DateTime::parse_from_rfc3339("2026-03-10T10:00:00+01:00").expect("now");
    let zone = Zone::Named(chrono_tz::Europe::Madrid);
    let mut failures = Vec::new();
    for r in &rows {
        let Some(start) = r.sentence.find(&r.phrase) else {
            panic!("roles.tsv line {}: phrase not in sentence", r.line);
        };
        let span = start..start + r.phrase.len();
        // A clause is read as the message it stands in (no segmentation: an attribution line
        // in the table is read for its dateline).
        let findings = extract::explain_mail("", &r.sentence, now, zone);
        let hit: Vec<_> = findings
            .iter()
            .filter(|f| f.span.start < span.end && span.start < f.span.end)
            .collect();
        let ok = if hit.is_empty() {
            NOT_A_TIME.contains(&r.role.as_str())
        } else {
            hit.iter()
                .any(|f| f.role.tag() == r.role && (!f.role.is_demand() || f.counts()))
        };
        if ok && r.known.is_some() {
            failures.push(format!(
                "line {}: passes now, remove its '{}'",
                r.line,
                r.known.as_deref().unwrap_or("")
            ));
        }
        if !ok && r.known.is_none() {
            let got = if hit.is_empty() {
                "nothing".to_string()
            } else {
                hit.iter()
                    .map(|f| format!("{} ({}: {})", f.role.tag(), f.strength.tag(), f.why))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            failures.push(format!(
                "line {} [{}] {:?} / {:?}: expected {}, got {got}",
                r.line, r.lang, r.sentence, r.phrase, r.role
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows wrong:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    let known = rows.iter().filter(|r| r.known.is_some()).count();
    assert!(
        known * 50 <= rows.len(),
        "{known} known failures: over 2 % of the table"
    );
}

#[test]
fn fixture_sets_are_where_the_readme_says() {
    for set in ["es-es", "es-latam", "en-client", "en-wild"] {
        let dir = fixture_root().join(set);
        let n = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
            .count();
        assert!(n >= 30, "{set}: only {n} mails");
    }
    let _ = Path::new(CONFIG);
}
