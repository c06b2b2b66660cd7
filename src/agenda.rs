//! Her real calendar: the events of `[[calendar]]` sources (iCalendar files) read into what
//! business time needs: busy times taken out of working time, and whole days she is away or
//! that are public holidays. Without it plazo promises "mañana a las 9:00" while she is on a
//! train.
//!
//! Parsing is the `icalendar` crate's, recurrence the `rrule` crate's; this module decides what
//! an event means: a timed event that is not `TRANSP:TRANSPARENT` is busy; an all-day event, or
//! one whose title or categories hold one of the source's away words, makes away days; in a
//! source marked `holidays = true` every event closes its whole days, free or not (Google marks
//! its public holidays free). Cancelled events change nothing. A `RECURRENCE-ID` instance
//! replaces the occurrence it names. Times with a `TZID` are read in that IANA zone (and a
//! Windows zone name, as Outlook and Microsoft 365 write them, as its IANA zone), floating times
//! and dates in the freelancer's zone, never the machine's.
//!
//! RFC 5545 recurrences are rules on local times, so they are expanded on wall times in the
//! event's zone and only then placed on the time line: a wall time the clocks skip is no
//! occurrence (§3.3.10), one they repeat is its first (§3.3.5), and an event lasts its DTEND's
//! exact difference or its DURATION, whole days counted as local days (§3.3.6).
//!
//! [`parse`] is pure (text in, blocks out); `caldav` brings the text (a file, an ICS URL, a
//! CalDAV collection) and keeps the last good copy.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use icalendar::{CalendarDateTime, Component as _, DatePerhapsTime, Event, EventLike as _};
use serde::Serialize;

use crate::calendar::{Busy, Holiday};
use crate::zone::Zone;

/// The away words a source uses unless it lists its own (matched in titles and categories,
/// without case or accents).
pub const AWAY_WORDS: &[&str] = &[
    "vacaciones",
    "vacation",
    "holiday",
    "holidays",
    "ooo",
    "out of office",
    "fuera de la oficina",
    "ausente",
    "away",
];

/// How far ahead recurring events are expanded.
const AHEAD: Duration = Duration::days(400);

/// At most this many occurrences of one recurring event are read.
const MAX_OCCURRENCES: u16 = 2000;

/// What the events of one `[[calendar]]` source mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meaning {
    /// Every event closes its whole days (a public-holiday calendar of her region).
    pub holidays: bool,
    /// Words in a title or category that make an event an away period (folded).
    pub away_words: Vec<String>,
}

/// Whole local days taken out of the week, and by which event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Days {
    /// The days, first and last included.
    #[serde(skip)]
    pub days: Holiday,
    /// The event's UID.
    pub uid: String,
    /// `away` (she is away: replies say when she is back) or `holiday` (closed).
    pub kind: &'static str,
}

/// What the sources say, merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Agenda {
    /// Busy times, sorted by start.
    pub busy: Vec<Busy>,
    /// Away days and holidays.
    pub days: Vec<Days>,
    /// What could not be read: the file, the event's UID when known, and why.
    pub problems: Vec<String>,
}

impl Agenda {
    /// Adds what another source says.
    pub fn merge(&mut self, other: Agenda) {
        self.busy.extend(other.busy);
        self.busy.sort_by_key(|b| (b.start, b.end));
        self.days.extend(other.days);
        self.problems.extend(other.problems);
    }
}

/// The events the daemon needs at `now`: from a day before it to about a year after it.
pub fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now - Duration::days(1), now + AHEAD)
}

