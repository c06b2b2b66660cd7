//! The one place plazo reads the wall clock. Decision code never does: it takes instants as
//! arguments, so tests and `plazo preview` can run it at any moment they like.

use chrono::{DateTime, Utc};

/// The current instant.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}
