//! Catch-up against the real Dovecot: a large message is fetched only in the parts deciding
//! reads (BODYSTRUCTURE, the header, the start of the text part), and what plazo reads from
//! those parts is what it would read from the whole message.

use std::path::PathBuf;

use plazo::imap::{self, Batch, Content};
use plazo::mail::Inbound;

mod common;
use common::servers::servers;

/// The whole client mails of the understanding fixtures.
fn fixtures() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = common::root().join("tests/fixtures/understand");
    let mut out = Vec::new();
    for group in std::fs::read_dir(&dir).expect("fixtures") {
        let group = group.expect("entry").path();
        if !group.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&group).expect("group") {
            let path = file.expect("entry").path();
            if path.extension().is_some_and(|e| e == "eml") {
                let raw = std::fs::read(&path).expect("read");
                out.push((path, raw));
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 150,
        "found {} fixtures in {}",
        out.len(),
        dir.display()
    );
    out
}

fn crlf(raw: &[u8]) -> Vec<u8> {
    // Bytes, not text: Latin-1 fixtures are not UTF-8.
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    let mut last = 0u8;
    for &b in raw {
        if b == b'\n' && last != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        last = b;
    }
    out
}

/// The header and body of a message, split at the first empty line.
fn split(raw: &[u8]) -> (&[u8], &[u8]) {
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header");
    (&raw[..at + 2], &raw[at + 4..])
}

fn is_content_field(line: &[u8]) -> bool {
    let name = line.split(|b| *b == b':').next().unwrap_or_default();
    name.eq_ignore_ascii_case(b"content-type")
        || name.eq_ignore_ascii_case(b"content-transfer-encoding")
}

/// The message as the first part of a multipart/mixed with a large attachment after it.
fn with_attachment(raw: &[u8], attachment: usize) -> Vec<u8> {
    let raw = crlf(raw);
    let (header, body) = split(&raw);
    let (mut rest, mut content) = (Vec::new(), Vec::new());
    let mut into_content = false;
    for line in header.split_inclusive(|b| *b == b'\n') {
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            into_content = is_content_field(line);
        }
        if into_content {
            content.extend_from_slice(line);
        } else {
            rest.extend_from_slice(line);
        }
    }
    if content.is_empty() {
        content.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
    }
    let mut out = rest;
    if !String::from_utf8_lossy(&out)
        .to_ascii_lowercase()
        .contains("mime-version:")
    {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    out.extend_from_slice(b"Content-Type: multipart/mixed; boundary=\"=big=\"\r\n\r\n--=big=\r\n");
    out.extend_from_slice(&content);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out.extend_from_slice(
        b"\r\n--=big=\r\nContent-Type: application/octet-stream\r\n\
          Content-Disposition: attachment; filename=\"plano.bin\"\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n",
    );
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
    for _ in 0..attachment / line.len() + 1 {
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"--=big=--\r\n");
    out
}

