//! Malformed and hostile input: never a panic, never a raw CR or LF inside a reply header.

use plazo::mail::Inbound;
use plazo::pipeline::{Action, MemoryLedger};
use proptest::prelude::*;

mod common;
use common::{mail, t};

const CONFIG: &str = r#"
[identity]
name = "Ana García"
address = "ana@estudio-ana.example"
[schedule]
timezone = "Europe/Madrid"
monday = ["09:00-14:00"]
"#;

/// Checks that every header line is `Name: value` or a folded continuation, CRLF-terminated,
/// with no lone CR or LF, and that no header the client could have injected appears.
fn assert_clean_headers(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().expect("a header section");
    assert!(!head.contains('\r') || head.matches('\r').count() == head.matches("\r\n").count());
    for line in head.split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare CR/LF in {line:?}"
        );
        let folded = line.starts_with([' ', '\t']);
        let named = line
            .split_once(':')
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()));
        assert!(folded || named, "not a header line: {line:?}");
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.starts_with("bcc:") && !lower.starts_with("cc:"),
            "injected: {line:?}"
        );
    }
}

fn client(headers: &[&str], body: &str) -> Vec<u8> {
    let mut all = vec![
        "Return-Path: <laura@cliente-a.example>",
        "To: ana@estudio-ana.example",
        "Date: Sat, 21 Nov 2026 10:00:00 +0100",
    ];
    all.extend_from_slice(headers);
    mail(&all, body)
}

#[test]
fn no_headers_at_all() {
    let config = common::config_text(CONFIG);
    let d = common::decide(
        &config,
        b"just some words, no header",
        &mut MemoryLedger::default(),
    );
    assert_eq!(d.reason(), "no-return-path");
    let d = common::decide(&config, b"", &mut MemoryLedger::default());
    assert_eq!(d.reason(), "no-return-path");
}

#[test]
fn binary_garbage() {
    let config = common::config_text(CONFIG);
    // A deterministic xorshift stream of bytes, and the same behind a valid header block.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let garbage: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect();
    let d = common::decide(&config, &garbage, &mut MemoryLedger::default());
    assert_eq!(d.action, Action::Skip);
    let mut framed = client(
        &[
            "From: laura@cliente-a.example",
            "Content-Type: text/plain; charset=utf-8",
        ],
        "",
    );
    framed.extend_from_slice(&garbage);
    let d = common::decide(&config, &framed, &mut MemoryLedger::default());
    if let Some(r) = d.reply {
        assert_clean_headers(&r.bytes);
    }
}

#[test]
fn twenty_megabyte_body() {
    let config = common::config_text(CONFIG);
    let line = "Necesito que revises todas las fichas de producto, una por una, sin prisa.\n";
    let body = line.repeat(20 * 1024 * 1024 / line.len());
    let raw = client(&["From: laura@cliente-a.example", "Subject: Fichas"], &body);
    assert!(raw.len() > 20_000_000);
    let d = common::decide(&config, &raw, &mut MemoryLedger::default());
    assert_eq!(d.action, Action::Reply, "{}", d.reason());
    let reply = d.reply.expect("reply");
    assert!(reply.bytes.len() < 8 * 1024, "the reply quotes nothing");
    assert_clean_headers(&reply.bytes);
}

#[test]
fn crlf_injection_in_subject_and_display_name() {
    let config = common::config_text(CONFIG);
    let raw = client(
        &[
            "From: =?UTF-8?Q?Laura=0D=0ABcc:_victim@evil.example?= <laura@cliente-a.example>",
            "Subject: =?UTF-8?Q?Hola=0D=0ABcc:_victim@evil.example=0D=0A=0D=0Abody?=",
            "Message-ID: <a\r\n b@cliente-a.example>",
            "References: <x@y> <\"q\r\n\"@z>",
        ],
        "Hola",
    );
    let msg = Inbound::parse(&raw);
    assert!(!msg.subject.contains(['\r', '\n']));
    let d = common::decide(&config, &raw, &mut MemoryLedger::default());
    let reply = d.reply.expect("reply");
    assert!(!reply.subject.contains(['\r', '\n']));
    assert_clean_headers(&reply.bytes);
    let parsed = mail_parser::MessageParser::default()
        .parse(&reply.bytes)
        .expect("parses");
    assert!(parsed.bcc().is_none());
    assert_eq!(
        parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("laura@cliente-a.example")
    );
}

#[test]
fn odd_charsets_and_encodings() {
    let config = common::config_text(CONFIG);
    let latin1 = {
        let mut raw = client(
            &[
                "From: =?ISO-8859-1?Q?Jos=E9?= <jose@cliente-a.example>",
                "Subject: =?ISO-8859-1?Q?Actualizaci=F3n?=",
                "Content-Type: text/plain; charset=ISO-8859-1",
                "Content-Transfer-Encoding: 8bit",
            ],
            "",
        );
        raw.extend_from_slice(b"Hola, \xbfpuedes cambiar la direcci\xf3n de la tienda?");
        raw
    };
    let msg = Inbound::parse(&latin1);
    assert_eq!(msg.subject, "Actualización");
    assert!(
        msg.own_text.contains("¿puedes cambiar la dirección"),
        "{}",
        msg.own_text
    );
    let unknown_charset = client(
        &[
            "From: x@cliente-a.example",
            "Content-Type: text/plain; charset=x-klingon",
        ],
        "Hola",
    );
    let d = common::decide(&config, &unknown_charset, &mut MemoryLedger::default());
    assert_eq!(d.action, Action::Reply);
    let bad_base64 = client(
        &[
            "From: x@cliente-a.example",
            "Content-Transfer-Encoding: base64",
        ],
        "!!!!not base64@@@@",
    );
    let _ = common::decide(&config, &bad_base64, &mut MemoryLedger::default());
    let bad_date = client(
        &[
            "From: x@cliente-a.example",
            "Date: 99 Foo 99999 99:99:99 +9999",
        ],
        "Hola",
    );
    let _ = common::decide_at(
        &config,
        &bad_date,
        t("2026-11-21T10:00:00+01:00"),
        &MemoryLedger::default(),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let config = common::config_text(CONFIG);
        let _ = common::decide(&config, &body, &mut MemoryLedger::default());
    }

    #[test]
    fn arbitrary_subjects_and_names_stay_on_one_line(
        subject in "\\PC*",
        name in "[ -~\\r\\n\\t]{0,40}",
        id in "[ -~\\r\\n]{0,40}",
    ) {
        let config = common::config_text(CONFIG);
        let subject_line = format!("Subject: {}", subject.replace(['\r', '\n'], " "));
        let from_line = format!("From: \"{}\" <laura@cliente-a.example>", name.replace(['\r', '\n', '"', '\\'], " "));
        let id_line = format!("Message-ID: <{}>", id.replace(['\r', '\n'], " "));
        let raw = client(&[&subject_line, &from_line, &id_line], "Hola Ana");
        let d = common::decide(&config, &raw, &mut MemoryLedger::default());
        if let Some(r) = d.reply {
            assert_clean_headers(&r.bytes);
        }
    }
}
