//! The daemon (design §8): a thin shell around the decision pipeline.
//!
//! Two tasks share a cancellation token and the current [`Runtime`] (config, templates,
//! passwords), which SIGHUP replaces:
//!
//! - the **watcher** keeps one IMAP connection: catch up by UID from the stored cursor, decide
//!   each new message, record decision + reply + ledger + cursor in one transaction, then IDLE
//!   (or poll) until more arrives; any error drops the connection and reconnects with capped
//!   exponential backoff and jitter;
//! - the **sender** drains the outbox over one pooled SMTP transport, retrying transient
//!   failures with backoff and recording permanent ones, then files each sent reply (Sent folder,
//!   keyword on the original) over its own IMAP connection.
//!
//! SIGTERM/SIGINT cancel both; each finishes the step it is in (a reply being sent is sent and
//! recorded) and the process exits 0. Both tasks open their own SQLite connection.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::clock;
use crate::config::{AuthMethod, Config, Server};
use crate::imap::{self, ImapError, ImapSession, Woken};
use crate::oauth::{AuthError, Credential, Standing, TokenSource};
use crate::pipeline::{self, Action, Ledger, MemoryLedger, Moment};
use crate::policy::Trigger;
use crate::render::Templates;
use crate::smtp::{Mailer, SendError};
use crate::store::{AwaySetting, Cursor, Queued, Record, Store};

/// IDLE is re-issued after this long (servers may drop an IDLE after 30 minutes, RFC 2177).
const IDLE_PERIOD: Duration = Duration::from_secs(10 * 60);
/// First and longest wait between reconnections.
const RECONNECT_FIRST: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(60);
/// The most sent replies filed in one pass between sends.
const FILING_BATCH: usize = 20;
/// First and longest wait between attempts to send one reply.
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(300);
/// How long shutdown waits for the tasks to finish their step.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How `plazo run` was asked to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Catch up, process, drain the outbox, exit.
    pub once: bool,
    /// Decide and log; record and send nothing.
    pub dry_run: bool,
}

/// Everything a task needs that a reload can change.
#[derive(Debug)]
pub struct Runtime {
    /// The validated config.
    pub config: Config,
    /// Its templates.
    pub templates: Templates,
    /// The IMAP server and how to log in.
    pub imap: (Server, Credential),
    /// The SMTP transport.
    pub mailer: Mailer,
}

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config, its templates or its passwords cannot be used (exit 78).
    #[error("{0}")]
    Config(String),
}

impl Runtime {
    /// Loads and checks everything from the config file at `path`.
    pub fn load(path: &Path) -> Result<Runtime, StartError> {
        let bad = |e: String| StartError::Config(e);
        let config = Config::load(path).map_err(|e| bad(e.to_string()))?;
        let problems = config.daemon_problems();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| p.located(path)).collect();
            return Err(bad(list.join("\n")));
        }
        // Her calendars: what cannot be read is logged and left out, never a reason to stop.
        let config = if config.calendars.is_empty() {
            config
        } else {
            let agenda = crate::agenda::read(
                &config.calendars,
                config.schedule.tz,
                crate::agenda::window(clock::now()),
            );
            for p in &agenda.problems {
                tracing::warn!("calendar: {p}");
            }
            tracing::debug!(
                busy = agenda.busy.len(),
                days = agenda.days.len(),
                "calendars read"
            );
            config.with_agenda(&agenda)
        };
        let templates = Templates::load_for(&config).map_err(|e| bad(e.to_string()))?;
        let (fatal, stray): (Vec<_>, Vec<_>) = Templates::check_all(&config)
            .into_iter()
            .partition(|p| p.fatal);
        if !fatal.is_empty() {
            let list: Vec<String> = fatal.iter().map(ToString::to_string).collect();
            return Err(bad(list.join("\n")));
        }
        for p in stray {
            tracing::warn!("{p}");
        }
        let (Some(imap), Some(smtp)) = (config.imap.clone(), config.smtp.clone()) else {
            return Err(bad("missing [imap] or [smtp]".into()));
        };
        let tokens = TokenSource::for_config(&config).map_err(bad)?;
        let credential = |name: &str, server: &Server| match (server.auth, &tokens) {
            (AuthMethod::OAuth2, Some(source)) => Ok(Credential::Token(source.clone())),
            _ => server
                .password
                .read()
                .map(Credential::Password)
                .map_err(|e| bad(format!("{name}: {e}"))),
        };
        let imap_login = credential("imap", &imap)?;
        let smtp_login = credential("smtp", &smtp)?;
        let mailer = Mailer::new(&smtp, &smtp_login).map_err(|e| bad(format!("smtp: {e}")))?;
        Ok(Runtime {
            config,
            templates,
            imap: (imap, imap_login),
            mailer,
        })
    }
}

