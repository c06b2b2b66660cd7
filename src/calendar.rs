//! Business time (design §4): when the freelancer works, when she next opens, and the earliest
//! instant a request can be delivered with the notice she needs.
//!
//! Working time is a set of local wall-clock ranges per weekday in one IANA zone, minus whole-day
//! holidays. A range is half-open (09:00–14:00 holds 09:00 and 13:59:59, not 14:00). Every rule is
//! computed by turning local ranges into instants one day at a time with [`Zone::instant`], so a
//! DST change shifts the instants and never the local ranges.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use crate::zone::Zone;

/// How far ahead the calendar looks for working time before it gives up (a schedule that is
/// closed for longer than this has no next opening).
const HORIZON_DAYS: i64 = 3 * 366;

/// A working range within one local day, in minutes since local midnight; `end` may be 1440
/// (24:00, the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    /// First minute inside the range.
    pub start: u32,
    /// First minute after the range.
    pub end: u32,
}

impl Range {
    /// Formats the range as `09:00-14:00`.
    pub fn label(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// An inclusive range of whole local days on which the freelancer does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holiday {
    /// First closed day.
    pub first: NaiveDate,
    /// Last closed day (equal to `first` for a single day).
    pub last: NaiveDate,
}

/// How the notice window is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Counts {
    /// Only working time counts towards the notice.
    Business,
    /// Wall-clock time counts; the result is moved to the next working moment.
    Calendar,
}

/// The freelancer's working calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The zone every range and holiday is read in.
    pub tz: Tz,
    /// Working ranges per weekday, Monday first, sorted and non-overlapping.
    pub week: [Vec<Range>; 7],
    /// Closed days.
    pub holidays: Vec<Holiday>,
    /// Days she is away (`[[away]]` and `plazo away`): closed like holidays.
    pub away: Vec<Holiday>,
    /// Busy times from her calendar (`[[calendar]]`), as instants, sorted by start: they are
    /// taken out of working time.
    pub busy: Vec<Busy>,
}

/// A busy time from her calendar: an event that removes working time, half-open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Busy {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
    /// The event's UID, for `plazo availability` (never in a reply).
    pub uid: String,
}

impl Schedule {
    /// The ranges of `day`'s weekday.
    pub fn ranges(&self, day: Weekday) -> &[Range] {
        self.week
            .get(day.num_days_from_monday() as usize)
            .map_or(&[], Vec::as_slice)
    }

