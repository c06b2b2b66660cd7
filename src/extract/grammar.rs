//! The grammar engine: turns tokens into typed pieces, driven by one language's lexicon.
//!
//! A language (see `es.rs`, `en.rs`) is data: a lexicon of phrases, each mapped to a [`Lex`]
//! meaning, a spelling table for shorthand ("q" → "que", "tmrw" → "tomorrow"), the order of
//! numeric dates, and an optional hook for the odd word that needs context. The engine walks the
//! tokens once, left to right, and at each position tries, in order:
//!
//! 1. the language's hook;
//! 2. number patterns: prices, phone and order numbers (ignored), durations ("48 horas",
//!    "3-5 days" is an estimate and ignored), dates ("15/04", "12 de septiembre", "October 10",
//!    "the 14th"), clock times ("17:30", "5pm", "a las 5 y media", "17h");
//! 3. the longest lexicon phrase starting here, whose meaning may pull in what follows
//!    (a weekday takes "que viene" or "pasado", "dentro de" takes a duration, "a las" a time).
//!
//! Each step yields one [`Piece`] with its span. Pieces are still local: whether a time is a
//! demand, an event or something cancelled is decided afterwards, per clause, in `compose.rs`.
//!
//! To add a phrase, add a line to the language's lexicon with the meaning it has; to add a
//! language, write a new lexicon file with a [`Grammar`] value and list it in `mod.rs`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::LazyLock;

use chrono::Weekday;

use super::expr::{Clock, DayRef, Meridiem, Part, Period, WeekdayMode};
use super::token::{Kind, Tokens};
use crate::lang::Lang;
use crate::zone::Zone;

/// The longest duration taken at face value, in any unit (larger numbers are not deadlines).
const MAX_DURATION: u32 = 1000;

/// What a stretch of text contributes, before clauses are considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// An immediate demand: ya, ASAP.
    Now,
    /// A bare "now" / "ahora" / "ya" closing a statement-like clause that has no demand word
    /// ("The bio should say X now."): immediate, unless the text also says there is no rush.
    BareNow,
    /// An explicit absence of deadline: sin prisa, no rush.
    NoDeadline,
    /// Elapsed time from now, in seconds.
    Elapsed(i64),
    /// Calendar (or business) days from now.
    Days {
        /// How many.
        days: u32,
        /// Monday–Friday only.
        business: bool,
    },
    /// A day.
    Day(DayRef),
    /// A clock time.
    Clock(Clock),
    /// A part of the day.
    Part(Part),
    /// A period with a fixed deadline.
    Period(Period),
    /// An explicit time zone.
    Zone(Zone),
    /// antes de, before.
    Before,
    /// para, by, hasta, due: marks what follows as the limit.
    By,
    /// A demand pointing at an event said elsewhere: "tenlo antes", "before that".
    Anaphor,
    /// A word that says what kind of clause this is.
    Cue(Cue),
    /// A joining word that may sit inside a time expression (de, the, at).
    Glue,
    /// A clause boundary: punctuation or a line end. Strong ones end a sentence.
    Break {
        /// Ends a sentence (. ! ? or a line end), not just a clause (, ; :).
        strong: bool,
    },
    /// Anything else: ends the time expression being read.
    Gap,
}

/// What a word says about its clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// The client asks for something: necesito, please, deadline.
    Demand,
    /// An event or the sender's own plans: reunión, meeting, tengo, I'm out.
    Event,
    /// The demand is withdrawn: ya no hace falta, won't need, cancelled.
    Negation,
    /// The clause is about the past: ayer, te mandé, yesterday.
    Past,
    /// The clause continues the previous one ("…, que es en media hora").
    Relative,
}

/// The words that decide whether a bare "now" ("now", "ahora", "ya") is a demand.
///
/// "now" is immediate when it qualifies the request: it closes the clause ("I need it now",
/// "¿puedes cambiarlo ahora?", "send it now, please"), or it follows the verb of a clause that
/// asks for something ("please update it now with the new photo"). As an adverb of a statement
/// it is not a demand: "should now say", "we now have", "it's live now", "ahora pone".
#[derive(Debug)]
pub struct BareNow {
    /// Words right after it that still close the request: please, thanks; porfa, gracias.
    pub closers: &'static [&'static str],
    /// Words opening a clause with its subject, which makes a clause-closing "now" only a
    /// weak demand, one that an explicit "no rush" outweighs ("The bio should say X now."):
    /// the, her, it; la, su, esto. A clause opening with its verb is a request ("Fix it now.").
    pub subjects: &'static [&'static str],
    /// Words earlier in the clause that make it a statement: is, has, says; es, hay, pone.
    pub states: &'static [&'static str],
    /// Words right before it that make it an adverb of what follows: should, we; que, y.
    pub not_after: &'static [&'static str],
    /// Words right after it that make it an adverb of what follows: we, the; lo, se, que.
    pub not_before: &'static [&'static str],
}

/// A unit of duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Minutes (elapsed).
    Minute,
    /// Hours (elapsed).
    Hour,
    /// Days (calendar).
    Day,
    /// Weeks (7 calendar days).
    Week,
}

