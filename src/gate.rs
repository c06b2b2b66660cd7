//! The gate (design §5): may we answer this message at all?
//!
//! An auto-responder that answers a mailing list, a bounce, another robot or itself causes floods
//! and loops. The rules come from RFC 3834 (§2, §3.1.8), RFC 5230 (Sieve vacation) and the
//! practice of mature responders. They run in a fixed order and the first hit gives the one
//! [`Skip`] reason that is logged and stored. The rules that need state or the policy (duplicate,
//! too old, no trigger) are applied by [`crate::pipeline`], in the same order.

use std::fmt;

use serde::Serialize;

use crate::config::{Audience, Config, matches_pattern};
use crate::mail::{Inbound, ReturnPath, strip_comments};

/// Why a message gets no reply. One tag each (design §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// No Return-Path header: nowhere safe to reply to.
    NoReturnPath,
    /// `Return-Path: <>`: a bounce or another automatic message.
    NullReturnPath,
    /// From one of the freelancer's own addresses.
    #[serde(rename = "self")]
    OwnAddress,
    /// `Auto-Submitted` other than `no`, or a delivery/read report.
    AutoSubmitted,
    /// An auto-reply that does not say so the RFC 3834 way: `X-Autoreply`, `X-Autorespond`,
    /// `Precedence: auto_reply`, an "Automatic reply:" / "Respuesta automática:" subject…
    AutoReply,
    /// It answers one of plazo's own replies (`In-Reply-To` / `References` name one).
    ToOwnReply,
    /// `X-Auto-Response-Suppress` asks for no auto-replies.
    AutoResponseSuppress,
    /// Mail from a mailing list.
    List,
    /// `Precedence: bulk`, `list` or `junk`.
    Bulk,
    /// The server's spam filter flagged it.
    Spam,
    /// A system sender (MAILER-DAEMON, LISTSERV, majordomo, owner-*, *-request).
    SystemSender,
    /// A no-reply sender.
    Noreply,
    /// None of the freelancer's addresses is among the recipients.
    NotRecipient,
    /// The sender is on the `never` list.
    NeverList,
    /// A `[[client]]` agreement with `never = true`: she answers this client herself.
    NeverClient,
    /// `audience = "clients"` and the sender is not a client.
    NotClient,
    /// This sender was already answered for these triggers within `once_per_sender`.
    Duplicate,
    /// This thread (whoever writes in it) already got a reply within `once_per_sender`.
    ThreadAnswered,
    /// The sender's domain already got `reply.per_domain_hourly` replies in the last hour.
    DomainRate,
    /// The mail arrived longer ago than `max_age`.
    TooOld,
    /// No trigger fired: within hours and with enough notice.
    NoTrigger,
    /// The schedule has no working time within its horizon (three years): a reply could
    /// promise no time at all.
    NoOpening,
}

