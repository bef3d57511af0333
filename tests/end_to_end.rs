//! The whole daemon against real loopback servers: two feeds (RSS and Atom) with article pages,
//! a webhook receiver that fails first, and a real SMTP server.

mod support;

use std::path::Path;

use base64::Engine;
use hmac::{KeyInit, Mac};
use support::*;

const QUERY: &str = r#"iraq AND (troops OR "coalition forces") NOT sport"#;

fn write_config(dir: &Path, base: &str, hook: &str, smtp_port: u16) -> std::path::PathBuf {
    let secret = dir.join("hook.secret");
    // Standard Webhooks form: whsec_ and the base64 of the key bytes (b"s3cret-key").
    std::fs::write(&secret, "whsec_czNjcmV0LWtleQ==\n").unwrap();
    let config = format!(
        r#"
[daemon]
database = "{db}"
allow_private_addresses = true
user_agent = "feedwatch-test/1"
fetch_timeout = "5s"

[defaults]
alert_backlog = true

[[feed]]
name = "TOME"
url = "{base}/tome/rss.xml"
tags = ["world"]

[[feed]]
name = "Daily Wire Service"
url = "{base}/wire/atom.xml"

[[topic]]
name = "iraq-troops"
query = '{QUERY}'
notify = ["hook", "mail"]

[[notifier]]
name = "hook"
type = "webhook"
url = "{hook}"
secret_file = "{secret}"

[[notifier]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "feedwatch@example.org"
to = ["me@example.org"]
"#,
        db = support::database(dir),
        secret = secret.display(),
    );
    let path = dir.join("feedwatch.toml");
    std::fs::write(&path, config).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_stores_every_story_alerts_once_per_match_and_retries_a_failed_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve_news(&base, &site);
    let hook = webhook_receiver(vec![500, 200]).await;
    let smtp = SmtpServer::start(dir.path());
    let config = write_config(dir.path(), &base, &hook.url, smtp.port);

    let check = feedwatch(&config, &["check"]).await;
    assert!(check.status.success(), "check: {}", text(&check.stderr));

    // First pass: every story stored, one alert per notifier; the webhook answers 500.
    let first = feedwatch(&config, &["once"]).await;
    assert!(
        first.status.success(),
        "once failed: {}",
        text(&first.stderr)
    );
    let out = text(&first.stdout);
    assert!(
        out.contains("1 delivered, 1 to retry"),
        "stdout: {out}\nstderr: {}",
        text(&first.stderr)
    );

    let stories = feedwatch(&config, &["stories", "--json"]).await;
    let lines: Vec<serde_json::Value> = text(&stories.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "the Iraq story (two outlets) and the bakery story: {lines:#?}"
    );
    let iraq = lines
        .iter()
        .find(|s| s["title"].as_str().unwrap().contains("Iraq"))
        .unwrap();
    let also_at = iraq["also_at"].as_array().unwrap();
    assert_eq!(
        also_at.len(),
        1,
        "the two outlets' copies are one story: {iraq}"
    );
    // Both feeds are polled at once, so either outlet may be the one the story is filed under.
    let outlets = [
        iraq["url"].as_str().unwrap(),
        also_at[0]["url"].as_str().unwrap(),
    ];
    assert!(outlets.iter().any(|u| u.contains("tome")), "{outlets:?}");
    assert!(
        outlets.iter().any(|u| u.ends_with("/wire/iraq-troops")),
        "{outlets:?}"
    );
    assert_eq!(iraq["topics"], serde_json::json!(["iraq-troops"]));

    let mails = smtp.messages();
    assert_eq!(mails.len(), 1, "one mail for the one matched story");
    assert!(
        mails[0].contains("Subject: [feedwatch] iraq-troops:"),
        "{}",
        mails[0]
    );
    assert_eq!(hook.received.lock().unwrap().len(), 1);

    // Second pass: feeds answer 304 to the conditional requests; the webhook now accepts the
    // retry, which carries the same webhook-id.
    let second = feedwatch(&config, &["once"]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        text(&second.stdout).contains("1 delivered, 0 to retry"),
        "{}",
        text(&second.stdout)
    );
    for feed in ["/tome/rss.xml", "/wire/atom.xml"] {
        let seen = site.requests_to(feed);
        assert_eq!(seen.len(), 2);
        assert!(
            seen[1].headers.contains_key("if-none-match"),
            "second poll of {feed} must be conditional"
        );
    }
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    let id = |i: usize| {
        received[i]
            .0
            .get("webhook-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(id(0), id(1), "a retry reuses the webhook-id");

    // The delivered request is signed the Standard Webhooks way and holds the story.
    let (headers, body) = &received[1];
    let ts = headers.get("webhook-timestamp").unwrap().to_str().unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret-key").unwrap();
    mac.update(format!("{}.{ts}.{body}", id(1)).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    let signature = headers.get("webhook-signature").unwrap().to_str().unwrap();
    assert!(
        signature.split(' ').any(|s| s == expected),
        "{signature} != {expected}"
    );
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["type"], "topic.match");
    assert_eq!(payload["topic"], "iraq-troops");
    let story = &payload["stories"][0];
    assert_eq!(
        story["also_at"].as_array().unwrap().len(),
        1,
        "the other outlet: {payload}"
    );
    assert!(
        story["matched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "iraq"),
        "{payload}"
    );

    // Third pass: nothing new, nothing sent again.
    let third = feedwatch(&config, &["once"]).await;
    assert!(third.status.success());
    assert_eq!(hook.received.lock().unwrap().len(), 2);
    assert_eq!(smtp.messages().len(), 1);

    let feeds = feedwatch(&config, &["feeds"]).await;
    let table = text(&feeds.stdout);
    assert!(
        table.contains("TOME") && table.contains("not-modified"),
        "{table}"
    );
}
