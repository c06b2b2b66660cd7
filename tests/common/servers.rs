//! The real mail servers the daemon tests talk to: Dovecot and aiosmtpd on 127.0.0.1, started
//! by `scripts/mail-servers` (once per machine; later test runs reuse them). A test that cannot
//! start them fails; it never skips.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use plazo::config::{AuthMethod, PasswordSource, Security, Server};
use plazo::imap;
use plazo::oauth::Credential;

use super::root;

/// The running servers.
#[derive(Debug)]
pub struct Servers {
    /// Their folder.
    pub dir: PathBuf,
    /// Ports by name (IMAP_PORT, SMTP_PORT, SUBMISSION_PORT, …).
    pub ports: BTreeMap<String, u16>,
    /// The CA file that trusts their certificate.
    pub ca_file: PathBuf,
}

static SERVERS: OnceLock<Servers> = OnceLock::new();
static OUTAGE_SERVERS: OnceLock<Servers> = OnceLock::new();
static NEXT_USER: AtomicU32 = AtomicU32::new(0);

/// The script.
pub fn script() -> PathBuf {
    root().join("scripts/mail-servers")
}

/// The port base of the shared servers: `$PLAZO_TEST_PORT_BASE`, else 24000.
fn port_base() -> u16 {
    std::env::var("PLAZO_TEST_PORT_BASE")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(24000)
}

/// Starts the shared servers if they are not running, and returns them.
pub fn servers() -> &'static Servers {
    SERVERS.get_or_init(|| Servers::start(&root().join("target/mail-servers"), port_base()))
}

/// A second pair of servers for tests that stop and start them (so they never disturb the
/// tests that share the first pair). Ports: the shared base + 1000.
pub fn outage_servers() -> &'static Servers {
    OUTAGE_SERVERS.get_or_init(|| {
        Servers::start(
            &root().join("target/mail-servers-outage"),
            port_base() + 1000,
        )
    })
}

impl Servers {
    fn start(dir: &Path, base: u16) -> Servers {
        let dir = dir.to_path_buf();
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            .env("PLAZO_TEST_PORT_BASE", base.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/mail-servers");
        assert!(
            out.status.success(),
            "scripts/mail-servers start {} failed:\n{}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("servers.env")).expect("servers.env");
        let mut ports = BTreeMap::new();
        let mut ca_file = dir.join("cert.pem");
        for line in env.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if let Ok(p) = v.parse::<u16>() {
                    ports.insert(k.to_string(), p);
                } else if k == "CA_FILE" {
                    ca_file = PathBuf::from(v);
                }
            }
        }
        Servers {
            dir,
            ports,
            ca_file,
        }
    }

    /// A port by its servers.env name.
    pub fn port(&self, name: &str) -> u16 {
        *self
            .ports
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in servers.env"))
    }

