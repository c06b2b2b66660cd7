//! A small SMTP server of the project's own, for what a real one will not do on demand: go
//! silent after the connection or after the message, drop the connection before its final
//! answer, refuse MAIL FROM with a 4xx or a 5xx, or insist on PIPELINING (it answers MAIL FROM
//! only once RCPT TO and DATA have arrived behind it). Each connection follows the next act of its script
//! (then behaves); every message whose end of data arrived is kept, so a test can count copies.
//!
//! It speaks just enough ESMTP for plazo over plain TCP on 127.0.0.1: EHLO (8BITMIME, AUTH
//! PLAIN LOGIN, and PIPELINING when the act says so), AUTH PLAIN, MAIL, RCPT, DATA with
//! dot-unstuffing left undone (the test only counts), RSET, NOOP and QUIT.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// A well-behaved server.
    Behave,
    /// Accepts the connection and never says a word.
    SilentAtConnect,
    /// Answers MAIL FROM with `451 4.3.0 try again later`.
    RefuseMail,
    /// Answers MAIL FROM with `550 5.7.1 not allowed`.
    RejectMail,
    /// Takes the whole message and never answers it.
    SilentAfterData,
    /// Takes the whole message and closes the connection without answering it.
    DropAfterData,
    /// Offers PIPELINING (RFC 2920) and answers MAIL FROM only when RCPT TO and DATA came in
    /// behind it, before any answer; a client that waits gets its answers after a second.
    Pipelining,
    /// Offers PIPELINING, takes MAIL FROM, refuses the recipient (`550 5.1.1`) and so DATA
    /// (`554 5.5.1`), as a pipelining server answers a batch with an unknown address.
    PipeliningRejectRcpt,
}

/// A running fake server.
pub struct FakeSmtp {
    /// Its port on 127.0.0.1.
    pub port: u16,
    script: Arc<Mutex<VecDeque<Act>>>,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    connections: Arc<AtomicUsize>,
    stats: Arc<Stats>,
}

/// What the sessions saw, for the tests of several replies in flight and of the 40 ms stall.
#[derive(Default)]
struct Stats {
    /// Sessions open now, and the most open at once.
    open: AtomicUsize,
    most_open: AtomicUsize,
    /// For each message: from its first line to its end of data.
    data_times: Mutex<Vec<Duration>>,
    /// Transactions whose MAIL FROM, RCPT TO and DATA came in one batch.
    pipelined: AtomicUsize,
}