impl Skip {
    /// The tag used in logs, JSON and the state store.
    pub fn tag(self) -> &'static str {
        match self {
            Skip::NoReturnPath => "no-return-path",
            Skip::NullReturnPath => "null-return-path",
            Skip::OwnAddress => "self",
            Skip::AutoSubmitted => "auto-submitted",
            Skip::AutoReply => "auto-reply",
            Skip::ToOwnReply => "to-own-reply",
            Skip::AutoResponseSuppress => "auto-response-suppress",
            Skip::List => "list",
            Skip::Bulk => "bulk",
            Skip::Spam => "spam",
            Skip::SystemSender => "system-sender",
            Skip::Noreply => "noreply",
            Skip::NotRecipient => "not-recipient",
            Skip::NeverList => "never-list",
            Skip::NeverClient => "never-client",
            Skip::NotClient => "not-client",
            Skip::Duplicate => "duplicate",
            Skip::ThreadAnswered => "thread-answered",
            Skip::DomainRate => "domain-rate",
            Skip::TooOld => "too-old",
            Skip::NoTrigger => "no-trigger",
            Skip::NoOpening => "no-opening",
        }
    }

    /// Every reason, in the order the pipeline applies them.
    pub const ALL: [Skip; 22] = [
        Skip::NoReturnPath,
        Skip::NullReturnPath,
        Skip::OwnAddress,
        Skip::AutoSubmitted,
        Skip::AutoReply,
        Skip::ToOwnReply,
        Skip::AutoResponseSuppress,
        Skip::List,
        Skip::Bulk,
        Skip::Spam,
        Skip::SystemSender,
        Skip::Noreply,
        Skip::NotRecipient,
        Skip::NeverList,
        Skip::NeverClient,
        Skip::NotClient,
        Skip::Duplicate,
        Skip::TooOld,
        Skip::NoTrigger,
        Skip::ThreadAnswered,
        Skip::DomainRate,
        Skip::NoOpening,
    ];

    /// The reason for a tag.
    pub fn from_tag(tag: &str) -> Option<Skip> {
        Skip::ALL.into_iter().find(|s| s.tag() == tag)
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The headers whose mere presence marks mailing-list mail (RFC 2369, RFC 2919).
const LIST_HEADERS: [&str; 7] = [
    "list-id",
    "list-help",
    "list-subscribe",
    "list-unsubscribe",
    "list-post",
    "list-owner",
    "list-archive",
];

/// Runs the stateless rules in order; `Err` holds the first that hit.
pub fn check(msg: &Inbound, config: &Config) -> Result<(), Skip> {
    let me = &config.identity;
    let return_path = match &msg.return_path {
        ReturnPath::Missing => return Err(Skip::NoReturnPath),
        ReturnPath::Null => return Err(Skip::NullReturnPath),
        ReturnPath::Address(a) => a.as_str(),
    };
    let from = msg.from.as_ref().map(|m| m.address.as_str());
    let senders = || {
        [Some(return_path), from, msg.sender.as_deref()]
            .into_iter()
            .flatten()
    };
    if senders().any(|a| me.is_mine(a)) {
        return Err(Skip::OwnAddress);
    }
    if msg
        .header("auto-submitted")
        .any(|v| !is_auto_submitted_no(v))
        || msg.content_type == "multipart/report"
    {
        return Err(Skip::AutoSubmitted);
    }
    if is_auto_reply(msg) {
        return Err(Skip::AutoReply);
    }
    if ids_of(msg).any(is_own_reply_id) {
        return Err(Skip::ToOwnReply);
    }
    if msg
        .header("x-auto-response-suppress")
        .any(suppresses_auto_reply)
    {
        return Err(Skip::AutoResponseSuppress);
    }
    if LIST_HEADERS.iter().any(|h| msg.has_header(h)) {
        return Err(Skip::List);
    }
    if msg.header("precedence").any(|v| {
        let v = keyword(v);
        v == "bulk" || v == "list" || v == "junk"
    }) {
        return Err(Skip::Bulk);
    }
    if is_bulk_mailer(msg) || has_bulk_footer(msg) {
        return Err(Skip::Bulk);
    }
    if is_spam(msg) {
        return Err(Skip::Spam);
    }
    if [Some(return_path), from]
        .into_iter()
        .flatten()
        .any(is_system_sender)
    {
        return Err(Skip::SystemSender);
    }
    if senders().any(is_noreply) {
        return Err(Skip::Noreply);
    }
    if !msg.recipients.iter().any(|r| me.is_mine(r)) {
        return Err(Skip::NotRecipient);
    }
    let sender = msg.sender_address().unwrap_or_default();
    if config
        .reply
        .never
        .iter()
        .any(|p| matches_pattern(p, &sender))
    {
        return Err(Skip::NeverList);
    }
    if is_newsletter_sender(msg) {
        return Err(Skip::Bulk);
    }
    if config.client_for(&sender).is_some_and(|c| c.never) {
        return Err(Skip::NeverClient);
    }
    if config.reply.audience == Audience::Clients && !config.is_client(&sender) {
        return Err(Skip::NotClient);
    }
    Ok(())
}

/// Headers that only auto-responders write, whatever their value (vendors that never learnt
/// RFC 3834: cPanel, Plesk, Zimbra, Exchange's older builds, ticketing systems).
const AUTO_REPLY_HEADERS: [&str; 6] = [
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-auto-reply",
    "x-autoreply-from",
    "x-mail-autoreply",
];

/// Subject openings of auto-replies, folded ("Automatic reply:", "Respuesta automática:",
/// "Fuera de la oficina:", "Out of Office:", "Réponse automatique :", "Abwesenheitsnotiz:").
const AUTO_REPLY_SUBJECTS: [&str; 20] = [
    "auto:",
    "autoreply",
    "auto reply",
    "auto-reply",
    "auto-response",
    "automatic reply",
    "automatic response",
    "out of office",
    "out of the office",
    "respuesta automatica",
    "respuesta automática",
    "fuera de la oficina",
    "ausencia de la oficina",
    "reponse automatique",
    "réponse automatique",
    "absence du bureau",
    "risposta automatica",
    "resposta automatica",
    "resposta automática",
    "abwesenheitsnotiz",
];

/// An auto-reply that does not use `Auto-Submitted`: a vendor header, `Precedence: auto_reply`,
/// `X-Autogenerated: Reply`, or a subject that opens with an auto-reply marker followed by a
/// colon, a dash or nothing (so "Out of office: …" is one, "Out of office plans" is not).
fn is_auto_reply(msg: &Inbound) -> bool {
    if AUTO_REPLY_HEADERS.iter().any(|h| msg.has_header(h)) {
        return true;
    }
    let auto_precedence = |v: &str| {
        let v = keyword(v);
        v == "auto_reply" || v == "auto-reply" || v == "autoreply"
    };
    if msg.header("precedence").any(auto_precedence)
        || msg.header("x-precedence").any(auto_precedence)
        || msg.header("x-autogenerated").any(|v| keyword(v) == "reply")
        || msg
            .header("x-post-messageclass")
            .any(|v| v.to_ascii_lowercase().contains("autoresponder"))
    {
        return true;
    }
    // Behind any reply prefixes: "Re: Respuesta automática: …" answers an auto-reply.
    let mut subject = msg.subject.trim().to_lowercase();
    while let Some(rest) = ["re:", "aw:", "sv:", "rv:", "res:"]
        .iter()
        .find_map(|p| subject.strip_prefix(p))
    {
        subject = rest.trim_start().to_string();
    }
    AUTO_REPLY_SUBJECTS.iter().any(|marker| {
        subject.strip_prefix(marker).is_some_and(|rest| {
            marker.ends_with(':')
                || rest.is_empty()
                || rest.trim_start().starts_with([':', '-', '–', '('])
                || rest.starts_with(" autoreply")
        })
    })
}

/// The message ids this mail answers: `In-Reply-To` and `References`.
fn ids_of(msg: &Inbound) -> impl Iterator<Item = &str> {
    msg.in_reply_to
        .iter()
        .chain(&msg.references)
        .map(String::as_str)
}

/// An id of plazo's own making ([`crate::render`]: `plazo.<16 hex>.<seconds>@domain`), whoever
/// sent it: this plazo, or another one answering us.
pub fn is_own_reply_id(id: &str) -> bool {
    let id = id.trim().trim_start_matches('<');
    let Some(rest) = id.strip_prefix("plazo.") else {
        return false;
    };
    let Some((hash, rest)) = rest.split_once('.') else {
        return false;
    };
    let Some((seconds, _domain)) = rest.split_once('@') else {
        return false;
    };
    hash.len() == 16
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !seconds.is_empty()
        && seconds.bytes().all(|b| b.is_ascii_digit())
}

/// The first keyword of a structured header value: comments and parameters dropped, lowercased.
fn keyword(value: &str) -> String {
    let value = strip_comments(value);
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// RFC 3834 §5: `Auto-Submitted: no` (with any comment or parameter) is the only human value.
fn is_auto_submitted_no(value: &str) -> bool {
    keyword(value) == "no"
}

/// `X-Auto-Response-Suppress` (MS-OXCMAIL): `All`, `OOF` or `AutoReply` suppress our kind of reply.
fn suppresses_auto_reply(value: &str) -> bool {
    strip_comments(value)
        .split([',', ';', ' ', '\t'])
        .map(str::trim)
        .any(|v| {
            v.eq_ignore_ascii_case("all")
                || v.eq_ignore_ascii_case("oof")
                || v.eq_ignore_ascii_case("autoreply")
        })
}

fn is_spam(msg: &Inbound) -> bool {
    let yes = |v: &str| {
        let v = v.trim_start().to_ascii_lowercase();
        v.starts_with("yes") || v.starts_with("true")
    };
    msg.header("x-spam-flag").any(yes)
        || msg.header("x-spam").any(yes)
        || msg.header("x-spam-status").any(yes)
}

fn local_part(address: &str) -> String {
    address
        .rsplit_once('@')
        .map_or(address, |(local, _)| local)
        .trim_matches('"')
        .to_ascii_lowercase()
}

fn is_system_sender(address: &str) -> bool {
    let local = local_part(address);
    matches!(
        local.as_str(),
        "mailer-daemon" | "listserv" | "majordomo" | "postmaster"
    ) || local.starts_with("owner-")
        || local.ends_with("-request")
}

/// Mailing software that sends newsletters and campaigns, as its `X-Mailer` names it.
const BULK_MAILERS: &[&str] = &[
    "accucast",
    "listmanager",
    "mailchimp",
    "phplist",
    "sendinblue",
    "brevo",
    "mailerlite",
    "campaign monitor",
    "createsend",
    "constant contact",
    "sendy",
    "acumbamail",
    "mailrelay",
    "getresponse",
    "aweber",
    "klaviyo",
    "hubspot",
    "marketo",
    "exacttarget",
    "lyris",
    "mailjet",
    "emailvision",
    "cheetahmail",
    "mailpoet",
    "newsletter",
];

/// Header name prefixes only campaign software writes.
const CAMPAIGN_HEADERS: &[&str] = &[
    "x-mailchimp",
    "x-mc-user",
    "x-campaign",
    "x-sfmc",
    "x-rpcampaign",
    "x-listmember",
    "x-newsletter",
];

/// Whether a message is a newsletter or a campaign by its headers: sent by mailing software
/// (`X-Mailer`) or carrying a campaign header. RFC 3834 §2 asks responders not to answer such
/// mail, like `Precedence: bulk`.
fn is_bulk_mailer(msg: &Inbound) -> bool {
    let mailer = msg.header("x-mailer").any(|v| {
        let v = v.to_ascii_lowercase();
        BULK_MAILERS.iter().any(|m| v.contains(m))
    });
    let campaign = msg
        .headers
        .iter()
        .any(|(name, _)| CAMPAIGN_HEADERS.iter().any(|p| name.starts_with(p)));
    mailer || campaign
}

/// What only a newsletter's or a campaign's footer says.
const BULK_FOOTERS: &[&str] = &[
    "you are receiving this email because",
    "you are receiving this e-mail because",
    "you received this email because you",
    "you're receiving this email because",
    "unsubscribe from this list",
    "to unsubscribe from this",
    "click here to unsubscribe",
    "update your preferences or unsubscribe",
    "recibes este correo porque",
    "has recibido este correo porque",
    "si no deseas recibir más",
    "si no desea recibir más",
    "darte de baja de esta lista",
    "darse de baja de esta lista",
];

/// All of [`BULK_FOOTERS`] at once, in any case: the matcher folds ASCII case only, so a footer
/// with a letter outside ASCII ("más") is also given in capitals ("MÁS").
static FOOTERS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    let capitals = BULK_FOOTERS
        .iter()
        .filter(|f| !f.is_ascii())
        .map(|f| f.to_uppercase());
    let patterns: Vec<String> = BULK_FOOTERS
        .iter()
        .map(|f| (*f).to_string())
        .chain(capitals)
        .collect();
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(patterns)
        .expect("the newsletter footers make an automaton")
});

