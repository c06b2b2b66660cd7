//! `plazo auth login`: getting a refresh token for the account, once, with a person present.
//!
//! Two flows, both ending with the grant in the state store:
//!
//! - **loopback** (RFC 8252): plazo listens on 127.0.0.1, prints the provider's sign-in URL
//!   (with a PKCE challenge and a random `state`), and waits for the browser to come back with
//!   the code. A request with the wrong `state` is refused and the wait goes on, so a stray or
//!   forged request cannot end it.
//! - **device** (RFC 8628): plazo prints a code and a URL to open on any device, and polls the
//!   token endpoint at the interval the server asks for (longer after `slow_down`).

use std::time::Duration;

use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope, StandardDeviceAuthorizationResponse,
    TokenResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::clock;
use std::path::Path;

use crate::config::OAuth2;
use crate::store::{Grant, Store};

/// Why the sign-in did not end with a grant.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The person or the provider said no.
    #[error("sign-in refused: {0}")]
    Refused(String),
    /// Nobody came back in time.
    #[error("sign-in not completed within {0:?}")]
    Timeout(Duration),
    /// The provider gave no refresh token.
    #[error("the provider gave no refresh token, so plazo could not renew access: {0}")]
    NoRefreshToken(String),
    /// A setting is missing or wrong.
    #[error("{0}")]
    Config(String),
    /// The provider could not be reached or answered strangely.
    #[error("{0}")]
    Provider(String),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The local listener failed.
    #[error("loopback listener: {0}")]
    Io(#[from] std::io::Error),
}

/// What a finished sign-in stored.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The account.
    pub account: String,
    /// The scopes granted.
    pub scope: String,
    /// When the first access token expires.
    pub access_expires: chrono::DateTime<chrono::Utc>,
}

fn client_for(config: &OAuth2, redirect: Option<String>) -> Result<super::OAuthClient, LoginError> {
    let secret = config
        .client_secret()
        .map_err(|e| LoginError::Config(format!("oauth2: {e}")))?;
    super::client(config, secret, redirect).map_err(LoginError::Config)
}

fn scopes(config: &OAuth2) -> Vec<Scope> {
    config
        .scopes
        .iter()
        .map(|s| Scope::new(s.clone()))
        .collect()
}

/// One sign-in: for which account, with which client, stored where, waiting how long.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    /// The `[oauth2]` settings.
    pub config: &'a OAuth2,
    /// The account to sign in as.
    pub account: &'a str,
    /// The state store the grant goes to.
    pub state: &'a Path,
    /// How long to wait for the person.
    pub wait: Duration,
}

impl Login<'_> {
    /// Runs the device flow when `device`, else the loopback flow. `say` receives the lines to
    /// show the person (the URL to open, or the code to enter).
    pub async fn run(self, device: bool, say: impl FnMut(&str)) -> Result<Authorized, LoginError> {
        if device {
            self.device(say).await
        } else {
            self.loopback(say).await
        }
    }

    /// The authorization-code flow with PKCE and a loopback redirect.
    async fn loopback(self, mut say: impl FnMut(&str)) -> Result<Authorized, LoginError> {
        let Login {
            config,
            account,
            wait,
            ..
        } = self;
        let listener = TcpListener::bind(("127.0.0.1", config.redirect_port)).await?;
        let port = listener.local_addr()?.port();
        let redirect = format!("http://127.0.0.1:{port}/");
        let client = client_for(config, Some(redirect.clone()))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(CsrfToken::new_random)
            .map_err(|e| LoginError::Config(e.to_string()))?
            .add_scopes(scopes(config))
            .set_pkce_challenge(challenge)
            .add_extra_param("login_hint", account);
        if let Some(preset) = super::preset(&config.provider) {
            for (k, v) in preset.authorize_params {
                request = request.add_extra_param(*k, *v);
            }
        }
        let (url, state) = request.url();
        say(&format!(
            "Open this address in a browser and sign in as {account}:\n\n  {url}\n\nWaiting for the answer on {redirect} (up to {} s)...",
            wait.as_secs()
        ));
        let code = tokio::time::timeout(wait, wait_for_code(&listener, state.secret()))
            .await
            .map_err(|_| LoginError::Timeout(wait))??;
        let http = super::http_client().map_err(LoginError::Provider)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| LoginError::Config(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .map_err(|e| token_error(&e))?;
        store(self, &answer)
    }

    /// The device flow (RFC 8628).
    async fn device(self, mut say: impl FnMut(&str)) -> Result<Authorized, LoginError> {
        let Login {
            config,
            account,
            wait,
            ..
        } = self;
        if config.device_url.is_none() {
            return Err(LoginError::Config(
            "oauth2.device_url is not set: this provider has no device sign-in; use `plazo auth login` without --device".into(),
        ));
        }
        let client = client_for(config, None)?;
        let http = super::http_client().map_err(LoginError::Provider)?;
        let details: StandardDeviceAuthorizationResponse = client
            .exchange_device_code()
            .map_err(|e| LoginError::Config(e.to_string()))?
            .add_scopes(scopes(config))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    LoginError::Provider(format!("the device endpoint refused: {}", r.error()))
                }
                other => LoginError::Provider(format!(
                    "the device endpoint {}: {}",
                    config.device_url.as_deref().unwrap_or(""),
                    super::error_chain(&other)
                )),
            })?;
        let mut text = format!(
            "On any device, open {}\nand enter the code {} (sign in as {account}).",
            details.verification_uri().as_str(),
            details.user_code().secret()
        );
        if let Some(complete) = details.verification_uri_complete() {
            text.push_str(&format!(
                "\nOr open {} directly.",
                complete.secret().as_str()
            ));
        }
        text.push_str(&format!(
            "\nWaiting (polling every {} s, up to {} s)...",
            details.interval().as_secs(),
            wait.as_secs()
        ));
        say(&text);
        let answer = client
            .exchange_device_access_token(&details)
            .map_err(|e| LoginError::Config(e.to_string()))?
            .request_async(&http, tokio::time::sleep, Some(wait))
            .await
            .map_err(|e| match e {
                oauth2::RequestTokenError::ServerResponse(r) => {
                    let code = r.error().to_string();
                    match code.as_str() {
                        "access_denied" => LoginError::Refused("access_denied".into()),
                        "expired_token" => LoginError::Timeout(wait),
                        _ => LoginError::Provider(format!("the token endpoint refused: {code}")),
                    }
                }
                other => LoginError::Provider(super::error_chain(&other)),
            })?;
        store(self, &answer)
    }
}

