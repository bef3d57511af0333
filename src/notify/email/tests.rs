//! Email delivery against a real SMTP server (aiosmtpd, started by each test on loopback).
//!
//! The server is `tests/fixtures/notify/smtp_sink.py`; it writes a JSON summary of every message
//! it accepts. It needs Debian's python3-aiosmtpd; without it these tests fail and say so.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use super::super::payload::tests::{alert, story};
use super::super::{Alert, Notifiers};
use crate::config::{EmailConfig, NotifierConfig, NotifierKind};

const PYTHON: &str = "/usr/bin/python3";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/notify")
        .join(name)
}

/// A running smtp_sink.py; killed when dropped.
struct Sink {
    /// The server process, killed on drop so a failing test leaves nothing running.
    child: tokio::process::Child,
    /// Where the notifier under test connects.
    port: u16,
    /// Where the server writes what it receives.
    dir: tempfile::TempDir,
}

fn require_aiosmtpd() {
    let ok = std::process::Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the SMTP tests need a real SMTP server: install python3-aiosmtpd \
         (apt-get install python3-aiosmtpd) so that `{PYTHON} -c \"import aiosmtpd\"` works"
    );
}

impl Sink {
    /// Starts the server with `args` (see smtp_sink.py) and waits, bounded, until it accepts
    /// connections.
    async fn start(args: &[&str]) -> Sink {
        require_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let mut child = tokio::process::Command::new(PYTHON)
            .arg(fixture("smtp_sink.py"))
            .arg(dir.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        // The server prints its port once it listens; bounded so a broken server fails the test.
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("smtp_sink.py did not report its port within 20 s")
            .unwrap()
            .expect("smtp_sink.py exited before listening (see its stderr above)");
        let port: u16 = line.trim().parse().unwrap();
        wait_for_port(port).await;
        Sink { child, port, dir }
    }

    /// The JSON summaries of the messages received so far, in order.
    fn received(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for n in 1.. {
            let path = self.dir.path().join(format!("{n}.json"));
            match std::fs::read(&path) {
                Ok(bytes) => out.push(serde_json::from_slice(&bytes).unwrap()),
                Err(_) => break,
            }
        }
        out
    }

    async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Polls until `port` accepts a connection: at most 200 tries, 25 ms apart.
async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nothing accepts connections on 127.0.0.1:{port}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn mail(smtp_url: &str) -> EmailConfig {
    EmailConfig {
        smtp_url: url::Url::parse(smtp_url).unwrap(),
        tls: None,
        from: "feedwatch <feedwatch@example.org>".into(),
        to: vec!["me@example.org".into(), "ops@example.org".into()],
        username: None,
        password_file: None,
        ca_file: None,
        style: crate::notify::MailStyle::default(),
    }
}

fn notifiers(cfg: EmailConfig) -> Notifiers {
    Notifiers::new(
        &[NotifierConfig {
            name: "me".into(),
            kind: NotifierKind::Email(cfg),
            events: Vec::new(),
        }],
        "ua",
        false,
    )
    .unwrap()
}

fn sample() -> Alert {
    alert(vec![story("Troops leave Basra", "https://wire.example/a")])
}

fn part<'a>(msg: &'a serde_json::Value, content_type: &str) -> &'a str {
    msg["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {msg}"))["text"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn an_alert_arrives_as_one_multipart_mail_with_links_and_matches() {
    let sink = Sink::start(&[]).await;
    let n = notifiers(mail(&format!("smtp://127.0.0.1:{}", sink.port)));

    n.send("me", &sample()).await.unwrap();

    let got = sink.received();
    assert_eq!(got.len(), 1, "one message per alert");
    let m = &got[0];
    assert_eq!(m["subject"], "[feedwatch] iraq-troops: Troops leave Basra");
    assert_eq!(m["message_id"], "<alert-42@feedwatch>");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(m["mail_from"], "feedwatch@example.org");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["me@example.org", "ops@example.org"])
    );
    let text = part(m, "text/plain");
    assert!(text.contains("https://wire.example/a"), "{text}");
    assert!(text.contains("https://second.example/iraq"), "{text}");
    assert!(text.contains("Matched: iraq, coalition forces"), "{text}");
    let html = part(m, "text/html");
    assert!(html.contains("href=\"https://wire.example/a\""), "{html}");
    assert!(
        html.contains("href=\"https://second.example/iraq\""),
        "{html}"
    );
    assert!(html.contains("<mark>coalition forces</mark>"), "{html}");
    sink.stop().await;
}

