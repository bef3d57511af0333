//! Webhook delivery against a real HTTP receiver on loopback that records every request.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::super::payload::tests::{alert, story};
use super::super::{Alert, Notifiers};
use crate::config::{NotifierConfig, NotifierKind, WebhookConfig};

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Seen {
    /// To check which URL a redirect led to.
    path: String,
    /// For the Standard Webhooks, preset and custom headers.
    headers: HeaderMap,
    /// The payload, and the signed bytes.
    body: Vec<u8>,
}

/// A status to answer with, and a Location header for redirects.
type Answer = (u16, Option<String>);

/// What the receiver recorded and the statuses it answers with (200 once the queue is empty).
#[derive(Clone, Default)]
struct Receiver {
    /// Every request, in order.
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Statuses a test queues up to make the receiver fail on purpose.
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    fn answer(&self, status: u16) {
        self.answers.lock().unwrap().push_back((status, None));
    }
    fn redirect(&self, status: u16, location: &str) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, Some(location.to_string())));
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(
    axum::extract::State(rx): axum::extract::State<Receiver>,
    req: axum::extract::Request,
) -> axum::response::Response {
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    rx.seen.lock().unwrap().push(Seen {
        path,
        headers,
        body,
    });
    let (status, location) = rx
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((200, None));
    let mut resp = axum::response::Response::new(axum::body::Body::from("receiver says no"));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(l) = location {
        resp.headers_mut().insert("location", l.parse().unwrap());
    }
    resp
}

/// Starts the receiver on a free loopback port; returns its base URL.
async fn start_receiver() -> (Receiver, String) {
    let rx = Receiver::default();
    let app = axum::Router::new().fallback(record).with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (rx, format!("http://{addr}"))
}

fn hook(
    url: &str,
    secret_file: Option<std::path::PathBuf>,
    headers: &[(&str, &str)],
    format: &str,
) -> NotifierConfig {
    NotifierConfig {
        name: "hook".into(),
        kind: NotifierKind::Webhook(WebhookConfig {
            url: url::Url::parse(url).unwrap(),
            secret_file,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            format: format.into(),
        }),
        events: Vec::new(),
    }
}

fn sample() -> Alert {
    alert(vec![story("Troops leave Basra", "https://wire.example/a")])
}

fn header<'a>(s: &'a Seen, name: &str) -> &'a str {
    s.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

