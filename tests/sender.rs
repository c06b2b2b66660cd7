//! The sender against SMTP faults a real server will not show on demand, with the project's own
//! fake server (`common::fake_smtp`): the mail comes in through the real Dovecot, the reply goes
//! out to the fake one, which counts every copy it received in full.

use std::time::Duration;

mod common;
use common::fake_smtp::{Act, FakeSmtp};
use common::servers::{Daemon, Setup, client_mail, servers};

/// The delivery state of the only reply in the history.
fn delivery(ana: &Daemon) -> Option<String> {
    let replies: Vec<_> = ana
        .history()
        .into_iter()
        .filter(|h| h["action"] == "reply")
        .collect();
    assert!(replies.len() <= 1, "one reply at most: {replies:?}");
    replies
        .first()
        .and_then(|h| h["delivery"].as_str().map(str::to_string))
}

/// Waits until the reply's delivery state is `want`.
fn wait_delivery(ana: &Daemon, want: &str, timeout: Duration) {
    let end = std::time::Instant::now() + timeout;
    loop {
        let got = delivery(ana);
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < end,
            "delivery {got:?}, not {want:?}, after {timeout:?}:\n{}",
            ana.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A daemon for a new user of the real servers whose `[smtp]` section is `smtp`.
fn sending_through(smtp: &str) -> Daemon {
    Daemon::new(
        servers(),
        "ana",
        Setup {
            smtp,
            ..Setup::default()
        },
    )
}

/// A daemon sending through `fake` with a step timeout of `timeout`, and one client mail in.
async fn one_mail_through(fake: &FakeSmtp, timeout: &str) -> Daemon {
    let s = servers();
    let smtp = fake.config(timeout);
    let mut ana = sending_through(&smtp);
    let (client, _) = s.user("client");
    ana.start();
    let m = client_mail(&client, &ana.address, "Cambios", "¿Puedes mirarlo?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    ana
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_silent_after_connect_times_out_and_the_reply_is_sent_once_later() {
    let fake = FakeSmtp::start(&[Act::SilentAtConnect]);
    let mut ana = one_mail_through(&fake, "2s").await;
    fake.wait_for(1, Duration::from_secs(30), || ana.log());
    wait_delivery(&ana, "sent", Duration::from_secs(10));
    assert!(
        ana.log().contains("no answer to the greeting within 2s"),
        "the timeout is logged:\n{}",
        ana.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(fake.received().len(), 1, "sent once:\n{}", ana.log());
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_silent_after_the_data_leaves_the_reply_uncertain_and_never_resent() {
    let fake = FakeSmtp::start(&[Act::SilentAfterData]);
    let mut ana = one_mail_through(&fake, "2s").await;
    wait_delivery(&ana, "uncertain", Duration::from_secs(30));
    assert!(
        ana.log().contains("did not answer within 2s"),
        "the silence is logged:\n{}",
        ana.log()
    );
    // Longer than the first retry wait: nothing is sent again.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(fake.received().len(), 1, "one copy only:\n{}", ana.log());
    assert_eq!(
        fake.connections(),
        1,
        "not even tried again:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_dropped_before_the_final_answer_leaves_the_reply_uncertain() {
    let fake = FakeSmtp::start(&[Act::DropAfterData]);
    let mut ana = one_mail_through(&fake, "2s").await;
    wait_delivery(&ana, "uncertain", Duration::from_secs(30));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(fake.received().len(), 1, "delivered once:\n{}", ana.log());
    assert_eq!(fake.connections(), 1, "not tried again:\n{}", ana.log());
    // It may have gone out: the freelancer finds it in her Sent folder.
    let s = servers();
    let sent = s.messages(&ana.address, &ana.password, "Sent").await;
    assert_eq!(
        sent.len(),
        1,
        "the uncertain reply is filed:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_4xx_before_the_data_is_retried_and_the_reply_sent_once() {
    let fake = FakeSmtp::start(&[Act::RefuseMail]);
    let mut ana = one_mail_through(&fake, "2s").await;
    fake.wait_for(1, Duration::from_secs(30), || ana.log());
    wait_delivery(&ana, "sent", Duration::from_secs(10));
    assert!(
        ana.log().contains("(451): 4.3.0 try again later"),
        "the refusal is logged:\n{}",
        ana.log()
    );
    assert_eq!(
        fake.connections(),
        2,
        "one refused, one sent:\n{}",
        ana.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(fake.received().len(), 1, "sent once:\n{}", ana.log());
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_before_mail_from_leaves_the_reply_queued_and_it_is_sent_after_restart() {
    // The server says nothing for longer than the test waits: plazo is stuck before the
    // transaction when it is killed.
    let fake = FakeSmtp::start(&[Act::SilentAtConnect]);
    let mut ana = one_mail_through(&fake, "60s").await;
    fake.wait_connections(1, Duration::from_secs(30), || ana.log());
    // The connection may be opened ahead, while the mail is decided: the reply is queued,
    // and the sender waits on that silent connection.
    wait_delivery(&ana, "queued", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    ana.kill9();
    assert_eq!(delivery(&ana).as_deref(), Some("queued"), "{}", ana.log());
    ana.start();
    fake.wait_for(1, Duration::from_secs(30), || ana.log());
    wait_delivery(&ana, "sent", Duration::from_secs(10));
    assert!(
        !ana.log().contains("marked uncertain"),
        "nothing was uncertain:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
    assert_eq!(fake.received().len(), 1, "sent once");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_once_exits_1_when_a_reply_is_refused_for_good() {
    let fake = FakeSmtp::start(&[Act::RejectMail]);
    let s = servers();
    let smtp = fake.config("2s");
    let ana = sending_through(&smtp);
    let (client, _) = s.user("client");
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let m = client_mail(&client, &ana.address, "Cambios", "¿Puedes mirarlo?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(1), "{}", ana.log());
    assert!(
        ana.log().contains("refused by the SMTP server for good"),
        "{}",
        ana.log()
    );
    assert_eq!(delivery(&ana).as_deref(), Some("failed"));
    assert!(fake.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_goes_out_on_several_connections_each_reply_once_without_the_40ms_stall() {
    let fake = FakeSmtp::start(&[]);
    let s = servers();
    let smtp = fake.config("10s") + "connections = 3\n";
    let mut ana = sending_through(&smtp);
    let clients: Vec<(String, String)> = (0..12).map(|_| s.user("inflight")).collect();
    ana.start();
    for (c, _) in &clients {
        let m = client_mail(c, &ana.address, "Pedido", "Te paso el pedido", &[]);
        s.deliver(c, &ana.address, &m).await;
    }
    fake.wait_for(clients.len(), Duration::from_secs(30), || ana.log());
    std::thread::sleep(Duration::from_secs(1));
    let received = fake.received();
    assert_eq!(received.len(), clients.len(), "each once:\n{}", ana.log());
    for (c, _) in &clients {
        let to = format!("To: {c}");
        assert_eq!(
            received
                .iter()
                .filter(|m| String::from_utf8_lossy(m).lines().any(|l| l == to))
                .count(),
            1,
            "{c} got one reply"
        );
    }
    assert!(
        (2..=3).contains(&fake.most_open()),
        "replies in flight on 2 or 3 connections, not {}:\n{}",
        fake.most_open(),
        ana.log()
    );
    // The end of data follows the message at once: no 40 ms wait for a delayed ACK (Nagle).
    let mut times = fake.data_times();
    times.sort();
    let median = times[times.len() / 2];
    assert!(
        median < Duration::from_millis(20),
        "from the message's first line to its end of data: median {median:?} ({times:?})"
    );
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_offering_pipelining_gets_mail_rcpt_and_data_in_one_batch() {
    // Every connection insists on PIPELINING: it answers MAIL FROM only once RCPT TO and DATA
    // arrived behind it.
    let fake = FakeSmtp::start(&[Act::Pipelining; 8]);
    let s = servers();
    let mut ana = sending_through(&fake.config("10s"));
    let clients: Vec<(String, String)> = (0..3).map(|_| s.user("pipelined")).collect();
    ana.start();
    for (c, _) in &clients {
        let m = client_mail(c, &ana.address, "Pedido", "Te paso el pedido", &[]);
        s.deliver(c, &ana.address, &m).await;
    }
    fake.wait_for(clients.len(), Duration::from_secs(30), || ana.log());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        fake.received().len(),
        clients.len(),
        "each once:\n{}",
        ana.log()
    );
    assert_eq!(
        fake.pipelined(),
        clients.len(),
        "every transaction in one batch:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recipient_refused_in_a_pipelined_batch_fails_the_reply_with_the_servers_words() {
    let fake = FakeSmtp::start(&[Act::PipeliningRejectRcpt]);
    let mut ana = one_mail_through(&fake, "5s").await;
    wait_delivery(&ana, "failed", Duration::from_secs(30));
    assert!(
        ana.log().contains("5.1.1 no such user here"),
        "the server's words are logged:\n{}",
        ana.log()
    );
    assert_eq!(fake.pipelined(), 1, "{}", ana.log());
    std::thread::sleep(Duration::from_secs(2));
    assert!(fake.received().is_empty(), "nothing delivered");
    assert_eq!(fake.connections(), 1, "never tried again:\n{}", ana.log());
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn news_of_mail_opens_the_smtp_connection_before_a_reply_needs_it() {
    let fake = FakeSmtp::start(&[]);
    let s = servers();
    let mut ana = sending_through(&fake.config("10s"));
    let (list, _) = s.user("list");
    let (client, _) = s.user("client");
    ana.start();
    ana.wait_log("(IDLE)", Duration::from_secs(20));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fake.connections(), 0, "nothing opened before mail came");
    // A list mail gets no reply, but its news opens a connection while it is decided.
    let m = client_mail(
        &list,
        &ana.address,
        "Boletín",
        "Novedades",
        &["List-Id: <news.example>"],
    );
    s.deliver(&list, &ana.address, &m).await;
    fake.wait_connections(1, Duration::from_secs(10), || ana.log());
    assert!(fake.received().is_empty());
    // A client's mail right after goes out on that connection.
    let m = client_mail(&client, &ana.address, "Cambios", "¿Puedes mirarlo?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    fake.wait_for(1, Duration::from_secs(20), || ana.log());
    assert_eq!(
        fake.connections(),
        1,
        "the reply used the connection opened ahead:\n{}",
        ana.log()
    );
    ana.stop(Duration::from_secs(10));
}
