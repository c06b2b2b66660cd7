//! The IMAP side: connecting (implicit TLS, STARTTLS, or plain towards loopback), finding new
//! messages by UID, waiting for more with IDLE, and filing replies (Sent folder, keyword).
//!
//! async-imap speaks the protocol; this module adds the connection recipe (TCP and TLS from
//! [`crate::net`]), and errors that say whether trying again can help.

use std::time::Duration;

use async_imap::types::{Fetch, NameAttribute, UnsolicitedResponse};
use async_imap::{Client, Session};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use tokio_util::sync::CancellationToken;

use crate::config::{Security, Server};
use crate::net::{self, Stream};
use crate::oauth::{self, AuthError, Credential, TokenSource};

/// How long one network step may take before the connection counts as dead.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long DONE may take to be answered after a silent IDLE.
const DONE_TIMEOUT: Duration = Duration::from_secs(30);

/// The keyword set on answered originals, so the freelancer sees it in any mail client.
pub const KEYWORD: &str = "$AutoReplied";

/// An IMAP failure.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// Connecting, TLS, or the connection dropped: try again later.
    #[error("cannot reach {server}: {source}")]
    Network {
        /// host:port.
        server: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server refused the login: the config or the password is wrong.
    #[error("{server} refused the login for {user}: {reason}")]
    Login {
        /// host:port.
        server: String,
        /// The user name.
        user: String,
        /// The server's words.
        reason: String,
    },
    /// A command failed.
    #[error("{0}")]
    Protocol(#[from] async_imap::error::Error),
    /// A step took too long.
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection went silent: nothing during IDLE, and no answer to DONE.
    #[error(
        "the connection is dead: nothing from the server for {quiet:?} in IDLE, and no answer to DONE within {answer:?}"
    )]
    Silent {
        /// How long IDLE was silent.
        quiet: Duration,
        /// How long DONE waited.
        answer: Duration,
    },
    /// The TLS settings cannot be used.
    #[error("TLS setup: {0}")]
    Tls(String),
    /// No OAuth2 access token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The server cannot check logins now (`[UNAVAILABLE]`: its identity provider is down).
    #[error("{server} cannot check the login of {user} now: {reason}")]
    Unavailable {
        /// host:port.
        server: String,
        /// The user name.
        user: String,
        /// The server's words.
        reason: String,
    },
}

impl From<std::io::Error> for ImapError {
    fn from(source: std::io::Error) -> Self {
        ImapError::Network {
            server: "the IMAP server".into(),
            source,
        }
    }
}

impl ImapError {
    /// True when waiting and trying again can help (network, timeouts, server trouble); false
    /// for a refused login or unusable TLS settings.
    pub fn is_transient(&self) -> bool {
        match self {
            ImapError::Login { .. } | ImapError::Tls(_) => false,
            ImapError::Auth(e) => !e.pauses(),
            _ => true,
        }
    }

    /// The OAuth2 failure that pauses the account (revoked grant, no grant, bad client).
    pub fn pausing(&self) -> Option<&AuthError> {
        match self {
            ImapError::Auth(e) if e.pauses() => Some(e),
            _ => None,
        }
    }
}

/// A logged-in IMAP session.
pub type ImapSession = Session<Stream>;

async fn step<T, E>(fut: impl Future<Output = Result<T, E>>) -> Result<T, ImapError>
where
    ImapError: From<E>,
{
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(r) => r.map_err(ImapError::from),
        Err(_) => Err(ImapError::Timeout(STEP_TIMEOUT)),
    }
}

/// The SASL mechanisms used with OAuth2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// Google's XOAUTH2, also offered by Microsoft and Dovecot.
    Xoauth2,
    /// RFC 7628 OAUTHBEARER.
    OAuthBearer,
}

