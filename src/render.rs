//! The reply (design §6): templates filled in, then built with lettre into the exact bytes that
//! will be sent.
//!
//! Templates are minijinja, one file per language and trigger (`templates/es/short-notice.txt`).
//! A file starts with a `Subject:` line (empty = `Re: ` + the original subject), then a blank
//! line, then the body. The built-in set lives in the repository's `templates/` folder and is
//! compiled in; `reply.templates` points to a folder of the freelancer's own, where any file she
//! has not written falls back to the built-in one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::calendar::Schedule;
use crate::config::Config;
use crate::lang::Lang;
use crate::mail::{Inbound, one_line};
use crate::policy::{Assessment, Trigger};

/// Why a reply could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template file could not be read.
    #[error("cannot read template {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A template does not parse or does not render.
    #[error("template {name}: {source:#}")]
    Template {
        /// The template's name (`es/short-notice.txt`).
        name: String,
        /// The cause.
        source: minijinja::Error,
    },
    /// A template has no blank line between its `Subject:` line and its body.
    #[error("template {name}: the first line must be \"Subject: …\", followed by a blank line")]
    Layout {
        /// The template's name.
        name: String,
    },
    /// The reply's addresses could not be used.
    #[error("cannot build the reply: {0}")]
    Build(String),
}

/// The built-in templates, by name.
const BUILT_IN: [(&str, &str); 4] = [
    (
        "es/outside-hours.txt",
        include_str!("../templates/es/outside-hours.txt"),
    ),
    (
        "es/short-notice.txt",
        include_str!("../templates/es/short-notice.txt"),
    ),
    (
        "en/outside-hours.txt",
        include_str!("../templates/en/outside-hours.txt"),
    ),
    (
        "en/short-notice.txt",
        include_str!("../templates/en/short-notice.txt"),
    ),
];

/// The template name for a language and trigger.
pub fn template_name(lang: Lang, trigger: Trigger) -> String {
    format!("{}/{}.txt", lang.code(), trigger.tag())
}

/// The loaded, parsed templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from: a file, or `None` for built-in.
    pub sources: BTreeMap<String, Option<PathBuf>>,
}

impl Templates {
    /// Loads the built-in templates, overridden by the files in `dir` when given.
    pub fn load(dir: Option<&Path>) -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let mut sources = BTreeMap::new();
        for (name, built_in) in BUILT_IN {
            let path = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let text = match &path {
                Some(p) => std::fs::read_to_string(p).map_err(|source| RenderError::Read {
                    path: p.clone(),
                    source,
                })?,
                None => built_in.to_string(),
            };
            split_template(name, &text)?;
            env.add_template_owned(name.to_string(), text)
                .map_err(|source| RenderError::Template {
                    name: name.to_string(),
                    source,
                })?;
            sources.insert(name.to_string(), path);
        }
        Ok(Templates { env, sources })
    }

    /// Renders `name` with `context` into (subject, body).
    fn render(&self, name: &str, context: &Context) -> Result<(String, String), RenderError> {
        let err = |source| RenderError::Template {
            name: name.to_string(),
            source,
        };
        let text = self
            .env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(err)?;
        let (subject, body) = split_template(name, &text)?;
        Ok((one_line(subject), tidy(body)))
    }

    /// Renders every template with a sample context, so `plazo check` finds unknown variables.
    pub fn check(&self, config: &Config) -> Vec<RenderError> {
        let sample = Context::sample(config);
        BUILT_IN
            .iter()
            .filter_map(|(name, _)| self.render(name, &sample).err())
            .collect()
    }
}

/// Splits `Subject: …\n\nbody` into its two parts.
fn split_template<'a>(name: &str, text: &'a str) -> Result<(&'a str, &'a str), RenderError> {
    let layout = || RenderError::Layout {
        name: name.to_string(),
    };
    let text = text.trim_start_matches('\u{feff}');
    let (first, rest) = text.split_once('\n').ok_or_else(layout)?;
    let subject = first
        .trim_end_matches('\r')
        .strip_prefix("Subject:")
        .ok_or_else(layout)?;
    let rest = rest.trim_start_matches('\r');
    let body = rest.strip_prefix('\n').ok_or_else(layout)?;
    Ok((subject.trim(), body))
}

/// Collapses runs of blank lines left by template conditionals and trims the ends.
fn tidy(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut blank = 0;
    for line in body.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out.push('\n');
    out
}