/// How often her calendars are read again while the daemon runs.
const CALENDAR_REFRESH: Duration = Duration::from_secs(15 * 60);

/// Runs the daemon until a signal stops it (or, with `--once`, until the work is done).
/// Returns the process exit code.
pub async fn run(path: PathBuf, opts: Options) -> anyhow::Result<u8> {
    let started = std::time::Instant::now();
    // Signal handlers first, so a SIGTERM during start-up is a clean stop, not a kill.
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let runtime = match Runtime::load(&path) {
        Ok(r) => Arc::new(r),
        Err(e) => {
            tracing::error!("{e}");
            return Ok(crate::config::EXIT_CONFIG);
        }
    };
    let state = runtime.config.state.path.clone();
    if runtime.config.uses_oauth2()
        && matches!(
            Standing::of_config(&runtime.config),
            Ok(Standing::NotAuthorized)
        )
    {
        tracing::error!(
            "no OAuth2 grant for {}: run `plazo auth login` first",
            crate::oauth::account(&runtime.config).unwrap_or("the account")
        );
        return Ok(crate::config::EXIT_CONFIG);
    }
    {
        let store = Store::open(&state)
            .with_context(|| format!("cannot open the state store {}", state.display()))?;
        let uncertain = store.recover()?;
        if uncertain > 0 {
            tracing::warn!(
                "{uncertain} repl{} interrupted during sending last time: marked uncertain, not resent",
                if uncertain == 1 { "y was" } else { "ies were" }
            );
        }
    }
    let (tx, rx) = watch::channel(runtime);
    let cancel = CancellationToken::new();
    let work = Arc::new(Notify::new());

    if opts.once {
        let mut watcher = Watcher::new(rx.clone(), cancel.clone(), work.clone(), &state, opts)?;
        watcher.catch_up_once().await?;
        if !opts.dry_run {
            let mut sender = Sender::new(rx, cancel, work, &state, 0, Busy::default())?;
            let refused = sender.drain().await?;
            if refused > 0 {
                tracing::error!(
                    "{refused} repl{} refused by the SMTP server for good: `plazo history` has the server's words",
                    if refused == 1 { "y was" } else { "ies were" }
                );
                return Ok(1);
            }
        }
        return Ok(0);
    }

    let tracker = tokio_util::task::TaskTracker::new();
    {
        let mut watcher = Watcher::new(rx.clone(), cancel.clone(), work.clone(), &state, opts)?;
        tracker.spawn(async move { watcher.run().await });
    }
    if !opts.dry_run {
        // Several replies in flight, each sender on its own connection; the at-most-once rule
        // holds per reply as with one (the claim is a conditional update).
        let lanes = runtime_lanes(&rx);
        let busy = Busy::default();
        for lane in 0..lanes {
            let mut sender = Sender::new(
                rx.clone(),
                cancel.clone(),
                work.clone(),
                &state,
                lane,
                busy.clone(),
            )?;
            tracker.spawn(async move { sender.run().await });
        }
        let mut digester = crate::digest::Digester::new(
            rx.clone(),
            |r: &Runtime| &r.config,
            cancel.clone(),
            work.clone(),
            Store::open(&state)?,
        );
        tracker.spawn(async move { digester.run().await });
    }
    tracker.close();
    notify(&[sd_notify::NotifyState::Ready]);
    tracing::info!(
        "plazo running with {} (started in {} ms)",
        path.display(),
        started.elapsed().as_millis()
    );

    // Her calendars are read again every so often, as a reload does (quietly).
    let mut calendars = tokio::time::interval_at(
        tokio::time::Instant::now() + CALENDAR_REFRESH,
        CALENDAR_REFRESH,
    );
    loop {
        let has_calendars = !rx.borrow().config.calendars.is_empty();
        tokio::select! {
            _ = calendars.tick(), if has_calendars => {
                match Runtime::load(&path) {
                    Ok(r) if r.config.state.path == state => {
                        let _ = tx.send(Arc::new(r));
                        tracing::debug!("calendars read again");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("calendars not read again: {e}"),
                }
            }
            _ = hup.recv() => {
                notify(&[sd_notify::NotifyState::Reloading]);
                match Runtime::load(&path) {
                    Ok(r) => {
                        // The watcher and the sender keep the store they opened at start.
                        let moved = (r.config.state.path != state).then(|| r.config.state.path.clone());
                        let _ = tx.send(Arc::new(r));
                        match moved {
                            None => tracing::info!("reloaded {}", path.display()),
                            Some(new) => tracing::warn!(
                                "reloaded {}, but state.path changed to {}: a restart is needed to use it; still using {}",
                                path.display(),
                                new.display(),
                                state.display()
                            ),
                        }
                    }
                    Err(e) => tracing::error!("reload failed, keeping the running config: {e}"),
                }
                notify(&[sd_notify::NotifyState::Ready]);
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("stopping");
    notify(&[sd_notify::NotifyState::Stopping]);
    cancel.cancel();
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("tasks did not stop within {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    tracing::info!("stopped");
    Ok(0)
}

fn notify(states: &[sd_notify::NotifyState<'_>]) {
    let _ = sd_notify::notify(states);
}

/// Capped exponential backoff with jitter.
#[derive(Debug)]
struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The wait before the next attempt: the current step ±25 %, then the step doubles.
    fn next(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        jitter(base)
    }

    fn reset(&mut self) {
        self.next = self.first;
    }
}

/// How often the same error is logged again while it repeats.
const REPEAT_PERIOD: chrono::Duration = chrono::Duration::minutes(5);

/// Logs an error that repeats once per [`REPEAT_PERIOD`], with how often it happened meanwhile,
/// instead of once per attempt.
#[derive(Debug, Default)]
struct Repeated {
    last: Option<(String, DateTime<Utc>)>,
    silenced: u64,
}

impl Repeated {
    /// Whether to log `message` now: `Some` with a note of the repeats left out, or `None`.
    fn note(&mut self, message: &str, now: DateTime<Utc>) -> Option<String> {
        match &self.last {
            Some((last, at)) if last == message && now - *at < REPEAT_PERIOD => {
                self.silenced += 1;
                None
            }
            _ => {
                let note = match self.silenced {
                    0 => String::new(),
                    n => format!(" (and {n} more times since the last report)"),
                };
                self.last = Some((message.to_string(), now));
                self.silenced = 0;
                Some(note)
            }
        }
    }
}

fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.75 + fastrand::f64() * 0.5)
}

/// The wait before attempt `attempts + 1` of one reply.
fn retry_wait(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    jitter(RETRY_FIRST.saturating_mul(1 << exp).min(RETRY_MAX))
}

/// The IMAP watcher task.
struct Watcher {
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
    fn new(
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

    async fn run(&mut self) {
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
    async fn catch_up_once(&mut self) -> anyhow::Result<()> {
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
                        break Woken::Timeout;
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
fn runtime_lanes(rx: &watch::Receiver<Arc<Runtime>>) -> usize {
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

/// Waits for SIGHUP's new runtime (true) or shutdown (false): what a paused account does.
async fn wait_for_reload(
    runtime: &mut watch::Receiver<Arc<Runtime>>,
    cancel: &CancellationToken,
) -> bool {
    tokio::select! {
        changed = runtime.changed() => changed.is_ok(),
        () = cancel.cancelled() => false,
    }
}

/// The outbox sender task.
struct Sender {
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
type Busy = Arc<std::sync::Mutex<std::collections::HashSet<i64>>>;

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
    fn new(
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

    async fn run(&mut self) {
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
    async fn drain(&mut self) -> anyhow::Result<usize> {
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

/// Logs in to IMAP (and SELECTs the mailbox) and to SMTP (EHLO, AUTH): `plazo check` online.
/// Returns one verdict line per server and whether both passed.
pub async fn check_servers(runtime: &Runtime) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut ok = true;
    let (server, password) = &runtime.imap;
    let imap_result = async {
        let mut session = imap::connect(server, password).await?;
        let sel = imap::select(&mut session, &server.mailbox).await?;
        let idle = imap::has_idle(&mut session).await?;
        let _ = session.logout().await;
        Ok::<_, ImapError>((sel, idle))
    }
    .await;
    match imap_result {
        Ok((sel, idle)) => lines.push(format!(
            "imap: ok: {} logged in at {}:{}, {} selected (UIDVALIDITY {}, next UID {}), {}",
            server.username,
            server.host,
            server.port,
            server.mailbox,
            sel.uidvalidity,
            sel.uidnext,
            if idle {
                "IDLE supported"
            } else {
                "no IDLE: polling"
            }
        )),
        Err(e) => {
            ok = false;
            lines.push(format!("imap: FAILED: {e}"));
        }
    }
    match runtime.mailer.check().await {
        Ok(()) => lines.push(format!(
            "smtp: ok: {}:{} accepted EHLO and AUTH",
            runtime.config.smtp.as_ref().map_or("", |s| s.host.as_str()),
            runtime.config.smtp.as_ref().map_or(0, |s| s.port)
        )),
        Err(e) => {
            ok = false;
            lines.push(format!("smtp: FAILED: {e}"));
        }
    }
    (lines, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_error_is_logged_once_per_period_with_a_count() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let mut r = Repeated::default();
        assert_eq!(r.note("disk full", at(0)).as_deref(), Some(""));
        for s in 1..100 {
            assert_eq!(r.note("disk full", at(s)), None);
        }
        let again = r.note("disk full", at(301)).expect("after the period");
        assert!(again.contains("99 more times"), "{again}");
        // Another error is logged at once.
        assert_eq!(r.note("login refused", at(302)).as_deref(), Some(""));
    }
}
