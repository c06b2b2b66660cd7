//! The reply as bytes on the wire (design §6), parsed back with mail-parser.

use mail_parser::{HeaderValue, MessageParser};
use plazo::pipeline::{Action, MemoryLedger};

mod common;
use common::{mail, t};

const CONFIG: &str = r#"
[identity]
name = "Ana García"
address = "ana@estudio-ana.example"
[schedule]
timezone = "Europe/Madrid"
monday = ["09:00-14:00", "16:00-19:00"]
tuesday = ["09:00-14:00", "16:00-19:00"]
wednesday = ["09:00-14:00", "16:00-19:00"]
thursday = ["09:00-14:00", "16:00-19:00"]
friday = ["09:00-14:00"]
[notice]
minimum = "36h"
rush_minimum = "6h"
rush_fee = "+50 %"
"#;

fn client_mail(subject: &str) -> Vec<u8> {
    mail(
        &[
            "Return-Path: <laura.envelope@cliente-a.example>",
            "From: =?UTF-8?Q?Laura_M=C3=A9ndez?= <laura@cliente-a.example>",
            "Reply-To: otra@cliente-a.example",
            "To: Ana <ana@estudio-ana.example>",
            &format!("Subject: {subject}"),
            "Date: Sat, 21 Nov 2026 10:00:00 +0100",
            "Message-ID: <m2@cliente-a.example>",
            "References: <m0@cliente-a.example> <m1@cliente-a.example>",
            "Content-Type: text/plain; charset=utf-8",
        ],
        "Hola Ana, ¿puedes cambiar el banner de la portada?\nGracias",
    )
}

#[test]
fn headers_parse_back() {
    let config = common::config_text(CONFIG);
    let raw = client_mail("=?UTF-8?Q?Cambio_urgente_en_la_p=C3=A1gina_de_inicio?=");
    let d = common::decide(&config, &raw, &mut MemoryLedger::default());
    assert_eq!(d.action, Action::Reply, "{}", d.reason());
    let reply = d.reply.expect("reply");
    let bytes = &reply.bytes;
    assert!(bytes.is_ascii(), "headers and body go out 7-bit clean");
    let parsed = MessageParser::default().parse(bytes).expect("parses");

    // To is the Return-Path, not Reply-To nor From, and only one recipient.
    let to: Vec<_> = parsed
        .to()
        .expect("To")
        .iter()
        .filter_map(|a| a.address())
        .collect();
    assert_eq!(to, ["laura.envelope@cliente-a.example"]);
    assert!(parsed.cc().is_none() && parsed.bcc().is_none());
    let from = parsed.from().and_then(|f| f.first()).expect("From");
    assert_eq!(from.address(), Some("ana@estudio-ana.example"));
    assert_eq!(from.name(), Some("Ana García"));

    assert_eq!(
        parsed.in_reply_to(),
        &HeaderValue::Text("m2@cliente-a.example".into())
    );
    let refs: Vec<String> = match parsed.references() {
        HeaderValue::TextList(l) => l.iter().map(|s| s.to_string()).collect(),
        other => panic!("References: {other:?}"),
    };
    assert_eq!(
        refs,
        [
            "m0@cliente-a.example",
            "m1@cliente-a.example",
            "m2@cliente-a.example"
        ]
    );
    assert_eq!(
        parsed.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(
        parsed.header_raw("X-Auto-Response-Suppress").map(str::trim),
        Some("All")
    );
    let id = parsed.message_id().expect("Message-ID");
    assert!(id.ends_with("@estudio-ana.example"), "{id}");
    assert_eq!(id, reply.message_id);
    assert!(parsed.date().is_some());

    // The non-ASCII subject went out as RFC 2047 encoded words and decodes back.
    let raw_subject = parsed.header_raw("Subject").expect("Subject");
    assert!(
        raw_subject.contains("=?utf-8?") || raw_subject.contains("=?UTF-8?"),
        "{raw_subject}"
    );
    assert_eq!(
        parsed.subject(),
        Some("Respuesta automática: Re: Cambio urgente en la página de inicio")
    );

    // UTF-8 text/plain, no attachment, no quoted original.
    let ct = parsed
        .root_part()
        .headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case("content-type"));
    assert!(ct.is_some());
    assert_eq!(parsed.attachment_count(), 0);
    let body = parsed.body_text(0).expect("body");
    assert!(body.contains("Hola Laura:"), "{body}");
    assert!(
        body.contains("el lunes 23 a las 9:00 (hora de Madrid)"),
        "{body}"
    );
    assert!(!body.contains("banner"), "the original is not quoted");
    assert_eq!(body.replace("\r\n", "\n").trim_end(), reply.text.trim_end());
}

#[test]
fn same_decision_same_message_id() {
    let config = common::config_text(CONFIG);
    let raw = client_mail("Banner");
    let a = common::decide(&config, &raw, &mut MemoryLedger::default());
    let b = common::decide(&config, &raw, &mut MemoryLedger::default());
    let (a, b) = (a.reply.expect("a"), b.reply.expect("b"));
    assert_eq!(a.message_id, b.message_id);
    let other = common::decide_at(
        &config,
        &raw,
        t("2026-11-21T11:00:00+01:00"),
        &MemoryLedger::default(),
    );
    assert_ne!(other.reply.expect("other").message_id, a.message_id);
}

