//! Languages: everything plazo knows about one language, in one pack per language.
//!
//! A [`Pack`] holds a language's time lexicon and spelling fixes, its verb morphology (lemmas
//! and endings, never lists of every inflected form), the closed classes the clause rules need
//! (subject pronouns, clitics), the markers that segment a mail (attribution lines, closings,
//! signature labels, mobile footers, disclaimers), the function words that tell the language
//! apart, and the names of days and months the replies are written with. Spanish and English
//! are full packs ([`es`], [`en`]); [`foreign`] holds the quote and footer markers of languages
//! plazo does not answer in but whose mail programs write the history of a thread.
//!
//! The packs are data written in [`vocab`]; the machinery that reads them lives elsewhere
//! (`extract` for times and roles, `segment` for mail blocks, `render` for dates), so a new
//! language is a new pack file listed in [`PACKS`].
//!
//! This module also owns the one text normaliser of the crate ([`fold`]: lowercase, accents
//! off) and language detection ([`Evidence`], [`detect`]).

pub mod en;
pub mod es;
pub mod foreign;
pub mod vocab;

use serde::Serialize;

use self::vocab::{DateOrder, Lex, Person, Tense, VerbKind};

/// A language plazo can read and answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Spanish.
    Es,
    /// English.
    En,
}

impl Lang {
    /// The ISO 639-1 code, as used for template folders (`templates/es/`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    /// The language for an ISO 639-1 code.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code.to_ascii_lowercase().as_str() {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Every language plazo knows, in a stable order.
    pub const ALL: [Lang; 2] = [Lang::Es, Lang::En];

    /// This language's pack.
    pub fn pack(self) -> &'static Pack {
        match self {
            Lang::Es => &es::PACK,
            Lang::En => &en::PACK,
        }
    }
}

/// Every full pack, one per language plazo answers in.
pub static PACKS: [&Pack; 2] = [&es::PACK, &en::PACK];

/// Everything plazo knows about one language.
pub struct Pack {
    /// The language.
    pub lang: Lang,
    /// Time phrases and clause words, each with its meaning (written normalised: see [`fold`]).
    pub lexicon: &'static [(&'static str, Lex)],
    /// Shorthand and misspellings mapped to the lexicon's words ("q" → "que", "tmrw" →
    /// "tomorrow").
    pub spelling: fn(&str) -> &str,
    /// The order of numeric dates.
    pub date_order: DateOrder,
    /// Whether "21-05" (two numbers and a dash) is a date; otherwise dashes need a year.
    pub dash_dates: bool,
    /// Weekday abbreviations that are also ordinary words ("sat", "sun", "wed"): days only
    /// right after one of [`Pack::day_guards`].
    pub guarded_days: &'static [(&'static str, chrono::Weekday)],
    /// The words that make a guarded abbreviation a day ("by", "on", "next").
    pub day_guards: &'static [&'static str],
    /// Limit words that are a limit only before a day, not before a number ("for Friday", not
    /// "for 3:30").
    pub weak_limits: &'static [&'static str],
    /// The words that make "now" ("ya") a demand when they close its clause: please, thanks.
    pub now_closers: &'static [&'static str],
    /// Verb morphology.
    pub morph: &'static Morph,
    /// Function words, for telling the language apart.
    pub function_words: &'static [&'static str],
    /// Letters and marks only this language uses (ñ, ¿, ¡), worth two function words each.
    pub own_letters: &'static [char],
    /// The markers that segment a mail.
    pub markers: &'static Markers,
    /// Names of days and months, for the replies.
    pub dates: &'static DateNames,
}

impl std::fmt::Debug for Pack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pack")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

