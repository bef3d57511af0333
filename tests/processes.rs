//! Several feedwatch processes on one database keep every promise of one: each feed fetched
//! once per due period, each alert sent once (a repeat only after a process died mid-send, and
//! then under the same id). Real binaries, real servers, the backend of the run
//! (`FEEDWATCH_TEST_BACKEND`).

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

/// Feeds served, each with stories matching the topic; and one more outlet carrying the
/// fixture story that a first outlet carries too.
const FEEDS: usize = 12;
const MATCHING_PER_FEED: usize = 2;

fn serve(site: &Site, base: &str) {
    for f in 0..FEEDS {
        let items: Vec<(String, String, String)> = (0..MATCHING_PER_FEED)
            .map(|i| {
                (
                    format!("f{f}-s{i}"),
                    format!("Iraq troops report {i} from desk {f}"),
                    format!("{base}/f{f}/s{i}"),
                )
            })
            .chain(std::iter::once((
                format!("f{f}-other"),
                format!("Weather for region {f}"),
                format!("{base}/f{f}/weather"),
            )))
            .collect();
        site.route(
            &format!("/f{f}.xml"),
            Route::Body {
                content_type: "application/rss+xml",
                body: rss_owned(&format!("Desk {f}"), &items),
                etag: Some(format!("\"f{f}\"")),
            },
        );
    }
}

/// Writes `feedwatch.toml` and, for each of three processes, `pN.toml`: the same but for the
/// user agent (`feedwatch-test/pN`), so the servers can tell which process asked.
fn write_config(dir: &Path, base: &str, hook: &str, smtp_port: u16, lease: &str) -> PathBuf {
    let main = write_one(
        dir,
        "feedwatch.toml",
        "feedwatch-test",
        base,
        hook,
        smtp_port,
        lease,
    );
    for n in 0..3 {
        write_one(
            dir,
            &format!("p{n}.toml"),
            &format!("feedwatch-test/p{n}"),
            base,
            hook,
            smtp_port,
            lease,
        );
    }
    main
}

fn write_one(
    dir: &Path,
    name: &str,
    agent: &str,
    base: &str,
    hook: &str,
    smtp_port: u16,
    lease: &str,
) -> PathBuf {
    let mut feeds = String::new();
    for f in 0..FEEDS {
        feeds.push_str(&format!(
            "[[feed]]\nname = \"Desk {f}\"\nurl = \"{base}/f{f}.xml\"\n\n"
        ));
    }
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"
[daemon]
database = "{db}"
allow_private_addresses = true
lease = "{lease}"
user_agent = "{agent}"

[defaults]
interval = "1h"
full_article = false
alert_backlog = true

{feeds}
[[topic]]
name = "iraq"
query = "iraq troops"
notify = ["hook", "mail"]

[[notifier]]
name = "hook"
type = "webhook"
url = "{hook}"

[[notifier]]
name = "mail"
type = "email"
smtp_url = "smtp://127.0.0.1:{smtp_port}"
from = "feedwatch@example.org"
to = ["me@example.org"]
"#,
            db = support::database(dir)
        ),
    )
    .unwrap();
    path
}

/// How many times each webhook-id arrived.
fn webhook_ids(hook: &Receiver) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for (headers, _) in hook.received.lock().unwrap().iter() {
        let id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        *ids.entry(id).or_default() += 1;
    }
    ids
}

/// How many times each Message-ID arrived.
fn message_ids(smtp: &SmtpServer) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for m in smtp.messages() {
        let id = m
            .lines()
            .find_map(|l| {
                l.strip_prefix("Message-ID:")
                    .or_else(|| l.strip_prefix("Message-Id:"))
            })
            .unwrap_or("")
            .trim()
            .to_string();
        *ids.entry(id).or_default() += 1;
    }
    ids
}

/// Requests per feed path.
fn feed_fetches(site: &Site) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for s in site.seen.lock().unwrap().iter() {
        if s.path.ends_with(".xml") {
            *n.entry(s.path.clone()).or_default() += 1;
        }
    }
    n
}

