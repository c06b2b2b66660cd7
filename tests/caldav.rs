//! Her calendar on a server, against a real CalDAV server (Radicale, started by
//! `scripts/mail-servers start-caldav`) and the real mail servers: a busy morning moves the
//! promise, a week of "Vacaciones" makes the reply an away reply, a change on the server is
//! seen after SIGHUP, and with the server stopped the last good copy serves (one warning).
//! An ICS link whose server goes silent delays no reply.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, TimeZone};
use chrono_tz::Europe::Madrid;
use mail_parser::MessageParser;

mod common;
use common::servers::{Daemon, Servers, Setup, client_mail, servers};

/// Closed today (a holiday: a mail now arrives "tonight"), open 09:00-14:00 and 16:00-19:00
/// on every other day.
fn schedule(today: NaiveDate) -> String {
    common::every_day("\"09:00-14:00\", \"16:00-19:00\"") + &format!("holidays = [\"{today}\"]\n")
}

fn today() -> NaiveDate {
    plazo::clock::now().with_timezone(&Madrid).date_naive()
}

fn ics(event: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\nBEGIN:VEVENT\nDTSTAMP:20260101T000000Z\n{event}END:VEVENT\nEND:VCALENDAR\n"
    )
    .replace('\n', "\r\n")
}

/// A timed event on `day` from `from` to `to` (local hours in Madrid).
fn busy(uid: &str, day: NaiveDate, from: u32, to: u32) -> String {
    let at = |h: u32| {
        Madrid
            .with_ymd_and_hms(day.year(), day.month(), day.day(), h, 0, 0)
            .single()
            .expect("local time")
            .format("%Y%m%dT%H%M%S")
            .to_string()
    };
    ics(&format!(
        "UID:{uid}\nSUMMARY:Cliente en su oficina\nDTSTART;TZID=Europe/Madrid:{}\nDTEND;TZID=Europe/Madrid:{}\n",
        at(from),
        at(to)
    ))
}

/// The body of the one new reply in the client's INBOX.
async fn reply_text(s: &Servers, client: &str, password: &str) -> String {
    let got = s
        .wait_for(client, password, 1, Duration::from_secs(15))
        .await;
    assert_eq!(got.len(), 1, "replies in {client}'s INBOX");
    let raw = got.last().expect("a reply");
    let message = MessageParser::default()
        .parse(&raw.0)
        .expect("reply parses");
    message.body_text(0).expect("text body").into_owned()
}

/// The CalDAV server's calendar `path` (under the user's home), over HTTP.
struct Collection {
    http: reqwest::Client,
    url: String,
    user: String,
    password: String,
}

impl Collection {
    async fn create(s: &Servers, address: &str, password: &str) -> Collection {
        let user = address.split('@').next().expect("local part").to_string();
        let url = format!("http://127.0.0.1:{}/{user}/work/", s.port("CALDAV_PORT"));
        let c = Collection {
            http: reqwest::Client::new(),
            url,
            user,
            password: password.to_string(),
        };
        let made = c
            .http
            .request(reqwest::Method::from_bytes(b"MKCALENDAR").unwrap(), &c.url)
            .basic_auth(&c.user, Some(&c.password))
            .send()
            .await
            .expect("MKCALENDAR");
        assert_eq!(made.status().as_u16(), 201, "MKCALENDAR {}", c.url);
        c
    }

    async fn put(&self, uid: &str, text: &str) {
        let put = self
            .http
            .put(format!("{}{uid}.ics", self.url))
            .basic_auth(&self.user, Some(&self.password))
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(text.to_string())
            .send()
            .await
            .expect("PUT");
        assert!(put.status().is_success(), "PUT {uid}: {}", put.status());
    }
}

