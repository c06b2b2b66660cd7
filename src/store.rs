//! The state store (design §7): SQLite in WAL mode, one file.
//!
//! It holds per mailbox the UIDVALIDITY and the last UID seen; every decision; the outbox of
//! replies; and the per-sender ledger. The invariants live here, in transactions:
//!
//! - a message is marked decided, its reply queued, the ledger updated and the cursor advanced in
//!   one transaction ([`Store::record`]);
//! - a reply is claimed (`sending`) and committed before the SMTP transaction starts, so a process
//!   killed during it finds `sending` rows at the next start and marks them `uncertain`, never
//!   sending them again ([`Store::recover`]);
//! - a decided reply always ends as `sent`, `failed` (with the server's words), `uncertain`, or
//!   `expired` when it could not go out before what it promises was past.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use crate::pipeline::{Explained, Ledger};
use crate::policy::Trigger;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A decision's findings could not be written as JSON.
    #[error("state store: cannot write the findings: {0}")]
    Findings(serde_json::Error),
    /// The file's schema is newer than this program.
    #[error(
        "state store {path} has schema version {found}, newer than this plazo ({known}): upgrade plazo"
    )]
    TooNew {
        /// The file.
        path: String,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
}

/// Migrations, in order; the index + 1 is the schema version (`PRAGMA user_version`).
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE mailbox (
    name        TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL
) STRICT;

CREATE TABLE decision (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    message_id  TEXT,
    sender      TEXT,
    subject     TEXT NOT NULL,
    received    INTEGER NOT NULL,
    decided_at  INTEGER NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('reply', 'skip')),
    reason      TEXT NOT NULL,
    UNIQUE (mailbox, uidvalidity, uid)
) STRICT;

CREATE INDEX decision_message_id ON decision (message_id);

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    decision_id  INTEGER NOT NULL UNIQUE REFERENCES decision (id),
    reply_id     TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    message      BLOB NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    error        TEXT,
    sent_at      INTEGER,
    filed        INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX outbox_state ON outbox (state, next_attempt);

CREATE TABLE ledger (
    sender     TEXT NOT NULL,
    trigger    TEXT NOT NULL,
    replied_at INTEGER NOT NULL,
    outbox_id  INTEGER NOT NULL,
    PRIMARY KEY (sender, trigger)
) STRICT;
"#,
    r#"
CREATE TABLE oauth_grant (
    account          TEXT PRIMARY KEY,
    token_url        TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    refresh_token    TEXT,
    scope            TEXT NOT NULL,
    authorized_at    INTEGER NOT NULL,
    refreshed_at     INTEGER,
    access_expires   INTEGER,
    status           TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    problem          TEXT
) STRICT;
"#,
    // What understanding made of each decided mail's time expressions (JSON, see
    // `pipeline::Explained`): `history` shows the deadline's role and the unsure readings.
    r#"
ALTER TABLE decision ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
"#,
    // `plazo away`: one row, read by the running daemon at every decision.
    r#"
CREATE TABLE away (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    first   TEXT,                 -- YYYY-MM-DD of the period `plazo away --until` set, or NULL
    last    TEXT,
    message TEXT,
    off     TEXT,                 -- YYYY-MM-DD of `plazo away --off`: no period holds that day
    set_at  INTEGER NOT NULL
) STRICT;
"#,
    // The loop brake: every reply queued, by thread and recipient domain, so neither a changing
    // address nor a busy responder domain gets more than its share.
    r#"
CREATE TABLE reply_log (
    thread     TEXT NOT NULL,
    domain     TEXT NOT NULL,
    replied_at INTEGER NOT NULL,
    outbox_id  INTEGER NOT NULL
) STRICT;
CREATE INDEX reply_log_thread ON reply_log (thread, replied_at);
CREATE INDEX reply_log_domain ON reply_log (domain, replied_at);
"#,
    // Outbox expiry: a reply not sent by its own promise ("I will read it today at 9:00") is
    // never sent; it ends `expired`. The state's CHECK gains the value, so the table is rebuilt.
    r#"
CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY,
    decision_id  INTEGER NOT NULL UNIQUE REFERENCES decision (id),
    reply_id     TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    message      BLOB NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain', 'expired')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    error        TEXT,
    sent_at      INTEGER,
    filed        INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER
) STRICT;
INSERT INTO outbox_new (id, decision_id, reply_id, envelope_from, recipient, message, state,
                        attempts, next_attempt, error, sent_at, filed)
    SELECT id, decision_id, reply_id, envelope_from, recipient, message, state,
           attempts, next_attempt, error, sent_at, filed FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_state ON outbox (state, next_attempt);
"#,
    // `[[client]]` agreements: the one that decided, by name, for `history`.
    r#"
ALTER TABLE decision ADD COLUMN client TEXT;
"#,
    // The weekly digest: what each reply promised (for the digest's lines), and digests in the
    // outbox, which are no decision's reply (so `decision_id` may be NULL); `digest` holds one
    // row per due instant, so a digest is queued once whatever restarts come.
    r#"
ALTER TABLE decision ADD COLUMN promise INTEGER;
ALTER TABLE decision ADD COLUMN rush INTEGER;
CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY,
    decision_id  INTEGER UNIQUE REFERENCES decision (id),
    reply_id     TEXT NOT NULL,
    envelope_from TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    message      BLOB NOT NULL,
    state        TEXT NOT NULL
                 CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'uncertain', 'expired')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    error        TEXT,
    sent_at      INTEGER,
    filed        INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER
) STRICT;
INSERT INTO outbox_new SELECT id, decision_id, reply_id, envelope_from, recipient, message, state,
                              attempts, next_attempt, error, sent_at, filed, expires_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_state ON outbox (state, next_attempt);