/// Starts process `n` (its own `pN.toml`, its log in `pN.log`).
fn spawn(config: &Path, command: &str, n: usize) -> Child {
    let log = std::fs::File::create(config.with_file_name(format!("p{n}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(config.with_file_name(format!("p{n}.toml")))
        .arg(command)
        .env("RUST_LOG", "warn")
        .env_remove("FEEDWATCH_CONFIG")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn logs(dir: &Path) -> String {
    let mut out = String::new();
    for n in 0..3 {
        out.push_str(&std::fs::read_to_string(dir.join(format!("p{n}.log"))).unwrap_or_default());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_once_started_together_fetch_each_feed_once_and_send_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve(&site, &base);
    let hook = webhook_receiver(vec![200]).await;
    let smtp = SmtpServer::start(dir.path());
    let config = write_config(dir.path(), &base, &hook.url, smtp.port, "1m");

    let children: Vec<Child> = (0..3).map(|n| spawn(&config, "once", n)).collect();
    let config2 = config.clone();
    let statuses = tokio::task::spawn_blocking(move || {
        let _ = &config2;
        children
            .into_iter()
            .map(|mut c| c.wait().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert!(
        statuses.iter().all(|s| s.success()),
        "{statuses:?}\n{}",
        logs(dir.path())
    );

    let fetches = feed_fetches(&site);
    assert_eq!(fetches.len(), FEEDS, "{fetches:?}");
    assert!(
        fetches.values().all(|n| *n == 1),
        "each feed fetched once: {fetches:?}"
    );
    let expected = FEEDS * MATCHING_PER_FEED;
    let hooks = webhook_ids(&hook);
    assert_eq!(hooks.len(), expected, "{hooks:?}");
    assert!(
        hooks.values().all(|n| *n == 1),
        "each webhook-id once: {hooks:?}"
    );
    let mails = message_ids(&smtp);
    assert_eq!(mails.len(), expected, "{mails:?}");
    assert!(
        mails.values().all(|n| *n == 1),
        "each Message-ID once: {mails:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_one_killed_with_sigkill_deliver_every_alert_and_repeat_only_in_flight_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve(&site, &base);
    // A slow receiver, so a process is killed with a delivery in flight.
    let hook = slow_webhook_receiver(vec![200], Duration::from_millis(300)).await;
    let smtp = SmtpServer::start(dir.path());
    let config = write_config(dir.path(), &base, &hook.url, smtp.port, "4s");
    // The schema is in place before the daemons start, as after an upgrade.
    assert!(feedwatch(&config, &["check"]).await.status.success());

    let mut children: Vec<Child> = (0..3).map(|n| spawn(&config, "run", n)).collect();
    let expected = FEEDS * MATCHING_PER_FEED;
    eventually(30, "a first delivery", || {
        !hook.received.lock().unwrap().is_empty()
    })
    .await;
    // The first daemon dies without a word, whatever it held.
    let mut killed = children.remove(0);
    killed.kill().unwrap();
    let _ = killed.wait();

    eventually(60, "every alert delivered by the others", || {
        webhook_ids(&hook).len() == expected && message_ids(&smtp).len() == expected
    })
    .await;
    // Long enough for any lease of the killed daemon to run out and a repeat to show.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for c in children {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let mut c = c;
        let _ = c.wait();
    }

    // Every feed fetched once in its period, except one the killed daemon was polling when it
    // died: that one is polled again by another daemon once the lease expires.
    let mut by_feed: HashMap<String, Vec<String>> = HashMap::new();
    for s in site.seen.lock().unwrap().iter() {
        if s.path.ends_with(".xml") {
            let agent = s
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            by_feed.entry(s.path.clone()).or_default().push(agent);
        }
    }
    assert_eq!(by_feed.len(), FEEDS, "{by_feed:?}");
    for (feed, agents) in &by_feed {
        assert!(
            agents.len() == 1 || (agents.len() == 2 && agents[0] == "feedwatch-test/p0"),
            "{feed} fetched again though the first fetch was not the killed daemon's: {agents:?}\n{}",
            logs(dir.path())
        );
    }
    // The killed daemon sent one alert at a time: at most that one (a webhook or a mail)
    // arrives again, under the same id, and only from a daemon taking over its work.
    let hooks = webhook_ids(&hook);
    assert_eq!(hooks.len(), expected, "{hooks:?}");
    let mails = message_ids(&smtp);
    assert_eq!(mails.len(), expected, "{mails:?}");
    let repeats: Vec<_> = hooks
        .iter()
        .chain(mails.iter())
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(
        repeats.len() <= 1 && repeats.iter().all(|(_, n)| **n == 2),
        "only the alert in flight at the kill may repeat: {repeats:?}"
    );
    let first_senders: Vec<String> = hook
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|(h, _)| {
            repeats
                .iter()
                .any(|(id, _)| h.get("webhook-id").is_some_and(|v| v == id.as_str()))
        })
        .map(|(h, _)| {
            h.get("user-agent")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        })
        .take(1)
        .collect();
    assert!(
        first_senders.iter().all(|a| a == "feedwatch-test/p0"),
        "a repeated webhook was first sent by the killed daemon: {first_senders:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_for_a_feed_another_process_is_polling_says_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    serve(&site, &base);
    // The page never answers: the daemon's poll holds the feed's lease.
    site.route("/f0.xml", Route::Hang);
    let hook = webhook_receiver(vec![200]).await;
    let smtp = SmtpServer::start(dir.path());
    let config = write_config(dir.path(), &base, &hook.url, smtp.port, "1m");
    assert!(feedwatch(&config, &["check"]).await.status.success());
    let mut daemon = spawn(&config, "run", 0);
    eventually(20, "the daemon asking for the hanging feed", || {
        !site.requests_to("/f0.xml").is_empty()
    })
    .await;
    let out = feedwatch(&config, &["once", "--feed", "Desk 0"]).await;
    let listed = text(&feedwatch(&config, &["feeds"]).await.stdout);
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("Desk 0") && err.contains("being polled by") && err.contains(':'),
        "{err}"
    );
    assert_eq!(
        site.requests_to("/f0.xml").len(),
        1,
        "`once` did not fetch the feed the daemon holds"
    );
    // `feeds` shows which process holds it.
    let held = format!(":{}:", daemon.id());
    assert!(
        listed.contains("being polled by") && listed.contains(&held),
        "{listed}"
    );
}
