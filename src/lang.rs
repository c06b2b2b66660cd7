//! Which language a client wrote in: Spanish or English, by counting function words.
//!
//! Mails to a freelancer are short and full of names, URLs and product words; what tells the two
//! languages apart reliably is their small closed-class words (articles, prepositions, pronouns),
//! plus a few letters only Spanish uses. A full statistical detector would add megabytes for two
//! languages; this one is a table and a loop.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;

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
}

const SPANISH: &[&str] = &[
    "el", "la", "los", "las", "un", "una", "de", "del", "que", "y", "en", "por", "para", "con",
    "no", "es", "lo", "al", "se", "me", "te", "mi", "tu", "su", "hoy", "mañana", "manana", "ya",
    "pero", "como", "muy", "más", "mas", "hola", "gracias", "favor", "puedes", "necesito", "antes",
    "hasta", "esta", "este", "semana", "web", "está", "sale", "ahora", "cuando", "q", "d", "x",
    "hay", "son", "le", "nos", "tenemos", "saludos", "buenas", "buenos", "días", "tarde", "noche",
    "porfa", "porfi", "también", "sí", "si", "estoy",
];

const ENGLISH: &[&str] = &[
    "the", "an", "of", "and", "to", "in", "for", "on", "by", "with", "is", "are", "it", "this",
    "that", "you", "your", "we", "our", "i", "my", "can", "could", "please", "thanks", "thank",
    "hi", "hello", "today", "tomorrow", "need", "be", "will", "would", "at", "before", "end",
    "week", "from", "have", "has", "get", "do", "not", "asap", "let", "know", "just", "all", "so",
    "if", "up", "out", "as", "what", "when", "there", "tonight", "morning", "cheers", "regards",
    "best", "its", "it's", "i'm", "we're", "don't", "tmrw",
];

/// Every function word, with whether it is Spanish and whether it is English. Words with
/// accents are also listed without them ("más" and "mas"), as people often type them so.
static WORDS: LazyLock<HashMap<String, (bool, bool)>> = LazyLock::new(|| {
    let mut words: HashMap<String, (bool, bool)> = HashMap::new();
    for (list, spanish) in [(SPANISH, true), (ENGLISH, false)] {
        for w in list {
            for key in [(*w).to_owned(), strip_accents(w)] {
                let entry = words.entry(key).or_insert((false, false));
                if spanish {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        }
    }
    words
});

fn strip_accents(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            'ú' | 'ü' => 'u',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// The points one lowercased word gives (Spanish, English), accents optional: 1 for a function
/// word of that language. Callers that already split and normalised a text (the deadline
/// extractor) add these up instead of calling [`scores`].
pub fn word_points(word: &str) -> (u32, u32) {
    WORDS
        .get(word)
        .map_or((0, 0), |&(es, en)| (u32::from(es), u32::from(en)))
}

/// The language of `text`, or `None` when it shows no sign of either.
pub fn detect(text: &str) -> Option<Lang> {
    let (es, en) = scores(text);
    match es.cmp(&en) {
        std::cmp::Ordering::Greater => Some(Lang::Es),
        std::cmp::Ordering::Less => Some(Lang::En),
        std::cmp::Ordering::Equal => None,
    }
}

/// The evidence for each language in `text`: (Spanish, English) points, one per function word
/// and two per letter or mark only Spanish uses. [`detect`] picks the larger; callers that can
/// weigh other evidence (the deadline grammars) use the points themselves.
pub fn scores(text: &str) -> (u32, u32) {
    let mut es = 0u32;
    let mut en = 0u32;
    let mut lower = String::new();
    for word in text
        .split(|c: char| !(c.is_alphabetic() || c == '\''))
        .filter(|w| !w.is_empty())
        .take(2000)
    {
        if !word.is_ascii() && word.chars().any(|c| matches!(c, 'ñ' | 'Ñ')) {
            es += 2;
        }
        lower.clear();
        if word.is_ascii() {
            lower.push_str(word);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(word.chars().flat_map(char::to_lowercase));
        }
        let (e, n) = word_points(&lower);
        es += e;
        en += n;
    }
    if text.contains('¿') || text.contains('¡') {
        es += 2;
    }
    (es, en)
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
        assert_eq!(detect("12345 !!!"), None);
    }
}
