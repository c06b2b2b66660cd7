//! OAuth2 sign-in for mail servers that no longer take passwords (Gmail, Microsoft 365).
//!
//! - [`preset()`]: the providers plazo knows (endpoints and scopes).
//! - [`login`]: `plazo auth login`: the authorization-code flow with PKCE and a loopback redirect,
//!   or the device flow (RFC 8628); the refresh token goes into the state store.
//! - [`TokenSource`]: the daemon's access token: cached, refreshed shortly before it expires (one
//!   refresh however many connections ask), a rotated refresh token persisted at once, and each
//!   failure classified ([`AuthError`]).
//! - [`xoauth2`] and [`oauthbearer`]: the SASL initial responses IMAP and SMTP send.
//!
//! No token or secret is ever logged or printed: the oauth2 crate's token types hide their value
//! from `Debug`, and every error here is built from our own words or the provider's error code.

pub mod login;
pub mod preset;

pub use preset::{Preset, preset};

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointMaybeSet, EndpointNotSet,
    RedirectUrl, RefreshToken, RequestTokenError, TokenResponse, TokenUrl,
};

use crate::clock;
use crate::config::{AuthMethod, Config, OAuth2};
use crate::store::{Grant, Store};

/// The SASL XOAUTH2 initial response (before base64).
pub fn xoauth2(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// The SASL OAUTHBEARER initial response, RFC 7628 (before base64). A `,` or `=` in the user
/// name is escaped as the GS2 header requires.
pub fn oauthbearer(user: &str, host: &str, port: u16, token: &str) -> String {
    let user = user.replace('=', "=3D").replace(',', "=2C");
    format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// `plazo auth login` never ran for this account (or for this client).
    #[error("no OAuth2 grant for {account}: run `plazo auth login`")]
    NoGrant {
        /// The account.
        account: String,
    },
    /// The provider refused the refresh token (`invalid_grant`): consent revoked or expired.
    #[error(
        "the provider refused the OAuth2 grant for {account} ({reason}): run `plazo auth login`, then reload plazo (SIGHUP); queued replies wait"
    )]
    Revoked {
        /// The account.
        account: String,
        /// The provider's error code and words.
        reason: String,
    },
    /// The provider refused the client or the request: a setting is wrong.
    #[error("OAuth2 configuration: {0}")]
    Config(String),
    /// The token endpoint could not be reached or is in trouble: try again later.
    #[error("the OAuth2 token endpoint is unavailable: {0}")]
    Unavailable(String),
}

impl AuthError {
    /// True when waiting cannot help: the account stays paused until `plazo auth login` and a
    /// reload (or a fixed config).
    pub fn pauses(&self) -> bool {
        !matches!(self, AuthError::Unavailable(_))
    }
}

/// The oauth2 client type plazo uses: every endpoint but introspection and revocation optional.
pub type OAuthClient = BasicClient<
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
>;

/// How long one request to the provider may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The HTTP client for the provider: no redirects (the oauth2 crate's advice: a redirect could
/// carry a token elsewhere), bounded time.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot set up HTTPS: {e}"))
}

/// The oauth2 client for `config`, with the client secret when there is one and the redirect
/// URI of the loopback flow when given.
pub fn client(
    config: &OAuth2,
    secret: Option<String>,
    redirect: Option<String>,
) -> Result<OAuthClient, String> {
    let url = |key: &str, e: oauth2::url::ParseError| format!("oauth2.{key}: {e}");
    let mut client = BasicClient::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri_option(Some(
            AuthUrl::new(config.authorization_url.clone())
                .map_err(|e| url("authorization_url", e))?,
        ))
        .set_token_uri_option(Some(
            TokenUrl::new(config.token_url.clone()).map_err(|e| url("token_url", e))?,
        ))
        .set_device_authorization_url_option(match &config.device_url {
            Some(u) => {
                Some(DeviceAuthorizationUrl::new(u.clone()).map_err(|e| url("device_url", e))?)
            }
            None => None,
        });
    if let Some(secret) = secret {
        client = client.set_client_secret(ClientSecret::new(secret));
    }
    if let Some(redirect) = redirect {
        client = client.set_redirect_uri(RedirectUrl::new(redirect).map_err(|e| e.to_string())?);
    }
    Ok(client)
}

