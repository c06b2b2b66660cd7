//! OAuth2 end to end: plazo against the test authorization server, Dovecot's oauth2 passdb and
//! the SMTP server's XOAUTH2/OAUTHBEARER (all started by `scripts/mail-servers`).
//!
//! The authorization server's settings (token life, rotation, failures) and the SMTP failure
//! style are shared by everyone using the servers, so these tests run one at a time. Counters
//! are read per user, and every test has its own users.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use plazo::config::Config;
use plazo::oauth::TokenSource;
use plazo::store::{Grant, Store};
use serde_json::{Value, json};

mod common;
use common::servers::{Daemon, Servers, Setup, client_mail, servers};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const CLIENT_ID: &str = "plazo-test";
const CLIENT_SECRET: &str = "plazo-test-secret";

/// The test authorization server of `s`.
struct Provider<'a> {
    servers: &'a Servers,
    url: String,
    http: reqwest::Client,
}

impl<'a> Provider<'a> {
    fn of(servers: &'a Servers) -> Provider<'a> {
        Provider {
            servers,
            url: format!("http://127.0.0.1:{}", servers.port("OAUTH_PORT")),
            // No kept-alive connections: the server is stopped and started by some tests.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("http client"),
        }
    }

    async fn control(&self, name: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/control/{name}", self.url))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("control {name}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("control answer");
        assert!(status.is_success(), "control {name}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("control {name}: {e}: {text}"))
    }

    /// Settings back to their defaults, then `settings` on top.
    async fn settings(&self, settings: Value) {
        let defaults = json!({"access_ttl": 3600, "rotate": false, "token_fail": 0, "slow_down": 0, "device_interval": 1});
        self.control("settings", defaults).await;
        self.control("settings", settings).await;
    }

    /// Successful refresh-token grants for `user` so far.
    async fn refreshes(&self, user: &str) -> u64 {
        let counts = self.control("counts", json!({})).await;
        counts["refresh_token_by_user"][user].as_u64().unwrap_or(0)
    }

    async fn counts(&self) -> Value {
        self.control("counts", json!({})).await
    }

    /// A grant as if `user` had consented; stored in the daemon's state as `plazo auth login`
    /// would. Returns the refresh token.
    async fn seed(&self, ana: &Daemon) -> String {
        let answer = self
            .control("seed", json!({"user": ana.address, "client_id": CLIENT_ID}))
            .await;
        let refresh = answer["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_string();
        let now = plazo::clock::now();
        Store::open(&ana.state())
            .expect("state")
            .save_grant(&Grant {
                account: ana.address.clone(),
                token_url: format!("{}/token", self.url),
                client_id: CLIENT_ID.into(),
                refresh_token: Some(refresh.clone()),
                scope: "mail".into(),
                authorized_at: now,
                refreshed_at: None,
                access_expires: None,
                active: true,
                problem: None,
            })
            .expect("save grant");
        refresh
    }

    /// The SMTP server's answer to a refused token: `direct` (535) or `challenge` (334 + JSON).
    fn smtp_style(&self, style: &str) {
        std::fs::write(self.servers.dir.join("smtp-oauth-style"), style).expect("style file");
    }
}

/// A daemon whose IMAP and SMTP logins use OAuth2 with the test provider.
fn oauth_daemon(s: &Servers, prefix: &str, setup: Setup<'_>) -> Daemon {
    let ana = Daemon::new(s, prefix, setup);
    let url = format!("http://127.0.0.1:{}", s.port("OAUTH_PORT"));
    let text = std::fs::read_to_string(ana.config()).expect("config");
    assert_eq!(text.matches("password_file = \"password\"\n").count(), 2);
    let text = text.replace("password_file = \"password\"\n", "auth = \"oauth2\"\n")
        + &format!(
            "\n[oauth2]\nprovider = \"custom\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = \"client-secret\"\nauthorization_url = \"{url}/authorize\"\ntoken_url = \"{url}/token\"\ndevice_url = \"{url}/device\"\nscopes = [\"mail\"]\n"
        );
    std::fs::write(ana.config(), text).expect("config");
    let secret = ana.dir.path().join("client-secret");
    std::fs::write(&secret, CLIENT_SECRET).expect("secret");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    ana
}

/// A client writes to Ana and waits for plazo's reply in its INBOX.
async fn exchange(s: &Servers, ana: &Daemon, subject: &str) -> Vec<u8> {
    let (client, client_pw) = s.user("client");
    let m = client_mail(&client, &ana.address, subject, "¿Lo podéis mirar hoy?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(30))
        .await;
    assert_eq!(got.len(), 1, "one reply for {subject}:\n{}", ana.log());
    got[0].0.clone()
}

/// `plazo auth status`: (exit code, stdout).
fn auth_status(ana: &Daemon) -> (Option<i32>, String) {
    ana.run_to_end(&["auth", "status"])
}

/// Token-like runs (long base64url / hex strings) in `text`: a log must have none.
fn long_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.~+/=".contains(c)))
        .filter(|w| w.len() >= 64)
        .map(|w| w.chars().take(80).collect())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn happy_path_one_refresh_for_imap_and_smtp_and_no_secret_in_logs() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({})).await;
    provider.smtp_style("direct");
    let mut ana = oauth_daemon(s, "oa", Setup::default());
    let refresh = provider.seed(&ana).await;

    ana.spawn_env(&["run"], &[("PLAZO_LOG", "trace")]);
    ana.wait_log("imap: watching", Duration::from_secs(15));
    assert!(
        ana.log().contains("with XOAUTH2"),
        "IMAP signed in with XOAUTH2:\n{}",
        ana.log()
    );
    let reply = exchange(s, &ana, "Web caída").await;
    assert!(
        String::from_utf8_lossy(&reply).contains("Auto-Submitted: auto-replied"),
        "the reply"
    );
    assert_eq!(
        provider.refreshes(&ana.address).await,
        1,
        "one refresh served IMAP and SMTP:\n{}",
        ana.log()
    );
    // `plazo check` signs in to both servers with the grant (a token source of its own).
    let (code, checked) = ana.run_to_end(&["check"]);
    assert_eq!(code, Some(0), "{checked}\n{}", ana.log());
    assert!(checked.contains("authorized"), "{checked}");
    assert!(checked.contains("imap: ok"), "{checked}");
    assert!(checked.contains("smtp: ok"), "{checked}");
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("authorized: yes"), "{out}");
    assert!(out.contains(&ana.address), "{out}");
    ana.stop(Duration::from_secs(10));

    // Nothing secret in the trace-level log nor in what `auth status` printed.
    let log = ana.log();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "trace level was on"
    );
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    };
    for secret in [refresh.as_str(), CLIENT_SECRET, basic.as_str()] {
        assert!(!log.contains(secret), "a secret in the log");
        assert!(!out.contains(secret), "a secret in auth status");
    }
    let lines: Vec<String> = log
        .lines()
        .filter(|l| !long_tokens(l).is_empty())
        .map(|l| l.chars().take(240).collect())
        .collect();
    assert!(
        lines.is_empty(),
        "token-like strings in the log:\n{}",
        lines.join("\n")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_short_token_life_is_refreshed_before_it_runs_out() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({"access_ttl": 4})).await;
    provider.smtp_style("direct");
    let mut ana = oauth_daemon(s, "ob", Setup::default());
    provider.seed(&ana).await;
    ana.start();
    assert_eq!(provider.refreshes(&ana.address).await, 1);
    // The IMAP token runs out while plazo IDLEs; the reply's SMTP login needs a new one, and
    // plazo gets it before presenting the old one.
    tokio::time::sleep(Duration::from_secs(4)).await;
    exchange(s, &ana, "Después de caducar").await;
    assert_eq!(provider.refreshes(&ana.address).await, 2, "{}", ana.log());
    assert!(
        !ana.log().contains("refused the access token"),
        "no token was refused:\n{}",
        ana.log()
    );
    // At the default level nothing below info is logged (TLS handshakes included).
    assert!(
        !ana.log().contains(" DEBUG ") && !ana.log().contains(" TRACE "),
        "{}",
        ana.log()
    );
    provider.settings(json!({})).await;
}