/// How far from either end of a block a newsletter notice is looked for.
const FOOTER_TAIL: usize = 4096;

/// Whether the sender's own part of the body (not quoted or forwarded history) carries a
/// newsletter footer ("You are receiving this email because you signed up…").
fn has_bulk_footer(msg: &Inbound) -> bool {
    use crate::segment::Kind;
    msg.segments
        .blocks
        .iter()
        .filter(|b| !matches!(b.kind, Kind::Quote | Kind::Forward))
        .flat_map(|b| {
            // The notice heads or ends a newsletter: look at both ends of each block.
            let boundary = |mut at: usize, up: bool| {
                while !msg.text.is_char_boundary(at) {
                    at = if up { at + 1 } else { at - 1 };
                }
                at
            };
            // A block no longer than both ends together is read once, whole.
            if b.range.len() <= 2 * FOOTER_TAIL {
                return [msg.text.get(b.range.clone()), None];
            }
            let head_end = boundary(b.range.start + FOOTER_TAIL, false);
            let tail_start = boundary(b.range.end - FOOTER_TAIL, true);
            [
                msg.text.get(b.range.start..head_end),
                msg.text.get(tail_start..b.range.end),
            ]
        })
        .flatten()
        .any(|part| FOOTERS.is_match(part))
}

/// Whether the sender is a newsletter: "Newsletter" (or "boletín") in its name or address.
fn is_newsletter_sender(msg: &Inbound) -> bool {
    let newsletter = |s: &str| {
        let s = s.to_lowercase();
        s.contains("newsletter") || s.contains("boletín") || s.contains("boletin")
    };
    msg.from.as_ref().is_some_and(|m| {
        newsletter(&local_part(&m.address)) || m.name.as_deref().is_some_and(newsletter)
    })
}