#[tokio::test(flavor = "current_thread")]
async fn her_caldav_calendar_moves_the_promise_and_its_last_copy_serves_when_it_is_down() {
    let s = servers();
    s.control("start-caldav");
    let today = today();
    let tomorrow = today.succ_opt().expect("tomorrow");
    let (address, password) = s.user("ana");
    let cal = Collection::create(s, &address, &password).await;
    cal.put("busy-1", &busy("busy-1", tomorrow, 9, 14)).await;
    let user = address.split('@').next().unwrap().to_string();
    let calendar = format!(
        "\n[[calendar]]\ncaldav = \"{}\"\nusername = \"{user}\"\npassword_command = \"echo {password}\"\ntimeout = \"3s\"\n",
        cal.url
    );
    let schedule = schedule(today);
    let mut ana = Daemon::for_user(
        s,
        address.clone(),
        password.clone(),
        Setup {
            reply: &format!("default_language = \"en\"\n{calendar}"),
            schedule: &schedule,
            ..Setup::default()
        },
    );
    // One client per mail: a client is answered once in a while, not at every mail.
    let clients: Vec<(String, String)> = (0..4).map(|_| s.user("client")).collect();

    // What plazo will promise, from the server's events.
    let (code, table) = ana.run_to_end(&["availability", "--days", "2"]);
    assert_eq!(code, Some(0), "{table}");
    assert!(
        table.contains("busy-1") && table.contains("16:00"),
        "tomorrow is busy until 14:00:\n{table}"
    );
    let (code, checked) = ana.run_to_end(&["check"]);
    assert!(
        checked.contains("ok: 1 object read, 1 busy time"),
        "check fetches the calendar: {checked}"
    );
    assert_eq!(code, Some(0), "{checked}");

    ana.spawn_env(&["run"], &[("PLAZO_LOG", "info,plazo=debug")]);
    ana.wait_log("imap: watching", Duration::from_secs(15));

    // Tonight's mail: tomorrow 09:00-14:00 is taken, so she reads it at 16:00.
    let mail = client_mail(
        &clients[0].0,
        &address,
        "Banner",
        "Hi Ana, could you change the banner?",
        &[],
    );
    s.deliver(&clients[0].0, &address, &mail).await;
    let body = reply_text(s, &clients[0].0, &clients[0].1).await;
    assert!(
        body.contains("16:00") && !body.contains(" 9:00") && !body.contains("09:00"),
        "the reply promises the free afternoon:\n{body}\n{}",
        ana.log()
    );
    assert!(!body.contains("Cliente"), "never an event's title: {body}");

    // A week of holidays set on the server: after SIGHUP, the next reply is an away reply.
    let back = tomorrow + chrono::Duration::days(7);
    cal.put(
        "busy-1",
        &ics(&format!(
            "UID:busy-1\nSUMMARY:Vacaciones\nDTSTART;VALUE=DATE:{}\nDTEND;VALUE=DATE:{}\n",
            tomorrow.format("%Y%m%d"),
            back.format("%Y%m%d")
        )),
    )
    .await;
    let read = ana.log().matches("calendars read").count();
    ana.signal("HUP");
    ana.wait_log_count("calendars read", read + 1, Duration::from_secs(10));
    let mail = client_mail(
        &clients[1].0,
        &address,
        "Gallery",
        "Hi Ana, could you add the new photos to the gallery?",
        &[],
    );
    s.deliver(&clients[1].0, &address, &mail).await;
    let body = reply_text(s, &clients[1].0, &clients[1].1).await;
    let back_day = back.format("%-d %B").to_string();
    assert!(
        body.contains("when I am back") && body.contains(&back_day),
        "an away reply naming the return day ({back}):\n{body}\n{}",
        ana.log()
    );

    // The server goes down: the copy serves, and the outage is logged once.
    s.control("stop-caldav");
    for _ in 0..2 {
        let read = ana.log().matches("calendars read").count();
        ana.signal("HUP");
        ana.wait_log_count("calendars read", read + 1, Duration::from_secs(10));
    }
    assert_eq!(
        ana.log().matches("cannot be fetched").count(),
        1,
        "one warning for the outage:\n{}",
        ana.log()
    );
    let mail = client_mail(
        &clients[2].0,
        &address,
        "Prices",
        "Hi Ana, could you update the prices page?",
        &[],
    );
    s.deliver(&clients[2].0, &address, &mail).await;
    let body = reply_text(s, &clients[2].0, &clients[2].1).await;
    assert!(
        body.contains(&back_day),
        "the last good copy still says she is away:\n{body}"
    );
    ana.stop(Duration::from_secs(10));

    // A restart with the server still down starts from the copy too.
    ana.spawn_env(&["run"], &[("PLAZO_LOG", "info,plazo=debug")]);
    ana.wait_log_count("imap: watching", 2, Duration::from_secs(15));
    let mail = client_mail(
        &clients[3].0,
        &address,
        "Menu",
        "Hi Ana, a new menu item?",
        &[],
    );
    s.deliver(&clients[3].0, &address, &mail).await;
    let body = reply_text(s, &clients[3].0, &clients[3].1).await;
    assert!(body.contains(&back_day), "{body}\n{}", ana.log());
    ana.stop(Duration::from_secs(10));
    s.control("start-caldav");
}

/// An HTTP server that serves `ics` to the first request and then accepts and stays silent.
fn silent_after_first(ics: String) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            if n == 0 {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ics}",
                    ics.len()
                );
            } else {
                held.push(stream);
            }
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "current_thread")]
async fn a_silent_calendar_server_delays_no_reply() {
    let s = servers();
    let today = today();
    let tomorrow = today.succ_opt().expect("tomorrow");
    let (port, seen) = silent_after_first(busy("busy-2", tomorrow, 9, 14));
    let calendar = format!(
        "\n[[calendar]]\nurl = \"http://127.0.0.1:{port}/private-abc/basic.ics\"\ntimeout = \"60s\"\n"
    );
    let schedule = schedule(today);
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            reply: &format!("default_language = \"en\"\n{calendar}"),
            schedule: &schedule,
            ..Setup::default()
        },
    );
    let (client, client_pw) = s.user("client");
    ana.spawn_env(&["run"], &[("PLAZO_LOG", "info,plazo=debug")]);
    ana.wait_log("imap: watching", Duration::from_secs(15));
    assert!(
        !ana.log().contains("private-abc"),
        "an ICS link's secret path is never logged:\n{}",
        ana.log()
    );
    // The next reading hangs on the silent server for a minute; a mail meanwhile is answered
    // at once, from the first reading.
    ana.signal("HUP");
    let start = Instant::now();
    while seen.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "no second fetch");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mail = client_mail(
        &client,
        &ana.address,
        "Banner",
        "Hi Ana, could you change the banner?",
        &[],
    );
    let sent = Instant::now();
    s.deliver(&client, &ana.address, &mail).await;
    let body = reply_text(s, &client, &client_pw).await;
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "the reply waited for the calendar: {:?}",
        sent.elapsed()
    );
    assert!(body.contains("16:00"), "{body}\n{}", ana.log());
    assert!(
        !ana.log().contains("cannot be fetched"),
        "the fetch is still waiting, not failed:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
}