#[tokio::test(flavor = "current_thread")]
async fn imap_refused_token_is_refreshed_once_and_retried_with_both_mechanisms() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({})).await;
    let ana = oauth_daemon(s, "oc", Setup::default());
    provider.seed(&ana).await;
    let config = Config::load(&ana.config()).expect("config");
    let source = TokenSource::for_config(&config)
        .expect("token source")
        .expect("oauth2 in use");
    let server = config.imap.clone().expect("imap");
    for (round, mechanism) in [
        plazo::imap::Mechanism::Xoauth2,
        plazo::imap::Mechanism::OAuthBearer,
    ]
    .into_iter()
    .enumerate()
    {
        let before = provider.refreshes(&ana.address).await;
        source.token().await.expect("token");
        // Expired behind plazo's back: plazo still thinks it has an hour.
        let expired = provider
            .control("expire", json!({"user": ana.address}))
            .await;
        assert!(expired["expired"].as_u64().unwrap_or(0) >= 1, "{expired}");
        let mut session = plazo::imap::connect_oauth(&server, &source, Some(mechanism))
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
        plazo::imap::select(&mut session, "INBOX")
            .await
            .expect("select");
        let _ = session.logout().await;
        let after = provider.refreshes(&ana.address).await;
        assert_eq!(
            after - before,
            if round == 0 { 2 } else { 1 },
            "{mechanism:?}: one refresh for the refused token"
        );
    }
    // Revoked: the refresh after the refusal gets invalid_grant, and the error says what to do.
    provider.source_revoke(&ana).await;
    let err = plazo::imap::connect_oauth(&server, &source, None)
        .await
        .expect_err("revoked");
    assert!(err.pausing().is_some(), "{err}");
    assert!(err.to_string().contains("plazo auth login"), "{err}");
}

