//! Tokenizer and normaliser: the one place that deals with letters, digits and spelling.
//!
//! Grammars never look at raw text. They see words already lowercased with accents removed
//! ("Miércoles" and "miercoles" are the same word, and so are "mañana" and "manana"), numbers
//! with their value, and single punctuation marks, each with its byte span in the original
//! text. Letters and digits are split apart, so "5pm" is `5` `pm` and "17h" is `17` `h`.
//! Normalised words live in one buffer per text, so tokenizing does not allocate per token.

use std::ops::Range;

use super::quote;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A run of letters (apostrophes inside are kept: "won't", "i'm").
    Word,
    /// A run of ASCII digits.
    Number,
    /// Any other visible character, and the end of a line (`'\n'`).
    Punct(char),
}

/// One token, pointing into the original text and into the normalised buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its kind.
    pub kind: Kind,
    /// Byte span in the original text.
    pub span: Range<usize>,
    /// Byte span of the normalised word in [`Tokens::norm`] (empty for numbers and punctuation).
    norm: Range<usize>,
    /// The value of a number (saturating), 0 for other tokens.
    pub value: u32,
    /// How many digits a number has, 0 for other tokens.
    pub digits: u8,
}

/// The tokens of a text, with the buffer their normalised words live in.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    /// Normalised words, back to back.
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
    let ends_sentence = body.ends_with(['.', '!', '?', ':', ';', '…']);
    let next_is_item = next.is_empty()
        || next.starts_with(['-', '*', '•', '>'])
        || next
            .split_once(['.', ')'])
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    body.chars().count() >= WRAP_WIDTH && !ends_sentence && !next_is_item
}

impl Tokens {
    /// Tokenizes the sender's own lines of `text` (see [`quote::own_lines`]).
    pub fn of_own_text(text: &str) -> Tokens {
        Tokens::of_own_text_until(text, quote::cut_point(text))
    }

    /// Tokenizes the lines of `text` before byte `cut` that are not quoted (`>`).
    pub fn of_own_text_until(text: &str, cut: usize) -> Tokens {
        let mut tokens = Tokens {
            norm: String::with_capacity(text.len().min(1 << 16)),
            list: Vec::with_capacity(text.len() / 4 + 4),
        };
        let mut lines = quote::own_lines_until(text, cut).peekable();
        while let Some((offset, line)) = lines.next() {
            let soft = soft_wrapped(line, lines.peek().map(|(_, next)| *next));
            tokens.push_line(offset, line, soft);
        }
        tokens
    }

    /// Tokenizes all of `text`, quoted lines included (for tests and tools).
    pub fn of(text: &str) -> Tokens {
        let mut tokens = Tokens::default();
        let mut offset = 0;
        let mut lines = text.split_inclusive('\n').peekable();
        while let Some(line) = lines.next() {
            let soft = soft_wrapped(line, lines.peek().copied());
            tokens.push_line(offset, line, soft);
            offset += line.len();
        }
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

    /// The normalised word at `i`, or `""` when `i` is not a word.
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
        let mut chars = line.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let start = offset + i;
            if c == '\n' && soft {
                continue;
            } else if c == '\n' {
                self.push(Kind::Punct('\n'), start..start + 1, 0..0, 0, 0);
            } else if c.is_whitespace() {
                continue;
            } else if c.is_ascii_digit() {
                let mut value: u32 = c.to_digit(10).unwrap_or(0);
                let mut digits: u8 = 1;
                let mut end = start + 1;
                while let Some(&(j, d)) = chars.peek() {
                    let Some(v) = d.to_digit(10).filter(|_| d.is_ascii_digit()) else {
                        break;
                    };
                    value = value.saturating_mul(10).saturating_add(v);
                    digits = digits.saturating_add(1);
                    end = offset + j + 1;
                    chars.next();
                }
                self.push(Kind::Number, start..end, 0..0, value, digits);
            } else if c.is_alphabetic() {
                let norm_start = self.norm.len();
                push_normalised(&mut self.norm, c);
                let mut end = start + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_alphabetic() {
                        push_normalised(&mut self.norm, d);
                    } else if is_apostrophe(d) && next_is_letter(line, j + d.len_utf8()) {
                        self.norm.push('\'');
                    } else {
                        break;
                    }
                    end = offset + j + d.len_utf8();
                    chars.next();
                }
                let norm_end = self.norm.len();
                self.push(Kind::Word, start..end, norm_start..norm_end, 0, 0);
            } else {
                self.push(Kind::Punct(c), start..start + c.len_utf8(), 0..0, 0, 0);
            }
        }
    }

    fn push(&mut self, kind: Kind, span: Range<usize>, norm: Range<usize>, value: u32, digits: u8) {
        self.list.push(Token {
            kind,
            span,
            norm,
            value,
            digits,
        });
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

/// Appends `c` lowercased and without accents ("Á" → "a", "ñ" → "n", "ü" → "u").
fn push_normalised(out: &mut String, c: char) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_normalises() {
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
                "won't",
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
    fn big_numbers_saturate() {
        let t = Tokens::of("99999999999999999999");
        assert_eq!(t.number(0), Some(u32::MAX));
        assert_eq!(t.get(0).map(|t| t.digits), Some(20));
    }
}
