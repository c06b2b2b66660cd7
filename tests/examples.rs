//! The example mails in `examples/`, decided with the gate fixtures' config: what a reader of
//! `examples/README.md` is told they show.

use plazo::pipeline::{Action, MemoryLedger};

mod common;

struct Expect {
    file: &'static str,
    reason: &'static str,
    deadline: Option<&'static str>,
    earliest: Option<&'static str>,
}

const EXPECTED: [Expect; 6] = [
    Expect {
        file: "newsletter-friday-night.eml",
        reason: "outside-hours+short-notice",
        // "ahora mismo" / "URGENTE": the moment she wrote.
        deadline: Some("2026-11-20T21:30:00+01:00"),
        earliest: Some("2026-11-27T13:00:00+01:00"),
    },
    Expect {
        file: "en-eod-friday.eml",
        reason: "outside-hours+short-notice",
        // "by EOD Friday" in the Date header's fixed +0000 zone: 18:00 UTC.
        deadline: Some("2026-11-20T18:00:00+00:00"),
        earliest: Some("2026-11-25T18:00:00+01:00"),
    },
    Expect {
        file: "es-manana-primera-hora.eml",
        reason: "outside-hours+short-notice",
        deadline: Some("2026-11-20T09:00:00+01:00"),
        earliest: Some("2026-11-26T18:00:00+01:00"),
    },
    Expect {
        file: "en-no-rush.eml",
        reason: "no-trigger",
        deadline: None,
        // 36 working hours from Tuesday 10:00 run out exactly at Monday's 19:00.
        earliest: Some("2026-11-23T19:00:00+01:00"),
    },
    Expect {
        file: "es-reply-chain.eml",
        reason: "outside-hours",
        deadline: None,
        earliest: Some("2026-11-27T13:00:00+01:00"),
    },
    Expect {
        file: "auto-reply-bounce.eml",
        reason: "auto-submitted",
        deadline: None,
        earliest: None,
    },
];

#[test]
fn examples_decide_as_documented() {
    let config = common::config(common::FIXTURE_CONFIG);
    let mut failures = Vec::new();
    for e in EXPECTED {
        let raw = std::fs::read(common::root().join("examples").join(e.file)).expect("example");
        let d = common::decide(&config, &raw, &mut MemoryLedger::default());
        let deadline = d.deadline().map(|dl| dl.at.to_utc());
        let earliest = d.assessment.as_ref().and_then(|a| a.earliest);
        let want_deadline = e.deadline.map(common::t);
        let want_earliest = e.earliest.map(common::t);
        if d.reason() != e.reason || deadline != want_deadline || earliest != want_earliest {
            failures.push(format!(
                "{}: got {} deadline {deadline:?} ({:?}) earliest {earliest:?}; want {} {want_deadline:?} {want_earliest:?}",
                e.file,
                d.reason(),
                d.deadline().map(|dl| dl.phrase.clone()),
                e.reason
            ));
        }
        assert_eq!(
            d.action == Action::Reply,
            e.reason.contains("hours") || e.reason.contains("notice")
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