impl Mechanism {
    /// The SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Xoauth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// The mechanism to use given the server's `AUTH=` capabilities: XOAUTH2 (every large
    /// provider has it), else OAUTHBEARER.
    pub fn choose<'a>(offered: impl IntoIterator<Item = &'a str>) -> Option<Mechanism> {
        let offered: Vec<&str> = offered.into_iter().collect();
        let has = |m: Mechanism| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name()));
        [Mechanism::Xoauth2, Mechanism::OAuthBearer]
            .into_iter()
            .find(|m| has(*m))
    }
}

/// Connects, secures and logs in.
pub async fn connect(server: &Server, credential: &Credential) -> Result<ImapSession, ImapError> {
    match credential {
        Credential::Password(password) => {
            let client = open(server).await?;
            login(client, server, password).await
        }
        Credential::Token(source) => connect_oauth(server, source, None).await,
    }
}

/// Connects, secures and signs in with an OAuth2 access token, with `mechanism` or the one
/// the server's capabilities suggest. A refused token is refreshed once and tried once more.
pub async fn connect_oauth(
    server: &Server,
    source: &TokenSource,
    mechanism: Option<Mechanism>,
) -> Result<ImapSession, ImapError> {
    let name = format!("{}:{}", server.host, server.port);
    let mut client = open(server).await?;
    let mechanism = match mechanism {
        Some(m) => m,
        None => {
            let offered = auth_capabilities(&mut client).await?;
            Mechanism::choose(offered.iter().map(String::as_str)).ok_or_else(|| {
                ImapError::Login {
                    server: name.clone(),
                    user: server.username.clone(),
                    reason: "the server offers neither AUTH=XOAUTH2 nor AUTH=OAUTHBEARER".into(),
                }
            })?
        }
    };
    let signed_in = |session| {
        tracing::info!(
            "imap: signed in to {name} as {} with {}",
            server.username,
            mechanism.name()
        );
        Ok(session)
    };
    let token = source.token().await?;
    let client = match authenticate(client, server, mechanism, &token).await {
        Ok(session) => return signed_in(session),
        Err((Refusal::Rejected(reason), Some(client))) => {
            tracing::info!("imap: {name} refused the access token ({reason}); refreshing it once");
            client
        }
        Err((refusal, _)) => return Err(refusal.into_error(&name, server)),
    };
    let token = source.rejected(&token).await?;
    match authenticate(client, server, mechanism, &token).await {
        Ok(session) => signed_in(session),
        Err((refusal, _)) => Err(refusal.into_error(&name, server)),
    }
}

/// Why AUTHENTICATE failed.
enum Refusal {
    /// `NO` (normally `[AUTHENTICATIONFAILED]`) or `BAD`: the token was not accepted.
    Rejected(String),
    /// `NO [UNAVAILABLE]`: the server cannot check now.
    Unavailable(String),
    /// Anything else (network, timeout).
    Failed(ImapError),
}

impl Refusal {
    fn into_error(self, name: &str, server: &Server) -> ImapError {
        match self {
            Refusal::Rejected(reason) => ImapError::Login {
                server: name.to_string(),
                user: server.username.clone(),
                reason,
            },
            Refusal::Unavailable(reason) => ImapError::Unavailable {
                server: name.to_string(),
                user: server.username.clone(),
                reason,
            },
            Refusal::Failed(e) => e,
        }
    }
}

/// Answers the server's first (empty) challenge with the initial response, and any later one
/// (an error challenge carrying JSON) with an empty response, as RFC 7628 §3.2.3 asks.
struct Sasl(Option<String>);

impl async_imap::Authenticator for Sasl {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        self.0.take().unwrap_or_default()
    }
}

