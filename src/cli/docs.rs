//! `plazo docs DIR`: the man pages and shell completions, for packagers. They are generated from
//! the command line's own definition (clap_mangen, clap_complete), so they never drift from
//! `--help`; `plazo.toml(5)` is made from the shipped example config, whose comments document
//! every key.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory as _;
use clap_complete::Shell;
use clap_mangen::roff::{Roff, bold, roman};

use super::Cli;

/// The example config, whose comments are the reference of every key.
const CONFIG_EXAMPLE: &str = include_str!("../../config.example.toml");

/// Arguments of `plazo docs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write into: `man/` (plazo.1, one page per subcommand, plazo.toml.5) and
    /// `completions/` (bash, zsh, fish) are made in it.
    pub dir: PathBuf,
}

/// Runs `plazo docs`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let man = args.dir.join("man");
    let completions = args.dir.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("cannot write the man pages into {}", man.display()))?;
    let page = man.join("plazo.toml.5");
    std::fs::write(
        &page,
        config_page(CONFIG_EXAMPLE, env!("CARGO_PKG_VERSION")),
    )
    .with_context(|| format!("cannot write {}", page.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd.clone(), "plazo", &completions)
            .with_context(|| format!("cannot write the {shell} completion"))?;
    }
    for dir in [&man, &completions] {
        for file in listing(dir)? {
            println!("{}", file.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn listing(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    Ok(files)
}

/// `plazo.toml(5)` from the example config: its opening comment is the description, each
/// `[section]` a section, and each key (set or shown commented out) an entry with the comment
/// above it.
pub fn config_page(example: &str, version: &str) -> String {
    let mut page = Roff::new();
    page.control("TH", ["PLAZO.TOML", "5", &format!("plazo {version}")])
        .control("SH", ["NAME"])
        .text([roman("plazo.toml - the configuration file of plazo")])
        .control("SH", ["SYNOPSIS"])
        .text([roman(
            "/etc/plazo/config.toml, or the file given with --config or $PLAZO_CONFIG",
        )])
        .control("SH", ["DESCRIPTION"])
        .text([roman(
            "A TOML file. Unknown keys are errors; plazo check lists every problem at once, \
             each with its key path and line. Durations are written like \"90m\", \"36h\", \
             \"7d\". What follows is the shipped example, key by key.",
        )]);
    let mut comment: Vec<String> = Vec::new();
    let flush = |page: &mut Roff, comment: &mut Vec<String>| {
        if !comment.is_empty() {
            page.control("PP", []).text([roman(comment.join(" "))]);
            comment.clear();
        }
    };
    for line in example.lines() {
        let line = line.trim_end();
        let text = line.strip_prefix('#').map(str::trim);
        if line.is_empty() {
            flush(&mut page, &mut comment);
        } else if line.starts_with('[') {
            flush(&mut page, &mut comment);
            page.control("SH", [line]);
        } else if let Some(text) = text {
            if is_key_line(text) {
                page.control("TP", [])
                    .text([bold(text.to_string())])
                    .text([roman(format!(
                        "(shown commented out) {}",
                        comment.join(" ")
                    ))]);
                comment.clear();
            } else if !text.is_empty() {
                comment.push(text.to_string());
            }
        } else {
            page.control("TP", [])
                .text([bold(line.to_string())])
                .text([roman(comment.join(" "))]);
            comment.clear();
        }
    }
    flush(&mut page, &mut comment);
    page.control("SH", ["SEE ALSO"])
        .text([roman("plazo(1), plazo-check(1), plazo-run(1)")]);
    page.render()
}

/// True for `key = value`, as the example shows optional keys (`# fast_poll = "100ms"`).
fn is_key_line(text: &str) -> bool {
    text.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_page_has_every_section_and_key_of_the_example() {
        let page = config_page(CONFIG_EXAMPLE, "9.9.9");
        assert!(page.contains("\n.TH PLAZO.TOML 5"), "{page}");
        for needle in [
            ".SH [identity]",
            ".SH [smtp]",
            ".SH [[client]]",
            "timeout = \"60s\"",
            "connections = 2",
            "fast_poll = \"100ms\"",
            "plazo 9.9.9",
        ] {
            assert!(page.contains(needle), "{needle} missing");
        }
        assert!(is_key_line("fast_poll = \"100ms\""));
        assert!(!is_key_line("Optional: the rush fee = a text"));
    }
}
