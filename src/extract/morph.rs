//! Morphology: what a word says as a verb, read from a pack's lemmas and endings.
//!
//! A form is analysed by stripping an ending and finding the lemma the rest makes ("mandamos"
//! = "mand" + "amos" of "mandar", present, we; "updated" = "updat" + "ed" of "update", past);
//! irregular stems take their own endings ("tuv" + "e" of "tener", past, I), and a few forms
//! are listed whole ("fue", "went"). Spanish object pronouns written onto a verb are taken off
//! first ("mánda-me-lo"), and they say whom the action is for. The clause rules then only see
//! [`Verb`] values: a kind, a tense, a person.
//!
//! Context decides the rest and is the grammar's job: after an article a form is a noun ("la
//! entrega", "the call"), and a present form opening a clause may be an imperative.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

use super::grammar::Fnv;
use crate::lang::vocab::{Person, Tense, Verb, VerbKind};
use crate::lang::{Ending, Lang, Morph, Pack, StemSet};

type Map<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
type Set<K> = HashSet<K, BuildHasherDefault<Fnv>>;
/// An irregular stem's ending: the stem set it joins, the suffix, and the form it makes.
type StemEnding = (StemSet, &'static str, Tense, Option<Person>);

/// One pack's morphology, indexed.
struct Index {
    lemmas: Map<&'static str, VerbKind>,
    forms: Map<&'static str, (&'static str, Tense, Option<Person>)>,
    /// Lemmas that only the whole forms name ("will", "can").
    form_lemmas: Set<&'static str>,
    stems: Map<&'static str, Vec<(&'static str, StemSet)>>,
    /// The endings, by the last byte of their suffix (the empty suffix under 0).
    endings: Map<u8, Vec<Ending>>,
    /// The endings of irregular stems, by the last byte of their suffix.
    stem_endings: Map<u8, Vec<StemEnding>>,
    not_verbs: Set<&'static str>,
    determiners: Set<&'static str>,
    proclitics: Map<&'static str, Option<Person>>,
    subjects: Map<&'static str, Person>,
    morph: &'static Morph,
}

impl Index {
    fn new(morph: &'static Morph) -> Index {
        let mut forms = Map::default();
        for (form, lemma, tense, person) in morph.forms {
            // The first listing of a form is its reading.
            forms.entry(*form).or_insert((*lemma, *tense, *person));
        }
        let mut stems: Map<&'static str, Vec<(&'static str, StemSet)>> = Map::default();
        for (stem, lemma, set) in morph.stems {
            stems.entry(*stem).or_default().push((*lemma, *set));
        }
        let mut endings: Map<u8, Vec<Ending>> = Map::default();
        for e in morph.endings {
            endings
                .entry(e.suffix.bytes().last().unwrap_or(0))
                .or_default()
                .push(*e);
        }
        let mut stem_endings: Map<u8, Vec<_>> = Map::default();
        for s in morph.stem_endings {
            stem_endings
                .entry(s.1.bytes().last().unwrap_or(0))
                .or_default()
                .push(*s);
        }
        Index {
            lemmas: morph.verbs.iter().copied().collect(),
            form_lemmas: morph.forms.iter().map(|f| f.1).collect(),
            forms,
            stems,
            endings,
            stem_endings,
            not_verbs: morph.not_verbs.iter().copied().collect(),
            determiners: morph.determiners.iter().copied().collect(),
            proclitics: morph.proclitics.iter().copied().collect(),
            subjects: morph.subjects.iter().copied().collect(),
            morph,
        }
    }
}

static INDEXES: LazyLock<[Index; 2]> = LazyLock::new(|| {
    [
        Index::new(crate::lang::es::PACK.morph),
        Index::new(crate::lang::en::PACK.morph),
    ]
});

fn index(pack: &Pack) -> &'static Index {
    let k = match pack.lang {
        Lang::Es => 0,
        Lang::En => 1,
    };
    &INDEXES[k]
}

/// The verb `word` (folded; `accent`: its last letter was accented) is in `pack`, out of
/// context, or `None` when it is not a verb form the pack knows.
pub fn analyse(pack: &Pack, word: &str, accent: bool) -> Option<Verb> {
    let ix = index(pack);
    if let Some(v) = plain(ix, word, accent) {
        return Some(v);
    }
    with_enclitics(ix, word).or_else(|| by_accent(pack, word, accent))
}