/// A language's verb morphology: lemmas with what they mean, and the endings that inflect them.
///
/// A form is analysed by stripping an ending and finding the lemma the rest makes: "mandamos"
/// is "mand" + "amos" (present, we) of "mandar"; "updated" is "updat" + "ed" of "update".
/// Irregular stems ("tuv-" of tener, "quier-" of querer) take their own endings; the few forms
/// no rule makes ("fue", "went") are listed whole.
#[derive(Debug)]
pub struct Morph {
    /// Lemmas (normalised), each with what it means to a predicate.
    pub verbs: &'static [(&'static str, VerbKind)],
    /// Regular endings: strip `suffix`, add `lemma_end`, and a known lemma gives this form.
    pub endings: &'static [Ending],
    /// Irregular stems: (stem, lemma, which ending set it takes).
    pub stems: &'static [(&'static str, &'static str, StemSet)],
    /// The endings of each irregular stem set.
    pub stem_endings: &'static [(StemSet, &'static str, Tense, Option<Person>)],
    /// Whole irregular forms: (form, lemma, tense, person).
    pub forms: &'static [(&'static str, &'static str, Tense, Option<Person>)],
    /// Object pronouns written onto a verb ("mánda-me-lo"), with whom they name.
    pub enclitics: &'static [(&'static str, Option<Person>)],
    /// Object pronouns standing before a verb ("te mando", "me lo pasas"), with whom they name.
    pub proclitics: &'static [(&'static str, Option<Person>)],
    /// Subject pronouns.
    pub subjects: &'static [(&'static str, Person)],
    /// Words an ending would make a verb that are not verbs here ("para", "como").
    pub not_verbs: &'static [&'static str],
    /// Words after which a verb-like word is a noun: articles and determiners.
    pub determiners: &'static [&'static str],
    /// Whether a doubled final consonant is dropped before an ending ("stopped" → "stop").
    pub double_final: bool,
    /// Whether subjects are dropped, the ending telling the person (Spanish): then a present
    /// form opening a clause may be an imperative ("Sube la foto").
    pub pro_drop: bool,
    /// Words that are verbs only right after a subject or an auxiliary ("I like", not
    /// "something like this").
    pub subject_verbs: &'static [&'static str],
}

/// A regular ending of a verb.
#[derive(Debug, Clone, Copy)]
pub struct Ending {
    /// The ending, normalised ("amos", "ed").
    pub suffix: &'static str,
    /// What replaces it to make the lemma ("ar", "" or "e").
    pub lemma_end: &'static str,
    /// The form it makes.
    pub tense: Tense,
    /// The person it makes, when it says one.
    pub person: Option<Person>,
    /// Whether the written form must end in an accented vowel (`Some(true)`: "mandó", "mandé"),
    /// must not (`Some(false)`: "mando", "mande"), or either (`None`).
    pub accent: Option<bool>,
}

/// Which endings an irregular stem takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StemSet {
    /// A present stem with a changed vowel or consonant: quier-, pued-, teng-, tien-.
    Present,
    /// A present subjunctive stem: teng-a, hag-a, pued-a.
    Subjunctive,
    /// An irregular preterite stem: tuv-, hic-, pud-, quis-, dij-.
    Preterite,
    /// An irregular future and conditional stem: tendr-, har-, podr-.
    Future,
}

/// The markers that segment a mail: where history, signatures, footers and disclaimers begin.
/// Every entry is written lowercase; accents as the language writes them.
#[derive(Debug)]
pub struct Markers {
    /// The verbs of an attribution line: "wrote", "escribió" (the line ends with ':').
    pub wrote: &'static [&'static str],
    /// Words that open an attribution line: "on", "el", "le", "am".
    pub openers: &'static [&'static str],
    /// Header labels that open a quoted header block: "from", "de".
    pub header_from: &'static [&'static str],
    /// The other header labels of such a block: "sent", "date", "to", "subject".
    pub header_fields: &'static [&'static str],
    /// Separator phrases of an original or forwarded message: "original message".
    pub separators: &'static [&'static str],
    /// Closing formulas that end the message: "un saludo", "best regards", "thanks".
    pub closings: &'static [&'static str],
    /// Greeting openers: "hola", "hi", "dear", "buenos días".
    pub greetings: &'static [&'static str],
    /// Mobile and program footers: "enviado desde mi", "sent from my", "get outlook for".
    pub footers: &'static [&'static str],
    /// Phrases that only a legal disclaimer uses: "intended recipient", "destinatario".
    pub disclaimers: &'static [&'static str],
    /// Labels of signature lines: "tel", "móvil", "horario", "hours", "web".
    pub labels: &'static [&'static str],
    /// Job titles and company words of signatures: "director", "gerente", "manager".
    pub titles: &'static [&'static str],
    /// Postscript openers: "pd", "p.s.".
    pub postscripts: &'static [&'static str],
}

