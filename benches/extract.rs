//! Extractor throughput over whole mail bodies, as the daemon sees them.
//!
//! The bodies are generated deterministically: a greeting, a few paragraphs of the client's own
//! text in Spanish or English (some with deadlines, most without), a signature, and then the
//! quoted history that replies carry (attribution lines, `>` quotes, a forwarded message), up to
//! a size between 2 and 10 KB. The bench prints bodies/s and MB/s from a plain timed loop, then
//! lets criterion measure the same work.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::DateTime;
use criterion::{Criterion, Throughput};
use plazo::extract;
use plazo::zone::Zone;

/// How many bodies the bench reads.
const BODIES: usize = 200;

mod corpus;
use corpus::*;

fn body(rng: &mut Lcg) -> String {
    let spanish = rng.below(2) == 0;
    let (greeting, text, signature) = if spanish {
        (ES_GREETING, ES_TEXT, ES_SIGNATURE)
    } else {
        (EN_GREETING, EN_TEXT, EN_SIGNATURE)
    };
    let target = 2048 + rng.below(8192);
    let mut out = String::with_capacity(target + 1024);
    out.push_str(rng.pick(greeting));
    out.push_str("\n\n");
    for _ in 0..2 + rng.below(5) {
        for _ in 0..1 + rng.below(3) {
            out.push_str(rng.pick(text));
            out.push(' ');
        }
        out.push_str("\n\n");
    }
    out.push_str(rng.pick(signature));
    out.push_str("\n\n");
    let mut depth = 1;
    while out.len() < target {
        let attribution = if spanish {
            "El mar, 13 may 2025 a las 9:12, Ana García <ana@estudio-ana.example> escribió:\n"
        } else {
            "On Tue, May 13, 2025 at 9:12 AM Ana García <ana@estudio-ana.example> wrote:\n"
        };
        if rng.below(6) == 0 {
            out.push_str("\n---------- Forwarded message ---------\nFrom: Ana <ana@estudio-ana.example>\nDate: Mon, 12 May 2025\nSubject: Re: web\n\n");
        } else {
            out.push_str(&"> ".repeat(depth - 1));
            out.push_str(attribution);
        }
        for _ in 0..3 + rng.below(6) {
            out.push_str(&"> ".repeat(depth));
            out.push_str(rng.pick(text));
            out.push('\n');
        }
        out.push_str(&"> ".repeat(depth));
        out.push('\n');
        depth = (depth % 4) + 1;
    }
    out
}

fn bodies() -> Vec<String> {
    let mut rng = Lcg(0x00c0_ffee);
    (0..BODIES).map(|_| body(&mut rng)).collect()
}

fn read_all(bodies: &[String], now: DateTime<chrono::FixedOffset>, zone: Zone) -> usize {
    bodies
        .iter()
        .filter(|b| extract::find(black_box(b), now, zone).is_some())
        .count()
}

fn main() {
    let bodies = bodies();
    let bytes: usize = bodies.iter().map(String::len).sum();
    let now = DateTime::parse_from_rfc3339("2025-05-14T10:00:00+02:00").unwrap_or_default();
    let zone = Zone::Named(chrono_tz::Europe::Madrid);

    // A plain timed loop, for the two figures people ask for.
    let _ = read_all(&bodies, now, zone);
    let mut rounds = 0u32;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        black_box(read_all(&bodies, now, zone));
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = f64::from(rounds) * bodies.len() as f64;
    println!(
        "extract: {} bodies of 2-10 KB (mean {:.1} KB, quoted history included): {:.0} bodies/s, {:.1} MB/s",
        bodies.len(),
        bytes as f64 / bodies.len() as f64 / 1000.0,
        n / secs,
        n * (bytes as f64 / bodies.len() as f64) / secs / 1e6,
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Bytes(u64::try_from(bytes).unwrap_or(u64::MAX)));
    group.bench_function("bodies_bytes", |b| b.iter(|| read_all(&bodies, now, zone)));
    group.throughput(Throughput::Elements(
        u64::try_from(bodies.len()).unwrap_or(u64::MAX),
    ));
    group.bench_function("bodies_count", |b| b.iter(|| read_all(&bodies, now, zone)));
    group.finish();
    c.final_summary();
}
