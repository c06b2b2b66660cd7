//! The SMTP side: plazo's own connection to the submission server, a timeout on every step, and
//! the phase a failure happened in, which is what decides whether a reply may be tried again.
//!
//! lettre speaks the protocol (commands, answers, STARTTLS, AUTH); this module owns the
//! connection: TCP with Nagle off from [`crate::net`] (lettre's own pool writes the end of the
//! data as a separate small record and waits 40 ms for the server's delayed ACK on every reply),
//! kept warm between replies and checked with NOOP after a quiet spell. When the server offers
//! PIPELINING (RFC 2920), MAIL FROM, RCPT TO and DATA go out in one write and their answers are
//! read in order: two round trips fewer per reply. News of mail opens a connection ahead when
//! none is open ([`Mailer::prewarm`]). A failure before the
//! message was sent leaves nothing at the server: try again later. After the message was sent
//! and before the server's final answer, the reply may or may not have been delivered: it is
//! uncertain, and never sent a second time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use crate::config::{Security, Server};
use crate::net::{self, Stream};
use crate::oauth::{AuthError, Credential, TokenSource};

/// A connection unused for less than this is used again as it is.
const WARM_QUIET: Duration = Duration::from_secs(5);

/// A connection unused for longer than this is closed instead of checked: servers drop idle
/// submission connections after a few minutes.
const WARM_LIMIT: Duration = Duration::from_secs(60);

/// The outcome of a failed send.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later: nothing was delivered (no connection, a refused login, a 4xx answer, a
    /// silence before the message was sent).
    #[error("{0}")]
    Transient(String),
    /// Never try again: a 5xx answer or an unusable address. The text is the server's.
    #[error("{0}")]
    Permanent(String),
    /// The message was sent but its final answer never came: it may have been delivered, so it
    /// is never sent again.
    #[error("{0}")]
    Uncertain(String),
    /// Not tried: the account's OAuth2 grant is unusable until `plazo auth login` and a reload.
    #[error(transparent)]
    Paused(AuthError),
}

impl From<AuthError> for SendError {
    fn from(e: AuthError) -> Self {
        if e.pauses() {
            SendError::Paused(e)
        } else {
            SendError::Transient(e.to_string())
        }
    }
}

impl AsyncTokioStream for Stream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        match self {
            Stream::Plain(s) => s.peer_addr(),
            Stream::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }
}

/// One connection to the server, and what it offers that lettre does not keep.
struct Conn {
    smtp: AsyncSmtpConnection,
    /// The server offered PIPELINING (RFC 2920).
    pipelining: bool,
    _live: Live,
}

/// Counts a connection in [`Inner::live`] while it exists.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: &Arc<AtomicUsize>) -> Live {
        count.fetch_add(1, Ordering::AcqRel);
        Live(count.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How the connection logs in.
enum Login {
    /// A password.
    Password(String),
    /// An OAuth2 access token (XOAUTH2).
    Token(Arc<TokenSource>),
}

/// The senders' connections to one SMTP server, kept warm between replies.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    server: Server,
    /// host:port, for messages.
    name: String,
    login: Login,
    /// lettre's TLS settings for STARTTLS.
    starttls: Option<TlsParameters>,
    /// The connector for implicit TLS (built once: it reads `ca_file`).
    implicit: Option<(
        tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    )>,
    timeout: Duration,
    hello: ClientId,
    /// Connections kept between replies (at most `smtp.connections`), the latest used last.
    warm: tokio::sync::Mutex<Vec<(Conn, Instant)>>,
    keep: usize,
    /// Held while a connection is opened ahead of a reply ([`Mailer::prewarm`]); what went
    /// wrong with the last one.
    ahead: Arc<tokio::sync::Mutex<Option<SendError>>>,
    /// Our connections to the server now, warm or carrying a reply.
    live: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.inner.name)
            .finish()
    }
}

/// A transaction opened up to DATA's `354`: the server waits for the message.
pub struct Transaction {
    conn: Conn,
}

