//! The resolver: one function from a typed expression to an instant, shared by every language.
//!
//! All calendar arithmetic happens here, on the local calendar and clock of the zone the
//! expression is read in (the sender's, unless the text names another). Local times become
//! instants through [`Zone::instant`], so DST gaps move forward and repeated times take their
//! first occurrence. Every step is checked: an expression that falls off the calendar resolves
//! to nothing instead of panicking.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta,
    Timelike, Utc, Weekday,
};

use super::expr::{Expr, Reading};
use crate::lang::vocab::{Clock, DayRef, Part, Period, WeekdayMode};
use crate::zone::Zone;

/// The longest run of working days counted one by one (about 40 years).
const MAX_BUSINESS_DAYS: u32 = 10_000;

/// The hour at which a day named without a time ends (the end of the business day).
const END_OF_DAY: u32 = 18;

/// The instant `reading` means, said at `now` by a sender in `sender`, or `None` when it names
/// no instant (an impossible date, a date already past, a calendar overflow).
pub fn resolve(
    reading: &Reading,
    now: DateTime<FixedOffset>,
    sender: Zone,
) -> Option<DateTime<FixedOffset>> {
    let cx = Context::new(now, reading.zone.unwrap_or(sender));
    match reading.expr {
        Expr::Now => Some(now),
        Expr::Elapsed { seconds } => now.checked_add_signed(TimeDelta::try_seconds(seconds)?),
        Expr::Days { days, business } => {
            let date = if business {
                add_business_days(cx.today, days)?
            } else {
                cx.today.checked_add_days(Days::new(u64::from(days)))?
            };
            Some(cx.zone.instant(date.and_time(cx.local.time())))
        }
        Expr::At {
            day,
            clock,
            part,
            before,
        } => cx.at(day, clock, part, before),
        Expr::Period(p) => cx.period(p),
    }
}

/// `now` seen on the local calendar of the zone an expression is read in.
struct Context {
    now: DateTime<FixedOffset>,
    zone: Zone,
    local: NaiveDateTime,
    today: NaiveDate,
}

impl Context {
    fn new(now: DateTime<FixedOffset>, zone: Zone) -> Context {
        let local = zone.local(now.with_timezone(&Utc));
        Context {
            now,
            zone,
            local,
            today: local.date(),
        }
    }

    /// The instant of a local date and time in the zone.
    fn instant(&self, date: NaiveDate, h: u32, m: u32, s: u32) -> Option<DateTime<FixedOffset>> {
        Some(
            self.zone
                .instant(date.and_time(NaiveTime::from_hms_opt(h, m, s)?)),
        )
    }

    /// 18:00 of `date`, or 23:59:59 when `date` is today and 18:00 has already passed.
    fn end_of(&self, date: NaiveDate) -> Option<DateTime<FixedOffset>> {
        if date == self.today && self.local.hour() >= END_OF_DAY {
            self.instant(date, 23, 59, 59)
        } else {
            self.instant(date, END_OF_DAY, 0, 0)
        }
    }

    /// The next instant at or after now with the local time `h:m:s`.
    fn next_occurrence(&self, h: u32, m: u32, s: u32) -> Option<DateTime<FixedOffset>> {
        let today = self.instant(self.today, h, m, s)?;
        if today >= self.now {
            Some(today)
        } else {
            self.instant(self.today.succ_opt()?, h, m, s)
        }
    }

    fn at(
        &self,
        day: Option<DayRef>,
        clock: Option<Clock>,
        part: Option<Part>,
        before: bool,
    ) -> Option<DateTime<FixedOffset>> {
        let Some(day) = day else {
            if let Some(c) = clock {
                let (h, m) = c.hour_minute(part);
                if closes_the_day(h, m, part) {
                    return self.instant(self.today, 23, 59, 59);
                }
                return self.next_occurrence(h, m, 0);
            }
            return match part? {
                Part::Night | Part::Midnight => self.instant(self.today, 23, 59, 59),
                Part::EndOfDay => self.instant(self.today, END_OF_DAY, 0, 0),
                Part::SmallHours => None,
                p => {
                    let (h, m, s) = part_end(p)?;
                    self.next_occurrence(h, m, s)
                }
            };
        };
        let date = self.date_of(day)?;
        if let Some(c) = clock {
            let (h, m) = c.hour_minute(part);
            if closes_the_day(h, m, part) {
                return self.instant(date, 23, 59, 59);
            }
            return self.instant(date, h, m, 0);
        }
        if let Some(p) = part {
            let (h, m, s) = part_end(p)?;
            return self.instant(date, h, m, s);
        }
        if before {
            return self.end_of(date.pred_opt()?);
        }
        self.end_of(date)
    }