/// The account the grant is for: the IMAP login name when IMAP uses OAuth2, else SMTP's.
pub fn account(config: &Config) -> Option<&str> {
    [&config.imap, &config.smtp]
        .into_iter()
        .flatten()
        .find(|s| s.auth == AuthMethod::OAuth2)
        .or(config.imap.as_ref())
        .map(|s| s.username.as_str())
}

/// What a server login needs: a password, or access tokens from the grant.
#[derive(Clone)]
pub enum Credential {
    /// A password read from its source.
    Password(String),
    /// Access tokens.
    Token(Arc<TokenSource>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Password(..)"),
            Credential::Token(s) => write!(f, "Token({})", s.account),
        }
    }
}

/// An access token and when it expires.
#[derive(Clone)]
struct Access {
    secret: String,
    expires: DateTime<Utc>,
    life: chrono::Duration,
}

impl Access {
    /// Fresh enough to hand out: more than a quarter of its life (at most a minute) left, so a
    /// connection never starts with a token about to run out.
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        let margin = (self.life / 4).min(chrono::Duration::seconds(60));
        now + margin < self.expires
    }
}

/// The daemon's source of access tokens for one account. Shared by every connection.
pub struct TokenSource {
    account: String,
    token_url: String,
    client_id: String,
    client: OAuthClient,
    http: reqwest::Client,
    store: Mutex<Store>,
    cached: tokio::sync::Mutex<Option<Access>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("account", &self.account)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// Access tokens without an `expires_in` are taken to live this long.
const DEFAULT_LIFE: chrono::Duration = chrono::Duration::hours(1);

impl TokenSource {
    /// The token source for `config`, or `None` when no server signs in with OAuth2. Reads the
    /// client secret and opens the state store; makes no request.
    pub fn for_config(config: &Config) -> Result<Option<Arc<TokenSource>>, String> {
        if !config.uses_oauth2() {
            return Ok(None);
        }
        let settings = config
            .oauth2
            .as_ref()
            .ok_or("auth = \"oauth2\" needs an [oauth2] section")?;
        let account = account(config).ok_or("no [imap] or [smtp] username")?;
        let secret = settings
            .client_secret()
            .map_err(|e| format!("oauth2: {e}"))?;
        let store = Store::open(&config.state.path).map_err(|e| e.to_string())?;
        Ok(Some(Arc::new(TokenSource {
            account: account.to_string(),
            token_url: settings.token_url.clone(),
            client_id: settings.client_id.clone(),
            client: client(settings, secret, None)?,
            http: http_client()?,
            store: Mutex::new(store),
            cached: tokio::sync::Mutex::new(None),
        })))
    }

    /// The account signed in as.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// An access token with some life left: the cached one, else a refreshed one. Callers that
    /// arrive during a refresh wait for it and share its token.
    pub async fn token(&self) -> Result<String, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(access) = cached.as_ref()
            && access.fresh(clock::now())
        {
            return Ok(access.secret.clone());
        }
        let access = self.refresh().await?;
        let secret = access.secret.clone();
        *cached = Some(access);
        Ok(secret)
    }

