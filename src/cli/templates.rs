//! `plazo templates`: the replies' templates for the freelancer who edits them: which files
//! exist and which one is used (`list`), one template's text (`show`), and a copy of the
//! built-in set to start from (`init`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::Config;
use crate::render::{BUILT_IN, Templates, VARIABLES};

/// Arguments of `plazo templates`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// The `templates` actions.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Every template (language, when it is used, the file in use) and every variable with
    /// its meaning and a sample value.
    List {
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print one template as plazo uses it (your file, else the built-in one), e.g.
    /// `plazo templates show es/outside-hours.txt`.
    Show {
        /// The template: `LANG/NAME.txt`, as `list` names it.
        name: String,
    },
    /// Copy the built-in templates into DIR (es/ and en/) to edit; then set
    /// `reply.templates = "DIR"` in the config.
    Init {
        /// The folder to create or fill.
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
}

/// When each template answers.
fn used_for(name: &str) -> &'static str {
    match name.rsplit('/').next().unwrap_or_default() {
        "outside-hours.txt" => {
            "mail that arrives outside working hours (with or without a request)"
        }
        "short-notice.txt" => "a request within working hours sooner than the notice allows",
        "away.txt" => "mail that arrives on a holiday or a day away",
        _ => "",
    }
}

/// Runs `plazo templates`. `config` is the loaded config, or the reason it could not be loaded
/// (then the built-in templates are shown).
pub fn run(args: Args, config: Result<Config, String>) -> anyhow::Result<ExitCode> {
    let dir = match &config {
        Ok(c) => c.reply.templates.clone(),
        Err(why) => {
            if !matches!(args.action, Action::Init { .. }) {
                eprintln!("plazo: {why}; showing the built-in templates");
            }
            None
        }
    };
    match args.action {
        Action::List { json } => list(dir.as_deref(), json),
        Action::Show { name } => show(dir.as_deref(), &name),
        Action::Init { dir, force } => init(&dir, force),
    }
}

fn list(dir: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let templates = Templates::load(dir)?;
    if json {
        let items: Vec<serde_json::Value> = templates
            .sources
            .iter()
            .map(|(name, source)| {
                serde_json::json!({
                    "name": name,
                    "language": name.split('/').next(),
                    "used_for": used_for(name),
                    "file": source.as_ref().map(|p| p.display().to_string()),
                })
            })
            .collect();
        let variables: Vec<serde_json::Value> = VARIABLES
            .iter()
            .map(|(n, meaning, sample)| {
                serde_json::json!({"name": n, "meaning": meaning, "sample": sample})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"templates": items, "variables": variables})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("templates (a file starts with \"Subject:\", a blank line, then the body):");
    for (name, source) in &templates.sources {
        let from = source
            .as_ref()
            .map_or_else(|| "built-in".to_string(), |p| p.display().to_string());
        println!("  {name:<24} {from}");
        println!("  {:<24} for {}", "", used_for(name));
    }
    println!();
    println!("variables (minijinja: {{{{ name }}}}, {{% if name %}}…{{% endif %}}):");
    for (name, meaning, sample) in VARIABLES {
        println!("  {name:<20} {meaning}");
        println!("  {:<20} e.g. {sample}", "");
    }
    Ok(ExitCode::SUCCESS)
}

fn show(dir: Option<&Path>, name: &str) -> anyhow::Result<ExitCode> {
    let Some((_, built_in)) = BUILT_IN.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = BUILT_IN.iter().map(|(n, _)| *n).collect();
        eprintln!("plazo: no template \"{name}\": one of {}", names.join(", "));
        return Ok(ExitCode::from(1));
    };
    let own = dir.map(|d| d.join(name)).filter(|p| p.is_file());
    let text = match &own {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => (*built_in).to_string(),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn init(dir: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let existing: Vec<PathBuf> = BUILT_IN
        .iter()
        .map(|(name, _)| dir.join(name))
        .filter(|p| p.exists())
        .collect();
    if !existing.is_empty() && !force {
        for p in &existing {
            eprintln!("plazo: {} exists", p.display());
        }
        eprintln!("plazo: nothing written; --force overwrites");
        return Ok(ExitCode::from(1));
    }
    for (name, text) in BUILT_IN {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| anyhow::anyhow!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "next: set reply.templates = \"{}\" in the config (relative to it), edit, then run \
         `plazo check --offline`",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
