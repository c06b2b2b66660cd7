//! The command line as a user runs it: `plazo preview` on the examples, text and JSON.

use std::process::{Command, Output};

use serde_json::Value;

mod common;

fn plazo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plazo"))
        .current_dir(common::root())
        .env_remove("PLAZO_CONFIG")
        .args(args)
        .output()
        .expect("run plazo")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const FRIDAY_NIGHT: &str = "2026-11-20T21:30:00+01:00";
const NEWSLETTER: &str = "examples/newsletter-friday-night.eml";

#[test]
fn friday_night_newsletter_gets_a_spanish_reply() {
    let out = plazo(&[
        "preview",
        "--config",
        "config.example.toml",
        "--at",
        FRIDAY_NIGHT,
        NEWSLETTER,
    ]);
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply = text
        .split("--- the reply, as the client will see it ---")
        .nth(1)
        .expect("a reply is shown");
    assert!(reply.contains("To: laura@cliente-a.example"), "{reply}");
    assert!(reply.contains("Hola Laura:"), "{reply}");
    // Next opening: Monday 09:00. Earliest with 36 working hours (Mon–Thu 8 h, Fri 5 h):
    // Monday 8 + Tuesday 8 + Wednesday 8 + Thursday 8 = 32, then 4 more on Friday: 13:00.
    assert!(
        reply.contains("lo leeré personalmente el lunes 23 a las 9:00 (hora de Madrid)"),
        "{reply}"
    );
    assert!(
        reply.contains("entregarlo es el viernes 27 de noviembre a las 13:00."),
        "{reply}"
    );
    // With the 6 h rush: Monday 09:00–14:00 and 16:00–17:00.
    assert!(
        reply.contains("tenerlo el lunes 23 a las 17:00 con recargo (+50 %)"),
        "{reply}"
    );
    // Automatic, said in the subject and the first line; the zone named once.
    assert!(
        reply.contains("Subject: Respuesta automática: Re: "),
        "{reply}"
    );
    assert!(
        reply.contains("Respuesta automática: me ha llegado fuera de mi horario"),
        "{reply}"
    );
    assert_eq!(reply.matches("hora de Madrid").count(), 1, "{reply}");
}

