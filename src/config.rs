//! The configuration file (design §3): one TOML file, read in two passes.
//!
//! The first pass is serde into plain `Raw*` structs, with every key it does not know collected
//! (not fatal at once). The second pass checks each value (zones, ranges, durations, holidays,
//! addresses) and turns it into the typed [`Config`] the pipeline uses. Every problem found in
//! either pass is kept with its key path and line, so `plazo check` can list them all at once.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::calendar::{Counts, Holiday, Range, Schedule};
use crate::lang::Lang;
use crate::words::Trigger;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key path, such as `schedule.monday[1]`.
    pub key: String,
    /// The 1-based line of the key or value, when known.
    pub line: Option<usize>,
    /// What is wrong, in lowercase words.
    pub message: String,
}

impl Problem {
    /// The problem as `FILE:LINE: key: message`, the form editors and grep understand.
    pub fn located(&self, file: &Path) -> String {
        match self.line {
            Some(line) => format!("{}:{line}: {}: {}", file.display(), self.key, self.message),
            None => format!("{}: {}: {}", file.display(), self.key, self.message),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.key, self.message),
            None => write!(f, "{}: {}", self.key, self.message),
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file was read but holds problems.
    #[error("{} has {} problem{}:\n{}", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" }, list(path, problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn list(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {}", p.located(path)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Exit code for an unreadable or invalid configuration (EX_CONFIG, sysexits.h).
pub const EXIT_CONFIG: u8 = 78;

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// Who the freelancer is.
    pub identity: Identity,
    /// When she works.
    pub schedule: Schedule,
    /// How much notice she needs.
    pub notice: Notice,
    /// When and how to reply.
    pub reply: Reply,
    /// The mailbox to watch.
    pub imap: Option<Server>,
    /// The server replies go out through.
    pub smtp: Option<Server>,
    /// The OAuth2 client, for servers with `auth = "oauth2"`.
    pub oauth2: Option<OAuth2>,
    /// Where state is kept.
    pub state: State,
    /// `[[away]]`: periods she is away, in order of the file.
    pub away: Vec<AwayPeriod>,
    /// `[[client]]`: agreements with particular clients, in order of the file (the first whose
    /// `match` fits the sender applies).
    pub clients: Vec<Client>,
    /// `[digest]`: the weekly summary to the freelancer herself.
    pub digest: DigestSettings,
    /// `[[calendar]]`: her calendars, whose events take time out of the week.
    pub calendars: Vec<CalendarSource>,
}

/// `[digest]`: when the weekly summary of what plazo did goes to the freelancer, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSettings {
    /// Whether it is sent at all (default: when `reply.save_to_sent` is on).
    pub enabled: bool,
    /// The weekday it is sent on.
    pub day: Weekday,
    /// The local time it is sent at; `None`: the start of that weekday's first working range
    /// (09:00 when the day has none).
    pub at: Option<NaiveTime>,
    /// Who gets it (default: `identity.address`).
    pub to: String,
    /// The language it is written in (default: `reply.default_language`).
    pub language: Lang,
}

/// One `[[client]]` agreement: what differs for the senders it matches. What it does not set is
/// taken from the global sections.
#[derive(Debug, Clone)]
pub struct Client {
    /// Its name, shown in `plazo preview` and `plazo history`.
    pub name: String,
    /// Address patterns, as in `reply.clients`.
    pub patterns: Vec<String>,
    /// The notice this client's requests need (the global one where not set).
    pub notice: Notice,
    /// The language replies are written in, whatever the client writes in.
    pub language: Option<Lang>,
    /// Where the client is: their local times in replies, and the zone their words are read in
    /// when their Date header's offset agrees.
    pub timezone: Option<Tz>,
    /// Whether the emergency line is offered (`None`: as `identity.emergency_audience` says).
    pub emergency: Option<bool>,
    /// Spanish replies address the client as usted instead of tú.
    pub usted: bool,
    /// Never answered automatically (skip `never-client`).
    pub never: bool,
    /// A template folder of this client's own: its files win over `reply.templates`, which wins
    /// over the built-in set, file by file.
    pub templates: Option<PathBuf>,
}

impl Config {
    /// The agreement of `sender` (lowercased), if a `[[client]]` matches it.
    pub fn client_for(&self, sender: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|c| c.patterns.iter().any(|p| matches_pattern(p, sender)))
    }

    /// The notice that applies to `client`'s requests: its own, else the global one.
    pub fn notice_for<'a>(&'a self, client: Option<&'a Client>) -> &'a Notice {
        client.map_or(&self.notice, |c| &c.notice)
    }

    /// True when `sender` is one of her clients: in `reply.clients` or a `[[client]]`.
    pub fn is_client(&self, sender: &str) -> bool {
        self.reply
            .clients
            .iter()
            .any(|p| matches_pattern(p, sender))
            || self.client_for(sender).is_some()
    }
}

/// A text written once for every language, or one per language (`{ es = "…", en = "…" }`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    /// The text for every language without its own.
    pub all: Option<String>,
    /// Per language.
    pub by_lang: Vec<(Lang, String)>,
}

impl Texts {
    /// One text for every language.
    pub fn one(text: &str) -> Texts {
        Texts {
            all: Some(text.to_string()),
            by_lang: Vec::new(),
        }
    }

    /// The text for `lang`: its own, else the common one.
    pub fn get(&self, lang: Lang) -> Option<&str> {
        self.by_lang
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, t)| t.as_str())
            .or(self.all.as_deref())
    }

    /// True when no language has a text.
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.by_lang.is_empty()
    }
}

/// Who gets the emergency line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmergencyAudience {
    /// Only senders matching `reply.clients`.
    Clients,
    /// Every sender that gets a reply.
    Anyone,
}

/// One `[[away]]` period: whole local days on which she is away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwayPeriod {
    /// The days, first and last included.
    pub days: Holiday,
    /// Her own words for the reply, replacing the built-in away sentence.
    pub message: Texts,
    /// Whether mail that arrives in the period is answered at all.
    pub answer: bool,
}

impl Config {
    /// Adds an away period (from the file or from `plazo away`): its days close the calendar.
    pub fn add_away(&mut self, period: AwayPeriod) {
        self.schedule.away.push(period.days);
        self.away.push(period);
    }

    /// This config with what her calendars say: their busy times out of working time, their
    /// away days as away periods (with the built-in away text), their holidays closed.
    pub fn with_agenda(&self, agenda: &crate::agenda::Agenda) -> Config {
        let mut config = self.clone();
        config.schedule.busy.clone_from(&agenda.busy);
        for d in &agenda.days {
            match d.kind {
                "holiday" => config.schedule.holidays.push(d.days),
                _ => config.add_away(AwayPeriod {
                    days: d.days,
                    message: Texts::default(),
                    answer: true,
                }),
            }
        }
        config
    }

    /// This config with what `plazo away` set: its period added, and every period that holds
    /// the day of `--off` ended the day before.
    pub fn with_away(
        &self,
        period: Option<(NaiveDate, NaiveDate, Option<&str>)>,
        off: Option<NaiveDate>,
    ) -> Config {
        let mut config = self.clone();
        let periods = std::mem::take(&mut config.away);
        config.schedule.away.clear();
        let added = period.map(|(first, last, message)| AwayPeriod {
            days: Holiday { first, last },
            message: message.map(Texts::one).unwrap_or_default(),
            answer: true,
        });
        for mut p in periods.into_iter().chain(added) {
            if let Some(off) = off
                && p.days.first <= off
                && off <= p.days.last
            {
                match off.pred_opt() {
                    Some(before) if before >= p.days.first => p.days.last = before,
                    _ => continue,
                }
            }
            config.add_away(p);
        }
        config
    }

    /// The away period that holds local day `day`, if any (the first one in the file wins).
    pub fn away_on(&self, day: NaiveDate) -> Option<&AwayPeriod> {
        self.away
            .iter()
            .find(|p| p.days.first <= day && day <= p.days.last)
    }
}

/// `[identity]`.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Display name of the From of every reply.
    pub name: String,
    /// The freelancer's address, lowercased.
    pub address: String,
    /// More addresses that count as hers, lowercased.
    pub aliases: Vec<String>,
    /// How to reach her in a real emergency, per language, if she says.
    pub emergency: Texts,
    /// Who gets the emergency line.
    pub emergency_audience: EmergencyAudience,
}

impl Identity {
    /// True when `address` (any case) is one of hers.
    pub fn is_mine(&self, address: &str) -> bool {
        let address = address.trim().to_lowercase();
        self.address == address || self.aliases.contains(&address)
    }
}

