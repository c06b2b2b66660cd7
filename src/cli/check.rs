//! `plazo check`: validates the config file and the templates, listing every problem with its
//! file, line and key.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{Config, ConfigError, Problem};
use crate::daemon::{Runtime, check_servers};
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
    let mut problems: Vec<Problem> = config.daemon_problems();
    match Templates::load(config.reply.templates.as_deref()) {
        Ok(templates) => {
            problems.extend(templates.check(&config).into_iter().map(|e| Problem {
                key: "reply.templates".into(),
                line: None,
                message: e.to_string(),
            }));
            for (name, source) in &templates.sources {
                let from = source
                    .as_ref()
                    .map_or_else(|| "built-in".to_string(), |p| p.display().to_string());
                println!("template {name}: {from}");
            }
        }
        Err(e) => problems.push(Problem {
            key: "reply.templates".into(),
            line: None,
            message: e.to_string(),
        }),
    }
    for p in &problems {
        println!("{}", p.located(&config.path));
    }
    if !problems.is_empty() {
        println!(
            "{}: invalid ({} problems)",
            config.path.display(),
            problems.len()
        );
        return Ok(ExitCode::from(EXIT_CONFIG));
    }
    println!("{}: ok", config.path.display());
    if args.offline {
        return Ok(ExitCode::SUCCESS);
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
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