/// What the templates get (design §6).
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    /// The client's display name, or "".
    pub client_name: String,
    /// The address the reply goes to.
    pub client_address: String,
    /// The original subject.
    pub subject: String,
    /// When the mail arrived, written out.
    pub received: String,
    /// The deadline the client asked for, written out, or none.
    pub deadline: Option<String>,
    /// The words the deadline was read from, or none.
    pub deadline_phrase: Option<String>,
    /// True when the deadline is at or before arrival ("now", "ASAP").
    pub deadline_immediate: bool,
    /// The earliest feasible delivery, written out.
    pub earliest: String,
    /// The earliest delivery with a rush fee, written out, or none.
    pub rush_earliest: Option<String>,
    /// The rush fee, or none.
    pub rush_fee: Option<String>,
    /// The next working moment, written out.
    pub next_opening: String,
    /// The working hours as text.
    pub hours: String,
    /// The freelancer's name.
    pub my_name: String,
    /// How to reach her in an emergency, or none.
    pub emergency: Option<String>,
    /// True when the `outside-hours` trigger fired.
    pub outside_hours: bool,
    /// True when the `short-notice` trigger fired.
    pub short_notice: bool,
}

impl Context {
    /// The context for one reply.
    fn new(config: &Config, msg: &Inbound, to: &str, a: &Assessment, lang: Lang) -> Context {
        let tz = config.schedule.tz;
        let at = |t: DateTime<Utc>| format_instant(lang, tz, t, a.received);
        let maybe = |t: Option<DateTime<Utc>>| t.map(at).unwrap_or_default();
        Context {
            client_name: msg
                .from
                .as_ref()
                .and_then(|m| m.name.as_deref())
                .map(first_name)
                .unwrap_or_default(),
            client_address: to.to_string(),
            subject: msg.subject.clone(),
            received: at(a.received),
            deadline: a.deadline.as_ref().map(|d| at(d.at.to_utc())),
            deadline_phrase: a.deadline.as_ref().map(|d| one_line(&d.phrase)),
            deadline_immediate: a
                .deadline
                .as_ref()
                .is_some_and(|d| d.at.to_utc() <= a.received),
            earliest: maybe(a.earliest),
            rush_earliest: a.rush_earliest.map(at),
            rush_fee: config.notice.rush_fee.clone(),
            next_opening: maybe(a.next_opening),
            hours: hours_text(lang, &config.schedule),
            my_name: config.identity.name.clone(),
            emergency: config.identity.emergency.clone(),
            outside_hours: a.triggers.contains(&Trigger::OutsideHours),
            short_notice: a.triggers.contains(&Trigger::ShortNotice),
        }
    }

    /// A context with every value filled, for checking templates.
    fn sample(config: &Config) -> Context {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        Context {
            client_name: "Laura".into(),
            client_address: "laura@client.example".into(),
            subject: "Web".into(),
            received: now.to_rfc3339(),
            deadline: Some(now.to_rfc3339()),
            deadline_phrase: Some("ya".into()),
            deadline_immediate: false,
            earliest: now.to_rfc3339(),
            rush_earliest: Some(now.to_rfc3339()),
            rush_fee: Some("+50 %".into()),
            next_opening: now.to_rfc3339(),
            hours: "9-14".into(),
            my_name: config.identity.name.clone(),
            emergency: Some("600 000 000".into()),
            outside_hours: true,
            short_notice: true,
        }
    }
}

/// The first word of a display name ("Laura Méndez" → "Laura"), for a warm greeting; names
/// that look like companies or addresses are left out.
fn first_name(name: &str) -> String {
    let name = name.trim().trim_matches('"').trim();
    if name.contains('@') || name.chars().any(|c| c.is_ascii_digit()) {
        return String::new();
    }
    let name = match name.split_once(',') {
        // "Méndez, Laura"
        Some((last, first)) if !first.trim().is_empty() && !last.contains(' ') => first.trim(),
        _ => name,
    };
    name.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A reply ready to send.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// The one recipient: the Return-Path address.
    pub to: String,
    /// The From header as sent.
    pub from: String,
    /// The subject, decoded.
    pub subject: String,
    /// Every header as sent, unfolded (values stay RFC 2047 encoded, as on the wire).
    pub headers: BTreeMap<String, String>,
    /// The text body.
    pub text: String,
    /// The reply's Message-ID, without angle brackets.
    #[serde(skip)]
    pub message_id: String,
    /// The exact bytes to send.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A header whose value never changes, as a lettre header type.
macro_rules! fixed_header {
    ($(#[$doc:meta])* $type:ident, $name:literal, $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        struct $type;

        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($type)
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), $value.into())
            }
        }
    };
}