/// The busy times and days of one source's text that touch `window`.
pub fn parse(
    text: &str,
    source: &Meaning,
    tz: Tz,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Agenda {
    let mut agenda = Agenda::default();
    let iana;
    let text = match with_iana_zones(text) {
        Some(rewritten) => {
            iana = rewritten;
            iana.as_str()
        }
        None => text,
    };
    let calendar: icalendar::Calendar = match text.parse() {
        Ok(c) => c,
        Err(e) => {
            agenda.problems.push(format!("not an iCalendar file: {e}"));
            return agenda;
        }
    };
    let events: Vec<&Event> = calendar
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    // Instances moved or cancelled by a RECURRENCE-ID, by UID: the master skips them.
    let mut replaced: BTreeMap<String, BTreeSet<DateTime<Utc>>> = BTreeMap::new();
    for e in &events {
        if let (Some(uid), Some(id)) = (e.get_uid(), e.get_recurrence_id())
            && let Some(at) = instant(&id, tz)
        {
            replaced.entry(uid.to_string()).or_default().insert(at);
        }
    }
    for e in events {
        let uid = e.get_uid().unwrap_or("(no UID)").to_string();
        let at = || match line_of(text, &uid) {
            Some(n) => format!("line {n}: event {uid}"),
            None => format!("event {uid}"),
        };
        // A public-holiday calendar marks its days TRANSPARENT (Google's do): they make nobody
        // busy in a free/busy search, yet the day is still a holiday.
        if e.property_value("STATUS")
            .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
            || !source.holidays
                && e.property_value("TRANSP")
                    .is_some_and(|t| t.eq_ignore_ascii_case("TRANSPARENT"))
        {
            continue;
        }
        let Some(start) = e.get_start() else {
            agenda.problems.push(format!("{}: no DTSTART", at()));
            continue;
        };
        let all_day = matches!(start, DatePerhapsTime::Date(_));
        let (Some(first), Some(zone)) = (instant(&start, tz), event_zone(&start, tz)) else {
            agenda.problems.push(format!(
                "{}: its time zone is not an IANA name plazo knows",
                at()
            ));
            continue;
        };
        let length = match length(e, &start, first, tz) {
            Ok(length) => length,
            Err(why) => {
                agenda.problems.push(format!("{}: {why}", at()));
                continue;
            }
        };
        let words = format!(
            "{} {}",
            e.get_summary().unwrap_or_default(),
            e.get_categories().unwrap_or_default().join(" ")
        );
        let away = all_day || is_away(&words, &source.away_words);
        let recurring = e.get_recurrence_id().is_none()
            && (e.property_value("RRULE").is_some() || listed(e, "RDATE"));
        let start = wall(&start, zone, tz).unwrap_or(first.naive_utc());
        let occurrences = if recurring {
            match expand(e, start, zone, tz, length, (from, until)) {
                Ok(walls) => {
                    let skip = replaced.get(&uid);
                    walls
                        .into_iter()
                        .filter(|(_, at)| skip.is_none_or(|s| !s.contains(at)))
                        .collect()
                }
                Err(err) => {
                    agenda
                        .problems
                        .push(format!("{}: its recurrence cannot be read: {err}", at()));
                    continue;
                }
            }
        } else {
            vec![(start, first)]
        };
        for (wall, at) in occurrences {
            let end = length.end(wall, at, zone);
            if end <= from || at >= until {
                continue;
            }
            if source.holidays || away {
                let her = Zone::Named(tz);
                let first_day = her.local(at).date();
                // An end at local midnight closes the day before it.
                let last_day = her.local(end - Duration::seconds(1)).date();
                agenda.days.push(Days {
                    days: Holiday {
                        first: first_day,
                        last: last_day.max(first_day),
                    },
                    uid: uid.clone(),
                    kind: if source.holidays { "holiday" } else { "away" },
                });
            } else if end > at {
                agenda.busy.push(Busy {
                    start: at,
                    end,
                    uid: uid.clone(),
                });
            }
        }
    }
    agenda.busy.sort_by_key(|b| (b.start, b.end));
    agenda
}

/// How long each occurrence of an event lasts, as RFC 5545 §3.3.6 counts it: whole days are
/// nominal (the same wall time a day later: 23 or 25 hours across a DST change), hours,
/// minutes and seconds exact.
#[derive(Debug, Clone, Copy)]
struct Length {
    days: i64,
    exact: Duration,
}

impl Length {
    /// The end of the occurrence that starts at wall time `wall` (in `zone`), instant `at`.
    fn end(self, wall: NaiveDateTime, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let start = if self.days == 0 {
            at
        } else {
            Zone::Named(zone)
                .instant(wall + Duration::days(self.days))
                .to_utc()
        };
        start + self.exact
    }

    /// At least as long as any occurrence is.
    fn most(self) -> Duration {
        Duration::days(self.days + 1) + self.exact
    }
}

/// An event's length (RFC 5545 §3.6.1): from DTEND (a date's days nominal, a time's exact
/// difference), or from DURATION; without either a date lasts a day and a time no time.
fn length(
    e: &Event,
    start: &DatePerhapsTime,
    first: DateTime<Utc>,
    tz: Tz,
) -> Result<Length, String> {
    let none = Length {
        days: 0,
        exact: Duration::zero(),
    };
    if let Some(end) = e.get_end() {
        return Ok(match (start, &end) {
            (DatePerhapsTime::Date(a), DatePerhapsTime::Date(b)) => Length {
                days: (*b - *a).num_days().max(0),
                exact: Duration::zero(),
            },
            _ => match instant(&end, tz) {
                Some(end) if end > first => Length {
                    days: 0,
                    exact: end - first,
                },
                Some(_) => none,
                None => return Err("its DTEND's time zone is not an IANA name plazo knows".into()),
            },
        });
    }
    let all_day = matches!(start, DatePerhapsTime::Date(_));
    let Some(value) = e.property_value("DURATION") else {
        return Ok(if all_day {
            Length {
                days: 1,
                exact: Duration::zero(),
            }
        } else {
            none
        });
    };
    let unreadable = || format!("its DURATION {value:?} cannot be read");
    match iso8601::duration(value.trim()).map_err(|_| unreadable())? {
        iso8601::Duration::Weeks(w) => Ok(Length {
            days: 7 * i64::from(w),
            exact: Duration::zero(),
        }),
        iso8601::Duration::YMDHMS {
            year: 0,
            month: 0,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => Ok(Length {
            days: i64::from(day),
            exact: Duration::hours(hour.into())
                + Duration::minutes(minute.into())
                + Duration::seconds(second.into())
                + Duration::milliseconds(millisecond.into()),
        }),
        iso8601::Duration::YMDHMS { .. } => Err(unreadable()),
    }
}

/// The zone an event's recurrence is expanded in: its DTSTART's `TZID`, UTC for a UTC time,
/// hers for a floating time or a date.
fn event_zone(start: &DatePerhapsTime, tz: Tz) -> Option<Tz> {
    match start {
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(_)) => Some(chrono_tz::UTC),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { tzid, .. }) => tzid.parse().ok(),
        _ => Some(tz),
    }
}

