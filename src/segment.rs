//! Segmentation: which lines of a mail body the client wrote now, and what the rest is.
//!
//! A body is more than the client's request. Above it a greeting; below it a closing, a
//! signature (name, role, company, phones, links, opening hours), a legal disclaimer, a mobile
//! footer; around it the history of the thread, quoted with `>` or pasted below an attribution
//! line, an Outlook header block or a forwarded-message separator, in the language of whoever
//! wrote it. Only the message feeds understanding and language detection: office hours in a
//! signature or a deadline in a quoted mail are never the client's demand.
//!
//! The body is read line by line, once, with the markers of every language pack:
//!
//! 1. **History.** A `>` line starts a quote that ends with the last `>` line of its run; an
//!    attribution line ("El … escribió:", "On … wrote:", "Am … schrieb …:", wrapped over up to
//!    three lines, or Zoho's "---- On … wrote ----") belongs to the quote below it. When no `>`
//!    follows an attribution, or at an Outlook header block ("From: / Sent: / To:") or a
//!    separator ("-----Original Message-----", "Begin forwarded message:"), the history runs to
//!    the end. A forward keeps the forwarder's own note above it.
//! 2. **Around the message**, in each stretch of the client's own lines: a greeting on the
//!    first line; a signature from a `-- ` line, or from a closing formula ("Un saludo,",
//!    "Best,") followed only by short lines, or as a trailing paragraph of short lines that
//!    look like one (a name, a role, a company, phones, an address, links, opening hours);
//!    mobile footers ("Enviado desde mi iPhone"); disclaimers (a paragraph in the words only a
//!    disclaimer uses). A postscript ("PD:", "P.S.") after the signature is message again.
//!
//! Everything here is pure text work: no config, no clock.

use std::ops::Range;
use std::sync::LazyLock;

use crate::lang::{self, Markers};

/// What a block of lines is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// "Hola Ana,", "Hi Mark,".
    Greeting,
    /// What the client wrote now.
    Message,
    /// "Un saludo,", "Best regards".
    Closing,
    /// Name, role, company, phones, address, links, opening hours.
    Signature,
    /// A legal or confidentiality notice.
    Disclaimer,
    /// "Enviado desde mi iPhone", "Get Outlook for iOS".
    Footer,
    /// Quoted history: `>` lines, an attribution and what it introduces, an Outlook block.
    Quote,
    /// A forwarded message (the forwarder's note above it is message).
    Forward,
}

impl Kind {
    /// The name shown by `plazo extract` and `plazo preview`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Greeting => "greeting",
            Kind::Message => "message",
            Kind::Closing => "closing",
            Kind::Signature => "signature",
            Kind::Disclaimer => "disclaimer",
            Kind::Footer => "footer",
            Kind::Quote => "quote",
            Kind::Forward => "forward",
        }
    }
}

/// A run of whole lines of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// What the lines are.
    pub kind: Kind,
    /// Their byte range in the text (whole lines, line ends included).
    pub range: Range<usize>,
}

/// A body split into blocks, in text order; together they cover every line.
#[derive(Debug, Clone, Default)]
pub struct Segments {
    /// The blocks.
    pub blocks: Vec<Block>,
}

/// The sender's own name, when the caller knows it: a line that is just this name (or its first
/// word) ends the message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'a> {
    /// The display name of the From address.
    pub name: Option<&'a str>,
}

impl Segments {
    /// Segments `text` with no hints.
    pub fn of(text: &str) -> Segments {
        Segments::with_hints(text, Hints::default())
    }

    /// Segments `text`.
    pub fn with_hints(text: &str, hints: Hints<'_>) -> Segments {
        let lines = Line::split(text);
        let mut kinds = vec![Kind::Message; lines.len()];
        history(&lines, &mut kinds);
        let mut start = 0;
        while start < lines.len() {
            if kinds[start] != Kind::Message {
                start += 1;
                continue;
            }
            let end = (start..lines.len())
                .find(|&k| kinds[k] != Kind::Message)
                .unwrap_or(lines.len());
            around_message(&lines, &mut kinds[start..end], start, hints);
            start = end;
        }
        let mut blocks: Vec<Block> = Vec::new();
        for (line, kind) in lines.iter().zip(kinds) {
            match blocks.last_mut() {
                Some(b) if b.kind == kind => b.range.end = line.range.end,
                _ => blocks.push(Block {
                    kind,
                    range: line.range.clone(),
                }),
            }
        }
        Segments { blocks }
    }