/// `[notice]`.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The notice a normal request needs.
    pub minimum: Duration,
    /// How the notice is counted.
    pub counts: Counts,
    /// The notice with a rush fee, if offered.
    pub rush_minimum: Option<Duration>,
    /// The rush fee as free text, per language.
    pub rush_fee: Texts,
}

/// Who may receive replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Any sender that passes the gate.
    Anyone,
    /// Only senders matching `reply.clients`.
    Clients,
}

/// `[reply]`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The triggers that may cause a reply.
    pub triggers: Vec<Trigger>,
    /// Who may receive replies.
    pub audience: Audience,
    /// Client patterns: `@domain` or an address, `*` as wildcard.
    pub clients: Vec<String>,
    /// Senders never answered, same patterns.
    pub never: Vec<String>,
    /// One reply per sender and trigger within this period.
    pub once_per_sender: Duration,
    /// Never answer mail that arrived longer ago than this.
    pub max_age: Duration,
    /// The language of replies when the client's cannot be told.
    pub default_language: Lang,
    /// The template folder, resolved against the config file; `None` = built-in templates.
    pub templates: Option<PathBuf>,
    /// Whether sent replies are stored in the Sent folder.
    pub save_to_sent: bool,
    /// At most this many replies an hour to one sender domain (0: no cap).
    pub per_domain_hourly: u32,
    /// What the subject of a reply starts with, per language; `None` = the built-in
    /// "Respuesta automática:" / "Automatic reply:".
    pub subject_prefix: Option<Texts>,
}

/// Transport security of a server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS from the first byte.
    Tls,
    /// Plain connection upgraded with STARTTLS.
    Starttls,
    /// No TLS at all (only towards a loopback address).
    Plain,
}

/// One `[[calendar]]`: where its events come from, what they mean, how often it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSource {
    /// A file, an ICS link or a CalDAV collection.
    pub origin: Origin,
    /// What its events mean (holidays, away words).
    pub meaning: crate::agenda::Meaning,
    /// How often the daemon reads it again.
    pub refresh: std::time::Duration,
    /// The longest a fetch of a link or collection may take.
    pub timeout: std::time::Duration,
}

/// Where a calendar's text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A local `.ics` file.
    File(PathBuf),
    /// An ICS link or a CalDAV collection.
    Remote(Remote),
}

/// A calendar on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The link (`url`) or the collection (`caldav`).
    pub url: url::Url,
    /// A CalDAV collection (a calendar-query REPORT), not a plain ICS link (GET).
    pub caldav: bool,
    /// HTTP basic login: the username and where its password comes from.
    pub login: Option<(String, PasswordSource)>,
}

impl Origin {
    /// How logs and `plazo check` name it: the file, or the server and the collection. An ICS
    /// link's path is its secret (whoever has it reads the calendar), so only its host is named.
    pub fn describe(&self) -> String {
        match self {
            Origin::File(path) => path.display().to_string(),
            Origin::Remote(r) if r.caldav => {
                let mut url = r.url.clone();
                let _ = url.set_password(None);
                let _ = url.set_username("");
                url.to_string()
            }
            Origin::Remote(r) => format!(
                "{}://{}/… (ICS link)",
                r.url.scheme(),
                r.url.host_str().unwrap_or("")
            ),
        }
    }

    /// The key its last good copy is kept under in the state store.
    pub fn key(&self) -> String {
        match self {
            Origin::File(path) => format!("file:{}", path.display()),
            Origin::Remote(r) => {
                let user = r.login.as_ref().map_or("", |(u, _)| u.as_str());
                let kind = if r.caldav { "caldav" } else { "url" };
                format!("{kind}:{user}:{}", r.url)
            }
        }
    }
}

/// Where a password comes from. Never the password itself: it is read when needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// A file holding it (trailing newline dropped).
    File(PathBuf),
    /// A command printing it.
    Command(String),
    /// An environment variable.
    Env(String),
}

impl PasswordSource {
    /// Reads the password. The error names where it looked, never the password.
    pub fn read(&self) -> Result<String, String> {
        let password = match self {
            PasswordSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read password_file {}: {e}", path.display()))?;
                warn_if_world_readable(path);
                text
            }
            PasswordSource::Command(command) => {
                let out = std::process::Command::new("sh")
                    .arg("-c")
                    .arg(command)
                    .stdin(std::process::Stdio::null())
                    .stderr(std::process::Stdio::inherit())
                    .output()
                    .map_err(|e| format!("cannot run password_command: {e}"))?;
                if !out.status.success() {
                    return Err(format!("password_command failed ({})", out.status));
                }
                String::from_utf8(out.stdout)
                    .map_err(|_| "password_command printed something that is not UTF-8".to_string())?
            }
            PasswordSource::Env(var) => std::env::var(var).map_err(|_| {
                format!("no password: set password_file or password_command, or the environment variable {var}")
            })?,
        };
        let password = password.trim_end_matches(['\r', '\n']).to_string();
        if password.is_empty() {
            return Err(format!("the password from {} is empty", self.describe()));
        }
        Ok(password)
    }

    /// Where the password comes from, for messages.
    pub fn describe(&self) -> String {
        match self {
            PasswordSource::File(p) => format!("password_file {}", p.display()),
            PasswordSource::Command(_) => "password_command".to_string(),
            PasswordSource::Env(v) => format!("${v}"),
        }
    }
}

#[cfg(unix)]
fn warn_if_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o004 != 0
    {
        tracing::warn!(
            "password_file {} is readable by everyone: chmod 600 it",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_: &Path) {}

/// How plazo logs in to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A password (SASL PLAIN/LOGIN, IMAP LOGIN).
    Password,
    /// An OAuth2 access token (SASL XOAUTH2 / OAUTHBEARER), from the `[oauth2]` grant.
    OAuth2,
}

/// `[imap]` or `[smtp]`.
#[derive(Debug, Clone)]
pub struct Server {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Transport security.
    pub security: Security,
    /// Login name.
    pub username: String,
    /// Password or OAuth2.
    pub auth: AuthMethod,
    /// Where the password comes from (unused with OAuth2).
    pub password: PasswordSource,
    /// The mailbox to watch (IMAP only).
    pub mailbox: String,
    /// Polling interval when the server has no IDLE (IMAP only).
    pub poll_interval: Duration,
    /// How long IDLE may stay silent before the connection is checked (IMAP only).
    pub idle_check: Duration,
    /// Instead of IDLE, a NOOP this often (IMAP only, opt-in): new mail is seen at once
    /// instead of at the server's IDLE notification (Dovecot: about 0.5 s).
    pub fast_poll: Option<Duration>,
    /// The folder replies are saved to; `None` = the SPECIAL-USE `\Sent` mailbox (IMAP only).
    pub sent_folder: Option<String>,
    /// How long each step may take: connecting, the greeting, each command's answer, the final
    /// answer after the message (SMTP only).
    pub timeout: Duration,
    /// How many replies may be in flight at once, each on its own connection (SMTP only).
    pub connections: usize,
    /// An extra trust anchor (PEM), for self-signed servers.
    pub ca_file: Option<PathBuf>,
}

/// `[oauth2]`: the OAuth2 client plazo signs in with, and the provider's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// `google`, `microsoft` or `custom`.
    pub provider: String,
    /// The client (application) id registered with the provider.
    pub client_id: String,
    /// Where the client secret comes from; `None` for a public client (PKCE only), unless
    /// `$PLAZO_OAUTH2_CLIENT_SECRET` is set.
    pub client_secret: Option<PasswordSource>,
    /// The authorization endpoint (browser sign-in).
    pub authorization_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The device authorization endpoint (RFC 8628), when the provider has one.
    pub device_url: Option<String>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The loopback port `plazo auth login` listens on; 0 = any free port.
    pub redirect_port: u16,
}

/// The environment variable read for the OAuth2 client secret when no file or command is set.
pub const CLIENT_SECRET_ENV: &str = "PLAZO_OAUTH2_CLIENT_SECRET";

impl OAuth2 {
    /// Reads the client secret: `None` for a public client. The error names where it looked.
    pub fn client_secret(&self) -> Result<Option<String>, String> {
        match &self.client_secret {
            Some(source) => source.read().map(Some),
            None => Ok(std::env::var(CLIENT_SECRET_ENV)
                .ok()
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .filter(|s| !s.is_empty())),
        }
    }
}

/// `[state]`.
#[derive(Debug, Clone)]
pub struct State {
    /// The SQLite file.
    pub path: PathBuf,
}