CREATE TABLE digest (
    due        INTEGER PRIMARY KEY,
    since      INTEGER NOT NULL,
    queued_at  INTEGER NOT NULL,
    outbox_id  INTEGER NOT NULL REFERENCES outbox (id)
) STRICT;
"#,
    // The last good copy of each calendar on a server (a JSON list of iCalendar texts, one per
    // calendar object), so an unreachable calendar never stops replies.
    r#"
CREATE TABLE calendar_copy (
    source      TEXT PRIMARY KEY,
    texts       TEXT NOT NULL,
    fetched_at  INTEGER NOT NULL
) STRICT;
"#,
];

/// A calendar's last good copy: its iCalendar texts and when they were fetched.
pub type CalendarCopy = (Vec<String>, DateTime<Utc>);

/// What `plazo away` set: a period of local days (with her words, if any), or the day she said
/// she was back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AwaySetting {
    /// The first and last day away, and her message.
    pub period: Option<(NaiveDate, NaiveDate, Option<String>)>,
    /// The day `plazo away --off` ran: no away period holds it.
    pub off: Option<NaiveDate>,
}

/// An OAuth2 grant: the refresh token of one account, and what became of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    /// The account (login name) it is for.
    pub account: String,
    /// The token endpoint it was obtained from.
    pub token_url: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The refresh token; `None` once the provider refused it.
    pub refresh_token: Option<String>,
    /// The scopes granted.
    pub scope: String,
    /// When `plazo auth login` obtained it.
    pub authorized_at: DateTime<Utc>,
    /// The last successful refresh.
    pub refreshed_at: Option<DateTime<Utc>>,
    /// When the access token of that refresh expires.
    pub access_expires: Option<DateTime<Utc>>,
    /// False once the provider answered `invalid_grant`.
    pub active: bool,
    /// The provider's words when it refused the grant.
    pub problem: Option<String>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the refresh token itself.
        f.debug_struct("Grant")
            .field("account", &self.account)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("active", &self.active)
            .finish_non_exhaustive()
    }
}

/// A mailbox's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The mailbox's UIDVALIDITY when the cursor was taken.
    pub uidvalidity: u32,
    /// The last UID decided (or the baseline).
    pub last_uid: u32,
}

/// One decision to record.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The mailbox.
    pub mailbox: &'a str,
    /// Its UIDVALIDITY.
    pub uidvalidity: u32,
    /// The message's UID.
    pub uid: u32,
    /// The original Message-ID.
    pub message_id: Option<&'a str>,
    /// Who sent it (the reply address, else From).
    pub sender: Option<&'a str>,
    /// Its subject.
    pub subject: &'a str,
    /// When it arrived.
    pub received: DateTime<Utc>,
    /// `reply` or `skip`.
    pub action: &'a str,
    /// The skip tag or the triggers joined by `+`.
    pub reason: &'a str,
    /// The `[[client]]` agreement that applied, by name.
    pub client: Option<&'a str>,
    /// The earliest delivery a reply promised.
    pub promise: Option<DateTime<Utc>>,
    /// The rush delivery a reply offered.
    pub rush: Option<DateTime<Utc>>,
    /// Every time expression read in the mail, with its role.
    pub findings: &'a [Explained],
    /// The reply to queue, for replies.
    pub reply: Option<Queued<'a>>,
}

/// A reply to queue.
#[derive(Debug, Clone)]
pub struct Queued<'a> {
    /// The reply's Message-ID.
    pub reply_id: &'a str,
    /// The SMTP envelope sender.
    pub envelope_from: &'a str,
    /// The one recipient.
    pub recipient: &'a str,
    /// The exact bytes.
    pub message: &'a [u8],
    /// The triggers it answers (for the ledger).
    pub triggers: &'a [Trigger],
    /// The thread it answers (for the loop brake).
    pub thread: &'a str,
    /// When what it promises is past: it is never sent after that.
    pub expires: Option<DateTime<Utc>>,
}

/// A reply claimed for sending.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Outbox row id.
    pub id: i64,
    /// The SMTP envelope sender.
    pub envelope_from: String,
    /// The one recipient.
    pub recipient: String,
    /// The exact bytes.
    pub message: Vec<u8>,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// A sent reply still to be filed (Sent folder, keyword on the original).
#[derive(Debug, Clone)]
pub struct Unfiled {
    /// Outbox row id.
    pub id: i64,
    /// The reply's bytes.
    pub message: Vec<u8>,
    /// The original's mailbox.
    pub mailbox: String,
    /// The original's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The original's UID.
    pub uid: u32,
    /// The reply's Message-ID (without angle brackets).
    pub reply_id: String,
    /// Its APPEND to the Sent folder was started before (a kill may have come after it): look
    /// for it there before appending again.
    pub maybe_appended: bool,
}

/// One line of `plazo history`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryRow {
    /// When it was decided (RFC 3339).
    pub decided_at: String,
    /// When the mail arrived (RFC 3339).
    pub received: String,
    /// Who sent it.
    pub sender: Option<String>,
    /// Its subject.
    pub subject: String,
    /// `reply` or `skip`.
    pub action: String,
    /// The reason.
    pub reason: String,
    /// For replies: `queued`, `sending`, `sent`, `failed`, `uncertain` or `expired`.
    pub delivery: Option<String>,
    /// For failed replies: the server's words.
    pub error: Option<String>,
    /// The original Message-ID.
    pub message_id: Option<String>,
    /// The `[[client]]` agreement that applied, by name.
    pub client: Option<String>,
    /// Every time expression read in the mail, with its role, strength and why.
    pub findings: Vec<Explained>,
}

