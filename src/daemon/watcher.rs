//! The IMAP watcher task: catch up by UID from the stored cursor, decide each new message,
//! record decision + reply + ledger + cursor in one transaction, then IDLE (or poll) until more
//! arrives; any error drops the connection and reconnects with backoff.

use super::*;

/// The IMAP watcher task.
pub(super) struct Watcher {
    runtime: watch::Receiver<Arc<Runtime>>,
    cancel: CancellationToken,
    work: Arc<Notify>,
    store: Store,
    opts: Options,
    /// Dry runs remember their own "replies" here instead of the store.
    dry_ledger: MemoryLedger,
    /// Dry runs keep their cursor here.
    dry_cursor: Option<Cursor>,
}

/// Why a watch session ended without an error.
enum Ended {
    Cancelled,
    Reloaded,
}

impl Watcher {
    pub(super) fn new(
        runtime: watch::Receiver<Arc<Runtime>>,
        cancel: CancellationToken,
        work: Arc<Notify>,
        state: &Path,
        opts: Options,
    ) -> anyhow::Result<Watcher> {
        Ok(Watcher {
            runtime,
            cancel,
            work,
            store: Store::open(state)?,
            opts,
            dry_ledger: MemoryLedger::default(),
            dry_cursor: None,
        })
    }

