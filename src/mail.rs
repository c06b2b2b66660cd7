//! The inbound view of one raw message: what the gate, the extractor and the reply need to know,
//! decoded once.
//!
//! mail-parser does the RFC 5322 / MIME work (encoded words, folding, groups, charsets, HTML to
//! text). This module adds what it leaves to us: the Return-Path as a yes/no/address, every
//! recipient address in one list, header values unfolded for the gate, and the client's own words
//! cut from quoted replies, forwarded messages and signatures. It never fails: a message with no
//! headers or binary garbage gives a view with empty fields, which the gate then skips.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, MatchKind};
use chrono::{DateTime, FixedOffset, TimeZone};
use mail_parser::{Address, HeaderName, MessageParser, MimeHeaders};

use crate::lang::{Evidence, Lang};
use crate::segment::{Hints, Segments};

/// At most this many bytes of the client's own text are kept (the rest is not a request).
const OWN_TEXT_LIMIT: usize = 64 * 1024;

/// What the Return-Path header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnPath {
    /// No Return-Path header.
    Missing,
    /// `Return-Path: <>`: a bounce or other automatic message (RFC 5321 null reverse-path).
    Null,
    /// The envelope sender, where replies go (RFC 3834 §4).
    Address(String),
}

/// A mailbox: an address with its display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The decoded display name, if any.
    pub name: Option<String>,
    /// The address as written.
    pub address: String,
}

/// One parsed inbound message.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The References ids, without angle brackets, oldest first.
    pub references: Vec<String>,
    /// The In-Reply-To ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// The decoded subject on one line ("" when missing).
    pub subject: String,
    /// The Date header.
    pub date: Option<DateTime<FixedOffset>>,
    /// The envelope sender.
    pub return_path: ReturnPath,
    /// The first From mailbox.
    pub from: Option<Mailbox>,
    /// The Sender address.
    pub sender: Option<String>,
    /// Every address in To, Cc, Bcc, Resent-To, Resent-Cc and Resent-Bcc, lowercased.
    pub recipients: Vec<String>,
    /// Every header as (lowercased name, unfolded value), in order.
    pub headers: Vec<(String, String)>,
    /// The MIME type of the whole message, lowercased (`multipart/report`).
    pub content_type: String,
    /// The text body (text/plain, else the HTML turned into text).
    pub text: String,
    /// The blocks of the text body: message, greeting, signature, quote…
    pub segments: Segments,
    /// What the client wrote now: the message blocks of the text, at most 64 KiB.
    pub own_text: String,
    /// The language of the client's own text (with the subject).
    pub lang: Option<Lang>,
}

/// The parser: structured parsing only for the headers plazo reads (MIME, date, subject,
/// addresses, ids); every other header stays raw, since only its bytes are kept
/// ([`Inbound::headers`]), so `Received:` chains and the like cost nothing to decode.
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_mime_headers()
        .header_date(HeaderName::Date)
        .header_text(HeaderName::Subject)
        .with_address_headers()
        .header_id(HeaderName::MessageId)
        .header_id(HeaderName::References)
        .header_id(HeaderName::InReplyTo)
        .default_header_raw()
});