/// What a lexicon phrase means to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lex {
    /// The phrase is a piece on its own.
    Piece(Piece),
    /// A number written as words: "dos", "forty-eight", "a".
    Num(u32),
    /// A month, 1–12 (only read next to a day number).
    Month(u32),
    /// A weekday.
    Weekday(Weekday),
    /// A unit of duration.
    Unit(Unit),
    /// Business days: hábiles, laborables, business, working.
    Business,
    /// Introduces a duration: en, dentro de, in, within.
    DurPrep,
    /// Introduces a clock time: "a las", "at" (strong), "las" (weak: needs a clear time after).
    ClockPrep {
        /// Whether a bare number after it is surely an hour.
        strong: bool,
    },
    /// am / pm.
    Meridiem(Meridiem),
    /// Hours in 24-hour style after a number: h, hs, hrs.
    HourSuffix,
    /// o'clock.
    OClock,
    /// próximo, que viene, next, this coming.
    Next,
    /// este, this.
    This,
    /// last, el pasado (before a weekday): the past.
    Last,
    /// pasado, pasada (after a weekday): the past.
    PastAfter,
    /// Makes a following or preceding duration not a deadline: hace, ago, for, durante.
    NotAhead,
    /// st, nd, rd, th.
    Ordinal,
    /// día (in "el día 10").
    DayNoun,
    /// de, of: between a day and a month.
    Of,
    /// Joins the two ends of a range of days: through, to.
    Through,
    /// y, and: joins words, and minutes to an hour ("las 5 y 10").
    And,
    /// An article that makes a lone number after it a day of the month ("para el 15").
    Article,
    /// A currency word: euros, dollars.
    Currency,
    /// A word announcing an identifier: teléfono, invoice, order, version.
    NumberNoun,
    /// Minutes added after the hour: "y media" (+30), "y cuarto" (+15), "menos cuarto" (−15).
    Suffix(i32),
    /// Minutes added before the hour: "half past" (+30), "quarter to" (−15).
    Prefix(i32),
}

/// Which number comes first in a numeric date when both could be a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// 5/3 is 5 March.
    DayMonth,
    /// 3/5 is March 5.
    MonthDay,
}

/// A language's grammar: its lexicon and the few choices the engine needs.
pub struct Grammar {
    /// The language.
    pub lang: Lang,
    /// Phrases and their meanings, built once.
    pub lexicon: &'static LazyLock<Lexicon>,
    /// Shorthand and misspellings mapped to the lexicon's words.
    pub spelling: for<'w> fn(&'w str) -> &'w str,
    /// The order of numeric dates.
    pub date_order: DateOrder,
    /// Whether "21-05" (two numbers and a dash) is a date; otherwise dashes need a year.
    pub dash_dates: bool,
    /// A rule tried before all others at each position, for words that need context.
    pub hook: fn(&Reader<'_>, usize) -> Option<(Piece, usize)>,
}

impl std::fmt::Debug for Grammar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grammar")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

/// FNV-1a: lexicon keys are short words, where SipHash's setup cost dominates.
#[derive(Default)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

struct Entry {
    rest: Vec<&'static str>,
    lex: Lex,
}

/// A lexicon indexed by first word, longest phrases first.
pub struct Lexicon {
    by_first: HashMap<&'static str, Vec<Entry>, BuildHasherDefault<Fnv>>,
}

impl Lexicon {
    /// Builds the index of `entries` ("phrase words separated by spaces", meaning).
    ///
    /// Phrase words are normalised (lowercase, no accents); a word made of one punctuation
    /// mark matches that mark ("p . m ." matches "p.m.").
    pub fn new(entries: &'static [(&'static str, Lex)]) -> Lexicon {
        let mut by_first: HashMap<&'static str, Vec<Entry>, BuildHasherDefault<Fnv>> =
            HashMap::default();
        for (phrase, lex) in entries {
            let mut words = phrase.split_whitespace();
            let Some(first) = words.next() else { continue };
            by_first.entry(first).or_default().push(Entry {
                rest: words.collect(),
                lex: *lex,
            });
        }
        for list in by_first.values_mut() {
            list.sort_by_key(|e| std::cmp::Reverse(e.rest.len()));
        }
        Lexicon { by_first }
    }
}

/// Reads one text's tokens with one grammar.
pub struct Reader<'a> {
    /// The tokens.
    pub tokens: &'a Tokens,
    /// The grammar.
    pub grammar: &'a Grammar,
    /// Each token's word after the spelling fixes ("" for numbers and punctuation).
    words: Vec<&'a str>,
    /// The longest lexicon phrase at each token, looked up once.
    phrases: Vec<Option<(Lex, usize)>>,
}

/// A piece and the byte span of the text it came from.
pub type Spanned = (Piece, Range<usize>);

impl<'a> Reader<'a> {
    /// Reads every token into pieces, appending them to `out`.
    pub fn read(tokens: &'a Tokens, grammar: &'a Grammar, out: &mut Vec<Spanned>) {
        let mut r = Reader {
            tokens,
            grammar,
            words: (0..tokens.len())
                .map(|i| (grammar.spelling)(tokens.word(i)))
                .collect(),
            phrases: Vec::new(),
        };
        r.phrases = (0..tokens.len()).map(|i| r.lookup(i)).collect();
        let mut i = 0;
        let mut prev = Piece::Gap;
        while i < tokens.len() {
            let (piece, end) = r.piece_at(i, prev);
            let end = end.max(i + 1).min(tokens.len());
            let start_byte = tokens.get(i).map_or(0, |t| t.span.start);
            let end_byte = tokens
                .get(end - 1)
                .map_or(start_byte, |t| t.span.end.max(start_byte));
            match (out.last_mut(), piece) {
                (Some((Piece::Gap, span)), Piece::Gap) => span.end = end_byte,
                _ => out.push((piece, start_byte..end_byte)),
            }
            if piece != Piece::Glue {
                prev = piece;
            }
            i = end;
        }
    }

