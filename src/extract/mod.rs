//! Deadline understanding: the earliest instant by which a client's words ask for something done.
//!
//! The conventions are those of `deadlines-dev.md`: immediate words mean "now", days without a
//! time mean 18:00, "antes del viernes" means Thursday 18:00, and so on. This module is the
//! interface the policy uses; the grammars live in `es.rs` and `en.rs`.

use chrono::{DateTime, FixedOffset};

use crate::lang::Lang;
use crate::zone::Zone;

/// A deadline a client demanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The instant by which the work is asked for.
    pub at: DateTime<FixedOffset>,
    /// The words of the text the deadline was read from, as written.
    pub phrase: String,
    /// The language of the grammar that read it.
    pub lang: Lang,
}

/// The earliest deadline demanded in `text`, read against the reference instant `now` (the Date
/// header) with calendar words in `zone`, or `None` when the text demands no time limit.
pub fn find(text: &str, now: DateTime<FixedOffset>, zone: Zone) -> Option<Deadline> {
    let _ = (text, now, zone);
    None
}

/// The earliest deadline demanded in a mail's subject or in the client's own text.
pub fn find_in_mail(
    subject: &str,
    body: &str,
    now: DateTime<FixedOffset>,
    zone: Zone,
) -> Option<Deadline> {
    [find(subject, now, zone), find(body, now, zone)]
        .into_iter()
        .flatten()
        .min_by_key(|d| d.at)
}