fixed_header!(
    /// `Auto-Submitted: auto-replied` (RFC 3834 §5).
    AutoSubmitted,
    "Auto-Submitted",
    "auto-replied"
);

fixed_header!(
    /// `X-Auto-Response-Suppress: All`: asks Exchange and Outlook not to answer the reply.
    AutoResponseSuppress,
    "X-Auto-Response-Suppress",
    "All"
);

/// Builds the reply to `msg`, sent to `to` at `now`, for the triggers in `a`.
pub fn reply(
    config: &Config,
    templates: &Templates,
    msg: &Inbound,
    to: &str,
    a: &Assessment,
    lang: Lang,
    now: DateTime<Utc>,
) -> Result<Outgoing, RenderError> {
    let trigger = if a.triggers.contains(&Trigger::ShortNotice) && !a.outside_hours {
        Trigger::ShortNotice
    } else {
        Trigger::OutsideHours
    };
    let context = Context::new(config, msg, to, a, lang);
    let (subject, text) = templates.render(&template_name(lang, trigger), &context)?;
    let subject = if subject.is_empty() {
        reply_subject(&msg.subject)
    } else {
        subject
    };
    let build = |e: &dyn std::fmt::Display| RenderError::Build(e.to_string());
    let from = Mailbox::new(
        Some(config.identity.name.clone()),
        config.identity.address.parse().map_err(|e| build(&e))?,
    );
    let to_box = Mailbox::new(None, to.parse().map_err(|e| build(&e))?);
    let domain = config
        .identity
        .address
        .rsplit_once('@')
        .map_or("plazo.invalid", |(_, d)| d);
    let message_id = reply_id(msg, to, a.received, domain);
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to_box)
        .subject(subject.clone())
        .date(SystemTime::from(now))
        .message_id(Some(format!("<{message_id}>")))
        .header(AutoSubmitted)
        .header(AutoResponseSuppress)
        .header(ContentType::TEXT_PLAIN);
    if let Some(id) = &msg.message_id {
        builder = builder.in_reply_to(format!("<{id}>"));
        let refs: Vec<String> = msg
            .references
            .iter()
            .chain(std::iter::once(id))
            .map(|r| format!("<{r}>"))
            .collect();
        builder = builder.references(refs.join(" "));
    }
    let message = builder.body(text.clone()).map_err(|e| build(&e))?;
    let bytes = message.formatted();
    Ok(Outgoing {
        to: to.to_string(),
        from: from.to_string(),
        subject,
        headers: header_map(&bytes),
        text,
        message_id,
        bytes,
    })
}

/// `Re: ` + the original subject, without stacking prefixes.
fn reply_subject(original: &str) -> String {
    let original = original.trim();
    let lower = original.to_lowercase();
    if lower.starts_with("re:") {
        original.to_string()
    } else if original.is_empty() {
        "Re:".to_string()
    } else {
        format!("Re: {original}")
    }
}

/// A Message-ID for the reply, derived from what identifies the decision, so deciding the same
/// message again gives the same id (the daemon relies on that to recognise its own work).
fn reply_id(msg: &Inbound, to: &str, received: DateTime<Utc>, domain: &str) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!(
        "{}\0{}\0{}",
        msg.message_id.as_deref().unwrap_or_default(),
        to.to_lowercase(),
        received.timestamp()
    );
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("plazo.{hash:016x}.{}@{domain}", received.timestamp())
}

/// The headers of a formatted message, unfolded, by name.
fn header_map(bytes: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(value) = current.as_ref().and_then(|n| map.get_mut(n)) {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            map.insert(name.to_string(), value.trim().to_string());
            current = Some(name.to_string());
        }
    }
    map
}

/// The name of a zone's place for people: `Europe/Madrid` → `Madrid`, `America/New_York` →
/// `New York`.
fn place(tz: Tz) -> String {
    tz.name()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace('_', " ")
}

