//! Business time through the config file, across both DST changes in Europe/Madrid and
//! America/New_York, holidays over a year end, and business against calendar counting.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use plazo::calendar::Counts;
use plazo::config::Config;

fn schedule(zone: &str, days: &str, holidays: &str) -> Config {
    let text = format!(
        r#"
[identity]
name = "Ana"
address = "ana@estudio-ana.example"
[schedule]
timezone = "{zone}"
{days}
holidays = [{holidays}]
"#
    );
    match Config::parse(&text, Path::new("test.toml")) {
        Ok(c) => c,
        Err(e) => panic!("test config: {e}"),
    }
}

const MADRID_OFFICE: &str = r#"
monday = ["09:00-14:00", "16:00-19:00"]
tuesday = ["09:00-14:00", "16:00-19:00"]
wednesday = ["09:00-14:00", "16:00-19:00"]
thursday = ["09:00-14:00", "16:00-19:00"]
friday = ["09:00-14:00", "16:00-19:00"]
"#;

const NINE_TO_FIVE: &str = r#"
monday = ["09:00-17:00"]
tuesday = ["09:00-17:00"]
wednesday = ["09:00-17:00"]
thursday = ["09:00-17:00"]
friday = ["09:00-17:00"]
"#;

fn t(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.to_utc(),
        Err(e) => panic!("{s}: {e}"),
    }
}

fn earliest(c: &Config, arrival: &str, notice: Duration, counts: Counts) -> DateTime<Utc> {
    match c.schedule.earliest(t(arrival), notice, counts) {
        Some(e) => e,
        None => panic!("no earliest from {arrival}"),
    }
}

#[test]
fn madrid_spring_forward_business() {
    let c = schedule("Europe/Madrid", MADRID_OFFICE, "");
    // Friday evening in winter time; the clocks go forward on Sunday 29 March 2026.
    let e = earliest(
        &c,
        "2026-03-27T20:00:00+01:00",
        Duration::hours(8),
        Counts::Business,
    );
    assert_eq!(e, t("2026-03-30T19:00:00+02:00"));
    // A working day is 8 hours on both sides of the change.
    let monday = earliest(
        &c,
        "2026-03-30T09:00:00+02:00",
        Duration::hours(8),
        Counts::Business,
    );
    assert_eq!(monday, t("2026-03-30T19:00:00+02:00"));
    let friday = earliest(
        &c,
        "2026-03-27T09:00:00+01:00",
        Duration::hours(8),
        Counts::Business,
    );
    assert_eq!(friday, t("2026-03-27T19:00:00+01:00"));
}

#[test]
fn madrid_spring_forward_calendar_counts_elapsed_time() {
    let c = schedule("Europe/Madrid", MADRID_OFFICE, "");
    // 72 elapsed hours from Friday 10:00 CET end on Monday 11:00 CEST (Sunday had 23 hours).
    let e = earliest(
        &c,
        "2026-03-27T10:00:00+01:00",
        Duration::hours(72),
        Counts::Calendar,
    );
    assert_eq!(e, t("2026-03-30T11:00:00+02:00"));
}

#[test]
fn madrid_range_over_the_gap_is_shorter() {
    let days = r#"sunday = ["01:00-04:00"]
monday = ["09:00-10:00"]"#;
    let c = schedule("Europe/Madrid", days, "");
    // 01:00 CET to 04:00 CEST is two real hours on 29 March 2026.
    let e = earliest(
        &c,
        "2026-03-29T00:00:00+01:00",
        Duration::hours(2),
        Counts::Business,
    );
    assert_eq!(e, t("2026-03-29T04:00:00+02:00"));
    let e = earliest(
        &c,
        "2026-03-29T00:00:00+01:00",
        Duration::minutes(150),
        Counts::Business,
    );
    assert_eq!(e, t("2026-03-30T09:30:00+02:00"));
    // 02:30 does not exist that night; 03:30 CEST is inside the range.
    assert!(c.schedule.is_working(t("2026-03-29T03:30:00+02:00")));
    assert!(!c.schedule.is_working(t("2026-03-29T04:00:00+02:00")));
}

#[test]
fn madrid_fall_back_business() {
    let c = schedule("Europe/Madrid", MADRID_OFFICE, "");
    // Friday 18:00 summer time; the clocks go back on Sunday 25 October 2026.
    let e = earliest(
        &c,
        "2026-10-23T18:00:00+02:00",
        Duration::hours(4),
        Counts::Business,
    );
    assert_eq!(e, t("2026-10-26T12:00:00+01:00"));
    let next = c.schedule.next_opening(t("2026-10-24T12:00:00+02:00"));
    assert_eq!(next, Some(t("2026-10-26T09:00:00+01:00")));
}

