//! The decision pipeline over one message: gate, understand, policy, render (design §1).
//!
//! This is the code `plazo preview` runs on files and the daemon runs on fetched messages. It is
//! pure: the arrival instant and "now" are arguments, and the per-sender ledger is a trait the
//! caller provides (in memory for `preview`, SQLite for the daemon). It records nothing itself:
//! the caller stores the [`Decision`] and, for a reply, the ledger entries, in one step.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Client, Config};
use crate::extract::{self, Deadline, Finding};
use crate::gate::{self, Skip};
use crate::lang::Lang;
use crate::mail::Inbound;
use crate::policy::{self, Assessment, Trigger};
use crate::render::{self, Outgoing, RenderError, Templates};
use crate::zone::Zone;

/// Who was answered for what, and when: what makes a second mail a `duplicate`.
pub trait Ledger {
    /// The last time `sender` (lowercased) was sent a reply for `trigger`, if ever.
    fn last_reply(&self, sender: &str, trigger: Trigger) -> Option<DateTime<Utc>>;
    /// The last time any reply went to the thread `thread` (see [`thread_key`]), if ever.
    fn last_thread_reply(&self, thread: &str) -> Option<DateTime<Utc>>;
    /// How many replies went to addresses at `domain` (lowercased) since `since`.
    fn domain_replies_since(&self, domain: &str, since: DateTime<Utc>) -> usize;
}

/// A ledger kept in memory (for `plazo preview` and tests).
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    entries: std::collections::BTreeMap<(String, Trigger), DateTime<Utc>>,
    /// (thread, domain, when) of every reply.
    replies: Vec<(String, String, DateTime<Utc>)>,
}

impl MemoryLedger {
    /// Records that `sender` was answered for `triggers` at `at`, in `thread`.
    pub fn record(&mut self, sender: &str, triggers: &[Trigger], thread: &str, at: DateTime<Utc>) {
        for t in triggers {
            self.entries.insert((sender.to_lowercase(), *t), at);
        }
        self.replies
            .push((thread.to_string(), domain_of(sender), at));
    }
}

impl Ledger for MemoryLedger {
    fn last_reply(&self, sender: &str, trigger: Trigger) -> Option<DateTime<Utc>> {
        self.entries.get(&(sender.to_lowercase(), trigger)).copied()
    }

    fn last_thread_reply(&self, thread: &str) -> Option<DateTime<Utc>> {
        self.replies
            .iter()
            .filter(|(t, _, _)| t == thread)
            .map(|(_, _, at)| *at)
            .max()
    }

    fn domain_replies_since(&self, domain: &str, since: DateTime<Utc>) -> usize {
        self.replies
            .iter()
            .filter(|(_, d, at)| d == domain && *at >= since)
            .count()
    }
}

/// The domain of an address, lowercased ("" when it has none).
pub fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_lowercase())
        .unwrap_or_default()
}

/// What makes mails one thread for the loop brake, whoever writes in it: the first id of
/// `References` (the thread's root), else the `In-Reply-To` id. A mail that names no earlier one
/// starts its own thread: its own Message-ID is the root, or, without one, its subject (without
/// reply and forward prefixes) and its sender. Two colleagues who both write "Web" on the same
/// evening are two threads. A responder that writes from a fresh address every time without
/// naming the mail it answers is stopped by the cap per domain instead.
pub fn thread_key(msg: &Inbound, sender: &str) -> String {
    if let Some(root) = msg.references.first() {
        return format!("id:{}", root.to_lowercase());
    }
    let in_reply_to = msg.in_reply_to.first().map(String::as_str);
    if let Some(id) = in_reply_to.or(msg.message_id.as_deref()) {
        return format!("id:{}", id.to_lowercase());
    }
    format!(
        "subject:{}|{}",
        bare_subject(&msg.subject),
        sender.to_lowercase()
    )
}

/// A subject without any run of `Re:`, `Fwd:`, `RV:`, `AW:`, `Auto:`… prefixes, lowercased,
/// spaces collapsed.
fn bare_subject(subject: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        let cut = [
            "re:", "fw:", "fwd:", "rv:", "aw:", "wg:", "tr:", "auto:", "res:", "enc:",
        ]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.len());
        match cut {
            Some(n) => rest = rest.get(n..).unwrap_or_default().trim_start(),
            None => break,
        }
    }
    rest.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Send the reply.
    Reply,
    /// Send nothing.
    Skip,
}