    /// Runs a script command on these servers.
    pub fn control(&self, command: &str) {
        let out = Command::new(script())
            .arg(command)
            .arg(&self.dir)
            .env(
                "PLAZO_TEST_PORT_BASE",
                (self.port("IMAP_PORT") - 143).to_string(),
            )
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/mail-servers");
        assert!(
            out.status.success(),
            "mail-servers {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sends `signal` (STOP, CONT…) to every process of a server (`dovecot`, `smtp`).
    pub fn signal_group(&self, server: &str, signal: &str) {
        let pid = std::fs::read_to_string(self.dir.join(format!("{server}.pid")))
            .unwrap_or_else(|e| panic!("{server}.pid in {}: {e}", self.dir.display()));
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{}", pid.trim()))
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} -- -{}", pid.trim());
    }

    /// Creates a fresh user for this test: returns (address, password).
    pub fn user(&self, prefix: &str) -> (String, String) {
        let n = NEXT_USER.fetch_add(1, Ordering::SeqCst);
        let name = format!("{prefix}{}x{n}", std::process::id());
        let password = format!("pw-{name}");
        let out = Command::new(script())
            .args(["adduser"])
            .arg(&self.dir)
            .args([&name, &password])
            .stdin(Stdio::null())
            .output()
            .expect("adduser");
        assert!(
            out.status.success(),
            "adduser: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let address = format!("{name}@example.test");
        self.wait_login(&address, &password);
        (address, password)
    }

    /// Waits until Dovecot accepts a new user's login (it re-reads its passwd file lazily).
    fn wait_login(&self, user: &str, password: &str) {
        use std::io::{BufRead, BufReader};
        let start = Instant::now();
        loop {
            let ok = (|| -> std::io::Result<bool> {
                let stream = std::net::TcpStream::connect(("127.0.0.1", self.port("IMAP_PORT")))?;
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut reader = BufReader::new(stream.try_clone()?);
                let mut line = String::new();
                reader.read_line(&mut line)?;
                (&stream).write_all(format!("a LOGIN \"{user}\" \"{password}\"\r\n").as_bytes())?;
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(false);
                    }
                    if line.starts_with("a ") {
                        let _ = (&stream).write_all(b"b LOGOUT\r\n");
                        return Ok(line.starts_with("a OK"));
                    }
                }
            })();
            if matches!(ok, Ok(true)) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "user {user} cannot log in: {ok:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The IMAP settings for a user (plain, loopback).
    pub fn imap(&self, user: &str, password: &str) -> (Server, Credential) {
        (
            Server {
                host: "127.0.0.1".into(),
                port: self.port("IMAP_PORT"),
                security: Security::Plain,
                username: user.into(),
                auth: AuthMethod::Password,
                password: PasswordSource::Env("UNUSED".into()),
                mailbox: "INBOX".into(),
                poll_interval: chrono::Duration::seconds(60),
                idle_check: chrono::Duration::minutes(3),
                fast_poll: None,
                timeout: chrono::Duration::seconds(60),
                connections: 1,
                sent_folder: None,
                ca_file: Some(self.ca_file.clone()),
            },
            Credential::Password(password.to_string()),
        )
    }

    /// Delivers a raw message through the plain (MX) port, as the Internet would.
    pub async fn deliver(&self, from: &str, to: &str, raw: &[u8]) {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(self.port("SMTP_PORT"))
            .tls(Tls::None)
            .build();
        let envelope = Envelope::new(
            Some(from.parse().expect("from")),
            vec![to.parse().expect("to")],
        )
        .expect("envelope");
        transport.send_raw(&envelope, raw).await.expect("deliver");
    }

    /// Puts a message straight into a mailbox with IMAP APPEND (no SMTP involved).
    pub async fn append(&self, user: &str, password: &str, mailbox: &str, raw: &[u8]) {
        let (server, pw) = self.imap(user, password);
        let mut s = imap::connect(&server, &pw).await.expect("imap connect");
        s.append(mailbox, None, None, raw).await.expect("append");
        let _ = s.logout().await;
    }

    /// Every message in a user's mailbox, with its flags, in UID order.
    pub async fn messages(
        &self,
        user: &str,
        password: &str,
        mailbox: &str,
    ) -> Vec<(Vec<u8>, Vec<String>)> {
        use futures::TryStreamExt;
        let (server, pw) = self.imap(user, password);
        let mut s = imap::connect(&server, &pw).await.expect("imap connect");
        let sel = s.select(mailbox).await.expect("select");
        let mut out = Vec::new();
        if sel.exists > 0 {
            let fetches: Vec<_> = s
                .fetch("1:*", "(UID FLAGS BODY.PEEK[])")
                .await
                .expect("fetch")
                .try_collect()
                .await
                .expect("fetch");
            let mut fetches: Vec<_> = fetches.iter().collect();
            fetches.sort_by_key(|f| f.uid);
            for f in fetches {
                let flags = f.flags().map(|fl| format!("{fl:?}")).collect();
                out.push((f.body().unwrap_or_default().to_vec(), flags));
            }
        }
        let _ = s.logout().await;
        out
    }

    /// Waits until a mailbox holds at least `n` messages, or `timeout` passes; returns them.
    pub async fn wait_for(
        &self,
        user: &str,
        password: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<(Vec<u8>, Vec<String>)> {
        let start = Instant::now();
        loop {
            let got = self.messages(user, password, "INBOX").await;
            if got.len() >= n || start.elapsed() > timeout {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A plazo daemon run by a test, with its own config and state.
pub struct Daemon {
    /// Its folder (config, state, log).
    pub dir: tempfile::TempDir,
    /// The process, while running.
    pub child: Option<Child>,
    /// Freelancer address.
    pub address: String,
    /// Freelancer password.
    pub password: String,
    /// The state file.
    state_path: PathBuf,
}

/// Settings for a daemon's config.
pub struct Setup<'a> {
    /// Extra TOML appended to [reply].
    pub reply: &'a str,
    /// The [schedule] body (days and holidays).
    pub schedule: &'a str,
    /// SMTP security: "starttls" or "tls".
    pub smtp_security: &'a str,
    /// The state file, relative to the daemon's folder or absolute.
    pub state: &'a str,
    /// Extra TOML appended to [imap].
    pub imap: &'a str,
    /// The whole [smtp] section instead of the real server's, when not empty (`{address}` is
    /// replaced by the user's address).
    pub smtp: &'a str,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Setup {
            reply: "",
            schedule: CLOSED_NOW,
            smtp_security: "starttls",
            state: "state.sqlite3",
            imap: "",
            smtp: "",
        }
    }
}

/// A schedule that is never open around now: hours only on the first minute of Mondays, and
/// every day from a week ago to a week ahead a holiday.
pub const CLOSED_NOW: &str = "__CLOSED__";

fn closed_now() -> String {
    let today = plazo::clock::now().date_naive();
    let from = today - chrono::Duration::days(7);
    let to = today + chrono::Duration::days(7);
    format!("monday = [\"00:00-00:01\"]\nholidays = [\"{from}..{to}\"]")
}

impl Daemon {
    /// Writes a config for a new freelancer user on the servers.
    pub fn new(servers: &Servers, prefix: &str, setup: Setup<'_>) -> Daemon {
        let (address, password) = servers.user(prefix);
        Daemon::for_user(servers, address, password, setup)
    }

    /// Writes a config for an existing user.
    pub fn for_user(
        servers: &Servers,
        address: String,
        password: String,
        setup: Setup<'_>,
    ) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let schedule = if setup.schedule == CLOSED_NOW {
            closed_now()
        } else {
            setup.schedule.to_string()
        };
        let smtp_port = if setup.smtp_security == "tls" {
            servers.port("SMTPS_PORT")
        } else {
            servers.port("SUBMISSION_PORT")
        };
        let pw_file = dir.path().join("password");
        std::fs::write(&pw_file, &password).expect("password file");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pw_file, std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        let config = format!(
            r#"[identity]
name = "Ana Test"
address = "{address}"

[schedule]
timezone = "Europe/Madrid"
{schedule}

[notice]
minimum = "36h"

[reply]
once_per_sender = "7d"
{domain_cap}{reply}

[imap]
host = "127.0.0.1"
port = {imap_port}
security = "plain"
username = "{address}"
password_file = "password"
poll_interval = "2s"
{imap_extra}
{smtp}

[state]
path = "{state}"
"#,
            state = setup.state,
            imap_extra = setup.imap,
            smtp = if setup.smtp.is_empty() {
                format!(
                    "[smtp]\nhost = \"localhost\"\nport = {smtp_port}\nsecurity = \"{}\"\n\
                     username = \"{address}\"\npassword_file = \"password\"\nca_file = \"{}\"",
                    setup.smtp_security,
                    servers.ca_file.display()
                )
            } else {
                setup.smtp.replace("{address}", &address)
            },
            reply = setup.reply,
            // Every test user is at example.test: no cap per domain unless a test sets one.
            domain_cap = if setup.reply.contains("per_domain_hourly") {
                ""
            } else {
                "per_domain_hourly = 0\n"
            },
            imap_port = servers.port("IMAP_PORT"),
        );
        std::fs::write(dir.path().join("config.toml"), config).expect("config");
        let state_path = dir.path().join(setup.state);
        Daemon {
            dir,
            child: None,
            address,
            password,
            state_path,
        }
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// The daemon's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("plazo.log")
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log_path()).unwrap_or_default()).into_owned()
    }

    /// Starts `plazo run` and waits until it watches the mailbox.
    pub fn start(&mut self) {
        let before = self.log().matches("imap: watching").count();
        self.spawn(&["run"]);
        self.wait_log_count("imap: watching", before + 1, Duration::from_secs(15));
    }

    /// Starts plazo with `args`, logging to the log file (appending).
    pub fn spawn(&mut self, args: &[&str]) {
        self.spawn_env(args, &[]);
    }

    /// Starts plazo with `args` and more environment (`PLAZO_LOG=trace`, say).
    pub fn spawn_env(&mut self, args: &[&str], env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_plazo"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.dir.path())
            .env("PLAZO_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn plazo");
        self.child = Some(child);
    }

    /// Runs plazo to completion with `args` and returns (exit code, stdout).
    pub fn run_to_end(&self, args: &[&str]) -> (Option<i32>, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_plazo"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run plazo");
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("log");
        let _ = log.write_all(&out.stderr);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// Waits until the log holds `needle` (counted from now on: occurrences before the call
    /// count too, so tests pass distinct needles).
    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        self.wait_log_count(needle, 1, timeout);
    }

