//! Delivery that survives failures: a mail server that comes up late, a daemon killed with
//! SIGKILL mid-delivery, and digest topics. All against the real binary and real servers.

mod support;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

/// Starts the daemon; its log goes beside the config (`daemon_log` reads it), for a failing
/// test to show.
fn start(config: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_extension("log"))
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn daemon_log(config: &Path) -> String {
    std::fs::read_to_string(config.with_extension("log")).unwrap_or_default()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..150 {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A feed of `n` stories that all match the topic "iraq".
fn serve_matching(site: &Site, base: &str, n: usize) {
    let items: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            (
                format!("s{i}"),
                format!("Iraq troops story number {i}"),
                format!("{base}/s{i}"),
            )
        })
        .collect();
    site.route(
        "/feed.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss_owned("Feed", &items),
            etag: None,
        },
    );
}

fn write_config(dir: &Path, base: &str, topic_extra: &str, notifier: &str) -> PathBuf {
    let path = dir.join("feedwatch.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[daemon]
database = "{db}"
allow_private_addresses = true

[defaults]
interval = "1h"
full_article = false
alert_backlog = true

[[feed]]
name = "F"
url = "{base}/feed.xml"

[[topic]]
name = "iraq"
query = "iraq troops"
notify = ["out"]
{topic_extra}

[[notifier]]
name = "out"
{notifier}
"#,
            db = support::database(dir)
        ),
    )
    .unwrap();
    path
}

