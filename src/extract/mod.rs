//! Deadline understanding: the earliest instant by which a client's words ask for something done.
//!
//! The conventions are those of `deadlines-dev.md`: immediate words mean "now", days without a
//! time mean 18:00, "antes del viernes" means Thursday 18:00, and so on. This module is the
//! interface the policy uses. The work is a pipeline of small steps:
//!
//! 1. [`quote`]: keep only the sender's own lines (no `>` quotes, no history, no forwards);
//! 2. [`token`]: split into words, numbers and punctuation; lowercase, drop accents;
//! 3. [`grammar`] with a language's lexicon ([`es`], [`en`]): tokens → typed pieces (a day, a
//!    clock time, a duration, "antes de", an event word…);
//! 4. [`compose`]: pieces → expressions ([`expr::Reading`]), and per clause whether each one is
//!    a demand, an event, cancelled or in the past;
//! 5. [`resolve`]: expression → instant, on the local calendar of the sender's zone.
//!
//! Only step 3's lexicons know a language. A new language is a new lexicon file listed in
//! [`GRAMMARS`]; the resolver and the clause rules stay as they are.
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
//! - a text whose language is unclear is read by every grammar; the one that recognises more of
//!   it wins.

pub mod compose;
pub mod en;
pub mod es;
pub mod expr;
pub mod grammar;
pub mod quote;
pub mod resolve;
pub mod token;

use std::ops::Range;

use chrono::{DateTime, FixedOffset};

use self::compose::Status;
use self::expr::Reading;
use self::grammar::{Grammar, Reader};
use self::token::Tokens;
use crate::lang::{self, Lang};
use crate::zone::Zone;

/// Every grammar the extractor knows, one per language.
pub static GRAMMARS: [&Grammar; 2] = [&es::GRAMMAR, &en::GRAMMAR];

/// A deadline a client demanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The instant by which the work is asked for.
    pub at: DateTime<FixedOffset>,
    /// The words of the text the deadline was read from, as written.
    pub phrase: String,
    /// The language of the grammar that read it.
    pub lang: Lang,
}

/// One time expression found in a text: its words, how it was read, whether it counts, and
/// the instant it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Byte span of the words in the text.
    pub span: Range<usize>,
    /// The words, as written.
    pub phrase: String,
    /// What they mean (none for an explicit "no deadline").
    pub reading: Option<Reading>,
    /// Whether they set a deadline, and if not, why.
    pub status: Status,
    /// The instant they name, when they name one.
    pub at: Option<DateTime<FixedOffset>>,
    /// The language of the grammar that read them.
    pub lang: Lang,
}

/// The earliest deadline demanded in `text`, read against the reference instant `now` (the Date
/// header) with calendar words in `zone`, or `None` when the text demands no time limit.
///
/// Quoted lines, replied-to and forwarded history in `text` are ignored.
pub fn find(text: &str, now: DateTime<FixedOffset>, zone: Zone) -> Option<Deadline> {
    read(text, now, zone)
        .into_iter()
        .filter(|(f, _, _)| f.status.counts())
        .filter_map(|(f, at, lang)| Some((at?, f.span, lang)))
        .min_by_key(|(at, _, _)| *at)
        .map(|(at, span, lang)| Deadline {
            at,
            phrase: phrase_of(text.get(span).unwrap_or("")),
            lang,
        })
}

/// The earliest deadline demanded in a mail's subject or in the client's own text.
pub fn find_in_mail(
    subject: &str,
    body: &str,
    now: DateTime<FixedOffset>,
    zone: Zone,
) -> Option<Deadline> {
    [find(subject, now, zone), find(body, now, zone)]
        .into_iter()
        .flatten()
        .min_by_key(|d| d.at)
}

/// Every time expression in `text` (its own lines only), in text order, with how it was read
/// and whether it counts: what `plazo extract` shows people.
///
/// The grammar is chosen by the language of the text: the one its function words clearly
/// favour, or else the one that recognises more of it.
pub fn explain(text: &str, now: DateTime<FixedOffset>, zone: Zone) -> Vec<Finding> {
    read(text, now, zone)
        .into_iter()
        .map(|(f, at, lang)| Finding {
            phrase: phrase_of(text.get(f.span.clone()).unwrap_or("")),
            span: f.span,
            reading: f.reading,
            status: f.status,
            at,
            lang,
        })
        .collect()
}

