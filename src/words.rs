//! The words the stages share: why a reply is sent. A leaf module, so the config (which reads
//! `reply.triggers`) and the stages that decide can both use them without depending on each
//! other.

use std::fmt;

use serde::Serialize;

/// Why a reply is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Trigger {
    /// The mail arrived outside working time.
    #[serde(rename = "outside-hours")]
    OutsideHours,
    /// The mail demands a deadline before the earliest feasible delivery.
    #[serde(rename = "short-notice")]
    ShortNotice,
    /// The mail arrived on a day she is away.
    #[serde(rename = "away")]
    Away,
}

impl Trigger {
    /// The tag used in config, logs and JSON.
    pub fn tag(self) -> &'static str {
        match self {
            Trigger::OutsideHours => "outside-hours",
            Trigger::ShortNotice => "short-notice",
            Trigger::Away => "away",
        }
    }

    /// The trigger for a tag.
    pub fn from_tag(tag: &str) -> Option<Trigger> {
        [Trigger::OutsideHours, Trigger::ShortNotice, Trigger::Away]
            .into_iter()
            .find(|t| t.tag() == tag)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}
