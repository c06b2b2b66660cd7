//! Deadline understanding: the earliest instant by which a client's words ask for something done.
//!
//! The conventions are those of `deadlines-dev.md`: immediate words mean "now", days without a
//! time mean 18:00, "antes del viernes" means Thursday 18:00, and so on. This module is the
//! interface the policy uses. The work is a pipeline of small steps:
//!
//! 1. [`segment`](crate::segment): keep only the client's message (no greeting, signature,
//!    disclaimer, footer, quoted or forwarded history);
//! 2. [`token`]: split into words, numbers and punctuation; lowercase, drop accents;
//! 3. [`grammar`] with a language pack: tokens → typed pieces (a day, a clock time, a
//!    duration, "antes de", a verb form read by [`morph`], a clause word…);
//! 4. [`compose`]: pieces → time expressions with their bounds;
//! 5. [`role`]: each expression's role in its clause (request, event, plan, schedule, past…)
//!    and how sure that is; only strong requests count;
//! 6. [`resolve`]: expression → instant, on the local calendar of the sender's zone.
//!
//! Only step 3 knows a language, through its pack; the other steps stay as they are for a new
//! language.
//!
//! Where the conventions are silent, the extractor chooses:
//!
//! - an hour with minutes but no am/pm or part of the day follows the bare-hour rule too:
//!   "a las 5:30" is 17:30, "at 9:15" is 09:15;
//! - a part of the day without a day ("por la mañana", "this afternoon") is its next end at or
//!   after now, so "esta tarde" said at 19:00 is tomorrow 18:00;
//! - a date with an explicit year that has already passed names no deadline;
//! - "10 días antes", "3 days ago", "24 horas al día", ranges ("3-5 days", "de lunes a
//!   viernes") and lead times ("shipping takes 48 hours") are not deadlines;
//! - polite hedges keep a request ("si puedes, para el viernes"); a real condition does not
//!   ("si la junta aprueba, lo necesitaríamos para marzo");
//! - a text whose language is unclear is read by every pack; the one that recognises more of
//!   it wins.

pub mod compose;
pub mod expr;
pub mod grammar;
pub mod morph;
pub mod resolve;
pub mod role;
pub mod token;

use std::ops::Range;

use chrono::{DateTime, FixedOffset};

use self::compose::What;
use self::expr::Reading;
use self::grammar::{Reader, Spanned};
use self::role::{Context, Judged, Role, Strength};
use self::token::Tokens;
use crate::lang::{self, Evidence, Lang, PACKS, Pack};
use crate::segment::Segments;
use crate::zone::Zone;

/// A deadline a client demanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The instant by which the work is asked for.
    pub at: DateTime<FixedOffset>,
    /// The words of the text the deadline was read from, as written.
    pub phrase: String,
    /// The language of the pack that read it.
    pub lang: Lang,
    /// Its role: a request, an immediate word, or the time of an event a request points at.
    pub role: Role,
}

/// Where a finding was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The subject line.
    Subject,
    /// The client's message.
    Message,
}

impl Source {
    /// The name shown to people and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Source::Subject => "subject",
            Source::Message => "message",
        }
    }
}

/// One time expression found in a text: its words, how it was read, its role, and the instant
/// it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where it was read.
    pub source: Source,
    /// Byte span of the words in the text it was read from.
    pub span: Range<usize>,
    /// The words, as written.
    pub phrase: String,
    /// What they mean (none for an explicit "no deadline").
    pub reading: Option<Reading>,
    /// Its role.
    pub role: Role,
    /// How sure the reading is.
    pub strength: Strength,
    /// Why it got that role.
    pub why: &'static str,
    /// The instant it names, when it names one.
    pub at: Option<DateTime<FixedOffset>>,
    /// The language of the pack that read it.
    pub lang: Lang,
}

impl Finding {
    /// Whether it sets a deadline.
    pub fn counts(&self) -> bool {
        self.role.is_demand() && self.strength == Strength::Strong && self.at.is_some()
    }
}

/// The earliest deadline demanded in `text`, read against the reference instant `now` (the Date
/// header) with calendar words in `zone`, or `None` when the text demands no time limit.
///
/// The text is segmented first: only the client's message counts (see [`crate::segment`]).
pub fn find(text: &str, now: DateTime<FixedOffset>, zone: Zone) -> Option<Deadline> {
    earliest(&explain(text, now, zone))
}