/// Writes an instant in the freelancer's zone, in `lang`, with the zone named:
/// `lunes 30 de noviembre a las 10:00 (hora de Madrid)`, `Monday 30 November at 10:00 (Madrid time)`.
/// The year is written only when it differs from the year of `reference` (the arrival).
pub fn format_instant(lang: Lang, tz: Tz, t: DateTime<Utc>, reference: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    let year = if local.year() == reference.with_timezone(&tz).year() {
        String::new()
    } else {
        match lang {
            Lang::Es => format!(" de {}", local.year()),
            Lang::En => format!(" {}", local.year()),
        }
    };
    let day = local.weekday().num_days_from_monday() as usize;
    let month = local.month0() as usize;
    let (h, m) = (local.hour(), local.minute());
    let names = lang.pack().dates;
    match lang {
        Lang::Es => format!(
            "{} {} de {}{year} a la{} {h}:{m:02} (hora de {})",
            names.weekdays.get(day).unwrap_or(&""),
            local.day(),
            names.months.get(month).unwrap_or(&""),
            if h == 1 { "" } else { "s" },
            place(tz)
        ),
        Lang::En => format!(
            "{} {} {}{year} at {h}:{m:02} ({} time)",
            names.weekdays.get(day).unwrap_or(&""),
            local.day(),
            names.months.get(month).unwrap_or(&""),
            place(tz)
        ),
    }
}

/// The working hours as a sentence: `de lunes a jueves, de 9:00 a 14:00 y de 16:00 a 19:00;
/// viernes, de 9:00 a 14:00 (hora de Madrid)`.
pub fn hours_text(lang: Lang, schedule: &Schedule) -> String {
    let days = lang.pack().dates.weekdays;
    let clock = |minute: u32| format!("{}:{:02}", minute / 60, minute % 60);
    let ranges = |d: usize| -> String {
        let parts: Vec<String> = schedule.week.get(d).map_or_else(Vec::new, |rs| {
            rs.iter()
                .map(|r| match lang {
                    Lang::Es => format!("de {} a {}", clock(r.start), clock(r.end)),
                    Lang::En => format!("{}–{}", clock(r.start), clock(r.end)),
                })
                .collect()
        });
        let joiner = match lang {
            Lang::Es => " y ",
            Lang::En => " and ",
        };
        parts.join(joiner)
    };
    let mut groups: Vec<String> = Vec::new();
    let mut d = 0;
    while d < 7 {
        let same = schedule.week.get(d);
        let mut end = d;
        while end + 1 < 7 && schedule.week.get(end + 1) == same {
            end += 1;
        }
        if same.is_some_and(|r| !r.is_empty()) {
            let first = days.get(d).copied().unwrap_or_default();
            let last = days.get(end).copied().unwrap_or_default();
            let span = match (end - d, lang) {
                (0, _) => first.to_string(),
                (1, Lang::Es) => format!("{first} y {last}"),
                (1, Lang::En) => format!("{first} and {last}"),
                (_, Lang::Es) => format!("de {first} a {last}"),
                (_, Lang::En) => format!("{first} to {last}"),
            };
            groups.push(match lang {
                Lang::Es => format!("{span}, {}", ranges(d)),
                Lang::En => format!("{span} {}", ranges(d)),
            });
        }
        d = end + 1;
    }
    let zone = match lang {
        Lang::Es => format!("(hora de {})", place(schedule.tz)),
        Lang::En => format!("({} time)", place(schedule.tz)),
    };
    format!("{} {zone}", groups.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(first_name("Laura Méndez"), "Laura");
        assert_eq!(first_name("\"Méndez, Laura\""), "Laura");
        assert_eq!(first_name("laura@x.example"), "");
        assert_eq!(place(chrono_tz::America::New_York), "New York");
    }

    #[test]
    fn dates_in_both_languages() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T10:00:00+01:00")
            .expect("date")
            .to_utc();
        let tz = chrono_tz::Europe::Madrid;
        assert_eq!(
            format_instant(Lang::Es, tz, t, t),
            "lunes 30 de noviembre a las 10:00 (hora de Madrid)"
        );
        assert_eq!(
            format_instant(Lang::En, tz, t, t),
            "Monday 30 November at 10:00 (Madrid time)"
        );
        let new_year = DateTime::parse_from_rfc3339("2027-01-04T13:00:00+01:00")
            .expect("date")
            .to_utc();
        assert_eq!(
            format_instant(Lang::Es, tz, new_year, t),
            "lunes 4 de enero de 2027 a las 13:00 (hora de Madrid)"
        );
        assert_eq!(
            format_instant(Lang::En, tz, new_year, t),
            "Monday 4 January 2027 at 13:00 (Madrid time)"
        );
    }

    #[test]
    fn subjects() {
        assert_eq!(reply_subject("Web"), "Re: Web");
        assert_eq!(reply_subject("RE: Web"), "RE: Web");
        assert_eq!(reply_subject(""), "Re:");
    }

    #[test]
    fn built_in_templates_split() {
        for (name, text) in BUILT_IN {
            assert!(split_template(name, text).is_ok(), "{name}");
        }
    }
}