#[tokio::test]
async fn a_digest_is_one_mail_counting_its_stories() {
    let sink = Sink::start(&[]).await;
    let n = notifiers(mail(&format!("smtp://127.0.0.1:{}", sink.port)));
    let digest = alert(vec![
        story("First", "https://a.example/1"),
        story("Second", "https://b.example/2"),
    ]);
    n.send("me", &digest).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["subject"], "[feedwatch] iraq-troops: 2 stories");
    let html = part(&got[0], "text/html");
    assert!(
        html.contains("https://a.example/1") && html.contains("https://b.example/2"),
        "{html}"
    );
    sink.stop().await;
}

#[tokio::test]
async fn smtp_down_is_retryable_and_the_resend_after_it_comes_up_keeps_the_message_id() {
    let port = free_port();
    let n = notifiers(mail(&format!("smtp://127.0.0.1:{port}")));
    let err = n.send("me", &sample()).await.unwrap_err();
    assert!(err.retryable, "{}", err.message);
    assert!(
        err.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.message
    );

    let sink = Sink::start(&["--port", &port.to_string()]).await;
    n.send("me", &sample()).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["message_id"], "<alert-42@feedwatch>");
    sink.stop().await;
}

#[tokio::test]
async fn a_rejected_recipient_is_permanent_and_a_busy_server_is_retryable() {
    let sink = Sink::start(&["--reject-rcpt", "550"]).await;
    let err = notifiers(mail(&format!("smtp://127.0.0.1:{}", sink.port)))
        .send("me", &sample())
        .await
        .unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(err.message.contains("550"), "{}", err.message);
    sink.stop().await;

    let sink = Sink::start(&["--reject-rcpt", "451"]).await;
    let err = notifiers(mail(&format!("smtp://127.0.0.1:{}", sink.port)))
        .send("me", &sample())
        .await
        .unwrap_err();
    assert!(err.retryable, "{}", err.message);
    assert!(sink.received().is_empty());
    sink.stop().await;
}

fn tls_args<'a>(mode: &'a str, cert: &'a str, key: &'a str) -> Vec<&'a str> {
    vec!["--tls", mode, "--cert", cert, "--key", key]
}

#[tokio::test]
async fn starttls_with_a_private_ca_and_a_password_file_delivers() {
    let (cert, key) = (fixture("test-server.pem"), fixture("test-server.key"));
    let mut args = tls_args("starttls", cert.to_str().unwrap(), key.to_str().unwrap());
    args.extend(["--auth", "feedwatch:s3cret pass"]);
    let sink = Sink::start(&args).await;
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("smtp");
    std::fs::write(&pw, "s3cret pass\n").unwrap();
    let mut cfg = mail(&format!("smtp://localhost:{}?tls=required", sink.port));
    cfg.ca_file = Some(fixture("test-ca.pem"));
    cfg.username = Some("feedwatch".into());
    cfg.password_file = Some(pw.clone());
    let n = notifiers(cfg);

    n.send("me", &sample()).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["tls"], true);
    assert_eq!(got[0]["login"], "feedwatch");

    // The password file is read at each send: a wrong password is refused, and never shown.
    std::fs::write(&pw, "wrong-password-value").unwrap();
    let err = n.send("me", &sample()).await.unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(err.message.contains("password_file"), "{}", err.message);
    assert!(
        !err.message.contains("wrong-password-value") && !err.message.contains("s3cret"),
        "{}",
        err.message
    );
    sink.stop().await;
}