    /// A server refused `token`: refresh (once, even when several connections report the same
    /// token) and return the new one.
    pub async fn rejected(&self, token: &str) -> Result<String, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(access) = cached.as_ref()
            && access.secret != token
            && access.fresh(clock::now())
        {
            return Ok(access.secret.clone());
        }
        *cached = None;
        let access = self.refresh().await?;
        let secret = access.secret.clone();
        *cached = Some(access);
        Ok(secret)
    }

    fn store<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, crate::store::StoreError>,
    ) -> Result<T, AuthError> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&store).map_err(|e| AuthError::Unavailable(e.to_string()))
    }

    /// One refresh-token grant. `invalid_grant` marks the grant revoked, unless the stored
    /// refresh token changed meanwhile (a new login, or another plazo process rotated it): then
    /// the new one is tried once.
    async fn refresh(&self) -> Result<Access, AuthError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let grant = self.store(|s| s.grant(&self.account))?;
            let refresh = match Standing::of(grant, &self.token_url, &self.client_id) {
                Standing::Active { refresh_token, .. } => refresh_token,
                Standing::NotAuthorized => {
                    return Err(AuthError::NoGrant {
                        account: self.account.clone(),
                    });
                }
                Standing::OtherClient {
                    client_id,
                    token_url,
                } => {
                    return Err(AuthError::Config(format!(
                        "the stored grant for {} was made for client {client_id} at {token_url}, not for the configured client {} at {}: run `plazo auth login`",
                        self.account, self.client_id, self.token_url
                    )));
                }
                Standing::Revoked(reason) => {
                    return Err(AuthError::Revoked {
                        account: self.account.clone(),
                        reason,
                    });
                }
            };
            let token = RefreshToken::new(refresh.clone());
            let request = self
                .client
                .exchange_refresh_token(&token)
                .map_err(|e| AuthError::Config(e.to_string()))?;
            let now = clock::now();
            match request.request_async(&self.http).await {
                Ok(answer) => {
                    let life = answer
                        .expires_in()
                        .and_then(|d| chrono::Duration::from_std(d).ok())
                        .unwrap_or(DEFAULT_LIFE);
                    let expires = now + life;
                    let rotated = answer.refresh_token().map(|t| t.secret().as_str());
                    self.store(|s| s.refreshed(&self.account, &refresh, rotated, now, expires))?;
                    tracing::info!(
                        account = %self.account,
                        "oauth2: access token refreshed, valid until {}{}",
                        expires.format("%Y-%m-%d %H:%M:%S UTC"),
                        if rotated.is_some() { "; new refresh token stored" } else { "" }
                    );
                    return Ok(Access {
                        secret: answer.access_token().secret().clone(),
                        expires,
                        life,
                    });
                }
                Err(RequestTokenError::ServerResponse(answer)) => {
                    let code = answer.error().as_ref().to_string();
                    let words = match answer.error_description() {
                        Some(d) => format!("{code}: {d}"),
                        None => code.clone(),
                    };
                    match answer.error() {
                        BasicErrorResponseType::InvalidGrant => {
                            let revoked =
                                self.store(|s| s.revoke_grant(&self.account, &refresh, &words))?;
                            if !revoked && tries < 2 {
                                continue;
                            }
                            tracing::error!(
                                account = %self.account,
                                "oauth2: the provider refused the grant ({words}): run `plazo auth login`, then reload plazo (SIGHUP)"
                            );
                            return Err(AuthError::Revoked {
                                account: self.account.clone(),
                                reason: words,
                            });
                        }
                        BasicErrorResponseType::InvalidClient
                        | BasicErrorResponseType::UnauthorizedClient => {
                            return Err(AuthError::Config(format!(
                                "the provider refused the client ({words}): check oauth2.client_id and the client secret (oauth2.client_secret_file, client_secret_command or ${})",
                                crate::config::CLIENT_SECRET_ENV
                            )));
                        }
                        BasicErrorResponseType::InvalidScope => {
                            return Err(AuthError::Config(format!(
                                "the provider refused the scopes ({words}): check oauth2.scopes"
                            )));
                        }
                        BasicErrorResponseType::InvalidRequest
                        | BasicErrorResponseType::UnsupportedGrantType => {
                            return Err(AuthError::Config(format!(
                                "the token endpoint refused the request ({words}): check oauth2.token_url"
                            )));
                        }
                        BasicErrorResponseType::Extension(_) => {
                            return Err(AuthError::Unavailable(words));
                        }
                    }
                }
                Err(RequestTokenError::Request(e)) => {
                    return Err(AuthError::Unavailable(format!(
                        "{}: {}",
                        self.token_url,
                        error_chain(&e)
                    )));
                }
                Err(RequestTokenError::Parse(e, _body)) => {
                    return Err(AuthError::Unavailable(format!(
                        "{}: unexpected answer ({})",
                        self.token_url,
                        e.path()
                    )));
                }
                Err(RequestTokenError::Other(e)) => {
                    return Err(AuthError::Unavailable(format!("{}: {e}", self.token_url)));
                }
            }
        }
    }
}

