//! The weekly digest's runtime side: what a digest covers (from the store), and the daemon task
//! that queues it in the outbox when it is due. Its text and its schedule are pure and live in
//! [`crate::render::digest`]; the outbox sends it with a reply's guarantees (never twice).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::config::Config;
use crate::render::digest::{self, Digest};
use crate::store::{Queued, Store, StoreError};

/// The longest a digest covers when none was sent before it (or the last one is older).
const WEEK: Duration = Duration::days(7);

/// A digest due more than this long ago is not sent any more (the daemon was down): the next
/// one covers its week too.
const TOO_LATE: Duration = Duration::hours(24);

/// Two digests are never queued closer than this: a day or time changed in the config never
/// makes a second digest in the same week (the next one covers the gap).
const MIN_GAP: Duration = Duration::days(6);

/// A digest not sent within this long after it was due expires in the outbox.
const SEND_WITHIN: Duration = Duration::hours(24);

/// The longest the task sleeps before it looks at the clock again (a changed clock, a
/// suspended machine).
const LOOK_AGAIN: StdDuration = StdDuration::from_secs(3600);

/// The digest up to `until`: from the last digest queued (when it is within two weeks), else a
/// week back. Returns where it starts and its text.
pub fn compose_until(
    store: &Store,
    config: &Config,
    until: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Digest), StoreError> {
    let since = store
        .last_digest()?
        .filter(|last| *last < until && until - *last <= WEEK + WEEK)
        .unwrap_or(until - WEEK);
    let entries = store.digest_entries(since, until)?;
    let digest = digest::compose(
        &entries,
        since,
        until,
        config.digest.language,
        config.schedule.tz,
    );
    Ok((since, digest))
}

/// The task that queues each digest when it is due.
pub struct Digester<R> {
    runtime: watch::Receiver<Arc<R>>,
    config: fn(&R) -> &Config,
    cancel: CancellationToken,
    work: Arc<Notify>,
    store: Store,
    /// When this process started: a first digest ever is sent only for a due instant after it
    /// (a new installation does not mail a summary of the week before it).
    started: DateTime<Utc>,
}

impl<R> Digester<R> {
    /// A digester reading its settings from `config(runtime)` at every turn (so a reload
    /// applies), queueing into `store` and waking the senders through `work`.
    pub fn new(
        runtime: watch::Receiver<Arc<R>>,
        config: fn(&R) -> &Config,
        cancel: CancellationToken,
        work: Arc<Notify>,
        store: Store,
    ) -> Digester<R> {
        Digester {
            runtime,
            config,
            cancel,
            work,
            store,
            started: clock::now(),
        }
    }

