//! Tokenizer: the one place that deals with letters, digits and spelling.
//!
//! Grammars never look at raw text. They see words folded by [`lang::fold`] ("Miércoles" and
//! "miercoles" are the same word, and so are "mañana" and "manana"), numbers with their value,
//! and single punctuation marks, each with its byte span in the original text. Letters and
//! digits are split apart, so "5pm" is `5` `pm` and "17h" is `17` `h`. English contractions are
//! split where their parts begin ("won't" is `wo` `n't`, "I'll" is `i` `'ll`, "today's" is
//! `today` `'s`), so a lexicon can name each part. Each word keeps one fact folding loses: whether
//! its last letter carried an accent ("mandó", "está"), which is all that tells some Spanish verb
//! forms apart. Folded words live in one buffer per text, so tokenizing does not allocate per
//! token.

use std::ops::Range;

use crate::lang;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A run of letters (a contraction's part keeps its apostrophe: `'ll`, `n't`).
    Word,
    /// A run of ASCII digits.
    Number,
    /// Any other visible character, and the end of a line (`'\n'`).
    Punct(char),
}

/// One token, pointing into the original text and into the folded buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: Kind,
    /// Byte span in the original text.
    pub span: Range<usize>,
    /// Byte span of the folded word in the buffer (empty for numbers and punctuation).
    norm: Range<usize>,
    /// The value of a number (saturating), 0 for other tokens.
    pub value: u32,
    /// How many digits a number has, 0 for other tokens.
    pub digits: u8,
    /// A word whose last letter is an accented vowel ("mandó", "está").
    pub final_accent: bool,
    /// A word written with a capital first letter.
    pub capital: bool,
    /// The token stands on a line that looks like code ("p <- plot(x = 1:10)").
    pub code: bool,
}

/// The tokens of a text, with the buffer their folded words live in.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    /// Folded words, back to back.
    norm: String,
    /// The tokens, in text order.
    pub list: Vec<Token>,
}

/// Lines at least this long that end without punctuation were most likely wrapped by the
/// sender's mail program (plain-text mail wraps at 72–78 columns).
const WRAP_WIDTH: usize = 50;

/// True when the end of `line` is a soft wrap: a long line, not ending a sentence or a list
/// item, followed by a line that continues the sentence (not blank, not a new list item).
fn soft_wrapped(line: &str, next: Option<&str>) -> bool {
    let body = line.trim_end();
    let Some(next) = next.map(str::trim_start) else {
        return false;
    };
    if body.len() < WRAP_WIDTH || body.ends_with(['.', '!', '?', ':', ';', '…']) {
        return false;
    }
    let next_is_item = next.is_empty()
        || next.starts_with(['-', '*', '•', '>'])
        || next
            .split_once(['.', ')'])
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    !next_is_item && body.chars().count() >= WRAP_WIDTH
}

