//! The SMTP side: one pooled lettre transport that sends the outbox's exact bytes, and errors
//! that say whether to retry (4xx, network) or give up (5xx), which is the outbox's retry policy.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{Security, Server};

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
}

/// A pooled SMTP transport.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .finish()
    }
}

impl Mailer {
    /// Builds the transport (no connection is made yet).
    pub fn new(server: &Server, password: &str) -> Result<Mailer, String> {
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
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
                .port(server.port)
                .tls(tls)
                .credentials(Credentials::new(
                    server.username.clone(),
                    password.to_string(),
                ))
                .timeout(Some(SMTP_TIMEOUT))
                .pool_config(
                    PoolConfig::new()
                        .max_size(4)
                        .idle_timeout(Duration::from_secs(60)),
                )
                .build();
        Ok(Mailer {
            transport,
            server: format!("{}:{}", server.host, server.port),
        })
    }

    /// Sends `message` as it is from `from` to `to`.
    pub async fn send(&self, from: &str, to: &str, message: &[u8]) -> Result<(), SendError> {
        let parse = |a: &str| {
            a.parse()
                .map_err(|e| SendError::Permanent(format!("cannot use address {a}: {e}")))
        };
        let envelope = Envelope::new(Some(parse(from)?), vec![parse(to)?])
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        match self.transport.send_raw(&envelope, message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => {
                Err(SendError::Permanent(format!("{}: {e}", self.server)))
            }
            Err(e) => Err(SendError::Transient(format!("{}: {e}", self.server))),
        }
    }

    /// Connects, says EHLO, authenticates, and quits: what `plazo check` asks of the server.
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "{}: the server did not accept the connection",
                self.server
            )),
            Err(e) => Err(format!("{}: {e}", self.server)),
        }
    }
}