async fn authenticate(
    client: Client<Stream>,
    server: &Server,
    mechanism: Mechanism,
    token: &str,
) -> Result<ImapSession, (Refusal, Option<Client<Stream>>)> {
    let initial = match mechanism {
        Mechanism::Xoauth2 => oauth::xoauth2(&server.username, token),
        Mechanism::OAuthBearer => {
            oauth::oauthbearer(&server.username, &server.host, server.port, token)
        }
    };
    let attempt = client.authenticate(mechanism.name(), Sasl(Some(initial)));
    match tokio::time::timeout(STEP_TIMEOUT, attempt).await {
        // The client is gone with the future.
        Err(_) => Err((Refusal::Failed(ImapError::Timeout(STEP_TIMEOUT)), None)),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(reason), client))) => {
            if reason.to_ascii_uppercase().contains("[UNAVAILABLE]") {
                Err((Refusal::Unavailable(reason), Some(client)))
            } else {
                Err((Refusal::Rejected(reason), Some(client)))
            }
        }
        Ok(Err((async_imap::error::Error::Bad(reason), client))) => {
            Err((Refusal::Rejected(reason), Some(client)))
        }
        Ok(Err((err, _))) => Err((Refusal::Failed(err.into()), None)),
    }
}

/// The `AUTH=` mechanisms of the server's CAPABILITY answer.
async fn auth_capabilities(client: &mut Client<Stream>) -> Result<Vec<String>, ImapError> {
    use async_imap::imap_proto::{Capability, Response};
    use async_imap::types::UnsolicitedResponse;
    let (tx, rx) = async_channel::bounded(16);
    step(client.run_command_and_check_ok("CAPABILITY", Some(tx))).await?;
    let mut offered = Vec::new();
    while let Ok(response) = rx.try_recv() {
        if let UnsolicitedResponse::Other(data) = response
            && let Response::Capabilities(caps) = data.parsed()
        {
            offered.extend(caps.iter().filter_map(|c| match c {
                Capability::Auth(m) => Some(m.to_string()),
                _ => None,
            }));
        }
    }
    Ok(offered)
}

/// Logs in with a password.
async fn login(
    client: Client<Stream>,
    server: &Server,
    password: &str,
) -> Result<ImapSession, ImapError> {
    let name = format!("{}:{}", server.host, server.port);
    match tokio::time::timeout(STEP_TIMEOUT, client.login(&server.username, password)).await {
        Err(_) => Err(ImapError::Timeout(STEP_TIMEOUT)),
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(reason), _))) => Err(ImapError::Login {
            server: name,
            user: server.username.clone(),
            reason,
        }),
        Ok(Err((err, _))) => Err(err.into()),
    }
}

/// Connects and secures the connection, up to the greeting (and STARTTLS).
async fn open(server: &Server) -> Result<Client<Stream>, ImapError> {
    let name = format!("{}:{}", server.host, server.port);
    let lost = |source: std::io::Error| ImapError::Network {
        server: name.clone(),
        source,
    };
    let tcp = tokio::time::timeout(STEP_TIMEOUT, net::tcp(&server.host, server.port))
        .await
        .map_err(|_| ImapError::Timeout(STEP_TIMEOUT))?
        .map_err(lost)?;
    let tls = || net::tls_connector(server).map_err(ImapError::Tls);
    let client = match server.security {
        Security::Plain => {
            let mut client = Client::new(Stream::Plain(tcp));
            greeting(&mut client).await?;
            client
        }
        Security::Tls => {
            let (connector, host) = tls()?;
            let stream = step(connector.connect(host, tcp)).await?;
            let mut client = Client::new(Stream::Tls(Box::new(stream)));
            greeting(&mut client).await?;
            client
        }
        Security::Starttls => {
            let mut client = Client::new(tcp);
            let greeted = step(client.read_response()).await?;
            if greeted.is_none() {
                return Err(lost(std::io::ErrorKind::UnexpectedEof.into()));
            }
            step(client.run_command_and_check_ok("STARTTLS", None)).await?;
            let tcp = client.into_inner();
            let (connector, host) = tls()?;
            let stream = step(connector.connect(host, tcp)).await?;
            Client::new(Stream::Tls(Box::new(stream)))
        }
    };
    Ok(client)
}

async fn greeting(client: &mut Client<Stream>) -> Result<(), ImapError> {
    match step(client.read_response()).await? {
        Some(_) => Ok(()),
        None => Err(ImapError::Network {
            server: "server".into(),
            source: std::io::ErrorKind::UnexpectedEof.into(),
        }),
    }
}