/// The outcome of the pipeline for one message.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Reply or skip.
    pub action: Action,
    /// The skip reason, for skips.
    pub skip: Option<Skip>,
    /// What business time said, when the pipeline got that far.
    pub assessment: Option<Assessment>,
    /// The triggers the reply answers (already-answered ones removed).
    pub triggers: Vec<Trigger>,
    /// The language of the reply (or the one it would have had).
    pub language: Lang,
    /// The address the reply goes to (the Return-Path), when there is one.
    pub recipient: Option<String>,
    /// The reply, for `Reply`.
    pub reply: Option<Outgoing>,
    /// Every time expression of the subject and the message, with its role (empty when the
    /// gate stopped the mail).
    pub findings: Vec<Finding>,
    /// When the mail arrived.
    pub received: DateTime<Utc>,
    /// The thread it belongs to for the loop brake ([`thread_key`]).
    pub thread: String,
    /// The name of the `[[client]]` agreement that applied, if one matched the sender.
    pub client: Option<String>,
}

impl Decision {
    /// The reason as design §2 writes it: the skip tag, or the triggers joined by `+`.
    pub fn reason(&self) -> String {
        match self.skip {
            Some(s) => s.tag().to_string(),
            None => self
                .triggers
                .iter()
                .map(|t| t.tag())
                .collect::<Vec<_>>()
                .join("+"),
        }
    }

    /// Every finding in words (see [`Explained`]).
    pub fn explained(&self) -> Vec<Explained> {
        self.findings.iter().map(Explained::from).collect()
    }

    /// The deadline the client demanded, if the pipeline got that far.
    pub fn deadline(&self) -> Option<&Deadline> {
        self.assessment.as_ref().and_then(|a| a.deadline.as_ref())
    }
}

/// What understanding made of one time expression, in words: what `preview`, `extract` and
/// `history` show, and what the store keeps with each decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explained {
    /// The words, as written.
    pub phrase: String,
    /// `subject` or `message`.
    pub source: String,
    /// What the words mean, before they are placed in time (`none` for "no deadline").
    pub reading: Option<String>,
    /// Its role (`request`, `schedule`, `plan`…).
    pub role: String,
    /// `strong` or `unsure`.
    pub strength: String,
    /// Whether it sets the deadline: a demand, sure, naming an instant.
    pub counts: bool,
    /// The instant it names (RFC 3339), when it names one.
    pub at: Option<String>,
    /// Why it got that role.
    pub why: String,
    /// The language of the pack that read it.
    pub lang: String,
}

impl From<&Finding> for Explained {
    fn from(f: &Finding) -> Explained {
        Explained {
            phrase: f.phrase.clone(),
            source: f.source.name().to_string(),
            reading: f.reading.map(|r| r.to_string()),
            role: f.role.tag().to_string(),
            strength: f.strength.tag().to_string(),
            counts: f.counts(),
            at: f
                .at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            why: f.why.to_string(),
            lang: f.lang.code().to_string(),
        }
    }
}

/// The inputs of one decision that are not the message.
#[derive(Clone, Copy)]
pub struct Moment {
    /// When the message arrived (INTERNALDATE, or `--at`); business time counts from here.
    pub arrival: DateTime<Utc>,
    /// When the decision is made; `max_age` and the reply's Date use it.
    pub now: DateTime<Utc>,
}