    pub(super) async fn run(&mut self) {
        let mut backoff = Backoff::new(RECONNECT_FIRST, RECONNECT_MAX);
        let mut repeated = Repeated::default();
        loop {
            match self.session(&mut backoff).await {
                Ok(Ended::Cancelled) => return,
                Ok(Ended::Reloaded) => continue,
                Err(e) if e.pausing().is_some() => {
                    tracing::error!(
                        "imap: {e}; the mailbox is not watched until then (replies already queued are kept)"
                    );
                    if !wait_for_reload(&mut self.runtime, &self.cancel).await {
                        return;
                    }
                    tracing::info!("imap: configuration reloaded: signing in again");
                    backoff.reset();
                }
                Err(e) => {
                    let wait = if e.is_imap_permanent() {
                        RECONNECT_MAX
                    } else {
                        backoff.next()
                    };
                    if let Some(times) = repeated.note(&format!("{e:#}"), clock::now()) {
                        tracing::warn!(
                            "imap: {e:#}; reconnecting in {:.1} s{}",
                            wait.as_secs_f64(),
                            times
                        );
                    }
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.cancel.cancelled() => return,
                    }
                }
            }
        }
    }

    /// Connects, selects, and returns the session with the cursor settled (after a new
    /// UIDVALIDITY, once what arrived since the last decision is decided).
    async fn open(&mut self) -> Result<(ImapSession, imap::Selected, Arc<Runtime>), WatchError> {
        let runtime = self.runtime.borrow_and_update().clone();
        let (server, password) = &runtime.imap;
        let mut session = imap::connect(server, password).await?;
        let selected = imap::select(&mut session, &server.mailbox).await?;
        if let Some(since) = self.settle_cursor(&server.mailbox, selected)? {
            self.rescan(&mut session, &runtime, selected, since).await?;
        }
        Ok((session, selected, runtime))
    }

    /// After a new UIDVALIDITY: decides every message below the new UIDNEXT that arrived since
    /// `since` (Message-IDs already decided are skipped as duplicates), then takes the new
    /// baseline. The old cursor stays until this is done, so a crash half-way starts it again.
    async fn rescan(
        &mut self,
        session: &mut ImapSession,
        runtime: &Runtime,
        sel: imap::Selected,
        since: DateTime<Utc>,
    ) -> Result<(), WatchError> {
        let mailbox = runtime.imap.0.mailbox.as_str();
        let uids: Vec<u32> = imap::uids_since(session, since)
            .await?
            .into_iter()
            .filter(|u| *u < sel.uidnext)
            .collect();
        let mut decided = 0;
        for batch in imap::plan(session, &uids).await? {
            for fetched in imap::fetch(session, &batch).await? {
                if fetched.arrival.is_some_and(|a| a >= since) {
                    self.decide(runtime, mailbox, sel.uidvalidity, fetched)?;
                    decided += 1;
                }
            }
        }
        tracing::info!("{mailbox}: {decided} message(s) that arrived since {since} decided");
        self.set_cursor(
            mailbox,
            Cursor {
                uidvalidity: sel.uidvalidity,
                last_uid: sel.uidnext.saturating_sub(1),
            },
        )
    }

    /// First start: baseline at UIDNEXT. A new UIDVALIDITY (the mailbox recreated or restored):
    /// returns when the latest decided message arrived, so that what came since is decided,
    /// not lost; with nothing decided yet, baseline again.
    fn settle_cursor(
        &mut self,
        mailbox: &str,
        sel: imap::Selected,
    ) -> Result<Option<DateTime<Utc>>, WatchError> {
        let baseline = Cursor {
            uidvalidity: sel.uidvalidity,
            last_uid: sel.uidnext.saturating_sub(1),
        };
        let current = match self.dry_cursor {
            Some(c) if self.opts.dry_run => Some(c),
            _ => self.store.cursor(mailbox)?,
        };
        match current {
            Some(c) if c.uidvalidity == sel.uidvalidity => {
                if self.opts.dry_run {
                    self.dry_cursor = Some(c);
                }
            }
            Some(c) => {
                if let Some(since) = self.store.last_received(mailbox)? {
                    tracing::warn!(
                        "{mailbox}: UIDVALIDITY changed from {} to {}: deciding what arrived since {since}",
                        c.uidvalidity,
                        sel.uidvalidity,
                    );
                    return Ok(Some(since));
                }
                tracing::warn!(
                    "{mailbox}: UIDVALIDITY changed from {} to {}: starting again from UID {}",
                    c.uidvalidity,
                    sel.uidvalidity,
                    sel.uidnext
                );
                self.set_cursor(mailbox, baseline)?;
            }
            None => {
                tracing::info!(
                    "{mailbox}: first start: mail before UID {} is left alone",
                    sel.uidnext
                );
                self.set_cursor(mailbox, baseline)?;
            }
        }
        Ok(None)
    }

    fn set_cursor(&mut self, mailbox: &str, c: Cursor) -> Result<(), WatchError> {
        if self.opts.dry_run {
            self.dry_cursor = Some(c);
        } else {
            self.store.set_cursor(mailbox, c)?;
        }
        Ok(())
    }

    fn cursor(&self, mailbox: &str) -> Result<Option<Cursor>, WatchError> {
        if self.opts.dry_run {
            return Ok(self.dry_cursor);
        }
        Ok(self.store.cursor(mailbox)?)
    }

    /// `--once`: connect, decide everything new, log out.
    pub(super) async fn catch_up_once(&mut self) -> anyhow::Result<()> {
        let (mut session, _, runtime) = self.open().await?;
        self.catch_up(&mut session, &runtime).await?;
        let _ = session.logout().await;
        Ok(())
    }

    /// One connection's life: catch up, then IDLE (or poll) and catch up again, until an error,
    /// a reload or shutdown.
    async fn session(&mut self, backoff: &mut Backoff) -> Result<Ended, WatchError> {
        let (mut session, _, runtime) = self.open().await?;
        let (server, _) = &runtime.imap;
        let fast = server.fast_poll.and_then(|d| d.to_std().ok());
        let idle = fast.is_none() && imap::has_idle(&mut session).await?;
        let how = match fast {
            Some(d) => format!("NOOP every {}", humantime::format_duration(d)),
            None if idle => "IDLE".to_string(),
            None => "polling".to_string(),
        };
        tracing::info!(
            "imap: watching {} on {}:{} ({how})",
            server.mailbox,
            server.host,
            server.port,
        );
        loop {
            self.catch_up(&mut session, &runtime).await?;
            // Only a connection that got its work done resets the backoff: one that logs in and
            // then fails (a state store that cannot be written, say) keeps backing off.
            backoff.reset();
            if self.cancel.is_cancelled() {
                let _ = session.logout().await;
                return Ok(Ended::Cancelled);
            }
            if imap::pending_changes(&mut session) {
                continue;
            }
            let wake = self.cancel.child_token();
            let woken = if let Some(every) = fast {
                // NOOP until the server reports a change (or a reload or stop).
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(every) => {}
                        _ = self.runtime.changed() => break Woken::Stopped,
                        () = self.cancel.cancelled() => break Woken::Stopped,
                    }
                    imap::noop(&mut session).await?;
                    if imap::pending_changes(&mut session) {
                        break Woken::News;
                    }
                }
            } else if idle {
                let check = server.idle_check.to_std().unwrap_or(IDLE_PERIOD);
                let waiting = imap::idle(session, IDLE_PERIOD, check, &wake);
                tokio::pin!(waiting);
                let (back, woken) = loop {
                    tokio::select! {
                        r = &mut waiting => break r?,
                        _ = self.runtime.changed() => wake.cancel(),
                    }
                };
                session = back;
                woken
            } else {
                tokio::select! {
                    () = tokio::time::sleep(poll_interval(&runtime)) => Woken::Timeout,
                    _ = self.runtime.changed() => Woken::Stopped,
                    () = self.cancel.cancelled() => Woken::Stopped,
                }
            };
            if woken == Woken::Stopped {
                let _ = session.logout().await;
                return Ok(if self.cancel.is_cancelled() {
                    Ended::Cancelled
                } else {
                    Ended::Reloaded
                });
            }
            // Mail is coming: the SMTP connection opens while it is fetched and decided.
            if woken == Woken::Mail && !self.opts.dry_run {
                runtime.mailer.prewarm();
            }
        }
    }

    /// Fetches and decides every message above the cursor, in UID order.
    async fn catch_up(
        &mut self,
        session: &mut ImapSession,
        runtime: &Runtime,
    ) -> Result<(), WatchError> {
        let (server, _) = &runtime.imap;
        let mailbox = server.mailbox.as_str();
        let Some(cursor) = self.cursor(mailbox)? else {
            return Ok(());
        };
        let uids = imap::uids_after(session, cursor.last_uid).await?;
        // Sizes first, so that memory stays bounded whatever waits: small mail is fetched
        // whole in batches of a few MiB, a large one only in the parts deciding reads.
        for batch in imap::plan(session, &uids).await? {
            for fetched in imap::fetch(session, &batch).await? {
                self.decide(runtime, mailbox, cursor.uidvalidity, fetched)?;
            }
            if self.cancel.is_cancelled() {
                break;
            }
        }
        Ok(())
    }

    /// Decides one message and records the outcome.
    fn decide(
        &mut self,
        runtime: &Runtime,
        mailbox: &str,
        uidvalidity: u32,
        fetched: imap::Fetched,
    ) -> Result<(), WatchError> {
        let now = clock::now();
        let msg = fetched.parse();
        let arrival = fetched.arrival.unwrap_or(now);
        // `plazo away` may have changed the away days since the last mail: read at every one.
        let away = self.store.away()?;
        let with_away;
        let config = if away == AwaySetting::default() {
            &runtime.config
        } else {
            let period = away.period.as_ref().map(|(f, l, m)| (*f, *l, m.as_deref()));
            with_away = runtime.config.with_away(period, away.off);
            &with_away
        };
        let seen = match &msg.message_id {
            Some(id) if !self.opts.dry_run => self.store.seen_message_id(id)?,
            _ => false,
        };
        let moment = Moment { arrival, now };
        let outcome = if seen {
            Err("duplicate".to_string())
        } else if self.opts.dry_run {
            let ledger = DryLedger {
                store: &self.store,
                memory: &self.dry_ledger,
            };
            pipeline::decide(&msg, config, &runtime.templates, moment, &ledger)
                .map_err(|e| e.to_string())
        } else {
            pipeline::decide(&msg, config, &runtime.templates, moment, &self.store)
                .map_err(|e| e.to_string())
        };
        let sender = msg
            .reply_address()
            .map(str::to_string)
            .or_else(|| msg.from.as_ref().map(|m| m.address.clone()));
        let next_opening = outcome
            .as_ref()
            .ok()
            .and_then(|d| d.assessment.as_ref())
            .and_then(|a| a.next_opening);
        let (action, reason, reply) = match &outcome {
            Ok(d) => (
                d.action,
                d.reason(),
                d.reply
                    .as_ref()
                    .map(|r| (r, d.triggers.clone(), d.thread.clone())),
            ),
            Err(e) if e == "duplicate" => (Action::Skip, "duplicate".to_string(), None),
            Err(e) => {
                tracing::error!(uid = fetched.uid, "cannot build a reply: {e}");
                (Action::Skip, "error".to_string(), None)
            }
        };
        let findings = outcome
            .as_ref()
            .map(pipeline::Decision::explained)
            .unwrap_or_default();
        let action_tag = match action {
            Action::Reply => "reply",
            Action::Skip => "skip",
        };
        tracing::info!(
            uid = fetched.uid,
            from = sender.as_deref().unwrap_or("?"),
            subject = %msg.subject,
            "{}{action_tag} ({reason})",
            if self.opts.dry_run { "dry run: would " } else { "" }
        );
        if self.opts.dry_run {
            if let Some((r, triggers, thread)) = &reply {
                self.dry_ledger.record(&r.to, triggers, thread, now);
                tracing::info!("dry run: the reply would be:\n{}", r.as_seen());
            }
            if let Some(c) = &mut self.dry_cursor {
                c.last_uid = c.last_uid.max(fetched.uid);
            }
            return Ok(());
        }
        let from = runtime.config.identity.address.clone();
        let queued = reply.as_ref().map(|(r, triggers, thread)| Queued {
            reply_id: &r.message_id,
            envelope_from: &from,
            recipient: &r.to,
            message: &r.bytes,
            triggers: triggers.as_slice(),
            thread,
            expires: Some(expiry(arrival, next_opening, runtime.config.reply.max_age)),
        });
        // What the reply promised, for the weekly digest.
        let promised = outcome
            .as_ref()
            .ok()
            .filter(|d| d.action == Action::Reply)
            .and_then(|d| d.assessment.as_ref());
        let record = Record {
            promise: promised.and_then(|a| a.earliest),
            rush: promised.and_then(|a| a.rush_earliest),
            mailbox,
            uidvalidity,
            uid: fetched.uid,
            message_id: msg.message_id.as_deref(),
            sender: sender.as_deref(),
            subject: &msg.subject,
            received: arrival,
            action: action_tag,
            reason: &reason,
            client: outcome.as_ref().ok().and_then(|d| d.client.as_deref()),
            findings: &findings,
            reply: queued,
        };
        self.store.record(&record, now)?;
        if reply.is_some() {
            self.work.notify_one();
        }
        Ok(())
    }
}

