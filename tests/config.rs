//! The config file: every problem listed with its line, `plazo check --offline` exit codes, and
//! the shipped example.

use std::path::Path;
use std::process::Command;

use plazo::config::{Config, ConfigError, PasswordSource};

mod common;

fn problems(text: &str) -> Vec<String> {
    match Config::parse(text, Path::new("bad.toml")) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(ConfigError::Invalid { problems, .. }) => problems
            .iter()
            .map(|p| format!("{}:{}", p.line.map_or("-".into(), |l| l.to_string()), p.key))
            .collect(),
        Err(e) => panic!("{e}"),
    }
}

const MINIMAL: &str = r#"
[identity]
name = "Ana"
address = "ana@x.example"
[schedule]
timezone = "Europe/Madrid"
monday = ["09:00-14:00"]
"#;

#[test]
fn four_problems_at_once_with_lines() {
    let text = r#"[identity]
name = "Ana"
address = "ana@x.example"

[schedule]
timezone = "Mars/Olympus"
monday = ["09:00-14:00", "25:00-26:00"]
holidays = ["2027-01-06..2026-12-31"]

[reply]
tone = "friendly"
"#;
    assert_eq!(
        problems(text),
        [
            "6:schedule.timezone",
            "7:schedule.monday[1]",
            "8:schedule.holidays[0]",
            "11:reply.tone"
        ]
    );
}

#[test]
fn check_offline_lists_all_and_exits_78() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[identity]\nname = \"Ana\"\naddress = \"ana@x.example\"\nfavourite = 1\n\n[schedule]\ntimezone = \"Europe/Madird\"\nmonday = [\"25:00-26:00\"]\nholidays = [\"2027-01-06..2026-12-31\"]\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_plazo"))
        .args(["check", "--offline", "--config"])
        .arg(&path)
        .output()
        .expect("run plazo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(78), "{stdout}");
    let file = path.display().to_string();
    for expected in [
        format!("{file}:4: identity.favourite: unknown key"),
        format!("{file}:7: schedule.timezone: unknown time zone \"Europe/Madird\""),
        format!("{file}:8: schedule.monday[0]: \"25:00-26:00\""),
        format!("{file}:9: schedule.holidays[0]: \"2027-01-06..2026-12-31\" ends before it starts"),
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(&expected)),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}

#[test]
fn shipped_example_is_valid() {
    let out = Command::new(env!("CARGO_BIN_EXE_plazo"))
        .args(["check", "--offline", "--config"])
        .arg(common::root().join("config.example.toml"))
        .output()
        .expect("run plazo");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unreadable_file_exits_78_naming_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_plazo"))
        .args(["check", "--offline", "--config", "/nonexistent/plazo.toml"])
        .output()
        .expect("run plazo");
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/nonexistent/plazo.toml"));
}