/// Accepts connections until one brings the code with the right `state`.
async fn wait_for_code(listener: &TcpListener, state: &str) -> Result<String, LoginError> {
    loop {
        let (mut stream, peer) = listener.accept().await?;
        let target = match tokio::time::timeout(
            Duration::from_secs(10),
            request_target(&mut stream),
        )
        .await
        {
            Ok(Ok(Some(t))) => t,
            _ => {
                let _ = respond(&mut stream, 400, "Bad request.").await;
                continue;
            }
        };
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
            let _ = respond(&mut stream, 400, "Bad request.").await;
            continue;
        };
        if url.path() != "/" {
            let _ = respond(&mut stream, 404, "Not found.").await;
            continue;
        }
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if param("state").as_deref() != Some(state) {
            tracing::warn!(
                "auth login: refused a request from {peer} with a wrong or missing state; still waiting"
            );
            let _ = respond(
                &mut stream,
                400,
                "This sign-in answer does not belong to the running `plazo auth login` (wrong state). It was ignored.",
            )
            .await;
            continue;
        }
        if let Some(error) = param("error") {
            let words = match param("error_description") {
                Some(d) => format!("{error}: {d}"),
                None => error,
            };
            let _ = respond(&mut stream, 400, &format!("Sign-in refused: {words}")).await;
            return Err(LoginError::Refused(words));
        }
        let Some(code) = param("code") else {
            let _ = respond(&mut stream, 400, "No authorization code in the answer.").await;
            continue;
        };
        let _ = respond(
            &mut stream,
            200,
            "plazo received the authorization. You can close this window.",
        )
        .await;
        return Ok(code);
    }
}

/// Reads an HTTP request head and returns the target of a GET (`/path?query`).
async fn request_target(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > 16 * 1024 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.lines().next().unwrap_or("").split(' ');
    match (words.next(), words.next()) {
        (Some("GET"), Some(target)) if target.starts_with('/') => Ok(Some(target.to_string())),
        _ => Ok(None),
    }
}

async fn respond(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!("<!doctype html><meta charset=utf-8><title>plazo</title><p>{text}</p>\n");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn token_error<RE: std::error::Error + 'static>(
    e: &oauth2::RequestTokenError<RE, oauth2::basic::BasicErrorResponse>,
) -> LoginError {
    match e {
        oauth2::RequestTokenError::ServerResponse(r) => {
            let words = match r.error_description() {
                Some(d) => format!("{}: {d}", r.error()),
                None => r.error().to_string(),
            };
            LoginError::Provider(format!("the token endpoint refused the code ({words})"))
        }
        other => LoginError::Provider(format!("the token endpoint: {}", super::error_chain(other))),
    }
}

fn store(
    login: Login<'_>,
    answer: &oauth2::basic::BasicTokenResponse,
) -> Result<Authorized, LoginError> {
    let Login {
        config,
        account,
        state,
        ..
    } = login;
    let Some(refresh) = answer.refresh_token() else {
        let hint = match config.provider.as_str() {
            "microsoft" => "the scopes must include offline_access",
            "google" => "sign in again; Google sends one only when consent is asked",
            _ => "check that the client may use refresh tokens (offline access)",
        };
        return Err(LoginError::NoRefreshToken(hint.into()));
    };
    let now = clock::now();
    let life = answer
        .expires_in()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .unwrap_or(chrono::Duration::hours(1));
    let scope = match answer.scopes() {
        Some(s) => s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        None => config.scopes.join(" "),
    };
    let grant = Grant {
        account: account.to_string(),
        token_url: config.token_url.clone(),
        client_id: config.client_id.clone(),
        refresh_token: Some(refresh.secret().clone()),
        scope: scope.clone(),
        authorized_at: now,
        refreshed_at: Some(now),
        access_expires: Some(now + life),
        active: true,
        problem: None,
    };
    Store::open(state)?.save_grant(&grant)?;
    Ok(Authorized {
        account: account.to_string(),
        scope,
        access_expires: now + life,
    })
}
