//! The grammar engine: turns tokens into typed pieces, driven by one language's pack.
//!
//! A language (see `lang/es.rs`, `lang/en.rs`) is data: a lexicon of phrases, each mapped to a
//! [`Lex`] meaning, a spelling table for shorthand ("q" → "que", "tmrw" → "tomorrow"), the
//! order of numeric dates, and its verb morphology. The engine walks the tokens once, left to
//! right, and at each position tries, in order:
//!
//! 1. guarded weekday abbreviations ("sat" is Saturday only after "by", "on", "next"…);
//! 2. number patterns: prices, phone and order numbers, versions, code and thousands (a
//!    [`Piece::Number`]), ranges ("de 10 a 20h", "9:00-18:00", "3-5 days": a
//!    [`Piece::Range`]), durations ("48 horas"), dates ("15/04", "12 de septiembre", "October
//!    10", "the 14th"), clock times ("17:30", "5pm", "a las 5 y media", "17h");
//! 3. the longest lexicon phrase starting here, whose meaning may pull in what follows (a
//!    weekday takes "que viene" or "pasado", "dentro de" takes a duration, "a las" a time);
//! 4. a subject pronoun, or a verb form read by [`morph`] (not after an article:
//!    "la entrega" is a noun).
//!
//! Each step yields one [`Piece`] with its span. Pieces are still local: whether a time is a
//! demand, an event or something cancelled is decided afterwards, per clause, in `role.rs`.

use rustc_hash::FxHashMap;
use std::ops::Range;
use std::sync::LazyLock;

use chrono::Weekday;

use super::morph;
use super::token::{Kind, Tokens, split_word};
use crate::lang::vocab::{
    Clock, Cue, DateOrder, DayRef, Lex, Meridiem, Person, Piece, Tense, Unit, Verb, VerbKind,
    WeekdayMode,
};
use crate::lang::{Lang, Pack};

/// The longest duration taken at face value, in any unit (larger numbers are not deadlines).
const MAX_DURATION: u32 = 1000;

/// A piece and the byte span of the text it came from.
pub type Spanned = (Piece, Range<usize>);

/// One word of a lexicon phrase after the first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// A word, by its number in the lexicon, and whether it is longer than one letter.
    Word {
        id: u32,
        long: bool,
    },
    Punct(char),
    Number(u32),
}

#[derive(Debug)]
struct Entry {
    rest: Vec<Part>,
    lex: Lex,
}

/// A word that lexicon phrases use: its number, and the phrases it starts.
#[derive(Debug, Default)]
struct Known {
    id: u32,
    /// The phrases it starts, longest first.
    starts: Vec<Entry>,
}

/// A pack's lexicon: every word its phrases use, with the phrases each starts.
pub struct Lexicon {
    words: FxHashMap<String, Known>,
}

impl Lexicon {
    /// Builds the index of a pack's lexicon. Phrase words are split and spelled as the
    /// tokenizer and the pack split and spell text ("won't" → "will" "not"); a word made of one
    /// punctuation mark matches that mark ("p . m ." matches "p.m."), digits match a number.
    fn new(pack: &Pack) -> Lexicon {
        let mut words: FxHashMap<String, Known> = FxHashMap::default();
        for (phrase, lex) in pack.lexicon {
            let mut parts: Vec<Part> = Vec::new();
            let mut first = None;
            for w in phrase
                .split_whitespace()
                .flat_map(split_word)
                .flat_map(|w| (pack.spelling)(w).split_whitespace())
            {
                let mut chars = w.chars();
                let part = match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_alphanumeric() => Part::Punct(c),
                    _ => match w.parse::<u32>() {
                        Ok(n) => Part::Number(n),
                        Err(_) => {
                            let next = u32::try_from(words.len()).unwrap_or(u32::MAX);
                            let known = words.entry(w.to_string()).or_insert_with(|| Known {
                                id: next,
                                starts: Vec::new(),
                            });
                            Part::Word {
                                id: known.id,
                                long: w.len() > 1,
                            }
                        }
                    },
                };
                if first.is_none() {
                    first = Some((w, part));
                } else {
                    parts.push(part);
                }
            }
            let Some((first, Part::Word { .. })) = first else {
                continue;
            };
            let Some(known) = words.get_mut(first) else {
                continue;
            };
            // The first listing of a phrase is its meaning.
            if !known.starts.iter().any(|e| e.rest == parts) {
                known.starts.push(Entry {
                    rest: parts,
                    lex: *lex,
                });
            }
        }
        for known in words.values_mut() {
            known
                .starts
                .sort_by_key(|e| std::cmp::Reverse(e.rest.len()));
        }
        Lexicon { words }
    }
}

