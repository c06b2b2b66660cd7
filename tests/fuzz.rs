//! Fuzzing the whole decision and the config parser: never a panic, whatever the bytes.
//!
//! Two targets, driven by proptest for a bounded time (stable Rust only):
//!
//! - **decide**: raw bytes → `Inbound::parse` → `pipeline::decide` (gate, understanding, policy,
//!   render) with one shared ledger, for arbitrary bytes and for mutations of every `.eml`
//!   fixture (bytes flipped, cut, spliced, lines repeated, CR/LF changed, hostile header lines
//!   inserted: encoded words, long lines, nested multiparts, odd charsets).
//! - **config**: arbitrary text and mutations of the shipped example → `Config::parse`.
//!
//! `PLAZO_FUZZ_SECONDS` (default 5) bounds each target; `scripts/fuzz SECONDS` runs a long
//! session. A failure is shrunk by proptest and written to `tests/fixtures/fuzz/` (the bytes of
//! the smallest failing input), where [`crashes_found_earlier_stay_fixed`] replays it forever.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use plazo::config::Config;
use plazo::mail::Inbound;
use plazo::pipeline::{self, MemoryLedger, Moment};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestError, TestRunner};

mod common;

fn seconds() -> u64 {
    std::env::var("PLAZO_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// Every `.eml` under the fixture folders: the seeds of the mutations.
fn corpus() -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "eml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&common::root().join("tests/fixtures"), &mut files);
    walk(&common::root().join("examples"), &mut files);
    files.sort();
    let mails: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(mails.len() > 200, "found only {} seed mails", mails.len());
    mails
}

/// Header lines that have broken mail code elsewhere.
const HOSTILE: &[&str] = &[
    "Subject: =?UTF-8?B?8J+YgA==?= =?ISO-8859-1?Q?caf=E9?= =?bogus?X?zz?=",
    "Subject: =?utf-8?q?a=0D=0ABcc:_x@y?=",
    "From: \"a\\\"b\" <@x>, ;;; <>",
    "From: =?utf-8?b?AAAA?= <\u{0}@x>",
    "Content-Type: multipart/mixed; boundary=\"\"",
    "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b--",
    "Content-Type: text/plain; charset=x-unknown-charset",
    "Content-Type: text/html; charset=utf-16",
    "Content-Transfer-Encoding: base64",
    "Content-Transfer-Encoding: quoted-printable",
    "Date: Mon, 31 Feb 99999 25:61:61 +9999",
    "Date: ",
    "References: <a@b> <<<>>> <plazo.0123456789abcdef.1@x>",
    "In-Reply-To: <",
    "Return-Path: <>",
    "Return-Path: <a@b",
    "Auto-Submitted: (no",
    "X-Spam-Status: Yes, score=",
    "List-Id:",
];

/// One mutation of a seed mail.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Splice(usize, usize, usize),
    Repeat(usize, usize),
    Insert(usize, usize),
    LineEnds(bool),
}

fn apply(seed: &[u8], other: &[u8], m: &Mutation) -> Vec<u8> {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    let mut out = seed.to_vec();
    match *m {
        Mutation::Flip(i, b) => {
            if !out.is_empty() {
                let i = i % out.len();
                out[i] ^= b;
            }
        }
        Mutation::Cut(i) => out.truncate(at(i, out.len())),
        Mutation::Splice(i, j, k) => {
            let (i, j) = (at(i, out.len()), at(j, other.len()));
            let end = (j + k % 4096).min(other.len());
            out.splice(i..i, other[j..end].iter().copied());
        }
        Mutation::Repeat(i, n) => {
            let i = at(i, out.len());
            let end = (i + 80).min(out.len());
            let piece = out[i..end].to_vec();
            for _ in 0..n % 2000 {
                out.splice(i..i, piece.iter().copied());
            }
        }
        Mutation::Insert(i, h) => {
            let line = format!("{}\r\n", HOSTILE[h % HOSTILE.len()]);
            // At a line start in the head, so it is read as a header.
            let head_end = out
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(out.len());
            let starts: Vec<usize> = std::iter::once(0)
                .chain((0..head_end).filter(|&k| out[k] == b'\n').map(|k| k + 1))
                .collect();
            let pos = starts[i % starts.len()];
            out.splice(pos..pos, line.bytes());
        }
        Mutation::LineEnds(crlf) => {
            let text: Vec<u8> = out.iter().copied().filter(|&b| b != b'\r').collect();
            out = if crlf {
                text.iter()
                    .flat_map(|&b| {
                        if b == b'\n' {
                            vec![b'\r', b'\n']
                        } else {
                            vec![b]
                        }
                    })
                    .collect()
            } else {
                text
            };
        }
    }
    out
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(i, j, k)| Mutation::Splice(i, j, k)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mutation::Repeat(i, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, h)| Mutation::Insert(i, h)),
        any::<bool>().prop_map(Mutation::LineEnds),
    ]
}

