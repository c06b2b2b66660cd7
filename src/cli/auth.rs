//! `plazo auth login` and `plazo auth status`: the OAuth2 grant of the account.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::config::{AuthMethod, Config};
use crate::oauth::{self, Standing, login};
use crate::store::Store;

use super::EXIT_CONFIG;

/// Arguments of `plazo auth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `auth` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Sign in with the provider (in a browser, or on another device with --device) and store
    /// the refresh token in the state store.
    Login(LoginArgs),
    /// Which account is authorized, until when, and what to do if it is not.
    Status,
}

/// Arguments of `plazo auth login`.
#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Use the device flow: a code to enter on any device (for a server without a browser).
    #[arg(long)]
    pub device: bool,
    /// How long to wait for the sign-in.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Runs `plazo auth` with an already loaded config.
pub fn run(args: Args, config: &Config) -> anyhow::Result<ExitCode> {
    let Some(settings) = &config.oauth2 else {
        println!(
            "{}: no [oauth2] section: plazo signs in with passwords (add [oauth2] and auth = \"oauth2\" to use a Google or Microsoft account)",
            config.path.display()
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    let Some(account) = oauth::account(config) else {
        println!(
            "{}: no [imap] or [smtp] section: the account to authorize is their username",
            config.path.display()
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    };
    match args.command {
        Command::Status => status(config, account),
        Command::Login(args) => {
            let state = config.state.path.clone();
            let settings = settings.clone();
            let account = account.to_string();
            let say = |text: &str| {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            };
            let result = super::run::block_on(async move {
                let login = login::Login {
                    config: &settings,
                    account: &account,
                    state: &state,
                    wait: args.timeout,
                };
                login.run(args.device, say).await
            })?;
            match result {
                Ok(done) => {
                    println!(
                        "Authorized {} (scopes: {}). The refresh token is in {}.",
                        done.account,
                        done.scope,
                        config.state.path.display()
                    );
                    println!(
                        "If plazo is running, reload it to use the new grant: systemctl reload plazo (or kill -HUP its pid)."
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(login::LoginError::Config(e)) => {
                    println!("{e}");
                    Ok(ExitCode::from(EXIT_CONFIG))
                }
                Err(e) => {
                    println!("not authorized: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// `plazo auth status`: exit 0 when the account is authorized, 1 when it is not.
fn status(config: &Config, account: &str) -> anyhow::Result<ExitCode> {
    let tz = config.schedule.tz;
    let settings = config.oauth2.as_ref().expect("checked by the caller");
    let users: Vec<&str> = [("imap", &config.imap), ("smtp", &config.smtp)]
        .into_iter()
        .filter(|(_, s)| s.as_ref().is_some_and(|s| s.auth == AuthMethod::OAuth2))
        .map(|(n, _)| n)
        .collect();
    println!("account: {account}");
    println!(
        "provider: {} (client {}, token endpoint {})",
        settings.provider, settings.client_id, settings.token_url
    );
    if users.is_empty() {
        println!(
            "used by: nothing yet: set auth = \"oauth2\" in [imap] and [smtp] to sign in with it"
        );
    } else {
        println!("used by: {}", users.join(", "));
    }
    let standing = Standing::of_config(config).map_err(anyhow::Error::msg)?;
    let grant = match standing {
        Standing::Active { grant, .. } => grant,
        Standing::NotAuthorized => {
            println!(
                "authorized: no: run `plazo auth login` (or `plazo auth login --device` on a machine without a browser)"
            );
            return Ok(ExitCode::from(1));
        }
        Standing::OtherClient {
            client_id,
            token_url,
        } => {
            println!(
                "authorized: no: the stored grant is for client {client_id} at {token_url}, not the configured one: run `plazo auth login`"
            );
            return Ok(ExitCode::from(1));
        }
        Standing::Revoked(why) => {
            let queued = Store::open(&config.state.path)?.queued()?;
            println!(
                "authorized: NO: the provider refused the grant ({why}); sending and watching are paused"
            );
            println!(
                "to resume: run `plazo auth login`, then reload plazo (systemctl reload plazo, or kill -HUP its pid); {queued} queued repl{} will then be sent",
                if queued == 1 { "y" } else { "ies" }
            );
            return Ok(ExitCode::from(1));
        }
    };
    println!(
        "authorized: yes, since {} (scopes: {})",
        local(grant.authorized_at, tz),
        grant.scope
    );
    match (grant.refreshed_at, grant.access_expires) {
        (Some(at), Some(until)) => println!(
            "access token: obtained {}, valid until {}; plazo renews it by itself while the grant stands",
            local(at, tz),
            local(until, tz)
        ),
        _ => println!("access token: none yet; plazo gets one when it starts"),
    }
    Ok(ExitCode::SUCCESS)
}