/// A date or time as a wall time in `zone` (a date at midnight, a floating time as written,
/// a time of another zone converted).
fn wall(value: &DatePerhapsTime, zone: Tz, tz: Tz) -> Option<NaiveDateTime> {
    match value {
        DatePerhapsTime::Date(d) => d.and_hms_opt(0, 0, 0),
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(n)) => Some(*n),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid })
            if tzid.parse::<Tz>().ok() == Some(zone) =>
        {
            Some(*date_time)
        }
        other => Some(instant(other, tz)?.with_timezone(&zone).naive_local()),
    }
}

/// Whether the event has a property `key` (once or several times).
fn listed(e: &Event, key: &str) -> bool {
    e.properties().contains_key(key) || e.multi_properties().contains_key(key)
}

/// Every value of a list property such as RDATE or EXDATE (several properties, each a
/// comma-separated list; a PERIOD counts by its start), each with its property's `TZID` and
/// `VALUE=DATE`. `None` in the list for a value that cannot be read.
fn values(e: &Event, key: &str) -> Vec<Option<DatePerhapsTime>> {
    let single = e.properties().get(key);
    let multi = e.multi_properties().get(key);
    single
        .into_iter()
        .chain(multi.into_iter().flatten())
        .flat_map(|p| {
            p.value().split(',').map(move |v| {
                let v = v.split('/').next().unwrap_or(v).trim();
                let mut one = icalendar::Property::new(key, v);
                if let Some(tzid) = p.params().get("TZID") {
                    one.add_parameter("TZID", tzid.value());
                }
                if p.params()
                    .get("VALUE")
                    .is_some_and(|t| t.value().eq_ignore_ascii_case("DATE"))
                {
                    one.add_parameter("VALUE", "DATE");
                }
                DatePerhapsTime::from_property(&one)
            })
        })
        .collect()
}

/// A wall time as the `rrule` crate expands it: RFC 5545 recurrences are rules on local
/// times, so they are expanded on wall times (written as UTC, which has no DST) and only then
/// placed in the event's zone.
fn as_rule_time(wall: NaiveDateTime) -> DateTime<rrule::Tz> {
    rrule::Tz::UTC.from_utc_datetime(&wall)
}