/// Names of days and months, as the replies write them.
#[derive(Debug)]
pub struct DateNames {
    /// Monday first.
    pub weekdays: [&'static str; 7],
    /// January first.
    pub months: [&'static str; 12],
}

/// A character lowercased with its accent taken off ("Á" → "a", "ñ" → "n", "ü" → "u"),
/// appended to `out`: the one normalisation every lexicon and every text goes through.
pub fn fold(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for l in c.to_lowercase() {
        out.push(match l {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        });
    }
}

/// A word or phrase folded (see [`fold`]).
pub fn folded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        // Runs of ASCII in one copy, the rest a character at a time.
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let start = out.len();
        out.push_str(&rest[..ascii]);
        out[start..].make_ascii_lowercase();
        rest = &rest[ascii..];
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            fold(&mut out, c);
            rest = chars.as_str();
        }
    }
    out
}

/// How many words language detection looks at.
pub const MAX_EVIDENCE_WORDS: usize = 2000;

/// The evidence for each language in a text: one point per function word, two per letter or
/// mark only that language uses.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// Points per language, in the order of [`PACKS`].
    pub points: [u32; 2],
    /// Words looked at.
    pub words: usize,
}

impl Evidence {
    /// Adds one folded word.
    pub fn word(&mut self, folded_word: &str) {
        if self.words >= MAX_EVIDENCE_WORDS {
            return;
        }
        self.words += 1;
        let packs = FUNCTION_WORDS.get(folded_word).copied().unwrap_or(0);
        for (k, points) in self.points.iter_mut().enumerate() {
            if packs & (1 << k) != 0 {
                *points += 1;
            }
        }
    }

    /// Adds one character of the text (letters and marks only one language uses).
    pub fn letter(&mut self, c: char) {
        if c.is_ascii() {
            return;
        }
        for (k, pack) in PACKS.iter().enumerate() {
            if pack.own_letters.contains(&c) {
                self.points[k] += 2;
            }
        }
    }

    /// The evidence of a whole text.
    pub fn of(text: &str) -> Evidence {
        let mut e = Evidence::default();
        let mut word = String::new();
        for c in text.chars().chain(std::iter::once(' ')) {
            if e.words >= MAX_EVIDENCE_WORDS {
                break;
            }
            e.letter(c);
            if c.is_alphabetic() || (c == '\'' && !word.is_empty()) {
                fold(&mut word, c);
            } else if !word.is_empty() {
                e.word(word.trim_end_matches('\''));
                word.clear();
            }
        }
        e
    }

    /// The points of one language.
    pub fn points(&self, lang: Lang) -> u32 {
        PACKS
            .iter()
            .position(|p| p.lang == lang)
            .and_then(|k| self.points.get(k).copied())
            .unwrap_or(0)
    }

    /// The language with the most points, or `None` on a tie (no evidence at all included).
    pub fn language(&self) -> Option<Lang> {
        let best = self.points.iter().copied().max().unwrap_or(0);
        let mut leaders = PACKS.iter().zip(self.points).filter(|(_, p)| *p == best);
        let first = leaders.next()?;
        (best > 0 && leaders.next().is_none()).then_some(first.0.lang)
    }

    /// Both texts' evidence together.
    pub fn plus(self, other: Evidence) -> Evidence {
        Evidence {
            points: [
                self.points[0] + other.points[0],
                self.points[1] + other.points[1],
            ],
            words: self.words + other.words,
        }
    }
}

