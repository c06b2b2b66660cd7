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
//! recorded) and the process exits 0. Both tasks open their own SQLite connection. A third,
//! [`crate::digest::Digester`], queues the weekly digest.
//!
//! This file holds the runtime, start-up, signals and reload; `watcher.rs`, `sender.rs` and
//! `backoff.rs` the rest.

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

mod backoff;
mod calendars;
mod sender;
mod watcher;

use backoff::{Backoff, Repeated, retry_wait};
use sender::{Busy, Sender};
use watcher::{Watcher, runtime_lanes};

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
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The validated config, with what her calendars say.
    pub config: Config,
    /// The same before her calendars: what a new reading of them is applied to.
    pub base: Config,
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
        // Her calendars as they are at hand (files, and the last good copy of those on
        // servers); the refresher reads them again at once, and logs what cannot be read.
        let base = config;
        let config = if base.calendars.is_empty() {
            base.clone()
        } else {
            let store = base
                .state
                .path
                .exists()
                .then(|| Store::open(&base.state.path).ok())
                .flatten();
            let texts = crate::caldav::at_hand(&base.calendars, store.as_ref());
            let agenda = crate::caldav::agenda_of(
                &base.calendars,
                &texts,
                base.schedule.tz,
                crate::agenda::window(clock::now()),
            );
            base.with_agenda(&agenda)
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
            base,
            templates,
            imap: (imap, imap_login),
            mailer,
        })
    }
}

impl Runtime {
    /// This runtime with a new reading of her calendars.
    pub fn with_agenda(&self, agenda: &crate::agenda::Agenda) -> Runtime {
        Runtime {
            config: self.base.with_agenda(agenda),
            ..self.clone()
        }
    }
}

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

    // Her calendars are read apart from deciding. A calendar on a server never read before is
    // waited for once (each fetch has its timeout), so the first replies know it.
    let (readings, mut read) = tokio::sync::mpsc::channel::<calendars::Reading>(1);
    let read_now = Arc::new(Notify::new());
    let mut refresher = calendars::Refresher::new(
        rx.clone(),
        readings,
        read_now.clone(),
        cancel.clone(),
        if opts.dry_run {
            None
        } else {
            Some(Store::open(&state)?)
        },
    );
    if (opts.once || refresher.has_unread())
        && let Some((sources, agenda)) = refresher.round(true).await
    {
        let current = rx.borrow().clone();
        if current.base.calendars == sources {
            let _ = tx.send(Arc::new(current.with_agenda(&agenda)));
        }
    }

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
    tracker.spawn(refresher.run());
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

    loop {
        tokio::select! {
            Some((sources, agenda)) = read.recv() => {
                let current = rx.borrow().clone();
                // A reading made before a reload changed the sources waits for the next one.
                if current.base.calendars == sources {
                    let _ = tx.send(Arc::new(current.with_agenda(&agenda)));
                }
            }
            _ = hup.recv() => {
                notify(&[sd_notify::NotifyState::Reloading]);
                match Runtime::load(&path) {
                    Ok(r) => {
                        // The watcher and the sender keep the store they opened at start.
                        let moved = (r.config.state.path != state).then(|| r.config.state.path.clone());
                        let _ = tx.send(Arc::new(r));
                        read_now.notify_one();
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