#[test]
fn madrid_fall_back_calendar() {
    let c = schedule("Europe/Madrid", MADRID_OFFICE, "");
    // 48 elapsed hours from Friday 15:00 CEST are Sunday 14:00 CET (Sunday has 25 hours),
    // then the next opening.
    let e = earliest(
        &c,
        "2026-10-23T15:00:00+02:00",
        Duration::hours(48),
        Counts::Calendar,
    );
    assert_eq!(e, t("2026-10-26T09:00:00+01:00"));
    // 72 elapsed hours from Friday 12:00 CEST are Monday 11:00 CET, inside hours.
    let e = earliest(
        &c,
        "2026-10-23T12:00:00+02:00",
        Duration::hours(72),
        Counts::Calendar,
    );
    assert_eq!(e, t("2026-10-26T11:00:00+01:00"));
}

#[test]
fn new_york_spring_forward() {
    let c = schedule("America/New_York", NINE_TO_FIVE, "");
    // Clocks go forward on Sunday 8 March 2026.
    let e = earliest(
        &c,
        "2026-03-06T17:00:00-05:00",
        Duration::hours(10),
        Counts::Business,
    );
    assert_eq!(e, t("2026-03-10T11:00:00-04:00"));
    let e = earliest(
        &c,
        "2026-03-06T16:00:00-05:00",
        Duration::hours(48),
        Counts::Calendar,
    );
    assert_eq!(e, t("2026-03-09T09:00:00-04:00"));
    assert!(!c.schedule.is_working(t("2026-03-09T08:59:59-04:00")));
    assert!(c.schedule.is_working(t("2026-03-09T09:00:00-04:00")));
}

#[test]
fn new_york_fall_back() {
    let c = schedule("America/New_York", NINE_TO_FIVE, "");
    // Clocks go back on Sunday 1 November 2026.
    let e = earliest(
        &c,
        "2026-10-30T16:00:00-04:00",
        Duration::hours(3),
        Counts::Business,
    );
    assert_eq!(e, t("2026-11-02T11:00:00-05:00"));
    let e = earliest(
        &c,
        "2026-10-31T12:00:00-04:00",
        Duration::hours(24),
        Counts::Calendar,
    );
    assert_eq!(e, t("2026-11-02T09:00:00-05:00"));
    // A range over the repeated hour holds two real hours.
    let c = schedule("America/New_York", r#"sunday = ["01:00-02:00"]"#, "");
    let e = earliest(
        &c,
        "2026-11-01T00:00:00-04:00",
        Duration::minutes(90),
        Counts::Business,
    );
    assert_eq!(e, t("2026-11-01T01:30:00-05:00"));
}

#[test]
fn holidays_across_the_year_end() {
    let c = schedule(
        "Europe/Madrid",
        MADRID_OFFICE,
        r#""2026-12-25", "2026-12-31..2027-01-06""#,
    );
    let e = earliest(
        &c,
        "2026-12-30T18:00:00+01:00",
        Duration::hours(8),
        Counts::Business,
    );
    assert_eq!(e, t("2027-01-07T18:00:00+01:00"));
    let next = c.schedule.next_opening(t("2026-12-31T10:00:00+01:00"));
    assert_eq!(next, Some(t("2027-01-07T09:00:00+01:00")));
    assert!(!c.schedule.is_working(t("2026-12-25T10:00:00+01:00")));
    assert!(c.schedule.is_working(t("2026-12-24T10:00:00+01:00")));
    // Calendar counting lands inside the holidays and moves past them.
    let e = earliest(
        &c,
        "2026-12-30T10:00:00+01:00",
        Duration::hours(24),
        Counts::Calendar,
    );
    assert_eq!(e, t("2027-01-07T09:00:00+01:00"));
}

#[test]
fn business_and_calendar_counting_differ() {
    let c = schedule("Europe/Madrid", MADRID_OFFICE, "");
    let arrival = "2026-11-23T10:00:00+01:00"; // Monday
    let business = earliest(&c, arrival, Duration::hours(36), Counts::Business);
    let calendar = earliest(&c, arrival, Duration::hours(36), Counts::Calendar);
    // 36 working hours: Mon 7 + Tue 8 + Wed 8 + Thu 8 = 31, then 5 on Friday.
    assert_eq!(business, t("2026-11-27T14:00:00+01:00"));
    // 36 elapsed hours: Tuesday 22:00, moved to Wednesday's opening.
    assert_eq!(calendar, t("2026-11-25T09:00:00+01:00"));
}

#[test]
fn inside_hours_and_boundaries() {
    let c = schedule("Europe/Madrid", MADRID_OFFICE, "");
    // Exactly the rest of a range ends at its end, not at the next opening.
    let e = earliest(
        &c,
        "2026-11-23T10:00:00+01:00",
        Duration::hours(4),
        Counts::Business,
    );
    assert_eq!(e, t("2026-11-23T14:00:00+01:00"));
    let e = earliest(
        &c,
        "2026-11-23T10:00:00+01:00",
        Duration::minutes(241),
        Counts::Business,
    );
    assert_eq!(e, t("2026-11-23T16:01:00+01:00"));
    // Zero notice is the next working moment.
    let e = earliest(
        &c,
        "2026-11-23T14:30:00+01:00",
        Duration::zero(),
        Counts::Business,
    );
    assert_eq!(e, t("2026-11-23T16:00:00+01:00"));
}
