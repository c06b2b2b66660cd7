//! The whole reply, subject and text, for every situation in both languages, compared with a
//! reviewed golden file (`tests/fixtures/reply/NAME.reply` beside `NAME.eml`).
//!
//! Each mail arrives at its Date header and is decided with `config.toml` of that folder
//! (`config-norush.toml` for names ending in `-norush`). It is judged as written (CRLF) and with
//! bare LF line ends; both must give the golden reply. `PLAZO_UPDATE_GOLDEN=1` rewrites the
//! golden files from what plazo writes now, for review in the diff.

use std::fs;
use std::path::PathBuf;

use plazo::pipeline::{Action, MemoryLedger};

mod common;

/// Every situation the replies issue names, per language.
const SITUATIONS: &[&str] = &[
    "outside-no-request",
    "outside-short",
    "outside-short-norush",
    "within-short",
    "immediate",
    "feasible",
    "holiday",
    "holiday-today",
    "away",
    "other-zone",
];

fn folder() -> PathBuf {
    common::root().join("tests/fixtures/reply")
}

/// The reply as the golden file holds it.
fn written(subject: &str, text: &str) -> String {
    format!("Subject: {subject}\n\n{text}")
}

#[test]
fn every_reply_matches_its_golden_file() {
    let update = std::env::var_os("PLAZO_UPDATE_GOLDEN").is_some();
    let with_rush = common::config("tests/fixtures/reply/config.toml");
    let without_rush = common::config("tests/fixtures/reply/config-norush.toml");
    let mut checked = 0;
    let mut failures = Vec::new();
    for lang in ["es", "en"] {
        for situation in SITUATIONS {
            let name = format!("{lang}-{situation}");
            let eml = folder().join(format!("{name}.eml"));
            let golden = folder().join(format!("{name}.reply"));
            let raw = fs::read(&eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
            let config = if name.ends_with("-norush") {
                &without_rush
            } else {
                &with_rush
            };
            let crlf = String::from_utf8_lossy(&raw)
                .replace("\r\n", "\n")
                .replace('\n', "\r\n");
            let lf = crlf.replace("\r\n", "\n");
            let mut got = Vec::new();
            for variant in [crlf, lf] {
                let d = common::decide(config, variant.as_bytes(), &mut MemoryLedger::default());
                assert_eq!(d.action, Action::Reply, "{name}: {:?}", d.skip);
                let reply = d.reply.unwrap_or_else(|| panic!("{name}: no reply"));
                got.push(written(&reply.subject, &reply.text));
            }
            assert_eq!(got[0], got[1], "{name}: CRLF and LF differ");
            if update {
                fs::write(&golden, &got[0]).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
            }
            let want =
                fs::read_to_string(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
            if want != got[0] {
                failures.push(format!("--- {name}: want\n{want}--- got\n{}", got[0]));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 2 * SITUATIONS.len());
    // Every golden file in the folder was checked: none is left over from a removed case.
    let goldens = fs::read_dir(folder())
        .expect("fixture folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "reply"))
        .count();
    assert_eq!(goldens, checked, "golden files without a case");
}

#[test]
fn the_rules_the_goldens_show_hold() {
    let read = |name: &str| {
        let path = folder().join(format!("{name}.reply"));
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    for lang in ["es", "en"] {
        let mark = if lang == "es" {
            "Subject: Respuesta automática: Re: "
        } else {
            "Subject: Automatic reply: Re: "
        };
        for situation in SITUATIONS {
            let reply = read(&format!("{lang}-{situation}"));
            assert!(reply.starts_with(mark), "{lang}-{situation}: {reply}");
            // The zone is named exactly once.
            let zone = if lang == "es" {
                "hora de Madrid"
            } else {
                "Madrid time"
            };
            assert_eq!(
                reply.matches(zone).count(),
                1,
                "{lang}-{situation}: {reply}"
            );
            // About 80 words between the greeting and the signature (90 with a rush offer and an
            // emergency line); a client in
            // another zone reads each time twice.
            let body: Vec<&str> = reply.lines().skip(4).collect();
            let words = body[..body.len().saturating_sub(2)]
                .join(" ")
                .split_whitespace()
                .count();
            let most = if *situation == "other-zone" { 110 } else { 90 };
            assert!(words <= most, "{lang}-{situation}: {words} words\n{reply}");
            // The rush is an offer to confirm, never an acceptance.
            assert!(!reply.contains("me pongo con ello") && !reply.contains("get on it"));
        }
        // Nothing asked by a time: no delivery date, no rush.
        let thanks = read(&format!("{lang}-outside-no-request"));
        for word in ["entregar", "deliver", "urgente", "urgent"] {
            assert!(!thanks.contains(word), "{lang}: {thanks}");
        }
        // No rush configured: none offered.
        let norush = read(&format!("{lang}-outside-short-norush"));
        assert!(!norush.contains("Si corre prisa") && !norush.contains("If it is urgent"));
        // A feasible deadline gets no rush offer either.
        let feasible = read(&format!("{lang}-feasible"));
        assert!(!feasible.contains("Si corre prisa") && !feasible.contains("If it is urgent"));
    }
    // The client's own words come back beside the instant.
    assert!(read("es-outside-short").contains("«para mañana a las 10»"));
    // Another zone: the client's time beside hers.
    assert!(read("es-other-zone").contains("en tu hora"));
    assert!(read("en-other-zone").contains("your time"));
}