    /// The word at `i` after the language's spelling fixes ("" when not a word).
    pub fn word(&self, i: usize) -> &'a str {
        self.words.get(i).copied().unwrap_or("")
    }

    /// The longest lexicon phrase starting at `i`: its meaning and the index after it.
    pub fn lex(&self, i: usize) -> Option<(Lex, usize)> {
        self.phrases.get(i).copied().flatten()
    }

    fn lookup(&self, i: usize) -> Option<(Lex, usize)> {
        let first = self.word(i);
        if first.is_empty() {
            return None;
        }
        let entries = self.grammar.lexicon.by_first.get(first)?;
        'entries: for e in entries {
            let mut j = i + 1;
            for part in &e.rest {
                // Hyphenated compounds ("end-of-day", "year-end") read as separate words.
                if self.tokens.punct(j) == Some('-') && self.tokens.glued(j) && part.len() > 1 {
                    j += 1;
                }
                let ok = match self.tokens.get(j).map(|t| t.kind) {
                    Some(Kind::Word) => self.word(j) == *part,
                    Some(Kind::Punct(c)) => {
                        let mut buf = [0u8; 4];
                        *part == &*c.encode_utf8(&mut buf)
                    }
                    _ => false,
                };
                if !ok {
                    continue 'entries;
                }
                j += 1;
            }
            return Some((e.lex, j));
        }
        None
    }

    /// The number at `i`, written in digits or words: value, index after, whether digits.
    pub fn num(&self, i: usize) -> Option<(u32, usize, bool)> {
        if let Some(v) = self.tokens.number(i) {
            return Some((v, i + 1, true));
        }
        match self.lex(i) {
            Some((Lex::Num(v), e)) => Some((v, e, false)),
            _ => None,
        }
    }

    fn lex_is(&self, i: usize, f: impl Fn(Lex) -> bool) -> Option<usize> {
        self.lex(i).filter(|(l, _)| f(*l)).map(|(_, e)| e)
    }

    /// A bare immediate word at `i` (one token), read with the language's `words`: a demand
    /// ([`Piece::Now`]), a weak demand that "no rush" outweighs ([`Piece::BareNow`]) or an
    /// adverb ([`Piece::Gap`]). `mid_clause`: whether it may count before the end of its clause
    /// ("now", "ahora"; not "ya", which there means "already").
    pub fn bare_now(&self, i: usize, words: &BareNow, mid_clause: bool) -> (Piece, usize) {
        let (start, end) = self.clause_around(i);
        let asked = self.asked(start, end);
        let closes = i + 1 >= end || words.closers.contains(&self.word(i + 1));
        let piece = if closes {
            if asked {
                Piece::Now
            } else if (start..i).any(|k| {
                // "we have to publish it now", "hay que cambiarlo ahora": an obligation.
                words.states.contains(&self.word(k)) && !matches!(self.word(k + 1), "to" | "que")
            }) {
                Piece::Gap
            } else if i > start && words.subjects.contains(&self.word(start)) {
                Piece::BareNow
            } else {
                Piece::Now
            }
        } else {
            let after_ok = i > start && !words.not_after.contains(&self.word(i.saturating_sub(1)));
            let before_ok = !words.not_before.contains(&self.word(i + 1));
            // Before the end of the clause it must follow the request ("need now the
            // report"), not come before its verb ("la bio ahora debe decir…").
            if mid_clause && self.asked(start, i) && after_ok && before_ok {
                Piece::Now
            } else {
                Piece::Gap
            }
        };
        (piece, i + 1)
    }

    /// An intensified immediate phrase ("right now", "ahora mismo") from `i` to `e`: a demand
    /// unless its clause is a statement with no demand word ("I'm swamped right now").
    pub fn intense_now(&self, i: usize, e: usize, words: &BareNow) -> (Piece, usize) {
        let (start, end) = self.clause_around(i);
        let end = end.max(e);
        let statement = (start..end).any(|k| {
            (k < i || k >= e)
                && words.states.contains(&self.word(k))
                && !matches!(self.word(k + 1), "to" | "que")
        });
        if statement && !self.asked(start, end) {
            (Piece::Gap, e)
        } else {
            (Piece::Now, e)
        }
    }

    /// The clause around token `i`: the index of its first token and the index of the break
    /// that ends it (or the end of the text).
    fn clause_around(&self, i: usize) -> (usize, usize) {
        let is_break = |k: usize| {
            self.tokens
                .punct(k)
                .is_some_and(|c| matches!(punct_piece(c), Piece::Break { .. }))
        };
        let start = (0..i).rev().find(|&k| is_break(k)).map_or(0, |k| k + 1);
        let end = (i + 1..self.tokens.len())
            .find(|&k| is_break(k))
            .unwrap_or(self.tokens.len());
        (start, end)
    }

    /// Whether the clause from `start` to the break at `end` has a demand word, counting a
    /// "please" / "por favor" tacked on after a comma ("Sube ahora la foto, por favor.").
    fn asked(&self, start: usize, end: usize) -> bool {
        let demand = |k: usize| match self.lex(k) {
            Some((Lex::Piece(Piece::Cue(Cue::Demand)), e)) => Some(e),
            _ => None,
        };
        (start..end).any(|k| demand(k).is_some())
            || self.tokens.punct(end) == Some(',')
                && demand(end + 1).is_some_and(|e| {
                    self.tokens
                        .get(e)
                        .is_none_or(|t| matches!(t.kind, Kind::Punct(_)))
                })
    }

    /// The lexicon meaning of the token before `i` (one word, no lookahead).
    fn lex_before(&self, i: usize) -> Option<Lex> {
        let p = i.checked_sub(1)?;
        // Try two-word phrases ending right before `i` first ("desde hace"), then one word.
        for start in [p.checked_sub(1), Some(p)].into_iter().flatten() {
            if let Some((l, e)) = self.lex(start)
                && e == i
            {
                return Some(l);
            }
        }
        None
    }

    fn piece_at(&self, i: usize, prev: Piece) -> (Piece, usize) {
        if let Some(m) = (self.grammar.hook)(self, i) {
            return m;
        }
        let Some(tok) = self.tokens.get(i) else {
            return (Piece::Gap, i + 1);
        };
        match tok.kind {
            Kind::Punct(c) => (punct_piece(c), i + 1),
            Kind::Number => self
                .number(i, tok.value, i + 1, true, prev)
                .unwrap_or_else(|| (Piece::Gap, self.skip_number(i))),
            Kind::Word => match self.lex(i) {
                None => (Piece::Gap, i + 1),
                Some((lex, e)) => self.word_piece(i, lex, e, prev),
            },
        }
    }

    fn word_piece(&self, i: usize, lex: Lex, e: usize, prev: Piece) -> (Piece, usize) {
        let found = match lex {
            Lex::Piece(p) => Some((p, e)),
            Lex::Num(v) => self.number(i, v, e, false, prev),
            Lex::DurPrep => self.duration(e, true),
            Lex::ClockPrep { strong } => self.clock_after_prep(e, strong || after_limit(prev)),
            Lex::Weekday(w) => Some(self.weekday(w, WeekdayMode::Next, e)),
            Lex::Next => match self.lex(e) {
                Some((Lex::Weekday(w), e2)) => Some(self.weekday(w, WeekdayMode::Next, e2)),
                _ => None,
            },
            Lex::This => match self.lex(e) {
                Some((Lex::Weekday(w), e2)) => Some(self.weekday(w, WeekdayMode::This, e2)),
                _ => None,
            },
            Lex::Last => match self.lex(e) {
                Some((Lex::Weekday(_) | Lex::Month(_) | Lex::Unit(_), e2)) => {
                    Some((Piece::Gap, e2))
                }
                _ => None,
            },
            Lex::Month(m) => self.month_first(m, e),
            Lex::DayNoun => self.num(e).and_then(|(v, e2, digits)| {
                (digits && (1..=31).contains(&v)).then_some((
                    Piece::Day(DayRef::Date {
                        day: v,
                        month: None,
                        year: None,
                    }),
                    e2,
                ))
            }),
            Lex::Prefix(offset) => self.clock_prefixed(e, offset),
            Lex::Of => Some((Piece::Glue, e)),
            Lex::Article => match self.tokens.number(e) {
                Some(v) => match self.number(e, v, e + 1, true, Piece::Gap) {
                    Some(m) => Some(m),
                    None if (1..=31).contains(&v) => Some((
                        Piece::Day(DayRef::Date {
                            day: v,
                            month: None,
                            year: None,
                        }),
                        e + 1,
                    )),
                    None => None,
                },
                None => Some((Piece::Glue, e)),
            },
            _ => None,
        };
        found.unwrap_or(match lex {
            Lex::DurPrep | Lex::ClockPrep { .. } | Lex::Article | Lex::And => (Piece::Glue, e),
            _ => (Piece::Gap, e),
        })
    }

    /// After a number that is not a time expression: skip its decimal or grouped parts too.
    fn skip_number(&self, i: usize) -> usize {
        let mut j = i + 1;
        while matches!(self.tokens.punct(j), Some('.' | ',' | ':' | '/' | '-'))
            && self.tokens.glued(j)
            && self.tokens.number(j + 1).is_some()
            && self.tokens.glued(j + 1)
        {
            j += 2;
        }
        j
    }

    /// Number rules at `i` (value `v`, the number ending before `e`).
    fn number(
        &self,
        i: usize,
        v: u32,
        e: usize,
        digits: bool,
        prev: Piece,
    ) -> Option<(Piece, usize)> {
        if digits {
            if let Some(end) = self.identifier_or_price(i) {
                return Some((Piece::Gap, end));
            }
            if let Some(m) = self.numeric_date(i) {
                return Some(m);
            }
            if let Some(end) = self.number_run(i) {
                return Some((Piece::Gap, end));
            }
            let end = self.skip_number(i);
            if end > i + 3 {
                // 1.2.3, 10/20/30/40: not a date, not a time.
                return Some((Piece::Gap, end));
            }
        }
        if let Some(m) = self.duration(i, false) {
            return Some(m);
        }
        if let Some(m) = self.date_with_month(i, v, e, digits) {
            return Some(m);
        }
        let m = self.clock(v, e, after_limit(prev))?;
        // "by 5 people" is not a time: a lone hour needs a clear end after it.
        let lone = matches!(m.0, Piece::Clock(c) if c.meridiem == Meridiem::Bare && c.minute == 0);
        (!lone || self.ends_time(m.1)).then_some(m)
    }

    /// A price, phone, order or version number at `i`: the index after it.
    fn identifier_or_price(&self, i: usize) -> Option<usize> {
        let end = self.skip_number(i);
        let sym_before = i
            .checked_sub(1)
            .and_then(|p| self.tokens.punct(p))
            .is_some_and(|c| matches!(c, '$' | '€' | '£' | '¥' | '#' | '+' | '№'));
        let sym_after = self
            .tokens
            .punct(end)
            .is_some_and(|c| matches!(c, '€' | '$' | '£' | '%' | '¥'))
            || matches!(self.lex(end), Some((Lex::Currency, _)));
        let noun_before = (1..=3).any(|k| {
            i.checked_sub(k)
                .is_some_and(|p| matches!(self.lex(p), Some((Lex::NumberNoun | Lex::Currency, _))))
        });
        let long = self.tokens.get(i).is_some_and(|t| t.digits >= 5);
        (sym_before || sym_after || noun_before || long).then_some(end)
    }

    /// Three or more numbers separated by spaces or dashes (a phone number): the index after.
    fn number_run(&self, i: usize) -> Option<usize> {
        let mut j = i + 1;
        let mut count = 1;
        loop {
            if self.tokens.number(j).is_some() {
                j += 1;
            } else if matches!(self.tokens.punct(j), Some('-' | '.'))
                && self.tokens.number(j + 1).is_some()
            {
                j += 2;
            } else {
                break;
            }
            count += 1;
        }
        (count >= 3).then_some(j)
    }

    /// Numeric dates: 15/04, 15/04/2025, 21-05, 2024-08-19, 15.04.2025.
    fn numeric_date(&self, i: usize) -> Option<(Piece, usize)> {
        let t = self.tokens;
        let sep = t.punct(i + 1).filter(|c| matches!(c, '/' | '-' | '.'))?;
        let glued = |k: usize| t.glued(k);
        if !(glued(i + 1) && glued(i + 2)) {
            return None;
        }
        let a = t.number(i)?;
        let b = t.number(i + 2)?;
        let third = (t.punct(i + 3) == Some(sep)
            && glued(i + 3)
            && glued(i + 4)
            && t.get(i + 4).is_some_and(|x| x.digits == 2 || x.digits == 4))
        .then(|| t.number(i + 4))
        .flatten();
        let a_digits = t.get(i).map_or(0, |x| x.digits);
        let (day, month, year, end) = if a_digits == 4 {
            // ISO 8601: year-month-day.
            (third?, b, Some(a), i + 5)
        } else if let Some(y) = third {
            let (d, m) = self.order(a, b);
            let year = if y < 100 { 2000 + y } else { y };
            (d, m, Some(year), i + 5)
        } else {
            if sep == '.' {
                return None;
            }
            // "3-5 days" is a range, read by the duration rule; "9-5" is not an English date.
            if sep == '-'
                && (!self.grammar.dash_dates
                    || matches!(self.lex(i + 3), Some((Lex::Unit(_) | Lex::Business, _))))
            {
                return None;
            }
            let (d, m) = self.order(a, b);
            (d, m, None, i + 3)
        };
        // "24/7" means always.
        let always = a == 24 && b == 7 && third.is_none();
        let valid = !always && (1..=12).contains(&month) && (1..=31).contains(&day);
        let year = year
            .and_then(|y| i32::try_from(y).ok())
            .filter(|y| (1..10000).contains(y));
        if !valid || (a_digits == 4 || third.is_some()) && year.is_none() {
            return Some((Piece::Gap, end));
        }
        Some((
            Piece::Day(DayRef::Date {
                day,
                month: Some(month),
                year,
            }),
            end,
        ))
    }

    /// (day, month) of a numeric date's first two numbers.
    fn order(&self, a: u32, b: u32) -> (u32, u32) {
        if a > 12 {
            return (a, b);
        }
        match self.grammar.date_order {
            DateOrder::DayMonth => (a, b),
            DateOrder::MonthDay => (b, a),
        }
    }

    /// Durations: "48 horas", "dos días hábiles", "an hour and a half"; `i` is the number
    /// (or, after a preposition, a bare unit: "in the next hour").
    fn duration(&self, i: usize, after_prep: bool) -> Option<(Piece, usize)> {
        let (n, mut j, bare_unit, digits) = match self.num(i) {
            Some((v, e, digits)) => (v, e, false, digits),
            None if after_prep => (1, i, true, false),
            None => return None,
        };
        // "1.5 horas", "2,5 hours": a decimal fraction, in tenths.
        let mut tenths = 0;
        if digits
            && matches!(self.tokens.punct(j), Some('.' | ','))
            && self.tokens.glued(j)
            && self.tokens.glued(j + 1)
            && self.tokens.get(j + 1).is_some_and(|t| t.digits == 1)
            && let Some(f) = self.tokens.number(j + 1)
        {
            tenths = f;
            j += 2;
        }
        let mut range = false;
        if !bare_unit && self.tokens.punct(j) == Some('-') && self.tokens.number(j + 1).is_some() {
            range = true;
            j += 2;
        }
        let mut business = false;
        if let Some(e) = self.lex_is(j, |l| l == Lex::Business) {
            business = true;
            j = e;
        }
        let (unit, mut j) = match self.lex(j) {
            Some((Lex::Unit(u), e)) => (u, e),
            Some((Lex::DayNoun, e)) => (Unit::Day, e),
            Some((Lex::HourSuffix, e)) if after_prep && !bare_unit => (Unit::Hour, e),
            _ => return None,
        };
        if let Some(e) = self.lex_is(j, |l| l == Lex::Business) {
            business = true;
            j = e;
        }
        let mut half = false;
        if let Some(e) = self.lex_is(j, |l| l == Lex::Suffix(30)) {
            half = true;
            j = e;
        }
        // "10 días antes" counts back from an event, "3 days ago" is the past.
        if let Some((Lex::Piece(Piece::Anaphor | Piece::Before), e)) = self.lex(j) {
            return Some((Piece::Gap, e));
        }
        // "for two weeks" is how long something lasts, not a deadline.
        let lasting = !after_prep && matches!(self.lex_before(i), Some(Lex::Piece(Piece::By)));
        let not_ahead = lasting
            || matches!(self.lex_before(i), Some(Lex::NotAhead | Lex::Last))
            || matches!(self.lex(j), Some((Lex::NotAhead, _)));
        // "got a minute?" is not a deadline; "in a minute", "una semana" are.
        let idle_moment =
            !after_prep && !digits && n == 1 && matches!(unit, Unit::Minute | Unit::Hour);
        if range
            || not_ahead
            || idle_moment
            || n > MAX_DURATION
            || (bare_unit && unit != Unit::Hour)
        {
            return Some((Piece::Gap, j));
        }
        let n64 = i64::from(n);
        let fraction = i64::from(tenths) + if half { 5 } else { 0 };
        let piece = match unit {
            Unit::Minute => Piece::Elapsed(n64 * 60 + fraction * 6),
            Unit::Hour => Piece::Elapsed(n64 * 3600 + fraction * 360),
            Unit::Day if fraction == 0 => Piece::Days { days: n, business },
            Unit::Week if fraction == 0 => Piece::Days {
                days: n * 7,
                business: false,
            },
            _ => Piece::Gap,
        };
        Some((piece, j))
    }

    /// Dates with a month word, day first: "12 de septiembre (de 2025)", "5 January", "the 10th".
    fn date_with_month(&self, i: usize, v: u32, e: usize, digits: bool) -> Option<(Piece, usize)> {
        if !digits
            || !(1..=31).contains(&v)
            || self.tokens.glued(i + 1) && self.tokens.punct(i + 1) == Some(':')
        {
            return None;
        }
        let mut j = e;
        let mut ordinal = false;
        if let Some(e2) = self.ordinal(j) {
            ordinal = true;
            j = e2;
        }
        if let Some(e2) = self.lex_is(j, |l| l == Lex::Of)
            && matches!(self.lex(e2), Some((Lex::Month(_), _)))
        {
            j = e2;
        }
        if let Some((Lex::Month(m), e2)) = self.lex(j) {
            let (year, end) = self.year_after(e2);
            return Some((
                Piece::Day(DayRef::Date {
                    day: v,
                    month: Some(m),
                    year,
                }),
                end,
            ));
        }
        ordinal.then_some((
            Piece::Day(DayRef::Date {
                day: v,
                month: None,
                year: None,
            }),
            j,
        ))
    }

    /// An ordinal suffix at `j` ("th", "º"): the index after it.
    fn ordinal(&self, j: usize) -> Option<usize> {
        if matches!(self.tokens.punct(j), Some('º' | '°' | 'ª')) {
            return Some(j + 1);
        }
        if self.tokens.glued(j) {
            return self.lex_is(j, |l| l == Lex::Ordinal);
        }
        None
    }

    /// An optional year after a month: ", 2025", "de 2025", "2025".
    fn year_after(&self, j: usize) -> (Option<i32>, usize) {
        let mut k = j;
        if self.tokens.punct(k) == Some(',') {
            k += 1;
        }
        if let Some(e) = self.lex_is(k, |l| l == Lex::Of) {
            k = e;
        }
        match self.tokens.get(k) {
            Some(t) if t.kind == Kind::Number && t.digits == 4 => {
                (i32::try_from(t.value).ok(), k + 1)
            }
            _ => (None, j),
        }
    }

    /// Dates with the month first: "October 10", "Jan 5th, 2026", "mayo 5".
    fn month_first(&self, m: u32, e: usize) -> Option<(Piece, usize)> {
        let mut j = e;
        if let Some(e2) = self.lex_is(j, |l| matches!(l, Lex::Piece(Piece::Glue))) {
            j = e2; // "October the 10th"
        }
        let t = self.tokens.get(j)?;
        if t.kind != Kind::Number || t.digits > 2 || !(1..=31).contains(&t.value) {
            return None;
        }
        let day = t.value;
        if self.tokens.punct(j + 1) == Some(':') {
            return None;
        }
        let mut k = j + 1;
        if let Some(e2) = self.ordinal(k) {
            k = e2;
        }
        let (year, end) = self.year_after(k);
        Some((
            Piece::Day(DayRef::Date {
                day,
                month: Some(m),
                year,
            }),
            end,
        ))
    }

    /// A weekday (its word ends before `e`) with what may follow it: "que viene", "pasado", a
    /// day number ("el lunes 23", "Friday the 12th").
    fn weekday(&self, w: Weekday, mode: WeekdayMode, e: usize) -> (Piece, usize) {
        let mut mode = mode;
        let mut j = e;
        // "de lunes a viernes", "Monday through Friday": a range of days, not a deadline.
        let joiner = if self.tokens.punct(j) == Some('-') {
            Some(j + 1)
        } else {
            self.lex_is(j, |l| {
                matches!(l, Lex::Through | Lex::Piece(Piece::Glue | Piece::By))
            })
        };
        if let Some((Lex::Weekday(_), e2)) = joiner.and_then(|k| self.lex(k)) {
            return (Piece::Gap, e2);
        }
        match self.lex(j) {
            Some((Lex::PastAfter, e2)) => return (Piece::Gap, e2),
            Some((Lex::Next, e2)) => {
                mode = WeekdayMode::Next;
                j = e2;
            }
            _ => {}
        }
        let mut k = j;
        if self.tokens.punct(k) == Some(',') {
            k += 1;
        }
        if let Some(e2) = self.lex_is(k, |l| matches!(l, Lex::Piece(Piece::Glue) | Lex::DayNoun)) {
            k = e2;
        }
        if let Some(v) = self.tokens.number(k).filter(|v| (1..=31).contains(v)) {
            let clockish = matches!(self.tokens.punct(k + 1), Some(':' | '.' | '/' | '-'))
                && self.tokens.glued(k + 1)
                && self.tokens.glued(k + 2)
                || matches!(
                    self.lex(k + 1),
                    Some((
                        Lex::Meridiem(_) | Lex::HourSuffix | Lex::Unit(_) | Lex::Business,
                        _
                    ))
                );
            if !clockish {
                if let Some(m) = self.date_with_month(k, v, k + 1, true) {
                    return m;
                }
                return (
                    Piece::Day(DayRef::Date {
                        day: v,
                        month: None,
                        year: None,
                    }),
                    k + 1,
                );
            }
        }
        (Piece::Day(DayRef::Weekday(w, mode)), j)
    }

    /// A clock time after "a las" / "at" (`e` is the index after the preposition).
    fn clock_after_prep(&self, e: usize, strong: bool) -> Option<(Piece, usize)> {
        let (v, e2, _) = self.num(e)?;
        if let Some(m) = self.clock(v, e2, true) {
            let bare = matches!(m.0, Piece::Clock(c) if c.meridiem == Meridiem::Bare);
            // A weak preposition ("las 3 propuestas") needs a clear end after a bare hour.
            if strong || !bare || self.ends_time(m.1) {
                return Some(m);
            }
        }
        None
    }

    /// Whether what follows `j` lets a bare number be an hour: the end, punctuation, or a word
    /// the lexicon knows (not "propuestas").
    fn ends_time(&self, j: usize) -> bool {
        match self.tokens.get(j).map(|t| t.kind) {
            None | Some(Kind::Punct(_)) => true,
            Some(Kind::Number) => false,
            Some(Kind::Word) => !matches!(
                self.lex(j),
                None | Some((
                    Lex::Unit(_) | Lex::Currency | Lex::Month(_) | Lex::NumberNoun,
                    _
                ))
            ),
        }
    }

    /// Clock rules for a number `v` ending before `e`. `bare_ok`: a lone hour is accepted (it
    /// came after "a las", "at", "by", "antes de").
    fn clock(&self, v: u32, e: usize, bare_ok: bool) -> Option<(Piece, usize)> {
        // "la 2ª versión" is an ordinal, not two o'clock.
        if v > 24 || self.ordinal(e).is_some() {
            return None;
        }
        let t = self.tokens;
        let mut hour = v;
        let mut minute = 0;
        let mut j = e;
        let mut sep = None;
        if let Some(c @ (':' | '.')) = t.punct(j)
            && t.glued(j)
            && t.glued(j + 1)
            && t.get(j + 1).is_some_and(|x| x.digits == 2)
            && let Some(mm) = t.number(j + 1).filter(|m| *m < 60)
        {
            minute = mm;
            sep = Some(c);
            j += 2;
        }
        if sep.is_none() {
            match self.lex(j) {
                Some((Lex::Suffix(off), e2)) if bare_ok => {
                    let total = i64::from(hour) * 60 + i64::from(off);
                    let total = total.rem_euclid(24 * 60);
                    hour = u32::try_from(total / 60).ok()?;
                    minute = u32::try_from(total % 60).ok()?;
                    if hour == 0 && v != 0 {
                        hour = 12;
                    }
                    j = e2;
                }
                Some((Lex::And, e2)) if bare_ok => {
                    // "a las 5 y 10"
                    if let Some((mm, e3, _)) = self.num(e2).filter(|(m, _, _)| *m < 60) {
                        minute = mm;
                        j = e3;
                    }
                }
                _ => {}
            }
        }
        let mut meridiem = None;
        match self.lex(j) {
            Some((Lex::Meridiem(m), e2)) => {
                meridiem = Some(m);
                j = e2;
            }
            Some((Lex::HourSuffix, e2)) => {
                meridiem = Some(Meridiem::Full);
                j = e2;
                // "17h30"
                if sep.is_none()
                    && t.glued(j)
                    && t.get(j).is_some_and(|x| x.digits == 2)
                    && let Some(mm) = t.number(j).filter(|m| *m < 60)
                {
                    minute = mm;
                    j += 1;
                }
            }
            Some((Lex::Unit(Unit::Hour), e2)) if bare_ok => {
                meridiem = Some(Meridiem::Full);
                j = e2;
            }
            Some((Lex::OClock, e2)) => {
                meridiem = Some(Meridiem::Bare);
                j = e2;
            }
            _ => {}
        }
        let part_follows = matches!(self.lex(j), Some((Lex::Piece(Piece::Part(_)), _)))
            || matches!(self.lex(j), Some((Lex::Of, e2)) if matches!(self.lex(e2), Some((Lex::Piece(Piece::Part(_)), _))));
        let clear = meridiem.is_some() || sep == Some(':') || bare_ok || part_follows;
        if !clear {
            return None;
        }
        if sep == Some('.') && !(bare_ok || part_follows || meridiem.is_some()) {
            return None;
        }
        let meridiem = match meridiem {
            Some(Meridiem::Am | Meridiem::Pm) if hour > 12 || hour == 0 => Meridiem::Full,
            Some(m) => m,
            None if hour >= 13 || hour == 0 => Meridiem::Full,
            None => Meridiem::Bare,
        };
        if hour == 24 {
            return None;
        }
        Some((
            Piece::Clock(Clock {
                hour,
                minute,
                meridiem,
            }),
            j,
        ))
    }

    /// "half past 5", "quarter to 6" (`e` is the index after "half past").
    fn clock_prefixed(&self, e: usize, offset: i32) -> Option<(Piece, usize)> {
        let (v, e2, _) = self.num(e)?;
        if !(1..=12).contains(&v) {
            return None;
        }
        let total = (i64::from(v) * 60 + i64::from(offset)).rem_euclid(12 * 60);
        let mut hour = u32::try_from(total / 60).ok()?;
        if hour == 0 {
            hour = 12;
        }
        let minute = u32::try_from(total % 60).ok()?;
        let (meridiem, end) = match self.lex(e2) {
            Some((Lex::Meridiem(m), e3)) => (m, e3),
            _ => (Meridiem::Bare, e2),
        };
        Some((
            Piece::Clock(Clock {
                hour,
                minute,
                meridiem,
            }),
            end,
        ))
    }
}