impl Provider<'_> {
    async fn source_revoke(&self, ana: &Daemon) {
        let revoked = self.control("revoke", json!({"user": ana.address})).await;
        assert!(revoked["revoked"].as_u64().unwrap_or(0) >= 1, "{revoked}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn smtp_refused_token_is_refreshed_once_in_both_failure_styles() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({})).await;
    for style in ["direct", "challenge"] {
        provider.smtp_style(style);
        let mut ana = oauth_daemon(s, "od", Setup::default());
        provider.seed(&ana).await;
        ana.start();
        // The token IMAP used is now refused everywhere; SMTP has not connected yet.
        provider
            .control("expire", json!({"user": ana.address}))
            .await;
        exchange(s, &ana, &format!("Estilo {style}")).await;
        assert_eq!(
            provider.refreshes(&ana.address).await,
            2,
            "{style}:\n{}",
            ana.log()
        );
        assert!(
            ana.log().contains("refused the access token"),
            "{style}: the refusal was seen:\n{}",
            ana.log()
        );
        ana.stop(Duration::from_secs(10));
    }
    provider.smtp_style("direct");
}

/// Starts `plazo auth login` with `args`; returns it and its standard output.
fn spawn_login(ana: &Daemon, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plazo"))
        .args(["auth", "login", "--timeout", "60s"])
        .args(args)
        .arg("--config")
        .arg(ana.config())
        .current_dir(ana.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plazo auth login");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    (child, out)
}

/// Runs `plazo auth login --device`, approves (or denies) the code it prints as the person
/// would, and returns (exit code, stdout).
async fn device_login(
    provider: &Provider<'_>,
    ana: &Daemon,
    approve: bool,
) -> (Option<i32>, String) {
    let (mut child, mut out) = spawn_login(ana, &["--device"]);
    let mut printed = String::new();
    let code = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).expect("read") > 0,
            "no code printed: {printed}"
        );
        printed.push_str(&line);
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.split_whitespace().next().expect("code").to_string();
        }
    };
    let body = if approve {
        json!({"user_code": code, "user": ana.address})
    } else {
        json!({"user_code": code})
    };
    provider
        .control(if approve { "approve" } else { "deny" }, body)
        .await;
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    printed.push_str(&rest);
    let status = child.wait().expect("wait");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    printed.push_str(&err);
    (status.code(), printed)
}

