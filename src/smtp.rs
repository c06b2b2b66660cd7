//! The SMTP side: one pooled lettre transport that sends the outbox's exact bytes, and errors
//! that say whether to retry (4xx, network) or give up (5xx), which is the outbox's retry policy.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Security, Server};
use crate::oauth::{AuthError, Credential, TokenSource};

type Transport = AsyncSmtpTransport<Tokio1Executor>;
type Builder = lettre::transport::smtp::AsyncSmtpTransportBuilder;

/// How long one SMTP step may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of a failed send.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later: a 4xx answer, or the server could not be reached.
    #[error("{0}")]
    Transient(String),
    /// Never try again: a 5xx answer or an unusable address. The text is the server's.
    #[error("{0}")]
    Permanent(String),
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

/// How the transport logs in.
enum Login {
    /// A password: one transport for good.
    Password(Transport),
    /// OAuth2.
    Token(Box<TokenLogin>),
}

/// OAuth2 logins: a transport per access token (pooled connections stay logged in with the
/// token they started with; new ones need the current token).
struct TokenLogin {
    source: Arc<TokenSource>,
    user: String,
    builder: Builder,
    current: Mutex<Option<(String, Transport)>>,
}

impl TokenLogin {
    /// The transport for `token`, built once per token.
    fn transport(&self, token: &str) -> Transport {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, transport)) = current.as_ref()
            && t == token
        {
            return transport.clone();
        }
        let transport = self
            .builder
            .clone()
            .credentials(Credentials::new(self.user.clone(), token.to_string()))
            .build();
        *current = Some((token.to_string(), transport.clone()));
        transport
    }
}

/// A pooled SMTP transport.
#[derive(Clone)]
pub struct Mailer {
    login: Arc<Login>,
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .finish()
    }
}

/// True when an SMTP error means the server refused the access token: `535`, or lettre giving
/// up on an error challenge (`334` + JSON, Gmail's way), which it reports as a client error.
fn token_refused(e: &lettre::transport::smtp::Error) -> bool {
    e.status().is_some_and(|c| c.to_string() == "535")
        || (e.is_client() && e.to_string().contains("challenge"))
}

impl Mailer {
    /// Builds the transport (no connection is made yet).
    pub fn new(server: &Server, credential: &Credential) -> Result<Mailer, String> {
        let tls = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(server.host.clone());
            if let Some(path) = &server.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                builder = builder.add_root_certificate(cert);
            }
            builder.build_rustls().map_err(|e| e.to_string())
        };
        let tls = match server.security {
            Security::Tls => Tls::Wrapper(tls()?),
            Security::Starttls => Tls::Required(tls()?),
            Security::Plain => Tls::None,
        };
        let builder = Transport::builder_dangerous(server.host.clone())
            .port(server.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(60)),
            );
        let login = match credential {
            Credential::Password(password) => Login::Password(
                builder
                    .credentials(Credentials::new(
                        server.username.clone(),
                        password.to_string(),
                    ))
                    .build(),
            ),
            Credential::Token(source) => Login::Token(Box::new(TokenLogin {
                source: source.clone(),
                user: server.username.clone(),
                builder: builder.authentication(vec![Mechanism::Xoauth2]),
                current: Mutex::new(None),
            })),
        };
        Ok(Mailer {
            login: Arc::new(login),
            server: format!("{}:{}", server.host, server.port),
        })
    }

    /// Runs `op` on the right transport. With OAuth2, a refused token is refreshed once and `op`
    /// tried once more.
    async fn with_transport<T, F, Fut>(&self, op: F) -> Result<T, SendError>
    where
        F: Fn(Transport) -> Fut,
        Fut: Future<Output = Result<T, lettre::transport::smtp::Error>>,
    {
        let login = match self.login.as_ref() {
            Login::Password(transport) => {
                return op(transport.clone()).await.map_err(|e| self.classify(e));
            }
            Login::Token(login) => login,
        };
        let token = login.source.token().await?;
        match op(login.transport(&token)).await {
            Err(e) if token_refused(&e) => {
                tracing::info!(
                    "smtp: {} refused the access token ({e}); refreshing it once",
                    self.server
                );
            }
            other => return other.map_err(|e| self.classify(e)),
        }
        let token = login.source.rejected(&token).await?;
        match op(login.transport(&token)).await {
            // A fresh token refused too: the account or its scopes are wrong, or the server is
            // confused. The reply waits and is tried again later.
            Err(e) if token_refused(&e) => Err(SendError::Transient(format!(
                "{}: a freshly refreshed access token was refused too ({e}): check the account's scopes and smtp.username",
                self.server
            ))),
            other => other.map_err(|e| self.classify(e)),
        }
    }

    fn classify(&self, e: lettre::transport::smtp::Error) -> SendError {
        if e.is_permanent() {
            SendError::Permanent(format!("{}: {e}", self.server))
        } else {
            SendError::Transient(format!("{}: {e}", self.server))
        }
    }

    /// Sends `message` as it is from `from` to `to`.
    pub async fn send(&self, from: &str, to: &str, message: &[u8]) -> Result<(), SendError> {
        let parse = |a: &str| {
            a.parse()
                .map_err(|e| SendError::Permanent(format!("cannot use address {a}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        self.with_transport(|t| {
            let envelope = envelope.clone();
            async move { t.send_raw(&envelope, message).await.map(|_| ()) }
        })
        .await
    }

    /// Connects, says EHLO, authenticates, and quits: what `plazo check` asks of the server.
    pub async fn check(&self) -> Result<(), String> {
        match self
            .with_transport(|t| async move { t.test_connection().await })
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "{}: the server did not accept the connection",
                self.server
            )),
            Err(e) => Err(e.to_string()),
        }
    }
}