#[tokio::test]
async fn implicit_tls_with_a_private_ca_delivers() {
    let (cert, key) = (fixture("test-server.pem"), fixture("test-server.key"));
    let sink = Sink::start(&tls_args(
        "implicit",
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    ))
    .await;
    let mut cfg = mail(&format!("smtps://127.0.0.1:{}", sink.port));
    cfg.ca_file = Some(fixture("test-ca.pem"));
    notifiers(cfg).send("me", &sample()).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["tls"], true);
    sink.stop().await;
}

#[tokio::test]
async fn an_untrusted_certificate_fails_with_advice_about_ca_file() {
    let (cert, key) = (fixture("test-server.pem"), fixture("test-server.key"));
    let sink = Sink::start(&tls_args(
        "implicit",
        cert.to_str().unwrap(),
        key.to_str().unwrap(),
    ))
    .await;
    let err = notifiers(mail(&format!("smtps://127.0.0.1:{}", sink.port)))
        .send("me", &sample())
        .await
        .unwrap_err();
    assert!(err.message.contains("ca_file"), "{}", err.message);
    assert!(sink.received().is_empty());
    sink.stop().await;
}

#[test]
fn bad_smtp_settings_are_refused_at_start_without_echoing_a_password() {
    let check = |cfg: EmailConfig| {
        Notifiers::new(
            &[NotifierConfig {
                name: "me".into(),
                kind: NotifierKind::Email(cfg),
                events: Vec::new(),
            }],
            "ua",
            false,
        )
        .err()
        .unwrap()
        .message
    };
    assert!(check(mail("smtp://127.0.0.1:25?tls=maybe")).contains("tls=maybe"));
    let msg = check(mail("smtp://user:hunter2@127.0.0.1:25"));
    assert!(
        msg.contains("password_file") && !msg.contains("hunter2"),
        "{msg}"
    );
    let mut cfg = mail("smtp://127.0.0.1:25");
    cfg.ca_file = Some(fixture("test-ca.pem"));
    assert!(check(cfg).contains("no TLS"));
    let mut cfg = mail("smtp://127.0.0.1:25");
    cfg.username = Some("u".into());
    assert!(check(cfg).contains("password_file"));
    let mut cfg = mail("smtp://127.0.0.1:25");
    cfg.to = vec!["not an address".into()];
    assert!(check(cfg).contains("not an address"));
}

#[tokio::test]
async fn a_non_ascii_title_arrives_intact_in_the_subject() {
    let sink = Sink::start(&[]).await;
    let n = notifiers(mail(&format!("smtp://127.0.0.1:{}", sink.port)));
    let a = alert(vec![story(
        "Truppen verlassen Bagdad – Überblick",
        "https://wire.example/ü",
    )]);
    n.send("me", &a).await.unwrap();
    let got = sink.received();
    assert_eq!(
        got[0]["subject"],
        "[feedwatch] iraq-troops: Truppen verlassen Bagdad – Überblick"
    );
    assert!(part(&got[0], "text/plain").contains("Überblick"));
    sink.stop().await;
}

#[test]
fn a_long_subject_is_folded_into_header_lines_mail_readers_take() {
    let sender = super::EmailSender::new("me", &mail("smtp://127.0.0.1:2525")).unwrap();
    let title = "Süddeutsche Zeitung: Iraq troops and coalition forces leave the base ".repeat(4);
    let raw = sender
        .message(&alert(vec![story(&title, "https://a.example/1")]))
        .unwrap()
        .formatted();
    let raw = String::from_utf8(raw).unwrap();
    let head = raw.split("\r\n\r\n").next().unwrap();
    let subject: Vec<&str> = head
        .split("\r\n")
        .skip_while(|l| !l.starts_with("Subject:"))
        .take_while(|l| l.starts_with("Subject:") || l.starts_with(' ') || l.starts_with('\t'))
        .collect();
    assert!(
        subject.len() > 1,
        "a 280-character subject on one line: {head}"
    );
    for l in &subject {
        assert!(l.len() <= 78, "a header line past 78 characters: {l:?}");
    }
}
