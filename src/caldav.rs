//! Her calendars brought in: a local `.ics` file read from disk, an ICS link (the secret
//! address Google, Microsoft 365, Fastmail, iCloud and Nextcloud give) fetched with GET, and a
//! CalDAV collection read with one calendar-query REPORT over the days the daemon needs
//! (RFC 4791 §7.8). HTTP is `reqwest`'s (rustls), the multistatus answer is read with
//! `quick-xml`, and the events are `agenda`'s to understand.
//!
//! A calendar on a server may be unreachable for hours; replies must not stop for that. Every
//! good fetch is kept in the state store ([`settle`]), and when a fetch fails the last good copy
//! serves instead, so the daemon goes on promising what it promised before. Reading happens
//! apart from deciding: the daemon's refresher fetches, and only the finished agenda is handed
//! over, so a slow or silent calendar server delays no reply.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::join_all;
use quick_xml::events::Event as Xml;

use crate::agenda::{self, Agenda};
use crate::config::{CalendarSource, Origin, Remote};
use crate::store::Store;

/// How one source was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// Read now.
    Fresh,
    /// Not read now (the error); the last good copy, from this instant, serves.
    Copy {
        fetched: DateTime<Utc>,
        error: String,
    },
    /// Neither read nor kept: the source gives nothing (the error).
    Nothing { error: String },
}

/// One source's text (one iCalendar text per calendar object) and how it was got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    /// The iCalendar texts.
    pub texts: Vec<String>,
    /// Fresh, from the copy, or nothing.
    pub got: Got,
}

/// Reads sources: one HTTP client, kept for its connections.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Default for Fetcher {
    fn default() -> Self {
        Fetcher::new()
    }
}

impl Fetcher {
    /// A fetcher with its own HTTP client (rustls, the webpki roots).
    pub fn new() -> Fetcher {
        let client = reqwest::Client::builder()
            .user_agent(concat!("plazo/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Fetcher { client }
    }

    /// Reads every source at once, each within its own timeout: the texts, or why not.
    pub async fn fetch_all(
        &self,
        sources: &[CalendarSource],
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Vec<Result<Vec<String>, String>> {
        join_all(sources.iter().map(|s| self.fetch(s, window))).await
    }

    /// Reads one source: the file, the link or the collection's events in `window`.
    pub async fn fetch(
        &self,
        source: &CalendarSource,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<String>, String> {
        match &source.origin {
            Origin::File(path) => read_file(path).map(|t| vec![t]),
            Origin::Remote(remote) => {
                match tokio::time::timeout(source.timeout, self.remote(remote, window)).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {:?}", source.timeout)),
                }
            }
        }
    }

    async fn remote(
        &self,
        remote: &Remote,
        (from, until): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<String>, String> {
        let request = if remote.caldav {
            let method = reqwest::Method::from_bytes(b"REPORT").map_err(|e| e.to_string())?;
            self.client
                .request(method, remote.url.clone())
                .header("Depth", "1")
                .header("Content-Type", "application/xml; charset=utf-8")
                .body(calendar_query(from, until))
        } else {
            self.client.get(remote.url.clone())
        };
        let request = match &remote.login {
            Some((user, password)) => request.basic_auth(user, Some(password.read()?)),
            None => request,
        };
        let response = request.send().await.map_err(|e| describe_error(&e))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| describe_error(&e))?;
        match (remote.caldav, status.as_u16()) {
            (true, 207) => multistatus(&body),
            (false, 200..=299) => Ok(vec![body]),
            (_, 401 | 403) => Err(format!(
                "the server refused the login ({status}): check username and password"
            )),
            (true, 200..=299) => Err(format!(
                "the server answered {status}, not a CalDAV multistatus: is this a calendar collection?"
            )),
            _ => Err(format!("the server answered {status}")),
        }
    }
}

/// A file's text, or why not.
pub fn read_file(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))
}

/// The error's own words and its causes (reqwest's first line says only "error sending
/// request").
fn describe_error(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let words = cause.to_string();
        if !text.contains(&words) {
            text.push_str(": ");
            text.push_str(&words);
        }
        source = cause.source();
    }
    text
}

