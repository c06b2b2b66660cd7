//! `[[client]]` agreements: the notice, rush, language, zone and emergency line of one client,
//! everything else from the global settings; `never = true`; their problems in the config.

use plazo::pipeline::{Action, Decision, MemoryLedger};

mod common;
use common::mail;

/// Ana's settings, and agreements with three clients.
const CONFIG: &str = r#"
[identity]
name = "Ana García"
address = "ana@estudio-ana.example"
emergency = "600 000 000"

[schedule]
timezone = "Europe/Madrid"
monday = ["09:00-14:00", "16:00-19:00"]
tuesday = ["09:00-14:00", "16:00-19:00"]
wednesday = ["09:00-14:00", "16:00-19:00"]
thursday = ["09:00-14:00", "16:00-19:00"]
friday = ["09:00-14:00"]

[notice]
minimum = "24h"
rush_minimum = "4h"
rush_fee = "+50 %"

[reply]
audience = "clients"
clients = ["@cliente-a.example"]

[[client]]
name = "Tienda Sol"
match = ["@tienda-sol.example"]
notice = { minimum = "72h" }
language = "en"
rush = false

[[client]]
name = "Brightfields"
match = ["@brightfields.example"]
timezone = "America/New_York"
emergency = false

[[client]]
name = "Dirección"
match = ["direccion@cliente-a.example"]
never = true
"#;

/// A Spanish mail from `from` at `date` asking for something by `by`.
fn request(from: &str, date: &str, by: &str) -> Vec<u8> {
    mail(
        &[
            &format!("Return-Path: <{from}>"),
            &format!("From: Cliente <{from}>"),
            "To: Ana <ana@estudio-ana.example>",
            "Subject: Cambios en la web",
            &format!("Date: {date}"),
            &format!("Message-ID: <{}@test>", from.replace('@', ".")),
            "Content-Type: text/plain; charset=utf-8",
        ],
        &format!("Hola Ana, necesito que cambies el banner {by}.\nGracias"),
    )
}

fn decide(raw: &[u8]) -> Decision {
    let config = common::config_text(CONFIG);
    common::decide(&config, raw, &mut MemoryLedger::default())
}

fn text(d: &Decision) -> String {
    d.reply
        .as_ref()
        .map(|r| r.text.clone())
        .unwrap_or_else(|| panic!("no reply ({})", d.reason()))
}

#[test]
fn a_clients_notice_and_language_apply_to_them_only() {
    // Friday evening, asking for Monday: short notice under either agreement.
    let date = "Fri, 20 Nov 2026 20:00:00 +0100";
    let plain = decide(&request("laura@cliente-a.example", date, "para el lunes"));
    let sol = decide(&request("sofia@tienda-sol.example", date, "para el lunes"));
    assert_eq!(plain.client, None);
    assert_eq!(sol.client.as_deref(), Some("Tienda Sol"));
    let earliest = |d: &Decision| {
        d.assessment
            .as_ref()
            .and_then(|a| a.earliest)
            .expect("an earliest date")
    };
    // 24 working hours from Monday 9:00 vs 72: Wednesday vs the Monday after.
    assert!(
        earliest(&sol) > earliest(&plain) + chrono::Duration::days(3),
        "{} vs {}",
        earliest(&sol),
        earliest(&plain)
    );
    assert_eq!(plain.language.code(), "es");
    assert_eq!(
        sol.language.code(),
        "en",
        "the agreement's language, not hers"
    );
    let sol_text = text(&sol);
    assert!(
        sol_text.starts_with("Hello") || sol_text.starts_with("Hi"),
        "{sol_text}"
    );
    assert!(
        sol_text.contains("need 72 working hours"),
        "the client’s own notice: {sol_text}"
    );
    // rush = false: no rush is offered to this client, though Ana offers one to others.
    assert!(
        plain
            .assessment
            .as_ref()
            .is_some_and(|a| a.rush_earliest.is_some())
    );
    assert!(
        sol.assessment
            .as_ref()
            .is_some_and(|a| a.rush_earliest.is_none())
    );
    assert!(!sol_text.contains("+50 %"), "{sol_text}");
    assert!(text(&plain).contains("+50 %"), "{}", text(&plain));
}

#[test]
fn a_client_zone_gives_their_time_across_their_own_dst_change() {
    // Friday 30 October 2026: Madrid is already on winter time (UTC+1), New York not until
    // Sunday 1 November (UTC-4, then UTC-5). The earliest delivery falls after New York's
    // change: their time is six hours behind Madrid then, not the five of the mail's Date.
    let date = "Fri, 30 Oct 2026 15:00:00 -0400";
    let d = decide(&request("tom@brightfields.example", date, "para el lunes"));
    assert_eq!(d.client.as_deref(), Some("Brightfields"));
    let earliest = d
        .assessment
        .as_ref()
        .and_then(|a| a.earliest)
        .expect("earliest");
    let madrid = earliest.with_timezone(&chrono_tz::Europe::Madrid);
    let ny = earliest.with_timezone(&chrono_tz::America::New_York);
    let reply = text(&d);
    let their_clock = ny.format("%-H:%M").to_string();
    let wrong_clock = earliest
        .with_timezone(&chrono::FixedOffset::west_opt(4 * 3600).expect("offset"))
        .format("%-H:%M")
        .to_string();
    assert_ne!(their_clock, wrong_clock);
    assert!(
        reply.contains(&format!("{their_clock} en tu hora")),
        "{their_clock} New York time for {madrid}:\n{reply}"
    );
    // emergency = false: the line Ana gives her clients is not offered to this one.
    assert!(!reply.contains("600 000 000"), "{reply}");
    let plain = decide(&request("laura@cliente-a.example", date, "para el lunes"));
    assert!(text(&plain).contains("600 000 000"), "{}", text(&plain));
}