/// A Spanish verb the lemmas do not list, told by an ending only verbs have when accented: the
/// future ("abonará", "tendrán") and the preterite "él" form ("llamó", "subió").
fn by_accent(pack: &Pack, word: &str, accent: bool) -> Option<Verb> {
    if !pack.morph.pro_drop || !accent || word.len() < 5 {
        return None;
    }
    let (tense, person) = if word.ends_with("ra") {
        (Tense::Future, Person::It)
    } else if word.ends_with("re") {
        (Tense::Future, Person::I)
    } else if word.ends_with('o') {
        (Tense::Past, Person::It)
    } else {
        return None;
    };
    Some(Verb {
        kind: VerbKind::Act,
        tense,
        person: Some(person),
        to: None,
    })
}

/// Whether `word` (folded) is one of the pack's articles and determiners, after which a verb
/// form is a noun.
pub fn determiner(pack: &Pack, word: &str) -> bool {
    index(pack).determiners.contains(word)
}

/// The person a pronoun standing before a verb names ("te" → you, "me" → me), if it is one.
pub fn proclitic(pack: &Pack, word: &str) -> Option<Option<Person>> {
    index(pack).proclitics.get(word).copied()
}

/// The person of a subject pronoun, if `word` is one.
pub fn subject(pack: &Pack, word: &str) -> Option<Person> {
    index(pack).subjects.get(word).copied()
}

fn verb(ix: &Index, lemma: &str, tense: Tense, person: Option<Person>) -> Option<Verb> {
    let kind = ix.lemmas.get(lemma).copied().or_else(|| {
        // Auxiliaries listed only as forms ("will", "can", "must") name their kind here.
        Some(match lemma {
            "will" => VerbKind::Will,
            "would" => VerbKind::Would,
            "can" => VerbKind::Can,
            "must" => VerbKind::Must,
            "have" => VerbKind::Have,
            "haber" => VerbKind::Perfect,
            "be" => VerbKind::Be,
            "do" => VerbKind::Do,
            _ if ix.form_lemmas.contains(lemma) => VerbKind::Act,
            _ => return None,
        })
    })?;
    Some(Verb {
        kind,
        tense,
        person,
        to: None,
    })
}

/// A form without attached pronouns.
fn plain(ix: &Index, word: &str, accent: bool) -> Option<Verb> {
    if word.is_empty() || (!accent && ix.not_verbs.contains(word)) {
        return None;
    }
    if let Some((lemma, tense, person)) = ix.forms.get(word) {
        return verb(ix, lemma, *tense, *person);
    }
    let last = word.bytes().last().unwrap_or(0);
    // The endings the word can end with, in the pack's order of preference (an empty suffix,
    // the English base form, comes last in its pack).
    let tried = ix
        .endings
        .get(&last)
        .into_iter()
        .chain(ix.endings.get(&0))
        .flatten();
    for e in tried {
        if let Some(v) = by_ending(ix, word, accent, e) {
            return Some(v);
        }
    }
    for (set, suffix, tense, person) in ix.stem_endings.get(&last).into_iter().flatten() {
        let Some(stem) = word.strip_suffix(suffix) else {
            continue;
        };
        if let Some(list) = ix.stems.get(stem)
            && let Some((lemma, _)) = list.iter().find(|(_, s)| s == set)
        {
            return verb(ix, lemma, *tense, *person);
        }
    }
    None
}

fn by_ending(ix: &Index, word: &str, accent: bool, e: &Ending) -> Option<Verb> {
    let stem = word.strip_suffix(e.suffix)?;
    if stem.len() < 2 || e.accent.is_some_and(|a| a != accent) {
        return None;
    }
    let mut lemma = String::with_capacity(stem.len() + e.lemma_end.len());
    lemma.push_str(stem);
    lemma.push_str(e.lemma_end);
    if ix.lemmas.contains_key(lemma.as_str()) {
        return verb(ix, &lemma, e.tense, e.person);
    }
    // "stopped", "planning": a doubled final consonant.
    if ix.morph.double_final && e.lemma_end.is_empty() && !e.suffix.is_empty() {
        let b = stem.as_bytes();
        if b.len() >= 3
            && b[b.len() - 1].is_ascii_alphabetic()
            && b[b.len() - 1] == b[b.len() - 2]
            && !b"aeiou".contains(&b[b.len() - 1])
        {
            let single = &stem[..stem.len() - 1];
            if ix.lemmas.contains_key(single) {
                return verb(ix, single, e.tense, e.person);
            }
        }
    }
    None
}

