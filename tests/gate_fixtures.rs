//! Every `.eml` under `tests/fixtures/gate/` judged with that folder's `config.toml`.
//!
//! `<reason>/<quirk>.eml` must be skipped for exactly that reason, `pass/<quirk>.eml` must get a
//! reply (they all arrive outside hours), and `seq-<name>/NN-<expect>.eml` run in order with one
//! ledger. Each file is judged twice: as written (CRLF) and with bare LF line ends.

use std::fs;
use std::path::{Path, PathBuf};

use plazo::gate::Skip;
use plazo::pipeline::{Action, MemoryLedger};

mod common;

fn fixture_root() -> PathBuf {
    common::root().join("tests/fixtures/gate")
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
}

fn folders() -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> = fs::read_dir(fixture_root())
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .map(|p| {
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                p,
            )
        })
        .collect();
    dirs.sort();
    dirs
}

fn lf(raw: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(raw)
        .replace("\r\n", "\n")
        .into_bytes()
}

fn outcome(d: &plazo::pipeline::Decision) -> String {
    match d.action {
        Action::Reply => "reply".to_string(),
        Action::Skip => d.reason(),
    }
}

#[test]
fn every_fixture_gets_its_verdict() {
    let config = common::config(common::FIXTURE_CONFIG);
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut reasons_seen = std::collections::BTreeSet::new();
    for (name, dir) in folders() {
        if name.starts_with("seq-") {
            continue;
        }
        let expected = if name == "pass" {
            "reply".to_string()
        } else {
            name.clone()
        };
        assert!(
            expected == "reply" || Skip::from_tag(&expected).is_some(),
            "folder {name} is not a skip reason"
        );
        for file in emls(&dir) {
            let raw = fs::read(&file).expect("read fixture");
            for (ending, bytes) in [("crlf", raw.clone()), ("lf", lf(&raw))] {
                let got = outcome(&common::decide(
                    &config,
                    &bytes,
                    &mut MemoryLedger::default(),
                ));
                if got != expected {
                    failures.push(format!(
                        "{} ({ending}): expected {expected}, got {got}",
                        file.display()
                    ));
                }
                checked += 1;
            }
            reasons_seen.insert(expected.clone());
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 80, "found only {checked} fixture runs");
    // Every stateless gate reason has fixtures.
    for reason in Skip::ALL.iter().take_while(|s| **s != Skip::Duplicate) {
        assert!(
            reasons_seen.contains(reason.tag()),
            "no fixture for {reason}"
        );
    }
}

#[test]
fn sequences_share_one_ledger() {
    let config = common::config(common::FIXTURE_CONFIG);
    let mut sequences = 0;
    let mut failures = Vec::new();
    for (name, dir) in folders() {
        if !name.starts_with("seq-") {
            continue;
        }
        sequences += 1;
        let mut ledger = MemoryLedger::default();
        let files = emls(&dir);
        assert!(files.len() >= 2, "{name} holds fewer than two mails");
        for file in files {
            let stem = file
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let expected = stem.split_once('-').map_or("", |(_, e)| e).to_string();
            let raw = fs::read(&file).expect("read fixture");
            let got = outcome(&common::decide(&config, &raw, &mut ledger));
            if got != expected {
                failures.push(format!(
                    "{}: expected {expected}, got {got}",
                    file.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(sequences >= 3, "found only {sequences} sequences");
}
