//! The IMAP side: connecting (implicit TLS, STARTTLS, or plain towards loopback), finding new
//! messages by UID, waiting for more with IDLE, and filing replies (Sent folder, keyword).
//!
//! async-imap speaks the protocol; this module adds TLS through tokio-rustls, the connection
//! recipe, and errors that say whether trying again can help.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::types::{Fetch, NameAttribute, UnsolicitedResponse};
use async_imap::{Client, Session};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::config::{Security, Server};

/// How long one network step may take before the connection counts as dead.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// The TLS settings cannot be used.
    #[error("TLS setup: {0}")]
    Tls(String),
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
        !matches!(self, ImapError::Login { .. } | ImapError::Tls(_))
    }
}

/// A connection to an IMAP server, with or without TLS.
#[derive(Debug)]
pub enum Stream {
    /// Plain TCP (loopback only, by config rule).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A logged-in IMAP session.
pub type ImapSession = Session<Stream>;

/// The rustls client settings: the web PKI roots plus `ca_file` when given.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("ca_file {} holds no certificate", path.display()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn step<T, E>(fut: impl Future<Output = Result<T, E>>) -> Result<T, ImapError>
where
    ImapError: From<E>,
{
    match tokio::time::timeout(STEP_TIMEOUT, fut).await {
        Ok(r) => r.map_err(ImapError::from),
        Err(_) => Err(ImapError::Timeout(STEP_TIMEOUT)),
    }
}

/// Connects, secures and logs in.
pub async fn connect(server: &Server, password: &str) -> Result<ImapSession, ImapError> {
    let name = format!("{}:{}", server.host, server.port);
    let net = |source: std::io::Error| ImapError::Network {
        server: name.clone(),
        source,
    };
    let tcp = tokio::time::timeout(
        STEP_TIMEOUT,
        TcpStream::connect((server.host.as_str(), server.port)),
    )
    .await
    .map_err(|_| ImapError::Timeout(STEP_TIMEOUT))?
    .map_err(net)?;
    let _ = tcp.set_nodelay(true);
    // A connection that dies silently (a NAT timeout, a server gone without a FIN) would
    // otherwise only be noticed when the 25-minute IDLE ends.
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(15));
    let _ = socket2::SockRef::from(&tcp).set_tcp_keepalive(&keepalive);
    let tls = || -> Result<(TlsConnector, ServerName<'static>), ImapError> {
        let config = tls_config(server.ca_file.as_deref()).map_err(ImapError::Tls)?;
        let host = ServerName::try_from(server.host.clone())
            .map_err(|e| ImapError::Tls(format!("{}: {e}", server.host)))?;
        Ok((TlsConnector::from(config), host))
    };
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
                return Err(net(std::io::ErrorKind::UnexpectedEof.into()));
            }
            step(client.run_command_and_check_ok("STARTTLS", None)).await?;
            let tcp = client.into_inner();
            let (connector, host) = tls()?;
            let stream = step(connector.connect(host, tcp)).await?;
            Client::new(Stream::Tls(Box::new(stream)))
        }
    };
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

/// A fetched message.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Its UID.
    pub uid: u32,
    /// INTERNALDATE: when the server received it.
    pub arrival: Option<DateTime<Utc>>,
    /// The raw message.
    pub raw: Vec<u8>,
}

/// Fetches whole messages by UID (without setting \Seen).
pub async fn fetch(session: &mut ImapSession, uids: &[u32]) -> Result<Vec<Fetched>, ImapError> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let fetches: Vec<Fetch> = step(async {
        session
            .uid_fetch(set, "(UID INTERNALDATE BODY.PEEK[])")
            .await?
            .try_collect()
            .await
    })
    .await?;
    let mut out: Vec<Fetched> = fetches
        .iter()
        .filter_map(|f| {
            Some(Fetched {
                uid: f.uid?,
                arrival: f.internal_date().map(|d| d.to_utc()),
                raw: f.body().unwrap_or_default().to_vec(),
            })
        })
        .collect();
    out.sort_by_key(|f| f.uid);
    Ok(out)
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

/// Sets [`KEYWORD`] on the message `uid` of the selected mailbox.
pub async fn mark_answered(session: &mut ImapSession, uid: u32) -> Result<(), ImapError> {
    step(async {
        session
            .uid_store(uid.to_string(), format!("+FLAGS ({KEYWORD})"))
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
    /// The server sent news (new mail, most likely).
    News,
    /// The IDLE period ran out; re-issue it.
    Timeout,
    /// Shutdown or reload asked us to stop.
    Stopped,
}

/// Waits in IDLE for at most `period`, or until `stop` is cancelled; hands the session back.
pub async fn idle(
    session: ImapSession,
    period: Duration,
    stop: &CancellationToken,
) -> Result<(ImapSession, Woken), ImapError> {
    let mut handle = session.idle();
    step(handle.init()).await?;
    let woken = {
        let (wait, interrupt) = handle.wait_with_timeout(period);
        tokio::select! {
            r = wait => match r? {
                async_imap::extensions::idle::IdleResponse::NewData(_) => Woken::News,
                async_imap::extensions::idle::IdleResponse::Timeout => Woken::Timeout,
                async_imap::extensions::idle::IdleResponse::ManualInterrupt => Woken::Stopped,
            },
            () = stop.cancelled() => {
                drop(interrupt);
                Woken::Stopped
            }
        }
    };
    let session = step(handle.done()).await?;
    Ok((session, woken))
}