/// What SELECT said about the mailbox.
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// UIDNEXT (the UID the next message will get).
    pub uidnext: u32,
    /// True when the server lets clients set new keywords (`\*` in PERMANENTFLAGS).
    pub keywords: bool,
}

/// Selects `mailbox`.
pub async fn select(session: &mut ImapSession, mailbox: &str) -> Result<Selected, ImapError> {
    let m = step(session.select(mailbox)).await?;
    let keywords = m.permanent_flags.iter().any(|f| {
        matches!(f, async_imap::types::Flag::MayCreate)
            || matches!(f, async_imap::types::Flag::Custom(k) if k == KEYWORD)
    });
    Ok(Selected {
        uidvalidity: m.uid_validity.unwrap_or(0),
        uidnext: m.uid_next.unwrap_or(1),
        keywords,
    })
}

/// NOOP: the server reports what changed in the selected mailbox (new mail as `EXISTS`), read
/// with [`pending_changes`].
pub async fn noop(session: &mut ImapSession) -> Result<(), ImapError> {
    step(session.noop()).await
}

/// True when the server announces IDLE.
pub async fn has_idle(session: &mut ImapSession) -> Result<bool, ImapError> {
    Ok(step(session.capabilities()).await?.has_str("IDLE"))
}

/// The UIDs above `after`, ascending.
pub async fn uids_after(session: &mut ImapSession, after: u32) -> Result<Vec<u32>, ImapError> {
    let next = after.saturating_add(1);
    let found = step(session.uid_search(format!("UID {next}:*"))).await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > after).collect();
    uids.sort_unstable();
    Ok(uids)
}

/// The UIDs of the messages the server received on or after the day before `since` (SEARCH
/// SINCE counts whole days in the server's zone), ascending.
pub async fn uids_since(
    session: &mut ImapSession,
    since: DateTime<Utc>,
) -> Result<Vec<u32>, ImapError> {
    let day = (since - chrono::Duration::days(1)).format("%d-%b-%Y");
    let found = step(session.uid_search(format!("SINCE {day}"))).await?;
    let mut uids: Vec<u32> = found.into_iter().collect();
    uids.sort_unstable();
    Ok(uids)
}

/// A fetched message: whole when small, else only what deciding it reads.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Its UID.
    pub uid: u32,
    /// INTERNALDATE: when the server received it.
    pub arrival: Option<DateTime<Utc>>,
    /// What was fetched of it.
    pub content: Content,
}

/// What was fetched of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The whole message.
    Whole(Vec<u8>),
    /// A large message: its header, and the start of the text part deciding it reads (with that
    /// part's own MIME header, or `None` when the message is that part).
    Excerpt {
        /// The message header.
        header: Vec<u8>,
        /// The text part's MIME header (`BODY[n.MIME]`).
        mime: Option<Vec<u8>>,
        /// The first [`EXCERPT`] bytes of the text part, still transfer-encoded.
        body: Vec<u8>,
    },
}

impl Fetched {
    /// Parses what was fetched.
    pub fn parse(&self) -> crate::mail::Inbound {
        match &self.content {
            Content::Whole(raw) => crate::mail::Inbound::parse(raw),
            Content::Excerpt { header, mime, body } => {
                crate::mail::Inbound::parse_excerpt(header, mime.as_deref(), body)
            }
        }
    }
}

/// A message up to this size is fetched whole; a larger one in parts.
pub const WHOLE_LIMIT: u32 = 256 * 1024;
/// At most this many bytes of whole messages are fetched at once.
const BATCH_BYTES: u64 = 4 * 1024 * 1024;
/// At most this many messages are fetched at once.
const BATCH_COUNT: usize = 50;
/// How much of a large message's text part is fetched: the same 64 KiB the own-text cut keeps.
pub const EXCERPT: u32 = 64 * 1024;
/// A large message whose structure gives no text part: this much of its start is fetched.
const PREFIX: u32 = 1024 * 1024;