    /// The lines of the client's message, each with its byte offset in the text.
    pub fn message_lines<'t>(&self, text: &'t str) -> impl Iterator<Item = (usize, &'t str)> {
        self.lines_of(text, Kind::Message)
    }

    /// The lines of blocks of `kind`, each with its byte offset.
    pub fn lines_of<'t>(
        &self,
        text: &'t str,
        kind: Kind,
    ) -> impl Iterator<Item = (usize, &'t str)> {
        let blocks: Vec<Range<usize>> = self
            .blocks
            .iter()
            .filter(|b| b.kind == kind)
            .map(|b| b.range.clone())
            .collect();
        blocks.into_iter().flat_map(move |r| {
            let start = r.start;
            text.get(r)
                .unwrap_or("")
                .split_inclusive('\n')
                .scan(start, |pos, line| {
                    let at = *pos;
                    *pos += line.len();
                    Some((at, line))
                })
        })
    }

    /// The kind of the block holding byte `at`.
    pub fn kind_at(&self, at: usize) -> Option<Kind> {
        self.blocks
            .iter()
            .find(|b| b.range.contains(&at))
            .map(|b| b.kind)
    }

    /// The client's message as one text: its lines, trimmed at the end, at most `limit` bytes.
    pub fn message_text(&self, text: &str, limit: usize) -> String {
        let mut out = String::new();
        for (_, line) in self.message_lines(text) {
            if out.len() + line.len() > limit {
                break;
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.trim().to_string()
    }
}

/// One line of the body.
struct Line<'t> {
    /// Byte range, line end included.
    range: Range<usize>,
    /// The line without its line end and outer spaces.
    text: &'t str,
    /// The line folded (lowercase, no accents), made when first asked for: quoted lines never
    /// need it.
    folded: std::cell::OnceCell<String>,
}

/// Lines longer than this are never markers (attributions are shorter).
const MARKER_LINE: usize = 400;

impl<'t> Line<'t> {
    fn split(text: &'t str) -> Vec<Line<'t>> {
        let ends = memchr::memchr_iter(b'\n', text.as_bytes());
        let mut out = Vec::with_capacity(ends.clone().count() + 1);
        let mut pos = 0;
        for end in ends.map(|e| e + 1).chain(std::iter::once(text.len())) {
            if end <= pos {
                continue;
            }
            out.push(Line {
                range: pos..end,
                text: text[pos..end].trim(),
                folded: std::cell::OnceCell::new(),
            });
            pos = end;
        }
        out
    }

    fn blank(&self) -> bool {
        self.text.is_empty()
    }

    /// The line folded, for the short lines markers can be on (empty for longer ones).
    fn folded(&self) -> &str {
        self.folded.get_or_init(|| {
            if self.text.len() <= MARKER_LINE {
                lang::folded(self.text)
            } else {
                String::new()
            }
        })
    }

    fn quoted(&self) -> bool {
        self.text.starts_with('>')
    }
}

/// The markers of every language, folded once.
struct Folded {
    /// All of `wrote` at once.
    wrote_finder: aho_corasick::AhoCorasick,
    openers: Vec<String>,
    header_from: Vec<String>,
    header_fields: Vec<String>,
    separators: Vec<String>,
    closings: Vec<String>,
    greetings: Vec<String>,
    footers: Vec<String>,
    disclaimers: Vec<String>,
    /// All of `disclaimers` at once, for one pass over a paragraph.
    disclaimer_finder: aho_corasick::AhoCorasick,
    labels: Vec<String>,
    titles: Vec<String>,
    /// The one-word titles, for a lookup by word.
    title_words: std::collections::HashSet<String>,
    postscripts: Vec<String>,
}

static MARKERS: LazyLock<Folded> = LazyLock::new(|| {
    let all: Vec<&Markers> = lang::PACKS
        .iter()
        .map(|p| p.markers)
        .chain(lang::foreign::MARKERS.iter().copied())
        .collect();
    let gather = |f: fn(&Markers) -> &'static [&'static str]| -> Vec<String> {
        let mut v: Vec<String> = all
            .iter()
            .flat_map(|m| f(m).iter())
            .map(|w| lang::folded(w.trim()))
            .filter(|w| !w.is_empty())
            .collect();
        // Longest first, so "best regards" is tried before "best".
        v.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        v.dedup();
        v
    };
    let disclaimers = gather(|m| m.disclaimers);
    let wrote = gather(|m| m.wrote);
    Folded {
        wrote_finder: aho_corasick::AhoCorasick::new(&wrote)
            .expect("the attribution verbs make an automaton"),
        disclaimer_finder: aho_corasick::AhoCorasick::new(&disclaimers)
            .expect("the disclaimer markers make an automaton"),
        disclaimers,

        openers: gather(|m| m.openers),
        header_from: gather(|m| m.header_from),
        header_fields: gather(|m| m.header_fields),
        separators: gather(|m| m.separators),
        closings: gather(|m| m.closings),
        greetings: gather(|m| m.greetings),
        footers: gather(|m| m.footers),
        labels: gather(|m| m.labels),
        title_words: gather(|m| m.titles)
            .into_iter()
            .filter(|t| !t.contains(' '))
            .collect(),
        titles: gather(|m| m.titles)
            .into_iter()
            .filter(|t| t.contains(' '))
            .collect(),
        postscripts: gather(|m| m.postscripts),
    }
});