    /// True when `day` is a holiday.
    pub fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays
            .iter()
            .any(|h| h.first <= day && day <= h.last)
    }

    /// The holiday run that holds `day`, if any.
    pub fn holiday_on(&self, day: NaiveDate) -> Option<Holiday> {
        self.holidays
            .iter()
            .copied()
            .find(|h| h.first <= day && day <= h.last)
    }

    /// True when `day` is closed: a holiday or a day away.
    pub fn is_closed(&self, day: NaiveDate) -> bool {
        self.is_holiday(day) || self.away.iter().any(|h| h.first <= day && day <= h.last)
    }

    /// True when the schedule has any working time at all in a week.
    pub fn has_hours(&self) -> bool {
        self.week.iter().any(|d| !d.is_empty())
    }

    /// The working intervals of one local day, as instants, in order: the timetable's ranges,
    /// none on a closed day, each less the busy times of her calendar.
    fn day_intervals(&self, day: NaiveDate) -> impl Iterator<Item = Interval> + '_ {
        let closed = self.is_closed(day);
        let zone = Zone::Named(self.tz);
        self.ranges(day.weekday())
            .iter()
            .filter(move |_| !closed)
            .filter_map(move |r| {
                let start = zone.instant(at_minute(day, r.start)?).to_utc();
                let end = zone.instant(at_minute(day, r.end)?).to_utc();
                (end > start).then_some(Interval { start, end })
            })
            .flat_map(move |i| self.less_busy(i))
    }

    /// `interval` without the busy times that overlap it: zero, one or more pieces, in order.
    fn less_busy(&self, interval: Interval) -> Vec<Interval> {
        // Busy times are sorted by start; those starting at or after the end cannot overlap.
        let before_end = self.busy.partition_point(|b| b.start < interval.end);
        let mut pieces = Vec::with_capacity(1);
        let mut from = interval.start;
        let mut overlapping: Vec<&Busy> = self.busy[..before_end]
            .iter()
            .filter(|b| b.end > interval.start)
            .collect();
        overlapping.sort_by_key(|b| b.start);
        for b in overlapping {
            if b.start > from {
                pieces.push(Interval {
                    start: from,
                    end: b.start,
                });
            }
            from = from.max(b.end);
        }
        if from < interval.end {
            pieces.push(Interval {
                start: from,
                end: interval.end,
            });
        }
        pieces
    }

    /// The busy times of her calendar that take working time between `from` and `to`: what
    /// moved a promise that far (for `plazo preview`).
    pub fn busy_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<&Busy> {
        self.busy
            .iter()
            .filter(|b| b.start < to && b.end > from)
            .collect()
    }

    /// The free working intervals of one local day (what `plazo availability` shows).
    pub fn free_on(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.day_intervals(day).map(|i| (i.start, i.end)).collect()
    }

    /// Working intervals that end after `t`, in order, up to the horizon.
    fn intervals_after(&self, t: DateTime<Utc>) -> impl Iterator<Item = Interval> + '_ {
        // Start a day early: a range of the previous local day can still be open at `t`
        // (a 24:00 end read across a DST change, or a zone far from UTC).
        let first = t.with_timezone(&self.tz).date_naive().pred_opt();
        (0..HORIZON_DAYS)
            .filter_map(move |n| first?.checked_add_signed(Duration::days(n)))
            .flat_map(move |day| self.day_intervals(day))
            .filter(move |i| i.end > t)
    }

    /// True when `t` falls inside working time.
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        self.intervals_after(t).next().is_some_and(|i| i.start <= t)
    }

    /// The next working moment at or after `t`, or `None` when the schedule never opens again
    /// within the horizon.
    pub fn next_opening(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.intervals_after(t).next().map(|i| i.start.max(t))
    }

    /// The instant where `work` of working time, counted from `t` (or from the next opening),
    /// runs out.
    pub fn add_working_time(&self, t: DateTime<Utc>, work: Duration) -> Option<DateTime<Utc>> {
        let mut left = work.max(Duration::zero());
        for interval in self.intervals_after(t) {
            let from = interval.start.max(t);
            let available = interval.end - from;
            if left <= available {
                return Some(from + left);
            }
            left -= available;
        }
        None
    }

    /// The earliest feasible delivery for a request arriving at `arrival` that needs `notice`.
    pub fn earliest(
        &self,
        arrival: DateTime<Utc>,
        notice: Duration,
        counts: Counts,
    ) -> Option<DateTime<Utc>> {
        match counts {
            Counts::Business => self.add_working_time(arrival, notice),
            Counts::Calendar => self.next_opening(arrival.checked_add_signed(notice)?),
        }
    }
}

/// One working interval as instants, half-open.
#[derive(Debug, Clone, Copy)]
struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// The local date-time `minute` minutes after the start of `day` (1440 is the next midnight).
fn at_minute(day: NaiveDate, minute: u32) -> Option<chrono::NaiveDateTime> {
    if minute >= 24 * 60 {
        return day.succ_opt()?.and_hms_opt(0, 0, 0);
    }
    Some(day.and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(start: &str, end: &str) -> Range {
        let m = |s: &str| {
            let (h, m) = s.split_once(':').expect("hh:mm");
            h.parse::<u32>().expect("hour") * 60 + m.parse::<u32>().expect("minute")
        };
        Range {
            start: m(start),
            end: m(end),
        }
    }

    fn office(tz: Tz) -> Schedule {
        let day = vec![r("09:00", "14:00"), r("16:00", "19:00")];
        Schedule {
            tz,
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                vec![r("09:00", "14:00")],
                vec![],
                vec![],
            ],
            holidays: vec![],
            away: vec![],
            busy: vec![],
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339").to_utc()
    }

    #[test]
    fn half_open_ranges() {
        let s = office(chrono_tz::Europe::Madrid);
        assert!(s.is_working(utc("2026-11-23T09:00:00+01:00")));
        assert!(s.is_working(utc("2026-11-23T13:59:59+01:00")));
        assert!(!s.is_working(utc("2026-11-23T14:00:00+01:00")));
        assert!(!s.is_working(utc("2026-11-23T08:59:59+01:00")));
    }

    #[test]
    fn next_opening_over_weekend() {
        let s = office(chrono_tz::Europe::Madrid);
        let t = s.next_opening(utc("2026-11-20T21:30:00+01:00"));
        assert_eq!(t, Some(utc("2026-11-23T09:00:00+01:00")));
        let inside = utc("2026-11-23T10:15:00+01:00");
        assert_eq!(s.next_opening(inside), Some(inside));
    }

    #[test]
    fn no_hours_has_no_opening() {
        let mut s = office(chrono_tz::Europe::Madrid);
        s.week = Default::default();
        assert_eq!(s.next_opening(utc("2026-11-20T21:30:00+01:00")), None);
        assert_eq!(
            s.add_working_time(utc("2026-11-20T21:30:00+01:00"), Duration::hours(1)),
            None
        );
    }
}