/// The sizes (RFC822.SIZE) of the messages `uids`, in UID order.
pub async fn sizes(session: &mut ImapSession, uids: &[u32]) -> Result<Vec<(u32, u32)>, ImapError> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let fetches = uid_fetch(session, uid_set(uids), "(UID RFC822.SIZE)").await?;
    let mut out: Vec<(u32, u32)> = fetches
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// The fetches for `uids`: their sizes asked in chunks of 500, then [`batches`].
pub async fn plan(session: &mut ImapSession, uids: &[u32]) -> Result<Vec<Batch>, ImapError> {
    let mut sized = Vec::new();
    for chunk in uids.chunks(500) {
        sized.extend(sizes(session, chunk).await?);
    }
    Ok(batches(&sized))
}

/// Splits sized messages into fetches: small ones together up to 4 MiB and 50 messages, each
/// large one alone. Memory stays bounded by the batch whatever the mail.
pub fn batches(sized: &[(u32, u32)]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut small: Vec<u32> = Vec::new();
    let mut bytes = 0u64;
    for &(uid, size) in sized {
        if size > WHOLE_LIMIT {
            if !small.is_empty() {
                out.push(Batch::Whole(std::mem::take(&mut small)));
                bytes = 0;
            }
            out.push(Batch::Large(uid));
            continue;
        }
        if !small.is_empty()
            && (small.len() == BATCH_COUNT || bytes + u64::from(size) > BATCH_BYTES)
        {
            out.push(Batch::Whole(std::mem::take(&mut small)));
            bytes = 0;
        }
        small.push(uid);
        bytes += u64::from(size);
    }
    if !small.is_empty() {
        out.push(Batch::Whole(small));
    }
    out
}

/// One fetch of the catch-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// Small messages, fetched whole in one command.
    Whole(Vec<u32>),
    /// One large message, fetched in parts.
    Large(u32),
}

/// `UID FETCH set items`, every response collected.
async fn uid_fetch(
    session: &mut ImapSession,
    set: String,
    items: &str,
) -> Result<Vec<Fetch>, ImapError> {
    step(async { session.uid_fetch(set, items).await?.try_collect().await }).await
}

fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Fetches one batch (without setting \Seen), in UID order.
pub async fn fetch(session: &mut ImapSession, batch: &Batch) -> Result<Vec<Fetched>, ImapError> {
    match batch {
        Batch::Whole(uids) => fetch_whole(session, uids).await,
        Batch::Large(uid) => Ok(fetch_large(session, *uid).await?.into_iter().collect()),
    }
}

/// Fetches whole messages by UID.
async fn fetch_whole(session: &mut ImapSession, uids: &[u32]) -> Result<Vec<Fetched>, ImapError> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let fetches = uid_fetch(session, uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])").await?;
    let mut out: Vec<Fetched> = fetches
        .iter()
        .filter_map(|f| {
            Some(Fetched {
                uid: f.uid?,
                arrival: f.internal_date().map(|d| d.to_utc()),
                content: Content::Whole(f.body().unwrap_or_default().to_vec()),
            })
        })
        .collect();
    out.sort_by_key(|f| f.uid);
    Ok(out)
}