/// Words of separators that make the history a forward.
const FORWARD_WORDS: &[&str] = &[
    "forward",
    "reenviado",
    "transfer",
    "weitergeleitet",
    "inoltrato",
    "encaminhada",
    "doorgestuurd",
    "vidarebefordrat",
    "reexpedie",
    "továbbított",
    "tovabbitott",
];

/// Step 1: marks quoted history and forwards.
fn history(lines: &[Line<'_>], kinds: &mut [Kind]) {
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.quoted() {
            kinds[i] = Kind::Quote;
            i += 1;
            continue;
        }
        if let Some(n) = attribution(lines, i) {
            let next = (i + n..lines.len()).find(|&k| !lines[k].blank());
            match next {
                Some(k) if lines[k].quoted() => {
                    for kind in kinds.iter_mut().take(k).skip(i) {
                        *kind = Kind::Quote;
                    }
                    i = k;
                }
                // Quoted with another mark ("--]", "|"): the quote ends where the mark does.
                Some(k) if let Some(end) = prefixed_run(lines, k) => {
                    for kind in kinds.iter_mut().take(end).skip(i) {
                        *kind = Kind::Quote;
                    }
                    i = end;
                }
                _ if strong_attribution(&lines[i..i + n]) => {
                    to_end(kinds, i, Kind::Quote);
                    return;
                }
                _ => i += n,
            }
            continue;
        }
        if let Some(kind) = separator(line) {
            to_end(kinds, i, kind);
            return;
        }
        if header_block(lines, i) {
            // Outlook draws a line of underscores right above the block.
            let start = if i > 0 && is_rule(lines[i - 1].text) {
                i - 1
            } else {
                i
            };
            // A header block above a `>` quote is an attribution (bottom-posting): the reply
            // below the quote is the client's again.
            let fields = (i + 1..lines.len())
                .find(|&k| header_label(lines[k].folded(), &MARKERS.header_fields).is_none())
                .unwrap_or(lines.len());
            let next = (fields..lines.len()).find(|&k| !lines[k].blank());
            let end = match next {
                Some(k) if lines[k].quoted() => {
                    (k..lines.len()).find(|&j| !lines[j].quoted() && !lines[j].blank())
                }
                _ => None,
            };
            match end {
                Some(end) => {
                    for kind in kinds.iter_mut().take(end).skip(start) {
                        *kind = Kind::Quote;
                    }
                    i = end;
                    continue;
                }
                None => {
                    to_end(kinds, start, Kind::Quote);
                    return;
                }
            }
        }
        i += 1;
    }
}

/// A run of lines quoted with a mark other than `>` ("--]", "|", ":"), starting at `k`: the
/// index after it, when at least two lines carry the same mark.
fn prefixed_run(lines: &[Line<'_>], k: usize) -> Option<usize> {
    let first = lines.get(k)?.text;
    let mark: String = first
        .chars()
        .take_while(|c| !c.is_alphanumeric() && !c.is_whitespace())
        .take(4)
        .collect();
    if mark.is_empty()
        || mark
            .chars()
            .all(|c| matches!(c, '-' | '*' | '•' | '(' | '"' | '¿' | '¡'))
    {
        return None;
    }
    let mut end = k;
    let mut marked = 0;
    for (j, line) in lines.iter().enumerate().skip(k) {
        if line.text.starts_with(mark.as_str()) {
            marked += 1;
            end = j + 1;
        } else if !line.blank() {
            break;
        }
    }
    (marked >= 2).then_some(end)
}

fn to_end(kinds: &mut [Kind], from: usize, kind: Kind) {
    for k in kinds.iter_mut().skip(from) {
        *k = kind;
    }
}

/// A line made only of `_`, `-`, `=` or `*` (a rule drawn by a mail program).
fn is_rule(text: &str) -> bool {
    text.len() >= 8
        && text
            .chars()
            .all(|c| matches!(c, '_' | '-' | '=' | '*' | '—'))
}

/// Whether `word` occurs in `hay` as whole words (both folded).
fn has_words(hay: &str, word: &str) -> bool {
    let mut from = 0;
    while let Some(at) = hay.get(from..).and_then(|h| h.find(word)) {
        let start = from + at;
        let end = start + word.len();
        if whole_word(hay, start, end) {
            return true;
        }
        from = end;
    }
    false
}

/// Whether `hay[start..end]` stands as whole words: no letter or digit right before or after.
fn whole_word(hay: &str, start: usize, end: usize) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    edge(hay[..start].chars().next_back()) && edge(hay[end..].chars().next())
}

