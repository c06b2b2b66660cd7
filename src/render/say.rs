//! Instants as people say them in a reply: "hoy a las 9:00", "mañana a las 13:00", "el lunes 23
//! a las 9:00", "el lunes 4 de enero a las 9:00"; "today at 9:00", "tomorrow at 1:00 pm",
//! "on Monday the 23rd at 9:00", "on Monday 4 January at 9:00".
//!
//! The rules (issue "replies a freelancer sends unchanged"):
//!
//! - The day is said relative to the arrival, in the freelancer's zone: the same day is "hoy" /
//!   "today", the next "mañana" / "tomorrow", up to six days ahead the weekday and the day of the
//!   month, beyond that (or before the arrival) the full date; the year only when it differs.
//! - A deadline or a delivery at 0:00 is "medianoche" / "midnight" of the day before (the end of
//!   Friday is "el viernes a medianoche"); an opening at 0:00 is the start of its own day ("el
//!   lunes 21 a las 0:00"). 12:00 on a 12-hour clock is "noon".
//! - The clock is 24-hour, except in English replies to a client who writes "am"/"pm" or whose
//!   offset is in the Americas (UTC−3 to UTC−10): "9:00 am", "1:30 pm".
//! - The zone is named once per reply by the templates (`…_zoned`); when the client's own offset
//!   (from the Date header of their mail) differs from the freelancer's at that instant, their
//!   local time is given beside it: "(a las 3:00 en tu hora)", "(at 3:00 am your time)". A Date
//!   header at +0000 says nothing: many mail programs write UTC whatever the sender's zone.
//!
//! Weekday and month names come from chrono's CLDR locale data, never from a hand table.

use chrono::{
    DateTime, Datelike, FixedOffset, Locale, NaiveDate, NaiveDateTime, Offset, Timelike, Utc,
};
use std::sync::LazyLock;

use chrono_tz::Tz;

use crate::lang::Lang;
use crate::zone::Zone;

/// How a reply says instants: the language, the freelancer's zone, the arrival and, when known,
/// the client's offset.
#[derive(Debug, Clone)]
pub struct Speaker {
    /// The reply's language.
    pub lang: Lang,
    /// The freelancer's zone.
    pub tz: Tz,
    /// The instant days are counted from (the arrival).
    pub now: DateTime<Utc>,
    /// The client's zone: a named one from their agreement, else the offset their mail gave.
    pub client: Option<Zone>,
    /// Clock hours on a 12-hour clock with am/pm (English only).
    pub twelve_hour: bool,
    /// Spanish: the client is addressed as usted ("en su hora").
    pub usted: bool,
    /// The freelancer's zone, named once.
    zone: String,
}

impl Speaker {
    /// A speaker for `lang`; the 12-hour clock follows the rule in the module doc.
    pub fn new(
        lang: Lang,
        tz: Tz,
        now: DateTime<Utc>,
        client: Option<Zone>,
        client_writes_am_pm: bool,
    ) -> Speaker {
        let americas = client.is_some_and(|z| {
            (-10 * 3600..=-3 * 3600).contains(&z.offset_at(now).local_minus_utc())
        });
        let city = super::place::zone_city(lang.code(), tz);
        let zone = match lang {
            Lang::Es => format!("hora de {city}"),
            Lang::En => format!("{city} time"),
        };
        Speaker {
            lang,
            tz,
            now,
            client,
            twelve_hour: lang == Lang::En && (client_writes_am_pm || americas),
            usted: false,
            zone,
        }
    }

    /// The instant in the freelancer's zone, with the client's time beside it when theirs
    /// differs: "mañana a las 13:00 (a las 6:00 en tu hora)".
    pub fn at(&self, t: DateTime<Utc>) -> String {
        self.pair(t, Edge::End).0
    }

    /// Like [`Speaker::at`], with the freelancer's zone named: "mañana a las 13:00 (hora de
    /// Madrid; a las 6:00 en tu hora)".
    pub fn at_zoned(&self, t: DateTime<Utc>) -> String {
        self.pair(t, Edge::End).1
    }