/// The occurrences (wall time in `zone`, instant) of a recurring event that touch `window`:
/// DTSTART, its RRULE, its RDATEs, less its EXDATEs (RFC 5545 §3.8.5), expanded on wall
/// times. A wall time the rule gives that does not exist (in a spring-forward gap) is no
/// occurrence and is not counted against COUNT (§3.3.10); one that happens twice is its first
/// (§3.3.5); DTSTART and an RDATE in a gap are read with the offset before it (§3.3.5).
fn expand(
    e: &Event,
    start: NaiveDateTime,
    zone: Tz,
    tz: Tz,
    length: Length,
    (from, until): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<(NaiveDateTime, DateTime<Utc>)>, String> {
    let list = |key| {
        values(e, key)
            .into_iter()
            .map(|v| v.and_then(|v| wall(&v, zone, tz)))
            .collect::<Option<Vec<_>>>()
            .ok_or(format!("an {key} cannot be read"))
    };
    let rdates = list("RDATE")?;
    let exdates = list("EXDATE")?;
    let rule = match e.property_value("RRULE") {
        None => None,
        Some(value) => {
            // UNTIL is read here, in the event's zone: the crate would read a floating or
            // date UNTIL in the machine's zone.
            let (untils, parts): (Vec<&str>, Vec<&str>) = value
                .split(';')
                .partition(|p| p.trim().to_ascii_uppercase().starts_with("UNTIL="));
            let mut rule: rrule::RRule<rrule::Unvalidated> = format!("RRULE:{}", parts.join(";"))
                .parse()
                .map_err(|err: rrule::RRuleError| err.to_string())?;
            if let Some(u) = untils.first() {
                let v = u.trim()[6..].trim();
                let last = DatePerhapsTime::from_property(&icalendar::Property::new("UNTIL", v))
                    .and_then(|v| wall(&v, zone, tz))
                    .ok_or_else(|| format!("its UNTIL {v:?} cannot be read"))?;
                rule = rule.until(as_rule_time(last));
            }
            Some(rule)
        }
    };
    let count = rule.as_ref().and_then(|r| r.get_count());
    // Wall times are within a day of their instants, whatever the zone.
    let low = as_rule_time((from - length.most() - Duration::days(1)).naive_utc());
    let high = as_rule_time((until + Duration::days(1)).naive_utc());
    let dt_start = as_rule_time(start);
    let place = |wall: NaiveDateTime| {
        let skipped = matches!(zone.from_local_datetime(&wall), LocalResult::None);
        (!skipped || wall == start || rdates.contains(&wall))
            .then(|| Zone::Named(zone).instant(wall).to_utc())
    };
    let mut skipped = 0;
    loop {
        let mut set = rrule::RRuleSet::new(dt_start);
        match (&rule, count) {
            (Some(rule), Some(n)) => {
                set = set.rrule(
                    rule.clone()
                        .count(n + skipped)
                        .validate(dt_start)
                        .map_err(|err| err.to_string())?,
                );
            }
            (Some(rule), None) => {
                set = set
                    .rrule(
                        rule.clone()
                            .validate(dt_start)
                            .map_err(|err| err.to_string())?,
                    )
                    .after(low);
            }
            (None, _) => set = set.rdate(dt_start).after(low),
        }
        for r in &rdates {
            set = set.rdate(as_rule_time(*r));
        }
        for x in &exdates {
            set = set.exdate(as_rule_time(*x));
        }
        let limit = if count.is_some() {
            u16::MAX
        } else {
            MAX_OCCURRENCES
        };
        let walls: Vec<NaiveDateTime> = set
            .before(high)
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.naive_utc())
            .collect();
        let placed: Vec<_> = walls
            .iter()
            .filter_map(|w| Some((*w, place(*w)?)))
            .collect();
        let gaps = (walls.len() - placed.len()) as u32;
        // Instances in a gap do not count: ask the rule for as many more.
        if count.is_none() || gaps == skipped || skipped > 64 {
            return Ok(placed);
        }
        skipped = gaps;
    }
}

/// A DTSTART / DTEND / RECURRENCE-ID as an instant: a date at local midnight in `tz`, a
/// floating time in `tz`, a `TZID` time in its own zone. `None` for a zone plazo does not know.
fn instant(value: &DatePerhapsTime, tz: Tz) -> Option<DateTime<Utc>> {
    let (naive, zone) = match value {
        DatePerhapsTime::Date(d) => (d.and_hms_opt(0, 0, 0)?, tz),
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(t)) => return Some(*t),
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(n)) => (*n, tz),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            (*date_time, tzid.parse::<Tz>().ok()?)
        }
    };
    Some(Zone::Named(zone).instant(naive).to_utc())
}