/// A connection ready for a transaction: connected, greeted, secured and logged in.
pub struct Ready {
    conn: Conn,
    /// Kept from an earlier reply (it may have gone stale since).
    reused: bool,
}

/// True when an SMTP error means the server refused the access token: `535`, or lettre giving
/// up on an error challenge (`334` + JSON, Gmail's way), which it reports as a client error.
fn token_refused(e: &SmtpError) -> bool {
    e.status().is_some_and(|c| c.to_string() == "535")
        || (e.is_client() && e.to_string().contains("challenge"))
}

/// Why opening a connection failed.
enum OpenError {
    /// The server refused the login: with OAuth2, a fresh access token may do.
    LoginRefused(SmtpError),
    Failed(SendError),
}

impl From<SendError> for OpenError {
    fn from(e: SendError) -> Self {
        OpenError::Failed(e)
    }
}

impl Mailer {
    /// Prepares the sender (no connection is made yet); fails on an unusable `ca_file`.
    pub fn new(server: &Server, credential: &Credential) -> Result<Mailer, String> {
        let starttls = match server.security {
            Security::Starttls => {
                let mut builder = TlsParameters::builder(server.host.clone());
                if let Some(path) = &server.ca_file {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                    builder = builder.add_root_certificate(cert);
                }
                Some(builder.build_rustls().map_err(|e| e.to_string())?)
            }
            Security::Tls | Security::Plain => None,
        };
        let implicit = match server.security {
            Security::Tls => Some(net::tls_connector(server)?),
            Security::Starttls | Security::Plain => None,
        };
        let login = match credential {
            Credential::Password(password) => Login::Password(password.to_string()),
            Credential::Token(source) => Login::Token(source.clone()),
        };
        let hello = ClientId::default();
        Ok(Mailer {
            inner: Arc::new(Inner {
                name: format!("{}:{}", server.host, server.port),
                server: server.clone(),
                login,
                starttls,
                implicit,
                timeout: server.timeout.to_std().unwrap_or(Duration::from_secs(60)),
                hello,
                warm: tokio::sync::Mutex::new(Vec::new()),
                keep: server.connections.max(1),
                ahead: Arc::default(),
                live: Arc::default(),
            }),
        })
    }

    /// A connection ready for the next reply: the warm one when it is still alive (checked with
    /// NOOP after a few quiet seconds), else a new one. Nothing of a reply has been sent yet, so every failure
    /// here is safe to retry.
    pub async fn ready(&self) -> Result<Ready, SendError> {
        let mut warm = self.inner.warm.lock().await.pop();
        // One being opened ahead ([`Mailer::prewarm`]) is this reply's: wait for it rather
        // than open a second.
        if warm.is_none() && self.inner.ahead.try_lock().is_err() {
            if let Some(e) = self.inner.ahead.lock().await.take() {
                return Err(e);
            }
            warm = self.inner.warm.lock().await.pop();
        }
        if let Some((mut conn, since)) = warm {
            let idle = since.elapsed();
            if idle < WARM_QUIET {
                return Ok(Ready { conn, reused: true });
            }
            if idle < WARM_LIMIT
                && matches!(
                    tokio::time::timeout(self.inner.timeout, conn.smtp.test_connected()).await,
                    Ok(true)
                )
            {
                return Ok(Ready { conn, reused: true });
            }
            close(conn, self.inner.timeout).await;
        }
        Ok(Ready {
            conn: self.open().await?,
            reused: false,
        })
    }