    /// An opening (the start of working time): midnight is the start of its own day.
    pub fn opening(&self, t: DateTime<Utc>, zoned: bool) -> String {
        let (plain, with_zone) = self.pair(t, Edge::Start);
        if zoned { with_zone } else { plain }
    }

    /// [`Speaker::at`] and [`Speaker::at_zoned`] at once (the day and clock are worked out once).
    pub fn both(&self, t: DateTime<Utc>) -> (String, String) {
        self.pair(t, Edge::End)
    }

    /// The opening, plain and with the zone named.
    pub fn both_opening(&self, t: DateTime<Utc>) -> (String, String) {
        self.pair(t, Edge::Start)
    }

    /// The instant, plain and with the zone named, the client's time beside both when theirs
    /// differs.
    fn pair(&self, t: DateTime<Utc>, edge: Edge) -> (String, String) {
        let own = self.local(t, edge);
        let zone = self.zone();
        match (self.client_time(t, edge), self.lang) {
            (Some(theirs), Lang::Es) => {
                let yours = if self.usted { "su" } else { "tu" };
                (
                    format!("{own} ({theirs} en {yours} hora)"),
                    format!("{own} ({zone}; {theirs} en {yours} hora)"),
                )
            }
            (Some(theirs), Lang::En) => (
                format!("{own} ({theirs} your time)"),
                format!("{own} ({zone}; {theirs} your time)"),
            ),
            (None, _) => {
                let zoned = format!("{own} ({zone})");
                (own, zoned)
            }
        }
    }

    /// The day alone, relative to the arrival: "hoy", "el miércoles 6 de enero", "Wednesday 6
    /// January".
    pub fn day(&self, date: NaiveDate) -> String {
        let day = day_phrase(self.lang, date, self.today(self.tz_offset_now()));
        // "until Friday the 19th", not "until on Friday".
        match day.strip_prefix("on ") {
            Some(bare) => bare.to_string(),
            None => day,
        }
    }

    /// The freelancer's zone, named: "hora de Madrid", "Madrid time".
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The instant in the freelancer's zone, without the zone.
    fn local(&self, t: DateTime<Utc>, edge: Edge) -> String {
        let local = t.with_timezone(&self.tz).naive_local();
        self.phrase(local, self.today(self.tz_offset_now()), edge)
    }

    /// The client's wall-clock time of `t` when their offset differs from the freelancer's then:
    /// the clock alone when it falls on the same day as hers, else with its own day.
    fn client_time(&self, t: DateTime<Utc>, edge: Edge) -> Option<String> {
        let offset = self.client.map(|z| z.offset_at(t))?;
        // A mail dated in UTC says nothing about where its writer is.
        if matches!(self.client, Some(Zone::Fixed(_))) && offset.local_minus_utc() == 0 {
            return None;
        }
        let own_offset = t.with_timezone(&self.tz).offset().fix();
        if offset == own_offset {
            return None;
        }
        let theirs = t.with_timezone(&offset).naive_local();
        let own_day = logical_day(t.with_timezone(&self.tz).naive_local(), edge);
        if logical_day(theirs, edge) == own_day {
            Some(self.clock(theirs.time(), edge))
        } else {
            Some(self.phrase(theirs, self.today(offset), edge))
        }
    }

    /// The arrival's date in a zone of offset `offset`.
    fn today(&self, offset: FixedOffset) -> NaiveDate {
        self.now.with_timezone(&offset).date_naive()
    }

    /// The freelancer's offset at the arrival.
    fn tz_offset_now(&self) -> FixedOffset {
        self.now.with_timezone(&self.tz).offset().fix()
    }

    /// Day and clock of a local wall-clock time.
    fn phrase(&self, local: NaiveDateTime, today: NaiveDate, edge: Edge) -> String {
        let day = day_phrase(self.lang, logical_day(local, edge), today);
        format!("{day} {}", self.clock(local.time(), edge))
    }