#[test]
fn a_never_client_is_skipped_and_never_answered() {
    let d = decide(&request(
        "direccion@cliente-a.example",
        "Fri, 20 Nov 2026 20:00:00 +0100",
        "para el lunes",
    ));
    assert_eq!(d.action, Action::Skip);
    assert_eq!(d.reason(), "never-client");
    assert!(d.reply.is_none());
}

#[test]
fn agreement_problems_name_their_keys() {
    let text = CONFIG.to_string()
        + r#"
[[client]]
name = "Rota"
notice = { minimum = "soon", counts = "weekly", rush_minimum = "2h" }
rush = false
language = "fr"
timezone = "Europe/Madird"
formality = "vos"
"#;
    let problems = match plazo::config::Config::parse(&text, std::path::Path::new("t.toml")) {
        Ok(_) => panic!("accepted a broken [[client]]"),
        Err(plazo::config::ConfigError::Invalid { problems, .. }) => problems,
        Err(e) => panic!("{e}"),
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "client[3].match",
        "client[3].notice.minimum",
        "client[3].notice.counts",
        "client[3].notice.rush_minimum",
        "client[3].language",
        "client[3].timezone",
        "client[3].formality",
    ] {
        assert!(keys.contains(&key), "{key} missing in {keys:?}");
    }
    assert!(
        problems.iter().all(|p| p.line.is_some()),
        "every problem has its line: {problems:?}"
    );
}

#[test]
fn a_usted_client_is_addressed_as_usted_and_others_as_tu() {
    let config = common::config_text(&format!(
        "{CONFIG}\n[[client]]\nname = \"Bufete\"\nmatch = [\"@bufete.example\"]\nformality = \"usted\"\ntimezone = \"America/Mexico_City\"\n"
    ));
    let date = "Fri, 20 Nov 2026 14:00:00 -0600";
    let usted = common::decide(
        &config,
        &request("lic.ramos@bufete.example", date, "para el lunes"),
        &mut MemoryLedger::default(),
    );
    let formal = text(&usted);
    for words in ["Me lo pide «", "en su hora"] {
        assert!(formal.contains(words), "{words}: {formal}");
    }
    for words in ["pides", "te lo", "contéstame", "tu mensaje", "tu hora"] {
        assert!(!formal.contains(words), "{words}: {formal}");
    }
    let tu = common::decide(
        &config,
        &request(
            "laura@cliente-a.example",
            "Fri, 20 Nov 2026 14:00:00 -0600",
            "para el lunes",
        ),
        &mut MemoryLedger::default(),
    );
    let familiar = text(&tu);
    assert!(
        familiar.contains("Me lo pides «") && familiar.contains("en tu hora"),
        "{familiar}"
    );
}

#[test]
fn a_clients_template_folder_wins_over_the_global_one_file_by_file() {
    use plazo::render::Templates;
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    // Tienda Sol's own folder has the outside-hours reply in English; the global folder has a
    // short-notice one in English that Tienda Sol then uses too.
    write(
        "tienda/en/outside-hours.txt",
        "Subject: \n\nDear Tienda Sol team, I read mail on working days: {{ next_opening }}.\n",
    );
    write(
        "global/en/short-notice.txt",
        "Subject: \n\nGlobal short notice: {{ earliest }}.\n",
    );
    let config_text = CONFIG
        .replace("[reply]\n", "[reply]\ntemplates = \"global\"\n")
        .replace(
            "name = \"Tienda Sol\"\n",
            "name = \"Tienda Sol\"\ntemplates = \"tienda\"\n",
        );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &config_text).expect("config");
    let config = match plazo::config::Config::load(&path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let templates = match Templates::load_for(&config) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let run = |raw: &[u8]| {
        let msg = plazo::mail::Inbound::parse(raw);
        let arrival = msg.date.expect("date").to_utc();
        let moment = plazo::pipeline::Moment {
            arrival,
            now: arrival,
        };
        match plazo::pipeline::decide(&msg, &config, &templates, moment, &MemoryLedger::default()) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    };
    // Saturday: outside hours, for Tienda Sol (answered in English by agreement) and for an
    // English-speaking client without a folder of their own.
    let saturday = "Sat, 21 Nov 2026 11:00:00 +0100";
    let own = text(&run(&request(
        "pedidos@tienda-sol.example",
        saturday,
        "para el lunes",
    )));
    assert!(own.starts_with("Dear Tienda Sol team"), "{own}");
    let other = text(&run(&request(
        "laura@cliente-a.example",
        saturday,
        "para el lunes",
    )));
    assert!(!other.contains("Tienda Sol team"), "{other}");
    // A weekday with short notice: Tienda Sol's folder has no short-notice file, so the global
    // one answers.
    let tuesday = "Tue, 24 Nov 2026 10:00:00 +0100";
    let short = text(&run(&request(
        "pedidos@tienda-sol.example",
        tuesday,
        "hoy a las 12",
    )));
    assert!(short.starts_with("Global short notice"), "{short}");

    // `plazo check` names a broken file in the client's folder, once.
    write(
        "tienda/en/away.txt",
        "Subject: \n\n{{ no_such_variable }}\n",
    );
    let (problems, _) = {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_plazo"))
            .args(["check", "--offline", "--config"])
            .arg(&path)
            .output()
            .expect("plazo check");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status,
        )
    };
    assert!(
        problems.contains("tienda/en/away.txt") && problems.contains("no_such_variable"),
        "{problems}"
    );
    assert_eq!(
        problems.matches("no_such_variable").count(),
        1,
        "{problems}"
    );
    assert!(
        problems.contains("template en/outside-hours.txt for client Tienda Sol:"),
        "{problems}"
    );
}