/// The earliest deadline demanded in a mail's subject or in the client's message (already
/// segmented: see [`crate::mail::Inbound::own_text`]).
pub fn find_in_mail(
    subject: &str,
    message: &str,
    now: DateTime<FixedOffset>,
    zone: Zone,
) -> Option<Deadline> {
    earliest(&explain_mail(subject, message, now, zone))
}

/// The earliest finding that counts, as a deadline.
pub fn earliest(findings: &[Finding]) -> Option<Deadline> {
    findings
        .iter()
        .filter(|f| f.counts())
        .filter_map(|f| Some((f.at?, f)))
        .min_by_key(|(at, _)| *at)
        .map(|(at, f)| Deadline {
            at,
            phrase: f.phrase.clone(),
            lang: f.lang,
            role: f.role,
        })
}

/// Every time expression in the client's message of `text` (segmented first), in text order,
/// with its role: what `plazo extract` shows people.
pub fn explain(text: &str, now: DateTime<FixedOffset>, zone: Zone) -> Vec<Finding> {
    let segments = Segments::of(text);
    let tokens = Tokens::of_lines(segments.message_lines(text));
    let evidence = evidence_of(&tokens);
    read(text, &tokens, evidence, Source::Message, now, zone)
}

/// Every time expression of a mail's subject and message (already segmented).
pub fn explain_mail(
    subject: &str,
    message: &str,
    now: DateTime<FixedOffset>,
    zone: Zone,
) -> Vec<Finding> {
    let subject = clean_subject(subject);
    let (subject_tokens, message_tokens) = (Tokens::of(subject), Tokens::of(message));
    let (in_subject, in_message) = (evidence_of(&subject_tokens), evidence_of(&message_tokens));
    // A subject is in the language of its mail: when one part alone does not settle the
    // language, both together may.
    let both = in_subject.plus(in_message);
    let settled = |own: Evidence| if clear_pack(own).is_some() { own } else { both };
    let mut out = read(
        subject,
        &subject_tokens,
        settled(in_subject),
        Source::Subject,
        now,
        zone,
    );
    out.extend(read(
        message,
        &message_tokens,
        settled(in_message),
        Source::Message,
        now,
        zone,
    ));
    out
}

/// The pieces each pack reads in the message of `text`, one line each: a debugging aid for
/// `plazo extract --pieces`.
pub fn pieces(text: &str) -> Vec<String> {
    let segments = Segments::of(text);
    let tokens = Tokens::of_lines(segments.message_lines(text));
    let mut out = Vec::new();
    for (pack, pieces) in read_with_best_pack(&tokens, evidence_of(&tokens)) {
        for (p, span) in pieces {
            out.push(format!(
                "{} {:?} {:?}",
                pack.lang.code(),
                text.get(span).unwrap_or(""),
                p
            ));
        }
    }
    out
}

/// The language whose verb forms a text uses most, for texts whose function words tell nothing
/// ("Applied.", "Remove unnecessary semicolons"): `None` on a tie.
pub fn language_by_verbs(text: &str) -> Option<Lang> {
    let tokens = Tokens::of(text);
    let mut points = [0u32; 2];
    for (k, pack) in PACKS.iter().enumerate() {
        for i in 0..tokens.len() {
            let accent = tokens.get(i).is_some_and(|t| t.final_accent);
            if morph::analyse(pack, tokens.word(i), accent).is_some() {
                points[k] += 1;
            }
        }
    }
    match points[0].cmp(&points[1]) {
        std::cmp::Ordering::Greater => Some(PACKS[0].lang),
        std::cmp::Ordering::Less => Some(PACKS[1].lang),
        std::cmp::Ordering::Equal => None,
    }
}

/// A subject without its reply and forward prefixes ("Re:", "RV:", "Fwd:") and the bracketed
/// tags of lists and tools ("\[PATCH 2/3\]", "\[EDIS\]").
pub fn clean_subject(subject: &str) -> &str {
    let mut s = subject.trim();
    // A trailing tag ("… [Urgent: Statewide]") goes too.
    while s.ends_with(']')
        && let Some(open) = s.rfind('[')
    {
        s = s[..open].trim_end();
    }
    loop {
        let before = s.len();
        if s.starts_with('[')
            && let Some(end) = s.find(']')
        {
            s = s[end + 1..].trim_start();
        }
        if let Some(colon) = s.find(':')
            && colon <= 4
            && s[..colon].chars().all(char::is_alphabetic)
            && matches!(
                s[..colon].to_ascii_lowercase().as_str(),
                "re" | "fw"
                    | "fwd"
                    | "rv"
                    | "aw"
                    | "wg"
                    | "tr"
                    | "enc"
                    | "r"
                    | "sv"
                    | "vs"
                    | "antw"
            )
        {
            s = s[colon + 1..].trim_start();
        }
        if s.len() == before {
            return s;
        }
    }
}