// ---------------------------------------------------------------------------------------------
// First pass: the file's shape.

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    identity: RawIdentity,
    schedule: RawSchedule,
    notice: RawNotice,
    reply: RawReply,
    imap: Option<RawServer>,
    smtp: Option<RawServer>,
    oauth2: Option<RawOAuth2>,
    state: RawState,
    away: Vec<RawAway>,
    client: Vec<RawClient>,
    digest: RawDigest,
    calendar: Vec<RawCalendar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawCalendar {
    file: String,
    url: String,
    caldav: String,
    username: String,
    password_file: String,
    password_command: String,
    holidays: bool,
    away: Option<Vec<String>>,
    refresh: String,
    timeout: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawDigest {
    enabled: Option<bool>,
    day: String,
    at: String,
    to: String,
    language: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawClient {
    name: String,
    #[serde(rename = "match")]
    patterns: Vec<String>,
    notice: RawClientNotice,
    rush: Option<bool>,
    language: String,
    timezone: String,
    emergency: Option<bool>,
    formality: String,
    never: bool,
    templates: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawClientNotice {
    minimum: Option<String>,
    counts: Option<String>,
    rush_minimum: Option<String>,
    rush_fee: Option<RawTexts>,
}

/// A text as written: one string, or a table by language code.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawTexts {
    One(String),
    Per(std::collections::BTreeMap<String, String>),
}

impl Default for RawTexts {
    fn default() -> Self {
        RawTexts::One(String::new())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAway {
    from: String,
    until: String,
    message: RawTexts,
    answer: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawIdentity {
    name: String,
    address: String,
    aliases: Vec<String>,
    emergency: RawTexts,
    emergency_audience: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawSchedule {
    timezone: String,
    monday: Vec<String>,
    tuesday: Vec<String>,
    wednesday: Vec<String>,
    thursday: Vec<String>,
    friday: Vec<String>,
    saturday: Vec<String>,
    sunday: Vec<String>,
    holidays: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawNotice {
    minimum: String,
    counts: String,
    rush_minimum: String,
    rush_fee: RawTexts,
}

impl Default for RawNotice {
    fn default() -> Self {
        RawNotice {
            minimum: "24h".into(),
            counts: "business".into(),
            rush_minimum: String::new(),
            rush_fee: RawTexts::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawReply {
    triggers: Vec<String>,
    audience: String,
    clients: Vec<String>,
    never: Vec<String>,
    once_per_sender: String,
    max_age: String,
    default_language: String,
    templates: String,
    save_to_sent: bool,
    subject_prefix: Option<RawTexts>,
    per_domain_hourly: u32,
}

impl Default for RawReply {
    fn default() -> Self {
        RawReply {
            triggers: vec!["outside-hours".into(), "short-notice".into()],
            audience: "anyone".into(),
            clients: vec![],
            never: vec![],
            once_per_sender: "7d".into(),
            max_age: "24h".into(),
            default_language: "es".into(),
            templates: String::new(),
            save_to_sent: true,
            subject_prefix: None,
            per_domain_hourly: 6,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawServer {
    host: String,
    port: Option<u16>,
    security: String,
    username: String,
    auth: String,
    password_file: String,
    password_command: String,
    mailbox: String,
    poll_interval: String,
    idle_check: String,
    fast_poll: String,
    sent_folder: String,
    timeout: String,
    connections: Option<u32>,
    ca_file: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawOAuth2 {
    provider: String,
    client_id: String,
    client_secret_file: String,
    client_secret_command: String,
    tenant: String,
    authorization_url: String,
    token_url: String,
    device_url: String,
    scopes: Option<Vec<String>>,
    redirect_port: u16,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct RawState {
    path: String,
}

impl Default for RawState {
    fn default() -> Self {
        RawState {
            path: "/var/lib/plazo/state.sqlite3".into(),
        }
    }
}

/// Keys that only make sense for IMAP.
const IMAP_ONLY: [&str; 5] = [
    "mailbox",
    "poll_interval",
    "idle_check",
    "fast_poll",
    "sent_folder",
];

// ---------------------------------------------------------------------------------------------
// Loading.

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Validates `text` as if read from `path` (relative paths inside resolve against its folder).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let doc = match DeTable::parse(text) {
            Ok(doc) => doc,
            Err(err) => {
                let line = err.span().map(|s| line_of(text, s.start));
                let message = err.message().trim().to_string();
                return Err(invalid(vec![Problem {
                    key: "(syntax)".into(),
                    line,
                    message,
                }]));
            }
        };
        let locate = Locator { text, doc: &doc };
        let mut problems = Vec::new();
        let mut unknown = Vec::new();
        // A value of the wrong type stops serde at once: it is reported with its key, taken out,
        // and the rest read again, so every other problem is reported beside it.
        let mut rest = doc.clone();
        let raw: RawConfig = loop {
            unknown.clear();
            let de = toml::de::Deserializer::from(rest.clone());
            match serde_ignored::deserialize(de, |p| unknown.push(segments(&p))) {
                Ok(raw) => break raw,
                Err(err) => {
                    let line = err.span().map(|s| line_of(text, s.start));
                    let taken = err.span().and_then(|s| take_value_at(rest.get_mut(), &s));
                    problems.push(Problem {
                        key: taken.as_deref().map_or_else(|| "(type)".into(), display),
                        line,
                        message: err.message().trim().to_string(),
                    });
                    if taken.is_none() || problems.len() >= 50 {
                        problems.extend(unknown.iter().map(|k| locate.unknown(k)));
                        return Err(invalid(problems));
                    }
                }
            }
        };
        for key in &unknown {
            problems.push(locate.unknown(key));
        }
        let mut check = Checker {
            locate,
            problems: &mut problems,
        };
        let config = check.config(raw, path);
        problems.sort_by_key(|p| (p.line.unwrap_or(usize::MAX), p.key.clone()));
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(invalid(problems)),
        }
    }

    /// True when a server signs in with OAuth2.
    pub fn uses_oauth2(&self) -> bool {
        [&self.imap, &self.smtp]
            .into_iter()
            .flatten()
            .any(|s| s.auth == AuthMethod::OAuth2)
    }

    /// The rules `plazo run` adds to [`Config::load`]: the mail servers must be configured.
    pub fn daemon_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (name, server) in [("imap", &self.imap), ("smtp", &self.smtp)] {
            if server.is_none() {
                problems.push(Problem {
                    key: name.into(),
                    line: None,
                    message: format!("missing [{name}] section: the daemon needs it"),
                });
            }
        }
        problems
    }
}

/// Where the default config file is: `$PLAZO_CONFIG`, else `$XDG_CONFIG_HOME/plazo/config.toml`,
/// else `/etc/plazo/config.toml`.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PLAZO_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CONFIG_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("plazo").join("config.toml");
    }
    PathBuf::from("/etc/plazo/config.toml")
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &serde_ignored::Path<'_>) -> Vec<Seg> {
    use serde_ignored::Path as P;
    let mut out = match path {
        P::Root => return Vec::new(),
        P::Seq { parent, .. }
        | P::Map { parent, .. }
        | P::Some { parent }
        | P::NewtypeStruct { parent }
        | P::NewtypeVariant { parent } => segments(parent),
    };
    match path {
        P::Seq { index, .. } => out.push(Seg::Index(*index)),
        P::Map { key, .. } => out.push(Seg::Key(key.clone())),
        _ => {}
    }
    out
}

fn display(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Removes the value whose span holds `span` (a value serde refused) from `table`, at any depth,
/// and returns its key path. (A table's own span does not cover the keys under its header, so
/// every table is searched.)
fn take_value_at(table: &mut DeTable<'_>, span: &std::ops::Range<usize>) -> Option<Vec<Seg>> {
    let holds = |s: std::ops::Range<usize>| s.start <= span.start && span.end <= s.end;
    let mut found: Option<(Spanned<toml::de::DeString<'_>>, Vec<Seg>, bool)> = None;
    for (key, value) in table.iter_mut() {
        let name = Seg::Key(key.get_ref().to_string());
        let value_span = value.span();
        match value.get_mut() {
            DeValue::Table(inner) => {
                if let Some(rest) = take_value_at(inner, span) {
                    found = Some((key.clone(), [vec![name], rest].concat(), false));
                    break;
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let item_span = item.span();
                    match item.get_mut() {
                        DeValue::Table(inner) => {
                            if let Some(rest) = take_value_at(inner, span) {
                                let path = [vec![name.clone(), Seg::Index(i)], rest].concat();
                                found = Some((key.clone(), path, false));
                                break;
                            }
                        }
                        // An element of the wrong type: the whole list goes (it is reported).
                        _ if holds(item_span) => {
                            found = Some((key.clone(), vec![name.clone(), Seg::Index(i)], true));
                            break;
                        }
                        _ => {}
                    }
                }
                if found.is_some() {
                    break;
                }
            }
            _ if holds(value_span) => {
                found = Some((key.clone(), vec![name], true));
                break;
            }
            _ => {}
        }
    }
    let (key, path, remove_here) = found?;
    if remove_here {
        table.remove(&key);
    }
    Some(path)
}

/// Finds the line of a key path in the parsed document.
struct Locator<'a> {
    text: &'a str,
    doc: &'a Spanned<DeTable<'a>>,
}

impl Locator<'_> {
    /// The line of the key (for tables and unknown keys) or of the value at `path`. A key
    /// missing from one `[[…]]` block gets the block's line.
    fn line(&self, path: &[Seg]) -> Option<usize> {
        let mut table: &DeTable<'_> = self.doc.get_ref();
        let mut value: Option<&Spanned<DeValue<'_>>> = None;
        let mut key_span = None;
        let mut element = None;
        for seg in path {
            let current = match (seg, value.map(Spanned::get_ref)) {
                (Seg::Key(k), None) => table.get_key_value(k.as_str()),
                (Seg::Key(k), Some(DeValue::Table(t))) => {
                    table = t;
                    table.get_key_value(k.as_str())
                }
                (Seg::Index(i), Some(DeValue::Array(a))) => {
                    value = Some(a.get(*i)?);
                    element = value.map(Spanned::span);
                    key_span = None;
                    continue;
                }
                _ => None,
            };
            let Some(current) = current else {
                return element.map(|span| line_of(self.text, span.start));
            };
            key_span = Some(current.0.span());
            value = Some(current.1);
        }
        let span = key_span.or_else(|| value.map(Spanned::span))?;
        Some(line_of(self.text, span.start))
    }

    fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        Problem {
            key: display(path),
            line: self.line(path),
            message: message.into(),
        }
    }

    fn unknown(&self, path: &[Seg]) -> Problem {
        self.problem(path, "unknown key")
    }
}

fn key(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| Seg::Key((*p).to_string())).collect()
}

fn item(parts: &[&str], index: usize) -> Vec<Seg> {
    let mut k = key(parts);
    k.push(Seg::Index(index));
    k
}

/// The second pass: checks values and builds the typed config, recording every problem.
struct Checker<'a, 'p> {
    locate: Locator<'a>,
    problems: &'p mut Vec<Problem>,
}

impl Checker<'_, '_> {
    fn report(&mut self, path: &[Seg], message: impl Into<String>) {
        let p = self.locate.problem(path, message);
        self.problems.push(p);
    }

    fn config(&mut self, raw: RawConfig, path: &Path) -> Option<Config> {
        let base = path.parent().unwrap_or(Path::new("."));
        let identity = self.identity(raw.identity);
        let schedule = self.schedule(raw.schedule);
        let notice = self.notice(raw.notice);
        let reply = self.reply(raw.reply, base);
        let has_oauth2 = raw.oauth2.is_some();
        let imap = raw
            .imap
            .map(|s| self.server("imap", s, 993, base, has_oauth2));
        let smtp = raw
            .smtp
            .map(|s| self.server("smtp", s, 587, base, has_oauth2));
        let oauth2 = raw.oauth2.map(|o| self.oauth2(o, base));
        let state = State {
            path: base.join(raw.state.path),
        };
        let away: Vec<Option<AwayPeriod>> = raw
            .away
            .into_iter()
            .enumerate()
            .map(|(i, a)| self.away(i, a))
            .collect();
        let clients: Vec<Option<Client>> = match &notice {
            Some(global) => raw
                .client
                .into_iter()
                .enumerate()
                .map(|(i, c)| self.client(i, c, global, base))
                .collect(),
            None => Vec::new(),
        };
        let clients: Option<Vec<Client>> = clients.into_iter().collect();
        let digest = self.digest(raw.digest, identity.as_ref(), reply.as_ref());
        let calendars: Option<Vec<CalendarSource>> = raw
            .calendar
            .into_iter()
            .enumerate()
            .map(|(i, c)| self.calendar(i, c, base))
            .collect();
        let imap = imap.flatten();
        let smtp = smtp.flatten();
        let oauth2 = match oauth2 {
            Some(o) => Some(o?),
            None => None,
        };
        Some(Config {
            path: path.to_path_buf(),
            identity: identity?,
            schedule: schedule?,
            notice: notice?,
            reply: reply?,
            imap,
            smtp,
            oauth2,
            state,
            away: Vec::new(),
            clients: clients?,
            digest: digest?,
            calendars: calendars?,
        })
        .and_then(|mut config| {
            for period in away {
                config.add_away(period?);
            }
            Some(config)
        })
    }

    /// One `[[client]]` agreement, its notice completed from the `global` one.
    fn client(&mut self, i: usize, raw: RawClient, global: &Notice, base: &Path) -> Option<Client> {
        let at = |k: &[&str]| {
            let mut path = vec![Seg::Key("client".into()), Seg::Index(i)];
            path.extend(k.iter().map(|k| Seg::Key((*k).to_string())));
            path
        };
        let mut ok = true;
        if raw.name.trim().is_empty() || raw.name.contains(['\r', '\n']) {
            ok = false;
            self.report(
                &at(&["name"]),
                "missing: one line naming the client, for history",
            );
        }
        if raw.patterns.is_empty() {
            ok = false;
            self.report(
                &at(&["match"]),
                "missing: the client's addresses, such as [\"@tienda-sol.example\"]",
            );
        }
        for (j, p) in raw.patterns.iter().enumerate() {
            if let Err(msg) = check_pattern(p) {
                ok = false;
                let mut path = at(&["match"]);
                path.push(Seg::Index(j));
                self.report(&path, msg);
            }
        }
        let minimum = match &raw.notice.minimum {
            Some(text) => self.duration(&at(&["notice", "minimum"]), text),
            None => Some(global.minimum),
        };
        let counts = match raw.notice.counts.as_deref() {
            None => Some(global.counts),
            Some(text) => self.counts(&at(&["notice", "counts"]), text),
        };
        let rush_minimum = match (&raw.notice.rush_minimum, raw.rush) {
            (Some(_), Some(false)) => {
                self.report(
                    &at(&["notice", "rush_minimum"]),
                    "set while rush = false: no rush is offered to this client",
                );
                None
            }
            (_, Some(false)) => Some(None),
            (Some(text), _) => self
                .duration(&at(&["notice", "rush_minimum"]), text)
                .map(Some),
            (None, _) => Some(global.rush_minimum),
        };
        if let (Some(m), Some(Some(r))) = (minimum, rush_minimum)
            && r > m
        {
            ok = false;
            self.report(
                &at(&["notice", "rush_minimum"]),
                "is longer than the client's notice.minimum: a rush must be faster",
            );
        }
        let rush_fee = match raw.notice.rush_fee {
            Some(texts) => self.texts(&at(&["notice", "rush_fee"]), texts, true),
            None => Some(global.rush_fee.clone()),
        };
        let language = if raw.language.trim().is_empty() {
            Some(None)
        } else {
            match Lang::from_code(raw.language.trim()) {
                Some(l) => Some(Some(l)),
                None => {
                    self.report(
                        &at(&["language"]),
                        format!("\"{}\" is not one of \"es\", \"en\"", raw.language),
                    );
                    None
                }
            }
        };
        let timezone = if raw.timezone.trim().is_empty() {
            Some(None)
        } else {
            match raw.timezone.trim().parse::<Tz>() {
                Ok(tz) => Some(Some(tz)),
                Err(_) => {
                    self.report(
                        &at(&["timezone"]),
                        format!(
                            "unknown time zone \"{}\": use an IANA name such as \"America/Mexico_City\"",
                            raw.timezone
                        ),
                    );
                    None
                }
            }
        };
        let usted = match raw.formality.trim() {
            "" | "tú" | "tu" => Some(false),
            "usted" => Some(true),
            other => {
                self.report(
                    &at(&["formality"]),
                    format!("\"{other}\" is not one of \"tú\", \"usted\""),
                );
                None
            }
        };
        let templates = self.template_folder(&at(&["templates"]), &raw.templates, base);
        ok &= templates.is_some();
        let templates = templates.flatten();
        Some(Client {
            templates,
            name: raw.name.trim().to_string(),
            patterns: raw
                .patterns
                .iter()
                .map(|p| p.trim().to_lowercase())
                .collect(),
            notice: Notice {
                minimum: minimum?,
                counts: counts?,
                rush_minimum: rush_minimum?,
                rush_fee: rush_fee?,
            },
            language: language?,
            timezone: timezone?,
            emergency: raw.emergency,
            usted: usted?,
            never: raw.never,
        })
        .filter(|_| ok)
    }

    /// One `[[away]]` period.
    fn away(&mut self, i: usize, raw: RawAway) -> Option<AwayPeriod> {
        let at = |k: &'static str| vec![Seg::Key("away".into()), Seg::Index(i), Seg::Key(k.into())];
        let day = |this: &mut Self, k: &'static str, text: &str| -> Option<NaiveDate> {
            if text.trim().is_empty() {
                this.report(&at(k), "missing: a date such as \"2027-01-06\"");
                return None;
            }
            match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    this.report(
                        &at(k),
                        format!("\"{text}\" is not a date such as \"2027-01-06\""),
                    );
                    None
                }
            }
        };
        let first = day(self, "from", &raw.from);
        let last = day(self, "until", &raw.until);
        if let (Some(f), Some(l)) = (first, last)
            && l < f
        {
            self.report(&at("until"), "is before from");
            return None;
        }
        let message = self.texts(&at("message"), raw.message, false);
        Some(AwayPeriod {
            days: Holiday {
                first: first?,
                last: last?,
            },
            message: message?,
            answer: raw.answer.unwrap_or(true),
        })
    }

    /// A text given once or per language; `one_line` texts may not hold a line break.
    fn texts(&mut self, path: &[Seg], raw: RawTexts, one_line: bool) -> Option<Texts> {
        let mut ok = true;
        let check = |this: &mut Self, path: &[Seg], text: &str| -> bool {
            let bad = one_line && text.contains(['\r', '\n']);
            if bad {
                this.report(path, "must be one line");
            }
            !bad
        };
        let texts = match raw {
            RawTexts::One(text) => {
                ok &= check(self, path, &text);
                Texts {
                    all: Some(text.trim().to_string()).filter(|t| !t.is_empty()),
                    by_lang: Vec::new(),
                }
            }
            RawTexts::Per(map) => {
                let mut by_lang = Vec::new();
                for (code, text) in map {
                    let mut at = path.to_vec();
                    at.push(Seg::Key(code.clone()));
                    ok &= check(self, &at, &text);
                    match Lang::from_code(&code) {
                        Some(lang) if !text.trim().is_empty() => {
                            by_lang.push((lang, text.trim().to_string()));
                        }
                        Some(_) => {}
                        None => {
                            ok = false;
                            self.report(
                                &at,
                                format!(
                                    "\"{code}\" is not a language plazo writes (\"es\", \"en\")"
                                ),
                            );
                        }
                    }
                }
                Texts { all: None, by_lang }
            }
        };
        Some(texts).filter(|_| ok)
    }

    fn address(&mut self, path: &[Seg], value: &str) -> Option<String> {
        let v = value.trim();
        let ok = match v.rsplit_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !v.chars().any(|c| c.is_whitespace() || "<>,;\"".contains(c))
            }
            None => false,
        };
        if ok {
            Some(v.to_lowercase())
        } else {
            self.report(path, format!("\"{value}\" is not an e-mail address"));
            None
        }
    }

    fn identity(&mut self, raw: RawIdentity) -> Option<Identity> {
        if raw.name.trim().is_empty() {
            self.report(
                &key(&["identity", "name"]),
                "missing: the name replies are signed with",
            );
        }
        if raw.name.contains(['\r', '\n']) {
            self.report(&key(&["identity", "name"]), "must be one line");
        }
        let address = if raw.address.is_empty() {
            self.report(
                &key(&["identity", "address"]),
                "missing: the From address of replies",
            );
            None
        } else {
            self.address(&key(&["identity", "address"]), &raw.address)
        };
        let aliases: Vec<_> = raw
            .aliases
            .iter()
            .enumerate()
            .map(|(i, a)| self.address(&item(&["identity", "aliases"], i), a))
            .collect();
        let emergency = self.texts(&key(&["identity", "emergency"]), raw.emergency, true);
        let emergency_audience = match raw.emergency_audience.trim() {
            "" | "clients" => Some(EmergencyAudience::Clients),
            "anyone" => Some(EmergencyAudience::Anyone),
            other => {
                self.report(
                    &key(&["identity", "emergency_audience"]),
                    format!("\"{other}\" is not one of \"clients\", \"anyone\""),
                );
                None
            }
        };
        Some(Identity {
            name: raw.name.trim().to_string(),
            address: address?,
            aliases: aliases.into_iter().collect::<Option<_>>()?,
            emergency: emergency?,
            emergency_audience: emergency_audience?,
        })
    }

    fn schedule(&mut self, raw: RawSchedule) -> Option<Schedule> {
        let tz = if raw.timezone.is_empty() {
            self.report(
                &key(&["schedule", "timezone"]),
                "missing: an IANA zone such as \"Europe/Madrid\"",
            );
            None
        } else {
            match raw.timezone.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    self.report(
                        &key(&["schedule", "timezone"]),
                        format!(
                            "unknown time zone \"{}\": use an IANA name such as \"Europe/Madrid\"",
                            raw.timezone
                        ),
                    );
                    None
                }
            }
        };
        let days = [
            ("monday", &raw.monday),
            ("tuesday", &raw.tuesday),
            ("wednesday", &raw.wednesday),
            ("thursday", &raw.thursday),
            ("friday", &raw.friday),
            ("saturday", &raw.saturday),
            ("sunday", &raw.sunday),
        ];
        let mut week: [Vec<Range>; 7] = Default::default();
        let mut ok = true;
        for (slot, (day, ranges)) in week.iter_mut().zip(days) {
            for (i, text) in ranges.iter().enumerate() {
                match parse_range(text) {
                    Ok(r) => slot.push(r),
                    Err(msg) => {
                        ok = false;
                        self.report(&item(&["schedule", day], i), msg);
                    }
                }
            }
            slot.sort();
            if let Some(w) = slot.windows(2).find(|w| w[0].end > w[1].start) {
                ok = false;
                let msg = format!("ranges {} and {} overlap", w[0].label(), w[1].label());
                self.report(&key(&["schedule", day]), msg);
            }
        }
        if ok && week.iter().all(Vec::is_empty) {
            ok = false;
            self.report(
                &key(&["schedule"]),
                "no working hours on any day: give at least one of monday … sunday",
            );
        }
        let mut holidays = Vec::new();
        for (i, text) in raw.holidays.iter().enumerate() {
            match parse_holiday(text) {
                Ok(h) => holidays.push(h),
                Err(msg) => {
                    ok = false;
                    self.report(&item(&["schedule", "holidays"], i), msg);
                }
            }
        }
        Some(Schedule {
            tz: tz?,
            week,
            holidays,
            away: Vec::new(),
            busy: Vec::new(),
        })
        .filter(|_| ok)
    }

    /// An optional duration within `(least, most)`: `Some(None)` when not given, `None` (and a
    /// problem reported with `why`) when it does not parse or is out of bounds.
    fn bounded(
        &mut self,
        path: &[Seg],
        text: &str,
        (least, most): (Duration, Duration),
        why: &str,
    ) -> Option<Option<Duration>> {
        if text.is_empty() {
            return Some(None);
        }
        let d = self.duration(path, text)?;
        if d < least || d > most {
            self.report(path, why);
            return None;
        }
        Some(Some(d))
    }

    fn duration(&mut self, path: &[Seg], text: &str) -> Option<Duration> {
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.report(path, msg);
                None
            }
        }
    }

    /// How notice is counted: `business` or `calendar`.
    fn counts(&mut self, path: &[Seg], text: &str) -> Option<Counts> {
        match text {
            "business" => Some(Counts::Business),
            "calendar" => Some(Counts::Calendar),
            other => {
                self.report(
                    path,
                    format!("\"{other}\" is not one of \"business\", \"calendar\""),
                );
                None
            }
        }
    }

    fn notice(&mut self, raw: RawNotice) -> Option<Notice> {
        let minimum = self.duration(&key(&["notice", "minimum"]), &raw.minimum);
        let counts = self.counts(&key(&["notice", "counts"]), &raw.counts);
        let rush_minimum = if raw.rush_minimum.trim().is_empty() {
            Some(None)
        } else {
            self.duration(&key(&["notice", "rush_minimum"]), &raw.rush_minimum)
                .map(Some)
        };
        if let (Some(m), Some(Some(r))) = (minimum, rush_minimum)
            && r > m
        {
            self.report(
                &key(&["notice", "rush_minimum"]),
                "is longer than notice.minimum: a rush must be faster",
            );
        }
        Some(Notice {
            minimum: minimum?,
            counts: counts?,
            rush_minimum: rush_minimum?,
            rush_fee: self.texts(&key(&["notice", "rush_fee"]), raw.rush_fee, true)?,
        })
    }

    /// A template folder key: `Some(None)` when not set, `Some(Some(dir))` when it exists
    /// (relative to the config), `None` (reported) when it does not.
    fn template_folder(
        &mut self,
        path: &[Seg],
        text: &str,
        base: &Path,
    ) -> Option<Option<PathBuf>> {
        let Some(dir) = Some(text.trim())
            .filter(|t| !t.is_empty())
            .map(|t| base.join(t))
        else {
            return Some(None);
        };
        if !dir.is_dir() {
            self.report(
                path,
                format!("template folder {} does not exist", dir.display()),
            );
            return None;
        }
        Some(Some(dir))
    }

    /// One `[[calendar]]` source.
    fn calendar(&mut self, i: usize, raw: RawCalendar, base: &Path) -> Option<CalendarSource> {
        let at = |k: &str| {
            vec![
                Seg::Key("calendar".into()),
                Seg::Index(i),
                Seg::Key(k.into()),
            ]
        };
        let (file, url, caldav) = (raw.file.trim(), raw.url.trim(), raw.caldav.trim());
        let given = [("file", file), ("url", url), ("caldav", caldav)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect::<Vec<_>>();
        let mut ok = true;
        let origin = match given.as_slice() {
            [] => {
                self.report(
                    &at("file"),
                    "missing: give file (an .ics file), url (an ICS link) or caldav (a CalDAV collection)",
                );
                return None;
            }
            [("file", file)] => {
                for (k, v) in [
                    ("username", &raw.username),
                    ("password_file", &raw.password_file),
                    ("password_command", &raw.password_command),
                ] {
                    if !v.trim().is_empty() {
                        ok = false;
                        self.report(&at(k), "only a url or caldav calendar logs in");
                    }
                }
                Some(Origin::File(base.join(file)))
            }
            [(kind, text)] => self.remote(&at(kind), *kind == "caldav", text, &raw, base, i),
            [_, (second, _), ..] => {
                self.report(
                    &at(second),
                    "give one of file, url and caldav per [[calendar]]",
                );
                return None;
            }
        };
        let away_words = raw
            .away
            .unwrap_or_else(|| {
                crate::agenda::AWAY_WORDS
                    .iter()
                    .map(|w| (*w).to_string())
                    .collect()
            })
            .iter()
            .map(|w| crate::lang::folded(w.trim()))
            .filter(|w| !w.is_empty())
            .collect();
        let refresh = self
            .bounded(
                &at("refresh"),
                &raw.refresh,
                (Duration::minutes(1), Duration::days(1)),
                "must be between 1m and 1d",
            )
            .map(|d| d.unwrap_or(Duration::minutes(15)));
        let timeout = self
            .bounded(
                &at("timeout"),
                &raw.timeout,
                (Duration::seconds(1), Duration::minutes(5)),
                "must be between 1s and 5m",
            )
            .map(|d| d.unwrap_or(Duration::seconds(30)));
        let std = |d: Duration| d.to_std().unwrap_or_default();
        Some(CalendarSource {
            origin: origin.filter(|_| ok)?,
            meaning: crate::agenda::Meaning {
                holidays: raw.holidays,
                away_words,
            },
            refresh: std(refresh?),
            timeout: std(timeout?),
        })
    }

    /// The server side of a `[[calendar]]`: its URL and login.
    fn remote(
        &mut self,
        path: &[Seg],
        caldav: bool,
        text: &str,
        raw: &RawCalendar,
        base: &Path,
        i: usize,
    ) -> Option<Origin> {
        let url = match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
            Ok(u) if u.scheme() == "webcal" => {
                self.report(
                    path,
                    format!(
                        "\"{text}\": write https:// instead of webcal:// (the same link over HTTPS)"
                    ),
                );
                return None;
            }
            Ok(u) => {
                self.report(
                    path,
                    format!("\"{text}\": \"{}\" is not http or https", u.scheme()),
                );
                return None;
            }
            Err(e) => {
                self.report(path, format!("\"{text}\" is not a URL ({e})"));
                return None;
            }
        };
        let section = format!("calendar[{i}]");
        let password = self
            .secret_source(
                &section,
                "password",
                &raw.password_file,
                &raw.password_command,
                base,
            )
            .ok()?;
        let username = raw.username.trim();
        let login = match (username.is_empty(), password) {
            (true, None) => None,
            (true, Some(_)) => {
                self.report(
                    path,
                    "a password_file or password_command needs a username too",
                );
                return None;
            }
            (false, password) => Some((
                username.to_string(),
                password.unwrap_or(PasswordSource::Env("PLAZO_CALENDAR_PASSWORD".into())),
            )),
        };
        if login.is_some() && url.scheme() == "http" && !is_loopback(url.host_str().unwrap_or("")) {
            self.report(
                path,
                format!("\"{text}\": the password would travel in clear; use https (http only towards a loopback address)"),
            );
            return None;
        }
        Some(Origin::Remote(Remote { url, caldav, login }))
    }

    /// `[digest]`. Its defaults come from `[identity]` and `[reply]`: `None` when either is
    /// invalid (already reported) or a digest key is.
    fn digest(
        &mut self,
        raw: RawDigest,
        identity: Option<&Identity>,
        reply: Option<&Reply>,
    ) -> Option<DigestSettings> {
        let mut ok = true;
        let day = if raw.day.is_empty() {
            Weekday::Mon
        } else {
            match parse_weekday(&raw.day) {
                Some(d) => d,
                None => {
                    ok = false;
                    self.report(
                        &key(&["digest", "day"]),
                        format!(
                            "\"{}\" is not a weekday: use \"monday\" … \"sunday\"",
                            raw.day
                        ),
                    );
                    Weekday::Mon
                }
            }
        };
        let at = if raw.at.is_empty() {
            None
        } else {
            match parse_clock(&raw.at) {
                Some(t) => Some(t),
                None => {
                    ok = false;
                    self.report(
                        &key(&["digest", "at"]),
                        format!("\"{}\" is not a time of day like \"09:00\"", raw.at),
                    );
                    None
                }
            }
        };
        let language = if raw.language.is_empty() {
            reply.map(|r| r.default_language)
        } else {
            let lang = Lang::from_code(&raw.language);
            if lang.is_none() {
                ok = false;
                self.report(
                    &key(&["digest", "language"]),
                    format!("\"{}\" is not one of \"es\", \"en\"", raw.language),
                );
            }
            lang
        };
        let to = if raw.to.is_empty() {
            identity.map(|i| i.address.clone())
        } else if raw.to.contains('@') && !raw.to.trim().contains(char::is_whitespace) {
            Some(raw.to.trim().to_string())
        } else {
            ok = false;
            self.report(
                &key(&["digest", "to"]),
                format!("\"{}\" is not an address like \"ana@example.com\"", raw.to),
            );
            None
        };
        let enabled = raw.enabled.or_else(|| reply.map(|r| r.save_to_sent))?;
        Some(DigestSettings {
            enabled,
            day,
            at,
            to: to?,
            language: language?,
        })
        .filter(|_| ok)
    }

    fn reply(&mut self, raw: RawReply, base: &Path) -> Option<Reply> {
        let mut triggers = Vec::new();
        let mut ok = true;
        for (i, t) in raw.triggers.iter().enumerate() {
            match Trigger::from_tag(t) {
                Some(Trigger::Away) => {
                    ok = false;
                    self.report(
                        &item(&["reply", "triggers"], i),
                        "away replies are set per [[away]] period (answer = true/false)",
                    );
                }
                Some(t) => triggers.push(t),
                None => {
                    ok = false;
                    self.report(
                        &item(&["reply", "triggers"], i),
                        format!("\"{t}\" is not one of \"outside-hours\", \"short-notice\""),
                    );
                }
            }
        }
        let audience = match raw.audience.as_str() {
            "anyone" => Some(Audience::Anyone),
            "clients" => Some(Audience::Clients),
            other => {
                self.report(
                    &key(&["reply", "audience"]),
                    format!("\"{other}\" is not one of \"anyone\", \"clients\""),
                );
                None
            }
        };
        if audience == Some(Audience::Clients) && raw.clients.is_empty() {
            self.report(
                &key(&["reply", "clients"]),
                "empty while audience = \"clients\": nobody would ever be answered",
            );
        }
        for (name, list) in [("clients", &raw.clients), ("never", &raw.never)] {
            for (i, p) in list.iter().enumerate() {
                if let Err(msg) = check_pattern(p) {
                    ok = false;
                    self.report(&item(&["reply", name], i), msg);
                }
            }
        }
        let once = self.duration(&key(&["reply", "once_per_sender"]), &raw.once_per_sender);
        let max_age = self.duration(&key(&["reply", "max_age"]), &raw.max_age);
        let lang = Lang::from_code(&raw.default_language);
        if lang.is_none() {
            self.report(
                &key(&["reply", "default_language"]),
                format!("\"{}\" is not one of \"es\", \"en\"", raw.default_language),
            );
        }
        let templates = self.template_folder(&key(&["reply", "templates"]), &raw.templates, base);
        ok &= templates.is_some();
        let templates = templates.flatten();
        let subject_prefix = match raw.subject_prefix {
            Some(raw) => Some(self.texts(&key(&["reply", "subject_prefix"]), raw, true)?),
            None => None,
        };
        Some(Reply {
            subject_prefix,
            per_domain_hourly: raw.per_domain_hourly,
            triggers,
            audience: audience?,
            clients: raw
                .clients
                .iter()
                .map(|c| c.trim().to_lowercase())
                .collect(),
            never: raw.never.iter().map(|c| c.trim().to_lowercase()).collect(),
            once_per_sender: once?,
            max_age: max_age?,
            default_language: lang?,
            templates,
            save_to_sent: raw.save_to_sent,
        })
        .filter(|_| ok)
    }

    fn server(
        &mut self,
        name: &str,
        raw: RawServer,
        default_port: u16,
        base: &Path,
        has_oauth2: bool,
    ) -> Option<Server> {
        let mut ok = true;
        if name == "smtp" {
            let given = [
                &raw.mailbox,
                &raw.poll_interval,
                &raw.idle_check,
                &raw.fast_poll,
                &raw.sent_folder,
            ];
            for (k, value) in IMAP_ONLY.into_iter().zip(given) {
                if !value.is_empty() {
                    ok = false;
                    self.report(&key(&[name, k]), format!("only [imap] has {k}"));
                }
            }
        }
        if name == "imap" && !raw.timeout.is_empty() {
            ok = false;
            self.report(&key(&[name, "timeout"]), "only [smtp] has timeout");
        }
        if name == "imap" && raw.connections.is_some() {
            ok = false;
            self.report(&key(&[name, "connections"]), "only [smtp] has connections");
        }
        let connections = match raw.connections {
            None => 2,
            Some(n @ 1..=8) => n as usize,
            Some(_) => {
                ok = false;
                self.report(&key(&[name, "connections"]), "must be between 1 and 8");
                1
            }
        };
        if raw.host.trim().is_empty() {
            ok = false;
            self.report(&key(&[name, "host"]), "missing: the server's host name");
        }
        if raw.username.trim().is_empty() {
            ok = false;
            self.report(&key(&[name, "username"]), "missing: the login name");
        }
        let security = match raw.security.as_str() {
            "" | "tls" => Security::Tls,
            "starttls" => Security::Starttls,
            "plain" => Security::Plain,
            other => {
                ok = false;
                self.report(
                    &key(&[name, "security"]),
                    format!("\"{other}\" is not one of \"tls\", \"starttls\", \"plain\""),
                );
                Security::Tls
            }
        };
        if security == Security::Plain && !is_loopback(&raw.host) {
            ok = false;
            self.report(
                &key(&[name, "security"]),
                format!("\"plain\" sends the password in clear: only allowed towards a loopback address, not \"{}\"", raw.host),
            );
        }
        let port = match raw.port {
            Some(0) => {
                ok = false;
                self.report(&key(&[name, "port"]), "0 is not a port");
                0
            }
            Some(p) => p,
            None => match (name, security) {
                ("smtp", Security::Tls) => 465,
                ("imap", Security::Starttls | Security::Plain) => 143,
                _ => default_port,
            },
        };
        let auth = match raw.auth.trim() {
            "" | "password" => AuthMethod::Password,
            "oauth2" => AuthMethod::OAuth2,
            other => {
                ok = false;
                self.report(
                    &key(&[name, "auth"]),
                    format!("\"{other}\" is not one of \"password\", \"oauth2\""),
                );
                AuthMethod::Password
            }
        };
        if auth == AuthMethod::OAuth2 && !has_oauth2 {
            ok = false;
            self.report(
                &key(&[name, "auth"]),
                "\"oauth2\" needs an [oauth2] section (provider, client_id)",
            );
        }
        if auth == AuthMethod::OAuth2 {
            for (k, value) in [
                ("password_file", &raw.password_file),
                ("password_command", &raw.password_command),
            ] {
                if !value.trim().is_empty() {
                    ok = false;
                    self.report(
                        &key(&[name, k]),
                        "not used with auth = \"oauth2\": the token comes from `plazo auth login`",
                    );
                }
            }
        }
        let env = format!("PLAZO_{}_PASSWORD", name.to_uppercase());
        let password = self
            .secret_source(
                name,
                "password",
                &raw.password_file,
                &raw.password_command,
                base,
            )
            .inspect_err(|()| ok = false)
            .ok()
            .flatten()
            .unwrap_or(PasswordSource::Env(env));
        let poll_interval = if raw.poll_interval.is_empty() {
            Some(Duration::seconds(60))
        } else {
            self.duration(&key(&[name, "poll_interval"]), &raw.poll_interval)
        };
        let idle_check = self
            .bounded(
                &key(&[name, "idle_check"]),
                &raw.idle_check,
                (Duration::seconds(1), Duration::minutes(25)),
                "must be between 1s and 25m (Dovecot sends a keepalive every 2m)",
            )
            .map(|d| d.unwrap_or(Duration::minutes(3)));
        let fast_poll = self.bounded(
            &key(&[name, "fast_poll"]),
            &raw.fast_poll,
            (Duration::milliseconds(10), Duration::seconds(60)),
            "must be between 10ms and 60s",
        );
        let timeout = self
            .bounded(
                &key(&[name, "timeout"]),
                &raw.timeout,
                (Duration::seconds(1), Duration::minutes(10)),
                "must be between 1s and 10m",
            )
            .map(|d| d.unwrap_or(Duration::seconds(60)));
        Some(Server {
            host: raw.host.trim().to_string(),
            port,
            security,
            username: raw.username.trim().to_string(),
            auth,
            password,
            mailbox: Some(raw.mailbox.trim().to_string())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "INBOX".into()),
            poll_interval: poll_interval?,
            idle_check: idle_check?,
            fast_poll: fast_poll?,
            timeout: timeout?,
            connections,
            sent_folder: Some(raw.sent_folder.trim().to_string()).filter(|s| !s.is_empty()),
            ca_file: Some(raw.ca_file.trim())
                .filter(|c| !c.is_empty())
                .map(|c| base.join(c)),
        })
        .filter(|_| ok)
    }
}