/// Whether a piece introduces a limit, after which a lone number is an hour ("by 5").
fn after_limit(prev: Piece) -> bool {
    matches!(prev, Piece::By | Piece::Before)
}

/// The piece a punctuation mark is.
fn punct_piece(c: char) -> Piece {
    match c {
        '.' | '!' | '?' | '\n' | '…' => Piece::Break { strong: true },
        ',' | ';' | ':' | '¿' | '¡' | '"' | '“' | '”' | '«' | '»' | '—' | '–' | '|' | '*' => {
            Piece::Break { strong: false }
        }
        '(' | ')' | '\'' => Piece::Glue,
        _ => Piece::Gap,
    }
}

/// Helpers shared by the language files' lexicons.
pub mod build {
    use super::*;

    /// A part of the day.
    pub const fn part(p: Part) -> Lex {
        Lex::Piece(Piece::Part(p))
    }
    /// A period.
    pub const fn period(p: Period) -> Lex {
        Lex::Piece(Piece::Period(p))
    }
    /// A day.
    pub const fn day(d: DayRef) -> Lex {
        Lex::Piece(Piece::Day(d))
    }
    /// A clause cue.
    pub const fn cue(c: Cue) -> Lex {
        Lex::Piece(Piece::Cue(c))
    }
    /// An IANA zone.
    pub const fn zone(tz: chrono_tz::Tz) -> Lex {
        Lex::Piece(Piece::Zone(Zone::Named(tz)))
    }
    /// Immediate.
    pub const NOW: Lex = Lex::Piece(Piece::Now);
    /// No deadline.
    pub const NO_DEADLINE: Lex = Lex::Piece(Piece::NoDeadline);
    /// Before.
    pub const BEFORE: Lex = Lex::Piece(Piece::Before);
    /// By.
    pub const BY: Lex = Lex::Piece(Piece::By);
    /// Anaphor.
    pub const ANAPHOR: Lex = Lex::Piece(Piece::Anaphor);
    /// Glue.
    pub const GLUE: Lex = Lex::Piece(Piece::Glue);
    /// A word that is known but means nothing here (stops a longer misreading).
    pub const NOTHING: Lex = Lex::Piece(Piece::Gap);
    /// Elapsed minutes.
    pub const fn minutes(m: i64) -> Lex {
        Lex::Piece(Piece::Elapsed(m * 60))
    }
}