/// Reads the tokens of `text` with the pack of its language and judges every expression.
fn read(
    text: &str,
    tokens: &Tokens,
    evidence: Evidence,
    source: Source,
    now: DateTime<FixedOffset>,
    zone: Zone,
) -> Vec<Finding> {
    if tokens.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (pack, pieces) in read_with_best_pack(tokens, evidence) {
        let exprs = compose::expressions(&pieces);
        let cx = Context {
            text,
            pieces: &pieces,
            subject: source == Source::Subject,
            pack,
        };
        for j in role::judge(&cx, exprs) {
            out.push(finding(text, source, j, now, zone, pack.lang));
        }
    }
    out.sort_by_key(|f| f.span.start);
    out
}

fn finding(
    text: &str,
    source: Source,
    j: Judged,
    now: DateTime<FixedOffset>,
    zone: Zone,
    lang: Lang,
) -> Finding {
    let at = j
        .expr
        .reading
        .as_ref()
        .and_then(|r| resolve::resolve(r, now, zone));
    let reading = match j.expr.what {
        What::NoDeadline => None,
        _ => j.expr.reading,
    };
    Finding {
        source,
        phrase: phrase_of(text.get(j.expr.span.clone()).unwrap_or("")),
        span: j.expr.span,
        reading,
        role: j.role,
        strength: j.strength,
        why: j.why,
        at,
        lang,
    }
}

/// How far ahead one language's function-word count must be to settle the language alone.
const CLEAR_LEAD: u32 = 2;

/// The function-word and letter evidence of a text's tokens.
fn evidence_of(tokens: &Tokens) -> Evidence {
    let mut evidence = Evidence::default();
    for (i, t) in tokens.list.iter().enumerate() {
        if t.kind == token::Kind::Word {
            evidence.word(tokens.word(i));
        } else if let token::Kind::Punct(c) = t.kind {
            evidence.letter(c);
        }
    }
    evidence
}

/// The pack whose language the evidence clearly favours, if any.
fn clear_pack(evidence: Evidence) -> Option<&'static Pack> {
    PACKS.iter().copied().find(|p| {
        PACKS.iter().all(|o| {
            o.lang == p.lang || evidence.points(p.lang) >= evidence.points(o.lang) + CLEAR_LEAD
        })
    })
}

/// Reads `tokens` with the pack of the text's language, as `evidence` tells it.
///
/// When the function words clearly favour one language, only its pack reads. Otherwise (short
/// texts such as "no later than Monday") every pack reads and the one that recognises more of
/// the text wins, its function-word points included; on a tie every pack's reading is kept and
/// the earliest demand decides.
fn read_with_best_pack(tokens: &Tokens, evidence: Evidence) -> Vec<(&'static Pack, Vec<Spanned>)> {
    if let Some(pack) = clear_pack(evidence) {
        let mut pieces = Vec::with_capacity(tokens.len());
        Reader::read(tokens, pack, &mut pieces);
        return vec![(pack, pieces)];
    }
    let mut scored = Vec::with_capacity(PACKS.len());
    for pack in PACKS {
        let mut pieces = Vec::with_capacity(tokens.len());
        Reader::read(tokens, pack, &mut pieces);
        let known = pieces
            .iter()
            .filter(|(p, _)| {
                !matches!(
                    p,
                    lang::vocab::Piece::Gap
                        | lang::vocab::Piece::Glue
                        | lang::vocab::Piece::Break { .. }
                )
            })
            .count();
        let score = u32::try_from(known)
            .unwrap_or(u32::MAX)
            .saturating_add(evidence.points(pack.lang));
        scored.push((score, pack, pieces));
    }
    let best = scored.iter().map(|(s, _, _)| *s).max().unwrap_or(0);
    scored
        .into_iter()
        .filter(|(s, _, _)| *s == best)
        .map(|(_, p, pieces)| (p, pieces))
        .collect()
}

/// The words of a phrase as one line (a phrase may span a wrapped line end).
fn phrase_of(words: &str) -> String {
    words.split_whitespace().collect::<Vec<_>>().join(" ")
}