impl Checker<'_, '_> {
    fn oauth2(&mut self, raw: RawOAuth2, base: &Path) -> Option<OAuth2> {
        let mut ok = true;
        let name = raw.provider.trim();
        let preset = crate::oauth::preset::preset(name);
        if preset.is_none() && name != "custom" {
            ok = false;
            let message = if name.is_empty() {
                "missing: \"google\", \"microsoft\" or \"custom\"".to_string()
            } else {
                format!("\"{name}\" is not one of \"google\", \"microsoft\", \"custom\"")
            };
            self.report(&key(&["oauth2", "provider"]), message);
        }
        if raw.client_id.trim().is_empty() {
            ok = false;
            self.report(
                &key(&["oauth2", "client_id"]),
                "missing: the client (application) id registered with the provider",
            );
        }
        if !raw.tenant.trim().is_empty() && name != "microsoft" {
            ok = false;
            self.report(
                &key(&["oauth2", "tenant"]),
                "only provider = \"microsoft\" has a tenant",
            );
        }
        let tenant = Some(raw.tenant.trim())
            .filter(|t| !t.is_empty())
            .unwrap_or("common");
        let endpoints = [
            (
                "authorization_url",
                &raw.authorization_url,
                preset.map(|p| p.authorization_url),
            ),
            ("token_url", &raw.token_url, preset.map(|p| p.token_url)),
            ("device_url", &raw.device_url, preset.map(|p| p.device_url)),
        ]
        .map(|(k, given, preset_url)| {
            let url = self.endpoint(k, given.trim(), preset_url, name, tenant);
            ok &= url.is_ok();
            url.ok().flatten()
        });
        let [authorization_url, token_url, device_url] = endpoints;
        let scopes = match (raw.scopes, &preset) {
            (Some(s), _) if s.iter().any(|s| s.trim().is_empty()) => {
                ok = false;
                self.report(&key(&["oauth2", "scopes"]), "a scope is empty");
                Vec::new()
            }
            (Some(s), _) if !s.is_empty() => s,
            (_, Some(p)) => p.scopes.iter().map(|s| s.to_string()).collect(),
            (_, None) => {
                ok = false;
                self.report(
                    &key(&["oauth2", "scopes"]),
                    "missing: provider = \"custom\" needs the scopes to ask for",
                );
                Vec::new()
            }
        };
        let client_secret = self
            .secret_source(
                "oauth2",
                "client_secret",
                &raw.client_secret_file,
                &raw.client_secret_command,
                base,
            )
            .inspect_err(|()| ok = false)
            .ok()
            .flatten();
        if !ok {
            return None;
        }
        Some(OAuth2 {
            provider: name.to_string(),
            client_id: raw.client_id.trim().to_string(),
            client_secret,
            authorization_url: authorization_url?,
            token_url: token_url?,
            device_url,
            scopes,
            redirect_port: raw.redirect_port,
        })
    }
}

