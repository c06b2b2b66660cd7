//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fake_smtp;
pub mod servers;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use plazo::config::Config;
use plazo::mail::Inbound;
use plazo::pipeline::{self, Decision, Ledger, MemoryLedger, Moment};
use plazo::render::Templates;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads a config file from the repository, failing the test with every problem.
pub fn config(relative: &str) -> Config {
    match Config::load(&root().join(relative)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// Parses a config given as text.
pub fn config_text(text: &str) -> Config {
    match Config::parse(text, Path::new("test.toml")) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// The built-in templates.
pub fn templates() -> Templates {
    match Templates::load(None) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// An RFC 3339 instant.
pub fn t(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.to_utc(),
        Err(e) => panic!("{s}: {e}"),
    }
}

/// Runs the pipeline on raw bytes arriving at `arrival` (decided at the same instant).
pub fn decide_at(
    config: &Config,
    raw: &[u8],
    arrival: DateTime<Utc>,
    ledger: &dyn Ledger,
) -> Decision {
    let msg = Inbound::parse(raw);
    let moment = Moment {
        arrival,
        now: arrival,
    };
    match pipeline::decide(&msg, config, &templates(), moment, ledger) {
        Ok(d) => d,
        Err(e) => panic!("decide: {e}"),
    }
}

/// Runs the pipeline on raw bytes arriving at their Date header.
pub fn decide(config: &Config, raw: &[u8], ledger: &mut MemoryLedger) -> Decision {
    let msg = Inbound::parse(raw);
    let arrival = msg
        .date
        .map(|d| d.to_utc())
        .unwrap_or_else(|| t("2026-11-21T22:00:00+01:00"));
    let d = decide_at(config, raw, arrival, ledger);
    if let (Some(_), Some(to)) = (&d.reply, &d.recipient) {
        ledger.record(to, &d.triggers, &d.thread, arrival);
    }
    d
}

/// A minimal mail with CRLF line ends: `headers` one per line, then the body.
pub fn mail(headers: &[&str], body: &str) -> Vec<u8> {
    let mut s = String::new();
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(&body.replace('\n', "\r\n"));
    s.into_bytes()
}

/// The config every gate fixture is judged with.
pub const FIXTURE_CONFIG: &str = "tests/fixtures/gate/config.toml";

/// `[schedule]` lines opening every weekday with the same `ranges` (`"\"09:00-18:00\""`).
pub fn every_day(ranges: &str) -> String {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| format!("{d} = [{ranges}]\n"))
    .collect()
}
