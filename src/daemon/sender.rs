//! The outbox sender tasks: each drains the outbox over its own SMTP connection, retrying
//! transient failures with backoff and recording permanent ones; lane 0 also files sent replies
//! (Sent folder, keyword on the original) and expires the ones past their promise.

use super::*;

/// The outbox sender task.
pub(super) struct Sender {
    runtime: watch::Receiver<Arc<Runtime>>,
    cancel: CancellationToken,
    work: Arc<Notify>,
    store: Store,
    /// The IMAP connection used for filing, opened when needed.
    filer: Option<ImapSession>,
    /// The Sent folder found on the server, once looked up.
    sent_folder: Option<Option<String>>,
    /// Why the account is paused (OAuth2 grant unusable), until a reload.
    paused: Option<AuthError>,
    /// Why the last connection to the SMTP server failed, when it did: the whole outbox waits
    /// with a backoff of its own, instead of every reply trying (and logging) in turn.
    unreachable: Option<String>,
    /// How many replies the server refused for good (for `--once`'s exit code).
    refused: usize,
    /// Which of the senders this is: lane 0 also files, expires and speaks for the outbox in
    /// the log; the others only send.
    lane: usize,
    /// The replies the senders have in hand and not claimed yet, so no two take the same.
    busy: Busy,
}

/// The replies in hand across the senders.
pub(super) type Busy = Arc<std::sync::Mutex<std::collections::HashSet<i64>>>;

/// A reply held in [`Busy`] while one sender works on it.
struct InHand {
    busy: Busy,
    id: i64,
}

impl Drop for InHand {
    fn drop(&mut self) {
        self.busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

impl Sender {
    pub(super) fn new(
        runtime: watch::Receiver<Arc<Runtime>>,
        cancel: CancellationToken,
        work: Arc<Notify>,
        state: &Path,
        lane: usize,
        busy: Busy,
    ) -> anyhow::Result<Sender> {
        Ok(Sender {
            runtime,
            cancel,
            work,
            store: Store::open(state)?,
            filer: None,
            sent_folder: None,
            paused: None,
            unreachable: None,
            refused: 0,
            lane,
            busy,
        })
    }

    pub(super) async fn run(&mut self) {
        let mut filing = Backoff::new(RECONNECT_FIRST, RECONNECT_MAX);
        let mut failing = Backoff::new(RECONNECT_FIRST, RECONNECT_MAX);
        let mut unreachable = Backoff::new(RETRY_FIRST, RETRY_MAX);
        let mut repeated = Repeated::default();
        let mut filing_due = tokio::time::Instant::now();
        loop {
            if self.cancel.is_cancelled() {
                return;
            }
            if let Some(why) = &self.paused {
                if self.lane == 0 {
                    let queued = self.store.queued().unwrap_or(0);
                    tracing::error!(
                        "outbox: {why}; {queued} repl{} kept in the outbox until then",
                        if queued == 1 { "y" } else { "ies" }
                    );
                }
                if !wait_for_reload(&mut self.runtime, &self.cancel).await {
                    return;
                }
                if self.lane == 0 {
                    tracing::info!("outbox: configuration reloaded: sending again");
                }
                self.paused = None;
                self.filer = None;
                self.sent_folder = None;
                filing.reset();
                filing_due = tokio::time::Instant::now();
                continue;
            }
            if self.runtime.has_changed().unwrap_or(false) {
                self.runtime.borrow_and_update();
                self.filer = None;
                self.sent_folder = None;
            }
            match self.send_one().await {
                Ok(true) => {
                    failing.reset();
                    unreachable.reset();
                    continue;
                }
                Ok(false) if let Some(why) = self.unreachable.take() => {
                    failing.reset();
                    let wait = unreachable.next();
                    let queued = self.store.queued().unwrap_or(0);
                    // The other senders meet the same server: lane 0 speaks for them all.
                    if self.lane == 0
                        && let Some(times) = repeated.note(&why, clock::now())
                    {
                        tracing::warn!(
                            "outbox: cannot send: {why}{times}; {queued} repl{} waiting; trying again in {:.0} s",
                            if queued == 1 { "y" } else { "ies" },
                            wait.as_secs_f64()
                        );
                    }
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.cancel.cancelled() => return,
                    }
                    continue;
                }
                Ok(false) => failing.reset(),
                Err(e) => {
                    if let Some(times) = repeated.note(&format!("{e:#}"), clock::now()) {
                        if self.lane == 0 {
                            tracing::error!("outbox: {e:#}{times}");
                        } else {
                            tracing::debug!("outbox (sender {}): {e:#}{times}", self.lane);
                        }
                    }
                    // A store that cannot be written fails at once: wait before the next try.
                    let wait = failing.next();
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.cancel.cancelled() => return,
                    }
                    continue;
                }
            }
            if self.lane == 0 && tokio::time::Instant::now() >= filing_due {
                match self.file_sent().await {
                    Ok(filed) => {
                        filing.reset();
                        // More to file: send first whatever became due, then the next batch.
                        if filed > 0 {
                            continue;
                        }
                    }
                    Err(ref e) if let Some(why) = pausing(e) => {
                        self.filer = None;
                        self.paused = Some(why.clone());
                        continue;
                    }
                    Err(e) => {
                        self.filer = None;
                        let wait = filing.next();
                        filing_due = tokio::time::Instant::now() + wait;
                        tracing::warn!(
                            "filing sent replies: {e:#}; trying again in {:.1} s",
                            wait.as_secs_f64()
                        );
                    }
                }
            }
            let due = self.store.next_due().ok().flatten();
            let wait = due
                .map(|d| (d - clock::now()).to_std().unwrap_or(Duration::ZERO))
                .unwrap_or(Duration::from_secs(60))
                .min(Duration::from_secs(60));
            tokio::select! {
                () = self.work.notified() => {}
                () = tokio::time::sleep(wait) => {}
                () = self.cancel.cancelled() => return,
            }
        }
    }

