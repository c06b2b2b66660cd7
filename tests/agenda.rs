//! Her calendar as a user sets it up: an `.ics` file named by `[[calendar]]`. `plazo
//! availability` shows the free time it leaves and which event closed what; `plazo preview`
//! promises only free working time; `plazo check` names what cannot be read.

use std::process::Command;

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike};
use chrono_tz::Europe::Madrid;

fn plazo(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plazo"))
        .args(args)
        .arg("--config")
        .arg(dir.join("config.toml"))
        .output()
        .expect("run plazo");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config open 09:00-18:00 every day in Madrid, with `calendar` as its `[[calendar]]` file.
fn setup(calendar: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let days: String = common::every_day("\"09:00-18:00\"");
    let config = format!(
        "[identity]\nname = \"Ana\"\naddress = \"ana@example.test\"\n\n\
         [schedule]\ntimezone = \"Europe/Madrid\"\n{days}\n\
         [notice]\nminimum = \"2h\"\n\n\
         [[calendar]]\nfile = \"cal.ics\"\n"
    );
    std::fs::write(dir.path().join("config.toml"), config).expect("config");
    std::fs::write(dir.path().join("cal.ics"), calendar).expect("ics");
    dir
}

fn ics(events: &str) -> String {
    format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{events}END:VCALENDAR\n")
        .replace('\n', "\r\n")
}

fn local(date: NaiveDate, h: u32, m: u32) -> String {
    Madrid
        .with_ymd_and_hms(date.year(), date.month(), date.day(), h, m, 0)
        .single()
        .expect("local time")
        .format("%Y%m%dT%H%M%S")
        .to_string()
}

#[test]
fn busy_and_away_events_close_time_and_availability_says_which() {
    let today = plazo::clock::now().with_timezone(&Madrid).date_naive();
    let tomorrow = today + Duration::days(1);
    let later = today + Duration::days(3);
    let text = ics(&format!(
        "BEGIN:VEVENT\nUID:train@test\nSUMMARY:Train to the client\n\
         DTSTART;TZID=Europe/Madrid:{}\nDTEND;TZID=Europe/Madrid:{}\nEND:VEVENT\n\
         BEGIN:VEVENT\nUID:lunch@test\nSUMMARY:Lunch\nTRANSP:TRANSPARENT\n\
         DTSTART;TZID=Europe/Madrid:{}\nDTEND;TZID=Europe/Madrid:{}\nEND:VEVENT\n\
         BEGIN:VEVENT\nUID:conference@test\nSUMMARY:Conference\n\
         DTSTART;VALUE=DATE:{}\nDTEND;VALUE=DATE:{}\nEND:VEVENT\n",
        local(tomorrow, 9, 0),
        local(tomorrow, 11, 30),
        local(tomorrow, 14, 0),
        local(tomorrow, 15, 0),
        later.format("%Y%m%d"),
        (later + Duration::days(1)).format("%Y%m%d"),
    ));
    let dir = setup(&text);
    let (code, out, err) = plazo(dir.path(), &["availability", "--days", "5"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let line = |date: NaiveDate| {
        out.lines()
            .find(|l| l.contains(&date.format("%Y-%m-%d").to_string()))
            .unwrap_or_else(|| panic!("no line for {date}:\n{out}"))
            .to_string()
    };
    let t = line(tomorrow);
    assert!(
        t.contains("free 11:30-18:00"),
        "the train takes the morning: {t}"
    );
    assert!(t.contains("[busy 09:00-11:30: event train@test]"), "{t}");
    assert!(!t.contains("lunch@test"), "a free event takes nothing: {t}");
    let l = line(later);
    assert!(
        l.contains("free —") && l.contains("closed: away (event conference@test)"),
        "{l}"
    );
    // Titles never leave her calendar.
    assert!(
        !out.contains("Train") && !out.contains("Conference"),
        "{out}"
    );
    let (code, json, _) = plazo(dir.path(), &["availability", "--days", "2", "--json"]);
    assert_eq!(code, Some(0));
    let day: serde_json::Value =
        serde_json::from_str(json.lines().nth(1).expect("tomorrow")).expect("json");
    assert_eq!(day["free"][0]["from"], "11:30", "{day}");

    // A request that arrives tomorrow at 08:00 needs two working hours: 13:30, after the train
    // (without the calendar it would be 11:00).
    let mail = format!(
        "From: Laura <laura@tienda.example>\r\nTo: ana@example.test\r\nReturn-Path: <laura@tienda.example>\r\n\
         Subject: Banner\r\nMessage-ID: <m1@tienda.example>\r\nDate: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHola Ana, ¿puedes cambiar el banner hoy a las 10?\r\n",
        Madrid
            .with_ymd_and_hms(tomorrow.year(), tomorrow.month(), tomorrow.day(), 8, 0, 0)
            .single()
            .expect("time")
            .to_rfc2822()
    );
    std::fs::write(dir.path().join("mail.eml"), mail).expect("mail");
    let eml = dir.path().join("mail.eml");
    let (code, out, err) = plazo(
        dir.path(),
        &["preview", "--json", eml.to_str().expect("path")],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let decision: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    let earliest = decision["earliest"]
        .as_str()
        .unwrap_or_else(|| panic!("{decision}"));
    let expected = Madrid
        .with_ymd_and_hms(tomorrow.year(), tomorrow.month(), tomorrow.day(), 13, 30, 0)
        .single()
        .expect("time")
        .with_timezone(&chrono::Utc);
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(earliest)
            .expect("rfc3339")
            .to_utc(),
        expected,
        "{decision}"
    );
    assert_eq!(
        decision["calendar_busy"][0], "event train@test",
        "{decision}"
    );
    let (code, plain, _) = plazo(dir.path(), &["preview", eml.to_str().expect("path")]);
    assert_eq!(code, Some(0));
    assert!(
        plain.contains("calendar:     busy in the way: event train@test"),
        "{plain}"
    );
    let text = decision["reply"]["text"].as_str().expect("reply text");
    assert!(
        text.contains("lo leeré personalmente hoy a las 11:30"),
        "{text}"
    );
    assert!(
        !text.contains("Train"),
        "the reply never names an event: {text}"
    );
}

#[test]
fn check_names_a_calendar_it_cannot_read() {
    let dir = setup("this is not a calendar");
    let (code, out, _) = plazo(dir.path(), &["check", "--offline"]);
    assert_eq!(code, Some(78), "{out}");
    assert!(
        out.contains("cal.ics") && out.contains("not an iCalendar file"),
        "{out}"
    );
    std::fs::remove_file(dir.path().join("cal.ics")).expect("rm");
    let (code, out, _) = plazo(dir.path(), &["check", "--offline"]);
    assert_eq!(code, Some(78), "{out}");
    assert!(out.contains("cal.ics: cannot read it"), "{out}");
    // The daemon's view: availability still works, and says what it left out.
    let (code, _, err) = plazo(dir.path(), &["availability", "--days", "1"]);
    assert_eq!(code, Some(0));
    assert!(
        err.contains("calendar: ") && err.contains("cal.ics"),
        "{err}"
    );
}

mod common;

/// The daemon against the real servers reads her calendar at start and again at a reload: a
/// busy block now makes a mail "outside hours" (the reply gives the block's end as the next
/// opening); once the event is gone from the file and the config reloaded, the same hours are
/// working time again and a mail without a deadline gets no reply.
#[tokio::test(flavor = "current_thread")]
async fn the_daemon_promises_around_her_calendar_and_rereads_it_at_a_reload() {
    use common::servers::{Daemon, Setup, client_mail, servers};
    use std::time::Duration as StdDuration;
    let s = servers();
    let now = plazo::clock::now().with_timezone(&Madrid);
    let start = now - Duration::hours(1);
    let end = (now + Duration::hours(2))
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("whole minute");
    let event = ics(&format!(
        "BEGIN:VEVENT\nUID:workshop@test\nSUMMARY:Workshop at a client\n\
         DTSTART:{}\nDTEND:{}\nEND:VEVENT\n",
        start.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ"),
        end.with_timezone(&chrono::Utc).format("%Y%m%dT%H%M%SZ"),
    ));
    // Open all day, every day: only the calendar can make now outside hours.
    let always = common::every_day("\"00:00-24:00\"");
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            schedule: &always,
            reply: "\n[[calendar]]\nfile = \"cal.ics\"\n",
            ..Setup::default()
        },
    );
    std::fs::write(ana.dir.path().join("cal.ics"), &event).expect("ics");
    ana.start();
    let (client, client_pw) = s.user("client");
    let mail = client_mail(
        &client,
        &ana.address,
        "Fotos",
        "Hola Ana, te mando las fotos.",
        &[],
    );
    s.deliver(&client, &ana.address, &mail).await;
    let got = s
        .wait_for(&client, &client_pw, 1, StdDuration::from_secs(8))
        .await;
    assert_eq!(got.len(), 1, "a reply while she is busy:\n{}", ana.log());
    let reply = mail_parser::MessageParser::default()
        .parse(&got[0].0)
        .expect("parse");
    let text = reply.body_text(0).expect("text").into_owned();
    // "a las 16:00", but "a la 1:44": Spanish says the hour one in the singular.
    let at = end.format("%-H:%M").to_string();
    let article = if end.hour() == 1 { "la" } else { "las" };
    assert!(
        text.contains(&format!("a {article} {at} ")),
        "read at the end of the block ({at}):\n{text}"
    );
    assert!(!text.contains("Workshop"), "{text}");

    // The event is cancelled in her calendar; a reload reads it again.
    std::fs::write(ana.dir.path().join("cal.ics"), ics("")).expect("ics");
    ana.signal("HUP");
    ana.wait_log("reloaded", StdDuration::from_secs(5));
    let (other, other_pw) = s.user("other");
    let mail = client_mail(
        &other,
        &ana.address,
        "Fotos",
        "Hola Ana, te mando las fotos.",
        &[],
    );
    s.deliver(&other, &ana.address, &mail).await;
    ana.wait_log("skip (no-trigger)", StdDuration::from_secs(8));
    assert!(
        s.messages(&other, &other_pw, "INBOX").await.is_empty(),
        "{}",
        ana.log()
    );
    ana.stop(StdDuration::from_secs(5));
}

/// The shipped example: `config.example.toml` with `calendar.example.ics` gives a readable
/// table of 14 days, and `--json` the structure the README documents.
#[test]
fn the_example_config_with_the_example_calendar() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = common::root();
    let example = std::fs::read_to_string(root.join("config.example.toml")).expect("example");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "{example}\n[[calendar]]\nfile = \"{}\"\n",
            root.join("calendar.example.ics").display()
        ),
    )
    .expect("config");
    let (code, table, err) = plazo(dir.path(), &["availability", "--days", "14"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "the example calendar reads cleanly: {err}");
    assert_eq!(table.lines().count(), 14, "{table}");
    // Three weeks always hold a Tuesday that is no holiday of the example's.
    let (_, table, _) = plazo(dir.path(), &["availability", "--days", "21"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        table.contains("[busy 10:00-12:00: event weekly-client-meeting@example]"),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("Thu"))
            .all(|l| l.contains("free 09:00-14:00  [busy 16:00-19:00") || l.contains("closed")),
        "{table}"
    );
    assert!(
        !table.contains("gym@example"),
        "a free event takes nothing: {table}"
    );
    assert!(
        !table.contains("Reunión") && !table.contains("Calle Mayor"),
        "never titles or places: {table}"
    );
    let (code, json, _) = plazo(dir.path(), &["availability", "--days", "21", "--json"]);
    assert_eq!(code, Some(0));
    let days: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(days.len(), 21);
    let tuesday = days
        .iter()
        .find(|d| d["busy"][0]["event"] == "weekly-client-meeting@example")
        .expect("a Tuesday with the meeting");
    assert_eq!(tuesday["busy"][0]["from"], "10:00", "{tuesday}");
    assert_eq!(tuesday["busy"][0]["to"], "12:00", "{tuesday}");
    assert_eq!(tuesday["free"][0]["from"], "09:00", "{tuesday}");
    assert_eq!(tuesday["free"][0]["to"], "10:00", "{tuesday}");
    assert!(tuesday["closed"].is_null(), "{tuesday}");
    let sunday = days
        .iter()
        .find(|d| {
            chrono::NaiveDate::parse_from_str(d["date"].as_str().unwrap(), "%Y-%m-%d")
                .unwrap()
                .weekday()
                == chrono::Weekday::Sun
        })
        .expect("a Sunday");
    assert_eq!(sunday["closed"]["why"], "no hours", "{sunday}");
    assert!(sunday["closed"]["event"].is_null(), "{sunday}");
    assert_eq!(sunday["free"], serde_json::json!([]), "{sunday}");
}