#[test]
fn syntax_error_has_a_line() {
    let p = problems("[identity]\nname = \"Ana\"\naddress = \n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("3:"), "{p:?}");
}

#[test]
fn wrong_type_has_a_line() {
    let p = problems(&format!("{MINIMAL}\n[reply]\nsave_to_sent = \"yes\"\n"));
    assert!(p.iter().any(|p| p.starts_with("10:")), "{p:?}");
}

#[test]
fn every_wrong_type_is_reported_with_its_key_beside_the_other_problems() {
    let p = problems(&format!(
        "{MINIMAL}\n[notice]\nminimum = 36\ncounts = \"wall\"\n[imap]\nhost = \"h\"\nport = \"993\"\nusername = \"u\"\npassword_command = \"x\"\n[[client]]\nname = \"Sol\"\nmatch = [\"@sol.example\"]\nnever = \"yes\"\n[colours]\n"
    ));
    for expected in [
        "10:notice.minimum",
        "11:notice.counts",
        "14:imap.port",
        "20:client[0].never",
        "21:colours",
    ] {
        assert!(
            p.contains(&expected.to_string()),
            "{expected} missing in {p:?}"
        );
    }
}

#[test]
fn unknown_sections_and_nested_keys() {
    let p = problems(&format!(
        "{MINIMAL}\n[smtp]\nhost = \"h\"\nusername = \"u\"\nmailbox = \"INBOX\"\n[colours]\nx = 1\n"
    ));
    assert!(p.contains(&"12:smtp.mailbox".to_string()), "{p:?}");
    assert!(p.contains(&"13:colours".to_string()), "{p:?}");
}

#[test]
fn value_rules() {
    let cases = [
        ("[notice]\nminimum = \"soon\"", "notice.minimum"),
        ("[notice]\ncounts = \"wall\"", "notice.counts"),
        (
            "[notice]\nminimum = \"2h\"\nrush_minimum = \"6h\"",
            "notice.rush_minimum",
        ),
        ("[reply]\ntriggers = [\"weekend\"]", "reply.triggers[0]"),
        ("[reply]\naudience = \"clients\"", "reply.clients"),
        ("[reply]\nnever = [\"nobody\"]", "reply.never[0]"),
        (
            "[reply]\ndefault_language = \"fr\"",
            "reply.default_language",
        ),
        ("[reply]\ntemplates = \"no-such-folder\"", "reply.templates"),
        (
            "[imap]\nhost = \"mail.example.com\"\nusername = \"u\"\nsecurity = \"plain\"",
            "imap.security",
        ),
        (
            "[imap]\nhost = \"h\"\nusername = \"u\"\npassword_file = \"f\"\npassword_command = \"c\"",
            "imap.password_command",
        ),
        (
            "[imap]\nhost = \"h\"\nusername = \"u\"\nport = 0",
            "imap.port",
        ),
        ("[imap]\nusername = \"u\"", "imap.host"),
    ];
    for (extra, key) in cases {
        let p = problems(&format!("{MINIMAL}\n{extra}\n"));
        assert!(p.iter().any(|p| p.ends_with(key)), "{extra}: {p:?}");
    }
    let bad_schedule = [
        (
            "tuesday = [\"10:00-12:00\", \"11:00-13:00\"]",
            "schedule.tuesday",
        ),
        ("tuesday = [\"9-14\"]", "schedule.tuesday[0]"),
        ("tuesday = [\"14:00-09:00\"]", "schedule.tuesday[0]"),
        ("holidays = [\"2026-02-30\"]", "schedule.holidays[0]"),
    ];
    for (extra, key) in bad_schedule {
        let text = MINIMAL.replace(
            "monday = [\"09:00-14:00\"]",
            &format!("monday = [\"09:00-14:00\"]\n{extra}"),
        );
        let p = problems(&text);
        assert!(p.iter().any(|p| p.ends_with(key)), "{extra}: {p:?}");
    }
    let closed = MINIMAL.replace("monday = [\"09:00-14:00\"]", "");
    assert!(problems(&closed).iter().any(|p| p.ends_with("schedule")));
}

#[test]
fn defaults_and_password_sources() {
    let c = common::config_text(&format!(
        "{MINIMAL}\n[imap]\nhost = \"127.0.0.1\"\nusername = \"u\"\nsecurity = \"plain\"\n[smtp]\nhost = \"h\"\nusername = \"u\"\npassword_command = \"pass smtp\"\n"
    ));
    let imap = c.imap.expect("imap");
    assert_eq!(imap.port, 143);
    assert_eq!(imap.mailbox, "INBOX");
    assert_eq!(
        imap.password,
        PasswordSource::Env("PLAZO_IMAP_PASSWORD".into())
    );
    let smtp = c.smtp.expect("smtp");
    // Security defaults to "tls", whose port is 465; "starttls" means 587.
    assert_eq!(smtp.port, 465);
    assert_eq!(smtp.password, PasswordSource::Command("pass smtp".into()));
    let c2 = common::config_text(&format!(
        "{MINIMAL}\n[smtp]\nhost = \"h\"\nusername = \"u\"\nsecurity = \"starttls\"\n"
    ));
    assert_eq!(c2.smtp.map(|s| s.port), Some(587));
    assert_eq!(c.reply.once_per_sender, chrono::Duration::days(7));
    assert_eq!(c.reply.max_age, chrono::Duration::hours(24));
    assert!(c.reply.save_to_sent);
}

#[test]
fn daemon_needs_servers() {
    let c = common::config_text(MINIMAL);
    let keys: Vec<_> = c.daemon_problems().into_iter().map(|p| p.key).collect();
    assert_eq!(keys, ["imap", "smtp"]);
}

#[test]
fn oauth2_presets_and_custom_endpoints() {
    let servers = "[imap]\nhost = \"imap.example.test\"\nusername = \"ana@example.test\"\nauth = \"oauth2\"\n[smtp]\nhost = \"smtp.example.test\"\nusername = \"ana@example.test\"\nauth = \"oauth2\"\n";
    let c = common::config_text(&format!(
        "{MINIMAL}\n{servers}[oauth2]\nprovider = \"microsoft\"\nclient_id = \"app\"\ntenant = \"contoso.example\"\n"
    ));
    assert!(c.uses_oauth2());
    let o = c.oauth2.clone().expect("oauth2");
    assert_eq!(
        o.token_url,
        "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    );
    assert!(o.device_url.is_some());
    assert!(
        o.scopes.iter().any(|s| s == "offline_access"),
        "{:?}",
        o.scopes
    );
    assert!(o.client_secret.is_none());
    assert_eq!(plazo::oauth::account(&c), Some("ana@example.test"));

    let g = common::config_text(&format!(
        "{MINIMAL}\n{servers}[oauth2]\nprovider = \"google\"\nclient_id = \"app\"\nclient_secret_command = \"pass google\"\n"
    ))
    .oauth2
    .expect("oauth2");
    assert_eq!(g.scopes, ["https://mail.google.com/"]);
    assert_eq!(
        g.client_secret,
        Some(PasswordSource::Command("pass google".into()))
    );

    let custom = common::config_text(&format!(
        "{MINIMAL}\n{servers}[oauth2]\nprovider = \"custom\"\nclient_id = \"app\"\nauthorization_url = \"http://127.0.0.1:9/authorize\"\ntoken_url = \"http://127.0.0.1:9/token\"\nscopes = [\"mail\"]\n"
    ))
    .oauth2
    .expect("oauth2");
    assert_eq!(custom.device_url, None);
    assert_eq!(custom.scopes, ["mail"]);
}

#[test]
fn oauth2_problems_name_their_keys() {
    let imap = "[imap]\nhost = \"imap.example.test\"\nusername = \"ana\"\n";
    // auth = "oauth2" without the section, and with a password key.
    let p = problems(&format!(
        "{MINIMAL}\n{imap}auth = \"oauth2\"\npassword_file = \"pw\"\n"
    ));
    assert!(p.iter().any(|p| p.ends_with(":imap.auth")), "{p:?}");
    assert!(
        p.iter().any(|p| p.ends_with(":imap.password_file")),
        "{p:?}"
    );
    let p = problems(&format!("{MINIMAL}\n{imap}auth = \"kerberos\"\n"));
    assert!(p.iter().any(|p| p.ends_with(":imap.auth")), "{p:?}");
    // The section's own checks.
    let cases = [
        ("provider = \"yahoo\"\nclient_id = \"a\"", "oauth2.provider"),
        ("provider = \"google\"", "oauth2.client_id"),
        (
            "provider = \"google\"\nclient_id = \"a\"\ntenant = \"t\"",
            "oauth2.tenant",
        ),
        (
            "provider = \"google\"\nclient_id = \"a\"\ntoken_url = \"https://x.example/t\"",
            "oauth2.token_url",
        ),
        (
            "provider = \"custom\"\nclient_id = \"a\"\ntoken_url = \"https://x.example/t\"\nscopes = [\"s\"]",
            "oauth2.authorization_url",
        ),
        (
            "provider = \"custom\"\nclient_id = \"a\"\nauthorization_url = \"https://x.example/a\"\ntoken_url = \"http://x.example/t\"\nscopes = [\"s\"]",
            "oauth2.token_url",
        ),
        (
            "provider = \"custom\"\nclient_id = \"a\"\nauthorization_url = \"https://x.example/a\"\ntoken_url = \"https://x.example/t\"",
            "oauth2.scopes",
        ),
        (
            "provider = \"google\"\nclient_id = \"a\"\nclient_secret_file = \"s\"\nclient_secret_command = \"c\"",
            "oauth2.client_secret_command",
        ),
        (
            "provider = \"google\"\nclient_id = \"a\"\nsecret = \"x\"",
            "oauth2.secret",
        ),
    ];
    for (section, key) in cases {
        let p = problems(&format!(
            "{MINIMAL}\n{imap}auth = \"oauth2\"\n[oauth2]\n{section}\n"
        ));
        assert!(
            p.iter().any(|p| p.ends_with(&format!(":{key}"))),
            "{section}: {p:?}"
        );
    }
}

#[test]
fn texts_per_language_and_away_periods() {
    let text = format!(
        r#"{MINIMAL}
emergency_audience = "everybody"
[notice]
rush_fee = {{ es = "+50 %", fr = "+50 %" }}
[reply]
subject_prefix = {{ en = "Auto:\nreply" }}
triggers = ["away"]
[[away]]
from = "2027-01-06"
until = "2027-01-02"
[[away]]
from = "2027-08-01"
"#
    );
    // The text above puts emergency_audience under [schedule]: an unknown key there.
    let got = problems(&text);
    for key in [
        "schedule.emergency_audience",
        "notice.rush_fee.fr",
        "reply.subject_prefix.en",
        "reply.triggers[0]",
        "away[0].until",
        "away[1].until",
    ] {
        assert!(
            got.iter().any(|p| p.ends_with(&format!(":{key}"))),
            "{key}: {got:?}"
        );
    }
    let ok = r#"[identity]
name = "Ana"
address = "ana@x.example"
emergency = { es = "llámame al 600 000 000", en = "call +34 600 000 000" }
emergency_audience = "anyone"
[schedule]
timezone = "Europe/Madrid"
monday = ["09:00-14:00"]
[[away]]
from = "2027-08-02"
until = "2027-08-20"
message = "De vacaciones"
answer = false
"#;
    let config = Config::parse(ok, Path::new("ok.toml")).unwrap_or_else(|e| panic!("{e}"));
    use plazo::lang::Lang;
    assert_eq!(
        config.identity.emergency.get(Lang::En),
        Some("call +34 600 000 000")
    );
    assert_eq!(config.away.len(), 1);
    assert!(!config.away[0].answer);
    assert_eq!(config.away[0].message.get(Lang::Es), Some("De vacaciones"));
    assert_eq!(config.schedule.away.len(), 1, "the days close the calendar");
}

#[test]
fn check_warns_of_a_schedule_that_never_opens_and_a_readable_secret() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("imap-password");
    std::fs::write(&secret, "secret").expect("write");
    let config = |holidays: &str| {
        format!(
            "[identity]\nname = \"Ana\"\naddress = \"ana@x.example\"\n\n[schedule]\ntimezone = \"Europe/Madrid\"\nmonday = [\"09:00-14:00\"]\n{holidays}\n[imap]\nhost = \"imap.x.example\"\nsecurity = \"tls\"\nusername = \"ana\"\npassword_file = \"imap-password\"\n\n[smtp]\nhost = \"smtp.x.example\"\nusername = \"ana\"\npassword_command = \"echo x\"\n"
        )
    };
    let path = dir.path().join("config.toml");
    let check = || {
        let out = Command::new(env!("CARGO_BIN_EXE_plazo"))
            .args(["check", "--offline", "--config"])
            .arg(&path)
            .output()
            .expect("run plazo");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let today = plazo::clock::now().date_naive();
    let far = today + chrono::Duration::days(800);
    std::fs::write(&path, config(&format!("holidays = [\"{today}..{far}\"]"))).expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (code, out) = check();
    assert_eq!(code, Some(0), "warnings do not fail the check:\n{out}");
    assert!(
        out.contains("warning: schedule: no working time in the next year"),
        "{out}"
    );
    assert!(
        out.contains("warning: imap.password_file:")
            && out.contains("can be read by every user of this machine (mode 0644)"),
        "{out}"
    );
    // An ordinary schedule and a private file: no warning.
    std::fs::write(&path, config("")).expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (code, out) = check();
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("warning:"), "{out}");
}

#[test]
fn fast_poll_and_smtp_timeout_have_their_rules() {
    let base = "[identity]\nname = \"Ana\"\naddress = \"ana@x.example\"\n[schedule]\ntimezone = \"Europe/Madrid\"\nmonday = [\"09:00-14:00\"]\n";
    let problems = |extra: &str| match plazo::config::Config::parse(
        &format!("{base}{extra}"),
        std::path::Path::new("t.toml"),
    ) {
        Ok(_) => Vec::new(),
        Err(plazo::config::ConfigError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect(),
        Err(e) => panic!("{e}"),
    };
    let imap = "[imap]\nhost = \"h\"\nusername = \"u\"\npassword_command = \"echo x\"\n";
    let smtp = "[smtp]\nhost = \"h\"\nusername = \"u\"\npassword_command = \"echo x\"\n";
    assert!(problems(&format!("{imap}fast_poll = \"100ms\"\n")).is_empty());
    assert_eq!(
        problems(&format!("{imap}fast_poll = \"1ms\"\n")),
        ["imap.fast_poll: must be between 10ms and 60s"]
    );
    assert_eq!(
        problems(&format!("{smtp}fast_poll = \"100ms\"\n")),
        ["smtp.fast_poll: only [imap] has fast_poll"]
    );
    assert!(problems(&format!("{smtp}timeout = \"5s\"\n")).is_empty());
    assert_eq!(
        problems(&format!("{smtp}timeout = \"20m\"\n")),
        ["smtp.timeout: must be between 1s and 10m"]
    );
    assert_eq!(
        problems(&format!("{imap}timeout = \"5s\"\n")),
        ["imap.timeout: only [smtp] has timeout"]
    );
}

#[test]
fn digest_keys_are_checked_with_their_key_and_default_from_reply() {
    let base = "[identity]\nname = \"Ana\"\naddress = \"ana@example.test\"\n\n[schedule]\ntimezone = \"Europe/Madrid\"\nmonday = [\"09:00-14:00\"]\n";
    let bad = format!(
        "{base}\n[digest]\nday = \"lunes\"\nat = \"25:00\"\nto = \"not an address\"\nlanguage = \"fr\"\n"
    );
    let err = match plazo::config::Config::parse(&bad, std::path::Path::new("c.toml")) {
        Ok(_) => panic!("a broken [digest] must be refused"),
        Err(e) => e.to_string(),
    };
    for key in ["digest.day", "digest.at", "digest.to", "digest.language"] {
        assert!(err.contains(key), "{key} in: {err}");
    }
    // Off by default when replies are not filed in Sent; on when they are.
    let off = format!("{base}\n[reply]\nsave_to_sent = false\n");
    match plazo::config::Config::parse(&off, std::path::Path::new("c.toml")) {
        Ok(c) => assert!(!c.digest.enabled),
        Err(e) => panic!("{e}"),
    }
    match plazo::config::Config::parse(base, std::path::Path::new("c.toml")) {
        Ok(c) => {
            assert!(c.digest.enabled);
            assert_eq!(c.digest.to, "ana@example.test");
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn calendar_sources_are_one_of_file_url_caldav_with_their_rules() {
    let base = "[identity]\nname = \"Ana\"\naddress = \"ana@x.example\"\n[schedule]\ntimezone = \"Europe/Madrid\"\nmonday = [\"09:00-14:00\"]\n";
    let parse = |extra: &str| {
        plazo::config::Config::parse(&format!("{base}{extra}"), std::path::Path::new("/e/t.toml"))
    };
    let problems = |extra: &str| match parse(extra) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect(),
        Err(e) => panic!("{e}"),
    };
    let one = |extra: &str| {
        let config = parse(extra).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.calendars.len(), 1);
        config.calendars[0].clone()
    };
    use plazo::config::Origin;
    let file = one("[[calendar]]\nfile = \"cal.ics\"\n");
    assert_eq!(file.origin, Origin::File("/e/cal.ics".into()));
    assert_eq!(
        file.refresh,
        std::time::Duration::from_secs(900),
        "default 15m"
    );
    assert_eq!(
        file.timeout,
        std::time::Duration::from_secs(30),
        "default 30s"
    );
    let link = one(
        "[[calendar]]\nurl = \"https://calendar.example/ical/ana/private-0123/basic.ics\"\nrefresh = \"1h\"\n",
    );
    let Origin::Remote(remote) = &link.origin else {
        panic!("{link:?}")
    };
    assert!(!remote.caldav && remote.login.is_none());
    assert_eq!(link.refresh, std::time::Duration::from_secs(3600));
    assert_eq!(
        link.origin.describe(),
        "https://calendar.example/… (ICS link)",
        "the secret path is never shown"
    );
    let dav = one(
        "[[calendar]]\ncaldav = \"https://dav.example/ana/work/\"\nusername = \"ana\"\npassword_file = \"dav.pw\"\n",
    );
    let Origin::Remote(remote) = &dav.origin else {
        panic!("{dav:?}")
    };
    assert!(remote.caldav);
    assert_eq!(
        remote.login,
        Some(("ana".to_string(), PasswordSource::File("/e/dav.pw".into())))
    );
    let no_password = one("[[calendar]]\ncaldav = \"https://dav.example/a/\"\nusername = \"a\"\n");
    let Origin::Remote(remote) = &no_password.origin else {
        panic!()
    };
    assert_eq!(
        remote.login.as_ref().map(|l| &l.1),
        Some(&PasswordSource::Env("PLAZO_CALENDAR_PASSWORD".into()))
    );

    assert_eq!(
        problems("[[calendar]]\nholidays = true\n"),
        [
            "calendar[0].file: missing: give file (an .ics file), url (an ICS link) or caldav (a CalDAV collection)"
        ]
    );
    assert_eq!(
        problems("[[calendar]]\nfile = \"a.ics\"\nurl = \"https://x.example/a.ics\"\n"),
        ["calendar[0].url: give one of file, url and caldav per [[calendar]]"]
    );
    assert_eq!(
        problems("[[calendar]]\nurl = \"webcal://x.example/a.ics\"\n"),
        [
            "calendar[0].url: \"webcal://x.example/a.ics\": write https:// instead of webcal:// (the same link over HTTPS)"
        ]
    );
    assert_eq!(
        problems("[[calendar]]\ncaldav = \"not a url\"\n").len(),
        1,
        "a URL that is not one"
    );
    assert_eq!(
        problems("[[calendar]]\ncaldav = \"http://dav.example/a/\"\nusername = \"a\"\n"),
        [
            "calendar[0].caldav: \"http://dav.example/a/\": the password would travel in clear; use https (http only towards a loopback address)"
        ]
    );
    assert!(
        problems("[[calendar]]\ncaldav = \"http://127.0.0.1:5232/a/\"\nusername = \"a\"\n")
            .is_empty()
    );
    assert_eq!(
        problems("[[calendar]]\nfile = \"a.ics\"\nusername = \"a\"\n"),
        ["calendar[0].username: only a url or caldav calendar logs in"]
    );
    assert_eq!(
        problems(
            "[[calendar]]\nurl = \"https://x.example/a\"\nrefresh = \"10s\"\ntimeout = \"1h\"\n"
        ),
        [
            "calendar[0].refresh: must be between 1m and 1d",
            "calendar[0].timeout: must be between 1s and 5m"
        ]
    );
}
