//! Time zones as plazo reads them: an IANA zone or a fixed offset, and the one rule for turning a
//! local wall-clock time into an instant.
//!
//! Local times that do not exist (the spring-forward gap) move forward by the length of the gap;
//! local times that occur twice (fall-back) mean their first occurrence. Both the business calendar
//! and the deadline extractor use [`Zone::instant`], so the two never disagree.

use chrono::{DateTime, FixedOffset, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A zone in which local wall-clock times are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// An IANA zone with its DST rules (`Europe/Madrid`).
    Named(Tz),
    /// A fixed offset from UTC, such as the offset of a Date header (`-0500`).
    Fixed(FixedOffset),
}

impl Zone {
    /// The zone of a sender: `home` when the Date header's offset equals `home`'s offset at that
    /// instant, otherwise the fixed offset of the Date header.
    pub fn of_sender(date: DateTime<FixedOffset>, home: Tz) -> Zone {
        let home_offset = home.offset_from_utc_datetime(&date.naive_utc()).fix();
        if home_offset == *date.offset() {
            Zone::Named(home)
        } else {
            Zone::Fixed(*date.offset())
        }
    }

    /// The local wall-clock time of `instant` in this zone.
    pub fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Named(tz) => instant.with_timezone(tz).naive_local(),
            Zone::Fixed(off) => instant.with_timezone(off).naive_local(),
        }
    }

    /// The offset in force at `instant`.
    pub fn offset_at(&self, instant: DateTime<Utc>) -> FixedOffset {
        match self {
            Zone::Named(tz) => tz.offset_from_utc_datetime(&instant.naive_utc()).fix(),
            Zone::Fixed(off) => *off,
        }
    }

    /// The instant of a local wall-clock time: gaps move forward by their length, repeated times
    /// take their first occurrence.
    pub fn instant(&self, local: NaiveDateTime) -> DateTime<FixedOffset> {
        match self {
            Zone::Named(tz) => resolve(tz, local),
            Zone::Fixed(off) => resolve(off, local),
        }
    }
}

fn resolve<Z: TimeZone>(zone: &Z, local: NaiveDateTime) -> DateTime<FixedOffset> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.fixed_offset(),
        LocalResult::Ambiguous(first, _) => first.fixed_offset(),
        LocalResult::None => {
            // In a gap: read the wall time with the offset in force just before the gap, which
            // lands the instant as far past the gap's end as the time was past its start.
            let before = local - chrono::Duration::hours(3);
            let offset = match zone.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.offset().fix(),
                LocalResult::None => zone.offset_from_utc_datetime(&local).fix(),
            };
            let utc = local - chrono::Duration::seconds(i64::from(offset.local_minus_utc()));
            let utc = Utc.from_utc_datetime(&utc);
            utc.with_timezone(&zone.offset_from_utc_datetime(&utc.naive_utc()).fix())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .expect("valid test date")
    }

    #[test]
    fn gap_moves_forward() {
        let z = Zone::Named(chrono_tz::Europe::Madrid);
        // 2025-03-30 02:30 does not exist in Madrid: 03:30 CEST.
        let t = z.instant(at(2025, 3, 30, 2, 30));
        assert_eq!(t.to_rfc3339(), "2025-03-30T03:30:00+02:00");
    }

    #[test]
    fn fold_takes_first() {
        let z = Zone::Named(chrono_tz::America::New_York);
        let t = z.instant(at(2025, 11, 2, 1, 30));
        assert_eq!(t.to_rfc3339(), "2025-11-02T01:30:00-04:00");
    }

    #[test]
    fn sender_zone_from_date_offset() {
        let madrid = chrono_tz::Europe::Madrid;
        let d = DateTime::parse_from_rfc3339("2025-07-01T10:00:00+02:00").expect("date");
        assert_eq!(Zone::of_sender(d, madrid), Zone::Named(madrid));
        let d = DateTime::parse_from_rfc3339("2025-07-01T10:00:00+01:00").expect("date");
        assert_eq!(
            Zone::of_sender(d, madrid),
            Zone::Fixed(FixedOffset::east_opt(3600).expect("offset"))
        );
    }
}