#[tokio::test(flavor = "current_thread")]
async fn revoked_grant_pauses_keeps_the_reply_and_resumes_after_login_and_sighup() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({})).await;
    provider.smtp_style("direct");
    let mut ana = oauth_daemon(s, "oe", Setup::default());
    provider.seed(&ana).await;
    ana.start();
    provider.source_revoke(&ana).await;

    // A client writes: the mail is decided over the IDLE connection, but the reply cannot go
    // out: the SMTP login is refused and the refresh gets invalid_grant.
    let (client, client_pw) = s.user("client");
    let m = client_mail(&client, &ana.address, "Tras revocar", "¿Para hoy?", &[]);
    s.deliver(&client, &ana.address, &m).await;
    ana.wait_log("kept in the outbox", Duration::from_secs(20));
    assert!(
        ana.log().contains("run `plazo auth login`"),
        "{}",
        ana.log()
    );
    assert!(
        ana.child
            .as_mut()
            .expect("child")
            .try_wait()
            .expect("wait")
            .is_none(),
        "still running"
    );
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("authorized: NO"), "{out}");
    assert!(out.contains("invalid_grant"), "{out}");
    assert!(out.contains("1 queued reply"), "{out}");
    assert!(
        s.messages(&client, &client_pw, "INBOX").await.is_empty(),
        "nothing sent while paused"
    );

    // The person signs in again (device flow), then reloads plazo.
    let (code, printed) = device_login(&provider, &ana, true).await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("Authorized"), "{printed}");
    ana.signal("HUP");
    let got = s
        .wait_for(&client, &client_pw, 1, Duration::from_secs(30))
        .await;
    assert_eq!(got.len(), 1, "the queued reply went out:\n{}", ana.log());
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(0), "{out}");
    // And nothing twice.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(s.messages(&client, &client_pw, "INBOX").await.len(), 1);
    ana.stop(Duration::from_secs(10));
}

#[tokio::test(flavor = "current_thread")]
async fn a_rotated_refresh_token_is_stored_and_a_restart_still_works() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({"rotate": true})).await;
    provider.smtp_style("direct");
    let mut ana = oauth_daemon(s, "of", Setup::default());
    let first = provider.seed(&ana).await;
    ana.start();
    let stored = |ana: &Daemon| {
        Store::open(&ana.state())
            .expect("state")
            .grant(&ana.address)
            .expect("grant")
            .expect("a grant")
            .refresh_token
            .expect("refresh token")
    };
    let second = stored(&ana);
    assert_ne!(
        first, second,
        "the rotated token replaced the first at once"
    );
    ana.stop(Duration::from_secs(10));
    ana.start();
    exchange(s, &ana, "Tras reiniciar").await;
    assert_ne!(stored(&ana), second);
    assert_eq!(provider.refreshes(&ana.address).await, 2);
    provider.settings(json!({})).await;
}

#[tokio::test(flavor = "current_thread")]
async fn device_flow_honours_slow_down_and_a_denial() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({"slow_down": 1})).await;
    let ana = oauth_daemon(s, "og", Setup::default());
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("run `plazo auth login`"), "{out}");
    // Never signed in: the daemon does not start, and says why.
    let (code, _) = ana.run_to_end(&["run", "--once"]);
    assert_eq!(code, Some(78));
    assert!(
        ana.log().contains("run `plazo auth login` first"),
        "{}",
        ana.log()
    );
    let (code, out) = ana.run_to_end(&["check", "--offline"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not authorized yet"), "{out}");
    let polls = provider.counts().await["device_polls"]
        .as_u64()
        .unwrap_or(0);
    let started = Instant::now();
    let (code, printed) = device_login(&provider, &ana, true).await;
    assert_eq!(code, Some(0), "{printed}");
    // One slow_down adds 5 s to the 1 s interval (RFC 8628 §3.5).
    assert!(started.elapsed() >= Duration::from_secs(5), "{printed}");
    let polled = provider.counts().await["device_polls"]
        .as_u64()
        .unwrap_or(0)
        - polls;
    assert!((2..=4).contains(&polled), "{polled} polls");
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(0), "{out}");

    provider.settings(json!({})).await;
    let (code, printed) = device_login(&provider, &ana, false).await;
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.contains("refused"), "{printed}");
    // The earlier grant is untouched.
    assert_eq!(auth_status(&ana).0, Some(0));
}