/// The state store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

/// The store holds refresh tokens: only its owner may read it. SQLite gives the WAL and
/// shared-memory files the database file's mode.
#[cfg(unix)]
fn keep_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.is_file()
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(not(unix))]
fn keep_private(_: &Path) {}

/// Creates an empty file at `path` readable by its owner only, unless something is there.
#[cfg(unix)]
fn create_private(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
}

#[cfg(not(unix))]
fn create_private(_: &Path) {}

fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn instant(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or_default()
}

impl Store {
    /// Opens (creating if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            let _ = std::fs::create_dir_all(dir);
        }
        // SQLite creates the -wal and -shm files with the database file's mode: so the database
        // is made private before SQLite opens it, and they never exist readable by others.
        create_private(path);
        keep_private(path);
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn };
        store.migrate(path)?;
        for suffix in ["-wal", "-shm"] {
            let mut journal = path.as_os_str().to_owned();
            journal.push(suffix);
            keep_private(Path::new(&journal));
        }
        Ok(store)
    }

    fn migrate(&mut self, path: &Path) -> Result<(), StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: path.display().to_string(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// What `plazo away` last set (nothing when it never ran).
    pub fn away(&self) -> Result<AwaySetting, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT first, last, message, off FROM away WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()?;
        let day =
            |s: Option<String>| s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
        Ok(match row {
            Some((first, last, message, off)) => AwaySetting {
                period: day(first).zip(day(last)).map(|(f, l)| (f, l, message)),
                off: day(off),
            },
            None => AwaySetting::default(),
        })
    }

    /// Replaces what `plazo away` set.
    pub fn set_away(&self, setting: &AwaySetting, now: DateTime<Utc>) -> Result<(), StoreError> {
        let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
        let (first, last, message) = match &setting.period {
            Some((f, l, m)) => (Some(day(*f)), Some(day(*l)), m.clone()),
            None => (None, None, None),
        };
        self.conn.execute(
            "INSERT OR REPLACE INTO away (id, first, last, message, off, set_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5)",
            params![first, last, message, setting.off.map(day), now.timestamp()],
        )?;
        Ok(())
    }

    /// The cursor of `mailbox`, if it was ever baselined.
    pub fn cursor(&self, mailbox: &str) -> Result<Option<Cursor>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM mailbox WHERE name = ?1",
                [mailbox],
                |r| {
                    Ok(Cursor {
                        uidvalidity: r.get(0)?,
                        last_uid: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Sets the cursor of `mailbox` (first start, or a new UIDVALIDITY).
    pub fn set_cursor(&self, mailbox: &str, cursor: Cursor) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO mailbox (name, uidvalidity, last_uid) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET uidvalidity = ?2, last_uid = ?3",
            params![mailbox, cursor.uidvalidity, cursor.last_uid],
        )?;
        Ok(())
    }

    /// When the latest message decided in `mailbox` arrived (under any UIDVALIDITY).
    pub fn last_received(&self, mailbox: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let secs: Option<i64> = self.conn.query_row(
            "SELECT max(received) FROM decision WHERE mailbox = ?1",
            [mailbox],
            |r| r.get(0),
        )?;
        Ok(secs.and_then(|s| DateTime::from_timestamp(s, 0)))
    }

    /// True when a message with this Message-ID was already decided (under any UIDVALIDITY).
    pub fn seen_message_id(&self, message_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM decision WHERE message_id = ?1 LIMIT 1",
                [message_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Records a decision, queues its reply, updates the ledger and advances the cursor, all in
    /// one transaction. Returns false when the message was already decided (nothing changes).
    pub fn record(&mut self, rec: &Record<'_>, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let findings = serde_json::to_string(rec.findings).map_err(StoreError::Findings)?;
        let tx = self.conn.transaction()?;
        let inserted = tx.execute(
            "INSERT INTO decision (mailbox, uidvalidity, uid, message_id, sender, subject,
                                   received, decided_at, action, reason, findings, client,
                                   promise, rush)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING",
            params![
                rec.mailbox,
                rec.uidvalidity,
                rec.uid,
                rec.message_id,
                rec.sender,
                rec.subject,
                secs(rec.received),
                secs(now),
                rec.action,
                rec.reason,
                findings,
                rec.client,
                rec.promise.map(secs),
                rec.rush.map(secs)
            ],
        )?;
        if inserted == 1
            && let Some(reply) = &rec.reply
        {
            let decision_id = tx.last_insert_rowid();
            queue(&tx, decision_id, reply, now)?;
        }
        tx.execute(
            "UPDATE mailbox SET last_uid = max(last_uid, ?2) WHERE name = ?1 AND uidvalidity = ?3",
            params![rec.mailbox, rec.uid, rec.uidvalidity],
        )?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    /// Marks replies left `sending` by a killed process as `uncertain`: they may have gone out,
    /// so they are never sent again. Returns how many.
    pub fn recover(&self) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'uncertain',
                    error = 'interrupted during the SMTP transaction: it may or may not have been delivered'
             WHERE state = 'sending'",
            [],
        )?)
    }

    /// Ends every queued reply whose promise is past by `now` as `expired` (and takes it out
    /// of the ledger, as a failed one): the recipients, for the log.
    pub fn expire(&mut self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let tx = self.conn.transaction()?;
        let expired: Vec<(i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, recipient FROM outbox
                 WHERE state = 'queued' AND expires_at IS NOT NULL AND expires_at <= ?1",
            )?;
            let rows = stmt.query_map([secs(now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        for (id, _) in &expired {
            tx.execute(
                "UPDATE outbox SET state = 'expired',
                        error = 'not sent by the time it promised' WHERE id = ?1",
                [id],
            )?;
            tx.execute("DELETE FROM ledger WHERE outbox_id = ?1", [id])?;
            tx.execute("DELETE FROM reply_log WHERE outbox_id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(expired.into_iter().map(|(_, to)| to).collect())
    }

    /// The next queued reply due at `now`, left queued: it is claimed with [`Store::claim`] only
    /// once the server waits for the message itself (after DATA), so a reply that never left (no
    /// connection, a refused login, a 4xx, a kill before the message) stays `queued`.
    /// `busy` holds the replies other senders have in hand (not claimed yet): they are passed over.
    pub fn next_queued(
        &self,
        now: DateTime<Utc>,
        busy: &HashSet<i64>,
    ) -> Result<Option<Outgoing>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM outbox WHERE state = 'queued' AND next_attempt <= ?1
             ORDER BY next_attempt, id LIMIT ?2",
        )?;
        let limit = i64::try_from(busy.len() + 1).unwrap_or(i64::MAX);
        let ids = stmt.query_map(params![secs(now), limit], |r| r.get::<_, i64>(0))?;
        let mut next = None;
        for id in ids {
            let id = id?;
            if !busy.contains(&id) {
                next = Some(id);
                break;
            }
        }
        let Some(id) = next else {
            return Ok(None);
        };
        Ok(self
            .conn
            .query_row(
                "SELECT id, envelope_from, recipient, message, attempts FROM outbox WHERE id = ?1",
                [id],
                |r| {
                    Ok(Outgoing {
                        id: r.get(0)?,
                        envelope_from: r.get(1)?,
                        recipient: r.get(2)?,
                        message: r.get(3)?,
                        attempts: r.get::<_, i64>(4)? + 1,
                    })
                },
            )
            .optional()?)
    }

    /// Marks a queued reply `sending`, committed before its message is written: from here on a
    /// kill leaves it `uncertain`, never sent again. False when it was not queued any more.
    pub fn claim(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1
             WHERE id = ?1 AND state = 'queued'",
            [id],
        )? == 1)
    }

    /// When the next queued reply is due, if any.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = self.conn.query_row(
            "SELECT min(next_attempt) FROM outbox WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )?;
        Ok(t.map(instant))
    }

    /// The reply went out.
    pub fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?2, error = NULL WHERE id = ?1",
            params![id, secs(now)],
        )?;
        Ok(())
    }

    /// A transient failure: back to the queue, due again after `wait`. The attempt counts
    /// whether or not the reply was claimed (a connection that failed counts too).
    pub fn mark_retry(
        &self,
        id: i64,
        now: DateTime<Utc>,
        wait: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + (state = 'queued'), state = 'queued',
                    next_attempt = ?2, error = ?3
             WHERE id = ?1 AND state IN ('queued', 'sending')",
            params![id, secs(now + wait), error],
        )?;
        Ok(())
    }

    /// The message was sent but no final answer came (a timeout, a dropped connection): it may
    /// have been delivered, so it is never sent again.
    pub fn mark_uncertain(&self, id: i64, why: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE outbox SET state = 'uncertain', error = ?2 WHERE id = ?1",
            params![id, why],
        )?;
        Ok(())
    }

    /// How many replies wait in the outbox.
    pub fn queued(&self) -> Result<usize, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE state = 'queued'",
            [],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// The OAuth2 grant of `account`, if `plazo auth login` ever stored one.
    pub fn grant(&self, account: &str) -> Result<Option<Grant>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT account, token_url, client_id, refresh_token, scope, authorized_at,
                        refreshed_at, access_expires, status, problem
                 FROM oauth_grant WHERE account = ?1",
                [account],
                |r| {
                    Ok(Grant {
                        account: r.get(0)?,
                        token_url: r.get(1)?,
                        client_id: r.get(2)?,
                        refresh_token: r.get(3)?,
                        scope: r.get(4)?,
                        authorized_at: instant(r.get(5)?),
                        refreshed_at: r.get::<_, Option<i64>>(6)?.map(instant),
                        access_expires: r.get::<_, Option<i64>>(7)?.map(instant),
                        active: r.get::<_, String>(8)? == "active",
                        problem: r.get(9)?,
                    })
                },
            )
            .optional()?)
    }

    /// Stores a new grant for `grant.account`, replacing any earlier one.
    pub fn save_grant(&self, grant: &Grant) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO oauth_grant
               (account, token_url, client_id, refresh_token, scope, authorized_at,
                refreshed_at, access_expires, status, problem)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                grant.account,
                grant.token_url,
                grant.client_id,
                grant.refresh_token,
                grant.scope,
                secs(grant.authorized_at),
                grant.refreshed_at.map(secs),
                grant.access_expires.map(secs),
                if grant.active { "active" } else { "revoked" },
                grant.problem,
            ],
        )?;
        Ok(())
    }

    /// Records a successful refresh made with refresh token `used`; `rotated` replaces it when
    /// the provider issued a new one. Returns false (and changes nothing) when the stored token
    /// is no longer `used` (a new `plazo auth login` happened meanwhile).
    pub fn refreshed(
        &self,
        account: &str,
        used: &str,
        rotated: Option<&str>,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE oauth_grant
             SET refresh_token = coalesce(?3, refresh_token), refreshed_at = ?4,
                 access_expires = ?5, status = 'active', problem = NULL
             WHERE account = ?1 AND refresh_token = ?2",
            params![account, used, rotated, secs(now), secs(expires)],
        )?;
        Ok(n == 1)
    }

    /// The provider refused refresh token `used` (`invalid_grant`): the grant is marked revoked
    /// and the token forgotten, unless a new login replaced it meanwhile (then false).
    pub fn revoke_grant(
        &self,
        account: &str,
        used: &str,
        problem: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE oauth_grant
             SET refresh_token = NULL, status = 'revoked', problem = ?3, access_expires = NULL
             WHERE account = ?1 AND refresh_token = ?2",
            params![account, used, problem],
        )?;
        Ok(n == 1)
    }

    /// A permanent failure, with the server's words. The ledger forgets the reply, so the
    /// sender's next mail is answered.
    pub fn mark_failed(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE outbox SET state = 'failed', error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
        tx.execute("DELETE FROM ledger WHERE outbox_id = ?1", [id])?;
        tx.execute("DELETE FROM reply_log WHERE outbox_id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    /// Replies not yet filed in the Sent folder / marked on the original: the sent ones and the
    /// uncertain ones (they may have gone out: the freelancer should see them).
    pub fn unfiled(&self, limit: usize) -> Result<Vec<Unfiled>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT o.id, o.message, d.mailbox, d.uidvalidity, d.uid, o.reply_id, o.filed
             FROM outbox o JOIN decision d ON d.id = o.decision_id
             WHERE o.state IN ('sent', 'uncertain') AND o.filed IN (0, 2) ORDER BY o.id
             LIMIT ?1",
        )?;
        let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok(Unfiled {
                id: r.get(0)?,
                message: r.get(1)?,
                mailbox: r.get(2)?,
                uidvalidity: r.get(3)?,
                uid: r.get(4)?,
                reply_id: r.get(5)?,
                maybe_appended: r.get::<_, i64>(6)? == 2,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The replies' APPENDs to the Sent folder are about to start (committed first, so after a
    /// kill among them each is known to maybe be filed).
    pub fn mark_appending(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        self.set_filed(ids, 2)
    }

    /// The replies were filed: one commit for the batch.
    pub fn mark_filed(&mut self, ids: &[i64]) -> Result<(), StoreError> {
        self.set_filed(ids, 1)
    }

    fn set_filed(&mut self, ids: &[i64], filed: i64) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare("UPDATE outbox SET filed = ?2 WHERE id = ?1")?;
            for id in ids {
                stmt.execute(params![id, filed])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The last good copy of the calendar stored under `source`, and when it was fetched.
    pub fn calendar_copy(&self, source: &str) -> Result<Option<CalendarCopy>, StoreError> {
        let row: Option<(String, i64)> = self
            .conn
            .query_row(
                "SELECT texts, fetched_at FROM calendar_copy WHERE source = ?1",
                [source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(texts, at)| {
            serde_json::from_str::<Vec<String>>(&texts)
                .ok()
                .map(|t| (t, instant(at)))
        }))
    }

    /// Keeps `texts` as the last good copy of the calendar `source`, fetched at `at`.
    pub fn keep_calendar_copy(
        &self,
        source: &str,
        texts: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(texts).unwrap_or_else(|_| "[]".into());
        self.conn.execute(
            "INSERT INTO calendar_copy (source, texts, fetched_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (source) DO UPDATE SET texts = excluded.texts, fetched_at = excluded.fetched_at",
            rusqlite::params![source, json, secs(at)],
        )?;
        Ok(())
    }

    /// The due instant of the last digest queued, if any.
    pub fn last_digest(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let t: Option<i64> = self
            .conn
            .query_row("SELECT max(due) FROM digest", [], |r| r.get(0))?;
        Ok(t.map(instant))
    }

    /// Queues the digest due at `due` (covering from `since`), unless one was queued for that
    /// instant already: one transaction, so it is queued once whatever restarts come. It is
    /// never filed in Sent (`filed = 1`), and never sent after `expires`. True when queued now.
    pub fn queue_digest(
        &mut self,
        due: DateTime<Utc>,
        since: DateTime<Utc>,
        mail: &Queued<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let known = tx
            .query_row("SELECT 1 FROM digest WHERE due = ?1", [secs(due)], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        if known {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO outbox (decision_id, reply_id, envelope_from, recipient, message, state,
                                 next_attempt, expires_at, filed)
             VALUES (NULL, ?1, ?2, ?3, ?4, 'queued', ?5, ?6, 1)",
            params![
                mail.reply_id,
                mail.envelope_from,
                mail.recipient,
                mail.message,
                secs(now),
                mail.expires.map(secs)
            ],
        )?;
        let outbox_id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO digest (due, since, queued_at, outbox_id) VALUES (?1, ?2, ?3, ?4)",
            params![secs(due), secs(since), secs(now), outbox_id],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Every mail decided from `since` (included) to `until` (excluded), oldest first, as the
    /// digest reports it.
    pub fn digest_entries(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::render::digest::Entry>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.decided_at, d.sender, d.subject, d.action, d.reason, d.client,
                    o.state, o.error, d.promise, d.rush
             FROM decision d LEFT JOIN outbox o ON o.decision_id = d.id
             WHERE d.decided_at >= ?1 AND d.decided_at < ?2
             ORDER BY d.decided_at, d.id",
        )?;
        let rows = stmt.query_map(params![secs(since), secs(until)], |r| {
            Ok(crate::render::digest::Entry {
                decided_at: instant(r.get(0)?),
                sender: r.get(1)?,
                subject: r.get(2)?,
                replied: r.get::<_, String>(3)? == "reply",
                reason: r.get(4)?,
                client: r.get(5)?,
                delivery: r.get(6)?,
                error: r.get(7)?,
                promise: r.get::<_, Option<i64>>(8)?.map(instant),
                rush: r.get::<_, Option<i64>>(9)?.map(instant),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The most recent decisions, newest first.
    pub fn history(&self, limit: usize) -> Result<Vec<HistoryRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.decided_at, d.received, d.sender, d.subject, d.action, d.reason,
                    o.state, o.error, d.message_id, d.findings, d.client
             FROM decision d LEFT JOIN outbox o ON o.decision_id = d.id
             ORDER BY d.id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            Ok(HistoryRow {
                decided_at: instant(r.get(0)?).to_rfc3339(),
                received: instant(r.get(1)?).to_rfc3339(),
                sender: r.get(2)?,
                subject: r.get(3)?,
                action: r.get(4)?,
                reason: r.get(5)?,
                delivery: r.get(6)?,
                error: r.get(7)?,
                message_id: r.get(8)?,
                client: r.get(10)?,
                findings: {
                    let text: String = r.get(9)?;
                    serde_json::from_str(&text).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            9,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn queue(
    tx: &Transaction<'_>,
    decision_id: i64,
    reply: &Queued<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO outbox (decision_id, reply_id, envelope_from, recipient, message, state,
                             next_attempt, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7)",
        params![
            decision_id,
            reply.reply_id,
            reply.envelope_from,
            reply.recipient,
            reply.message,
            secs(now),
            reply.expires.map(secs)
        ],
    )?;
    let outbox_id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO reply_log (thread, domain, replied_at, outbox_id) VALUES (?1, ?2, ?3, ?4)",
        params![
            reply.thread,
            crate::pipeline::domain_of(reply.recipient),
            secs(now),
            outbox_id
        ],
    )?;
    for t in reply.triggers {
        tx.execute(
            "INSERT INTO ledger (sender, trigger, replied_at, outbox_id) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sender, trigger) DO UPDATE SET replied_at = ?3, outbox_id = ?4",
            params![
                reply.recipient.to_lowercase(),
                t.tag(),
                secs(now),
                outbox_id
            ],
        )?;
    }
    Ok(())
}

impl Ledger for Store {
    fn last_reply(&self, sender: &str, trigger: Trigger) -> Option<DateTime<Utc>> {
        let found: Result<Option<i64>, _> = self
            .conn
            .query_row(
                "SELECT replied_at FROM ledger WHERE sender = ?1 AND trigger = ?2",
                params![sender.to_lowercase(), trigger.tag()],
                |r| r.get(0),
            )
            .optional();
        match found {
            Ok(t) => t.map(instant),
            Err(err) => {
                // Failing closed: an unreadable ledger counts as "answered just now", so a
                // database hiccup can never cause a second reply.
                tracing::error!("cannot read the ledger: {err}");
                Some(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    fn last_thread_reply(&self, thread: &str) -> Option<DateTime<Utc>> {
        let found: Result<Option<i64>, _> = self.conn.query_row(
            "SELECT max(replied_at) FROM reply_log WHERE thread = ?1",
            [thread],
            |r| r.get(0),
        );
        match found {
            Ok(t) => t.map(instant),
            Err(err) => {
                // Failing closed, as above.
                tracing::error!("cannot read the reply log: {err}");
                Some(DateTime::<Utc>::MAX_UTC)
            }
        }
    }

    fn domain_replies_since(&self, domain: &str, since: DateTime<Utc>) -> usize {
        let found: Result<i64, _> = self.conn.query_row(
            "SELECT count(*) FROM reply_log WHERE domain = ?1 AND replied_at >= ?2",
            params![domain, secs(since)],
            |r| r.get(0),
        );
        match found {
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Err(err) => {
                tracing::error!("cannot read the reply log: {err}");
                usize::MAX
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[cfg(unix)]
    #[test]
    fn the_database_and_its_journal_files_are_never_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.sqlite3");
        let store = Store::open(&path).expect("open");
        store
            .set_cursor(
                "INBOX",
                Cursor {
                    uidvalidity: 1,
                    last_uid: 1,
                },
            )
            .expect("write");
        for name in ["state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("date").to_utc()
    }

    fn rec<'a>(uid: u32, reply: Option<Queued<'a>>) -> Record<'a> {
        Record {
            mailbox: "INBOX",
            uidvalidity: 7,
            uid,
            message_id: Some("m@x"),
            sender: Some("laura@x.example"),
            subject: "Hola",
            received: t("2026-11-20T21:30:00+01:00"),
            action: if reply.is_some() { "reply" } else { "skip" },
            reason: "outside-hours",
            client: Some("Tienda Sol"),
            promise: reply.as_ref().map(|_| t("2026-11-24T13:00:00+01:00")),
            rush: None,
            findings: &[],
            reply,
        }
    }

    #[test]
    fn a_calendar_copy_is_kept_replaced_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let at = |h: u32| Utc.with_ymd_and_hms(2026, 12, 7, h, 0, 0).unwrap();
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.calendar_copy("caldav:a:https://x/").unwrap(), None);
            store
                .keep_calendar_copy("caldav:a:https://x/", &["one".into(), "two".into()], at(9))
                .unwrap();
            store
                .keep_calendar_copy("caldav:a:https://x/", &["three".into()], at(10))
                .unwrap();
            store
                .keep_calendar_copy("url::https://y/", &[], at(11))
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.calendar_copy("caldav:a:https://x/").unwrap(),
            Some((vec!["three".to_string()], at(10)))
        );
        assert_eq!(
            store.calendar_copy("url::https://y/").unwrap(),
            Some((Vec::new(), at(11))),
            "an empty calendar is a good copy too"
        );
    }

    #[test]
    fn a_digest_is_queued_once_per_due_instant_sent_like_a_reply_and_never_filed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.sqlite3")).unwrap();
        store
            .set_cursor(
                "INBOX",
                Cursor {
                    uidvalidity: 7,
                    last_uid: 0,
                },
            )
            .unwrap();
        let now = t("2026-11-23T09:00:00+01:00");
        store
            .record(&rec(1, None), t("2026-11-20T21:31:00+01:00"))
            .unwrap();
        let entries = store
            .digest_entries(now - chrono::Duration::days(7), now)
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].client.as_deref(), Some("Tienda Sol"));
        assert!(!entries[0].replied);
        let mail = Queued {
            reply_id: "plazo-digest-1@x",
            envelope_from: "ana@x",
            recipient: "ana@x",
            message: b"digest",
            triggers: &[],
            thread: "",
            expires: Some(now + chrono::Duration::days(1)),
        };
        assert_eq!(store.last_digest().unwrap(), None);
        assert!(
            store
                .queue_digest(now, now - chrono::Duration::days(7), &mail, now)
                .unwrap()
        );
        assert!(
            !store.queue_digest(now, now, &mail, now).unwrap(),
            "never twice"
        );
        assert_eq!(store.last_digest().unwrap(), Some(now));
        let out = store
            .next_queued(now, &HashSet::new())
            .unwrap()
            .expect("queued");
        assert_eq!(out.recipient, "ana@x");
        assert!(store.claim(out.id).unwrap());
        store.mark_sent(out.id, now).unwrap();
        assert!(
            store.unfiled(10).unwrap().is_empty(),
            "a digest is not filed in Sent"
        );
        assert!(
            store
                .history(10)
                .unwrap()
                .iter()
                .all(|h| h.delivery.is_none())
        );
    }

    #[test]
    fn lifecycle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("s.sqlite3")).expect("open");
        let now = t("2026-11-20T21:30:05+01:00");
        s.set_cursor(
            "INBOX",
            Cursor {
                uidvalidity: 7,
                last_uid: 10,
            },
        )
        .expect("cursor");
        let q = Queued {
            reply_id: "r@x",
            envelope_from: "ana@x",
            recipient: "Laura@X.example",
            message: b"bytes",
            triggers: &[Trigger::OutsideHours],
            thread: "id:m1@x.example",
            expires: None,
        };
        assert!(s.record(&rec(11, Some(q.clone())), now).expect("record"));
        assert!(
            !s.record(&rec(11, Some(q)), now).expect("again"),
            "decided once"
        );
        assert_eq!(s.cursor("INBOX").expect("c").map(|c| c.last_uid), Some(11));
        assert_eq!(
            s.last_reply("laura@x.example", Trigger::OutsideHours),
            Some(now)
        );
        let o = s
            .next_queued(now, &HashSet::new())
            .expect("next")
            .expect("one");
        assert_eq!(o.attempts, 1);
        assert!(s.claim(o.id).expect("claim"));
        assert!(
            s.next_queued(now, &HashSet::new()).expect("next").is_none(),
            "claimed rows are not handed out twice"
        );
        assert!(!s.claim(o.id).expect("claim"), "nor claimed twice");
        // A kill here: the next start marks it uncertain, and it is never claimed again.
        assert_eq!(s.recover().expect("recover"), 1);
        assert!(
            s.next_queued(now + Duration::days(1), &HashSet::new())
                .expect("next")
                .is_none()
        );
        assert_eq!(
            s.history(10).expect("h")[0].delivery.as_deref(),
            Some("uncertain")
        );
    }

    #[test]
    fn a_reply_another_sender_has_in_hand_is_passed_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("s.sqlite3")).expect("open");
        let now = t("2026-11-20T21:30:05+01:00");
        let q2 = Queued {
            reply_id: "r2@x",
            envelope_from: "ana@x",
            recipient: "pedro@y.example",
            message: b"bytes",
            triggers: &[Trigger::OutsideHours],
            thread: "id:m2@y.example",
            expires: None,
        };
        s.record(&rec(2, Some(q2.clone())), now).expect("record");
        let q3 = Queued {
            reply_id: "r3@x",
            recipient: "marta@z.example",
            thread: "id:m3@z.example",
            ..q2
        };
        s.record(&rec(3, Some(q3)), now).expect("record");
        let first = s
            .next_queued(now, &HashSet::new())
            .expect("next")
            .expect("one");
        let busy = HashSet::from([first.id]);
        let second = s.next_queued(now, &busy).expect("next").expect("another");
        assert_ne!(first.id, second.id);
        assert!(
            s.next_queued(now, &HashSet::from([first.id, second.id]))
                .expect("next")
                .is_none()
        );
    }

    #[test]
    fn failure_frees_the_ledger_and_retry_waits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("s.sqlite3")).expect("open");
        let now = t("2026-11-20T21:30:05+01:00");
        let q = Queued {
            reply_id: "r@x",
            envelope_from: "ana@x",
            recipient: "laura@x.example",
            message: b"bytes",
            triggers: &[Trigger::OutsideHours],
            thread: "id:m1@x.example",
            expires: None,
        };
        s.record(&rec(1, Some(q)), now).expect("record");
        // A connection that failed before the reply was claimed: it counts as an attempt.
        let o = s
            .next_queued(now, &HashSet::new())
            .expect("next")
            .expect("one");
        s.mark_retry(o.id, now, Duration::seconds(30), "connection refused")
            .expect("retry");
        assert!(s.next_queued(now, &HashSet::new()).expect("next").is_none());
        let o = s
            .next_queued(now + Duration::seconds(30), &HashSet::new())
            .expect("next")
            .expect("due");
        assert_eq!(o.attempts, 2);
        // A 4xx to MAIL FROM after the claim: back to the queue, the attempt counted once.
        assert!(s.claim(o.id).expect("claim"));
        s.mark_retry(o.id, now, Duration::seconds(30), "451 later")
            .expect("retry");
        let o = s
            .next_queued(now + Duration::seconds(30), &HashSet::new())
            .expect("next")
            .expect("due");
        assert_eq!(o.attempts, 3);
        assert!(s.claim(o.id).expect("claim"));
        assert!(s.last_thread_reply("id:m1@x.example").is_some());
        assert_eq!(s.domain_replies_since("x.example", DateTime::UNIX_EPOCH), 1);
        s.mark_failed(o.id, "550 no such user").expect("fail");
        assert_eq!(s.last_reply("laura@x.example", Trigger::OutsideHours), None);
        assert_eq!(s.last_thread_reply("id:m1@x.example"), None);
        assert_eq!(s.domain_replies_since("x.example", DateTime::UNIX_EPOCH), 0);
        let h = s.history(1).expect("history");
        assert_eq!(h[0].error.as_deref(), Some("550 no such user"));
    }

    #[test]
    fn reopen_keeps_state_and_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.sqlite3");
        {
            let s = Store::open(&path).expect("open");
            s.set_cursor(
                "INBOX",
                Cursor {
                    uidvalidity: 3,
                    last_uid: 5,
                },
            )
            .expect("cursor");
        }
        let s = Store::open(&path).expect("reopen");
        assert_eq!(
            s.cursor("INBOX").expect("c"),
            Some(Cursor {
                uidvalidity: 3,
                last_uid: 5
            })
        );
    }

    #[test]
    fn history_keeps_what_understanding_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Store::open(&dir.path().join("s.sqlite3")).expect("open");
        let unsure = Explained {
            phrase: "a las 18:00".into(),
            source: "message".into(),
            reading: Some("18:00".into()),
            role: "schedule".into(),
            strength: "unsure".into(),
            counts: false,
            at: Some("2026-11-20T18:00:00+01:00".into()),
            why: "a time in a list of opening hours".into(),
            lang: "es".into(),
        };
        let findings = [unsure];
        let record = Record {
            findings: &findings,
            ..rec(3, None)
        };
        s.record(&record, t("2026-11-20T21:30:05+01:00"))
            .expect("record");
        s.record(&rec(4, None), t("2026-11-20T21:31:05+01:00"))
            .expect("record");
        let h = s.history(10).expect("history");
        assert_eq!(h.len(), 2);
        assert!(h[0].findings.is_empty(), "newest first, nothing read");
        assert_eq!(h[1].findings, findings);
        assert_eq!(
            h[1].client.as_deref(),
            Some("Tienda Sol"),
            "the agreement is kept"
        );
    }

    #[test]
    fn away_is_kept_and_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("s.sqlite3")).expect("open");
        assert_eq!(s.away().expect("away"), AwaySetting::default());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let away = AwaySetting {
            period: Some((d("2026-12-07"), d("2027-01-06"), Some("De viaje".into()))),
            off: None,
        };
        s.set_away(&away, DateTime::UNIX_EPOCH).expect("set");
        assert_eq!(s.away().expect("away"), away);
        let back = AwaySetting {
            period: None,
            off: Some(d("2026-12-09")),
        };
        s.set_away(&back, DateTime::UNIX_EPOCH).expect("set");
        assert_eq!(s.away().expect("away"), back);
    }

    #[test]
    fn an_older_store_gains_the_findings_column() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.sqlite3");
        {
            // A store as the previous release left it: two migrations, one decision.
            let conn = Connection::open(&path).expect("open");
            for m in &MIGRATIONS[..2] {
                conn.execute_batch(m).expect("migration");
            }
            conn.pragma_update(None, "user_version", 2)
                .expect("version");
            conn.execute(
                "INSERT INTO decision (mailbox, uidvalidity, uid, subject, received, decided_at,
                                       action, reason)
                 VALUES ('INBOX', 1, 1, 'Hola', 0, 0, 'skip', 'no-trigger'),
                        ('INBOX', 1, 2, 'Web', 0, 0, 'reply', 'outside-hours')",
                [],
            )
            .expect("insert");
            conn.execute(
                "INSERT INTO outbox (decision_id, reply_id, envelope_from, recipient, message,
                                     state, next_attempt)
                 VALUES (2, 'r@x', 'ana@x', 'laura@x', x'00', 'sent', 0)",
                [],
            )
            .expect("outbox");
        }
        let mut s = Store::open(&path).expect("migrate");
        let h = s.history(10).expect("history");
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].reason, "no-trigger");
        assert!(h[1].findings.is_empty());
        // The outbox, rebuilt for `expired`, keeps its rows.
        assert_eq!(h[0].delivery.as_deref(), Some("sent"));
        assert!(s.expire(DateTime::UNIX_EPOCH).expect("expire").is_empty());
        let version: i64 = s
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, MIGRATIONS.len() as i64);
    }
}