    /// `--once`: send everything due now, file it, stop. Returns how many replies the server
    /// refused for good.
    pub(super) async fn drain(&mut self) -> anyhow::Result<usize> {
        while self.send_one().await? {}
        if let Some(why) = self.unreachable.take() {
            let queued = self.store.queued().unwrap_or(0);
            tracing::warn!(
                "outbox: cannot send: {why}; {queued} repl{} kept for the next run",
                if queued == 1 { "y" } else { "ies" }
            );
        }
        if let Some(why) = self.paused.take() {
            return Err(why.into());
        }
        while self.file_sent().await? > 0 {}
        if let Some(mut s) = self.filer.take() {
            let _ = s.logout().await;
        }
        let mailer = self.runtime.borrow().mailer.clone();
        mailer.close().await;
        Ok(self.refused)
    }

    /// Sends the next due reply, if any. Returns whether there was one.
    async fn send_one(&mut self) -> anyhow::Result<bool> {
        let now = clock::now();
        if self.lane == 0 {
            for to in self.store.expire(now)? {
                tracing::warn!(%to, "reply expired: not sent before what it promises was past");
            }
        }
        let (out, _in_hand) = {
            let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
            let Some(out) = self.store.next_queued(now, &busy)? else {
                return Ok(false);
            };
            busy.insert(out.id);
            let in_hand = InHand {
                busy: self.busy.clone(),
                id: out.id,
            };
            (out, in_hand)
        };
        let mailer = self.runtime.borrow().mailer.clone();
        let retry = |store: &Store, e: &str| -> anyhow::Result<()> {
            let wait = retry_wait(out.attempts);
            let wait_chrono =
                chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
            store.mark_retry(out.id, clock::now(), wait_chrono, e)?;
            tracing::warn!(
                to = %out.recipient,
                "cannot send the reply yet (attempt {}): {e}; next try in {:.0} s",
                out.attempts,
                wait.as_secs_f64()
            );
            Ok(())
        };
        // Connecting, TLS and the login: nothing of the reply has left, so a stop here leaves
        // it queued.
        let ready = tokio::select! {
            r = mailer.ready() => r,
            () = self.cancel.cancelled() => return Ok(false),
        };
        let ready = match ready {
            Ok(ready) => ready,
            Err(SendError::Paused(why)) => {
                self.paused = Some(why);
                return Ok(false);
            }
            // The server cannot be reached or refuses the login: not this reply's fault, and
            // the next one would fare no better. The sender waits (see `run`).
            Err(e) => {
                self.unreachable = Some(e.to_string());
                return Ok(false);
            }
        };
        // MAIL FROM, RCPT TO, DATA: the server holds nothing until the message itself is
        // sent, so a failure or a stop here leaves the reply queued.
        let begun = tokio::select! {
            r = mailer.begin(ready, &out.envelope_from, &out.recipient, &out.message) => r,
            () = self.cancel.cancelled() => return Ok(false),
        };
        let result = match begun {
            Err(e) => Err(e),
            // Claimed (committed) only now, just before the message is written: from here on
            // a kill leaves it `uncertain`, and only this short step can make it so.
            Ok(tx) => {
                if !self.store.claim(out.id)? {
                    return Ok(true);
                }
                tokio::select! {
                    r = mailer.finish(tx, &out.message) => r,
                    () = self.cancel.cancelled() => Err(SendError::Uncertain(
                        "stopped after the message was sent and before the server's answer: it may or may not have been delivered".into(),
                    )),
                }
            }
        };
        match result {
            Ok(()) => {
                self.store.mark_sent(out.id, clock::now())?;
                tracing::info!(to = %out.recipient, "reply sent");
            }
            Err(SendError::Transient(e)) => retry(&self.store, &e)?,
            Err(SendError::Permanent(e)) => {
                self.refused += 1;
                self.store.mark_failed(out.id, &e)?;
                tracing::error!(to = %out.recipient, "reply refused, not retried: {e}");
            }
            Err(SendError::Uncertain(e)) => {
                self.store.mark_uncertain(out.id, &e)?;
                tracing::error!(to = %out.recipient, "reply uncertain, not sent again: {e}");
            }
            Err(SendError::Paused(why)) => {
                self.store.mark_retry(
                    out.id,
                    clock::now(),
                    chrono::Duration::zero(),
                    &why.to_string(),
                )?;
                self.paused = Some(why);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Appends sent replies to the Sent folder and marks their originals with the keyword, at
    /// most [`FILING_BATCH`] a pass so sending is never held up for long: the APPENDs, one
    /// `UID STORE` per mailbox for all their originals, one commit for the batch. Returns how
    /// many were filed.
    async fn file_sent(&mut self) -> anyhow::Result<usize> {
        let pending = self.store.unfiled(FILING_BATCH)?;
        if pending.is_empty() {
            return Ok(0);
        }
        let runtime = self.runtime.borrow().clone();
        let save = runtime.config.reply.save_to_sent;
        let (server, password) = &runtime.imap;
        let mut session = match self.filer.take() {
            Some(s) => s,
            None => imap::connect(server, password).await?,
        };
        if save && self.sent_folder.is_none() {
            let folder = match &server.sent_folder {
                Some(f) => Some(f.clone()),
                None => imap::find_sent(&mut session).await?,
            };
            if folder.is_none() {
                tracing::warn!(
                    "no Sent folder (SPECIAL-USE \\Sent) on the server: set imap.sent_folder to keep copies"
                );
            }
            self.sent_folder = Some(folder);
        }
        if save && let Some(Some(folder)) = &self.sent_folder {
            // Recorded before the APPENDs (one commit): after a kill among them, each copy is
            // looked for before it is appended again.
            let fresh: Vec<i64> = pending
                .iter()
                .filter(|i| !i.maybe_appended)
                .map(|i| i.id)
                .collect();
            self.store.mark_appending(&fresh)?;
            for item in &pending {
                if item.maybe_appended
                    && imap::holds_message_id(&mut session, folder, &item.reply_id).await?
                {
                    continue;
                }
                imap::append(&mut session, folder, &item.message).await?;
            }
        }
        // The keyword on the originals: one UID STORE per mailbox (and UIDVALIDITY).
        let mut groups: Vec<(&str, u32, Vec<u32>)> = Vec::new();
        for item in &pending {
            match groups
                .iter_mut()
                .find(|(m, v, _)| *m == item.mailbox && *v == item.uidvalidity)
            {
                Some((_, _, uids)) => uids.push(item.uid),
                None => groups.push((&item.mailbox, item.uidvalidity, vec![item.uid])),
            }
        }
        for (mailbox, uidvalidity, uids) in groups {
            let sel = imap::select(&mut session, mailbox).await?;
            if sel.uidvalidity == uidvalidity && sel.keywords {
                imap::mark_answered(&mut session, &uids).await?;
            }
        }
        let ids: Vec<i64> = pending.iter().map(|i| i.id).collect();
        self.store.mark_filed(&ids)?;
        self.filer = Some(session);
        Ok(pending.len())
    }
}

/// The OAuth2 failure behind `e` that pauses the account, if that is what it is.
fn pausing(e: &anyhow::Error) -> Option<&AuthError> {
    e.downcast_ref::<ImapError>().and_then(ImapError::pausing)
}