#[tokio::test(flavor = "current_thread")]
async fn loopback_flow_refuses_a_wrong_state_then_completes() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({})).await;
    let ana = oauth_daemon(s, "oh", Setup::default());
    let (mut child, mut out) = spawn_login(&ana, &[]);
    let url = loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).expect("read") > 0, "no URL");
        if line.trim().starts_with("http") {
            break url::Url::parse(line.trim()).expect("url");
        }
    };
    let param = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {k} in {url}"))
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("login_hint"), ana.address);
    let redirect = param("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    let http = reqwest::Client::new();
    // A forged answer: refused, and the wait goes on.
    let forged = http
        .get(format!("{redirect}?code=forged&state=not-the-state"))
        .send()
        .await
        .expect("forged request");
    assert_eq!(forged.status(), 400);
    // The browser: the provider approves and redirects to plazo's listener.
    let done = http.get(url.as_str()).send().await.expect("browser");
    assert_eq!(done.status(), 200, "{:?}", done.text().await);
    let status = child.wait().expect("wait");
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut out, &mut printed).expect("read");
    assert_eq!(status.code(), Some(0), "{printed}");
    assert!(printed.contains("Authorized"), "{printed}");
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(0), "{out}");
    assert!(long_tokens(&printed).is_empty(), "{printed}");
    // The refresh token's file is the owner's alone.
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(ana.state())
            .expect("state")
            .permissions()
            .mode()
    };
    assert_eq!(mode & 0o077, 0, "state store mode {mode:o}");
}

#[tokio::test(flavor = "current_thread")]
async fn authorization_server_down_backs_off_keeps_the_grant_and_recovers() {
    let _one = SERIAL.lock().await;
    let s = servers();
    let provider = Provider::of(s);
    provider.settings(json!({"token_fail": 503})).await;
    provider.smtp_style("direct");
    let mut ana = oauth_daemon(s, "oi", Setup::default());
    provider.seed(&ana).await;
    // The provider in trouble (503), then gone altogether.
    ana.spawn(&["run"]);
    // The same error again is logged once per period (with a count), so one line shows it.
    ana.wait_log_count("reconnecting in", 1, Duration::from_secs(15));
    /// Starts the provider again even if the test fails, for the tests after it.
    struct Restart<'a>(&'a Servers);
    impl Drop for Restart<'_> {
        fn drop(&mut self) {
            self.0.control("start-oauth");
        }
    }
    let _restart = Restart(s);
    // Counted before the stop: the next attempt may fail (and log) while the stop is under way.
    // The 503 again would not be logged (the same error, once per period).
    let gone = ana.log().matches("reconnecting in").count();
    s.control("stop-oauth");
    // Another error (the endpoint refuses connections): logged at once, still backing off.
    ana.wait_log_count("reconnecting in", gone + 1, Duration::from_secs(20));
    assert!(
        !ana.log().contains("run `plazo auth login`"),
        "no pause for an outage:\n{}",
        ana.log()
    );
    let (code, out) = auth_status(&ana);
    assert_eq!(code, Some(0), "the grant is kept: {out}");
    s.control("start-oauth");
    provider.settings(json!({})).await;
    ana.wait_log("imap: watching", Duration::from_secs(90));
    exchange(s, &ana, "Tras la caída del proveedor").await;
    ana.stop(Duration::from_secs(10));
}