/// What deciding reads of a message, compared field by field.
fn reading(m: &Inbound) -> String {
    let headers: Vec<&(String, String)> = m
        .headers
        .iter()
        .filter(|(n, _)| !n.starts_with("content-"))
        .collect();
    format!(
        "id {:?}\nsubject {:?}\nfrom {:?}\ndate {:?}\ntype {:?}\nlang {:?}\nheaders {headers:?}\n\
         own text {:?}\ntext {:?}",
        m.message_id, m.subject, m.from, m.date, m.content_type, m.lang, m.own_text, m.text
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_large_mail_is_read_from_its_parts_as_it_would_be_whole() {
    let s = servers();
    let (user, pw) = s.user("large");
    let fixtures = fixtures();
    let mut wrapped = Vec::new();
    for (path, raw) in &fixtures {
        let big = with_attachment(raw, 300 * 1024);
        s.append(&user, &pw, "INBOX", &big).await;
        wrapped.push((path, big));
    }
    // A single-part text message, and one whose only part is not text.
    let long_text = {
        let mut m = b"From: Marta <marta@cliente.test>\r\nTo: ana@example.test\r\nSubject: Texto largo\r\n\
                      Message-ID: <largo@cliente.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                      \xc2\xbfPuedes publicar la nota ma\xc3\xb1ana antes de las 10?\r\n\r\n"
            .to_vec();
        for _ in 0..8000 {
            m.extend_from_slice(b"Texto citado de relleno que no pide nada.\r\n");
        }
        m
    };
    s.append(&user, &pw, "INBOX", &long_text).await;
    let only_pdf = {
        let mut m =
            b"From: Marta <marta@cliente.test>\r\nTo: ana@example.test\r\nSubject: Solo el PDF\r\n\
                      Message-ID: <pdf@cliente.test>\r\nMIME-Version: 1.0\r\n\
                      Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                .to_vec();
        for _ in 0..20000 {
            m.extend_from_slice(
                b"JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9G\r\n",
            );
        }
        m
    };
    s.append(&user, &pw, "INBOX", &only_pdf).await;

    let (server, login) = s.imap(&user, &pw);
    let mut session = imap::connect(&server, &login).await.expect("connect");
    imap::select(&mut session, "INBOX").await.expect("select");
    let uids = imap::uids_after(&mut session, 0).await.expect("search");
    assert_eq!(uids.len(), fixtures.len() + 2);
    let sized = imap::sizes(&mut session, &uids).await.expect("sizes");
    let batches = imap::batches(&sized);
    assert_eq!(batches.len(), uids.len(), "every one is large: {batches:?}");
    let mut fetched = Vec::new();
    for batch in &batches {
        assert!(matches!(batch, Batch::Large(_)), "{batch:?}");
        fetched.extend(imap::fetch(&mut session, batch).await.expect("fetch"));
    }
    let _ = session.logout().await;
    assert_eq!(fetched.len(), uids.len());

    let mut differ = Vec::new();
    for ((path, whole), got) in wrapped.iter().zip(&fetched) {
        let Content::Excerpt { header, mime, body } = &got.content else {
            panic!("{}: fetched whole", path.display());
        };
        assert!(mime.is_some(), "{}: a part of a multipart", path.display());
        assert!(
            header.len() + body.len() < 80 * 1024,
            "{}: {} + {} bytes fetched",
            path.display(),
            header.len(),
            body.len()
        );
        let (expected, actual) = (reading(&Inbound::parse(whole)), reading(&got.parse()));
        if expected != actual {
            differ.push(format!(
                "{}:\nwhole:   {expected}\nexcerpt: {actual}",
                path.display()
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n\n"));

    let text = &fetched[fixtures.len()];
    let Content::Excerpt { mime, body, .. } = &text.content else {
        panic!("the long text was fetched whole");
    };
    assert!(mime.is_none(), "a single part is the message's TEXT");
    assert_eq!(body.len(), imap::EXCERPT as usize);
    let read = text.parse();
    assert!(
        read.own_text
            .starts_with("¿Puedes publicar la nota mañana antes de las 10?"),
        "{:?}",
        read.own_text.get(..80)
    );
    assert_eq!(read.content_type, "text/plain");

    let pdf = &fetched[fixtures.len() + 1];
    let Content::Whole(prefix) = &pdf.content else {
        panic!("no text part: the start of the message is fetched");
    };
    assert!(prefix.len() < only_pdf.len(), "only a prefix");
    assert_eq!(pdf.parse().subject, "Solo el PDF");
}

#[test]
fn batches_are_bounded_by_bytes_and_count() {
    let small: Vec<(u32, u32)> = (1..=120).map(|u| (u, 1000)).collect();
    let b = imap::batches(&small);
    assert_eq!(b.len(), 3, "50 + 50 + 20: {b:?}");
    let mid: Vec<(u32, u32)> = (1..=40).map(|u| (u, 200 * 1024)).collect();
    for batch in imap::batches(&mid) {
        let Batch::Whole(uids) = batch else {
            panic!("200 KiB is small");
        };
        assert!(uids.len() * 200 * 1024 <= 4 * 1024 * 1024, "{}", uids.len());
    }
    let mixed = [(1, 10), (2, 20_000_000), (3, 10), (4, 10)];
    assert_eq!(
        imap::batches(&mixed),
        vec![
            Batch::Whole(vec![1]),
            Batch::Large(2),
            Batch::Whole(vec![3, 4])
        ]
    );
}