    /// The local date a day reference names.
    fn date_of(&self, day: DayRef) -> Option<NaiveDate> {
        let today = self.today;
        match day {
            DayRef::Today => Some(today),
            DayRef::Tomorrow => today.succ_opt(),
            DayRef::AfterTomorrow => today.checked_add_days(Days::new(2)),
            DayRef::Weekday(w, mode) => {
                let ahead = days_until(today.weekday(), w);
                let ahead = match mode {
                    WeekdayMode::Next if ahead == 0 => 7,
                    WeekdayMode::Next | WeekdayMode::This => ahead,
                    WeekdayMode::NextWeek => {
                        7 - today.weekday().num_days_from_monday() + w.num_days_from_monday()
                    }
                };
                today.checked_add_days(Days::new(u64::from(ahead)))
            }
            DayRef::Date {
                day,
                month: Some(month),
                year: Some(year),
            } => NaiveDate::from_ymd_opt(year, month, day).filter(|d| *d >= today),
            DayRef::Date {
                day,
                month: Some(month),
                year: None,
            } => (0..8)
                .filter_map(|k| NaiveDate::from_ymd_opt(today.year().checked_add(k)?, month, day))
                .find(|d| *d >= today),
            DayRef::Date {
                day, month: None, ..
            } => {
                let mut first = today.with_day(1)?;
                for _ in 0..13 {
                    if let Some(d) = first.with_day(day).filter(|d| *d >= today) {
                        return Some(d);
                    }
                    first = first.checked_add_months(chrono::Months::new(1))?;
                }
                None
            }
        }
    }

    fn period(&self, p: Period) -> Option<DateTime<FixedOffset>> {
        let monday = self.today.checked_sub_days(Days::new(u64::from(
            self.today.weekday().num_days_from_monday(),
        )))?;
        match p {
            Period::ThisWeek | Period::Weekend => {
                self.instant(monday.checked_add_days(Days::new(4))?, END_OF_DAY, 0, 0)
            }
            Period::NextWeek => {
                self.instant(monday.checked_add_days(Days::new(11))?, END_OF_DAY, 0, 0)
            }
            Period::OverWeekend => self.instant(monday.checked_add_days(Days::new(6))?, 23, 59, 59),
            Period::EndOfMonth => self.instant(last_of_month(self.today, 0)?, END_OF_DAY, 0, 0),
            Period::NextMonth => self.instant(last_of_month(self.today, 1)?, END_OF_DAY, 0, 0),
            Period::EndOfYear => self.instant(
                NaiveDate::from_ymd_opt(self.today.year(), 12, 31)?,
                END_OF_DAY,
                0,
                0,
            ),
        }
    }
}

/// Whether a clock time is midnight said as the end of a night ("las 12 de la noche",
/// "12 midnight"): the conventions read midnight as 23:59:59 of the day it closes.
fn closes_the_day(h: u32, m: u32, part: Option<Part>) -> bool {
    (h, m) == (0, 0) && matches!(part, Some(Part::Night | Part::Midnight))
}

/// The local time at which a part of the day ends.
fn part_end(p: Part) -> Option<(u32, u32, u32)> {
    match p {
        Part::FirstThing => Some((9, 0, 0)),
        Part::Morning | Part::Noon => Some((12, 0, 0)),
        Part::Afternoon | Part::EndOfDay => Some((END_OF_DAY, 0, 0)),
        Part::Night | Part::Midnight => Some((23, 59, 59)),
        Part::SmallHours => None,
    }
}

/// Days from `from` to the next `to`, 0 when they are the same weekday.
fn days_until(from: Weekday, to: Weekday) -> u32 {
    (to.num_days_from_monday() + 7 - from.num_days_from_monday()) % 7
}

/// The last day of the month `months_ahead` months after the month of `date`.
fn last_of_month(date: NaiveDate, months_ahead: u32) -> Option<NaiveDate> {
    date.with_day(1)?
        .checked_add_months(chrono::Months::new(months_ahead.checked_add(1)?))?
        .pred_opt()
}

/// `date` moved `n` working days (Monday–Friday) forward.
fn add_business_days(date: NaiveDate, n: u32) -> Option<NaiveDate> {
    if n > MAX_BUSINESS_DAYS {
        return None;
    }
    let mut d = date;
    let mut left = n;
    while left > 0 {
        d = d.succ_opt()?;
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    Some(d)
}