/// Runs the whole pipeline on `msg`.
pub fn decide(
    msg: &Inbound,
    config: &Config,
    templates: &Templates,
    moment: Moment,
    ledger: &dyn Ledger,
) -> Result<Decision, RenderError> {
    let client = msg
        .sender_address()
        .and_then(|sender| config.client_for(&sender));
    let language = client
        .and_then(|c| c.language)
        .or(msg.lang)
        .unwrap_or(config.reply.default_language);
    let recipient = msg.reply_address().map(str::to_string);
    let thread = thread_key(msg, recipient.as_deref().unwrap_or_default());
    let skip = |skip: Skip,
                assessment: Option<Assessment>,
                triggers: Vec<Trigger>,
                findings: Vec<Finding>| Decision {
        action: Action::Skip,
        skip: Some(skip),
        assessment,
        triggers,
        language,
        recipient: recipient.clone(),
        reply: None,
        findings,
        received: moment.arrival,
        thread: thread.clone(),
        client: client.map(|c| c.name.clone()),
    };
    if let Err(reason) = gate::check(msg, config) {
        return Ok(skip(reason, None, Vec::new(), Vec::new()));
    }
    let Some(to) = msg.reply_address() else {
        return Ok(skip(Skip::NoReturnPath, None, Vec::new(), Vec::new()));
    };
    let findings = understand(msg, config, client, moment);
    let assessment = policy::assess(config, client, moment.arrival, extract::earliest(&findings));
    let sender = to.to_lowercase();
    let fresh: Vec<Trigger> = assessment
        .triggers
        .iter()
        .copied()
        .filter(|t| {
            ledger
                .last_reply(&sender, *t)
                .is_none_or(|last| moment.arrival - last >= config.reply.once_per_sender)
        })
        .collect();
    if !assessment.triggers.is_empty() && fresh.is_empty() {
        let fired = assessment.triggers.clone();
        return Ok(skip(Skip::Duplicate, Some(assessment), fired, findings));
    }
    if moment.now - moment.arrival > config.reply.max_age {
        let fired = assessment.triggers.clone();
        return Ok(skip(Skip::TooOld, Some(assessment), fired, findings));
    }
    if fresh.is_empty() {
        return Ok(skip(
            Skip::NoTrigger,
            Some(assessment),
            Vec::new(),
            findings,
        ));
    }
    // The loop brake, whatever the address: one reply per thread per period, and a cap per
    // domain, so a responder that writes from a fresh address every time is stopped too.
    if ledger
        .last_thread_reply(&thread)
        .is_some_and(|last| moment.arrival - last < config.reply.once_per_sender)
    {
        return Ok(skip(
            Skip::ThreadAnswered,
            Some(assessment),
            fresh,
            findings,
        ));
    }
    let cap = config.reply.per_domain_hourly;
    if cap > 0
        && ledger.domain_replies_since(&domain_of(to), moment.arrival - chrono::Duration::hours(1))
            >= cap as usize
    {
        return Ok(skip(Skip::DomainRate, Some(assessment), fresh, findings));
    }
    // Every reply says when it will be read: with no working time ahead there is nothing
    // true to say (`plazo check` warns of such a schedule).
    if assessment.next_opening.is_none() {
        return Ok(skip(Skip::NoOpening, Some(assessment), fresh, findings));
    }
    let addressee = render::Addressee {
        address: to,
        lang: language,
        client,
    };
    let reply = render::reply(config, templates, msg, &addressee, &assessment, moment.now)?;
    Ok(Decision {
        action: Action::Reply,
        skip: None,
        assessment: Some(assessment),
        triggers: fresh,
        language,
        recipient: Some(to.to_string()),
        reply: Some(reply),
        findings,
        received: moment.arrival,
        thread,
        client: client.map(|c| c.name.clone()),
    })
}

/// The Understand stage: every time expression of the subject and the client's message, with
/// its role, read against the Date header in the sender's zone (design §1). The earliest strong
/// demand among them is the deadline.
fn understand(
    msg: &Inbound,
    config: &Config,
    client: Option<&Client>,
    moment: Moment,
) -> Vec<Finding> {
    let written = msg.date.unwrap_or_else(|| {
        moment
            .arrival
            .with_timezone(&Zone::Named(config.schedule.tz).offset_at(moment.arrival))
    });
    // The client's own zone when their Date agrees with it (its DST rules then read "mañana a
    // las 9" right across a change), else the freelancer's when it agrees, else the offset.
    let zone = match client
        .and_then(|c| c.timezone)
        .map(|tz| Zone::of_sender(written, tz))
    {
        Some(named @ Zone::Named(_)) => named,
        _ => Zone::of_sender(written, config.schedule.tz),
    };
    extract::explain_mail(&msg.subject, &msg.own_text, written, zone)
}