/// When a reply's promise is past: at the next opening it announces, when the mail came
/// outside hours ("lo leeré hoy a las 9:00"), and in any case `max_age` after the arrival.
fn expiry(
    arrival: DateTime<Utc>,
    next_opening: Option<DateTime<Utc>>,
    max_age: chrono::Duration,
) -> DateTime<Utc> {
    let by_age = arrival + max_age;
    next_opening
        .filter(|o| *o > arrival)
        .map_or(by_age, |o| o.min(by_age))
}

/// How many senders run: `smtp.connections` at start (a reload keeps the count).
pub(super) fn runtime_lanes(rx: &watch::Receiver<Arc<Runtime>>) -> usize {
    rx.borrow()
        .config
        .smtp
        .as_ref()
        .map_or(1, |s| s.connections.max(1))
}

fn poll_interval(runtime: &Runtime) -> Duration {
    runtime
        .imap
        .0
        .poll_interval
        .to_std()
        .unwrap_or(Duration::from_secs(60))
        .max(Duration::from_secs(1))
}

/// The ledger of a dry run: the store's, plus the replies the dry run pretended to send.
struct DryLedger<'a> {
    store: &'a Store,
    memory: &'a MemoryLedger,
}

impl Ledger for DryLedger<'_> {
    fn last_reply(&self, sender: &str, trigger: Trigger) -> Option<DateTime<Utc>> {
        self.memory
            .last_reply(sender, trigger)
            .max(self.store.last_reply(sender, trigger))
    }

    fn last_thread_reply(&self, thread: &str) -> Option<DateTime<Utc>> {
        self.memory
            .last_thread_reply(thread)
            .max(self.store.last_thread_reply(thread))
    }

    fn domain_replies_since(&self, domain: &str, since: DateTime<Utc>) -> usize {
        self.memory.domain_replies_since(domain, since)
            + self.store.domain_replies_since(domain, since)
    }
}

/// A watcher failure.
#[derive(Debug, thiserror::Error)]
enum WatchError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl WatchError {
    fn is_imap_permanent(&self) -> bool {
        matches!(self, WatchError::Imap(e) if !e.is_transient())
    }

    fn pausing(&self) -> Option<&AuthError> {
        match self {
            WatchError::Imap(e) => e.pausing(),
            WatchError::Store(_) => None,
        }
    }
}
