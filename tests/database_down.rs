//! PostgreSQL going away under a running daemon: the daemon keeps running, polls nothing, says
//! why (in the log and on `/healthz`), and when the database is back resumes with nothing lost.
//! A test binary of its own, since it stops its cluster.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

fn rss_with(base: &str, n: usize) -> Vec<u8> {
    let items: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            (
                format!("s{i}"),
                format!("Iraq troops story {i}"),
                format!("{base}/s{i}"),
            )
        })
        .collect();
    rss_owned("Feed", &items)
}

/// The daemon, killed if the test ends early (a failed assertion must not leave it running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn health(port: u16) -> (u16, String) {
    match reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_waits_out_a_postgres_outage_and_then_alerts_what_came_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss_with(&base, 1),
            etag: None,
        },
    );
    let hook = webhook_receiver(vec![200]).await;
    let port = free_port();
    let db = database_on(Backend::Postgres, dir.path());
    let config = dir.path().join("feedwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{db}\"\nallow_private_addresses = true\nlisten = \"127.0.0.1:{port}\"\n\n\
             [defaults]\nschedule = \"*/2 * * * * *\"\nfull_article = false\nalert_backlog = true\n\n\
             [[feed]]\nname = \"F\"\nurl = \"{base}/feed.xml\"\n\n\
             [[topic]]\nname = \"iraq\"\nquery = \"iraq troops\"\nnotify = [\"hook\"]\n\n\
             [[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n",
            hook.url
        ),
    )
    .unwrap();
    let log_path = dir.path().join("daemon.log");
    let mut daemon = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    eventually(30, "the first alert", || {
        hook.received.lock().unwrap().len() == 1
    })
    .await;
    assert_eq!(health(port).await.0, 200);

    postgres::cluster().stop();
    // A story published during the outage.
    site.route(
        "/feed.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss_with(&base, 2),
            etag: None,
        },
    );
    let mut said = (0, String::new());
    for _ in 0..100 {
        said = health(port).await;
        if said.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(said.0, 503, "{said:?}");
    assert!(said.1.contains("database"), "{said:?}");
    let fetches_when_down = site.requests_to("/feed.xml").len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        daemon.0.try_wait().unwrap().is_none(),
        "the daemon keeps running"
    );
    assert_eq!(
        site.requests_to("/feed.xml").len(),
        fetches_when_down,
        "nothing is polled while nothing can be recorded"
    );
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert_eq!(
        log.matches("the database does not answer").count(),
        1,
        "said once (a minute), not once per feed or per try:\n{log}"
    );

    postgres::cluster().start_again();
    eventually(60, "the story published during the outage alerted", || {
        hook.received.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(health(port).await.0, 200);
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(log.contains("polling resumes"), "{log}");
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.0.id().to_string()])
        .status();
    let _ = daemon.0.wait();
    // Each alert once, each under its own id.
    let ids: std::collections::HashSet<String> = hook
        .received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(h, _)| h.get("webhook-id")?.to_str().ok().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 2);
}