    /// Waits until the log holds `needle` at least `n` times.
    pub fn wait_log_count(&self, needle: &str, n: usize, timeout: Duration) {
        let start = Instant::now();
        while self.log().matches(needle).count() < n {
            if start.elapsed() > timeout {
                panic!(
                    "no {needle:?} (x{n}) in the log within {timeout:?}:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal to the running daemon.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &pid.to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} {pid}");
    }

    /// SIGTERM, then a clean exit (code 0) within `within`.
    pub fn stop(&mut self, within: Duration) {
        self.signal("TERM");
        assert_eq!(self.wait_exit(within), Some(0), "{}", self.log());
    }

    /// Waits for the daemon to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.code();
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                panic!("plazo did not exit within {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the daemon with SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `plazo history --json` as values.
    pub fn history(&self) -> Vec<serde_json::Value> {
        let (code, out) = self.run_to_end(&["history", "--json", "--limit", "100000"]);
        assert_eq!(code, Some(0), "history failed:\n{}", self.log());
        out.lines()
            .map(|l| serde_json::from_str(l).expect("history json"))
            .collect()
    }

    /// The state file.
    pub fn state(&self) -> PathBuf {
        self.state_path.clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A client's mail to the freelancer, CRLF, with a unique Message-ID.
pub fn client_mail(from: &str, to: &str, subject: &str, body: &str, extra: &[&str]) -> Vec<u8> {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let date = plazo::clock::now().to_rfc2822();
    let mut head = vec![
        format!("From: Client <{from}>"),
        format!("To: {to}"),
        format!("Subject: {subject}"),
        format!("Date: {date}"),
        format!(
            "Message-ID: <t{}.{n}@client.example.test>",
            std::process::id()
        ),
        "MIME-Version: 1.0".to_string(),
        "Content-Type: text/plain; charset=utf-8".to_string(),
    ];
    head.extend(extra.iter().map(|s| s.to_string()));
    let mut s = head.join("\r\n");
    s.push_str("\r\n\r\n");
    s.push_str(&body.replace('\n', "\r\n"));
    s.push_str("\r\n");
    s.into_bytes()
}