/// A form with up to two pronouns written onto it ("mándamelo", "enviarte", "diciéndole"):
/// an imperative, an infinitive or a gerund, for whom the first pronoun names.
fn with_enclitics(ix: &Index, word: &str) -> Option<Verb> {
    let enclitics = ix.morph.enclitics;
    if enclitics.is_empty() {
        return None;
    }
    let strip = |w: &'static str, s: &str| -> Option<(usize, Option<Person>)> {
        let _ = w;
        enclitics
            .iter()
            .filter(|(c, _)| s.ends_with(c) && s.len() > c.len() + 1)
            .max_by_key(|(c, _)| c.len())
            .map(|(c, p)| (c.len(), *p))
    };
    let (n1, p1) = strip("", word)?;
    let base1 = &word[..word.len() - n1];
    let mut candidates = vec![(base1, p1)];
    if let Some((n2, p2)) = strip("", base1) {
        candidates.push((&base1[..base1.len() - n2], p2));
    }
    // The pronoun nearest the verb names the person ("mánda-me-lo": me).
    for (base, to) in candidates.into_iter().rev() {
        let Some(v) = plain(ix, base, false) else {
            continue;
        };
        let tense = match v.tense {
            Tense::Infinitive | Tense::Gerund => v.tense,
            Tense::Imperative => Tense::Imperative,
            Tense::Present if v.person == Some(Person::It) => Tense::Imperative,
            Tense::Subjunctive
                if matches!(v.person, Some(Person::It | Person::They | Person::We)) =>
            {
                Tense::Imperative
            }
            _ => continue,
        };
        return Some(Verb {
            tense,
            to: to.or(v.to),
            ..v
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{en, es};

    fn es_v(word: &str, accent: bool) -> Option<(VerbKind, Tense, Option<Person>, Option<Person>)> {
        analyse(&es::PACK, word, accent).map(|v| (v.kind, v.tense, v.person, v.to))
    }

    #[test]
    fn spanish_forms() {
        use Person::*;
        use Tense::*;
        assert_eq!(
            es_v("necesito", false),
            Some((VerbKind::Need, Present, Some(I), None))
        );
        assert_eq!(
            es_v("mando", true),
            Some((VerbKind::Act, Past, Some(It), None))
        );
        assert_eq!(
            es_v("mando", false),
            Some((VerbKind::Act, Present, Some(I), None))
        );
        assert_eq!(
            es_v("mande", true),
            Some((VerbKind::Act, Past, Some(I), None))
        );
        assert_eq!(
            es_v("mandamelo", false),
            Some((VerbKind::Act, Imperative, Some(It), Some(I)))
        );
        assert_eq!(es_v("hazlo", false).map(|v| v.1), Some(Imperative));
        assert_eq!(
            es_v("tuve", false),
            Some((VerbKind::Have, Past, Some(I), None))
        );
        assert_eq!(es_v("tendremos", false).map(|v| v.1), Some(Future));
        assert_eq!(
            es_v("quiero", false),
            Some((VerbKind::Want, Present, Some(I), None))
        );
        assert_eq!(
            es_v("necesitariamos", false).map(|v| v.1),
            Some(Conditional)
        );
        assert_eq!(
            es_v("subimos", false).map(|v| (v.1, v.2)),
            Some((Present, Some(We)))
        );
        assert_eq!(es_v("mandaron", false).map(|v| v.1), Some(Past));
        assert_eq!(
            es_v("enviame", false).map(|v| (v.1, v.3)),
            Some((Imperative, Some(I)))
        );
        assert_eq!(es_v("para", false), None);
        assert_eq!(es_v("esta", false), None);
        assert_eq!(es_v("esta", true).map(|v| v.0), Some(VerbKind::Be));
    }

    #[test]
    fn english_forms() {
        let v = |w: &str| analyse(&en::PACK, w, false).map(|v| (v.kind, v.tense));
        assert_eq!(v("sends"), Some((VerbKind::Act, Tense::Present)));
        assert_eq!(v("updated"), Some((VerbKind::Act, Tense::Past)));
        assert_eq!(v("stopped"), Some((VerbKind::Act, Tense::Past)));
        assert_eq!(v("planning"), Some((VerbKind::Intend, Tense::Gerund)));
        assert_eq!(v("sent"), Some((VerbKind::Act, Tense::Past)));
        assert_eq!(v("need"), Some((VerbKind::Need, Tense::Base)));
        assert_eq!(v("will"), Some((VerbKind::Will, Tense::Future)));
        assert_eq!(v("morning"), None);
        assert_eq!(v("the"), None);
    }
}