    /// "a las 9:00", "a la 1:00", "a medianoche"; "at 9:00", "at 9:00 am", "at noon", "at midnight".
    fn clock(&self, time: chrono::NaiveTime, edge: Edge) -> String {
        let (h, m) = (time.hour(), time.minute());
        let midnight = edge == Edge::End && h == 0 && m == 0;
        match self.lang {
            Lang::Es if midnight => "a medianoche".to_string(),
            Lang::Es => format!("a la{} {h}:{m:02}", if h == 1 { "" } else { "s" }),
            Lang::En if midnight => "at midnight".to_string(),
            Lang::En if self.twelve_hour && h == 12 && m == 0 => "at noon".to_string(),
            Lang::En if self.twelve_hour => {
                let half = if h < 12 { "am" } else { "pm" };
                let h12 = match h % 12 {
                    0 => 12,
                    h => h,
                };
                format!("at {h12}:{m:02} {half}")
            }
            Lang::En => format!("at {h}:{m:02}"),
        }
    }
}

/// Whether an instant ends something (a deadline, a delivery) or starts it (an opening).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Start,
    End,
}

/// The day a wall-clock time belongs to as people say it: an ending at midnight belongs to the
/// day before.
fn logical_day(local: NaiveDateTime, edge: Edge) -> NaiveDate {
    if edge == Edge::End && local.hour() == 0 && local.minute() == 0 {
        local.date().pred_opt().unwrap_or(local.date())
    } else {
        local.date()
    }
}

/// The CLDR locale replies in `lang` are written in.
fn locale(lang: Lang) -> Locale {
    match lang {
        Lang::Es => Locale::es_ES,
        Lang::En => Locale::en_GB,
    }
}

/// The weekday and month names of one language, read once from chrono's CLDR data.
struct Names {
    /// Monday first.
    weekdays: Vec<String>,
    /// January first.
    months: Vec<String>,
}

impl Names {
    fn of(lang: Lang) -> Names {
        // 2024 began on a Monday.
        let day = |n: u32| NaiveDate::from_yo_opt(2024, 1 + n).unwrap_or_default();
        let month = |m: u32| NaiveDate::from_ymd_opt(2024, m, 1).unwrap_or_default();
        Names {
            weekdays: (0..7)
                .map(|n| day(n).format_localized("%A", locale(lang)).to_string())
                .collect(),
            months: (1..=12)
                .map(|m| month(m).format_localized("%B", locale(lang)).to_string())
                .collect(),
        }
    }

    fn get(lang: Lang) -> &'static Names {
        static SPANISH: LazyLock<Names> = LazyLock::new(|| Names::of(Lang::Es));
        static ENGLISH: LazyLock<Names> = LazyLock::new(|| Names::of(Lang::En));
        match lang {
            Lang::Es => &SPANISH,
            Lang::En => &ENGLISH,
        }
    }

    fn weekday(&self, date: NaiveDate) -> &str {
        let i = date.weekday().num_days_from_monday() as usize;
        self.weekdays.get(i).map_or("", String::as_str)
    }

    fn month(&self, date: NaiveDate) -> &str {
        self.months
            .get(date.month0() as usize)
            .map_or("", String::as_str)
    }
}

/// A weekday's name as the replies write it: "lunes", "Monday".
pub fn weekday_name(lang: Lang, day: chrono::Weekday) -> String {
    let names = Names::get(lang);
    names
        .weekdays
        .get(day.num_days_from_monday() as usize)
        .cloned()
        .unwrap_or_default()
}

/// A date written in full, weekday first: "lunes 30 de noviembre", "Monday 30 November".
pub fn full_date(lang: Lang, date: NaiveDate) -> String {
    let names = Names::get(lang);
    let (weekday, month) = (names.weekday(date), names.month(date));
    match lang {
        Lang::Es => format!("{weekday} {} de {month}", date.day()),
        Lang::En => format!("{weekday} {} {month}", date.day()),
    }
}