/// Whether a folded line starts with `word` as a whole word.
fn starts_with_word(hay: &str, word: &str) -> bool {
    hay.strip_prefix(word)
        .is_some_and(|rest| rest.chars().next().is_none_or(|c| !c.is_alphanumeric()))
}

/// An attribution line (or up to three wrapped lines) at `i`: how many lines it takes.
fn attribution(lines: &[Line<'_>], i: usize) -> Option<usize> {
    let m = &*MARKERS;
    let first = lines.get(i)?;
    if first.blank() || first.quoted() || first.folded().is_empty() {
        return None;
    }
    // Most lines end no attribution and open none: the cheap test first.
    if ends_attribution(first.folded()) {
        return Some(1);
    }
    let opens = m
        .openers
        .iter()
        .any(|o| starts_with_word(first.folded(), o))
        || first.folded().starts_with("--")
        || first.folded().starts_with(|c: char| c.is_ascii_digit());
    if !opens {
        return None;
    }
    let mut joined = first.folded().to_string();
    for n in 2..=3 {
        let line = lines.get(i + n - 1)?;
        if line.blank() || line.quoted() || line.folded().is_empty() {
            return None;
        }
        joined.push(' ');
        joined.push_str(line.folded());
        if joined.len() > MARKER_LINE {
            return None;
        }
        if ends_attribution(&joined) {
            return Some(n);
        }
    }
    None
}

/// Whether folded text ends like an attribution: a "wrote" verb, then only a name, an address
/// or a date before the closing ':' (or Zoho's "----").
fn ends_attribution(joined: &str) -> bool {
    let t = joined.trim_end();
    let body = if let Some(b) = t.strip_suffix(':') {
        b
    } else if t.ends_with("--") {
        t.trim_end_matches(['-', ' '])
    } else {
        return false;
    };
    // A whole-word "wrote" verb, with only something short after it: a name, an address,
    // "het volgende".
    MARKERS
        .wrote_finder
        .find_overlapping_iter(body)
        .any(|m| whole_word(body, m.start(), m.end()) && body.len() - m.end() <= 80)
}

/// Whether an attribution names a date or an address (so that history follows even when its
/// lines are not quoted with `>`).
fn strong_attribution(lines: &[Line<'_>]) -> bool {
    lines.iter().any(|l| {
        l.text.contains('@')
            || l.text.contains('<')
            || l.text.chars().filter(char::is_ascii_digit).count() >= 2
    })
}

/// A separator line of an original or forwarded message.
fn separator(line: &Line<'_>) -> Option<Kind> {
    if line.folded().is_empty() || line.folded().len() > 120 {
        return None;
    }
    let f = line
        .folded()
        .trim_matches(|c: char| matches!(c, '-' | '_' | '=' | '*' | ' ' | '<' | '>'));
    let drawn = line.text.starts_with(['-', '_', '=', '*', '<']);
    let found = MARKERS.separators.iter().find(|s| {
        if drawn {
            has_words(f, s)
        } else {
            f.starts_with(s.as_str())
        }
    })?;
    let forward = FORWARD_WORDS.iter().any(|w| found.contains(w)) || f.contains("forward");
    Some(if forward { Kind::Forward } else { Kind::Quote })
}

/// A header label at the start of a folded line ("from:", "*de:*", "envoyé :"): its length.
fn header_label(folded: &str, labels: &[String]) -> Option<usize> {
    if !folded.contains(':') {
        return None;
    }
    let t = folded.trim_start_matches(['*', ' ']);
    labels.iter().find_map(|l| {
        let rest = t.strip_prefix(l.as_str())?;
        let rest = rest.trim_start_matches(['*', ' ']);
        rest.starts_with(':').then_some(l.len())
    })
}

/// An Outlook-style header block starting at `i`: a From label, then within the next four
/// lines another header label (or several on the same line).
fn header_block(lines: &[Line<'_>], i: usize) -> bool {
    let m = &*MARKERS;
    let Some(line) = lines.get(i) else {
        return false;
    };
    if header_label(line.folded(), &m.header_from).is_none() {
        return false;
    }
    let inline = m
        .header_fields
        .iter()
        .filter(|f| f.len() > 1 && line.folded().contains(&format!(" {f}:")))
        .count();
    if inline >= 2 {
        return true;
    }
    lines
        .iter()
        .skip(i + 1)
        .filter(|l| !l.blank())
        .take(4)
        .any(|l| header_label(l.folded(), &m.header_fields).is_some())
}

/// Step 2: greeting, closing, signature, disclaimer and footer in one stretch of own lines
/// (`kinds` are theirs, all `Message` on entry; `offset` is the index of the first).
fn around_message(lines: &[Line<'_>], kinds: &mut [Kind], offset: usize, hints: Hints<'_>) {
    let own = &lines[offset..offset + kinds.len()];
    // One line is all message: nothing around it to find.
    if own.iter().filter(|l| !l.blank()).count() < 2 {
        return;
    }
    // A greeting on the first non-blank line of the body only.
    if offset == 0
        && let Some(g) = own.iter().position(|l| !l.blank())
        && greeting(&own[g])
    {
        kinds[g] = Kind::Greeting;
    }
    // Footers and disclaimers, and everything after a disclaimer.
    for (line, kind) in own.iter().zip(kinds.iter_mut()) {
        if footer(line) {
            *kind = Kind::Footer;
        }
    }
    let mut k = 0;
    while k < own.len() {
        if !own[k].blank() && (k == 0 || own[k - 1].blank()) {
            let end = (k..own.len())
                .find(|&j| own[j].blank())
                .unwrap_or(own.len());
            if disclaimer(&own[k..end]) {
                for kind in kinds.iter_mut().skip(k) {
                    if *kind == Kind::Message {
                        *kind = Kind::Disclaimer;
                    }
                }
                break;
            }
            k = end;
            continue;
        }
        k += 1;
    }
    let limit = kinds
        .iter()
        .position(|k| matches!(k, Kind::Disclaimer))
        .unwrap_or(kinds.len());
    // The signature: from "-- ", from a closing formula, or a trailing signature paragraph.
    let start = (0..limit)
        .find(|&j| kinds[j] == Kind::Message && dash_line(&own[j]))
        .or_else(|| closing_at(own, kinds, limit))
        .or_else(|| named_line(own, kinds, limit, hints))
        .or_else(|| trailing_signature(own, kinds, limit));
    let Some(start) = start else {
        return;
    };
    let closing = closing(&own[start]);
    let mut in_postscript = false;
    for j in start..limit {
        if kinds[j] != Kind::Message {
            continue;
        }
        if postscript(&own[j]) {
            in_postscript = true;
        }
        if in_postscript {
            continue;
        }
        kinds[j] = if j == start && closing {
            Kind::Closing
        } else {
            Kind::Signature
        };
    }
}

fn dash_line(line: &Line<'_>) -> bool {
    matches!(line.text, "--" | "—" | "-- —") || {
        let raw_end = line.text;
        raw_end == "--" || raw_end.starts_with("-- ") && raw_end.len() <= 3
    }
}

fn greeting(line: &Line<'_>) -> bool {
    let f = line.folded();
    if f.is_empty() || f.len() > 60 {
        return false;
    }
    let starts = MARKERS.greetings.iter().any(|g| starts_with_word(f, g));
    starts && (f.ends_with([',', ':', '!']) || f.split_whitespace().count() <= 4)
}

fn footer(line: &Line<'_>) -> bool {
    let f = line.folded();
    !f.is_empty() && f.len() <= 100 && MARKERS.footers.iter().any(|p| f.starts_with(p.as_str()))
}

fn postscript(line: &Line<'_>) -> bool {
    let f = line.folded();
    MARKERS.postscripts.iter().any(|p| {
        f.strip_prefix(p.as_str())
            .is_some_and(|rest| rest.starts_with([':', ' ', '.', ',', '-']))
    })
}

/// Whether a paragraph is a legal disclaimer: a long one with one of the words only
/// disclaimers use, or any with two.
fn disclaimer(paragraph: &[Line<'_>]) -> bool {
    let len: usize = paragraph.iter().map(|l| l.text.len()).sum();
    if len < 60 {
        return false;
    }
    let text: String = paragraph
        .iter()
        .map(|l| {
            if l.folded().is_empty() {
                lang::folded(l.text)
            } else {
                l.folded().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    // A phrase of several words is a strong sign; one word, or a phrase ordinary mail also
    // uses ("privacy policy"), a weak one. Two weak signs or one strong make a disclaimer.
    let mut found = vec![false; MARKERS.disclaimers.len()];
    for m in MARKERS.disclaimer_finder.find_overlapping_iter(&text) {
        found[m.pattern().as_usize()] = true;
    }
    let weight: usize = MARKERS
        .disclaimers
        .iter()
        .zip(found)
        .filter(|(_, found)| *found)
        .map(|(d, _)| {
            if d.contains(' ') && !WEAK_DISCLAIMERS.contains(&d.as_str()) {
                2
            } else {
                1
            }
        })
        .sum();
    weight >= 2
}

/// Words that may follow a closing formula on its line ("un abrazo grande", "thanks again").
const CLOSING_TAILS: &[&str] = &[
    "a", "abrazo", "again", "all", "and", "beso", "besos", "cordial", "crack", "de", "enorme",
    "everyone", "fuerte", "grande", "guapa", "guapo", "hug", "hugs", "lot", "mi", "much", "nina",
    "nino", "nuevo", "saludo", "so", "todas", "todos", "un", "x", "xx", "y",
];

/// Disclaimer phrases that ordinary mail uses too.
const WEAK_DISCLAIMERS: &[&str] = &[
    "privacy policy",
    "registered office",
    "company number",
    "proteccion de datos",
    "aviso legal",
    "antes de imprimir",
    "derechos de acceso",
];

/// Whether a line is a closing formula, alone or with a name after it ("Thanks, Mark").
fn closing(line: &Line<'_>) -> bool {
    let f = line
        .folded()
        .trim_end_matches(['.', '!', ',', ' ', ':', ';', '-']);
    if f.is_empty() || f.len() > 60 {
        return false;
    }
    MARKERS.closings.iter().any(|c| {
        let Some(rest) = f.strip_prefix(c.as_str()) else {
            return false;
        };
        let rest = rest.trim_start_matches([',', '!', '.', ' ', '-']);
        if rest.is_empty() {
            return true;
        }
        // "Un abrazo grande", "Gracias y un saludo", "Thanks again": a closing said longer.
        if rest.split_whitespace().all(|w| CLOSING_TAILS.contains(&w)) {
            return true;
        }
        // The rest must be a name: at most three words, capitalised in the original.
        let raw_rest = line
            .text
            .get(line.text.len().saturating_sub(rest.len())..)
            .unwrap_or("");
        let words: Vec<&str> = raw_rest.split_whitespace().collect();
        rest.len() == raw_rest.len()
            && words.len() <= 3
            && words
                .iter()
                .all(|w| w.chars().next().is_some_and(|c| c.is_uppercase()))
    })
}

/// The closing line that starts the signature: a closing formula followed, before `limit`,
/// only by short lines (a name, a role…), postscripts, blank lines or footers.
fn closing_at(own: &[Line<'_>], kinds: &[Kind], limit: usize) -> Option<usize> {
    (0..limit).rev().find(|&j| {
        kinds[j] == Kind::Message
            && closing(&own[j])
            && rest_is_signature(&own[j + 1..limit], &kinds[j + 1..limit])
    })
}

/// Whether the lines after a closing hold no more message: at most ten short lines, or a
/// postscript.
fn rest_is_signature(rest: &[Line<'_>], kinds: &[Kind]) -> bool {
    let mut count = 0;
    for (line, kind) in rest.iter().zip(kinds) {
        if *kind != Kind::Message || line.blank() {
            continue;
        }
        if postscript(line) {
            return true;
        }
        count += 1;
        if count > 12 || (line.text.chars().count() > 90 && !signature_signal(line)) {
            return false;
        }
    }
    true
}

/// A line that is just the sender's name (or its first word) starts the signature, when only
/// signature-like lines follow.
fn named_line(own: &[Line<'_>], kinds: &[Kind], limit: usize, hints: Hints<'_>) -> Option<usize> {
    let name = lang::folded(hints.name?.trim().trim_matches('"'));
    let first = name.split_whitespace().next()?.to_string();
    if first.len() < 2 {
        return None;
    }
    (1..limit).find(|&j| {
        let f = own[j]
            .folded()
            .trim_start_matches(['-', '—', ' '])
            .trim_end_matches(['.', ',']);
        kinds[j] == Kind::Message
            && (f == name || f == first)
            && own[..j].iter().any(|l| !l.blank())
            && rest_is_signature(&own[j + 1..limit], &kinds[j + 1..limit])
    })
}

/// A strong sign that a line belongs to a signature: a phone number, an address, a link, a
/// label ("Tel:", "Horario:").
fn signature_signal(line: &Line<'_>) -> bool {
    let t = line.text;
    let f = line.folded();
    let digits = t.chars().filter(char::is_ascii_digit).count();
    let phone = digits >= 7
        && t.chars()
            .all(|c| c.is_ascii_digit() || " +-.()/:".contains(c) || c.is_alphabetic() || c == '|');
    let mail = t.contains('@') && t.contains('.');
    let link = f.contains("www.") || f.contains("http") || has_tld(f);
    // A street address: a postal code, or a street word opening the line.
    let postal = t.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() == 5)
        && t.chars().any(char::is_alphabetic);
    let street = ADDRESS_WORDS.iter().any(|w| starts_with_word(f, w));
    let label = MARKERS.labels.iter().any(|l| {
        f.strip_prefix(l.as_str()).is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.starts_with([':', '.', '+', '(', '|'])
                || rest.starts_with(|c: char| c.is_ascii_digit())
                || (l.len() > 4
                    && (rest.is_empty() || rest.starts_with(|c: char| c.is_alphabetic())))
        })
    });
    phone || mail || link || label || postal || street
}

/// Words that open a street address line.
const ADDRESS_WORDS: &[&str] = &[
    "c/",
    "calle",
    "avda",
    "avda.",
    "avenida",
    "av.",
    "plaza",
    "pza",
    "paseo",
    "carrer",
    "camino",
    "ctra",
    "carretera",
    "poligono",
    "pol.",
    "rua",
    "street",
    "road",
    "avenue",
    "suite",
    "unit",
    "p.o. box",
    "po box",
];

/// Whether a folded line holds a web address ending in a common top-level domain.
fn has_tld(f: &str) -> bool {
    f.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        w.contains('.')
            && !w.contains('@')
            && [
                ".com", ".es", ".net", ".org", ".io", ".co", ".mx", ".ar", ".uk", ".de", ".cl",
                ".pe",
            ]
            .iter()
            .any(|d| w.ends_with(d) || w.contains(&format!("{d}/")))
    })
}

/// Whether a line could be part of a signature: a strong signal, a name, a role or company.
fn signature_like(line: &Line<'_>) -> bool {
    if line.blank() {
        return true;
    }
    let chars = line.text.chars().count();
    if chars > 90 {
        return false;
    }
    if signature_signal(line) {
        return true;
    }
    let f = line.folded();
    let words: Vec<&str> = line.text.split_whitespace().collect();
    let title = f
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-'))
        .any(|w| {
            MARKERS.title_words.contains(w) || MARKERS.title_words.contains(w.trim_end_matches('.'))
        })
        || MARKERS.titles.iter().any(|t| has_words(f, t));
    let sentence = words.len() >= 5 && line.text.ends_with(['.', '?', '!']);
    // A name or a company: capitalised words (one lowercase word at most, joining words aside).
    let lowercase = words
        .iter()
        .filter(|w| {
            !w.chars()
                .next()
                .is_some_and(|c| c.is_uppercase() || !c.is_alphanumeric() || c.is_ascii_digit())
                && !matches!(
                    **w,
                    "de" | "del"
                        | "la"
                        | "las"
                        | "el"
                        | "los"
                        | "y"
                        | "e"
                        | "&"
                        | "of"
                        | "and"
                        | "the"
                        | "van"
                        | "von"
                        | "da"
                        | "do"
                        | "dos"
                        | "du"
                )
        })
        .count();
    let name = words.len() <= 6
        && !line.text.ends_with(['?', ':'])
        && lowercase <= usize::from(words.len() >= 3);
    !sentence && (title || name)
}

/// A trailing paragraph (after a blank line) of signature-like lines with at least one strong
/// signal, or of two or more name and role lines: its first line.
fn trailing_signature(own: &[Line<'_>], kinds: &[Kind], limit: usize) -> Option<usize> {
    let mut start = None;
    let mut strong = false;
    let mut lines = 0;
    for j in (0..limit).rev() {
        if kinds[j] != Kind::Message {
            continue;
        }
        let line = &own[j];
        if !signature_like(line) {
            break;
        }
        if !line.blank() {
            lines += 1;
            strong |= signature_signal(line);
            start = Some(j);
        }
    }
    let start = start?;
    // The signature paragraph must stand apart from the message above it.
    let apart = start == 0 || own[..start].iter().rev().take_while(|l| l.blank()).count() > 0;
    let message_above = own[..start].iter().any(|l| !l.blank());
    (apart && message_above && (strong || lines >= 2)).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let s = Segments::of(text);
        s.blocks
            .iter()
            .map(|b| (b.kind, text[b.range.clone()].trim().to_string()))
            .collect()
    }

    fn message(text: &str) -> String {
        Segments::of(text).message_text(text, 1 << 20)
    }

    #[test]
    fn quotes_attributions_and_forwards() {
        assert_eq!(message("Vale\n> para el viernes\nAdiós"), "Vale\nAdiós");
        assert_eq!(
            message("De acuerdo.\n\nEl 3 mar 2025, a las 12:40, Jorge escribió:\n> Lo necesito"),
            "De acuerdo."
        );
        assert_eq!(
            message("Done\nOn Tue, Mar 4, 2025 at 9:12 AM Mark <m@x.example>\nwrote:\nNeed it"),
            "Done"
        );
        assert_eq!(
            message("FYI\n---------- Forwarded message ---------\nFrom: A\nby Friday"),
            "FYI"
        );
        assert_eq!(
            message("ok\nFrom: Ana\nSent: Monday\nTo: Bob\n\ntomorrow"),
            "ok"
        );
        assert_eq!(message("see you\n-- \nAna, 9-18h"), "see you");
        let bottom = "On Tue, 17 Nov 2009 18:21:38 -0500, Aron <a at x.net> wrote:\n\n> the link is bogus?\n\nYeah, it will need to wait.\n";
        assert_eq!(message(bottom), "Yeah, it will need to wait.");
        let dutch = "Prima!\n\nOp 16 aug. 2014 05:13 schreef Foo Bar <foo@x.example>:\n\n> morgen";
        assert_eq!(message(dutch), "Prima!");
        let zoho =
            "Ok\n---- On Mon, 03 Mar 2025 10:12:00 +0100 Ana <ana@x.example> wrote ----\nby Friday";
        assert_eq!(message(zoho), "Ok");
        let forward =
            kinds("¿Puedes mirarlo?\n\n---------- Mensaje reenviado ---------\nDe: X\npara mañana");
        assert_eq!(forward.last().map(|k| k.0), Some(Kind::Forward));
    }

    #[test]
    fn signatures_without_dashes() {
        let text = "Hola Ana,\n\n¿Puedes cambiar el banner?\n\nUn saludo,\nMarta Ruiz\nResponsable de tienda\nHorario de tienda: lunes a sábado de 10 a 20h\nTel. 91 123 45 67\n";
        let k = kinds(text);
        assert_eq!(k[0], (Kind::Greeting, "Hola Ana,".into()));
        assert!(k.contains(&(Kind::Message, "¿Puedes cambiar el banner?".into())));
        assert!(
            k.iter()
                .any(|(kind, t)| *kind == Kind::Signature && t.contains("Horario"))
        );
        let trailing = "Can you fix the page?\n\nJane Doe\nMarketing Manager | Brightfields Ltd\nOffice hours Mon–Fri 8:30–17:00\n+44 20 7946 0958\n";
        assert_eq!(message(trailing), "Can you fix the page?");
        let ps = "Thanks!\nMark\n\nP.S. I need the logo by Friday.";
        assert_eq!(message(ps), "P.S. I need the logo by Friday.");
        let footer = "Mándamelo mañana\n\nEnviado desde mi iPhone";
        assert_eq!(message(footer), "Mándamelo mañana");
    }

    #[test]
    fn disclaimers() {
        let text = "Send it by Friday please.\n\nCONFIDENTIALITY NOTICE: This email and any attachments are confidential. If you are not the intended recipient, please notify the sender immediately and delete it.\n";
        assert_eq!(message(text), "Send it by Friday please.");
    }

    #[test]
    fn a_message_that_is_only_a_sentence_stays() {
        assert_eq!(
            message("Thanks for the files last Friday"),
            "Thanks for the files last Friday"
        );
        assert_eq!(
            message("Gracias, lo necesito para el viernes."),
            "Gracias, lo necesito para el viernes."
        );
    }
}