/// Fetches a large message in parts: BODYSTRUCTURE and the header first, then the start of the
/// text part deciding reads. A structure without a usable text part (or a server whose
/// BODYSTRUCTURE cannot be parsed) gets the first [`PREFIX`] bytes of the message instead: the
/// text comes before the attachments in nearly every mail.
async fn fetch_large(session: &mut ImapSession, uid: u32) -> Result<Option<Fetched>, ImapError> {
    use async_imap::imap_proto::{MessageSection, SectionPath};
    let first = uid_fetch(
        session,
        uid.to_string(),
        "(UID INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER])",
    )
    .await?;
    let Some(f) = first.iter().find(|f| f.uid == Some(uid)) else {
        return Ok(None);
    };
    let arrival = f.internal_date().map(|d| d.to_utc());
    let header = f.header().unwrap_or_default().to_vec();
    let part = f.bodystructure().and_then(text_part);
    let (items, body_path, mime_path) = match &part {
        Some(path) if path.is_empty() => (
            format!("(UID BODY.PEEK[TEXT]<0.{EXCERPT}>)"),
            SectionPath::Full(MessageSection::Text),
            None,
        ),
        Some(path) => {
            let dotted = path
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(".");
            (
                format!("(UID BODY.PEEK[{dotted}.MIME] BODY.PEEK[{dotted}]<0.{EXCERPT}>)"),
                SectionPath::Part(path.clone(), None),
                Some(SectionPath::Part(path.clone(), Some(MessageSection::Mime))),
            )
        }
        None => {
            let items = format!("(UID BODY.PEEK[]<0.{PREFIX}>)");
            let fetches = uid_fetch(session, uid.to_string(), &items).await?;
            let raw = fetches
                .iter()
                .find(|f| f.uid == Some(uid))
                .and_then(|f| f.body())
                .unwrap_or_default()
                .to_vec();
            return Ok(Some(Fetched {
                uid,
                arrival,
                content: Content::Whole(raw),
            }));
        }
    };
    let second = uid_fetch(session, uid.to_string(), &items).await?;
    let f = second.iter().find(|f| f.uid == Some(uid));
    let body = f
        .and_then(|f| f.section(&body_path))
        .unwrap_or_default()
        .to_vec();
    let mime = mime_path.map(|p| f.and_then(|f| f.section(&p)).unwrap_or_default().to_vec());
    Ok(Some(Fetched {
        uid,
        arrival,
        content: Content::Excerpt { header, mime, body },
    }))
}

/// The part a decision reads: the first text/plain that is not an attachment, else the first
/// such text/html, depth first; forwarded messages (message/rfc822) are not entered. The path
/// is empty when the message itself is that part; `None` when there is none.
pub fn text_part(structure: &async_imap::imap_proto::BodyStructure<'_>) -> Option<Vec<u32>> {
    use async_imap::imap_proto::BodyStructure;
    fn walk<'a>(b: &'a BodyStructure<'a>, path: &mut Vec<u32>, found: &mut Vec<(Vec<u32>, bool)>) {
        match b {
            BodyStructure::Text { common, .. } => {
                let attached = common
                    .disposition
                    .as_ref()
                    .is_some_and(|d| d.ty.eq_ignore_ascii_case("attachment"));
                let sub = &common.ty.subtype;
                if !attached
                    && (sub.eq_ignore_ascii_case("plain") || sub.eq_ignore_ascii_case("html"))
                {
                    found.push((path.clone(), sub.eq_ignore_ascii_case("plain")));
                }
            }
            BodyStructure::Multipart { bodies, .. } => {
                for (i, child) in bodies.iter().enumerate() {
                    path.push(u32::try_from(i + 1).unwrap_or(u32::MAX));
                    walk(child, path, found);
                    path.pop();
                }
            }
            BodyStructure::Basic { .. } | BodyStructure::Message { .. } => {}
        }
    }
    let mut found = Vec::new();
    walk(structure, &mut Vec::new(), &mut found);
    let plain = found.iter().find(|(_, plain)| *plain);
    plain.or(found.first()).map(|(p, _)| p.clone())
}

/// The mailbox marked SPECIAL-USE `\Sent`, if any.
pub async fn find_sent(session: &mut ImapSession) -> Result<Option<String>, ImapError> {
    let names: Vec<async_imap::types::Name> =
        step(async { session.list(Some(""), Some("*")).await?.try_collect().await }).await?;
    Ok(names
        .iter()
        .find(|n| n.attributes().contains(&NameAttribute::Sent))
        .map(|n| n.name().to_string()))
}

/// Appends `message` to `folder`, marked \Seen.
pub async fn append(
    session: &mut ImapSession,
    folder: &str,
    message: &[u8],
) -> Result<(), ImapError> {
    step(session.append(folder, Some("(\\Seen)"), None, message)).await
}