static LEXICONS: LazyLock<[Lexicon; 2]> = LazyLock::new(|| {
    [
        Lexicon::new(&crate::lang::es::PACK),
        Lexicon::new(&crate::lang::en::PACK),
    ]
});

fn lexicon(pack: &Pack) -> &'static Lexicon {
    match pack.lang {
        Lang::Es => &LEXICONS[0],
        Lang::En => &LEXICONS[1],
    }
}

/// Reads one text's tokens with one pack.
pub struct Reader<'a> {
    /// The tokens.
    pub tokens: &'a Tokens,
    /// The pack.
    pub pack: &'static Pack,
    /// Each token's word after the spelling fixes ("" for numbers and punctuation).
    words: Vec<&'a str>,
    /// Each token's word in the lexicon, if its phrases use it.
    known: Vec<Option<&'static Known>>,
    /// The longest lexicon phrase at each token, looked up once.
    phrases: Vec<Option<(Lex, usize)>>,
}

impl<'a> Reader<'a> {
    /// Reads every token into pieces, appending them to `out`.
    pub fn read(tokens: &'a Tokens, pack: &'static Pack, out: &mut Vec<Spanned>) {
        let lexicon = lexicon(pack);
        let words: Vec<&str> = (0..tokens.len())
            .map(|i| (pack.spelling)(tokens.word(i)))
            .collect();
        let known = words
            .iter()
            .map(|w| (!w.is_empty()).then(|| lexicon.words.get(*w)).flatten())
            .collect();
        let mut r = Reader {
            tokens,
            pack,
            words,
            known,
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
        let entries = &self.known.get(i).copied().flatten()?.starts;
        let id = |j: usize| self.known.get(j).copied().flatten().map(|k| k.id);
        'entries: for e in entries {
            let mut j = i + 1;
            for part in &e.rest {
                // Hyphenated compounds ("end-of-day", "year-end") read as separate words.
                if self.tokens.punct(j) == Some('-')
                    && self.tokens.glued(j)
                    && matches!(part, Part::Word { long: true, .. })
                {
                    j += 1;
                }
                let ok = match (self.tokens.get(j).map(|t| t.kind), part) {
                    (Some(Kind::Word), Part::Word { id: w, .. }) => id(j) == Some(*w),
                    (Some(Kind::Punct(c)), Part::Punct(p)) => c == *p,
                    (Some(Kind::Number), Part::Number(n)) => {
                        self.tokens.number(j) == Some(*n) && self.tokens.glued(j)
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

    /// A count for a duration: a number, or the indefinite article ("a day", "un mes").
    fn count(&self, i: usize) -> Option<(u32, usize, bool)> {
        self.num(i).or_else(|| match self.lex(i) {
            Some((Lex::One, e)) => Some((1, e, false)),
            _ if self.one_word(i) => Some((1, i + 1, false)),
            _ => None,
        })
    }

    /// Whether the word at `i` alone means the indefinite article.
    fn one_word(&self, i: usize) -> bool {
        self.known.get(i).copied().flatten().is_some_and(|k| {
            k.starts
                .iter()
                .any(|e| e.rest.is_empty() && e.lex == Lex::One)
        })
    }

    fn lex_is(&self, i: usize, f: impl Fn(Lex) -> bool) -> Option<usize> {
        self.lex(i).filter(|(l, _)| f(*l)).map(|(_, e)| e)
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

    /// Whether token `i` starts a clause: the text's start, or right after punctuation.
    fn clause_start(&self, i: usize) -> bool {
        i.checked_sub(1)
            .is_none_or(|p| self.tokens.punct(p).is_some_and(|c| c != '¡' && c != '¿'))
    }

    /// Whether token `i` ends a clause: the end, punctuation, or a word that closes a request
    /// ("please", "porfa", "so").
    fn closes_at(&self, i: usize) -> bool {
        match self.tokens.get(i).map(|t| t.kind) {
            None | Some(Kind::Punct(_)) => true,
            Some(Kind::Word) => self.pack.now_closers.contains(&self.word(i)),
            Some(Kind::Number) => false,
        }
    }

    /// The verb form at `i` in context: not after an article, and with the person a pronoun
    /// right before it names ("te mando", "me lo pasas").
    fn verb_at(&self, i: usize) -> Option<Verb> {
        let t = self.tokens.get(i)?;
        if t.kind != Kind::Word {
            return None;
        }
        let prev = i.checked_sub(1).map(|p| self.word(p)).unwrap_or("");
        // "something like this": some forms are verbs only after a subject or an auxiliary.
        if self.pack.morph.subject_verbs.contains(&self.word(i))
            && morph::subject(self.pack, prev).is_none()
            && !matches!(
                prev,
                "would" | "do" | "did" | "does" | "to" | "not" | "really" | "also"
            )
        {
            return None;
        }
        // "check-in", "follow-up", "sign-up": a compound is a noun.
        if self.tokens.punct(i + 1) == Some('-')
            && self.tokens.glued(i + 1)
            && self.tokens.glued(i + 2)
            && self.tokens.get(i + 2).is_some_and(|n| n.kind == Kind::Word)
        {
            return None;
        }
        let mut v = morph::analyse(self.pack, self.word(i), t.final_accent)?;
        // After an article or a preposition a form is a noun ("la entrega", "the call"), but
        // an infinitive stays one ("para terminarlo", "antes de mandarlo").
        if morph::determiner(self.pack, prev) && v.tense != Tense::Infinitive {
            return None;
        }
        // "la firma", "la entrega": after an article that is also a pronoun, a form that could
        // be a noun is one; "la necesito", "los tenemos" stay verbs.
        let clitic_before = i
            .checked_sub(2)
            .is_some_and(|q| morph::proclitic(self.pack, self.word(q)).is_some());
        if matches!(prev, "la" | "las" | "los" | "lo")
            && !clitic_before
            && self.pack.morph.pro_drop
            && v.person == Some(Person::It)
            && matches!(v.tense, Tense::Present | Tense::Subjunctive)
        {
            return None;
        }
        // Object pronouns before the verb: the first that names a person says for whom.
        let mut k = i;
        while let Some(p) = k.checked_sub(1) {
            match morph::proclitic(self.pack, self.word(p)) {
                Some(person) => {
                    if person.is_some() {
                        v.to = person;
                    }
                    k = p;
                }
                None => break,
            }
        }
        Some(v)
    }

    fn piece_at(&self, i: usize, prev: Piece) -> (Piece, usize) {
        let Some(tok) = self.tokens.get(i) else {
            return (Piece::Gap, i + 1);
        };
        match tok.kind {
            // A dash with spaces around it separates ("URGENT - update the page").
            Kind::Punct('-' | '–') if !self.tokens.glued(i) && !self.tokens.glued(i + 1) => {
                (Piece::Break { strong: false }, i + 1)
            }
            Kind::Punct(c) => (punct_piece(c), i + 1),
            Kind::Number => self
                .number(i, tok.value, i + 1, true, prev)
                .unwrap_or_else(|| (Piece::Gap, self.skip_number(i))),
            Kind::Word => self.word_at(i, prev),
        }
    }

    fn word_at(&self, i: usize, prev: Piece) -> (Piece, usize) {
        let word = self.word(i);
        if let Some((_, day)) = self.pack.guarded_days.iter().find(|(w, _)| *w == word) {
            let before = i.checked_sub(1).map(|p| self.word(p)).unwrap_or("");
            if self.pack.day_guards.contains(&before) {
                let mode = if before == "this" {
                    WeekdayMode::This
                } else {
                    WeekdayMode::Next
                };
                return (Piece::Day(DayRef::Weekday(*day, mode)), i + 1);
            }
            return (Piece::Gap, i + 1);
        }
        if word == "'s" {
            // "it's", "that's", "let's": is / us; "Ana's", "today's": a possessive.
            let before = i.checked_sub(1).map(|p| self.word(p)).unwrap_or("");
            return if morph::subject(self.pack, before).is_some()
                || matches!(before, "what" | "here" | "who" | "where" | "how" | "let")
            {
                (
                    Piece::Verb(Verb {
                        kind: VerbKind::Be,
                        tense: Tense::Present,
                        person: Some(Person::It),
                        to: None,
                    }),
                    i + 1,
                )
            } else {
                (Piece::Glue, i + 1)
            };
        }
        if let Some(end) = self.day_letters(i) {
            return (Piece::Range, end);
        }
        // "sí" (yes, indeed) is not "si" (if): only the accent tells them apart.
        if word == "si" && self.tokens.get(i).is_some_and(|t| t.final_accent) {
            return (Piece::Glue, i + 1);
        }
        // "Q3", "Q1 2026": a quarter.
        if word == "q"
            && self.tokens.glued(i + 1)
            && self
                .tokens
                .number(i + 1)
                .is_some_and(|n| (1..=4).contains(&n))
        {
            let end = if self.tokens.get(i + 2).is_some_and(|t| t.digits == 4) {
                i + 3
            } else {
                i + 2
            };
            return (Piece::Vague, end);
        }
        if let Some((lex, e)) = self.lex(i) {
            let (piece, end) = self.word_piece(i, lex, e, prev);
            // "am" and "may" away from a number are verbs ("I am", "you may").
            if piece == Piece::Gap
                && matches!(lex, Lex::Meridiem(_) | Lex::Month(_))
                && let Some(v) = self.verb_at(i)
            {
                return (Piece::Verb(v), i + 1);
            }
            return self.possessive(piece, end);
        }
        if let Some(p) = morph::subject(self.pack, word) {
            return (Piece::Subject(p), i + 1);
        }
        // "lo tengo", "te mando": an object pronoun before its verb joins, it does not end.
        if self.pack.morph.pro_drop && morph::proclitic(self.pack, word).is_some() {
            return (Piece::Glue, i + 1);
        }
        if let Some(v) = self.verb_at(i) {
            return (Piece::Verb(v), i + 1);
        }
        if let Some(v) = self.participle_after_aux(i) {
            return (Piece::Verb(v), i + 1);
        }
        (Piece::Gap, i + 1)
    }

    /// An English "-ed" form the lemmas do not list, right after "have" or "be" ("has terminated",
    /// "were suspended"): a participle.
    fn participle_after_aux(&self, i: usize) -> Option<Verb> {
        let w = self.word(i);
        if self.pack.morph.pro_drop || w.len() < 5 || !w.ends_with("ed") {
            return None;
        }
        let aux = i.checked_sub(1).and_then(|p| self.verb_at(p))?;
        matches!(aux.kind, VerbKind::Have | VerbKind::Be).then_some(Verb {
            kind: VerbKind::Act,
            tense: Tense::Participle,
            person: None,
            to: None,
        })
    }

    /// "today's", "Friday's": a day that qualifies a noun is no limit ("today's paper"), unless
    /// the noun is the deadline itself ("Friday's deadline").
    fn possessive(&self, piece: Piece, end: usize) -> (Piece, usize) {
        if !matches!(piece, Piece::Day(_) | Piece::Part(_) | Piece::Period(_))
            || self.word(end) != "'s"
        {
            return (piece, end);
        }
        match self.lex(end + 1) {
            Some((Lex::Piece(Piece::Cue(Cue::Deadline)), _)) => (piece, end + 1),
            _ => (Piece::Cue(Cue::Idiom), end + 1),
        }
    }

    /// Spanish weekday letters joined as a range: "L-V", "L a V", "L–S".
    fn day_letters(&self, i: usize) -> Option<usize> {
        let letter = |k: usize| {
            let w = self.tokens.word(k);
            w.len() == 1 && "lmxjvsd".contains(w) && self.tokens.get(k).is_some_and(|t| t.capital)
        };
        if !letter(i) {
            return None;
        }
        let j = match self.tokens.punct(i + 1) {
            Some('-' | '–' | '—' | '/') => i + 2,
            _ if self.word(i + 1) == "a" => i + 2,
            _ => return None,
        };
        letter(j).then_some(j + 1)
    }

    /// An immediate "now" / "ahora" / "ya" at `i` (ending before `e`): immediate where it
    /// qualifies the request (it closes the clause: "send it now", "cámbialo ya", or follows
    /// the verb and its object: "update it now with the photo"); an adverb of a statement where
    /// it comes before a verb or after a subject or an auxiliary ("we now have", "should now
    /// say", "ahora pone"); a discourse marker opening a clause before a comma ("Now, about…").
    fn now_at(&self, i: usize, e: usize) -> (Piece, usize) {
        let start = self.clause_start(i);
        if start && self.tokens.punct(e) == Some(',') {
            return (Piece::Gap, e);
        }
        let closes = self.closes_at(e);
        // "ya" means "already" unless it closes its clause ("¡Ya!", "cámbialo ya").
        let already = self.pack.lang == Lang::Es && self.word(i) == "ya";
        if already {
            return if closes && (!start || e >= self.tokens.len() || self.tokens.punct(e).is_some())
            {
                (Piece::Now, e)
            } else {
                (Piece::Gap, e)
            };
        }
        if closes {
            return (Piece::Now, e);
        }
        let before_statement = i.checked_sub(1).is_some_and(|p| {
            morph::subject(self.pack, self.word(p)).is_some()
                || matches!(
                    self.verb_at(p).map(|v| v.kind),
                    Some(
                        VerbKind::Will
                            | VerbKind::Would
                            | VerbKind::Can
                            | VerbKind::Must
                            | VerbKind::Do
                            | VerbKind::Be
                            | VerbKind::Have
                    )
                )
        });
        let verb_after = self.verb_at(e).is_some()
            || morph::subject(self.pack, self.word(e)).is_some()
            || morph::proclitic(self.pack, self.word(e)).is_some();
        if start || before_statement || verb_after {
            (Piece::Gap, e)
        } else {
            (Piece::Now, e)
        }
    }

    fn word_piece(&self, i: usize, lex: Lex, e: usize, prev: Piece) -> (Piece, usize) {
        let found = match lex {
            Lex::Piece(Piece::Now) => Some(self.now_at(i, e)),
            // "for Friday" is a limit; "for 3:30", "for 2 hours" are not.
            Lex::Piece(Piece::By)
                if self.pack.weak_limits.contains(&self.word(i))
                    && (self.tokens.number(e).is_some()
                        || matches!(self.lex(e), Some((Lex::Num(_), _)))) =>
            {
                Some((Piece::Glue, e))
            }
            Lex::Piece(p) => Some((p, e)),
            Lex::Farewell => {
                // "¡Hasta mañana!", "Hasta luego.": a farewell standing alone; "hasta el lunes"
                // only when exclaimed ("Tienes hasta el lunes" is a limit).
                let before = i.checked_sub(1).map(|p| self.tokens.punct(p));
                let after = self.tokens.get(e).map(|t| t.kind);
                let alone = matches!(before, None | Some(Some(_)))
                    && matches!(after, None | Some(Kind::Punct(_)));
                let exclaimed = before == Some(Some('¡')) || self.tokens.punct(e) == Some('!');
                let with_day = self.word(i + 1) == "el";
                let alone = alone && (!with_day || exclaimed);
                Some(if alone {
                    (Piece::Gap, e)
                } else {
                    (Piece::By, i + 1)
                })
            }
            Lex::Num(v) => self.number(i, v, e, false, prev),
            Lex::One => self.duration(i, false),
            Lex::DurPrep => self.duration(e, true),
            // "la 6/7", "las 2/3": a feminine article before a pair of numbers names a size, a
            // page, a version (a date takes "el"), never an hour.
            Lex::ClockPrep { strong: false }
                if self.pack.lang == Lang::Es
                    && self.tokens.number(e).is_some()
                    && self.tokens.punct(e + 1) == Some('/')
                    && self.tokens.glued(e + 1) =>
            {
                Some((Piece::Number, self.skip_number(e)))
            }
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
                    Some((Piece::PastTime, e2))
                }
                _ => None,
            },
            Lex::Month(m) => self.month_first(m, e).or_else(|| {
                (self.month_alone(i) && self.verb_at(i).is_none()).then_some((Piece::Vague, e))
            }),
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
            Lex::And => Some((Piece::Cue(Cue::And), e)),
            _ => None,
        };
        found.unwrap_or(match lex {
            Lex::DurPrep | Lex::ClockPrep { .. } | Lex::Article | Lex::One => (Piece::Glue, e),
            _ => (Piece::Gap, e),
        })
    }

    /// Whether the number at `i` sits inside a bracketed tag ("[PATCH 2/2]", "[RFC 05/10]").
    fn in_tag(&self, i: usize) -> bool {
        let mut k = i;
        while let Some(p) = k.checked_sub(1) {
            match self.tokens.punct(p) {
                Some('[') => return p + 1 < i,
                Some(']' | '\n') => return false,
                _ => {}
            }
            if i - p > 6 {
                return false;
            }
            k = p;
        }
        false
    }

    /// Whether the number at `i` sits in code or an identifier: glued to a letter before it
    /// ("v2", "a1"), or inside brackets or after "=" glued to a name ("plot(1:10)", "x=10").
    fn in_code(&self, i: usize) -> bool {
        let Some(p) = i.checked_sub(1) else {
            return false;
        };
        if !self.tokens.glued(i) {
            return false;
        }
        match self.tokens.get(p).map(|t| t.kind) {
            Some(Kind::Word) => true,
            // "main.js:12:30": a line and a column after a file name.
            Some(Kind::Punct(':'))
                if self.tokens.glued(p)
                    && p.checked_sub(1).is_some_and(|q| {
                        self.tokens.get(q).is_some_and(|t| t.kind == Kind::Word)
                    }) =>
            {
                true
            }
            Some(Kind::Punct('(' | '[' | '{' | '=' | '`' | '_' | '#' | '@' | '$')) => {
                p.checked_sub(1).is_some_and(|q| {
                    self.tokens.glued(p)
                        && matches!(
                            self.tokens.get(q).map(|t| t.kind),
                            Some(Kind::Word | Kind::Number | Kind::Punct('_' | ')' | ']'))
                        )
                }) || matches!(self.tokens.punct(p), Some('[' | '=' | '`' | '#'))
            }
            _ => false,
        }
    }

    /// A range of hours or days starting at the number `i`: "de 10 a 20h", "9:00-18:00",
    /// "10am-1pm", "from 9 to 5", "del 24 al 6". The index after it.
    fn range_at(&self, i: usize) -> Option<usize> {
        let v = self.tokens.number(i)?;
        let (first_end, first_marked) = match self.clock(v, i + 1, true) {
            Some((Piece::Clock(_), e)) => (e, e > i + 1),
            _ => (i + 1, false),
        };
        let before = i.checked_sub(1).map(|p| self.word(p)).unwrap_or("");
        let opened = matches!(
            before,
            "de" | "del" | "desde" | "from" | "between" | "entre" | "of"
        );
        let (j, dash) = match self.tokens.punct(first_end) {
            Some('-' | '–' | '—') => (first_end + 1, true),
            _ => match self.word(first_end) {
                "a" | "al" | "to" | "till" | "until" | "through" | "hasta" => {
                    (first_end + 1, false)
                }
                "y" | "and" if opened => (first_end + 1, false),
                _ => return None,
            },
        };
        let v2 = self.tokens.number(j)?;
        match self.clock(v2, j + 1, true) {
            Some((Piece::Clock(_), e2)) => {
                let second_marked = e2 > j + 1;
                let ok = if dash {
                    first_marked || second_marked
                } else {
                    opened || first_marked || second_marked
                };
                ok.then_some(e2)
            }
            _ if opened && (1..=31).contains(&v) && (1..=31).contains(&v2) => Some(j + 1),
            _ => None,
        }
    }

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
            if let Some(end) = self.seconds_at(i) {
                return Some((Piece::Timestamp, end));
            }
            if self.in_code(i) || self.tokens.get(i).is_some_and(|t| t.code) || self.in_tag(i) {
                return Some((Piece::Number, self.skip_number(i)));
            }
            if let Some(end) = self.identifier_or_price(i) {
                return Some((Piece::Number, end));
            }
            if let Some(end) = self.range_at(i) {
                return Some((Piece::Range, end));
            }
            if let Some(m) = self.numeric_date(i) {
                // "2025-05-12T08:15:02Z": an ISO date-time.
                if let (Piece::Day(DayRef::Date { year: Some(_), .. }), end) = m
                    && self.tokens.word(end) == "t"
                    && self.tokens.glued(end)
                    && self.tokens.number(end + 1).is_some()
                {
                    let stop = self.seconds_at(end + 1).unwrap_or(end + 2);
                    return Some((Piece::Timestamp, stop));
                }
                return Some(m);
            }
            // "en 2019", "in 2021": a year alone.
            let joined = matches!(self.tokens.punct(i + 1), Some('/' | '-' | '.' | ':'))
                && self.tokens.glued(i + 1)
                && self.tokens.number(i + 2).is_some();
            if self.tokens.get(i).is_some_and(|t| t.digits == 4)
                && (1900..=2100).contains(&v)
                && !joined
            {
                return Some((Piece::Vague, i + 1));
            }
            if let Some(end) = self.number_run(i) {
                return Some((Piece::Number, end));
            }
            let end = self.skip_number(i);
            if end > i + 3 {
                // 1.2.3, 10/20/30/40: not a date, not a time.
                return Some((Piece::Number, end));
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
        // "invoice 2025/113", "order #55123", "pedido nº 458": the noun right before, or with a
        // number sign between.
        let noun_at = |p: usize| matches!(self.lex(p), Some((Lex::NumberNoun | Lex::Currency, _)));
        let sign_at = |p: usize| {
            matches!(
                self.tokens.punct(p),
                Some('#' | ':' | '.' | 'º' | '°' | '-')
            ) || matches!(
                self.word(p),
                "no" | "n" | "nr" | "num" | "number" | "numero"
            )
        };
        let noun_before = i.checked_sub(1).is_some_and(noun_at)
            || i.checked_sub(2)
                .is_some_and(|p| noun_at(p) && sign_at(p + 1))
            || i.checked_sub(3)
                .is_some_and(|p| noun_at(p) && sign_at(p + 1) && sign_at(p + 2));
        let long = self.tokens.get(i).is_some_and(|t| t.digits >= 5);
        // "15,600", "1.250": a thousands separator.
        let thousands = matches!(self.tokens.punct(i + 1), Some(',' | '.'))
            && self.tokens.glued(i + 1)
            && self.tokens.glued(i + 2)
            && self.tokens.get(i + 2).is_some_and(|t| t.digits == 3);
        (sym_before || sym_after || noun_before || long || thousands).then_some(end)
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
                && (!self.pack.dash_dates
                    || matches!(self.lex(i + 3), Some((Lex::Unit(_) | Lex::Business, _))))
            {
                return None;
            }
            // "2-1", "3-0": a score; a dash date writes one of its parts with two digits.
            if sep == '-'
                && t.get(i).is_some_and(|x| x.digits == 1)
                && t.get(i + 2).is_some_and(|x| x.digits == 1)
            {
                return Some((Piece::Number, i + 3));
            }
            let (d, m) = self.order(a, b);
            (d, m, None, i + 3)
        };
        // "24/7" means always.
        // "24/7" means always.
        if a == 24 && b == 7 && third.is_none() {
            return Some((Piece::Recurring, end));
        }
        let valid = (1..=12).contains(&month) && (1..=31).contains(&day);
        let year = year
            .and_then(|y| i32::try_from(y).ok())
            .filter(|y| (1..10000).contains(y));
        if !valid || (a_digits == 4 || third.is_some()) && year.is_none() {
            return Some((Piece::Number, end));
        }
        // "3/4 of the budget", "2/3 de la página": a fraction.
        if year.is_none()
            && let Some(e2) = self.lex_is(end, |l| l == Lex::Of)
            && self.tokens.get(e2).is_some_and(|t| t.kind == Kind::Word)
            && !matches!(self.lex(e2), Some((Lex::Month(_), _)))
        {
            return Some((Piece::Number, e2));
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
        match self.pack.date_order {
            DateOrder::DayMonth => (a, b),
            DateOrder::MonthDay => (b, a),
        }
    }

    /// Durations: "48 horas", "dos días hábiles", "an hour and a half"; `i` is the number
    /// (or, after a preposition, a bare unit: "in the next hour").
    fn duration(&self, i: usize, after_prep: bool) -> Option<(Piece, usize)> {
        let (n, mut j, bare_unit, digits) = match self.count(i) {
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
        let article = !digits && !bare_unit && self.one_word(i);
        let mut range = false;
        if !bare_unit
            && matches!(self.tokens.punct(j), Some('-' | '–' | '—'))
            && self.tokens.number(j + 1).is_some()
        {
            range = true;
            j += 2;
        }
        let mut business = false;
        if let Some(e) = self.lex_is(j, |l| l == Lex::Business) {
            business = true;
            j = e;
        }
        // "una hora y media", "an hour and a half": one duration the lexicon names whole.
        if n == 1
            && let Some((Lex::Piece(Piece::Elapsed(s)), e)) = self.lex(j)
        {
            return Some((Piece::Elapsed(s), e));
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
        // "50 cents a day", "24 hours a day": a rate, not a duration.
        let rate_before = article
            && !after_prep
            && i.checked_sub(1).is_some_and(|p| {
                self.tokens.number(p).is_some()
                    || matches!(self.lex(p), Some((Lex::Currency | Lex::Unit(_), _)))
            });
        let rate_after = self.one_word(j) && matches!(self.lex(j + 1), Some((Lex::Unit(_), _)));
        if rate_after {
            return Some((Piece::Recurring, j + 2));
        }
        if rate_before {
            return Some((Piece::Cue(Cue::Idiom), j));
        }
        // "got a minute?" is not a deadline; "in a minute", "una semana" are.
        let idle_moment =
            !after_prep && !digits && n == 1 && matches!(unit, Unit::Minute | Unit::Hour);
        if range {
            return Some((Piece::Range, j));
        }
        // "hace dos semanas", "three days ago": a time in the past.
        let ago_after = matches!(self.word(j), "ago" | "atras");
        let ago_before = i.checked_sub(1).is_some_and(|p| self.word(p) == "hace");
        if not_ahead && (ago_after || ago_before) {
            return Some((Piece::PastTime, if ago_after { j + 1 } else { j }));
        }
        if not_ahead || idle_moment || n > MAX_DURATION || (bare_unit && unit != Unit::Hour) {
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
            // "dentro de un mes": months have no fixed length in the conventions.
            Unit::Month => Piece::Vague,
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
            let (year, end) = self.year_after(self.abbreviation_dot(e2));
            let end = if year.is_none() {
                self.abbreviation_dot(e2)
            } else {
                end
            };
            return Some((
                Piece::Day(DayRef::Date {
                    day: v,
                    month: Some(m),
                    year,
                }),
                end,
            ));
        }
        if ordinal && matches!(self.lex(j), Some((Lex::NumberNoun, _))) {
            // "1st Qtr", "2nd floor".
            return Some((Piece::Number, j));
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

    /// After an abbreviated month ("nov.", "Jan."), the index past its dot.
    fn abbreviation_dot(&self, j: usize) -> usize {
        let short = j
            .checked_sub(1)
            .is_some_and(|p| self.tokens.word(p).len() <= 4 && !self.tokens.word(p).is_empty());
        if short && self.tokens.punct(j) == Some('.') && self.tokens.glued(j) {
            j + 1
        } else {
            j
        }
    }

    /// A month named alone ("en marzo", "by April"): a full month name of the pack.
    fn month_alone(&self, i: usize) -> bool {
        let w = self.tokens.word(i);
        self.pack
            .dates
            .months
            .iter()
            .any(|m| crate::lang::folded(m) == w)
    }

    /// A timestamp at the number `i`: a clock to the second ("10:23:11", "14:05:11.123"): the
    /// index after it.
    fn seconds_at(&self, i: usize) -> Option<usize> {
        let t = self.tokens;
        let two = |k: usize| {
            t.get(k)
                .is_some_and(|x| x.kind == Kind::Number && x.digits == 2)
        };
        let colon = |k: usize| t.punct(k) == Some(':') && t.glued(k) && t.glued(k + 1);
        if !(colon(i + 1) && two(i + 2) && colon(i + 3) && two(i + 4)) {
            return None;
        }
        let mut end = i + 5;
        if matches!(t.punct(end), Some('.' | ','))
            && t.glued(end)
            && t.number(end + 1).is_some()
            && t.glued(end + 1)
        {
            end += 2;
        }
        Some(end)
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
        let mut j = self.abbreviation_dot(e);
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
        let joiner = if matches!(self.tokens.punct(j), Some('-' | '–' | '—')) {
            Some(j + 1)
        } else {
            self.lex_is(j, |l| {
                matches!(l, Lex::Through | Lex::Piece(Piece::Glue | Piece::By))
            })
        };
        if let Some((Lex::Weekday(_), e2)) = joiner.and_then(|k| self.lex(k)) {
            return (Piece::Range, e2);
        }
        match self.lex(j) {
            Some((Lex::PastAfter, e2)) => return (Piece::PastTime, e2),
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
        // "at 1.10.2" is a version, not ten past one.
        if self.tokens.number(e).is_some() && self.skip_number(e) > e + 3 {
            return None;
        }
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
        '(' | ')' => Piece::Break { strong: false },
        '\'' => Piece::Glue,
        _ => Piece::Gap,
    }
}
