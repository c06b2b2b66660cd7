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
            Some(last) if last >= due => return Ok(()),
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