impl Tokens {
    /// Tokenizes the given lines of a text (each with its byte offset in the text), joining
    /// soft-wrapped ones.
    pub fn of_lines<'t>(lines: impl Iterator<Item = (usize, &'t str)>) -> Tokens {
        let mut tokens = Tokens::default();
        tokens.push_lines(lines);
        tokens
    }

    fn push_lines<'t>(&mut self, lines: impl Iterator<Item = (usize, &'t str)>) {
        let mut lines = lines.peekable();
        while let Some((offset, line)) = lines.next() {
            let soft = soft_wrapped(line, lines.peek().map(|(_, next)| *next));
            self.push_line(offset, line, soft);
        }
    }

    /// Tokenizes all of `text` (every line).
    pub fn of(text: &str) -> Tokens {
        // Mail text averages about five bytes a token.
        let mut tokens = Tokens {
            norm: String::with_capacity(text.len()),
            list: Vec::with_capacity(text.len() / 4),
        };
        let lines = text.split_inclusive('\n').scan(0, |pos, line| {
            let at = *pos;
            *pos += line.len();
            Some((at, line))
        });
        tokens.push_lines(lines);
        tokens
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Token `i`, if any.
    pub fn get(&self, i: usize) -> Option<&Token> {
        self.list.get(i)
    }

    /// The folded word at `i`, or `""` when `i` is not a word.
    pub fn word(&self, i: usize) -> &str {
        self.list
            .get(i)
            .filter(|t| t.kind == Kind::Word)
            .and_then(|t| self.norm.get(t.norm.clone()))
            .unwrap_or("")
    }

    /// The value of the number at `i`.
    pub fn number(&self, i: usize) -> Option<u32> {
        self.list
            .get(i)
            .filter(|t| t.kind == Kind::Number)
            .map(|t| t.value)
    }

    /// The punctuation mark at `i`.
    pub fn punct(&self, i: usize) -> Option<char> {
        match self.list.get(i)?.kind {
            Kind::Punct(c) => Some(c),
            _ => None,
        }
    }

    /// Whether token `i` starts right where token `i - 1` ends (no space between).
    pub fn glued(&self, i: usize) -> bool {
        match (
            i.checked_sub(1).and_then(|p| self.list.get(p)),
            self.list.get(i),
        ) {
            (Some(a), Some(b)) => a.span.end == b.span.start,
            _ => false,
        }
    }

    /// Tokenizes one line; `soft`: its line end is a wrap inside a sentence, not a break.
    fn push_line(&mut self, offset: usize, line: &str, soft: bool) {
        let first = self.list.len();
        let bytes = line.as_bytes();
        // A run of spaces before a capital, after a word, is a sentence end that lost its full
        // stop ("…to your groups   There is only…").
        let mut gap: Option<(usize, usize)> = None;
        let mut i = 0;
        while let Some(c) = char_at(line, i) {
            let start = offset + i;
            let width = c.len_utf8();
            if c.is_whitespace() && c != '\n' {
                let (at, n) = gap.unwrap_or((start, 0));
                gap = Some((at, n + if c == '\t' { 2 } else { 1 }));
                i += width;
                continue;
            }
            if let Some((at, n)) = gap.take()
                && n >= 2
                && c.is_uppercase()
                && self.list.len() > first
                && self
                    .list
                    .last()
                    .is_some_and(|t| matches!(t.kind, Kind::Word | Kind::Number))
            {
                self.push(Kind::Punct('\n'), at..at + 1, 0..0, 0, 0);
            }
            if c == '\n' {
                if !soft {
                    self.push(Kind::Punct('\n'), start..start + 1, 0..0, 0, 0);
                }
                i += 1;
            } else if c.is_ascii_digit() {
                let run = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(bytes.len() - i);
                let mut value: u32 = 0;
                for b in &bytes[i..i + run] {
                    value = value.saturating_mul(10).saturating_add(u32::from(b - b'0'));
                }
                let digits = u8::try_from(run).unwrap_or(u8::MAX);
                self.push(Kind::Number, start..start + run, 0..0, value, digits);
                i += run;
            } else if c.is_alphabetic() {
                // Collect the word with its inner apostrophes, then split contractions.
                let mut end = i + width;
                let mut last = c;
                while let Some(d) = char_at(line, end) {
                    if d.is_alphabetic() {
                        last = d;
                    } else if !(is_apostrophe(d) && next_is_letter(line, end + d.len_utf8())) {
                        break;
                    }
                    end += d.len_utf8();
                }
                let raw = line.get(i..end).unwrap_or("");
                self.push_word(start, raw, last, c.is_uppercase());
                i = end;
            } else {
                self.push(Kind::Punct(c), start..start + width, 0..0, 0, 0);
                i += width;
            }
        }
        if code_line(line) {
            for t in &mut self.list[first..] {
                t.code = true;
            }
        }
    }

    /// Pushes one word (split at a contraction) starting at byte `start`.
    fn push_word(&mut self, start: usize, raw: &str, last: char, capital: bool) {
        let split = contraction_at(raw);
        let parts = match split {
            Some(at) => [(0, at), (at, raw.len())],
            None => [(0, raw.len()), (raw.len(), raw.len())],
        };
        for (k, (a, b)) in parts.into_iter().enumerate() {
            if a == b {
                continue;
            }
            let part = raw.get(a..b).unwrap_or("");
            let norm_start = self.norm.len();
            if part.bytes().all(|b| b.is_ascii_alphabetic() || b == b'\'') {
                // The common case, in one copy.
                self.norm.push_str(part);
                self.norm[norm_start..].make_ascii_lowercase();
            } else {
                for ch in part.chars() {
                    if is_apostrophe(ch) {
                        self.norm.push('\'');
                    } else {
                        lang::fold(&mut self.norm, ch);
                    }
                }
            }
            let norm_end = self.norm.len();
            self.list.push(Token {
                kind: Kind::Word,
                span: start + a..start + b,
                norm: norm_start..norm_end,
                value: 0,
                digits: 0,
                final_accent: b == raw.len() && matches!(last, 'á' | 'é' | 'í' | 'ó' | 'ú'),
                capital: k == 0 && capital,
                code: false,
            });
        }
    }

    fn push(&mut self, kind: Kind, span: Range<usize>, norm: Range<usize>, value: u32, digits: u8) {
        self.list.push(Token {
            kind,
            span,
            norm,
            value,
            digits,
            final_accent: false,
            capital: false,
            code: false,
        });
    }
}

