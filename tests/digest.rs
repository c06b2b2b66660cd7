//! The weekly digest against the real servers: after a run that answered, skipped and failed
//! mails, `plazo digest --preview` lists each; at its time the digest arrives once in the
//! freelancer's INBOX, and plazo does not answer it.

use std::time::{Duration, Instant};

use chrono::Timelike;
use mail_parser::MessageParser;

mod common;
use common::servers::{Daemon, Setup, client_mail, servers};

/// How far ahead of the daemon's start the digest is due: time for three mails to be decided.
const DUE_IN: i64 = 12;

#[tokio::test(flavor = "current_thread")]
async fn the_digest_lists_what_happened_and_arrives_once_at_its_time() {
    let s = servers();
    // Due a few seconds from now, in the schedule's zone (whole seconds: `at` takes HH:MM:SS).
    let due = (plazo::clock::now() + chrono::Duration::seconds(DUE_IN))
        .with_timezone(&chrono_tz::Europe::Madrid)
        .with_nanosecond(0)
        .expect("whole second");
    let digest = format!(
        "\n[digest]\nday = \"{}\"\nat = \"{}\"\nlanguage = \"en\"\n",
        due.format("%A").to_string().to_lowercase(),
        due.format("%H:%M:%S")
    );
    // Closed today (a holiday), open on the other days: replies promise a real delivery.
    let today = plazo::clock::now()
        .with_timezone(&chrono_tz::Europe::Madrid)
        .date_naive();
    let schedule = common::every_day("\"09:00-18:00\"") + &format!("holidays = [\"{today}\"]\n");
    let mut ana = Daemon::new(
        s,
        "ana",
        Setup {
            reply: &digest,
            schedule: &schedule,
            ..Setup::default()
        },
    );
    let (client, client_pw) = s.user("client");
    let (lister, _) = s.user("lister");
    ana.start();

    // Answered: outside hours (today is a holiday).
    let answered = client_mail(
        &client,
        &ana.address,
        "Banner change",
        "Hi Ana, could you change the banner?",
        &[],
    );
    s.deliver(&client, &ana.address, &answered).await;
    // Skipped: a list.
    let list = client_mail(
        &lister,
        &ana.address,
        "Weekly news",
        "Our news of the week.",
        &["List-Id: <news.example.test>"],
    );
    s.deliver(&lister, &ana.address, &list).await;
    // Failed: the reply's recipient does not exist, so the SMTP server refuses it for good.
    let ghost = "ghost-of-a-client@example.test";
    let lost = client_mail(
        ghost,
        &ana.address,
        "Photos",
        "Hi Ana, here are the photos for the gallery.",
        &[],
    );
    s.deliver(ghost, &ana.address, &lost).await;
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(8))
        .await;
    assert_eq!(got.len(), 1, "the client's reply:\n{}", ana.log());
    ana.wait_log("refused", Duration::from_secs(8));

    // The preview, before the digest is due, lists each mail in its section.
    let (code, preview) = ana.run_to_end(&["digest", "--preview"]);
    assert_eq!(code, Some(0), "{preview}\n{}", ana.log());
    assert!(
        plazo::clock::now() < due,
        "the mails took too long: the digest is due already\n{}",
        ana.log()
    );
    let section = |title: &str| -> String {
        let start = preview
            .find(title)
            .unwrap_or_else(|| panic!("no section {title:?} in:\n{preview}"));
        let rest = &preview[start..];
        let end = rest[1..].find("\n\n").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    };
    let answered_part = section("Answered (1)");
    assert!(answered_part.contains(&client), "{preview}");
    assert!(answered_part.contains("«Banner change»"), "{preview}");
    assert!(answered_part.contains("outside-hours"), "{preview}");
    assert!(
        answered_part.contains("delivery "),
        "the promise: {preview}"
    );
    assert!(answered_part.contains("; sent"), "{preview}");
    let wrong_part = section("Replies that did not go out or may not have arrived (1)");
    assert!(wrong_part.contains(ghost), "{preview}");
    assert!(
        wrong_part.contains("refused: "),
        "the server's words: {preview}"
    );
    assert!(wrong_part.contains("550"), "{preview}");
    let skipped_part = section("Not answered automatically (and why) (1)");
    assert!(skipped_part.contains(&lister), "{preview}");
    assert!(skipped_part.contains("list"), "{preview}");
    assert!(
        preview.contains(
            "3 mails: 1 answered, 1 not answered automatically, 1 with sending problems."
        ),
        "{preview}"
    );

    // At its time the digest arrives in Ana's INBOX (after the three mails), once.
    let inbox = s
        .wait_for(
            &ana.address,
            &ana.password,
            4,
            Duration::from_secs(DUE_IN as u64 + 10),
        )
        .await;
    assert_eq!(inbox.len(), 4, "the digest in the INBOX:\n{}", ana.log());
    let arrived = plazo::clock::now();
    assert!(
        arrived >= due,
        "the digest came before its time ({arrived} < {due})"
    );
    let raw = &inbox[3].0;
    let mail = MessageParser::default().parse(raw).expect("parse");
    assert_eq!(
        mail.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert_eq!(
        mail.from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some(ana.address.as_str())
    );
    assert_eq!(mail.subject(), Some("plazo: your week (2 replies)"));
    let text = mail.body_text(0).expect("text part").into_owned();
    assert!(
        text.contains(&client) && text.contains(ghost) && text.contains(&lister),
        "{text}"
    );
    let html = mail.body_html(0).expect("HTML part").into_owned();
    assert!(html.contains("<table"), "{html}");
    assert!(
        html.contains("«Banner change»") || html.contains("Banner change"),
        "{html}"
    );

    // plazo reads its own digest and leaves it alone.
    ana.wait_log("skip (self)", Duration::from_secs(8));

    // A restart does not send it again.
    ana.stop(Duration::from_secs(5));
    ana.start();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    ana.stop(Duration::from_secs(5));
    assert_eq!(
        s.messages(&ana.address, &ana.password, "INBOX").await.len(),
        4,
        "one digest only:\n{}",
        ana.log()
    );
    assert_eq!(
        ana.log().matches("digest queued").count(),
        1,
        "{}",
        ana.log()
    );
    // The digest is not a decision: history holds the four mails Ana received.
    let history = ana.history();
    assert_eq!(history.len(), 4, "{history:?}");
    assert_eq!(history[0]["reason"], "self");
}