/// Runs `test` over `strategy` in batches until the time is up; a failure is kept in
/// `tests/fixtures/fuzz/` and fails the test.
fn fuzz<S: Strategy>(
    name: &str,
    strategy: S,
    bytes: impl Fn(&S::Value) -> Vec<u8>,
    test: impl Fn(&[u8]),
) where
    S::Value: Clone,
{
    let deadline = Instant::now() + Duration::from_secs(seconds());
    let mut cases = 0u64;
    while Instant::now() < deadline {
        let mut runner = TestRunner::new(RunnerConfig {
            cases: 256,
            failure_persistence: None,
            ..RunnerConfig::default()
        });
        let result = runner.run(&strategy, |v| {
            let input = bytes(&v);
            test(&input);
            Ok(())
        });
        cases += 256;
        if let Err(TestError::Fail(why, value)) = result {
            let input = bytes(&value);
            let dir = common::root().join("tests/fixtures/fuzz");
            let _ = std::fs::create_dir_all(&dir);
            let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            let path = dir.join(format!("{name}-{hash:016x}.bin"));
            let _ = std::fs::write(&path, &input);
            panic!("{name}: {why}; the input is kept in {}", path.display());
        }
    }
    eprintln!("fuzz {name}: {cases} cases in {} s, no failure", seconds());
}

fn decide_bytes(raw: &[u8]) {
    // One config and one ledger per process: the ledger grows over the run, as in the daemon.
    thread_local! {
        static STATE: (Config, plazo::render::Templates, std::cell::RefCell<MemoryLedger>) = (
            common::config("config.example.toml"),
            common::templates(),
            std::cell::RefCell::new(MemoryLedger::default()),
        );
    }
    STATE.with(|(config, templates, ledger)| {
        let msg = Inbound::parse(raw);
        let arrival: DateTime<Utc> = msg
            .date
            .map(|d| d.to_utc())
            .filter(|d| d.timestamp().abs() < 1 << 40)
            .unwrap_or(DateTime::UNIX_EPOCH);
        let moment = Moment {
            arrival,
            now: arrival,
        };
        let decision = pipeline::decide(&msg, config, templates, moment, &*ledger.borrow());
        if let Ok(d) = decision
            && let (Some(reply), Some(to)) = (&d.reply, &d.recipient)
        {
            // A reply never carries a raw CR or LF inside a header value.
            let head = reply
                .bytes
                .split(|&b| b == b'\n')
                .take_while(|l| l != b"\r" && !l.is_empty());
            for line in head {
                assert!(line.ends_with(b"\r"), "a bare LF in the reply's head");
            }
            ledger
                .borrow_mut()
                .record(to, &d.triggers, &d.thread, arrival);
        }
    });
}

#[test]
fn decide_never_panics_on_arbitrary_bytes() {
    fuzz(
        "decide-bytes",
        proptest::collection::vec(any::<u8>(), 0..4096),
        Clone::clone,
        decide_bytes,
    );
}

#[test]
fn decide_never_panics_on_mutated_mails() {
    let seeds = corpus();
    let n = seeds.len();
    fuzz(
        "decide-mutated",
        (0..n, 0..n, proptest::collection::vec(mutation(), 1..6)),
        |(i, j, ms)| {
            ms.iter()
                .fold(seeds[*i].clone(), |acc, m| apply(&acc, &seeds[*j], m))
        },
        decide_bytes,
    );
}

#[test]
fn config_parser_never_panics() {
    let example = std::fs::read(common::root().join("config.example.toml")).expect("example");
    fuzz(
        "config",
        (
            proptest::collection::vec(mutation(), 1..6),
            proptest::collection::vec(any::<u8>(), 0..512),
        ),
        |(ms, junk)| {
            ms.iter()
                .fold(example.clone(), |acc, m| apply(&acc, junk, m))
        },
        |bytes| {
            let text = String::from_utf8_lossy(bytes);
            let _ = Config::parse(&text, Path::new("fuzz.toml"));
        },
    );
}

#[test]
fn crashes_found_earlier_stay_fixed() {
    let dir = common::root().join("tests/fixtures/fuzz");
    let mut replayed = 0;
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = e.path();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("config-") {
            let _ = Config::parse(&String::from_utf8_lossy(&bytes), Path::new("fuzz.toml"));
        } else if name.ends_with(".bin") {
            decide_bytes(&bytes);
        } else {
            continue;
        }
        replayed += 1;
    }
    eprintln!("replayed {replayed} earlier fuzz finds");
}