impl Checker<'_, '_> {
    /// `<what>_file` or `<what>_command` of `[section]` (at most one; `None` when neither is
    /// given). `Err` when both are, reported.
    fn secret_source(
        &mut self,
        section: &str,
        what: &str,
        file: &str,
        command: &str,
        base: &Path,
    ) -> Result<Option<PasswordSource>, ()> {
        match (file.trim(), command.trim()) {
            ("", "") => Ok(None),
            (file, "") => Ok(Some(PasswordSource::File(base.join(file)))),
            ("", command) => Ok(Some(PasswordSource::Command(command.to_string()))),
            _ => {
                self.report(
                    &key(&[section, &format!("{what}_command")]),
                    format!("give {what}_file or {what}_command, not both"),
                );
                Err(())
            }
        }
    }

    /// One `[oauth2]` endpoint: the preset's (with `{tenant}` filled in), or, for
    /// `provider = "custom"`, the URL given (required except `device_url`). `Err` when a
    /// problem was reported.
    fn endpoint(
        &mut self,
        k: &str,
        given: &str,
        preset: Option<&str>,
        provider: &str,
        tenant: &str,
    ) -> Result<Option<String>, ()> {
        let problem = match (preset, given) {
            (Some(url), "") => return Ok(Some(url.replace("{tenant}", tenant))),
            (Some(_), _) => format!(
                "provider \"{provider}\" sets it: use provider = \"custom\" to give endpoints"
            ),
            (None, "") if provider == "custom" && k != "device_url" => {
                "missing: provider = \"custom\" needs it".to_string()
            }
            (None, "") => return Ok(None),
            (None, url) => match check_endpoint(url) {
                Ok(()) => return Ok(Some(url.to_string())),
                Err(e) => e,
            },
        };
        self.report(&key(&["oauth2", k]), problem);
        Err(())
    }
}

