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

/// A small deterministic generator (64-bit LCG), so every run reads the same bodies.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.below(items.len())).copied().unwrap_or("")
    }
}

const ES_GREETING: &[&str] = &["Hola Ana,", "Buenos días,", "Buenas tardes Ana:", "Hola!"];
const ES_TEXT: &[&str] = &[
    "Te escribo por lo de la web de la tienda, que sigue sin cargar bien en el móvil.",
    "Lo necesito para el viernes a las 12, que el lunes empieza la campaña.",
    "El martes tengo reunión con el distribuidor, así que mándamelo antes del lunes.",
    "Las fotos nuevas están en la carpeta compartida, son 45 en total.",
    "El precio final que nos pasaron es de 1.250,00 € más IVA.",
    "Cuando puedas revisa también el formulario de contacto, no es urgente.",
    "¿Podrías tenerlo listo mañana por la mañana? Es para una presentación.",
    "Nuestro teléfono nuevo es el 91 123 45 67, por si hay que cambiarlo en el pie.",
    "Gracias por lo del martes pasado, quedó perfecto.",
    "Si te viene mejor, lo vemos la semana que viene en una llamada.",
    "Necesito que actualices los horarios ya, hoy abrimos más tarde.",
    "Te adjunto el pedido 458812 y la factura 2025-113 para que lo revises.",
];
const ES_SIGNATURE: &[&str] = &[
    "Un saludo,\nJorge",
    "Gracias!\nMarta\nTienda Sol",
    "Saludos,\nLuis",
];
const EN_GREETING: &[&str] = &["Hi Ana,", "Hello,", "Good morning Ana,", "Hey,"];
const EN_TEXT: &[&str] = &[
    "Following up on the landing page: the hero image still looks blurry on mobile.",
    "Could you send the final files by Thursday at 11? We print on Friday.",
    "The meeting with the board is on the 14th, so please have the deck ready before that.",
    "Our order #55123 arrived yesterday, thanks for sorting it out.",
    "The quote came to $2,450.00, which is within budget.",
    "No rush on the blog post, whenever you have a moment.",
    "I need the newsletter template asap, it goes out tonight.",
    "Call me on 020 7946 0958 if anything comes up.",
    "We won't need the brochure by Monday after all, the fair was cancelled.",
    "Let's aim for end of next week for the second round of changes.",
    "Version 2.3.1 of the app is live, so the screenshots need updating.",
    "Please reply within 48 hours so we can book the printer.",
];
const EN_SIGNATURE: &[&str] = &[
    "Thanks,\nMark",
    "Best regards,\nSarah Lee\nHead of Marketing",
    "Cheers,\nTom",
];

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