impl Inbound {
    /// Parses a raw message. Never fails.
    pub fn parse(raw: &[u8]) -> Inbound {
        let Some(msg) = PARSER.parse(raw) else {
            return Inbound::empty();
        };
        let headers: Vec<(String, String)> = msg
            .headers()
            .iter()
            .map(|h| {
                let bytes = raw
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .unwrap_or_default();
                (
                    h.name.as_str().to_ascii_lowercase(),
                    unfold(&String::from_utf8_lossy(bytes)),
                )
            })
            .collect();
        let return_path = headers
            .iter()
            .find(|(n, _)| n == "return-path")
            .map_or(ReturnPath::Missing, |(_, v)| parse_return_path(v));
        let mut recipients = Vec::new();
        for name in [
            HeaderName::To,
            HeaderName::Cc,
            HeaderName::Bcc,
            HeaderName::ResentTo,
            HeaderName::ResentCc,
            HeaderName::ResentBcc,
        ] {
            for value in msg.header_values(name) {
                if let Some(list) = value.as_address() {
                    recipients.extend(addresses(list).map(|m| m.address.to_lowercase()));
                }
            }
        }
        let from = msg.from().and_then(|a| addresses(a).next());
        let sender = msg
            .sender()
            .and_then(|a| addresses(a).next())
            .map(|m| m.address);
        let text = body_text(&msg);
        let hints = Hints {
            name: from.as_ref().and_then(|m| m.name.as_deref()),
        };
        let segments = Segments::with_hints(&text, hints);
        let own_text = segments.message_text(&text, OWN_TEXT_LIMIT);
        let subject = one_line(msg.subject().unwrap_or_default());
        let lang = language(&own_text, &subject);
        Inbound {
            message_id: msg
                .message_id()
                .map(|id| one_line(id.trim_matches(['<', '>']))),
            references: ids(msg.references()),
            in_reply_to: ids(msg.in_reply_to()),
            subject,
            date: msg.date().and_then(to_chrono),
            return_path,
            from,
            sender,
            recipients,
            headers,
            content_type: msg
                .root_part()
                .content_type()
                .map(|ct| {
                    format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default())
                        .to_ascii_lowercase()
                })
                .unwrap_or_default(),
            text,
            segments,
            own_text,
            lang,
        }
    }

    /// Parses a large message from what was fetched of it: its header, and the start of the
    /// text part deciding reads, with that part's MIME header (`None` when the message is a
    /// single part). Never fails. [`Inbound::content_type`] stays the whole message's.
    pub fn parse_excerpt(header: &[u8], mime: Option<&[u8]>, body: &[u8]) -> Inbound {
        let header = trim_blank(header);
        let mut raw = Vec::with_capacity(header.len() + body.len() + 512);
        match mime {
            None => raw.extend_from_slice(header),
            Some(mime) => {
                // The part's Content-* fields stand in for the message's.
                raw.extend_from_slice(&without_content_fields(header));
                raw.extend_from_slice(b"\r\n");
                raw.extend_from_slice(trim_blank(mime));
            }
        }
        raw.extend_from_slice(b"\r\n\r\n");
        raw.extend_from_slice(body);
        let mut inbound = Inbound::parse(&raw);
        if mime.is_some() {
            inbound.content_type = Inbound::parse(&[header, b"\r\n\r\n"].concat()).content_type;
        }
        inbound
    }

    fn empty() -> Inbound {
        Inbound {
            message_id: None,
            references: Vec::new(),
            in_reply_to: Vec::new(),
            subject: String::new(),
            date: None,
            return_path: ReturnPath::Missing,
            from: None,
            sender: None,
            recipients: Vec::new(),
            headers: Vec::new(),
            content_type: String::new(),
            text: String::new(),
            segments: Segments::default(),
            own_text: String::new(),
            lang: None,
        }
    }

    /// The unfolded values of every header called `name` (any case).
    pub fn header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when a header called `name` is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.header(name).next().is_some()
    }

    /// Who wrote it, lowercased: the From address, else the Return-Path address. Client
    /// lists and agreements are matched against it.
    pub fn sender_address(&self) -> Option<String> {
        self.from
            .as_ref()
            .map(|m| m.address.as_str())
            .or(self.reply_address())
            .map(str::to_lowercase)
    }

    /// The address replies go to: the Return-Path address.
    pub fn reply_address(&self) -> Option<&str> {
        match &self.return_path {
            ReturnPath::Address(a) => Some(a),
            _ => None,
        }
    }
}

/// Joins folded header lines (RFC 5322 §2.2.3) and trims the value.
fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\r' | '\n' => {}
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// Removes every control character (CR and LF above all) so a value can never break a header.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

fn parse_return_path(value: &str) -> ReturnPath {
    let value = strip_comments(value);
    let inner = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.as_str(),
    };
    let inner = inner.trim();
    if inner.is_empty() {
        ReturnPath::Null
    } else if inner.contains('@') && !inner.chars().any(|c| c.is_whitespace() || c.is_control()) {
        // A source route (`<@a,@b:user@c>`) keeps only the mailbox.
        let mailbox = inner.rsplit(':').next().unwrap_or(inner);
        ReturnPath::Address(mailbox.to_string())
    } else {
        ReturnPath::Null
    }
}

/// Drops RFC 5322 comments `( … )`, nesting included, and trims.
pub fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0u32;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if depth > 0 => escaped = true,
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

fn addresses<'a>(list: &'a Address<'_>) -> impl Iterator<Item = Mailbox> + 'a {
    list.iter().filter_map(|a| {
        let address = a.address.as_deref()?.trim();
        if !address.contains('@') {
            return None;
        }
        Some(Mailbox {
            name: a.name.as_deref().map(one_line).filter(|n| !n.is_empty()),
            address: one_line(address),
        })
    })
}