/// An OAuth2 endpoint must be an https URL, or http towards a loopback address (tests).
fn check_endpoint(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| format!("\"{text}\" is not a URL ({e})"))?;
    let host = url.host_str().unwrap_or("");
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(format!(
            "\"{text}\": tokens would travel in clear; use https (http only towards a loopback address)"
        )),
        other => Err(format!("\"{text}\": \"{other}\" is not http or https")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses a duration such as `"90m"`, `"36h"`, `"7d"` or `"1h 30m"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let std = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("\"{text}\" is not a duration ({e}): write it like \"90m\", \"36h\" or \"7d\"")
    })?;
    Duration::from_std(std).map_err(|_| format!("\"{text}\" is too long"))
}

/// Parses a working range such as `"09:00-14:00"` (the end may be `24:00`).
pub fn parse_range(text: &str) -> Result<Range, String> {
    let bad = |why: &str| format!("\"{text}\" is not a time range like \"09:00-14:00\": {why}");
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| bad("no '-' between start and end"))?;
    let minute = |s: &str, end: bool| -> Result<u32, String> {
        let (h, m) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| bad("times are HH:MM"))?;
        let (h, m) = (
            h.parse::<u32>().map_err(|_| bad("times are HH:MM"))?,
            m.parse::<u32>().map_err(|_| bad("times are HH:MM"))?,
        );
        if m >= 60 || h > 24 || (h == 24 && (m != 0 || !end)) {
            return Err(bad(&format!("{} is not a time of day", s.trim())));
        }
        Ok(h * 60 + m)
    };
    let (start, end) = (minute(a, false)?, minute(b, true)?);
    if end <= start {
        return Err(bad(
            "the end must come after the start (split a range past midnight across two days)",
        ));
    }
    Ok(Range { start, end })
}

/// A weekday by its English name, any case: `"monday"` … `"sunday"`.
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let days = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    let text = text.trim().to_ascii_lowercase();
    days.iter().find(|(name, _)| *name == text).map(|(_, d)| *d)
}

/// A local time of day: `"HH:MM"`, or `"HH:MM:SS"`.
pub fn parse_clock(text: &str) -> Option<NaiveTime> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M"))
        .ok()
}

/// Parses a holiday: `"2026-12-25"` or an inclusive range `"2026-12-31..2027-01-06"`.
pub fn parse_holiday(text: &str) -> Result<Holiday, String> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| format!("\"{}\" is not a date like \"2026-12-25\"", s.trim()))
    };
    match text.split_once("..") {
        None => {
            let d = date(text)?;
            Ok(Holiday { first: d, last: d })
        }
        Some((a, b)) => {
            let (first, last) = (date(a)?, date(b)?);
            if last < first {
                return Err(format!(
                    "\"{text}\" ends before it starts: write the earlier date first"
                ));
            }
            Ok(Holiday { first, last })
        }
    }
}

fn check_pattern(p: &str) -> Result<(), String> {
    let p = p.trim();
    if p.is_empty() || !p.contains('@') || p.chars().any(char::is_whitespace) {
        return Err(format!(
            "\"{p}\" is not an address pattern: use \"@domain\", \"name@domain\" or a '*' wildcard like \"*@domain\""
        ));
    }
    Ok(())
}

/// True when the lowercased `address` matches `pattern`: `@domain` (that exact domain), or an
/// address where `*` stands for any run of characters.
pub fn matches_pattern(pattern: &str, address: &str) -> bool {
    if let Some(domain) = pattern.strip_prefix('@') {
        return address
            .rsplit_once('@')
            .is_some_and(|(_, d)| glob(domain, d));
    }
    glob(pattern, address)
}

fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches_pattern(
            "@cliente-a.example",
            "laura@cliente-a.example"
        ));
        assert!(!matches_pattern(
            "@cliente-a.example",
            "laura@cliente-a.example.evil"
        ));
        assert!(!matches_pattern(
            "@cliente-a.example",
            "laura@sub.cliente-a.example"
        ));
        assert!(matches_pattern(
            "*@newsletter.example",
            "x@newsletter.example"
        ));
        assert!(matches_pattern("*@*.example", "x@a.example"));
        assert!(!matches_pattern("jefe@b.example", "jefe2@b.example"));
        assert!(matches_pattern("a*a@x", "aa@x"));
        assert!(!matches_pattern("a*a@x", "a@x"));
    }

    #[test]
    fn ranges_and_holidays() {
        assert_eq!(
            parse_range("09:00-14:00"),
            Ok(Range {
                start: 540,
                end: 840
            })
        );
        assert_eq!(parse_range("18:00-24:00").map(|r| r.end), Ok(1440));
        assert!(parse_range("25:00-26:00").is_err());
        assert!(parse_range("14:00-09:00").is_err());
        assert!(parse_range("24:00-24:00").is_err());
        assert!(parse_holiday("2026-12-31..2027-01-06").is_ok());
        assert!(parse_holiday("2027-01-06..2026-12-31").is_err());
        assert!(parse_holiday("2026-13-01").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("36h"), Ok(Duration::hours(36)));
        assert_eq!(parse_duration("90m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("7d"), Ok(Duration::days(7)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::minutes(90)));
        assert!(parse_duration("soon").is_err());
    }
}