/// Every expression in the sender's own text of `text`, resolved, with its grammar's language.
fn read(
    text: &str,
    now: DateTime<FixedOffset>,
    zone: Zone,
) -> Vec<(compose::Found, Option<DateTime<FixedOffset>>, Lang)> {
    let cut = quote::cut_point(text);
    let tokens = Tokens::of_own_text_until(text, cut);
    if tokens.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (g, pieces) in read_with_best_grammar(&tokens, text) {
        for f in compose::compose(&pieces) {
            let at = f
                .reading
                .as_ref()
                .and_then(|r| resolve::resolve(r, now, zone));
            out.push((f, at, g.lang));
        }
    }
    out
}

/// The evidence for each language in the sender's own words, as [`lang::scores`] counts it
/// (function words, and two points for each word with "ñ" and for "¿" or "¡"), from the tokens
/// already made rather than from the text again.
fn language_points(tokens: &Tokens, text: &str) -> (u32, u32) {
    let (mut es, mut en) = (0u32, 0u32);
    let mut marks = false;
    let mut words = 0;
    for (i, t) in tokens.list.iter().enumerate() {
        match t.kind {
            token::Kind::Word if words < MAX_LANGUAGE_WORDS => {
                words += 1;
                let (e, n) = lang::word_points(tokens.word(i));
                es += e;
                en += n;
                let raw = text.get(t.span.clone()).unwrap_or("");
                if !raw.is_ascii() && raw.contains(['ñ', 'Ñ']) {
                    es += 2;
                }
            }
            token::Kind::Punct('¿' | '¡') => marks = true,
            _ => {}
        }
    }
    if marks {
        es += 2;
    }
    (es, en)
}

/// How many words [`language_points`] looks at, as [`lang::scores`] does.
const MAX_LANGUAGE_WORDS: usize = 2000;

/// How far ahead one language's function-word count must be to settle the language alone.
const CLEAR_LEAD: u32 = 2;

/// Reads `tokens` with the grammar of the text's language and composes the result.
///
/// When the function words of the sender's own text (`tokens` of `text`) clearly favour one language, only its
/// grammar reads. Otherwise (short texts such as "no later than Monday") every grammar reads and
/// the one that recognises more of the text wins, its function-word points included; on a tie
/// every grammar's reading is kept and the earliest demand decides.
fn read_with_best_grammar(
    tokens: &Tokens,
    text: &str,
) -> Vec<(&'static Grammar, Vec<grammar::Spanned>)> {
    let (es, en) = language_points(tokens, text);
    let points = |l: Lang| match l {
        Lang::Es => es,
        Lang::En => en,
    };
    let clear = GRAMMARS.iter().find(|g| {
        GRAMMARS
            .iter()
            .all(|o| o.lang == g.lang || points(g.lang) >= points(o.lang) + CLEAR_LEAD)
    });
    if let Some(g) = clear {
        let mut pieces = Vec::with_capacity(tokens.len());
        Reader::read(tokens, g, &mut pieces);
        return vec![(*g, pieces)];
    }
    let mut scored = Vec::with_capacity(GRAMMARS.len());
    for g in GRAMMARS {
        let mut pieces = Vec::with_capacity(tokens.len());
        Reader::read(tokens, g, &mut pieces);
        let known = pieces
            .iter()
            .filter(|(p, _)| !matches!(p, grammar::Piece::Gap | grammar::Piece::Break { .. }))
            .count();
        let score = u32::try_from(known)
            .unwrap_or(u32::MAX)
            .saturating_add(points(g.lang));
        scored.push((score, g, pieces));
    }
    let best = scored.iter().map(|(s, _, _)| *s).max().unwrap_or(0);
    scored
        .into_iter()
        .filter(|(s, _, _)| *s == best)
        .map(|(_, g, p)| (g, p))
        .collect()
}

/// The words of a phrase as one line (a phrase may span a wrapped line end).
fn phrase_of(words: &str) -> String {
    words.split_whitespace().collect::<Vec<_>>().join(" ")
}