    /// Runs until cancelled.
    pub async fn run(&mut self) {
        let mut failing = false;
        loop {
            let runtime = self.runtime.borrow_and_update().clone();
            let config = (self.config)(&runtime);
            let now = clock::now();
            let wait = if !config.digest.enabled {
                LOOK_AGAIN
            } else {
                match self.queue_due(config, now) {
                    Ok(()) => {
                        failing = false;
                        let next = digest::next_due(&config.digest, &config.schedule, now);
                        // A little after the instant, so the clock has passed it on waking.
                        (next - now + Duration::milliseconds(20))
                            .to_std()
                            .unwrap_or(StdDuration::from_secs(1))
                            .min(LOOK_AGAIN)
                    }
                    Err(e) => {
                        if !failing {
                            tracing::error!("digest: cannot queue it: {e:#} (trying every minute)");
                        }
                        failing = true;
                        StdDuration::from_secs(60)
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = self.runtime.changed() => if changed.is_err() { return },
                () = self.cancel.cancelled() => return,
            }
        }
    }

    /// Queues the digest last due before `now`, unless it was queued already, is too old, or
    /// is a first one due before this process started.
    fn queue_due(&mut self, config: &Config, now: DateTime<Utc>) -> anyhow::Result<()> {
        let settings = &config.digest;
        let due = digest::latest_due(settings, &config.schedule, now);
        if now - due > TOO_LATE {
            return Ok(());
        }
        match self.store.last_digest()? {
            Some(last) if last >= due || due - last < MIN_GAP => return Ok(()),
            None if due < self.started => return Ok(()),
            _ => {}
        }
        let (since, text) = compose_until(&self.store, config, due)?;
        let (id, bytes) = digest::message(&text, &config.identity, &settings.to, due, now)?;
        let queued = Queued {
            reply_id: &id,
            envelope_from: &config.identity.address,
            recipient: &settings.to,
            message: &bytes,
            triggers: &[],
            thread: "",
            expires: Some(due + SEND_WITHIN),
        };
        if self.store.queue_digest(due, since, &queued, now)? {
            tracing::info!(to = %settings.to, "digest queued: {}", text.subject);
            self.work.notify_one();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config(at: &str, state: &std::path::Path) -> Config {
        let text = format!(
            "[identity]\nname = \"Ana\"\naddress = \"ana@example.test\"\n\n\
             [schedule]\ntimezone = \"Europe/Madrid\"\nmonday = [\"09:00-14:00\"]\n\n\
             [digest]\nat = \"{at}\"\n\n[state]\npath = \"{}\"\n",
            state.display()
        );
        match Config::parse(&text, std::path::Path::new("c.toml")) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    /// A digester over `config` (kept by the returned sender) and the store at `state`.
    fn digester(
        config: &Config,
        state: &std::path::Path,
    ) -> (watch::Sender<Arc<Config>>, Digester<Config>) {
        let (tx, rx) = watch::channel(Arc::new(config.clone()));
        let d = Digester::new(
            rx,
            |c: &Config| c,
            CancellationToken::new(),
            Arc::new(Notify::new()),
            Store::open(state).unwrap(),
        );
        (tx, d)
    }

    #[test]
    fn a_changed_time_never_makes_a_second_digest_in_the_same_week() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.sqlite3");
        let nine = config("09:00", &state);
        let (_tx, mut d) = digester(&nine, &state);
        // Started the week before: Monday 7 December 2026, 09:00 Madrid is 08:00 UTC.
        d.started = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        let at = |h, m| Utc.with_ymd_and_hms(2026, 12, 7, h, m, 0).unwrap();
        d.queue_due(&nine, at(8, 30)).unwrap();
        assert_eq!(d.store.last_digest().unwrap(), Some(at(8, 0)));
        assert_eq!(d.store.queued().unwrap(), 1);
        // The same instant again, and a later time set the same morning: nothing more.
        d.queue_due(&nine, at(8, 31)).unwrap();
        let ten = config("10:00", &state);
        d.queue_due(&ten, at(9, 30)).unwrap();
        assert_eq!(d.store.queued().unwrap(), 1, "one digest this week");
        // The week after, at the new time: the next one, covering the whole gap.
        let next = Utc.with_ymd_and_hms(2026, 12, 14, 9, 1, 0).unwrap();
        d.queue_due(&ten, next).unwrap();
        assert_eq!(d.store.queued().unwrap(), 2);
        assert_eq!(
            d.store.last_digest().unwrap(),
            Some(Utc.with_ymd_and_hms(2026, 12, 14, 9, 0, 0).unwrap())
        );
    }

    #[test]
    fn a_first_digest_is_not_sent_for_a_time_before_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s.sqlite3");
        let c = config("09:00", &state);
        let (_tx, mut d) = digester(&c, &state);
        d.started = Utc.with_ymd_and_hms(2026, 12, 7, 8, 10, 0).unwrap();
        d.queue_due(&c, Utc.with_ymd_and_hms(2026, 12, 7, 8, 30, 0).unwrap())
            .unwrap();
        assert_eq!(
            d.store.queued().unwrap(),
            0,
            "installed after this Monday's time"
        );
    }
}
