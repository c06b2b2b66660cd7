//! The daemon against real servers: Dovecot (IMAP, LMTP) and aiosmtpd (SMTP) on 127.0.0.1,
//! started by `scripts/mail-servers`. Each test has its own users, config and state.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mail_parser::MessageParser;

mod common;
use common::servers::{Daemon, Setup, client_mail, servers};

fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(raw).expect("parse")
}

fn header<'a>(m: &'a mail_parser::Message<'a>, name: &'a str) -> Option<&'a str> {
    m.header_raw(name).map(str::trim)
}

#[tokio::test(flavor = "current_thread")]
async fn outside_hours_mail_gets_one_reply_filed_and_marked() {
    let s = servers();
    let mut ana = Daemon::new(s, "ana", Setup::default());
    let (client, client_pw) = s.user("client");
    ana.start();

    let mail = client_mail(
        &client,
        &ana.address,
        "Cambio en la web",
        "Hola Ana, ¿puedes cambiar el banner?",
        &[],
    );
    let sent_at = Instant::now();
    s.deliver(&client, &ana.address, &mail).await;
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(5))
        .await;
    let elapsed = sent_at.elapsed();
    assert_eq!(got.len(), 1, "one reply within 5 s:\n{}", ana.log());
    eprintln!("reply in the client's INBOX after {elapsed:?}");

    let reply = parse(&got[0].0);
    let original = parse(&mail);
    assert_eq!(header(&reply, "Auto-Submitted"), Some("auto-replied"));
    assert_eq!(header(&reply, "X-Auto-Response-Suppress"), Some("All"));
    assert_eq!(reply.in_reply_to().as_text(), original.message_id());
    assert_eq!(
        reply.subject(),
        Some("Respuesta automática: Re: Cambio en la web")
    );
    assert_eq!(
        reply.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some(client.as_str())
    );
    let body = reply.body_text(0).expect("body");
    assert!(body.contains("Hola"), "Spanish reply:\n{body}");
    assert!(body.contains("(hora de Madrid"), "{body}");

    // Filed: a copy in Ana's Sent folder, the keyword on the original. Filing follows sending.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let sent = s.messages(&ana.address, &ana.password, "Sent").await;
        let inbox = s.messages(&ana.address, &ana.password, "INBOX").await;
        let marked = inbox
            .first()
            .is_some_and(|(_, flags)| flags.iter().any(|f| f.contains("$AutoReplied")));
        if sent.len() == 1 && marked {
            assert_eq!(parse(&sent[0].0).message_id(), reply.message_id());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not filed: sent {}, inbox flags {:?}\n{}",
            sent.len(),
            inbox.first().map(|m| &m.1),
            ana.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A second mail from the same client within the week: no second reply.
    let again = client_mail(
        &client,
        &ana.address,
        "Otra cosa",
        "Y otra cosa más: la necesito para mañana a las 10, y el catálogo lo necesito en marzo.",
        &[],
    );
    s.deliver(&client, &ana.address, &again).await;
    ana.wait_log("skip (duplicate)", Duration::from_secs(5));
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);

    ana.stop(Duration::from_secs(5));
    let history = ana.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["delivery"], "sent");
    assert_eq!(history[0]["reason"], "duplicate");
    // What understanding read is kept with the decision: the deadline, and the month alone
    // (a possible request, too thin to quote).
    let findings = history[0]["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(findings[0]["phrase"], "para mañana a las 10");
    assert_eq!(findings[0]["role"], "request");
    assert_eq!(findings[0]["counts"], true);
    assert_eq!(findings[1]["phrase"], "marzo");
    assert_eq!(findings[1]["strength"], "weak");
    assert_eq!(findings[1]["counts"], false);
    let (code, text) = ana.run_to_end(&["history"]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains("deadline: \"para mañana a las 10\" request (strong)"),
        "{text}"
    );
    assert!(text.contains("unsure: \"marzo\" request (weak)"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn first_start_leaves_old_mail_alone() {
    let s = servers();
    let ana = Daemon::new(s, "ana", Setup::default());
    let (client, client_pw) = s.user("client");
    for i in 0..100 {
        let m = client_mail(
            &client,
            &ana.address,
            &format!("Old {i}"),
            "old mail",
            &[&format!("Return-Path: <{client}>")],
        );
        s.append(&ana.address, &ana.password, "INBOX", &m).await;
    }
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert!(ana.history().is_empty(), "nothing decided");
    assert!(
        s.messages(&client, &client_pw, "INBOX").await.is_empty(),
        "nothing sent"
    );
    // New mail after the baseline is answered.
    let m = client_mail(&client, &ana.address, "New", "new mail", &[]);
    s.deliver(&client, &ana.address, &m).await;
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn burst_answers_each_eligible_sender_once() {
    let s = servers();
    let mut ana = Daemon::new(s, "ana", Setup::default());
    let t0 = Instant::now();
    let clients: Vec<(String, String)> = (0..40).map(|_| s.user("burst")).collect();
    let (lister, lister_pw) = s.user("list");
    eprintln!("users created in {:?}", t0.elapsed());
    ana.start();
    let t0 = Instant::now();
    // 100 mails: 40 senders, 2–3 mails each, plus 10 list mails that must not be answered.
    let mut count = 0;
    for round in 0..3 {
        for (i, (c, _)) in clients.iter().enumerate() {
            if round == 2 && i % 2 == 0 {
                continue;
            }
            let m = client_mail(
                c,
                &ana.address,
                &format!("Pedido {round}"),
                "¿Podéis revisar la web?",
                &[],
            );
            s.deliver(c, &ana.address, &m).await;
            count += 1;
        }
    }
    for i in 0..10 {
        let m = client_mail(
            &lister,
            &ana.address,
            &format!("Boletín {i}"),
            "Novedades",
            &["List-Id: <boletin.example.test>"],
        );
        s.deliver(&lister, &ana.address, &m).await;
        count += 1;
    }
    assert_eq!(count, 110);
    eprintln!("110 mails delivered in {:?}", t0.elapsed());
    ana.wait_log_count("reply sent", 40, Duration::from_secs(60));
    eprintln!("40 replies sent after {:?}", t0.elapsed());
    ana.wait_log_count("skip (list)", 10, Duration::from_secs(20));
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (c, pw) in &clients {
        let got = s.messages(c, pw, "INBOX").await;
        assert_eq!(got.len(), 1, "{c} got {} replies", got.len());
    }
    assert!(s.messages(&lister, &lister_pw, "INBOX").await.is_empty());
    let history = ana.history();
    assert_eq!(history.len(), 110);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for h in &history {
        *reasons
            .entry(h["reason"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    assert_eq!(reasons.get("outside-hours"), Some(&40), "{reasons:?}");
    assert_eq!(reasons.get("duplicate"), Some(&60), "{reasons:?}");
    assert_eq!(reasons.get("list"), Some(&10), "{reasons:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn kill_9_during_bursts_never_sends_twice() {
    let s = servers();
    let mut ana = Daemon::new(s, "ana", Setup::default());
    let clients: Vec<(String, String)> = (0..30).map(|_| s.user("k9")).collect();
    // The first start takes the baseline; mail before it is never answered.
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let mut delivered = 0;
    for round in 0..20 {
        ana.spawn(&["run"]);
        // Mail arrives while plazo starts, catches up, sends; it is killed at a random moment.
        for k in 0..4 {
            let (c, _) = &clients[(round * 7 + k * 3) % clients.len()];
            let m = client_mail(c, &ana.address, &format!("Ronda {round}.{k}"), "Hola", &[]);
            s.deliver(c, &ana.address, &m).await;
            delivered += 1;
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..150))).await;
        }
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..700))).await;
        ana.kill9();
    }
    // A last clean run catches up with everything and drains the outbox.
    ana.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = ana.history();
        let settled = history.len() == delivered
            && history.iter().all(|h| {
                h["action"] == "skip" || h["delivery"] != "queued" && h["delivery"] != "sending"
            });
        if settled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not settled: {} of {delivered} decided\n{}",
            history.len(),
            ana.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ana.stop(Duration::from_secs(5));
    let history = ana.history();
    let mut uncertain = 0;
    for h in &history {
        if h["action"] == "reply" {
            let d = h["delivery"].as_str().unwrap_or("");
            assert!(["sent", "failed", "uncertain"].contains(&d), "{h}");
            uncertain += usize::from(d == "uncertain");
        }
    }
    let mut answered = 0;
    let mut received = std::collections::HashMap::new();
    for (c, pw) in &clients {
        let n = s.messages(c, pw, "INBOX").await.len();
        assert!(n <= 1, "{c} got {n} replies:\n{}", ana.log());
        answered += n;
        received.insert(c.clone(), n);
    }
    let replies = history.iter().filter(|h| h["action"] == "reply").count();
    assert!(
        answered >= replies - uncertain && answered <= replies,
        "{answered} in inboxes, {replies} decided, {uncertain} uncertain"
    );
    // Each client gets one reply at most: an uncertain one whose client has none never left.
    let never_left = history
        .iter()
        .filter(|h| h["action"] == "reply" && h["delivery"] == "uncertain")
        .filter(|h| received.get(h["sender"].as_str().unwrap_or("")) == Some(&0))
        .count();
    eprintln!(
        "{delivered} mails, {replies} replies decided, {uncertain} uncertain ({never_left} of them never left), {answered} received"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn two_instances_mailing_each_other_do_not_loop() {
    let s = servers();
    let mut a = Daemon::new(s, "loopa", Setup::default());
    let mut b = Daemon::new(s, "loopb", Setup::default());
    a.start();
    b.start();
    let m = client_mail(&a.address, &b.address, "Hola B", "Una pregunta", &[]);
    s.deliver(&a.address, &b.address, &m).await;
    let m = client_mail(&b.address, &a.address, "Hola A", "Otra pregunta", &[]);
    s.deliver(&b.address, &a.address, &m).await;
    a.wait_log("skip (auto-submitted)", Duration::from_secs(10));
    b.wait_log("skip (auto-submitted)", Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(2)).await;
    for d in [&a, &b] {
        let inbox = s.messages(&d.address, &d.password, "INBOX").await;
        let auto = inbox
            .iter()
            .filter(|(raw, _)| header(&parse(raw), "Auto-Submitted").is_some())
            .count();
        assert_eq!(inbox.len(), 2, "the human mail and one auto-reply");
        assert_eq!(auto, 1);
        assert_eq!(d.log().matches("reply sent").count(), 1);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn sighup_keeps_the_old_config_when_the_new_is_broken() {
    let s = servers();
    let mut ana = Daemon::new(s, "ana", Setup::default());
    let (client, client_pw) = s.user("client");
    ana.start();
    let good = std::fs::read_to_string(ana.config()).expect("config");
    std::fs::write(
        ana.config(),
        good.replace("[notice]", "[notice]\nbogus = 1"),
    )
    .expect("break");
    ana.signal("HUP");
    ana.wait_log(
        "reload failed, keeping the running config",
        Duration::from_secs(5),
    );
    let m = client_mail(&client, &ana.address, "¿Sigues ahí?", "Hola", &[]);
    s.deliver(&client, &ana.address, &m).await;
    assert_eq!(
        s.wait_for(&client, &client_pw, 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    // A good config is taken, and the watcher reconnects with it.
    std::fs::write(ana.config(), good).expect("restore");
    ana.signal("HUP");
    ana.wait_log("reloaded", Duration::from_secs(5));
    ana.wait_log_count("imap: watching", 2, Duration::from_secs(10));
    // A new state.path cannot be taken while running: said so, never "reloaded" alone.
    std::fs::write(
        ana.config(),
        std::fs::read_to_string(ana.config())
            .expect("config")
            .replace("path = \"state.sqlite3\"", "path = \"elsewhere.sqlite3\""),
    )
    .expect("move state");
    ana.signal("HUP");
    ana.wait_log(
        "elsewhere.sqlite3: a restart is needed to use it",
        Duration::from_secs(5),
    );
    ana.stop(Duration::from_secs(5));
}

#[tokio::test(flavor = "current_thread")]
async fn check_online_and_implicit_tls_smtp() {
    let s = servers();
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            smtp_security: "tls",
            ..Setup::default()
        },
    );
    let (client, client_pw) = s.user("client");
    let (code, out) = ana.run_to_end(&["check"]);
    assert_eq!(code, Some(0), "{out}\n{}", ana.log());
    assert!(
        out.contains("imap: ok:") && out.contains("smtp: ok:"),
        "{out}"
    );
    assert!(
        !out.contains(&ana.password),
        "check never prints the password"
    );
    ana.start();
    let m = client_mail(&client, &ana.address, "TLS", "Hola", &[]);
    s.deliver(&client, &ana.address, &m).await;
    assert_eq!(
        s.wait_for(&client, &client_pw, 1, Duration::from_secs(5))
            .await
            .len(),
        1
    );
    // A wrong password: check says which server refused, and exits 1.
    std::fs::write(ana.dir.path().join("password"), "wrong").expect("password");
    let (code, out) = ana.run_to_end(&["check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("imap: FAILED") && out.contains("smtp: FAILED"),
        "{out}"
    );
    assert!(!ana.log().contains(&ana.password));
}

#[tokio::test(flavor = "current_thread")]
async fn imap_over_implicit_tls_and_starttls_with_ca_file() {
    use plazo::config::Security;
    let s = servers();
    let (user, pw) = s.user("tls");
    for (security, port) in [
        (Security::Tls, "IMAPS_PORT"),
        (Security::Starttls, "IMAP_PORT"),
    ] {
        let (mut server, login) = s.imap(&user, &pw);
        server.host = "localhost".into();
        server.security = security;
        server.port = s.port(port);
        let mut session = plazo::imap::connect(&server, &login)
            .await
            .unwrap_or_else(|e| panic!("{security:?}: {e}"));
        let sel = plazo::imap::select(&mut session, "INBOX")
            .await
            .expect("select");
        assert!(sel.uidvalidity > 0);
        let _ = session.logout().await;
        // Without the CA file the self-signed certificate is refused.
        server.ca_file = None;
        let Err(err) = plazo::imap::connect(&server, &login).await else {
            panic!("{security:?}: an untrusted certificate was accepted");
        };
        assert!(
            err.to_string().contains("certificate") || err.to_string().contains("Unknown"),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_new_uidvalidity_loses_nothing_and_answers_nothing_twice() {
    let s = servers();
    let (address, password) = s.user("uv");
    let mut ana = Daemon::for_user(s, address, password, Setup::default());
    std::fs::write(
        ana.config(),
        std::fs::read_to_string(ana.config())
            .expect("config")
            .replace("poll_interval", "mailbox = \"Work\"\npoll_interval"),
    )
    .expect("config");
    let (c1, c1_pw) = s.user("uvc");
    let (c2, c2_pw) = s.user("uvc");
    let (imap_server, pw) = s.imap(&ana.address, &ana.password);
    let mut admin = plazo::imap::connect(&imap_server, &pw)
        .await
        .expect("connect");
    admin.create("Work").await.expect("create");
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let first = client_mail(
        &c1,
        &ana.address,
        "Primero",
        "Hola",
        &[&format!("Return-Path: <{c1}>")],
    );
    s.append(&ana.address, &ana.password, "Work", &first).await;
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert_eq!(s.messages(&c1, &c1_pw, "INBOX").await.len(), 1);
    // The mailbox is recreated (a new UIDVALIDITY), and before plazo reconnects it receives a
    // new message, the old one again (a restored copy: same Message-ID) and an old message
    // restored with its old INTERNALDATE. What arrived since the last decision is decided: the
    // new one answered, the copy a duplicate, the old one left alone.
    admin.delete("Work").await.expect("delete");
    admin.create("Work").await.expect("create again");
    s.append(&ana.address, &ana.password, "Work", &first).await;
    let second = client_mail(
        &c2,
        &ana.address,
        "Segundo",
        "Hola",
        &[&format!("Return-Path: <{c2}>")],
    );
    s.append(&ana.address, &ana.password, "Work", &second).await;
    let (c3, c3_pw) = s.user("uvc");
    let old = client_mail(
        &c3,
        &ana.address,
        "Viejo",
        "Hola",
        &[&format!("Return-Path: <{c3}>")],
    );
    admin
        .append("Work", None, Some("\"01-Jan-2025 10:00:00 +0000\""), &old)
        .await
        .expect("append old");
    let _ = admin.logout().await;
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert!(
        ana.log().contains("UIDVALIDITY changed")
            && ana.log().contains("deciding what arrived since"),
        "{}",
        ana.log()
    );
    assert_eq!(s.messages(&c1, &c1_pw, "INBOX").await.len(), 1, "not twice");
    assert_eq!(s.messages(&c2, &c2_pw, "INBOX").await.len(), 1, "not lost");
    assert!(
        s.messages(&c3, &c3_pw, "INBOX").await.is_empty(),
        "old mail left alone"
    );
    let reasons: Vec<String> = ana
        .history()
        .iter()
        .map(|h| format!("{} {}", h["subject"], h["reason"]))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("Primero") && r.contains("duplicate")),
        "{reasons:?}"
    );
    // Later mail goes on from the new baseline.
    let third = client_mail(
        &c3,
        &ana.address,
        "Tercero",
        "Hola",
        &[&format!("Return-Path: <{c3}>")],
    );
    s.append(&ana.address, &ana.password, "Work", &third).await;
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert_eq!(s.messages(&c3, &c3_pw, "INBOX").await.len(), 1);
    ana.kill9();
}

#[tokio::test(flavor = "current_thread")]
async fn dry_run_records_and_sends_nothing_and_sigint_stops() {
    let s = servers();
    let mut ana = Daemon::new(s, "dry", Setup::default());
    let (client, client_pw) = s.user("client");
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0));
    let before = ana.log().matches("imap: watching").count();
    ana.spawn(&["run", "--dry-run"]);
    ana.wait_log_count("imap: watching", before + 1, Duration::from_secs(15));
    let m = client_mail(&client, &ana.address, "Prueba", "Hola", &[]);
    s.deliver(&client, &ana.address, &m).await;
    ana.wait_log(
        "dry run: would reply (outside-hours)",
        Duration::from_secs(10),
    );
    // The reply as the client would read it: decoded, not quoted-printable.
    ana.wait_log("dry run: the reply would be:", Duration::from_secs(5));
    let log = ana.log();
    assert!(
        log.contains("Subject: Respuesta automática: Re: Prueba") && log.contains("Hola"),
        "{log}"
    );
    assert!(!log.contains("=C3=A1"), "not quoted-printable: {log}");
    ana.signal("INT");
    assert_eq!(ana.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(ana.history().is_empty(), "a dry run records nothing");
    assert!(
        s.messages(&client, &client_pw, "INBOX").await.is_empty(),
        "and sends nothing"
    );
    // The real run afterwards answers it.
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0));
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);
    // History speaks the freelancer's time (Madrid), `--utc` the raw instant.
    let (_, local) = ana.run_to_end(&["history"]);
    let (_, utc) = ana.run_to_end(&["history", "--utc"]);
    let offset = |text: &str| text.split_whitespace().next().map(|t| t[19..].to_string());
    let madrid = plazo::clock::now()
        .with_timezone(&chrono_tz::Europe::Madrid)
        .format("%:z")
        .to_string();
    assert_eq!(offset(&local).as_deref(), Some(madrid.as_str()), "{local}");
    assert_eq!(offset(&utc).as_deref(), Some("+00:00"), "{utc}");
}

#[tokio::test(flavor = "current_thread")]
async fn tells_systemd_ready_reloading_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let s = servers();
    let mut ana = Daemon::new(s, "notify", Setup::default());
    let socket_path = ana.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let log = std::fs::File::create(ana.log_path()).expect("log");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_plazo"))
        .args(["run", "--config"])
        .arg(ana.config())
        .current_dir(ana.dir.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .stdin(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn");
    ana.child = Some(child);
    let mut buf = [0u8; 512];
    let mut next = || {
        let n = socket.recv(&mut buf).expect("a notification");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert!(next().contains("READY=1"));
    ana.signal("HUP");
    assert!(next().contains("RELOADING=1"));
    assert!(next().contains("READY=1"));
    ana.signal("TERM");
    assert!(next().contains("STOPPING=1"));
    assert_eq!(ana.wait_exit(Duration::from_secs(5)), Some(0));
}

#[tokio::test(flavor = "current_thread")]
async fn plazo_away_changes_the_running_daemons_replies_and_off_ends_it() {
    let s = servers();
    // Open around the clock: only short notice (or being away) makes a reply.
    let always = "monday = [\"00:00-24:00\"]\ntuesday = [\"00:00-24:00\"]\n\
                  wednesday = [\"00:00-24:00\"]\nthursday = [\"00:00-24:00\"]\n\
                  friday = [\"00:00-24:00\"]\nsaturday = [\"00:00-24:00\"]\n\
                  sunday = [\"00:00-24:00\"]";
    let mut ana = Daemon::new(
        s,
        "away",
        Setup {
            schedule: always,
            ..Setup::default()
        },
    );
    ana.start();
    let ask = "Hola Ana, ¿me lo puedes tener para dentro de una hora?";

    // Away from now: the very next mail gets the away reply, no restart.
    let until = (plazo::clock::now() + chrono::Duration::days(3)).date_naive();
    let (code, out) = ana.run_to_end(&["away", "--until", &until.to_string()]);
    assert_eq!(code, Some(0), "{out}\n{}", ana.log());
    assert!(out.contains("away now"), "{out}");
    let (first, first_pw) = s.user("client-away");
    s.deliver(
        &first,
        &ana.address,
        &client_mail(&first, &ana.address, "Web", ask, &[]),
    )
    .await;
    let got = s
        .wait_for(&first, &first_pw, 1, Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1, "the away reply:\n{}", ana.log());
    let body = parse(&got[0].0).body_text(0).expect("body").into_owned();
    assert!(body.contains("estoy fuera hasta"), "{body}");

    // Back: the next client gets the ordinary short-notice reply.
    let (code, out) = ana.run_to_end(&["away", "--off"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("not away"), "{out}");
    let (second, second_pw) = s.user("client-back");
    s.deliver(
        &second,
        &ana.address,
        &client_mail(&second, &ana.address, "Web", ask, &[]),
    )
    .await;
    let got = s
        .wait_for(&second, &second_pw, 1, Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1, "the short-notice reply:\n{}", ana.log());
    let body = parse(&got[0].0).body_text(0).expect("body").into_owned();
    assert!(!body.contains("fuera"), "{body}");
    assert!(body.contains("ya tengo tu mensaje"), "{body}");
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "current_thread")]
async fn careless_responder_with_fresh_bounce_addresses_gets_one_reply() {
    let s = servers();
    let mut ana = Daemon::new(s, "loop", Setup::default());
    let (responder, responder_pw) = s.user("responder");
    ana.start();
    s.deliver(
        &responder,
        &ana.address,
        &client_mail(
            &responder,
            &ana.address,
            "Presupuesto",
            "Hola Ana, ¿me mandas el presupuesto?",
            &[],
        ),
    )
    .await;
    let got = s
        .wait_for(&responder, &responder_pw, 1, Duration::from_secs(5))
        .await;
    assert_eq!(got.len(), 1, "the first reply:\n{}", ana.log());
    let reply = parse(&got[0].0);
    let subject = reply.subject().expect("subject").to_string();
    let reply_id = reply.message_id().expect("message id").to_string();
    // A responder that answers every mail from a new bounce address, sets no Auto-Submitted,
    // and either keeps the subject or names the reply it answers.
    let domain = responder.rsplit_once('@').map(|(_, d)| d).expect("domain");
    for n in 0..6 {
        let bounce = format!("bounces+{n}@{domain}");
        let extra = format!("In-Reply-To: <{reply_id}>");
        let (subject, extra): (String, Vec<&str>) = if n % 2 == 0 {
            (format!("Re: {subject}"), vec![])
        } else {
            ("Hemos recibido su mensaje".into(), vec![extra.as_str()])
        };
        let raw = client_mail(
            &bounce,
            &ana.address,
            &subject,
            "Gracias, le responderemos pronto.",
            &extra,
        );
        s.deliver(&bounce, &ana.address, &raw).await;
    }
    ana.wait_log_count("skip (", 6, Duration::from_secs(10));
    let history = ana.history();
    let replies = history.iter().filter(|h| h["action"] == "reply").count();
    assert_eq!(replies, 1, "one reply in total:\n{}", ana.log());
    let mut reasons: Vec<&str> = history
        .iter()
        .filter(|h| h["action"] == "skip")
        .filter_map(|h| h["reason"].as_str())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "auto-reply",
            "auto-reply",
            "auto-reply",
            "to-own-reply",
            "to-own-reply",
            "to-own-reply"
        ],
        "{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
}

/// A small tmpfs, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("mount point");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a tmpfs (run as root, as CI does): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(dir.to_path_buf())
    }

    /// Writes zeros until the disk is full.
    fn fill(&self) {
        use std::io::Write as _;
        let mut f = std::fs::File::create(self.0.join("filler")).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).expect("remove filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_state_disk_backs_off_quietly_and_recovers() {
    let s = servers();
    let scratch = tempfile::tempdir().expect("tempdir");
    let disk = SmallDisk::mount(&scratch.path().join("state"));
    let state = disk.0.join("state.sqlite3");
    let mut ana = Daemon::new(
        s,
        "full",
        Setup {
            state: state.to_str().expect("path"),
            ..Setup::default()
        },
    );
    ana.start();
    disk.fill();
    let before = ana.log().lines().count();
    let mut clients = Vec::new();
    for i in 0..3 {
        let (client, pw) = s.user(&format!("full-client{i}"));
        let subject = format!("Con el disco lleno {i}");
        let m = client_mail(&client, &ana.address, &subject, "Hola", &[]);
        s.deliver(&client, &ana.address, &m).await;
        clients.push((client, pw));
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    let log = ana.log();
    let lines: Vec<&str> = log.lines().skip(before).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("full") || l.contains("disk")),
        "the failure is logged:\n{log}"
    );
    // Backing off (0.5 s doubling to 60 s), not a login every 0.5 s: at most six attempts in
    // 20 s, the error itself reported once.
    let attempts = lines
        .iter()
        .filter(|l| l.contains("imap: watching"))
        .count();
    assert!(attempts <= 6, "{attempts} reconnects in 20 s:\n{log}");
    let errors = lines.iter().filter(|l| l.contains("disk is full")).count();
    assert_eq!(errors, 1, "the same error once per period:\n{log}");
    // Space again: every client gets its one reply.
    disk.free();
    for (client, pw) in &clients {
        let got = s.wait_for(client, pw, 1, Duration::from_secs(90)).await;
        assert_eq!(
            got.len(),
            1,
            "{client}: one reply after the disk had room:\n{}",
            ana.log()
        );
    }
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "current_thread")]
async fn a_filing_interrupted_after_its_append_is_not_filed_twice() {
    let s = servers();
    let ana = Daemon::new(s, "ana", Setup::default());
    let (client, client_pw) = s.user("client");
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let m = client_mail(&client, &ana.address, "Cambios", "¿Lo miras?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);
    assert_eq!(
        s.messages(&ana.address, &ana.password, "Sent").await.len(),
        1
    );
    // A kill after the APPEND and before it was recorded leaves the row saying the APPEND
    // began; the next run must find the copy instead of filing a second one.
    let db = rusqlite::Connection::open(ana.state()).expect("state");
    assert_eq!(
        db.execute("UPDATE outbox SET filed = 2", [])
            .expect("update"),
        1
    );
    drop(db);
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    assert_eq!(
        s.messages(&ana.address, &ana.password, "Sent").await.len(),
        1,
        "filed once:\n{}",
        ana.log()
    );
    let db = rusqlite::Connection::open(ana.state()).expect("state");
    let filed: i64 = db
        .query_row("SELECT filed FROM outbox", [], |r| r.get(0))
        .expect("filed");
    assert_eq!(filed, 1, "recorded as filed");
}

#[tokio::test(flavor = "current_thread")]
async fn a_burst_is_filed_in_batches_every_copy_once_every_original_marked() {
    let s = servers();
    let ana = Daemon::new(s, "ana", Setup::default());
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    // More than one filing batch (20).
    let clients: Vec<(String, String)> = (0..27).map(|_| s.user("filing")).collect();
    for (c, _) in &clients {
        let m = client_mail(c, &ana.address, "Cambios", "¿Lo miras?", &[]);
        s.deliver(c, &ana.address, &m).await;
    }
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let sent = s.messages(&ana.address, &ana.password, "Sent").await;
    assert_eq!(sent.len(), clients.len(), "one copy each:\n{}", ana.log());
    let inbox = s.messages(&ana.address, &ana.password, "INBOX").await;
    assert_eq!(inbox.len(), clients.len());
    assert!(
        inbox
            .iter()
            .all(|(_, flags)| flags.iter().any(|f| f.contains("$AutoReplied"))),
        "every original marked: {:?}",
        inbox.iter().map(|(_, f)| f).collect::<Vec<_>>()
    );
    let db = rusqlite::Connection::open(ana.state()).expect("state");
    let unfiled: i64 = db
        .query_row("SELECT count(*) FROM outbox WHERE filed != 1", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(unfiled, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn fast_poll_watches_with_noop_and_answers_once() {
    let s = servers();
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            imap: "fast_poll = \"50ms\"",
            ..Setup::default()
        },
    );
    let (client, client_pw) = s.user("client");
    ana.start();
    assert!(
        ana.log().contains("(NOOP every 50ms)"),
        "watching with NOOP, not IDLE:\n{}",
        ana.log()
    );
    for n in 0..2 {
        let m = client_mail(
            &client,
            &ana.address,
            &format!("Cambio {n}"),
            "¿Lo miras?",
            &[],
        );
        s.deliver(&client, &ana.address, &m).await;
    }
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1, "{}", ana.log());
    ana.wait_log_count("skip (duplicate)", 1, Duration::from_secs(10));
    ana.stop(Duration::from_secs(5));
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);
}
