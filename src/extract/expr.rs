//! Typed time expressions: what a phrase means, before it is pinned to an instant.
//!
//! The grammars (one per language) turn words into these values; the resolver turns these
//! values into instants. Nothing here is tied to a language, so a new language only has to
//! produce the same values, and the resolver never changes for it.

use std::fmt;

use chrono::Weekday;

use crate::zone::Zone;

/// A day, named without a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRef {
    /// hoy, today.
    Today,
    /// mañana, tomorrow.
    Tomorrow,
    /// pasado mañana, the day after tomorrow.
    AfterTomorrow,
    /// A weekday, read as `mode` says.
    Weekday(Weekday, WeekdayMode),
    /// A calendar date; missing parts mean the next occurrence on or after today.
    Date {
        /// Day of the month, 1–31.
        day: u32,
        /// Month, 1–12, when given.
        month: Option<u32>,
        /// Full year, when given.
        year: Option<i32>,
    },
}

/// How a weekday is counted from today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekdayMode {
    /// "viernes", "el próximo viernes", "next Friday": 1 to 7 days ahead.
    Next,
    /// "este viernes", "this Friday": today if it is that day, else the next one.
    This,
    /// "el viernes de la semana que viene", "Friday next week": in next Monday–Sunday week.
    NextWeek,
}

/// A part of the day; the deadline is the end of the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// a primera hora, first thing: 09:00.
    FirstThing,
    /// por la mañana, morning: 12:00.
    Morning,
    /// mediodía, noon: 12:00.
    Noon,
    /// por la tarde, afternoon: 18:00.
    Afternoon,
    /// EOD, close of business, al final del día: 18:00.
    EndOfDay,
    /// esta noche, tonight, evening: 23:59:59.
    Night,
    /// madrugada, the small hours: only meaningful with a clock time.
    SmallHours,
    /// medianoche, midnight: 23:59:59 of the day it closes.
    Midnight,
}

/// Whether a clock time said which half of the day it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meridiem {
    /// am, a.m.
    Am,
    /// pm, p.m.
    Pm,
    /// A 24-hour time that cannot be read otherwise (17:30, 17h, 0:15).
    Full,
    /// An hour alone (a las 5, at 2): 1–7 afternoon, 8–11 morning, 12 noon.
    Bare,
}

/// A clock time as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Hour as written, 0–24.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Which half of the day, if said.
    pub meridiem: Meridiem,
}

impl Clock {
    /// The 24-hour time this clock means, given the part of the day said with it.
    pub fn hour_minute(self, part: Option<Part>) -> (u32, u32) {
        let h = self.hour % 24;
        let hour = match (self.meridiem, part) {
            (Meridiem::Full, _) => h,
            (Meridiem::Am, _) => h % 12,
            (Meridiem::Pm, _) => h % 12 + 12,
            (Meridiem::Bare, Some(Part::Morning | Part::FirstThing | Part::SmallHours)) => h % 12,
            (Meridiem::Bare, Some(Part::Afternoon | Part::EndOfDay)) => h % 12 + 12,
            (Meridiem::Bare, Some(Part::Night | Part::Midnight)) => match h {
                6..=11 => h + 12,
                12 => 0,
                _ => h,
            },
            (Meridiem::Bare, Some(Part::Noon)) => {
                if h <= 5 {
                    h % 12 + 12
                } else {
                    h
                }
            }
            (Meridiem::Bare, None) => match h {
                1..=7 => h + 12,
                _ => h,
            },
        };
        (hour, self.minute)
    }
}

/// A named stretch of time whose deadline is fixed by the conventions (section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// esta semana, end of the week, EOW: Friday 18:00 of this week.
    ThisWeek,
    /// la semana que viene, next week: Friday 18:00 of next week.
    NextWeek,
    /// para el fin de semana, by the weekend: Friday 18:00 of this week.
    Weekend,
    /// durante el fin de semana, over the weekend: Sunday 23:59:59 of this week.
    OverWeekend,
    /// fin de mes, end of the month: 18:00 on its last day.
    EndOfMonth,
    /// el mes que viene, next month: 18:00 on the last day of next month.
    NextMonth,
    /// fin de año, year-end: 31 December 18:00.
    EndOfYear,
}

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

impl fmt::Display for DayRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayRef::Today => f.write_str("today"),
            DayRef::Tomorrow => f.write_str("tomorrow"),
            DayRef::AfterTomorrow => f.write_str("the day after tomorrow"),
            DayRef::Weekday(d, WeekdayMode::Next) => write!(f, "{d} (next one)"),
            DayRef::Weekday(d, WeekdayMode::This) => write!(f, "{d} (this week's, today counts)"),
            DayRef::Weekday(d, WeekdayMode::NextWeek) => write!(f, "{d} of next week"),
            DayRef::Date { day, month, year } => {
                write!(f, "day {day}")?;
                match month {
                    Some(m) => write!(f, " of month {m}")?,
                    None => f.write_str(" of the next month that has it")?,
                }
                match year {
                    Some(y) => write!(f, " {y}"),
                    None => f.write_str(" (next occurrence)"),
                }
            }
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::FirstThing => "first thing (09:00)",
            Part::Morning => "morning (until 12:00)",
            Part::Noon => "noon (12:00)",
            Part::Afternoon => "afternoon (until 18:00)",
            Part::EndOfDay => "end of the day (18:00)",
            Part::Night => "night (until 23:59:59)",
            Part::SmallHours => "small hours",
            Part::Midnight => "midnight (23:59:59)",
        })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::ThisWeek => "end of this week (Friday 18:00)",
            Period::NextWeek => "next week (Friday 18:00)",
            Period::Weekend => "by the weekend (Friday 18:00)",
            Period::OverWeekend => "over the weekend (Sunday 23:59:59)",
            Period::EndOfMonth => "end of the month (last day 18:00)",
            Period::NextMonth => "next month (its last day 18:00)",
            Period::EndOfYear => "end of the year (31 December 18:00)",
        })
    }
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
