//! `feedwatch run` as systemd runs it: serves health and metrics, polls, alerts, reloads its
//! config on SIGHUP and stops cleanly on SIGTERM.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_polls_alerts_reloads_on_sighup_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/a.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss(
                "Feed A",
                &[(
                    "a1",
                    "Coalition troops leave Iraq base",
                    &format!("{base}/a1"),
                )],
            ),
            etag: None,
        },
    );
    site.route(
        "/b.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss(
                "Feed B",
                &[("b1", "Iraq troops talks resume", &format!("{base}/b1"))],
            ),
            etag: None,
        },
    );
    let hook = webhook_receiver(vec![200]).await;
    let listen = free_port();
    let config = dir.path().join("feedwatch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[daemon]
database = "{db}"
allow_private_addresses = true
listen = "127.0.0.1:{listen}"

[defaults]
interval = "1h"
full_article = false

[[feed]]
name = "A"
url = "{base}/a.xml"

[[topic]]
name = "iraq"
query = "iraq troops"
notify = ["hook"]

[[notifier]]
name = "hook"
type = "webhook"
url = "{hook}"
"#,
            db = dir.path().join("feedwatch.db").display(),
            hook = hook.url
        ),
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    wait_for_port(listen);
    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://127.0.0.1:{listen}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let r = hook.received.clone();
    eventually(20, "the alert for feed A", || r.lock().unwrap().len() == 1).await;

    // A feed dropped into feeds.d/ is polled after SIGHUP, without a restart.
    std::fs::create_dir(dir.path().join("feeds.d")).unwrap();
    std::fs::write(
        dir.path().join("feeds.d/b.toml"),
        format!("[[feed]]\nname = \"B\"\nurl = \"{base}/b.xml\"\n"),
    )
    .unwrap();
    signal(&child, "-HUP");
    eventually(20, "the alert for feed B after reload", || {
        r.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        site.requests_to("/a.xml").len(),
        1,
        "reload must not re-poll a feed that is not due"
    );

    let metrics = client
        .get(format!("http://127.0.0.1:{listen}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("feedwatch_polls_total 2"), "{metrics}");
    assert!(
        metrics.contains("feedwatch_alerts_delivered_total 2"),
        "{metrics}"
    );

    signal(&child, "-TERM");
    let mut status = None;
    for _ in 0..150 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("feedwatch run did not stop after SIGTERM");
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert_eq!(hook.received.lock().unwrap().len(), 2, "nothing sent twice");
}