#[test]
fn english_client_gets_english() {
    let config = common::config_text(CONFIG);
    let raw = mail(
        &[
            "Return-Path: <tom@brightfields.example>",
            "From: Tom Baker <tom@brightfields.example>",
            "To: ana@estudio-ana.example",
            "Subject: Landing page",
            "Date: Sat, 21 Nov 2026 10:00:00 +0100",
            "Message-ID: <e1@brightfields.example>",
        ],
        "Hi Ana, could you update the pricing table on the landing page? Thanks!",
    );
    let d = common::decide(&config, &raw, &mut MemoryLedger::default());
    let reply = d.reply.expect("reply");
    assert!(reply.text.starts_with("Hi Tom,"), "{}", reply.text);
    assert!(
        reply
            .text
            .contains("I will read it myself on Monday the 23rd at 9:00 (Madrid time)."),
        "{}",
        reply.text
    );
    // A request without a time gets no delivery date and no rush offer.
    assert!(!reply.text.contains("deliver"), "{}", reply.text);
    assert!(!reply.text.contains("rush"), "{}", reply.text);
    assert_eq!(reply.subject, "Automatic reply: Re: Landing page");
}

#[test]
fn no_message_id_means_no_threading_headers() {
    let config = common::config_text(CONFIG);
    let raw = mail(
        &[
            "Return-Path: <tom@brightfields.example>",
            "From: tom@brightfields.example",
            "To: ana@estudio-ana.example",
            "Date: Sat, 21 Nov 2026 10:00:00 +0100",
        ],
        "Hi, the site is slow today.",
    );
    let d = common::decide(&config, &raw, &mut MemoryLedger::default());
    let reply = d.reply.expect("reply");
    assert!(!reply.headers.contains_key("In-Reply-To"));
    assert!(!reply.headers.contains_key("References"));
    assert_eq!(reply.subject, "Automatic reply: Re:");
}

#[test]
fn emergency_line_only_for_clients_and_per_language() {
    let with = |audience: &str| {
        common::config_text(&format!(
            "{CONFIG}\n[reply]\nclients = [\"@cliente-a.example\"]\n"
        )
        .replace(
            "address = \"ana@estudio-ana.example\"",
            &format!(
                "address = \"ana@estudio-ana.example\"\nemergency = {{ es = \"llámame al 600\", \
                 en = \"call 600\" }}\nemergency_audience = \"{audience}\""
            ),
        ))
    };
    let client = client_mail("Web");
    let stranger = String::from_utf8_lossy(&client)
        .replace("cliente-a.example", "otra.example")
        .into_bytes();
    let text = |config: &plazo::config::Config, raw: &[u8]| {
        common::decide(config, raw, &mut MemoryLedger::default())
            .reply
            .expect("reply")
            .text
    };
    let clients_only = with("clients");
    assert!(text(&clients_only, &client).contains("Emergencias: llámame al 600."));
    assert!(!text(&clients_only, &stranger).contains("Emergencias"));
    let anyone = with("anyone");
    assert!(text(&anyone, &stranger).contains("Emergencias: llámame al 600."));
}

#[test]
fn away_periods_answer_with_their_words_or_not_at_all() {
    // Saturday 21 November 2026 falls in the period.
    let away = |extra: &str| {
        common::config_text(&format!(
            "{CONFIG}\n[[away]]\nfrom = \"2026-11-20\"\nuntil = \"2026-11-24\"\n{extra}"
        ))
    };
    let config = away("message = { es = \"Estoy en un congreso\" }");
    let d = common::decide(&config, &client_mail("Web"), &mut MemoryLedger::default());
    assert_eq!(d.reason(), "away");
    let text = d.reply.expect("reply").text;
    assert!(
        text.contains("Respuesta automática: Estoy en un congreso. Leeré tu mensaje"),
        "{text}"
    );
    // Back on Wednesday 25 at 9:00: the away days are closed like holidays.
    assert!(text.contains("el miércoles 25 a las 9:00"), "{text}");
    let silent = away("answer = false");
    let d = common::decide(&silent, &client_mail("Web"), &mut MemoryLedger::default());
    assert_eq!(d.action, Action::Skip);
    assert_eq!(d.reason(), "no-trigger");
}

#[test]
fn a_schedule_that_never_opens_again_answers_nothing() {
    // Closed from the mail's day for longer than the three-year horizon: a reply could not say
    // when the mail will be read, so none is sent.
    let closed = |until: &str| {
        common::config_text(&CONFIG.replace(
            "friday = [\"09:00-14:00\"]",
            &format!("friday = [\"09:00-14:00\"]\nholidays = [\"2026-11-01..{until}\"]"),
        ))
    };
    let d = common::decide(
        &closed("2030-12-31"),
        &client_mail("Web"),
        &mut MemoryLedger::default(),
    );
    assert_eq!(d.action, Action::Skip);
    assert_eq!(d.reason(), "no-opening");
    assert!(d.reply.is_none());
    // Open again within the horizon: answered, with the day it opens.
    let d = common::decide(
        &closed("2027-12-31"),
        &client_mail("Web"),
        &mut MemoryLedger::default(),
    );
    assert_eq!(d.action, Action::Reply, "{}", d.reason());
    let text = d.reply.expect("reply").text;
    assert!(text.contains("2028"), "{text}");
    assert!(!text.contains("None"), "{text}");
}