#[test]
fn preview_json_contract() {
    let out = plazo(&[
        "preview",
        "--json",
        "--config",
        "config.example.toml",
        "--at",
        FRIDAY_NIGHT,
        NEWSLETTER,
        NEWSLETTER,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let first = &lines[0];
    for key in [
        "file",
        "message_id",
        "action",
        "reason",
        "triggers",
        "received",
        "deadline",
        "earliest",
        "language",
        "reply",
    ] {
        assert!(first.get(key).is_some(), "missing {key}: {first}");
    }
    assert_eq!(first["action"], "reply");
    assert_eq!(first["language"], "es");
    assert_eq!(first["received"], "2026-11-20T21:30:00+01:00");
    assert_eq!(first["next_opening"], "2026-11-23T09:00:00+01:00");
    assert_eq!(first["earliest"], "2026-11-27T13:00:00+01:00");
    assert_eq!(first["rush_earliest"], "2026-11-23T17:00:00+01:00");
    assert!(
        first["triggers"]
            .as_array()
            .is_some_and(|t| t.contains(&Value::from("outside-hours")))
    );
    let reply = &first["reply"];
    assert_eq!(reply["to"], "laura@cliente-a.example");
    assert_eq!(reply["headers"]["Auto-Submitted"], "auto-replied");
    assert_eq!(reply["headers"]["X-Auto-Response-Suppress"], "All");
    assert_eq!(
        reply["headers"]["In-Reply-To"],
        "<41B6DD9EE4D0.ab60df9f@mail.gmail.example>"
    );
    // The same mail again, with one shared state: a duplicate, and no reply.
    let second = &lines[1];
    assert_eq!(second["action"], "skip");
    assert_eq!(second["reason"], "duplicate");
    assert_eq!(second["reply"], Value::Null);
    assert!(
        second["earliest"].is_string(),
        "the pipeline got past the gate"
    );
}

#[test]
fn gate_skips_have_null_instants() {
    let out = plazo(&[
        "preview",
        "--json",
        "--config",
        "config.example.toml",
        "examples/auto-reply-bounce.eml",
    ]);
    let v: Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(v["action"], "skip");
    assert_eq!(v["reason"], "auto-submitted");
    assert_eq!(v["deadline"], Value::Null);
    assert_eq!(v["earliest"], Value::Null);
}

#[test]
fn preview_errors_name_the_file_and_go_on() {
    let out = plazo(&[
        "preview",
        "--config",
        "config.example.toml",
        "no-such.eml",
        NEWSLETTER,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.eml"));
    assert!(
        stdout(&out).contains("decision:"),
        "the next file is still processed"
    );
}

#[test]
fn preview_with_invalid_config_exits_78() {
    let out = plazo(&["preview", "--config", "Cargo.toml", NEWSLETTER]);
    assert_eq!(out.status.code(), Some(78));
}

#[test]
fn help_lists_the_commands() {
    let text = stdout(&plazo(&["--help"]));
    for cmd in ["check", "preview", "extract"] {
        assert!(text.contains(cmd), "{text}");
    }
}

/// The reply text `plazo preview --json` shows for one file at one arrival.
fn previewed_reply(config: &str, at: &str, file: &str) -> String {
    let out = plazo(&["preview", "--json", "--config", config, "--at", at, file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(v["action"], "reply", "{v}");
    v["reply"]["text"].as_str().expect("reply text").to_string()
}

#[test]
fn preview_says_dates_as_people_do() {
    let config = "tests/fixtures/reply/config.toml";
    // Tuesday 08:00 in Madrid, she opens at 09:00: "hoy a las 9:00".
    let early = "tests/fixtures/reply/es-within-short.eml";
    let text = previewed_reply(config, "2026-11-24T08:00:00+01:00", early);
    assert!(
        text.contains("lo leeré personalmente hoy a las 9:00 (hora de Madrid)"),
        "{text}"
    );
    // A New York client sees her time and theirs.
    let ny = "tests/fixtures/reply/en-other-zone.eml";
    let text = previewed_reply(config, "2026-11-26T15:00:00+01:00", ny);
    assert!(
        text.contains("today at 4:00 pm (Madrid time; at 10:00 am your time)"),
        "{text}"
    );
    // A thank-you note after hours: when she will read it, and no delivery date.
    let thanks = "tests/fixtures/reply/es-outside-no-request.eml";
    let text = previewed_reply(config, "2026-11-21T10:00:00+01:00", thanks);
    assert!(
        text.contains("lo leeré personalmente el lunes 23 a las 9:00"),
        "{text}"
    );
    assert!(!text.contains("entregar"), "{text}");
}

#[test]
fn templates_commands() {
    let out = plazo(&["templates", "list", "--config", "config.example.toml"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in [
        "es/away.txt",
        "en/short-notice.txt",
        "rush_earliest",
        "next_opening_zoned",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let out = plazo(&[
        "templates",
        "show",
        "en/away.txt",
        "--config",
        "config.example.toml",
    ]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("Subject:"));
    let out = plazo(&[
        "templates",
        "show",
        "fr/away.txt",
        "--config",
        "config.example.toml",
    ]);
    assert_eq!(out.status.code(), Some(1));

    // init, then check a folder with four problems: each reported with file (and line).
    let dir = tempfile::tempdir().expect("tempdir");
    let tpl = dir.path().join("tpl");
    let out = plazo(&["templates", "init", tpl.to_str().expect("path")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = plazo(&["templates", "init", tpl.to_str().expect("path")]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "init never overwrites without --force"
    );
    let edit = |name: &str, from: &str, to: &str| {
        let path = tpl.join(name);
        let text = std::fs::read_to_string(&path).expect("template");
        assert!(text.contains(from), "{name}: {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    };
    // A typo inside the rush branch, which no ordinary sample reaches.
    edit(
        "es/outside-hours.txt",
        "tenerlo {{ rush_earliest }}",
        "tenerlo {{ rush_earlest }}",
    );
    edit("en/away.txt", "{{ my_name }}", "{{ my_nmae }}");
    edit(
        "es/short-notice.txt",
        "{% if emergency %}",
        "{% if emergency %",
    );
    std::fs::rename(
        tpl.join("en/short-notice.txt"),
        tpl.join("en/short_notice.txt"),
    )
    .expect("rename");
    let config = std::fs::read_to_string(common::root().join("config.example.toml"))
        .expect("example")
        .replace("templates = \"\"", "templates = \"tpl\"");
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config).expect("config");
    let out = plazo(&[
        "check",
        "--offline",
        "--config",
        config_path.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(78));
    let text = stdout(&out);
    for needle in [
        "es/outside-hours.txt:9: unknown variable \"rush_earlest\"",
        "en/away.txt:12: unknown variable \"my_nmae\"",
        "es/short-notice.txt:11: syntax error",
        "en/short_notice.txt: unknown template",
        "(4 problems)",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
}

#[test]
fn docs_writes_a_man_page_per_subcommand_the_config_page_and_three_completions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plazo"))
        .arg("docs")
        .arg(dir.path())
        .output()
        .expect("run plazo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let man = dir.path().join("man");
    for page in [
        "plazo.1",
        "plazo-run.1",
        "plazo-check.1",
        "plazo-history.1",
        "plazo-auth-login.1",
        "plazo.toml.5",
    ] {
        let text =
            std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".") || text.starts_with("'"),
            "{page} is roff"
        );
    }
    let history = std::fs::read_to_string(man.join("plazo-history.1")).expect("page");
    assert!(
        history.contains("utc"),
        "the page comes from the clap definition"
    );
    let config = std::fs::read_to_string(man.join("plazo.toml.5")).expect("page");
    assert!(config.contains("[[client]]") && config.contains("fast_poll"));
    let completions = dir.path().join("completions");
    for (file, needle) in [
        ("plazo.bash", "history"),
        ("_plazo", "history"),
        ("plazo.fish", "history"),
    ] {
        let text = std::fs::read_to_string(completions.join(file)).expect("completion");
        assert!(text.contains(needle), "{file}");
    }
}