/// Whether `words` (a title and categories) hold one of `away_words`, as whole words.
/// The text with Windows zone names (`TZID=W. Europe Standard Time`, as Outlook and Microsoft
/// 365 write them) replaced by their IANA names (CLDR's world-wide default, from the
/// `windows-timezones` crate), so times and recurrences are read in the right zone. `None`
/// when there is nothing to replace.
fn with_iana_zones(text: &str) -> Option<String> {
    if !text.contains("TZID") {
        return None;
    }
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while let Some(at) = rest.find("TZID") {
            let (head, tail) = rest.split_at(at + 4);
            out.push_str(head);
            rest = tail;
            // `TZID=NAME` (a parameter, up to `:` or `;`) or `TZID:NAME` (VTIMEZONE's property).
            let Some(sep) = rest.chars().next().filter(|c| *c == '=' || *c == ':') else {
                continue;
            };
            out.push(sep);
            rest = &rest[1..];
            let quoted = rest.starts_with('"');
            let body = if quoted { &rest[1..] } else { rest };
            let end = if quoted {
                body.find('"')
            } else if sep == ':' {
                Some(body.trim_end_matches(['\r', '\n']).len())
            } else {
                body.find([':', ';'])
            };
            let Some(end) = end else { continue };
            let name = &body[..end];
            let mapped = name
                .parse::<Tz>()
                .is_err()
                .then(|| {
                    name.trim()
                        .parse::<windows_timezones::WindowsTimezone>()
                        .ok()
                })
                .flatten();
            match mapped {
                Some(zone) => {
                    out.push_str(zone.tzdb_id());
                    changed = true;
                }
                None => {
                    if quoted {
                        out.push('"');
                    }
                    out.push_str(name);
                    if quoted {
                        out.push('"');
                    }
                }
            }
            rest = if quoted {
                &body[end + 1..]
            } else {
                &body[end..]
            };
        }
        out.push_str(rest);
    }
    changed.then_some(out)
}

/// The line (from 1) of the event's `UID` property in `text`, to point at it in a problem.
fn line_of(text: &str, uid: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            l.trim_end_matches('\r')
                .strip_prefix("UID")
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(params, value)| {
                    (params.is_empty() || params.starts_with(';')) && value.trim() == uid
                })
        })
        .map(|i| i + 1)
}

fn is_away(words: &str, away_words: &[String]) -> bool {
    let folded = format!(" {} ", crate::lang::folded(words));
    let folded: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    away_words
        .iter()
        .any(|w| folded.contains(&format!(" {w} ")))
}