fn ids(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    use mail_parser::HeaderValue as V;
    let clean = |s: &str| one_line(s.trim_matches(['<', '>']));
    match value {
        V::Text(t) => vec![clean(t)],
        V::TextList(list) => list.iter().map(|t| clean(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| !id.is_empty())
    .collect()
}

fn to_chrono(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let secs = i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60;
    let offset = FixedOffset::east_opt(if d.tz_before_gmt { -secs } else { secs })?;
    offset
        .with_ymd_and_hms(
            i32::from(d.year),
            u32::from(d.month),
            u32::from(d.day),
            u32::from(d.hour),
            u32::from(d.minute),
            u32::from(d.second),
        )
        .single()
}

/// The text body: the first text/plain part, else the first HTML part turned into text (with its
/// quoted blocks removed first, since the text conversion would lose where they were).
fn body_text(msg: &mail_parser::Message<'_>) -> String {
    use mail_parser::PartType;
    let part = msg
        .text_body
        .first()
        .and_then(|id| msg.parts.get(*id as usize));
    match part.map(|p| &p.body) {
        Some(PartType::Text(text)) => text.to_string(),
        Some(PartType::Html(html)) => {
            mail_parser::decoders::html::html_to_text(&drop_html_quotes(html))
        }
        _ => String::new(),
    }
}

/// Cuts HTML at the first quoted block or signature container (`<blockquote>`, Gmail's
/// `gmail_quote` and `gmail_signature`, Outlook's reply header and mobile signature, Thunderbird's
/// `moz-signature`, Yahoo's quote), since the text conversion would lose where they were.
fn drop_html_quotes(html: &str) -> String {
    static MARKERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build([
                "<blockquote",
                "<div class=\"gmail_quote",
                "<div id=\"divrplyfwdmsg",
                "<div id=\"appendonsend",
                "class=\"gmail_signature",
                "class=\"moz-signature",
                "id=\"ms-outlook-mobile-signature",
                "class=\"yahoo_quoted",
                "id=\"ymail_android_signature",
            ])
            .expect("the HTML quote markers make an automaton")
    });
    // The leftmost match is the first marker in the text.
    match MARKERS.find(html) {
        Some(m) => html[..m.start()].to_string(),
        None => html.to_string(),
    }
}

/// The language of a client's mail: the one its message favours, else the one the message and
/// the subject together favour; `None` when neither gives any evidence.
pub fn language(message: &str, subject: &str) -> Option<Lang> {
    let own = Evidence::of(message);
    let subject = crate::extract::clean_subject(subject);
    own.language()
        .or_else(|| own.plus(Evidence::of(subject)).language())
        .or_else(|| crate::extract::language_by_verbs(message))
        .or_else(|| crate::extract::language_by_verbs(subject))
}

/// `bytes` without the blank lines at its end.
fn trim_blank(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// A header without its Content-Type and Content-Transfer-Encoding fields (folded lines too).
fn without_content_fields(header: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len());
    let mut dropping = false;
    for line in header.split_inclusive(|b| *b == b'\n') {
        let continued = matches!(line.first(), Some(b' ' | b'\t'));
        if !continued {
            let name = line.split(|b| *b == b':').next().unwrap_or_default();
            dropping = name.eq_ignore_ascii_case(b"content-type")
                || name.eq_ignore_ascii_case(b"content-transfer-encoding");
        }
        if !dropping {
            out.extend_from_slice(line);
        }
    }
    let kept = trim_blank(&out).len();
    out.truncate(kept);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_text_is_the_message() {
        let raw = "From: Laura <laura@x.example>\r\nTo: ana@x.example\r\nSubject: web\r\n\r\nHola Ana,\r\nsube esto ya.\r\n\r\nUn saludo,\r\nLaura\r\nTel. 600 123 456\r\n\r\nEl vie, 20 nov 2026 a las 10:00, Ana <ana@x.example> escribió:\r\n> para el viernes\r\n";
        let msg = Inbound::parse(raw.as_bytes());
        assert_eq!(msg.own_text, "sube esto ya.");
        assert_eq!(msg.lang, Some(Lang::Es));
    }

    #[test]
    fn language_falls_back_to_the_subject() {
        assert_eq!(
            language("Applied.", "Re: [PATCH 2/3] fix the build"),
            Some(Lang::En)
        );
        assert_eq!(language("¿Puedes mirarlo?", "Re: the site"), Some(Lang::Es));
        assert_eq!(language("OK", "12345"), None);
    }

    #[test]
    fn return_path_forms() {
        assert_eq!(parse_return_path("<>"), ReturnPath::Null);
        assert_eq!(parse_return_path("< >"), ReturnPath::Null);
        assert_eq!(
            parse_return_path("<a@b.example> (comment)"),
            ReturnPath::Address("a@b.example".into())
        );
        assert_eq!(
            parse_return_path("<@relay.example:a@b.example>"),
            ReturnPath::Address("a@b.example".into())
        );
    }

    #[test]
    fn one_line_strips_controls() {
        assert_eq!(one_line("a\r\nBcc: x@y\n b"), "a Bcc: x@y b");
    }
}
