//! `plazo check`: validates the config file and the templates, listing every problem with its
//! file, line and key.

use std::path::Path;
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::config::{Config, ConfigError, Origin, PasswordSource, Problem};
use crate::daemon::{Runtime, check_servers};
use crate::oauth::Standing;
use crate::render::Templates;

use super::EXIT_CONFIG;

/// Arguments of `plazo check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Check the file and the templates only; do not log in to the mail servers.
    #[arg(long)]
    pub offline: bool,
}

/// Runs `plazo check`.
pub fn run(args: Args, path: &Path) -> anyhow::Result<ExitCode> {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(ConfigError::Invalid { path, problems }) => {
            for p in &problems {
                println!("{}", p.located(&path));
            }
            println!(
                "{}: invalid ({} problem{})",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
        Err(err) => {
            println!("{err}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    let problems: Vec<Problem> = config.daemon_problems();
    if let Ok(templates) = Templates::load_for(&config) {
        let from = |source: &Option<std::path::PathBuf>| {
            source
                .as_ref()
                .map_or_else(|| "built-in".to_string(), |p| p.display().to_string())
        };
        for (name, source) in &templates.sources {
            println!("template {name}: {}", from(source));
        }
        for (client, set) in templates.client_sets() {
            for (name, source) in &set.sources {
                println!("template {name} for client {client}: {}", from(source));
            }
        }
    }
    let template_problems = Templates::check_all(&config);
    // Her calendar files, read as the daemon reads them (which logs these and goes on without);
    // the calendars on servers are fetched with the servers below.
    let calendar_problems = if config.calendars.is_empty() {
        Vec::new()
    } else {
        let files: Vec<_> = config
            .calendars
            .iter()
            .filter(|c| matches!(c.origin, Origin::File(_)))
            .cloned()
            .collect();
        let window = crate::agenda::window(crate::clock::now());
        let texts = crate::caldav::at_hand(&files, None);
        let agenda = crate::caldav::agenda_of(&files, &texts, config.schedule.tz, window);
        println!(
            "calendars: {} busy time{}, {} day{} away or closed in the year ahead{}",
            agenda.busy.len(),
            if agenda.busy.len() == 1 { "" } else { "s" },
            agenda.days.len(),
            if agenda.days.len() == 1 { "" } else { "s" },
            if files.len() < config.calendars.len() {
                " (files only; the calendars on servers are fetched online)"
            } else {
                ""
            }
        );
        agenda.problems
    };
    for p in &problems {
        println!("{}", p.located(&config.path));
    }
    for p in &template_problems {
        println!("{p}");
    }
    for p in &calendar_problems {
        println!("calendar: {p}");
    }
    let count = problems.len() + template_problems.len() + calendar_problems.len();
    if count > 0 {
        println!(
            "{}: invalid ({count} problem{})",
            config.path.display(),
            if count == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
    println!("{}: ok", config.path.display());
    for w in warnings(&config, crate::clock::now()) {
        println!("warning: {w}");
    }
    let grant_ok = check_grant(&config);
    if args.offline {
        return Ok(if grant_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if !grant_ok {
        return Ok(ExitCode::from(1));
    }
    // The SMTP pool needs the async runtime from the moment it is built.
    let path = config.path.clone();
    let checked = super::run::block_on(async move {
        match Runtime::load(&path) {
            Ok(runtime) => Ok(check_servers(&runtime).await),
            Err(e) => Err(e),
        }
    })?;
    let (lines, ok) = match checked {
        Ok(result) => result,
        Err(e) => {
            println!("{e}");
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
    };
    for line in lines {
        println!("{line}");
    }
    let ok = check_remote_calendars(&config) && ok;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Fetches each calendar on a server now, as the daemon does: one line per source, its
/// problems (with the event's UID) after it. True when all gave their events.
fn check_remote_calendars(config: &Config) -> bool {
    let remote: Vec<_> = config
        .calendars
        .iter()
        .filter(|c| matches!(c.origin, Origin::Remote(_)))
        .cloned()
        .collect();
    if remote.is_empty() {
        return true;
    }
    let window = crate::agenda::window(crate::clock::now());
    let (_, texts) = crate::caldav::read_now(&remote, config.schedule.tz, window, None);
    let mut ok = true;
    for (source, got) in remote.iter().zip(&texts) {
        let name = source.origin.describe();
        if let crate::caldav::Got::Nothing { error } = &got.got {
            ok = false;
            println!("calendar {name}: FAILED: {error}");
            continue;
        }
        let one = crate::caldav::agenda_of(
            std::slice::from_ref(source),
            std::slice::from_ref(got),
            config.schedule.tz,
            window,
        );
        println!(
            "calendar {name}: ok: {} object{} read, {} busy time{}, {} day{} away or closed",
            got.texts.len(),
            if got.texts.len() == 1 { "" } else { "s" },
            one.busy.len(),
            if one.busy.len() == 1 { "" } else { "s" },
            one.days.len(),
            if one.days.len() == 1 { "" } else { "s" }
        );
        for p in &one.problems {
            ok = false;
            println!("calendar: {p}");
        }
    }
    ok
}

/// What is valid but probably not meant: a schedule that never opens within a year (plazo
/// would answer nothing: `no-opening`), a secret file others can read.
fn warnings(config: &Config, now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    let year = now + chrono::Duration::days(366);
    if config.schedule.next_opening(now).is_none_or(|t| t > year) {
        out.push(
            "schedule: no working time in the next year (every day closed or a holiday): plazo answers nothing until there is (skip no-opening)"
                .to_string(),
        );
    }
    let mut secrets = Vec::new();
    for (name, server) in [("imap", &config.imap), ("smtp", &config.smtp)] {
        if let Some(PasswordSource::File(path)) = server.as_ref().map(|s| &s.password) {
            secrets.push((format!("{name}.password_file"), path.clone()));
        }
    }
    if let Some(PasswordSource::File(path)) = config
        .oauth2
        .as_ref()
        .and_then(|o| o.client_secret.as_ref())
    {
        secrets.push(("oauth2.client_secret_file".to_string(), path.clone()));
    }
    for (i, calendar) in config.calendars.iter().enumerate() {
        if let Origin::Remote(crate::config::Remote {
            login: Some((_, PasswordSource::File(path))),
            ..
        }) = &calendar.origin
        {
            secrets.push((format!("calendar[{i}].password_file"), path.clone()));
        }
    }
    for (key, path) in secrets {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(&path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o007 != 0 {
                out.push(format!(
                    "{key}: {} can be read by every user of this machine (mode {mode:04o}): chmod 600 it",
                    path.display()
                ));
            }
        }
    }
    out
}

/// With OAuth2, says whether a usable grant is stored (no network). False when the servers
/// could not sign in.
fn check_grant(config: &Config) -> bool {
    if !config.uses_oauth2() {
        return true;
    }
    let account = crate::oauth::account(config).unwrap_or("");
    let (ok, verdict) = match Standing::of_config(config) {
        Ok(Standing::Active { .. }) => (true, "authorized".to_string()),
        Ok(Standing::OtherClient { .. }) => (
            false,
            "the stored grant is for another client or provider: run `plazo auth login`".into(),
        ),
        Ok(Standing::Revoked(why)) => (
            false,
            format!("the provider refused the grant ({why}): run `plazo auth login`"),
        ),
        Ok(Standing::NotAuthorized) => (false, "not authorized yet: run `plazo auth login`".into()),
        Err(e) => (false, format!("cannot read the state store: {e}")),
    };
    println!("oauth2: {account}: {verdict}");
    ok
}