/// The days of `agenda` as `(first, last)` pairs, for the ones of `kind`.
pub fn days_of<'a>(
    agenda: &'a Agenda,
    kind: &'a str,
) -> impl Iterator<Item = (NaiveDate, NaiveDate)> + 'a {
    agenda
        .days
        .iter()
        .filter(move |d| d.kind == kind)
        .map(|d| (d.days.first, d.days.last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn source(holidays: bool) -> Meaning {
        Meaning {
            holidays,
            away_words: AWAY_WORDS.iter().map(|w| (*w).to_string()).collect(),
        }
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn ics(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
    }

    const MADRID: Tz = chrono_tz::Europe::Madrid;

    #[test]
    fn a_weekly_meeting_stays_at_its_local_hour_across_the_dst_change() {
        // Tuesdays 10:00-12:00 Madrid from 17 March 2026; the clocks go forward on the 29th.
        let text = ics(
            "BEGIN:VEVENT\nUID:weekly@test\nDTSTART;TZID=Europe/Madrid:20260317T100000\n\
                        DTEND;TZID=Europe/Madrid:20260317T120000\nRRULE:FREQ=WEEKLY;COUNT=4\n\
                        EXDATE;TZID=Europe/Madrid:20260331T100000\nSUMMARY:Client office\nEND:VEVENT\n",
        );
        let a = parse(
            &text,
            &source(false),
            MADRID,
            window(utc(2026, 3, 16, 12, 0)),
        );
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        let starts: Vec<_> = a.busy.iter().map(|b| b.start).collect();
        assert_eq!(
            starts,
            vec![
                utc(2026, 3, 17, 9, 0),
                utc(2026, 3, 24, 9, 0),
                utc(2026, 4, 7, 8, 0)
            ],
            "CET 10:00 is 09:00 UTC, CEST 10:00 is 08:00 UTC; the 31st is excluded"
        );
        assert!(a.busy.iter().all(|b| b.end - b.start == Duration::hours(2)));
    }

    #[test]
    fn free_cancelled_all_day_away_and_moved_events() {
        let text = ics(
            "BEGIN:VEVENT\nUID:free@test\nDTSTART:20261208T090000Z\nDTEND:20261208T100000Z\nTRANSP:TRANSPARENT\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:gone@test\nDTSTART:20261208T110000Z\nDTEND:20261208T120000Z\nSTATUS:CANCELLED\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:conf@test\nDTSTART;VALUE=DATE:20261210\nDTEND;VALUE=DATE:20261212\nSUMMARY:Conference\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:ooo@test\nDTSTART:20261214T080000Z\nDTEND:20261214T170000Z\nSUMMARY:OOO dentist\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:daily@test\nDTSTART:20261215T150000Z\nDTEND:20261215T160000Z\nRRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:daily@test\nRECURRENCE-ID:20261216T150000Z\nDTSTART:20261216T170000Z\nDTEND:20261216T180000Z\nEND:VEVENT\n",
        );
        let a = parse(
            &text,
            &source(false),
            MADRID,
            window(utc(2026, 12, 7, 12, 0)),
        );
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        let days: Vec<_> = days_of(&a, "away").collect();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(
            days,
            vec![(d(12, 10), d(12, 11)), (d(12, 14), d(12, 14))],
            "DTEND of a date is exclusive"
        );
        let busy: Vec<_> = a.busy.iter().map(|b| (b.start, b.uid.as_str())).collect();
        assert_eq!(
            busy,
            vec![
                (utc(2026, 12, 15, 15, 0), "daily@test"),
                (utc(2026, 12, 16, 17, 0), "daily@test"),
                (utc(2026, 12, 17, 15, 0), "daily@test"),
            ],
            "the moved instance replaces the 16th at 15:00"
        );
        // A holiday source closes the days of every event instead.
        let h = parse(
            &text,
            &source(true),
            MADRID,
            window(utc(2026, 12, 7, 12, 0)),
        );
        assert!(h.busy.is_empty());
        assert!(h.days.iter().all(|x| x.kind == "holiday"));
    }

    #[test]
    fn a_yearly_all_day_event_closes_its_date_in_her_zone() {
        let text = ics(
            "BEGIN:VEVENT\nUID:fiesta@test\nDTSTART;VALUE=DATE:20251208\nDTEND;VALUE=DATE:20251209\n\
                        RRULE:FREQ=YEARLY\nSUMMARY:Inmaculada\nEND:VEVENT\n",
        );
        let a = parse(
            &text,
            &source(true),
            MADRID,
            window(utc(2026, 12, 1, 12, 0)),
        );
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let days: Vec<_> = days_of(&a, "holiday").collect();
        assert_eq!(days[0], (d(2026, 12, 8), d(2026, 12, 8)), "{days:?}");
        assert_eq!(days[1], (d(2027, 12, 8), d(2027, 12, 8)), "{days:?}");
    }

    #[test]
    fn broken_input_is_a_problem_not_a_panic() {
        let a = parse(
            "not a calendar",
            &source(false),
            MADRID,
            window(utc(2026, 12, 7, 12, 0)),
        );
        assert!(!a.problems.is_empty());
        let text = ics(
            "BEGIN:VEVENT\nUID:nozone@test\nDTSTART;TZID=Middle Earth/Shire:20261208T100000\nDTEND;TZID=Middle Earth/Shire:20261208T110000\nEND:VEVENT\n",
        );
        let a = parse(
            &text,
            &source(false),
            MADRID,
            window(utc(2026, 12, 7, 12, 0)),
        );
        assert_eq!(
            a.problems,
            ["line 5: event nozone@test: its time zone is not an IANA name plazo knows"],
            "the problem points at the event's UID line"
        );
    }

    #[test]
    fn unreadable_lengths_and_recurrence_parts_are_problems_of_their_event() {
        let text = ics(
            "BEGIN:VEVENT\nUID:dur@test\nDTSTART:20261208T100000Z\nDURATION:soon\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:months@test\nDTSTART:20261208T100000Z\nDURATION:P1M\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:until@test\nDTSTART:20261208T100000Z\nDTEND:20261208T110000Z\nRRULE:FREQ=DAILY;UNTIL=someday\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:exdate@test\nDTSTART:20261208T100000Z\nDTEND:20261208T110000Z\nRRULE:FREQ=DAILY;COUNT=2\nEXDATE:yesterday\nEND:VEVENT\n\
             BEGIN:VEVENT\nUID:ok@test\nDTSTART:20261209T100000Z\nDURATION:PT30M\nRRULE:FREQ=DAILY;UNTIL=20261210\nEND:VEVENT\n",
        );
        let a = parse(
            &text,
            &source(false),
            MADRID,
            window(utc(2026, 12, 7, 12, 0)),
        );
        assert_eq!(
            a.problems,
            [
                "line 5: event dur@test: its DURATION \"soon\" cannot be read",
                "line 10: event months@test: its DURATION \"P1M\" cannot be read",
                "line 15: event until@test: its recurrence cannot be read: its UNTIL \"someday\" cannot be read",
                "line 21: event exdate@test: its recurrence cannot be read: an EXDATE cannot be read",
            ]
        );
        // UNTIL as a date is midnight in the event's zone (UTC here), inclusive: the 9th at
        // 10:00 only, the 10th's is after it.
        let busy: Vec<_> = a.busy.iter().map(|b| (b.start, b.end - b.start)).collect();
        assert_eq!(busy, [(utc(2026, 12, 9, 10, 0), Duration::minutes(30))]);
    }

    #[test]
    fn windows_zone_names_are_read_as_their_iana_zones() {
        // As Outlook writes it: a VTIMEZONE named the Windows way, a weekly meeting in it.
        let text = ics(
            "BEGIN:VTIMEZONE\nTZID:W. Europe Standard Time\nBEGIN:STANDARD\nDTSTART:16010101T030000\n\
             TZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nRRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\n\
             END:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16010101T020000\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\n\
             RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\nEND:DAYLIGHT\nEND:VTIMEZONE\n\
             BEGIN:VEVENT\nUID:outlook@test\nDTSTART;TZID=\"W. Europe Standard Time\":20261020T100000\n\
             DTEND;TZID=W. Europe Standard Time:20261020T110000\nRRULE:FREQ=WEEKLY;COUNT=2\nEND:VEVENT\n",
        );
        let a = parse(
            &text,
            &source(false),
            chrono_tz::America::New_York,
            window(utc(2026, 10, 1, 0, 0)),
        );
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        // 10:00 in Madrid: 08:00 UTC in summer time, 09:00 UTC after 25 October.
        let starts: Vec<_> = a.busy.iter().map(|b| b.start).collect();
        assert_eq!(starts, [utc(2026, 10, 20, 8, 0), utc(2026, 10, 27, 9, 0)]);
        assert_eq!(
            with_iana_zones("DTSTART;TZID=Europe/Madrid:20261020T100000\n"),
            None
        );
        assert_eq!(with_iana_zones("SUMMARY:no zones\n"), None);
    }

    #[test]
    fn busy_time_is_taken_out_of_working_time() {
        use crate::calendar::{Range, Schedule};
        let mut week: [Vec<Range>; 7] = Default::default();
        for day in week.iter_mut().take(5) {
            day.push(Range {
                start: 9 * 60,
                end: 14 * 60,
            });
        }
        let mut schedule = Schedule {
            tz: MADRID,
            week,
            holidays: vec![],
            away: vec![],
            busy: vec![],
        };
        // Tuesday 8 December 2026, 09:00-14:00 Madrid = 08:00-13:00 UTC.
        let open = utc(2026, 12, 8, 8, 0);
        assert_eq!(schedule.next_opening(open), Some(open));
        schedule.busy = vec![Busy {
            start: utc(2026, 12, 8, 7, 30),
            end: utc(2026, 12, 8, 10, 0),
            uid: "train@test".into(),
        }];
        assert_eq!(schedule.next_opening(open), Some(utc(2026, 12, 8, 10, 0)));
        assert!(!schedule.is_working(utc(2026, 12, 8, 9, 0)));
        // Four hours of work from 09:00 local: 11:00-14:00 that day, then one hour on Wednesday.
        assert_eq!(
            schedule.add_working_time(open, Duration::hours(4)),
            Some(utc(2026, 12, 9, 9, 0))
        );
        let free = schedule.free_on(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
        assert_eq!(
            free,
            vec![(utc(2026, 12, 8, 10, 0), utc(2026, 12, 8, 13, 0))]
        );
    }
}