/// "hoy", "mañana", "el lunes 23", "el lunes 4 de enero (de 2027)"; "today", "tomorrow",
/// "on Monday the 23rd", "on Monday 4 January (2027)".
fn day_phrase(lang: Lang, date: NaiveDate, today: NaiveDate) -> String {
    let ahead = (date - today).num_days();
    let weekday = Names::get(lang).weekday(date);
    let year = if date.year() == today.year() {
        String::new()
    } else {
        match lang {
            Lang::Es => format!(" de {}", date.year()),
            Lang::En => format!(" {}", date.year()),
        }
    };
    let d = date.day();
    match (lang, ahead) {
        (Lang::Es, 0) => "hoy".to_string(),
        (Lang::Es, 1) => "mañana".to_string(),
        (Lang::Es, 2..=6) => format!("el {weekday} {d}"),
        (Lang::Es, _) => format!("el {}{year}", full_date(lang, date)),
        (Lang::En, 0) => "today".to_string(),
        (Lang::En, 1) => "tomorrow".to_string(),
        (Lang::En, 2..=6) => format!("on {weekday} the {d}{}", ordinal_suffix(d)),
        (Lang::En, _) => format!("on {}{year}", full_date(lang, date)),
    }
}

/// "st", "nd", "rd" or "th".
fn ordinal_suffix(d: u32) -> &'static str {
    match (d % 10, d % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    }
}

