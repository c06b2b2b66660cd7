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

use std::sync::LazyLock;

use crate::lang::vocab::{Person, Tense, Verb, VerbKind};
use crate::lang::{Lang, Morph, Pack};

type Map<K, V> = rustc_hash::FxHashMap<K, V>;
type Set<K> = rustc_hash::FxHashSet<K>;

/// One pack's morphology, indexed.
struct Index {
    lemmas: Map<&'static str, VerbKind>,
    forms: Map<&'static str, (&'static str, Tense, Option<Person>)>,
    /// Lemmas that only the whole forms name ("will", "can").
    form_lemmas: Set<&'static str>,
    /// Every form a lemma and an ending make, with the ending (its index) and the lemma, in
    /// the order [`plain`] prefers them: by ending, the plain stem before a doubled final
    /// consonant ("stopped").
    regular: Map<String, Vec<(usize, &'static str)>>,
    /// Every form an irregular stem and its endings make ("tuve", "dijo"), first listing first.
    irregular: Map<String, (&'static str, Tense, Option<Person>)>,
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
        Index {
            lemmas: morph.verbs.iter().copied().collect(),
            form_lemmas: morph.forms.iter().map(|f| f.1).collect(),
            forms,
            regular: regular_forms(morph),
            irregular: irregular_forms(morph),
            not_verbs: morph.not_verbs.iter().copied().collect(),
            determiners: morph.determiners.iter().copied().collect(),
            proclitics: morph.proclitics.iter().copied().collect(),
            subjects: morph.subjects.iter().copied().collect(),
            morph,
        }
    }
}

/// The regular forms of a pack's lemmas (see [`Index::regular`]).
fn regular_forms(morph: &Morph) -> Map<String, Vec<(usize, &'static str)>> {
    let mut out: Map<String, Vec<(usize, bool, &'static str)>> = Map::default();
    for (k, e) in morph.endings.iter().enumerate() {
        for (lemma, _) in morph.verbs {
            if let Some(stem) = lemma.strip_suffix(e.lemma_end)
                && stem.len() >= 2
            {
                out.entry(format!("{stem}{}", e.suffix))
                    .or_default()
                    .push((k, false, lemma));
            }
            // "stopped", "planning": the final consonant doubled before the ending.
            let last = lemma.bytes().last().unwrap_or(b'a');
            if morph.double_final
                && e.lemma_end.is_empty()
                && !e.suffix.is_empty()
                && lemma.len() >= 2
                && last.is_ascii_alphabetic()
                && !b"aeiou".contains(&last)
            {
                out.entry(format!("{lemma}{}{}", char::from(last), e.suffix))
                    .or_default()
                    .push((k, true, lemma));
            }
        }
    }
    out.into_iter()
        .map(|(form, mut list)| {
            list.sort_by_key(|(k, doubled, _)| (*k, *doubled));
            (form, list.into_iter().map(|(k, _, l)| (k, l)).collect())
        })
        .collect()
}

/// The forms of a pack's irregular stems (see [`Index::irregular`]).
fn irregular_forms(morph: &Morph) -> Map<String, (&'static str, Tense, Option<Person>)> {
    let mut out = Map::default();
    for (set, suffix, tense, person) in morph.stem_endings {
        for (stem, lemma, stem_set) in morph.stems {
            if stem_set == set {
                out.entry(format!("{stem}{suffix}"))
                    .or_insert((*lemma, *tense, *person));
            }
        }
    }
    out
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
    // The endings the word ends with, in the pack's order of preference (an empty suffix, the
    // English base form, comes last in its pack).
    for &(k, lemma) in ix.regular.get(word).into_iter().flatten() {
        let e = &ix.morph.endings[k];
        if e.accent.is_none_or(|a| a == accent) {
            return verb(ix, lemma, e.tense, e.person);
        }
    }
    if let Some((lemma, tense, person)) = ix.irregular.get(word) {
        return verb(ix, lemma, *tense, *person);
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
    let strip = |s: &str| -> Option<(usize, Option<Person>)> {
        enclitics
            .iter()
            .filter(|(c, _)| s.ends_with(c) && s.len() > c.len() + 1)
            .max_by_key(|(c, _)| c.len())
            .map(|(c, p)| (c.len(), *p))
    };
    let (n1, p1) = strip(word)?;
    let base1 = &word[..word.len() - n1];
    let mut candidates = vec![(base1, p1)];
    if let Some((n2, p2)) = strip(base1) {
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
