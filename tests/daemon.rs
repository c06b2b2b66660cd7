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
    assert_eq!(reply.subject(), Some("Re: Cambio en la web"));
    assert_eq!(
        reply.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some(client.as_str())
    );
    let body = reply.body_text(0).expect("body");
    assert!(body.contains("Hola"), "Spanish reply:\n{body}");
    assert!(body.contains("(hora de Madrid)"), "{body}");

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
    let again = client_mail(&client, &ana.address, "Otra cosa", "Y otra cosa más", &[]);
    s.deliver(&client, &ana.address, &again).await;
    ana.wait_log("skip (duplicate)", Duration::from_secs(5));
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);

    ana.signal("TERM");
    assert_eq!(ana.wait_exit(Duration::from_secs(5)), Some(0));
    let history = ana.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1]["delivery"], "sent");
    assert_eq!(history[0]["reason"], "duplicate");
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