/// For each function word of any pack, the packs it belongs to (bit `k` for `PACKS[k]`).
static FUNCTION_WORDS: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, u8>> =
    std::sync::LazyLock::new(|| {
        let mut map = rustc_hash::FxHashMap::default();
        for (k, pack) in PACKS.iter().enumerate() {
            for w in pack.function_words {
                *map.entry(*w).or_insert(0) |= 1 << k;
            }
        }
        map
    });

/// The language of `text`, or `None` when it shows no sign of either.
pub fn detect(text: &str) -> Option<Lang> {
    Evidence::of(text).language()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_sentences() {
        assert_eq!(detect("Can you update the banner today?"), Some(Lang::En));
        assert_eq!(detect("¿Puedes subir el banner hoy?"), Some(Lang::Es));
        assert_eq!(detect("Actualiza la web ya, porfa"), Some(Lang::Es));
        assert_eq!(detect("Need it by EOD"), Some(Lang::En));
        assert_eq!(detect("Applied."), None);
        assert_eq!(detect("12345 !!!"), None);
    }

    #[test]
    fn function_words_are_sorted_and_folded() {
        for pack in PACKS {
            let words = pack.function_words;
            assert!(
                words.windows(2).all(|w| w[0] < w[1]),
                "{:?}: function words must be sorted and unique",
                pack.lang
            );
            for w in words {
                assert_eq!(folded(w), *w, "{:?}: {w:?} is not folded", pack.lang);
            }
        }
    }

    #[test]
    fn morphology_tables_are_folded_and_consistent() {
        for pack in PACKS {
            let m = pack.morph;
            let lang = pack.lang;
            let mut lemmas = std::collections::HashSet::new();
            for (lemma, _) in m.verbs {
                assert_eq!(
                    folded(lemma),
                    *lemma,
                    "{lang:?}: lemma {lemma:?} is not folded"
                );
                assert!(
                    lemmas.insert(*lemma),
                    "{lang:?}: lemma {lemma:?} listed twice"
                );
            }
            // A whole form may name a lemma of its own (auxiliaries, verbs only listed whole);
            // a stem of a lemma nothing else knows would make forms no predicate can use.
            for (form, lemma, _, _) in m.forms {
                assert_eq!(folded(form), *form, "{lang:?}: form {form:?} is not folded");
                lemmas.insert(*lemma);
            }
            for (stem, lemma, _) in m.stems {
                assert_eq!(folded(stem), *stem, "{lang:?}: stem {stem:?} is not folded");
                assert!(
                    lemmas.contains(lemma),
                    "{lang:?}: stem {stem:?} of unknown {lemma:?}"
                );
            }
            for set in [m.not_verbs, m.determiners] {
                for w in set {
                    assert_eq!(folded(w), *w, "{lang:?}: {w:?} is not folded");
                }
            }
            for (w, _) in m.enclitics.iter().chain(m.proclitics) {
                assert_eq!(folded(w), *w, "{lang:?}: clitic {w:?} is not folded");
            }
        }
    }

    #[test]
    fn lexicon_entries_are_usable() {
        for pack in PACKS {
            let mut seen = std::collections::HashSet::new();
            for (phrase, _) in pack.lexicon {
                assert!(
                    !phrase.trim().is_empty() && phrase.trim() == *phrase,
                    "{:?}: lexicon phrase {phrase:?} is empty or padded",
                    pack.lang
                );
                // Text is folded before the lexicon sees it: an accent here would never match.
                assert_eq!(
                    folded(phrase),
                    *phrase,
                    "{:?}: lexicon phrase {phrase:?} is not folded",
                    pack.lang
                );
                assert!(
                    seen.insert(folded(phrase)),
                    "{:?}: lexicon phrase {phrase:?} listed twice",
                    pack.lang
                );
            }
        }
    }
}