/// The calendar-query REPORT body: every event that touches the window (RFC 4791 §9.9).
fn calendar_query(from: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let f = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter>
    <C:comp-filter name="VCALENDAR">
      <C:comp-filter name="VEVENT"><C:time-range start="{}" end="{}"/></C:comp-filter>
    </C:comp-filter>
  </C:filter>
</C:calendar-query>
"#,
        f(from),
        f(until)
    )
}

/// The `calendar-data` of every response in a multistatus body.
fn multistatus(body: &str) -> Result<Vec<String>, String> {
    let mut reader = quick_xml::Reader::from_str(body);
    let mut texts = Vec::new();
    let mut inside: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Xml::Start(e)) if e.local_name().as_ref() == b"calendar-data" => {
                inside = Some(String::new());
            }
            Ok(Xml::End(e)) if e.local_name().as_ref() == b"calendar-data" => {
                texts.extend(inside.take().filter(|t| !t.trim().is_empty()));
            }
            Ok(Xml::Text(t)) => {
                if let Some(text) = inside.as_mut() {
                    let part = t
                        .decode()
                        .map_err(|e| format!("the multistatus answer is not UTF-8: {e}"))?;
                    let part = quick_xml::escape::unescape(&part)
                        .map_err(|e| format!("the multistatus answer is not XML: {e}"))?;
                    text.push_str(&part);
                }
            }
            Ok(Xml::GeneralRef(r)) => {
                if let Some(text) = inside.as_mut() {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let reference = format!("&{name};");
                    let one = quick_xml::escape::unescape(&reference)
                        .map_err(|e| format!("the multistatus answer is not XML: {e}"))?;
                    text.push_str(&one);
                }
            }
            Ok(Xml::CData(t)) => {
                if let Some(text) = inside.as_mut() {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Xml::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "the multistatus answer is not XML (at byte {}): {e}",
                    reader.error_position()
                ));
            }
        }
    }
    Ok(texts)
}

/// What the sources gave, each fresh or from its last good copy: every fresh text of a
/// calendar on a server is kept in `store` (when there is one), and every failed one replaced
/// by the copy kept there. Files are never copied: a file that cannot be read gives nothing.
pub fn settle(
    sources: &[CalendarSource],
    fetched: Vec<Result<Vec<String>, String>>,
    store: Option<&Store>,
    now: DateTime<Utc>,
) -> Vec<Texts> {
    sources
        .iter()
        .zip(fetched)
        .map(|(source, result)| {
            let remote = matches!(source.origin, Origin::Remote(_));
            let key = source.origin.key();
            match (result, store) {
                (Ok(texts), Some(store)) if remote => {
                    if let Err(e) = store.keep_calendar_copy(&key, &texts, now) {
                        tracing::warn!(
                            "calendar {}: its copy could not be kept: {e}",
                            source.origin.describe()
                        );
                    }
                    Texts {
                        texts,
                        got: Got::Fresh,
                    }
                }
                (Ok(texts), _) => Texts {
                    texts,
                    got: Got::Fresh,
                },
                (Err(error), Some(store)) if remote => match store.calendar_copy(&key) {
                    Ok(Some((texts, fetched))) => Texts {
                        texts,
                        got: Got::Copy { fetched, error },
                    },
                    _ => Texts {
                        texts: Vec::new(),
                        got: Got::Nothing { error },
                    },
                },
                (Err(error), _) => Texts {
                    texts: Vec::new(),
                    got: Got::Nothing { error },
                },
            }
        })
        .collect()
}