    /// New mail was announced: when the server has no connection of ours (none warm, none
    /// carrying a reply), opens one in the background, so a reply the mail may need finds it
    /// ready instead of waiting for the connect, TLS and login after the decision. A reply
    /// that comes while it is being opened waits for it (and reports its failure as its own).
    pub fn prewarm(&self) {
        if self.inner.live.load(Ordering::Acquire) > 0 {
            return;
        }
        let Ok(mut failed) = self.inner.ahead.clone().try_lock_owned() else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            *failed = None;
            match this.open().await {
                Ok(conn) => this.inner.warm.lock().await.push((conn, Instant::now())),
                Err(e) => {
                    tracing::debug!(
                        "smtp: {}: no connection opened ahead of a reply: {e}",
                        this.inner.name
                    );
                    *failed = Some(e);
                }
            }
        });
    }

    /// Opens the transaction for `message` from `from` to `to` over `ready`: MAIL FROM, RCPT
    /// TO and DATA, up to the server's `354`. Nothing is delivered until [`Mailer::finish`]
    /// sends the message itself: a failure or a stop before then leaves nothing at the server.
    pub async fn begin(
        &self,
        ready: Ready,
        from: &str,
        to: &str,
        message: &[u8],
    ) -> Result<Transaction, SendError> {
        let parse = |a: &str| {
            a.parse::<Address>()
                .map_err(|e| SendError::Permanent(format!("cannot use address {a}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        let Ready { mut conn, reused } = ready;
        match self.envelope(&mut conn, &envelope, message).await {
            Ok(()) => {}
            // A warm connection the server closed meanwhile: a new one, once (nothing of the
            // reply reached the server).
            Err(e) if reused && stale(&e) => {
                tracing::debug!(
                    "smtp: {}: the kept connection was closed ({e})",
                    self.inner.name
                );
                conn = self.open().await?;
                self.envelope(&mut conn, &envelope, message)
                    .await
                    .map_err(|e| self.before_data(e))?;
            }
            Err(e) => {
                close(conn, self.inner.timeout).await;
                return Err(self.before_data(e));
            }
        }
        Ok(Transaction { conn })
    }

    /// Sends the message of `tx` and waits for the server's final answer. From the first byte
    /// on, a failure without that answer is [`SendError::Uncertain`]: the server may have
    /// taken the message.
    pub async fn finish(&self, tx: Transaction, message: &[u8]) -> Result<(), SendError> {
        let Transaction { mut conn } = tx;
        let t = self.inner.timeout;
        match tokio::time::timeout(t, conn.smtp.message(message)).await {
            Ok(Ok(_)) => {
                let extra = {
                    let mut warm = self.inner.warm.lock().await;
                    warm.push((conn, Instant::now()));
                    (warm.len() > self.inner.keep).then(|| warm.remove(0))
                };
                if let Some((conn, _)) = extra {
                    close(conn, self.inner.timeout).await;
                }
                Ok(())
            }
            // The server answered, and refused: nothing was delivered.
            Ok(Err(e)) if e.is_permanent() => {
                Err(SendError::Permanent(format!("{}: {e}", self.inner.name)))
            }
            Ok(Err(e)) if e.is_transient() => {
                Err(SendError::Transient(format!("{}: {e}", self.inner.name)))
            }
            Ok(Err(e)) => Err(SendError::Uncertain(format!(
                "{}: the message was sent, then {e} before the server's answer: it may or may not have been delivered",
                self.inner.name
            ))),
            Err(_) => Err(SendError::Uncertain(format!(
                "{}: the message was sent, but the server did not answer within {}: it may or may not have been delivered",
                self.inner.name,
                humantime::format_duration(t)
            ))),
        }
    }

    /// MAIL FROM, RCPT TO and DATA, each answer within the timeout: pipelined in one write
    /// when the server offers it, else one by one. The first refusal ends the transaction (the
    /// connection is then closed, so the answers still on their way do not matter).
    async fn envelope(
        &self,
        conn: &mut Conn,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), Failure> {
        let mut options = Vec::new();
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !conn
                .smtp
                .server_info()
                .supports_feature(Extension::SmtpUtfEight)
            {
                return Err(Failure::Refused(
                    "the addresses are not ASCII and the server has no SMTPUTF8".into(),
                ));
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !message.is_ascii() {
            if !conn
                .smtp
                .server_info()
                .supports_feature(Extension::EightBitMime)
            {
                return Err(Failure::Refused(
                    "the message is not ASCII and the server has no 8BITMIME".into(),
                ));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let t = self.inner.timeout;
        let mail = Mail::new(envelope.from().cloned(), options);
        let rcpts: Vec<Rcpt> = envelope
            .to()
            .iter()
            .map(|to| Rcpt::new(to.clone(), Vec::new()))
            .collect();
        let smtp = &mut conn.smtp;
        if conn.pipelining {
            let mut batch = mail.to_string();
            for rcpt in &rcpts {
                batch.push_str(&rcpt.to_string());
            }
            batch.push_str(&Data.to_string());
            step(t, "MAIL FROM", smtp.command(batch)).await?;
            for _ in &rcpts {
                step(t, "RCPT TO", smtp.read_response()).await?;
            }
            step(t, "DATA", smtp.read_response()).await?;
            return Ok(());
        }
        step(t, "MAIL FROM", smtp.command(mail)).await?;
        for rcpt in rcpts {
            step(t, "RCPT TO", smtp.command(rcpt)).await?;
        }
        step(t, "DATA", smtp.command(Data)).await?;
        Ok(())
    }

    /// What a failure before the message was sent means for the reply.
    fn before_data(&self, e: Failure) -> SendError {
        let name = &self.inner.name;
        match e {
            Failure::Smtp(e) if e.is_permanent() => SendError::Permanent(format!("{name}: {e}")),
            Failure::Refused(why) => SendError::Permanent(format!("{name}: {why}")),
            e => SendError::Transient(format!("{name}: {e}")),
        }
    }

    /// Opens a new connection, logged in; with OAuth2, a refused token is refreshed once.
    async fn open(&self) -> Result<Conn, SendError> {
        let source = match &self.inner.login {
            Login::Password(password) => {
                return match self.connect(password).await {
                    Ok(conn) => Ok(conn),
                    Err(OpenError::Failed(e)) => Err(e),
                    Err(OpenError::LoginRefused(e)) => Err(self.login_refused(&e)),
                };
            }
            Login::Token(source) => source,
        };
        let token = source.token().await?;
        match self.connect(&token).await {
            Ok(conn) => return Ok(conn),
            Err(OpenError::Failed(e)) => return Err(e),
            Err(OpenError::LoginRefused(e)) => tracing::info!(
                "smtp: {} refused the access token ({e}); refreshing it once",
                self.inner.name
            ),
        }
        let token = source.rejected(&token).await?;
        match self.connect(&token).await {
            Ok(conn) => Ok(conn),
            Err(OpenError::Failed(e)) => Err(e),
            // A fresh token refused too: the account or its scopes are wrong, or the server is
            // confused. The reply waits and is tried again later.
            Err(OpenError::LoginRefused(e)) => Err(SendError::Transient(format!(
                "{}: a freshly refreshed access token was refused too ({e}): check the account's scopes and smtp.username",
                self.inner.name
            ))),
        }
    }

    /// A refused password: the config is wrong; replies wait (and are retried with backoff)
    /// instead of failing one by one.
    fn login_refused(&self, e: &SmtpError) -> SendError {
        SendError::Transient(format!(
            "{} refused the login for {}: {e}: check smtp.username and the password",
            self.inner.name, self.inner.server.username
        ))
    }

    /// Connects, secures, greets and logs in with `secret` (a password or an access token).
    async fn connect(&self, secret: &str) -> Result<Conn, OpenError> {
        let inner = &*self.inner;
        let t = inner.timeout;
        let name = &inner.name;
        let wait = humantime::format_duration(t);
        let tcp = match tokio::time::timeout(t, net::tcp(&inner.server.host, inner.server.port))
            .await
        {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                return Err(SendError::Transient(format!("cannot reach {name}: {e}")).into());
            }
            Err(_) => {
                return Err(
                    SendError::Transient(format!("{name}: no connection within {wait}")).into(),
                );
            }
        };
        let stream = match &inner.implicit {
            Some((connector, host)) => {
                match tokio::time::timeout(t, connector.connect(host.clone(), tcp)).await {
                    Ok(Ok(tls)) => Stream::Tls(Box::new(tls)),
                    Ok(Err(e)) => {
                        return Err(SendError::Transient(format!("{name}: TLS: {e}")).into());
                    }
                    Err(_) => {
                        return Err(SendError::Transient(format!(
                            "{name}: no TLS handshake within {wait}"
                        ))
                        .into());
                    }
                }
            }
            None => Stream::Plain(tcp),
        };
        let transient =
            |e: Failure| OpenError::Failed(SendError::Transient(format!("{name}: {e}")));
        let mut conn = step(
            t,
            "the greeting",
            AsyncSmtpConnection::connect_with_transport(Box::new(stream), &inner.hello),
        )
        .await
        .map_err(transient)?;
        if let Some(params) = &inner.starttls {
            step(t, "STARTTLS", conn.starttls(params.clone(), &inner.hello))
                .await
                .map_err(transient)?;
        }
        // lettre keeps only the EHLO keywords it acts on; PIPELINING is read from a second EHLO,
        // before the login, where one is always allowed (RFC 5321 §4.1.4). One round trip per
        // connection, two saved on every reply it carries.
        let ehlo = step(t, "EHLO", conn.command(Ehlo::new(inner.hello.clone())))
            .await
            .map_err(transient)?;
        let pipelining = ehlo.message().skip(1).any(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case("PIPELINING"))
        });
        let (mechanisms, user) = match inner.login {
            Login::Password(_) => (
                &[Mechanism::Plain, Mechanism::Login][..],
                &inner.server.username,
            ),
            Login::Token(_) => (&[Mechanism::Xoauth2][..], &inner.server.username),
        };
        let credentials = Credentials::new(user.clone(), secret.to_string());
        match step(t, "AUTH", conn.auth(mechanisms, &credentials)).await {
            Ok(_) => {
                tracing::debug!(
                    "smtp: {name}: connected{}",
                    if pipelining { " (PIPELINING)" } else { "" }
                );
                Ok(Conn {
                    smtp: conn,
                    pipelining,
                    _live: Live::new(&inner.live),
                })
            }
            Err(Failure::Smtp(e)) if e.is_permanent() || token_refused(&e) => {
                Err(OpenError::LoginRefused(e))
            }
            Err(e) => Err(transient(e)),
        }
    }

    /// Connects, says EHLO, authenticates, and quits: what `plazo check` asks of the server.
    pub async fn check(&self) -> Result<(), String> {
        let conn = self.open().await.map_err(|e| e.to_string())?;
        close(conn, self.inner.timeout).await;
        Ok(())
    }

    /// Says QUIT on the warm connections (at shutdown).
    pub async fn close(&self) {
        let warm = std::mem::take(&mut *self.inner.warm.lock().await);
        for (conn, _) in warm {
            close(conn, self.inner.timeout).await;
        }
    }
}

/// A failed SMTP step.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// lettre's error: an answer, or the network.
    #[error("{0}")]
    Smtp(SmtpError),
    /// No answer in time.
    #[error("no answer to {0} within {1}")]
    Silent(&'static str, humantime::FormattedDuration),
    /// plazo will not send this over this server.
    #[error("{0}")]
    Refused(String),
}

/// True when a failure on a kept connection means the server closed it meanwhile.
fn stale(e: &Failure) -> bool {
    match e {
        Failure::Smtp(e) => {
            !e.is_permanent()
                && (!e.is_transient() || e.status().is_some_and(|c| c.to_string() == "421"))
        }
        Failure::Silent(..) | Failure::Refused(_) => false,
    }
}

/// Runs one SMTP step within `t`.
async fn step<T>(
    t: Duration,
    what: &'static str,
    fut: impl Future<Output = Result<T, SmtpError>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(t, fut).await {
        Ok(r) => r.map_err(Failure::Smtp),
        Err(_) => Err(Failure::Silent(what, humantime::format_duration(t))),
    }
}

/// QUIT, briefly: a connection that does not answer is simply dropped.
async fn close(mut conn: Conn, t: Duration) {
    let _ = tokio::time::timeout(t.min(Duration::from_secs(5)), conn.smtp.quit()).await;
}