/// Whether a line looks like code: three or more of the marks code is made of, an assignment
/// or a call among them.
fn code_line(line: &str) -> bool {
    if !(line.contains('=') || line.contains("()") || line.contains('`') || line.contains('{')) {
        return false;
    }
    let marks = line
        .bytes()
        .filter(|b| {
            matches!(
                b,
                b'(' | b')'
                    | b'{'
                    | b'}'
                    | b'['
                    | b']'
                    | b'='
                    | b';'
                    | b'<'
                    | b'>'
                    | b'^'
                    | b'`'
                    | b'$'
                    | b'\\'
            )
        })
        .count();
    marks >= 3
}

/// Where an English contraction's second part begins in `word`: before "'ll", "'re", "'ve",
/// "'m", "'d", "'s" and "n't".
fn contraction_at(word: &str) -> Option<usize> {
    if !word.bytes().any(|b| b == b'\'' || b == b'`' || b >= 0x80) {
        return None;
    }
    let (at, ch) = word.char_indices().rev().find(|(_, c)| is_apostrophe(*c))?;
    let suffix = &word[at + ch.len_utf8()..];
    if at == 0 {
        return None;
    }
    match suffix.to_ascii_lowercase().as_str() {
        "ll" | "re" | "ve" | "m" | "d" | "s" => Some(at),
        "t" if word[..at].to_ascii_lowercase().ends_with('n') && at > 1 => Some(at - 1),
        _ => None,
    }
}

/// The parts a lexicon phrase word is tokenized into: split where a contraction begins.
pub fn split_word(word: &str) -> impl Iterator<Item = &str> {
    let at = contraction_at(word).unwrap_or(word.len());
    [&word[..at], &word[at..]]
        .into_iter()
        .filter(|p| !p.is_empty())
}

/// The character starting at byte `at` of `line`: ASCII without decoding.
fn char_at(line: &str, at: usize) -> Option<char> {
    match line.as_bytes().get(at)? {
        b if b.is_ascii() => Some(char::from(*b)),
        _ => line.get(at..)?.chars().next(),
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '`')
}

fn next_is_letter(line: &str, at: usize) -> bool {
    line.get(at..)
        .and_then(|rest| rest.chars().next())
        .is_some_and(char::is_alphabetic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_folds() {
        let t = Tokens::of("Mañana a las 5pm, MIÉRCOLES won't 17h");
        let words: Vec<&str> = (0..t.len()).map(|i| t.word(i)).collect();
        assert_eq!(
            words,
            [
                "manana",
                "a",
                "las",
                "",
                "pm",
                "",
                "miercoles",
                "wo",
                "n't",
                "",
                "h"
            ]
        );
        assert_eq!(t.number(3), Some(5));
        assert_eq!(t.punct(5), Some(','));
        assert!(t.glued(4));
        assert!(!t.glued(3));
    }

    #[test]
    fn contractions_and_accents() {
        let t = Tokens::of("I'll send today's file; te lo mandó");
        let words: Vec<&str> = (0..t.len()).map(|i| t.word(i)).collect();
        assert_eq!(
            words,
            [
                "i", "'ll", "send", "today", "'s", "file", "", "te", "lo", "mando"
            ]
        );
        assert!(t.get(9).is_some_and(|x| x.final_accent));
        assert!(!t.get(8).is_some_and(|x| x.final_accent));
        assert_eq!(split_word("won't").collect::<Vec<_>>(), ["wo", "n't"]);
        assert_eq!(split_word("o'clock").collect::<Vec<_>>(), ["o'clock"]);
    }

    #[test]
    fn big_numbers_saturate() {
        let t = Tokens::of("99999999999999999999");
        assert_eq!(t.number(0), Some(u32::MAX));
        assert_eq!(t.get(0).map(|t| t.digits), Some(20));
    }
}