/// Clients who write "3pm", "9:30 a.m." get English times on a 12-hour clock.
pub fn writes_am_pm(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = memchr::memchr2(b'm', b'M', &bytes[i..]) {
        let at = i + pos;
        i = at + 1;
        // "pm", "p.m.", "am", "a.m." right after a digit (optionally one space).
        let before = &bytes[..at];
        let before = before.strip_suffix(b".").unwrap_or(before);
        let Some((&ap, rest)) = before.split_last() else {
            continue;
        };
        if !matches!(ap.to_ascii_lowercase(), b'a' | b'p') {
            continue;
        }
        let rest = rest.strip_suffix(b" ").unwrap_or(rest);
        let after_ok = bytes.get(at + 1).is_none_or(|b| !b.is_ascii_alphanumeric());
        if after_ok && rest.last().is_some_and(u8::is_ascii_digit) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("date").to_utc()
    }

    fn madrid(lang: Lang, now: &str, client: Option<i32>) -> Speaker {
        let client = client.map(|h| Zone::Fixed(FixedOffset::east_opt(h * 3600).expect("offset")));
        Speaker::new(lang, chrono_tz::Europe::Madrid, utc(now), client, false)
    }

    #[test]
    fn days_relative_to_the_arrival() {
        // Friday 27 November 2026, 08:00 in Madrid.
        let es = madrid(Lang::Es, "2026-11-27T08:00:00+01:00", None);
        let en = madrid(Lang::En, "2026-11-27T08:00:00+01:00", None);
        let cases = [
            (
                "2026-11-27T09:00:00+01:00",
                "hoy a las 9:00",
                "today at 9:00",
            ),
            (
                "2026-11-28T13:00:00+01:00",
                "mañana a las 13:00",
                "tomorrow at 13:00",
            ),
            (
                "2026-11-30T09:00:00+01:00",
                "el lunes 30 a las 9:00",
                "on Monday the 30th at 9:00",
            ),
            (
                "2026-12-03T01:00:00+01:00",
                "el jueves 3 a la 1:00",
                "on Thursday the 3rd at 1:00",
            ),
            (
                "2026-12-04T09:00:00+01:00",
                "el viernes 4 de diciembre a las 9:00",
                "on Friday 4 December at 9:00",
            ),
            (
                "2027-01-07T09:00:00+01:00",
                "el jueves 7 de enero de 2027 a las 9:00",
                "on Thursday 7 January 2027 at 9:00",
            ),
            // Midnight is the end of the day before.
            (
                "2026-11-28T00:00:00+01:00",
                "hoy a medianoche",
                "today at midnight",
            ),
        ];
        for (t, want_es, want_en) in cases {
            assert_eq!(es.at(utc(t)), want_es, "{t}");
            assert_eq!(en.at(utc(t)), want_en, "{t}");
        }
        // An opening at midnight is the start of its own day.
        let t = utc("2026-11-30T00:00:00+01:00");
        assert_eq!(es.opening(t, false), "el lunes 30 a las 0:00");
        assert_eq!(
            en.opening(t, true),
            "on Monday the 30th at 0:00 (Madrid time)"
        );
    }

    #[test]
    fn the_zone_once_and_the_clients_time_beside() {
        let es = madrid(Lang::Es, "2026-11-27T08:00:00+01:00", None);
        assert_eq!(
            es.at_zoned(utc("2026-11-27T09:00:00+01:00")),
            "hoy a las 9:00 (hora de Madrid)"
        );
        // A client in New York (UTC−5).
        let es = madrid(Lang::Es, "2026-11-27T08:00:00+01:00", Some(-5));
        assert_eq!(
            es.at_zoned(utc("2026-11-27T13:00:00+01:00")),
            "hoy a las 13:00 (hora de Madrid; a las 7:00 en tu hora)"
        );
        assert_eq!(
            es.at(utc("2026-11-30T02:00:00+01:00")),
            "el lunes 30 a las 2:00 (el domingo 29 a las 20:00 en tu hora)"
        );
        // UTC says nothing about where the client is.
        let es = madrid(Lang::Es, "2026-11-27T08:00:00+01:00", Some(0));
        assert_eq!(es.at(utc("2026-11-27T09:00:00+01:00")), "hoy a las 9:00");
        // Same offset as hers: nothing beside.
        let es = madrid(Lang::Es, "2026-11-27T08:00:00+01:00", Some(1));
        assert_eq!(es.at(utc("2026-11-27T09:00:00+01:00")), "hoy a las 9:00");
        // English to the Americas: 12-hour clock for both times.
        let en = madrid(Lang::En, "2026-11-27T08:00:00+01:00", Some(-5));
        assert_eq!(
            en.at_zoned(utc("2026-11-27T13:00:00+01:00")),
            "today at 1:00 pm (Madrid time; at 7:00 am your time)"
        );
        assert_eq!(
            en.at(utc("2026-11-27T18:00:00+01:00")),
            "today at 6:00 pm (at noon your time)"
        );
    }

    #[test]
    fn both_dst_changes_keep_the_wall_clock() {
        // Spring forward (29 March 2026) and fall back (25 October 2026) in Madrid.
        let es = madrid(Lang::Es, "2026-03-28T20:00:00+01:00", None);
        assert_eq!(
            es.at(utc("2026-03-30T09:00:00+02:00")),
            "el lunes 30 a las 9:00"
        );
        let es = madrid(Lang::Es, "2026-10-24T20:00:00+02:00", None);
        assert_eq!(
            es.at(utc("2026-10-26T09:00:00+01:00")),
            "el lunes 26 a las 9:00"
        );
        // A New York client across Madrid's change, before New York's (1 November): the gap
        // is five hours again, and the client's offset is the one their mail gave.
        let en = madrid(Lang::En, "2026-10-24T20:00:00+02:00", Some(-4));
        assert_eq!(
            en.at(utc("2026-10-26T09:00:00+01:00")),
            "on Monday the 26th at 9:00 am (at 4:00 am your time)"
        );
    }

    #[test]
    fn am_pm_writers() {
        for yes in ["by 5pm today", "at 9:30 a.m.", "3 PM", "at 11am."] {
            assert!(writes_am_pm(yes), "{yes}");
        }
        for no in ["I am here", "a las 17:00", "5 mm", "pm me", "spam 3"] {
            assert!(!writes_am_pm(no), "{no}");
        }
    }
}
