//! The daemon when its servers fail: Dovecot restarted under an IDLE, the SMTP server down for a
//! while, a 5xx answer. These tests stop and start servers, so they use their own pair
//! (`outage_servers`) and run one at a time.

use std::time::Duration;

mod common;
use common::servers::{Daemon, Setup, client_mail, outage_servers};

/// One outage at a time: they share the servers they break.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "current_thread")]
async fn dovecot_restart_under_idle_reconnects_and_answers() {
    let _one = SERIAL.lock().await;
    let s = outage_servers();
    let mut ana = Daemon::new(s, "ana", Setup::default());
    let (client, client_pw) = s.user("client");
    ana.start();
    s.control("stop-dovecot");
    ana.wait_log("reconnecting in", Duration::from_secs(10));
    s.control("start-dovecot");
    // Mail that arrives while plazo is still waiting to reconnect.
    let m = client_mail(
        &client,
        &ana.address,
        "Tras el corte",
        "¿Sigue en pie lo del lunes?",
        &[],
    );
    s.deliver(&client, &ana.address, &m).await;
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(30))
        .await;
    assert_eq!(got.len(), 1, "answered after the restart:\n{}", ana.log());
    assert!(
        ana.log().matches("imap: watching").count() >= 2,
        "it reconnected:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(5));
}

/// Thaws the servers even when the test fails half-way.
struct Thaw<'a>(&'a common::servers::Servers);

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        self.0.signal_group("dovecot", "CONT");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_frozen_imap_server_is_noticed_during_idle() {
    let _one = SERIAL.lock().await;
    let s = outage_servers();
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            imap: "idle_check = \"2s\"\n",
            ..Setup::default()
        },
    );
    let (client, client_pw) = s.user("client");
    ana.start();
    ana.wait_log("imap: watching", Duration::from_secs(10));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // A server that still holds the connection but says nothing: no FIN, no RST.
    s.signal_group("dovecot", "STOP");
    let thaw = Thaw(s);
    // Silent for idle_check, then no answer to DONE within idle_check: 4 s, plus slack.
    ana.wait_log("the connection is dead", Duration::from_secs(10));
    drop(thaw);
    let m = client_mail(&client, &ana.address, "Después", "¿Me llamas?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(90))
        .await;
    assert_eq!(got.len(), 1, "answered after the thaw:\n{}", ana.log());
    ana.stop(Duration::from_secs(5));
}

#[tokio::test(flavor = "current_thread")]
async fn replies_wait_while_smtp_is_down_and_5xx_is_recorded() {
    let _one = SERIAL.lock().await;
    let s = outage_servers();
    let mut ana = Daemon::new(s, "ana", Setup::default());
    let clients: Vec<(String, String)> = (0..6).map(|_| s.user("client")).collect();
    let (refused, _) = s.user("refused");
    ana.start();

    // SMTP down: the mail comes in through IMAP APPEND, the replies wait in the outbox.
    s.control("stop-smtp");
    for (client, _) in &clients {
        let m = client_mail(
            client,
            &ana.address,
            "Con el SMTP caído",
            "Hola",
            &[&format!("Return-Path: <{client}>")],
        );
        s.append(&ana.address, &ana.password, "INBOX", &m).await;
    }
    ana.wait_log("outbox: cannot send", Duration::from_secs(20));
    // The outbox waits as a whole: connection attempts back off (2 s, 4 s, 8 s…) and the same
    // error is logged once, not once per reply and attempt.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let log = ana.log();
    assert_eq!(
        log.matches("outbox: cannot send").count(),
        1,
        "one line for the whole outage so far:\n{log}"
    );
    s.control("start-smtp");
    for (client, pw) in &clients {
        let got = s.wait_for(client, pw, 1, Duration::from_secs(40)).await;
        assert_eq!(
            got.len(),
            1,
            "sent once the server was back:\n{}",
            ana.log()
        );
    }

    // A 5xx: recorded as failed with the server's words, not retried.
    let hook = s.dir.join("smtp-fail");
    std::fs::write(&hook, "554 5.7.1 Rejected by policy\n").expect("hook");
    let m = client_mail(
        &refused,
        &ana.address,
        "Rechazo",
        "Hola",
        &[&format!("Return-Path: <{refused}>")],
    );
    s.append(&ana.address, &ana.password, "INBOX", &m).await;
    ana.wait_log("reply refused, not retried", Duration::from_secs(15));
    std::fs::remove_file(&hook).expect("remove hook");
    ana.stop(Duration::from_secs(5));
    let history = ana.history();
    let failed = history
        .iter()
        .find(|h| h["delivery"] == "failed")
        .unwrap_or_else(|| panic!("no failed reply in {history:?}"));
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("Rejected by policy")),
        "{failed}"
    );
    assert!(history.iter().any(|h| h["delivery"] == "sent"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_reply_not_sent_before_its_promise_expires() {
    let _one = SERIAL.lock().await;
    let s = outage_servers();
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            reply: "max_age = \"3s\"",
            ..Setup::default()
        },
    );
    let (client, client_pw) = s.user("client");
    ana.start();
    s.control("stop-smtp");
    let m = client_mail(
        &client,
        &ana.address,
        "Caducada",
        "Hola",
        &[&format!("Return-Path: <{client}>")],
    );
    s.append(&ana.address, &ana.password, "INBOX", &m).await;
    ana.wait_log("outbox: cannot send", Duration::from_secs(20));
    ana.wait_log("reply expired", Duration::from_secs(20));
    s.control("start-smtp");
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(4))
        .await;
    assert!(
        got.is_empty(),
        "an expired reply is never sent:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(5));
    let history = ana.history();
    assert!(
        history.iter().any(|h| h["delivery"] == "expired"),
        "{history:?}"
    );
}