fn is_noreply(address: &str) -> bool {
    let local = local_part(address);
    let base = local.split('+').next().unwrap_or_default();
    matches!(
        base,
        "noreply" | "no-reply" | "donotreply" | "do-not-reply" | "no_reply" | "do_not_reply"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_submitted_values() {
        assert!(is_auto_submitted_no("no"));
        assert!(is_auto_submitted_no("No (sent by a human)"));
        assert!(is_auto_submitted_no(" no ; x=1"));
        assert!(!is_auto_submitted_no("auto-replied"));
        assert!(!is_auto_submitted_no("(no) auto-generated"));
        assert!(!is_auto_submitted_no(""));
    }

    #[test]
    fn suppress_lists() {
        assert!(suppresses_auto_reply("All"));
        assert!(suppresses_auto_reply("DR, OOF, AutoReply"));
        assert!(suppresses_auto_reply("autoreply"));
        assert!(!suppresses_auto_reply("DR, RN, NRN"));
    }

    #[test]
    fn sender_kinds() {
        assert!(is_system_sender("MAILER-DAEMON@mx.example"));
        assert!(is_system_sender("owner-lista@x.example"));
        assert!(is_system_sender("lista-request@x.example"));
        assert!(!is_system_sender("requester@x.example"));
        assert!(is_noreply("No-Reply+abc@x.example"));
        assert!(is_noreply("DoNotReply@x.example"));
        assert!(!is_noreply("noreplyguy@x.example"));
    }

    #[test]
    fn own_reply_ids() {
        assert!(is_own_reply_id(
            "plazo.3f9a0c1d22b7e410.1795291500@estudio-ana.example"
        ));
        assert!(is_own_reply_id("<plazo.0123456789ABCDEF.1@x>"));
        assert!(
            !is_own_reply_id("plazo.3f9a0c1d22b7e41.1795291500@x"),
            "15 hex digits"
        );
        assert!(!is_own_reply_id("plazo.3f9a0c1d22b7e410.17952x@x"));
        assert!(!is_own_reply_id("plazo-notes.1@x"));
        assert!(!is_own_reply_id("CAF7x2q@mail.gmail.example"));
    }

    #[test]
    fn auto_reply_subjects() {
        let with_subject = |subject: &str| {
            let raw = format!(
                "Return-Path: <t@x.example>\r\nFrom: t@x.example\r\nSubject: {subject}\r\n\r\nHi\r\n"
            );
            is_auto_reply(&Inbound::parse(raw.as_bytes()))
        };
        for yes in [
            "Automatic reply: Landing page",
            "Re: Respuesta automática: Re: Web",
            "Out of Office - back Monday",
            "Out of office",
            "AUTO: banner",
            "Fuera de la oficina: Cambios",
            "Réponse automatique : Site",
        ] {
            assert!(with_subject(yes), "{yes}");
        }
        for no in [
            "Out of office plans for the team day",
            "Automatically generated invoices",
            "Autoreply settings on the new site",
            "Web",
            "Re: automatic backups",
        ] {
            assert!(!with_subject(no), "{no}");
        }
    }

    #[test]
    fn tags_round_trip() {
        for s in Skip::ALL {
            assert_eq!(Skip::from_tag(s.tag()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.tag()))
            );
        }
    }

    #[test]
    fn newsletter_footers_in_any_case() {
        for text in [
            "Si no deseas recibir más correos, pulsa aquí.",
            "SI NO DESEAS RECIBIR MÁS CORREOS, PULSA AQUÍ.",
            "You are RECEIVING this email because you signed up.",
        ] {
            assert!(FOOTERS.is_match(text), "{text}");
        }
        assert!(!FOOTERS.is_match("Si no puedes recibir el paquete, avísame."));
    }
}