/// An error and its causes on one line (reqwest hides the useful part in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What the stored grant is worth to the configured client: the one judgement the token
/// source, `plazo check`, `plazo auth status` and the daemon's start all make.
#[derive(Debug)]
pub enum Standing {
    /// `plazo auth login` never stored a grant for the account.
    NotAuthorized,
    /// The stored grant was issued to another client or by another token endpoint.
    OtherClient {
        /// Its client id.
        client_id: String,
        /// Its token endpoint.
        token_url: String,
    },
    /// The provider refused it (`invalid_grant`), in these words.
    Revoked(String),
    /// Usable.
    Active {
        /// The refresh token.
        refresh_token: String,
        /// The whole grant (times, scopes).
        grant: Grant,
    },
}

impl Standing {
    /// Judges `grant` for the client `client_id` at `token_url`.
    pub fn of(grant: Option<Grant>, token_url: &str, client_id: &str) -> Standing {
        let Some(grant) = grant else {
            return Standing::NotAuthorized;
        };
        if grant.token_url != token_url || grant.client_id != client_id {
            return Standing::OtherClient {
                client_id: grant.client_id,
                token_url: grant.token_url,
            };
        }
        match (grant.active, grant.refresh_token.clone()) {
            (true, Some(refresh_token)) => Standing::Active {
                refresh_token,
                grant,
            },
            _ => Standing::Revoked(
                grant
                    .problem
                    .unwrap_or_else(|| "no refresh token".to_string()),
            ),
        }
    }

    /// The standing of the grant stored for the account of `config` (no request is made).
    pub fn of_config(config: &Config) -> Result<Standing, String> {
        let (Some(account), Some(settings)) = (account(config), &config.oauth2) else {
            return Ok(Standing::NotAuthorized);
        };
        let grant = if Path::new(&config.state.path).exists() {
            let store = Store::open(&config.state.path).map_err(|e| e.to_string())?;
            store.grant(account).map_err(|e| e.to_string())?
        } else {
            None
        };
        Ok(Standing::of(
            grant,
            &settings.token_url,
            &settings.client_id,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_initial_responses() {
        assert_eq!(
            xoauth2("ana@example.test", "tok"),
            "user=ana@example.test\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            oauthbearer("a,b=c@example.test", "imap.example.test", 993, "tok"),
            "n,a=a=2Cb=3Dc@example.test,\x01host=imap.example.test\x01port=993\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn freshness_margin() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let hour = Access {
            secret: String::new(),
            expires: now + chrono::Duration::hours(1),
            life: chrono::Duration::hours(1),
        };
        assert!(hour.fresh(now + chrono::Duration::minutes(58)));
        assert!(!hour.fresh(now + chrono::Duration::seconds(3541)));
        let short = Access {
            secret: String::new(),
            expires: now + chrono::Duration::seconds(8),
            life: chrono::Duration::seconds(8),
        };
        assert!(short.fresh(now + chrono::Duration::seconds(5)));
        assert!(!short.fresh(now + chrono::Duration::seconds(6)));
    }
}
