//! The calendar refresher: reads her calendars again, each on its own `refresh` interval and
//! all at once on SIGHUP, and hands the finished agenda to the daemon's main loop, which swaps
//! it into the runtime. It runs apart from the watcher and the senders, so a calendar server
//! that is slow or silent delays no reply: the decisions go on with the last reading.
//!
//! It logs once, not every round: a calendar that cannot be fetched ("using the copy fetched
//! …"), a calendar that is back, and each problem when it first appears.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Runtime;
use crate::agenda::Agenda;
use crate::caldav::{self, Fetcher, Got, Texts};
use crate::clock;
use crate::config::CalendarSource;
use crate::store::Store;

/// A reading: the sources it was made from (a reload may have changed them since) and what
/// they say.
pub type Reading = (Vec<CalendarSource>, Agenda);

/// How long the refresher sleeps when there is nothing to read (until a reload wakes it).
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// Reads the calendars of the current runtime.
pub struct Refresher {
    runtime: watch::Receiver<Arc<Runtime>>,
    out: mpsc::Sender<Reading>,
    now: Arc<Notify>,
    cancel: CancellationToken,
    /// Where the last good copies are kept (none in a dry run).
    store: Option<Store>,
    fetcher: Fetcher,
    /// Each source's last reading and when it is due again, by its key.
    last: HashMap<String, (Texts, Instant)>,
    /// The sources whose outage was logged.
    stale: BTreeSet<String>,
    /// The problems logged (each once, while it lasts).
    logged: BTreeSet<String>,
}

impl Refresher {
    /// A refresher for the runtime in `runtime`; `now` makes it read everything at once.
    pub fn new(
        runtime: watch::Receiver<Arc<Runtime>>,
        out: mpsc::Sender<Reading>,
        now: Arc<Notify>,
        cancel: CancellationToken,
        store: Option<Store>,
    ) -> Refresher {
        Refresher {
            runtime,
            out,
            now,
            cancel,
            store,
            fetcher: Fetcher::new(),
            last: HashMap::new(),
            stale: BTreeSet::new(),
            logged: BTreeSet::new(),
        }
    }

    /// Whether a calendar on a server has never been read (no copy in the store): the daemon
    /// then waits for the first reading before it decides anything.
    pub fn has_unread(&self) -> bool {
        let runtime = self.runtime.borrow().clone();
        caldav::at_hand(&runtime.base.calendars, self.store.as_ref())
            .iter()
            .zip(&runtime.base.calendars)
            .any(|(t, s)| {
                matches!(t.got, Got::Nothing { .. })
                    && matches!(s.origin, crate::config::Origin::Remote(_))
            })
    }

    /// Reads until shutdown.
    pub async fn run(mut self) {
        loop {
            let wait = self.next_due().saturating_duration_since(Instant::now());
            let force = tokio::select! {
                () = self.cancel.cancelled() => return,
                () = self.now.notified() => true,
                () = tokio::time::sleep(wait) => false,
            };
            let cancel = self.cancel.clone();
            let reading = tokio::select! {
                () = cancel.cancelled() => return,
                r = self.round(force) => r,
            };
            let Some(reading) = reading else { continue };
            if self.out.send(reading).await.is_err() {
                return;
            }
        }
    }

    /// When the next source is due.
    fn next_due(&self) -> Instant {
        let runtime = self.runtime.borrow();
        runtime
            .base
            .calendars
            .iter()
            .map(|s| {
                self.last
                    .get(&s.origin.key())
                    .map_or_else(Instant::now, |(_, due)| *due)
            })
            .min()
            .unwrap_or_else(|| Instant::now() + IDLE)
    }

    /// Reads the sources that are due (all when `force`), and makes the agenda of all. `None`
    /// when there are no calendars.
    pub async fn round(&mut self, force: bool) -> Option<Reading> {
        let runtime = self.runtime.borrow().clone();
        let sources = &runtime.base.calendars;
        if sources.is_empty() {
            self.last.clear();
            return None;
        }
        let started = Instant::now();
        let due: Vec<CalendarSource> = sources
            .iter()
            .filter(|s| {
                force
                    || self
                        .last
                        .get(&s.origin.key())
                        .is_none_or(|(_, due)| *due <= started)
            })
            .cloned()
            .collect();
        let tz = runtime.base.schedule.tz;
        let window = crate::agenda::window(clock::now());
        let fetched = self.fetcher.fetch_all(&due, window).await;
        let settled = caldav::settle(&due, fetched, self.store.as_ref(), clock::now());
        for (source, texts) in due.iter().zip(settled) {
            self.note(source, &texts.got, tz);
            self.last.insert(
                source.origin.key(),
                (texts, Instant::now() + source.refresh),
            );
        }
        let texts: Vec<Texts> = sources
            .iter()
            .map(|s| {
                self.last
                    .get(&s.origin.key())
                    .map(|(t, _)| t.clone())
                    .unwrap_or(Texts {
                        texts: Vec::new(),
                        got: Got::Nothing {
                            error: "not read".into(),
                        },
                    })
            })
            .collect();
        // Sources a reload removed are forgotten.
        let keys: BTreeSet<String> = sources.iter().map(|s| s.origin.key()).collect();
        self.last.retain(|k, _| keys.contains(k));
        let agenda = caldav::agenda_of(sources, &texts, tz, window);
        let problems: BTreeSet<String> = agenda.problems.iter().cloned().collect();
        for p in problems.difference(&self.logged) {
            tracing::warn!("calendar: {p}");
        }
        self.logged = problems;
        tracing::debug!(
            busy = agenda.busy.len(),
            days = agenda.days.len(),
            read = due.len(),
            "calendars read"
        );
        Some((sources.clone(), agenda))
    }

    /// Logs a calendar on a server going stale or coming back, once each way.
    fn note(&mut self, source: &CalendarSource, got: &Got, tz: chrono_tz::Tz) {
        let key = source.origin.key();
        let name = source.origin.describe();
        match got {
            Got::Fresh => {
                if self.stale.remove(&key) {
                    tracing::info!("calendar {name}: read again");
                }
            }
            Got::Copy { fetched, error } => {
                if self.stale.insert(key) {
                    tracing::warn!(
                        "calendar {name}: cannot be fetched ({error}); using the copy fetched {} until it can",
                        fetched.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")
                    );
                }
            }
            // Logged with the problems.
            Got::Nothing { .. } => {
                self.stale.insert(key);
            }
        }
    }
}