/// True when `folder` holds a message with Message-ID `<id>` (selects `folder`).
pub async fn holds_message_id(
    session: &mut ImapSession,
    folder: &str,
    id: &str,
) -> Result<bool, ImapError> {
    step(session.examine(folder)).await?;
    let quoted = format!("<{id}>").replace('\\', "\\\\").replace('"', "\\\"");
    let found = step(session.uid_search(format!("HEADER Message-ID \"{quoted}\""))).await?;
    Ok(!found.is_empty())
}

/// Sets [`KEYWORD`] on the messages `uids` of the selected mailbox, in one command.
pub async fn mark_answered(session: &mut ImapSession, uids: &[u32]) -> Result<(), ImapError> {
    if uids.is_empty() {
        return Ok(());
    }
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    step(async {
        session
            .uid_store(set, format!("+FLAGS.SILENT ({KEYWORD})"))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await
    .map(|_| ())
}

/// True when the server already told us of new or vanished messages (so IDLE must not start).
pub fn pending_changes(session: &mut ImapSession) -> bool {
    let mut changed = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        if matches!(
            r,
            UnsolicitedResponse::Exists(_)
                | UnsolicitedResponse::Recent(_)
                | UnsolicitedResponse::Expunge(_)
        ) {
            changed = true;
        }
    }
    changed
}

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The server reported new mail (EXISTS).
    Mail,
    /// The server sent other news (flags, expunges), or news a NOOP poll cannot tell apart.
    News,
    /// The IDLE period ran out; re-issue it.
    Timeout,
    /// Shutdown or reload asked us to stop.
    Stopped,
}

/// Waits in IDLE for at most `period`, or until `stop` is cancelled; hands the session back.
///
/// A connection can die without a FIN (a NAT that forgot it, a frozen server), and TCP would
/// only notice when something is written. So IDLE never stays silent longer than `check`: when
/// the server has sent nothing for that long (Dovecot says `* OK Still here` every 2 minutes),
/// DONE is sent, and a server that does not answer it within `check` (at most 30 s) is gone.
/// A frozen server is noticed within `check` plus that, and IDLE is re-issued at least every
/// `period` in any case.
pub async fn idle(
    session: ImapSession,
    period: Duration,
    check: Duration,
    stop: &CancellationToken,
) -> Result<(ImapSession, Woken), ImapError> {
    use async_imap::imap_proto::{MailboxDatum, Response, Status};
    let mut handle = session.idle();
    step(handle.init()).await?;
    let end = tokio::time::Instant::now() + period;
    let woken = loop {
        let left = end.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break Woken::Timeout;
        }
        let wait = left.min(check);
        let next = tokio::select! {
            r = tokio::time::timeout(wait, handle.next()) => r,
            () = stop.cancelled() => break Woken::Stopped,
        };
        match next {
            // Silent for `check` (or the period is over): DONE tells whether it is alive.
            Err(_) => break Woken::Timeout,
            Ok(None) => return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()),
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(Some(Ok(response))) => match response.parsed() {
                // Keepalives ("* OK Still here") and the continuation: nothing new.
                Response::Data {
                    status: Status::Ok, ..
                }
                | Response::Continue { .. } => {}
                Response::MailboxData(MailboxDatum::Exists(_)) => break Woken::Mail,
                _ => break Woken::News,
            },
        }
    };
    let answer = check.min(DONE_TIMEOUT);
    match tokio::time::timeout(answer, handle.done()).await {
        Ok(session) => Ok((session?, woken)),
        Err(_) => Err(ImapError::Silent {
            quiet: check,
            answer,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::Mechanism;

    #[test]
    fn mechanism_follows_the_capabilities() {
        assert_eq!(
            Mechanism::choose(["PLAIN", "OAUTHBEARER", "xoauth2"]),
            Some(Mechanism::Xoauth2)
        );
        assert_eq!(
            Mechanism::choose(["PLAIN", "OAUTHBEARER"]),
            Some(Mechanism::OAuthBearer)
        );
        assert_eq!(Mechanism::choose(["PLAIN", "LOGIN"]), None);
    }
}
