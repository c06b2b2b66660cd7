//! The extractor never panics: arbitrary UTF-8, mixed scripts, deadline words in random order,
//! and reference instants from year 1 to year 9999, in named and fixed zones.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use plazo::extract;
use plazo::zone::Zone;
use proptest::prelude::*;

/// Words and marks the grammars react to, plus other scripts, to build hostile texts.
const VOCAB: &[&str] = &[
    "mañana",
    "manana",
    "hoy",
    "ya",
    "antes",
    "de",
    "del",
    "las",
    "la",
    "a",
    "el",
    "para",
    "viernes",
    "lunes",
    "próximo",
    "que",
    "viene",
    "pasado",
    "semana",
    "mes",
    "año",
    "fin",
    "finales",
    "hora",
    "horas",
    "días",
    "hábiles",
    "media",
    "y",
    "cuarto",
    "menos",
    "tarde",
    "noche",
    "madrugada",
    "medianoche",
    "mediodía",
    "reunión",
    "tengo",
    "no",
    "hace",
    "falta",
    "urgente",
    "by",
    "before",
    "tomorrow",
    "today",
    "tonight",
    "next",
    "week",
    "month",
    "end",
    "of",
    "the",
    "at",
    "in",
    "within",
    "days",
    "business",
    "pm",
    "am",
    "p.m.",
    "noon",
    "eod",
    "ET",
    "PT",
    "UTC",
    "hora peninsular",
    "Friday",
    "the",
    "th",
    "st",
    "ago",
    "last",
    "half",
    "past",
    "quarter",
    "to",
    "won't",
    "need",
    "meeting",
    "0",
    "1",
    "2",
    "5",
    "9",
    "12",
    "13",
    "24",
    "29",
    "30",
    "31",
    "32",
    "59",
    "60",
    "99",
    "2024",
    "2025",
    "9999",
    "4294967296",
    "99999999999999999999",
    ":",
    "/",
    "-",
    ".",
    ",",
    ";",
    "!",
    "?",
    "¿",
    "¡",
    "€",
    "$",
    "#",
    "+",
    "º",
    "'",
    "’",
    "(",
    ")",
    "\n",
    "\n> ",
    "\nEl lunes, Ana escribió:\n",
    "\nOn Monday Bob wrote:\n",
    "\n---------- Forwarded message ---------\n",
    "\n-- \n",
    "日本語",
    "明天",
    "завтра",
    "пятница",
    "غدا",
    "מחר",
    "😀",
    "🇪🇸",
    "e\u{301}",
    "\u{200b}",
    "\u{feff}",
    "ǅ",
    "İ",
    "ß",
    "ﬁ",
];

fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(VOCAB),
            prop::sample::select(&[" ", "", "  ", "\t", "\n"][..]),
        ),
        0..40,
    )
    .prop_map(|parts| parts.into_iter().flat_map(|(w, s)| [w, s]).collect())
}

fn any_now() -> impl Strategy<Value = DateTime<FixedOffset>> {
    // From 0001-01-01 to 9999-12-31, with any offset within a day.
    (
        -62_135_596_800i64..253_402_300_799i64,
        -86_399i32..86_400i32,
    )
        .prop_map(|(secs, off)| {
            let utc = Utc.timestamp_opt(secs, 0).single().unwrap_or_default();
            let off = FixedOffset::east_opt(off).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
            utc.with_timezone(&off)
        })
}

fn any_zone() -> impl Strategy<Value = Zone> {
    prop_oneof![
        prop::sample::select(vec![
            chrono_tz::Europe::Madrid,
            chrono_tz::America::Mexico_City,
            chrono_tz::America::New_York,
            chrono_tz::Atlantic::Canary,
            chrono_tz::Pacific::Apia,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::UTC,
        ])
        .prop_map(Zone::Named),
        (-86_399i32..86_400i32)
            .prop_map(|s| Zone::Fixed(FixedOffset::east_opt(s).expect("in range"))),
    ]
}

/// The words of `s` joined by single spaces (a phrase is reported on one line).
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn check(text: &str, now: DateTime<FixedOffset>, zone: Zone) {
    if let Some(d) = extract::find(text, now, zone) {
        assert!(
            words(text).contains(&d.phrase),
            "phrase {:?} not in text",
            d.phrase
        );
    }
    for f in extract::explain(text, now, zone) {
        assert_eq!(text.get(f.span.clone()).map(words), Some(f.phrase.clone()));
    }
    let _ = extract::find_in_mail(text, text, now, zone);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_utf8_never_panics(text in any::<String>(), now in any_now(), zone in any_zone()) {
        check(&text, now, zone);
    }

    #[test]
    fn deadline_words_in_any_order_never_panic(
        text in hostile_text(),
        now in any_now(),
        zone in any_zone(),
    ) {
        check(&text, now, zone);
    }
}

#[test]
fn calendar_edges_do_not_panic() {
    let zone = Zone::Named(chrono_tz::Europe::Madrid);
    for now in [
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:59:59-23:59",
    ] {
        let now = DateTime::parse_from_rfc3339(now).expect("instant");
        for text in [
            "en 1000 semanas",
            "dentro de 1000 días hábiles",
            "el mes que viene",
            "fin de año",
            "el 31 de diciembre",
            "el 29 de febrero",
            "el día 31",
            "la semana que viene",
            "next Friday",
            "in 1000 hours",
            "by 12/31/9999",
        ] {
            check(text, now, zone);
        }
    }
}
