//! The client's own words: which lines of a body the extractor may read.
//!
//! A reply usually carries the history below it. Deadlines in that history were asked for in
//! the past (or by someone else), so the conventions ignore them: lines starting with `>`,
//! everything after an attribution line ("El … escribió:", "On … wrote:"), everything after a
//! forwarded-message or Outlook header block, and the signature after a `-- ` line.

/// The lines of `text` written by the sender, each with its byte offset in `text`, in order.
///
/// Quoted lines (`>`) are skipped; reading stops at the first attribution line, forwarded or
/// original-message header, or signature separator.
pub fn own_lines(text: &str) -> OwnLines<'_> {
    own_lines_until(text, cut_point(text))
}

/// The unquoted lines of `text` before byte `stop` (a [`cut_point`]), with their offsets.
pub fn own_lines_until(text: &str, stop: usize) -> OwnLines<'_> {
    OwnLines { text, pos: 0, stop }
}

/// Iterator over the sender's own lines, see [`own_lines`].
#[derive(Debug, Clone)]
pub struct OwnLines<'a> {
    text: &'a str,
    pos: usize,
    stop: usize,
}

impl<'a> Iterator for OwnLines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        while self.pos < self.stop {
            let rest = self.text.get(self.pos..self.stop)?;
            let len = rest.find('\n').map_or(rest.len(), |n| n + 1);
            let start = self.pos;
            self.pos += len;
            let line = rest.get(..len)?;
            if line.trim_start().starts_with('>') {
                continue;
            }
            return Some((start, line));
        }
        None
    }
}

/// The byte offset where the sender's own text ends (the whole text when nothing is cut).
pub fn cut_point(text: &str) -> usize {
    let mut prev: Option<(usize, &str)> = None;
    let mut offset = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(raw) = lines.next() {
        let start = offset;
        offset += raw.len();
        let line = raw.trim();
        if is_attribution_end(line) {
            // "On Tue, 4 Mar 2025, Mark <m@x>\nwrote:" is wrapped by some clients.
            return match prev {
                Some((p, pl)) if !starts_attribution(line) && starts_attribution(pl) => p,
                _ => start,
            };
        }
        if is_forward_header(line) || line == "--" || raw.trim_end_matches(['\r', '\n']) == "-- " {
            return start;
        }
        if is_header_field(line, &["from:", "de:"]) {
            let next = lines.peek().map_or("", |l| l.trim());
            if is_header_field(
                next,
                &[
                    "sent:",
                    "date:",
                    "to:",
                    "enviado:",
                    "fecha:",
                    "para:",
                    "enviado el:",
                ],
            ) {
                return start;
            }
        }
        if !line.is_empty() {
            prev = Some((start, line));
        }
    }
    text.len()
}

/// Whether a trimmed line ends an attribution ("… wrote:", "… escribió:").
fn is_attribution_end(line: &str) -> bool {
    ["wrote:", "escribió:", "escribio:", "a écrit :", "a écrit:"]
        .iter()
        .any(|end| ends_with_ignore_case(line, end))
}

/// Whether a trimmed line looks like the start of an attribution ("On …", "El …").
fn starts_attribution(line: &str) -> bool {
    ["on ", "el ", "le "]
        .iter()
        .any(|start| starts_with_ignore_case(line, start))
}

/// Whether a trimmed line is a forwarded-message or original-message separator.
fn is_forward_header(line: &str) -> bool {
    let lower_has = |needle: &str| {
        line.as_bytes()
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    (line.starts_with('-') || line.starts_with('='))
        && (lower_has("forwarded message")
            || lower_has("mensaje reenviado")
            || lower_has("original message")
            || lower_has("mensaje original"))
        || starts_with_ignore_case(line, "begin forwarded message")
        || starts_with_ignore_case(line, "inicio del mensaje reenviado")
}

/// Whether a trimmed line starts with one of the header names (`from:`), any case.
fn is_header_field(line: &str, names: &[&str]) -> bool {
    names.iter().any(|n| starts_with_ignore_case(line, n))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|head| {
        head.eq_ignore_ascii_case(prefix) || (!head.is_ascii() && head.to_lowercase() == prefix)
    })
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len() - suffix.len()..).is_some_and(|tail| {
            tail.eq_ignore_ascii_case(suffix) || (!tail.is_ascii() && tail.to_lowercase() == suffix)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(text: &str) -> String {
        own_lines(text).map(|(_, l)| l).collect()
    }

    #[test]
    fn drops_quoted_and_history() {
        assert_eq!(own("Hola\n> para el viernes\nAdiós"), "Hola\nAdiós");
        assert_eq!(
            own("De acuerdo.\n\nEl 3 mar 2025, a las 12:40, Jorge escribió:\n> Lo necesito"),
            "De acuerdo.\n\n"
        );
        assert_eq!(
            own("Done\nOn Tue, Mar 4, 2025 at 9:12 AM Mark <m@x.example>\nwrote:\nNeed it"),
            "Done\n"
        );
        assert_eq!(
            own("FYI\n---------- Forwarded message ---------\nFrom: A\nby Friday"),
            "FYI\n"
        );
        assert_eq!(
            own("ok\nFrom: Ana\nSent: Monday\nTo: Bob\n\ntomorrow"),
            "ok\n"
        );
        assert_eq!(own("see you\n-- \nAna, 9-18h"), "see you\n");
    }
}