/// The receiver's side of Standard Webhooks, written out independently of the sender.
fn expected_signature(key: &[u8], s: &Seen) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    let signed = format!(
        "{}.{}.",
        header(s, "webhook-id"),
        header(s, "webhook-timestamp")
    );
    mac.update(signed.as_bytes());
    mac.update(&s.body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn the_receiver_gets_the_design_json_with_a_signature_it_can_verify() {
    let (rx, base) = start_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let key = b"0123456789abcdef-key-bytes";
    let secret = dir.path().join("hook.secret");
    let whsec = format!(
        "whsec_{}\n",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    std::fs::write(&secret, whsec).unwrap();
    let n = Notifiers::new(
        &[hook(&format!("{base}/in"), Some(secret), &[], "json")],
        "feedwatch-test/1",
        true,
    )
    .unwrap();

    n.send("hook", &sample()).await.unwrap();

    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.path, "/in");
    assert_eq!(header(s, "content-type"), "application/json");
    assert_eq!(header(s, "user-agent"), "feedwatch-test/1");
    assert_eq!(header(s, "webhook-id"), "alert-42");
    assert!(header(s, "webhook-timestamp").parse::<u64>().is_ok());
    assert_eq!(header(s, "webhook-signature"), expected_signature(key, s));
    let v: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
    assert_eq!(v["type"], "topic.match");
    assert_eq!(v["topic"], "iraq-troops");
    assert_eq!(v["stories"][0]["title"], "Troops leave Basra");
    assert_eq!(
        v["stories"][0]["matched"],
        serde_json::json!(["iraq", "coalition forces"])
    );
    assert_eq!(
        v["stories"][0]["also_at"],
        serde_json::json!(["https://second.example/iraq"])
    );
}

#[tokio::test]
async fn secrets_are_read_as_standard_webhooks_libraries_read_them() {
    let (rx, base) = start_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook.secret");
    let key = b"sixteen byte key!"; // 17 bytes: its base64 is padded
    let b64 = base64::engine::general_purpose::STANDARD.encode(key);
    assert!(b64.ends_with('='));
    let n = Notifiers::new(
        &[hook(&base, Some(secret.clone()), &[], "json")],
        "ua",
        true,
    )
    .unwrap();
    // whsec_ padded and unpadded, and a bare secret: all base64 of the key.
    for content in [
        format!("whsec_{b64}\n"),
        format!("  whsec_{}  ", b64.trim_end_matches('=')),
        format!("{b64}\n"),
        b64.trim_end_matches('=').to_string(),
    ] {
        std::fs::write(&secret, &content).unwrap();
        n.send("hook", &sample()).await.unwrap();
        let s = rx.seen().pop().unwrap();
        assert_eq!(
            header(&s, "webhook-signature"),
            expected_signature(key, &s),
            "{content:?}"
        );
    }
    // A secret that is not base64 could be verified by no receiver: not sent, and not shown.
    let sent = rx.seen().len();
    std::fs::write(&secret, "  plain secret \n").unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(err.message.contains("not base64"), "{}", err.message);
    assert!(!err.message.contains("plain secret"), "{}", err.message);
    assert_eq!(rx.seen().len(), sent);
}

#[test]
fn signing_keys_decode_like_the_reference_libraries() {
    use super::signing_key;
    assert_eq!(signing_key(b"whsec_a2V5").unwrap(), b"key");
    assert_eq!(signing_key(b"whsec_a2V5MQ==").unwrap(), b"key1");
    assert_eq!(signing_key(b"whsec_a2V5MQ").unwrap(), b"key1");
    assert_eq!(signing_key(b"a2V5MQ\n").unwrap(), b"key1");
    for bad in [
        &b"whsec_"[..],
        b"",
        b"  \n",
        b"whsec_a2V5*",
        b"a-b_c",
        b"\xff\xfe",
    ] {
        assert!(signing_key(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn without_a_secret_there_is_an_id_but_no_signature() {
    let (rx, base) = start_receiver().await;
    let n = Notifiers::new(&[hook(&base, None, &[], "json")], "ua", true).unwrap();
    n.send("hook", &sample()).await.unwrap();
    let s = &rx.seen()[0];
    assert_eq!(header(s, "webhook-id"), "alert-42");
    assert!(s.headers.get("webhook-signature").is_none());
}

#[tokio::test]
async fn server_errors_and_throttling_are_retryable_and_the_retry_keeps_the_id() {
    let (rx, base) = start_receiver().await;
    for status in [500, 503, 429, 408] {
        rx.answer(status);
    }
    let n = Notifiers::new(&[hook(&base, None, &[], "json")], "ua", true).unwrap();
    for status in [500, 503, 429, 408] {
        let err = n.send("hook", &sample()).await.unwrap_err();
        assert!(err.retryable, "{status} must be retryable: {}", err.message);
        assert!(err.message.contains(&status.to_string()), "{}", err.message);
    }
    n.send("hook", &sample()).await.unwrap();
    let ids: Vec<String> = rx
        .seen()
        .iter()
        .map(|s| header(s, "webhook-id").to_string())
        .collect();
    assert_eq!(ids, vec!["alert-42"; 5]);
}

#[tokio::test]
async fn a_client_error_is_not_retryable() {
    let (rx, base) = start_receiver().await;
    rx.answer(404);
    rx.answer(400);
    let n = Notifiers::new(&[hook(&base, None, &[], "json")], "ua", true).unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("404"), "{}", err.message);
    assert!(
        err.message.contains("receiver says no"),
        "the receiver's answer helps: {}",
        err.message
    );
    assert!(!n.send("hook", &sample()).await.unwrap_err().retryable);
}

#[tokio::test]
async fn a_receiver_that_is_down_is_retryable() {
    // Bind and drop: the port is free and nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let n = Notifiers::new(
        &[hook(
            &format!("http://127.0.0.1:{port}/"),
            None,
            &[],
            "json",
        )],
        "ua",
        true,
    )
    .unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(err.retryable, "{}", err.message);
    assert!(err.message.contains("cannot connect"), "{}", err.message);
}

#[tokio::test]
async fn custom_headers_arrive() {
    let (rx, base) = start_receiver().await;
    let n = Notifiers::new(
        &[hook(
            &base,
            None,
            &[("Authorization", "Bearer t0k"), ("X-Team", "ops")],
            "json",
        )],
        "ua",
        true,
    )
    .unwrap();
    n.send("hook", &sample()).await.unwrap();
    let s = &rx.seen()[0];
    assert_eq!(header(s, "authorization"), "Bearer t0k");
    assert_eq!(header(s, "x-team"), "ops");
}

#[tokio::test]
async fn a_loopback_receiver_is_refused_unless_private_addresses_are_allowed() {
    let (rx, base) = start_receiver().await;
    let err = Notifiers::new(&[hook(&base, None, &[], "json")], "ua", false)
        .err()
        .unwrap();
    assert!(!err.retryable);
    assert!(
        err.message.contains("allow_private_addresses"),
        "{}",
        err.message
    );

    // By name: only resolving shows it is loopback.
    let port = base.rsplit(':').next().unwrap();
    let n = Notifiers::new(
        &[hook(
            &format!("http://localhost:{port}/"),
            None,
            &[],
            "json",
        )],
        "ua",
        false,
    )
    .unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    assert!(err.message.contains("loopback"), "{}", err.message);
    assert!(rx.seen().is_empty(), "nothing may reach the receiver");
}

#[tokio::test]
async fn errors_never_show_the_url_path_or_the_secret() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s");
    // base64 of "hush-hush-secret"
    std::fs::write(&secret, "whsec_aHVzaC1odXNoLXNlY3JldA").unwrap();
    let url = format!("http://127.0.0.1:{port}/services/T000/B000/XXXXtokenXXXX?sig=abc");
    let n = Notifiers::new(
        &[hook(
            &url,
            Some(secret),
            &[("X-Token", "hdr-secret")],
            "slack",
        )],
        "ua",
        true,
    )
    .unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    for secret in ["XXXXtoken", "sig=abc", "aHVzaC1odXNo", "hdr-secret"] {
        assert!(
            !err.message.contains(secret),
            "{secret} leaked: {}",
            err.message
        );
    }
    assert!(
        err.message.contains(&format!("127.0.0.1:{port}")),
        "{}",
        err.message
    );

    let (rx, base) = start_receiver().await;
    rx.answer(404);
    let n = Notifiers::new(
        &[hook(
            &format!("{base}/secret-path-token"),
            None,
            &[],
            "json",
        )],
        "ua",
        true,
    )
    .unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(
        !err.message.contains("secret-path-token"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_missing_secret_file_is_reported_and_nothing_is_sent_unsigned() {
    let (rx, base) = start_receiver().await;
    let n = Notifiers::new(
        &[hook(
            &base,
            Some("/nonexistent/feedwatch/hook.secret".into()),
            &[],
            "json",
        )],
        "ua",
        true,
    )
    .unwrap();
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(err.message.contains("secret_file"), "{}", err.message);
    assert!(rx.seen().is_empty());
}

#[tokio::test]
async fn slack_discord_and_ntfy_presets_reach_the_receiver_in_their_shapes() {
    let (rx, base) = start_receiver().await;
    let n = Notifiers::new(
        &[
            NotifierConfig {
                name: "slack".into(),
                ..hook(&format!("{base}/slack"), None, &[], "slack")
            },
            NotifierConfig {
                name: "discord".into(),
                ..hook(&format!("{base}/discord"), None, &[], "discord")
            },
            NotifierConfig {
                name: "ntfy".into(),
                ..hook(&format!("{base}/ntfy"), None, &[], "ntfy")
            },
        ],
        "ua",
        true,
    )
    .unwrap();
    for name in ["slack", "discord", "ntfy"] {
        n.send(name, &sample()).await.unwrap();
    }
    let seen = rx.seen();
    let slack: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .contains("<https://wire.example/a|Troops leave Basra>")
    );
    let discord: serde_json::Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert!(
        discord["content"]
            .as_str()
            .unwrap()
            .contains("[Troops leave Basra](<https://wire.example/a>)")
    );
    let ntfy = &seen[2];
    assert!(header(ntfy, "content-type").starts_with("text/plain"));
    assert_eq!(header(ntfy, "title"), "[feedwatch] iraq-troops");
    assert_eq!(header(ntfy, "click"), "https://wire.example/a");
    assert!(
        String::from_utf8_lossy(&ntfy.body)
            .starts_with("Troops leave Basra\nhttps://wire.example/a")
    );
}

#[tokio::test]
async fn a_307_on_the_same_host_is_followed_with_the_body_but_a_302_is_not() {
    let (rx, base) = start_receiver().await;
    rx.redirect(307, &format!("{base}/moved"));
    let n = Notifiers::new(
        &[hook(&format!("{base}/old"), None, &[], "json")],
        "ua",
        true,
    )
    .unwrap();
    n.send("hook", &sample()).await.unwrap();
    let seen = rx.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path, "/moved");
    assert_eq!(seen[1].body, seen[0].body, "the JSON is posted again");

    rx.redirect(302, &format!("{base}/elsewhere"));
    let err = n.send("hook", &sample()).await.unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("302"), "{}", err.message);
    assert_eq!(rx.seen().len(), 3, "the 302 is not followed");
}

#[tokio::test]
async fn unknown_formats_and_bad_headers_are_refused_at_start() {
    let err = Notifiers::new(
        &[hook("https://hooks.example.org/", None, &[], "teams")],
        "ua",
        false,
    )
    .err()
    .unwrap();
    assert!(err.message.contains("teams"), "{}", err.message);
    let err = Notifiers::new(
        &[hook(
            "https://hooks.example.org/",
            None,
            &[("X-Bad", "line\nbreak")],
            "json",
        )],
        "ua",
        false,
    )
    .err()
    .unwrap();
    assert!(
        err.message.contains("X-Bad") && !err.message.contains("break"),
        "{}",
        err.message
    );
    let err = Notifiers::new(
        &[hook(
            "https://hooks.example.org/",
            None,
            &[("webhook-id", "x")],
            "json",
        )],
        "ua",
        false,
    )
    .err()
    .unwrap();
    assert!(err.message.contains("webhook-id"), "{}", err.message);
}

#[tokio::test]
async fn the_client_itself_refuses_a_name_that_resolves_to_loopback() {
    // The check that also covers redirects and DNS answers that change after the pre-check.
    let (rx, base) = start_receiver().await;
    let port = base.rsplit(':').next().unwrap();
    let client = super::build_client("ua", false).unwrap();
    let err = client
        .post(format!("http://localhost:{port}/"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    let mut chain = err.to_string();
    let mut src = std::error::Error::source(&err);
    while let Some(s) = src {
        chain.push_str(&s.to_string());
        src = s.source();
    }
    assert!(chain.contains("allow_private_addresses"), "{chain}");
    assert!(rx.seen().is_empty());
}