impl FakeSmtp {
    /// Starts a server whose connections follow `script` in turn, then behave.
    pub fn start(script: &[Act]) -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake SMTP server");
        let port = listener.local_addr().expect("local addr").port();
        let server = FakeSmtp {
            port,
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            received: Arc::default(),
            connections: Arc::default(),
            stats: Arc::default(),
        };
        let (script, received, connections, stats) = (
            server.script.clone(),
            server.received.clone(),
            server.connections.clone(),
            server.stats.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                connections.fetch_add(1, Ordering::SeqCst);
                let act = script
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop_front()
                    .unwrap_or(Act::Behave);
                let received = received.clone();
                let stats = stats.clone();
                std::thread::spawn(move || {
                    let now = stats.open.fetch_add(1, Ordering::SeqCst) + 1;
                    stats.most_open.fetch_max(now, Ordering::SeqCst);
                    let _ = session(stream, act, &received, &stats);
                    stats.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        server
    }

    /// The `[smtp]` section that points plazo at this server with `timeout`.
    pub fn config(&self, timeout: &str) -> String {
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"{{address}}\"\npassword_file = \"password\"\ntimeout = \"{timeout}\"\n",
            self.port
        )
    }

    /// Sets what the next connections do.
    pub fn script(&self, acts: &[Act]) {
        *self.script.lock().unwrap_or_else(|e| e.into_inner()) = acts.iter().copied().collect();
    }

    /// Every message received in full so far.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many connections were accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The most sessions that were open at once.
    pub fn most_open(&self) -> usize {
        self.stats.most_open.load(Ordering::SeqCst)
    }

    /// How many transactions came pipelined (MAIL FROM, RCPT TO and DATA before any answer).
    pub fn pipelined(&self) -> usize {
        self.stats.pipelined.load(Ordering::SeqCst)
    }

    /// For each message received, the time from its first line to the end of its data.
    pub fn data_times(&self) -> Vec<Duration> {
        self.stats
            .data_times
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits until `n` connections were accepted; panics after `timeout` with `context`.
    pub fn wait_connections(&self, n: usize, timeout: Duration, context: impl Fn() -> String) {
        let end = Instant::now() + timeout;
        while self.connections() < n {
            assert!(
                Instant::now() < end,
                "the fake SMTP server accepted {} of {n} connections within {timeout:?}:\n{}",
                self.connections(),
                context()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `n` messages arrived; panics after `timeout` with `context`.
    pub fn wait_for(&self, n: usize, timeout: Duration, context: impl Fn() -> String) {
        let end = Instant::now() + timeout;
        while self.received().len() < n {
            assert!(
                Instant::now() < end,
                "the fake SMTP server got {} of {n} messages within {timeout:?}:\n{}",
                self.received().len(),
                context()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Holds the connection open without a word until the client leaves.
fn hold(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
}

fn session(
    stream: TcpStream,
    act: Act,
    received: &Mutex<Vec<Vec<u8>>>,
    stats: &Stats,
) -> std::io::Result<()> {
    if act == Act::SilentAtConnect {
        hold(stream);
        return Ok(());
    }
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 fake.test ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let pipelining = matches!(act, Act::Pipelining | Act::PipeliningRejectRcpt);
        match verb.as_str() {
            "EHLO" | "HELO" if pipelining => out.write_all(
                b"250-fake.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n",
            )?,
            "EHLO" | "HELO" => out.write_all(
                b"250-fake.test\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 SMTPUTF8\r\n",
            )?,
            "MAIL" if pipelining => {
                // The rest of the batch, read before MAIL FROM is answered: a client that
                // waits for that answer sends nothing within the second.
                lines.get_ref().set_read_timeout(Some(Duration::from_secs(1)))?;
                let mut batch = Vec::new();
                while !batch.iter().any(|l: &String| l.trim().eq_ignore_ascii_case("DATA")) {
                    let mut next = String::new();
                    match lines.read_line(&mut next) {
                        Ok(0) => return Ok(()),
                        Ok(_) => batch.push(next),
                        Err(_) => break,
                    }
                }
                lines.get_ref().set_read_timeout(None)?;
                let whole = batch.len() >= 2
                    && batch[..batch.len() - 1]
                        .iter()
                        .all(|l| l.to_ascii_uppercase().starts_with("RCPT"));
                if whole {
                    stats.pipelined.fetch_add(1, Ordering::SeqCst);
                }
                let mut answers = String::from("250 2.1.0 ok\r\n");
                let refused = act == Act::PipeliningRejectRcpt;
                for l in &batch {
                    answers.push_str(match l.split_whitespace().next().unwrap_or("") {
                        v if v.eq_ignore_ascii_case("RCPT") && refused => {
                            "550 5.1.1 no such user here\r\n"
                        }
                        v if v.eq_ignore_ascii_case("DATA") && refused => {
                            "554 5.5.1 no valid recipients\r\n"
                        }
                        v if v.eq_ignore_ascii_case("DATA") => "354 go ahead\r\n",
                        _ => "250 2.1.5 ok\r\n",
                    });
                }
                out.write_all(answers.as_bytes())?;
                if whole && !refused {
                    take_message(&mut lines, &mut out, act, received, stats)?;
                }
            }
            "AUTH" => out.write_all(b"235 2.7.0 accepted\r\n")?,
            "MAIL" if act == Act::RefuseMail => {
                out.write_all(b"451 4.3.0 try again later\r\n")?;
            }
            "MAIL" if act == Act::RejectMail => out.write_all(b"550 5.7.1 not allowed\r\n")?,
            "MAIL" | "RCPT" | "RSET" | "NOOP" => out.write_all(b"250 2.0.0 ok\r\n")?,
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                if !take_message(&mut lines, &mut out, act, received, stats)? {
                    return Ok(());
                }
            }
            "QUIT" => {
                out.write_all(b"221 2.0.0 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"502 5.5.2 not implemented\r\n")?,
        }
    }
}

/// Reads a message up to its end of data, keeps it, and answers it as `act` says. `false` when
/// the session is over (the client left, or the act ends it).
fn take_message(
    lines: &mut BufReader<TcpStream>,
    out: &mut TcpStream,
    act: Act,
    received: &Mutex<Vec<Vec<u8>>>,
    stats: &Stats,
) -> std::io::Result<bool> {
    // Timed from the message's first line (what comes before it, the client's own
    // bookkeeping, is not the point).
    let mut started = None;
    let mut message = Vec::new();
    loop {
        let mut l = Vec::new();
        if lines.read_until(b'\n', &mut l)? == 0 {
            return Ok(false);
        }
        let started = *started.get_or_insert_with(Instant::now);
        if l == b".\r\n" {
            stats
                .data_times
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(started.elapsed());
            break;
        }
        message.extend_from_slice(&l);
    }
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(message);
    match act {
        Act::SilentAfterData => {
            let mut sink = [0u8; 4096];
            while matches!(lines.read(&mut sink), Ok(n) if n > 0) {}
            return Ok(false);
        }
        Act::DropAfterData => return Ok(false),
        _ => out.write_all(b"250 2.0.0 queued\r\n")?,
    }
    Ok(true)
}
