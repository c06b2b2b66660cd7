//! Typed time expressions: what a phrase means, before it is pinned to an instant.
//!
//! The grammars (one per language) turn words into these values; the resolver turns these
//! values into instants. Nothing here is tied to a language, so a new language only has to
//! produce the same values, and the resolver never changes for it.

use std::fmt;

use crate::lang::vocab::{Clock, DayRef, Part, Period};
use crate::zone::Zone;

/// What a demand's words mean, ready to be resolved against a reference instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expr {
    /// Now: ya, ASAP, urgente.
    Now,
    /// Elapsed time from now (minutes, hours): en media hora, within 48 hours.
    Elapsed {
        /// Seconds to add to now.
        seconds: i64,
    },
    /// Calendar days from now, keeping the local clock time: en dos días, within a week.
    Days {
        /// How many days (weeks are 7 days).
        days: u32,
        /// Count Monday–Friday only (días hábiles, business days).
        business: bool,
    },
    /// A day and/or a time of day: mañana a las 10, Friday noon, 17:30, el 3 de mayo.
    At {
        /// The day, if named.
        day: Option<DayRef>,
        /// The clock time, if said.
        clock: Option<Clock>,
        /// The part of the day, if said.
        part: Option<Part>,
        /// "antes de" / "before": a day without a time then means 18:00 of the day before.
        before: bool,
    },
    /// A period with a fixed deadline: end of the week, next month.
    Period(Period),
}

/// An expression together with the zone it is read in, when the text names one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// What the words mean.
    pub expr: Expr,
    /// The zone named in the text ("5pm ET", "hora peninsular"), overriding the sender's.
    pub zone: Option<Zone>,
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Expr::Now => f.write_str("now (immediate)"),
            Expr::Elapsed { seconds } => write!(f, "in {} min (elapsed time)", seconds / 60),
            Expr::Days { days, business } => write!(
                f,
                "in {days} {}day(s), same clock time",
                if business { "business " } else { "calendar " }
            ),
            Expr::At {
                day,
                clock,
                part,
                before,
            } => {
                if before {
                    f.write_str("before ")?;
                }
                if let Some(c) = clock {
                    let (h, m) = c.hour_minute(part);
                    write!(f, "{h:02}:{m:02}")?;
                    if day.is_none() {
                        f.write_str(" (clock time, next occurrence)")?;
                    }
                } else if let Some(p) = part {
                    write!(f, "{p}")?;
                }
                if let Some(d) = day {
                    if clock.is_some() || part.is_some() {
                        f.write_str(", ")?;
                    }
                    write!(f, "{d}")?;
                    if clock.is_none() && part.is_none() {
                        f.write_str(if before {
                            " (18:00 of the day before)"
                        } else {
                            " (18:00)"
                        })?;
                    }
                }
                Ok(())
            }
            Expr::Period(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        match self.zone {
            Some(Zone::Named(tz)) => write!(f, " in {}", tz.name()),
            Some(Zone::Fixed(off)) => write!(f, " at UTC{off}"),
            None => Ok(()),
        }
    }
}
