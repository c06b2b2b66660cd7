//! Resident memory while catching up with large mail: 25 waiting messages of 20 MB each are
//! decided and answered with plazo's memory under 100 MB (the bound the README states). Alone in
//! its own test binary, so that the peak of its children is plazo's.

use std::time::Duration;

mod common;
use common::servers::{Daemon, Setup, servers};

/// A client's mail with a 20 MB attachment after the text.
fn large_mail(from: &str, to: &str, n: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <{from}>\r\nFrom: Cliente <{from}>\r\nTo: Ana <{to}>\r\nSubject: Planos {n}\r\n\
         Message-ID: <planos-{n}@cliente.test>\r\nDate: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=b=\"\r\n\r\n--=b=\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Hola Ana, te paso los planos. ¿Puedes subirlos a la web mañana?\r\n\r\n--=b=\r\n\
         Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"planos.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
        plazo::clock::now().to_rfc2822()
    )
    .into_bytes();
    let line = b"UExBTk9TIERFIExBIE9CUkEgLSBQTEFOVEEgQkFKQSAtIEFMWkFETyBOT1JURSAtIDEvNTAw\r\n";
    while m.len() < 20 * 1024 * 1024 {
        m.extend_from_slice(line);
    }
    m.extend_from_slice(b"--=b=--\r\n");
    m
}

/// The largest resident set of any child this process has waited for, in bytes.
fn children_peak() -> u64 {
    // SAFETY: getrusage writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    u64::try_from(usage.ru_maxrss).expect("maxrss") * 1024
}

#[tokio::test(flavor = "current_thread")]
async fn catching_up_with_25_mails_of_20_mb_stays_under_100_mb() {
    let s = servers();
    let ana = Daemon::new(s, "ana", Setup::default());
    let (client, client_pw) = s.user("client");
    // First start: the baseline.
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let before = children_peak();
    for n in 0..25 {
        s.append(
            &ana.address,
            &ana.password,
            "INBOX",
            &large_mail(&client, &ana.address, n),
        )
        .await;
    }
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(0), "{}", ana.log());
    let peak = children_peak();
    let history = ana.history();
    assert_eq!(history.len(), 25, "all decided: {history:?}");
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(30))
        .await;
    assert_eq!(got.len(), 1, "one reply to the client (once per sender)");
    eprintln!(
        "peak resident memory of the children: {:.1} MB (before the catch-up: {:.1} MB)",
        peak as f64 / 1e6,
        before as f64 / 1e6
    );
    assert!(
        peak < 100 * 1000 * 1000,
        "plazo used {:.1} MB for 25 × 20 MB",
        peak as f64 / 1e6
    );
}