/// `n` matching stories in a feed, a webhook receiver answering `statuses` in turn, and a
/// config that sends the topic (with `topic_extra`) to it.
async fn webhook_setup(
    n: usize,
    statuses: Vec<u16>,
    topic_extra: &str,
) -> (tempfile::TempDir, Site, Receiver, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve_matching(&site, &base, n);
    let hook = webhook_receiver(statuses).await;
    let config = write_config(
        dir.path(),
        &base,
        topic_extra,
        &format!("type = \"webhook\"\nurl = \"{}\"", hook.url),
    );
    (dir, site, hook, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_while_the_smtp_server_is_down_arrives_once_when_it_comes_up() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve_matching(&site, &base, 2);
    let port = free_port();
    let config = write_config(
        dir.path(),
        &base,
        "",
        &format!(
            "type = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nfrom = \"fw@example.org\"\nto = [\"me@example.org\"]"
        ),
    );
    let daemon = start(&config);
    // Wait until both alerts have failed at least once (the mail server is down).
    let cfg = config.clone();
    let mut tried = false;
    let mut rows: Vec<serde_json::Value> = Vec::new();
    for _ in 0..300 {
        let out = feedwatch(&cfg, &["alerts", "--json"]).await;
        rows = text(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        if rows.len() == 2
            && rows
                .iter()
                .all(|r| r["attempts"].as_i64().unwrap_or(0) >= 1 && r["state"] == "pending")
        {
            tried = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        tried,
        "both alerts should have been tried and kept pending while SMTP is down: {rows:?}\n{}",
        daemon_log(&config)
    );

    let smtp = SmtpServer::start_on(dir.path(), port);
    eventually(60, "two mails after the server came up", || {
        smtp.messages().len() >= 2
    })
    .await;
    stop(daemon);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "each alert exactly once");
    let ids: HashSet<String> = mails
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(ids.len(), 2, "two different alerts, two Message-IDs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_killed_mid_delivery_delivers_every_alert_after_restart_none_twice_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve_matching(&site, &base, 6);
    let hook = slow_webhook_receiver(vec![200], Duration::from_millis(700)).await;
    let config = write_config(
        dir.path(),
        &base,
        "",
        &format!("type = \"webhook\"\nurl = \"{}\"", hook.url),
    );

    let daemon = start(&config);
    let r = hook.received.clone();
    eventually(30, "the first deliveries", || !r.lock().unwrap().is_empty()).await;
    let mut daemon = daemon;
    daemon.kill().unwrap(); // SIGKILL: no chance to finish anything
    daemon.wait().unwrap();

    let daemon = start(&config);
    let by_id = || {
        let mut m: HashMap<String, String> = HashMap::new();
        for (headers, body) in r.lock().unwrap().iter() {
            let id = headers
                .get("webhook-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            m.insert(id, v["stories"][0]["title"].as_str().unwrap().to_string());
        }
        m
    };
    eventually(60, "all six alerts", || by_id().len() == 6).await;
    stop(daemon);
    let ids = by_id();
    let titles: HashSet<&String> = ids.values().collect();
    assert_eq!(titles.len(), 6, "one distinct id per story: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_topic_sends_its_matches_together_on_its_schedule() {
    let (_dir, _site, hook, config) =
        webhook_setup(3, vec![200], "digest = \"*/3 * * * * *\"").await;
    let daemon = start(&config);
    let r = hook.received.clone();
    let stories = || -> usize {
        r.lock()
            .unwrap()
            .iter()
            .map(|(_, b)| {
                serde_json::from_str::<serde_json::Value>(b).unwrap()["stories"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .sum()
    };
    eventually(30, "a digest holding the three matches", || stories() >= 3).await;
    stop(daemon);
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(stories(), 3);
    // All matches of one poll fall in one tick, except when the tick lands mid-poll.
    assert!(
        received.len() <= 2,
        "{} digest messages for one poll",
        received.len()
    );
    for (_, body) in &received {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["type"], "topic.digest");
        assert_eq!(v["topic"], "iraq");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answering_500_twice_then_200_gets_the_alert_once_with_one_webhook_id() {
    let (_dir, _site, hook, config) = webhook_setup(1, vec![500, 500, 200], "").await;
    for _ in 0..4 {
        let out = feedwatch(&config, &["once"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        3,
        "two failures, one delivery, then nothing more"
    );
    let ids: HashSet<&str> = received
        .iter()
        .map(|(h, _)| h.get("webhook-id").unwrap().to_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "every try carries the same webhook-id");
    let log = text(&feedwatch(&config, &["alerts"]).await.stdout);
    assert!(
        log.contains("delivered") && log.contains("tries  3"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_feed_raises_one_feed_gone_event_for_notifiers_that_ask() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::Status {
            status: 410,
            retry_after: None,
        },
    );
    let hook = webhook_receiver(vec![200]).await;
    let config = write_config(
        dir.path(),
        &base,
        "",
        &format!(
            "type = \"webhook\"\nurl = \"{}\"\nevents = [\"feed.gone\"]",
            hook.url
        ),
    );
    // The first pass finds the feed gone (exit 1: a feed failed); the second skips it.
    let codes = [Some(1), Some(0)];
    for code in codes {
        assert_eq!(feedwatch(&config, &["once"]).await.status.code(), code);
    }
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "one event, not one per run");
    let v: serde_json::Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(v["type"], "feed.gone");
    assert_eq!(v["topic"], "F");
    assert!(
        v["stories"][0]["title"].as_str().unwrap().contains("410"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_in_a_topics_quiet_hours_are_held_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve_matching(&site, &base, 1);
    let hook = webhook_receiver(vec![200]).await;
    let now = chrono::Local::now();
    let window = format!(
        "quiet_hours = \"{}-{}\"",
        (now - chrono::Duration::hours(1)).format("%H:%M"),
        (now + chrono::Duration::hours(1)).format("%H:%M")
    );
    let config = write_config(
        dir.path(),
        &base,
        &window,
        &format!("type = \"webhook\"\nurl = \"{}\"", hook.url),
    );
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert!(
        hook.received.lock().unwrap().is_empty(),
        "nothing is sent in quiet hours"
    );
    let out = feedwatch(&config, &["alerts", "--json"]).await;
    let row: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(row["state"], "pending");
    assert_eq!(row["attempts"], 0, "holding is not a failed try");
    let due = row["next_attempt_at"].as_i64().unwrap();
    let end = (now + chrono::Duration::hours(1)).timestamp();
    assert!(
        (due - end).abs() <= 60,
        "held until the window ends: {due} vs {end}"
    );
}

/// Notifier config for a webhook that asks for feed-health events.
fn event_hook(url: &str) -> String {
    format!("type = \"webhook\"\nurl = \"{url}\"\nevents = [\"feed.failing\", \"feed.moved\"]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_never_worked_raises_one_feed_failing_event_per_streak() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::Status {
            status: 500,
            retry_after: None,
        },
    );
    let hook = webhook_receiver(vec![200]).await;
    let config = write_config(dir.path(), &base, "", &event_hook(&hook.url));
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of.replace(
            "allow_private_addresses = true",
            "allow_private_addresses = true\nfeed_failing_after = \"0s\"",
        ),
    )
    .unwrap();
    for _ in 0..3 {
        // A pass in which a feed failed exits 1.
        assert_eq!(feedwatch(&config, &["once"]).await.status.code(), Some(1));
    }
    assert_eq!(site.requests_to("/feed.xml").len(), 3);
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        1,
        "one event for the streak, not one per poll"
    );
    let v: serde_json::Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(v["type"], "feed.failing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_moved_while_unchanged_is_polled_at_its_new_address() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let feed = Route::Body {
        content_type: "application/rss+xml",
        body: rss(
            "Feed",
            &[("s0", "Iraq troops story", &format!("{base}/s0"))],
        ),
        etag: Some("\"v1\"".into()),
    };
    site.route("/feed.xml", feed.clone());
    let hook = webhook_receiver(vec![200, 200]).await;
    let config = write_config(dir.path(), &base, "", &event_hook(&hook.url));
    assert!(feedwatch(&config, &["once"]).await.status.success());
    // The feed moves; its new address answers the stored ETag with 304.
    site.route(
        "/feed.xml",
        Route::Redirect {
            status: 301,
            to: format!("{base}/new.xml"),
        },
    );
    site.route("/new.xml", feed);
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert_eq!(
        site.requests_to("/feed.xml").len(),
        2,
        "the old address is left"
    );
    let new = site.requests_to("/new.xml");
    assert_eq!(new.len(), 2);
    assert!(new.iter().all(|s| s.headers.contains_key("if-none-match")));
    let received = hook.received.lock().unwrap().clone();
    let moved: Vec<_> = received
        .iter()
        .filter(|(_, body)| body.contains("feed.moved"))
        .collect();
    assert_eq!(moved.len(), 1, "{received:?}");
}

/// The outbox as `feedwatch alerts --json` shows it.
async fn outbox(config: &Path) -> Vec<serde_json::Value> {
    let out = feedwatch(config, &["alerts", "--json"]).await;
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_alert_is_given_up_visibly_and_alerts_retry_sends_it_once_more() {
    // 400 is the receiver refusing the request: retrying it unchanged would not help.
    let (_dir, _site, hook, config) = webhook_setup(1, vec![400, 200], "").await;
    assert!(feedwatch(&config, &["once"]).await.status.success());
    let rows = outbox(&config).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "failed", "{rows:?}");
    assert!(
        rows[0]["last_error"].as_str().unwrap_or("").contains("400"),
        "{rows:?}"
    );
    // A second pass leaves a given-up alert alone.
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert_eq!(hook.received.lock().unwrap().len(), 1);

    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let out = feedwatch(&config, &["alerts", "retry", &id]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert!(feedwatch(&config, &["once"]).await.status.success());
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "sent once more, and only once");
    assert!(received[0].0.get("webhook-id").is_some());
    assert_eq!(
        received[0].0.get("webhook-id"),
        received[1].0.get("webhook-id"),
        "the retry is the same alert to the receiver"
    );
    assert_eq!(outbox(&config).await[0]["state"], "delivered");
    // An alert that does not exist is a user error, named.
    let out = feedwatch(&config, &["alerts", "retry", "999"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("999"), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_sends_one_test_alert_and_names_a_failing_or_unknown_notifier() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _site) = http_server().await;
    let hook = webhook_receiver(vec![200, 500]).await;
    let config = write_config(
        dir.path(),
        &base,
        "",
        &format!("type = \"webhook\"\nurl = \"{}\"", hook.url),
    );
    let out = feedwatch(&config, &["notify", "test", "out"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    {
        let received = hook.received.lock().unwrap();
        assert_eq!(received.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&received[0].1).unwrap();
        assert_eq!(v["type"], "test");
    }
    // The receiver now answers 500: the command says so and fails.
    let out = feedwatch(&config, &["notify", "test", "out"]).await;
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("500"), "{}", text(&out.stderr));
    let out = feedwatch(&config, &["notify", "test", "nobody"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("\"nobody\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_matches_an_items_own_category_in_alerts_and_in_search() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let body = String::from_utf8(rss(
        "Feed",
        &[
            ("p1", "Iraq troops vote", &format!("{base}/p1")),
            ("s1", "Iraq troops match report", &format!("{base}/s1")),
        ],
    ))
    .unwrap()
    .replace("p1</guid>", "p1</guid><category>Politics</category>")
    .replace("s1</guid>", "s1</guid><category>Sport</category>");
    site.route(
        "/feed.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: body.into_bytes(),
            etag: None,
        },
    );
    let hook = webhook_receiver(vec![200]).await;
    let config = write_config(
        dir.path(),
        &base,
        "",
        &format!("type = \"webhook\"\nurl = \"{}\"", hook.url),
    );
    let text_of = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text_of.replace("query = \"iraq troops\"", "query = \"iraq tag:politics\""),
    )
    .unwrap();
    assert!(feedwatch(&config, &["once"]).await.status.success());
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "only the item in Politics alerts");
    assert!(
        received[0].1.contains("Iraq troops vote"),
        "{}",
        received[0].1
    );
    let out = feedwatch(&config, &["search", "tag:politics"]).await;
    let found = text(&out.stdout);
    assert!(found.contains("Iraq troops vote"), "{found}");
    assert!(!found.contains("match report"), "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_failing_for_longer_than_give_up_after_is_given_up_and_stays_listed() {
    let (dir, _site, hook, config) = webhook_setup(1, vec![500], "").await;
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert_eq!(
        outbox(&config).await[0]["state"],
        "pending",
        "a 500 is retried"
    );
    // Two days pass (the default give_up_after is 48 h): the alert was queued 49 hours ago.
    support::run_sql(
        dir.path(),
        "UPDATE outbox SET created_at = created_at - 49 * 3600",
    );
    assert!(feedwatch(&config, &["once"]).await.status.success());
    let rows = outbox(&config).await;
    assert_eq!(rows[0]["state"], "failed", "{rows:?}");
    assert!(
        rows[0]["last_error"].as_str().unwrap_or("").contains("500"),
        "{rows:?}"
    );
    // Given up: never sent again, still in the delivery log.
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert_eq!(hook.received.lock().unwrap().len(), 2);
    let log = text(&feedwatch(&config, &["alerts"]).await.stdout);
    assert!(log.contains("failed"), "{log}");
}