/// What the daemon has at hand without the network: the files, and each calendar on a
/// server's last good copy (or nothing, when it was never fetched).
pub fn at_hand(sources: &[CalendarSource], store: Option<&Store>) -> Vec<Texts> {
    settle(
        sources,
        read_local(sources),
        store,
        chrono::DateTime::<Utc>::MIN_UTC,
    )
}

/// The files read now; the calendars on servers not fetched.
fn read_local(sources: &[CalendarSource]) -> Vec<Result<Vec<String>, String>> {
    sources
        .iter()
        .map(|s| match &s.origin {
            Origin::File(path) => read_file(path).map(|t| vec![t]),
            Origin::Remote(_) => Err("not fetched yet".to_string()),
        })
        .collect()
}

/// The agenda of what the sources gave: their events in `window`, and their problems, each
/// named by its source. A source read from its copy is not a problem (the caller says it is
/// stale); one that gave nothing is.
pub fn agenda_of(
    sources: &[CalendarSource],
    texts: &[Texts],
    tz: Tz,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> Agenda {
    let mut all = Agenda::default();
    for (source, got) in sources.iter().zip(texts) {
        let name = source.origin.describe();
        if let Got::Nothing { error } = &got.got {
            all.problems.push(format!("{name}: {error}"));
        }
        for text in &got.texts {
            let mut one = agenda::parse(text, &source.meaning, tz, window);
            for p in &mut one.problems {
                *p = format!("{name}: {p}");
            }
            all.merge(one);
        }
    }
    all
}

/// Reads every source now (the commands do: `availability`, `preview`, `check`): fetched,
/// with the store's copies where a fetch fails, kept when `store` is given. Also says, per
/// source, how it was got.
pub fn read_now(
    sources: &[CalendarSource],
    tz: Tz,
    window: (DateTime<Utc>, DateTime<Utc>),
    store: Option<&Store>,
) -> (Agenda, Vec<Texts>) {
    if sources.is_empty() {
        return (Agenda::default(), Vec::new());
    }
    let fetched = if sources.iter().all(|s| matches!(s.origin, Origin::File(_))) {
        read_local(sources)
    } else {
        let fetcher = Fetcher::new();
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(fetcher.fetch_all(sources, window)),
            Err(e) => sources
                .iter()
                .map(|_| Err(format!("cannot start the HTTP client: {e}")))
                .collect(),
        }
    };
    let texts = settle(sources, fetched, store, crate::clock::now());
    (agenda_of(sources, &texts, tz, window), texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_data_of_each_response_is_read_and_unescaped() {
        let body = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/a/1.ics</href><propstat><prop><C:calendar-data>BEGIN:VCALENDAR
SUMMARY:Caf&#233; &amp; t&lt;e
END:VCALENDAR
</C:calendar-data></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/a/2.ics</href><propstat><prop><C:calendar-data><![CDATA[BEGIN:VCALENDAR
END:VCALENDAR
]]></C:calendar-data></prop></propstat></response><response><href>/a/3.ics</href><propstat><prop><C:calendar-data/></prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>"#;
        let texts = multistatus(body).unwrap();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[0].contains("SUMMARY:Café & t<e\n"), "{:?}", texts[0]);
        assert!(texts[1].starts_with("BEGIN:VCALENDAR\nEND:VCALENDAR"));
    }

    #[test]
    fn a_broken_answer_is_an_error_not_a_panic() {
        let err = multistatus("<multistatus><response><calendar-data>x</wrong>").unwrap_err();
        assert!(err.contains("not XML"), "{err}");
        assert_eq!(multistatus("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn the_query_asks_for_events_in_the_window_in_utc() {
        let q = calendar_query(
            "2026-12-06T23:00:00Z".parse().unwrap(),
            "2027-12-06T23:00:00Z".parse().unwrap(),
        );
        assert!(
            q.contains(r#"start="20261206T230000Z" end="20271206T230000Z""#),
            "{q}"
        );
        assert!(q.contains(r#"<C:comp-filter name="VEVENT">"#));
    }
}
