//! `feedwatch run` as systemd runs it: serves health and metrics, polls, alerts, reloads its
//! config on SIGHUP and stops cleanly on SIGTERM.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

/// Writes `feedwatch.toml` in `dir`: its database beside it, loopback allowed, hourly polls
/// without article fetches, `/healthz` on `listen` when given, then `rest` (feeds, topics,
/// notifiers).
fn write_config(dir: &Path, listen: Option<u16>, rest: &str) -> PathBuf {
    let path = dir.join("feedwatch.toml");
    let listen = listen.map_or(String::new(), |p| format!("listen = \"127.0.0.1:{p}\"\n"));
    std::fs::write(
        &path,
        format!(
            "[daemon]\ndatabase = \"{db}\"\nallow_private_addresses = true\n{listen}\n\
             [defaults]\ninterval = \"1h\"\nfull_article = false\nalert_backlog = true\n\n{rest}",
            db = support::database(dir),
        ),
    )
    .unwrap();
    path
}

/// `feedwatch run` on `config`, with `env` added, its output discarded.
fn run_daemon(config: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedwatch"));
    cmd.arg("--config")
        .arg(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Sends SIGTERM and waits at most `secs` for the daemon to exit; panics if it does not.
async fn terminate_within(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    signal(child, "-TERM");
    for _ in 0..secs * 10 {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("feedwatch run was still running {secs} s after SIGTERM");
}

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
    let config = write_config(
        dir.path(),
        Some(listen),
        &format!(
            "[[feed]]\nname = \"A\"\nurl = \"{base}/a.xml\"\n\n\
             [[topic]]\nname = \"iraq\"\nquery = \"iraq troops\"\nnotify = [\"hook\"]\n\n\
             [[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook}\"\n",
            hook = hook.url
        ),
    );

    let mut child = run_daemon(&config, &[("RUST_LOG", "info".as_ref())]);

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

    // The receiver records a request before it answers, and the daemon counts a delivery
    // only once the answer is in: read the counters until they settle.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = client
            .get(format!("http://127.0.0.1:{listen}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("feedwatch_alerts_delivered_total 2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.contains("feedwatch_polls_total 2"), "{metrics}");
    assert!(
        metrics.contains("feedwatch_alerts_delivered_total 2"),
        "{metrics}"
    );

    let status = terminate_within(&mut child, 15).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert_eq!(hook.received.lock().unwrap().len(), 2, "nothing sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_systemd_it_says_ready_once_serving_pings_the_watchdog_and_says_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/a.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss("Feed A", &[("a1", "A story", &format!("{base}/a1"))]),
            etag: None,
        },
    );
    let listen = free_port();
    let config = write_config(
        dir.path(),
        Some(listen),
        &format!("[[feed]]\nname = \"A\"\nurl = \"{base}/a.xml\"\n"),
    );
    // systemd's side of the notify protocol: a datagram socket named in NOTIFY_SOCKET.
    let socket_path = dir.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).unwrap();
    let mut child = run_daemon(
        &config,
        &[
            ("NOTIFY_SOCKET", socket_path.as_os_str()),
            ("WATCHDOG_USEC", "400000".as_ref()),
        ],
    );
    let next = || async {
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(20), socket.recv(&mut buf))
            .await
            .expect("a notification within 20 s")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    };
    let mut seen = Vec::new();
    while !seen.iter().any(|m: &String| m.contains("READY=1")) {
        seen.push(next().await);
    }
    // Ready means serving: the health endpoint answers now, without waiting.
    let health = reqwest::get(format!("http://127.0.0.1:{listen}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let mut pings = 0;
    while pings < 2 {
        if next().await.contains("WATCHDOG=1") {
            pings += 1;
        }
    }
    signal(&child, "-TERM");
    let mut stopping = false;
    for _ in 0..20 {
        if next().await.contains("STOPPING=1") {
            stopping = true;
            break;
        }
    }
    assert!(stopping, "STOPPING=1 after SIGTERM");
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_fetch_that_never_answers_exits_cleanly_within_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route("/hang.xml", Route::Hang);
    let config = write_config(
        dir.path(),
        None,
        &format!("[[feed]]\nname = \"H\"\nurl = \"{base}/hang.xml\"\n"),
    );
    let mut child = run_daemon(&config, &[]);
    eventually(20, "the fetch in flight", || {
        !site.requests_to("/hang.xml").is_empty()
    })
    .await;
    let status = terminate_within(&mut child, 10).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

/// The config of the reload test: `feeds` and `topics` are TOML blocks.
fn reload_config(dir: &Path, listen: u16, hook: &str, feeds: &str, topics: &str) {
    write_config(
        dir,
        Some(listen),
        &format!(
            "{feeds}\n{topics}\n[[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook}\"\n"
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_replaces_feeds_and_topics_and_a_broken_one_keeps_the_daemon_running() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    for (path, items) in [
        ("/a.xml", vec![("a1", "Coalition troops leave Iraq base")]),
        (
            "/c.xml",
            vec![
                ("c1", "Trade talks resume in Geneva"),
                ("c2", "Iraq troops return home"),
            ],
        ),
    ] {
        let items: Vec<(String, String, String)> = items
            .into_iter()
            .map(|(g, t)| (g.to_string(), t.to_string(), format!("{base}/{g}")))
            .collect();
        site.route(
            path,
            Route::Body {
                content_type: "application/rss+xml",
                body: rss_owned("Feed", &items),
                etag: None,
            },
        );
    }
    let hook = webhook_receiver(vec![200]).await;
    let listen = free_port();
    let iraq = "[[topic]]\nname = \"iraq\"\nquery = \"iraq troops\"\nnotify = [\"hook\"]\n";
    let trade = "[[topic]]\nname = \"trade\"\nquery = \"trade talks\"\nnotify = [\"hook\"]\n";
    let feed_a = format!("[[feed]]\nname = \"A\"\nurl = \"{base}/a.xml\"\n");
    let feed_c = format!("[[feed]]\nname = \"C\"\nurl = \"{base}/c.xml\"\n");
    reload_config(dir.path(), listen, &hook.url, &feed_a, iraq);
    let config = dir.path().join("feedwatch.toml");
    let mut child = run_daemon(&config, &[]);
    let r = hook.received.clone();
    eventually(20, "the alert for feed A", || r.lock().unwrap().len() == 1).await;

    // Feed A and topic "iraq" out, feed C and topic "trade" in.
    reload_config(dir.path(), listen, &hook.url, &feed_c, trade);
    signal(&child, "-HUP");
    eventually(20, "the trade alert after reload", || {
        r.lock().unwrap().len() == 2
    })
    .await;
    // C's Iraq story matches no topic now; give a wrong alert the time to show.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let topics: Vec<String> = r
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<serde_json::Value>(body).unwrap()["topic"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(topics, ["iraq", "trade"]);

    // A broken config is refused; the daemon runs on with the last good one.
    std::fs::write(&config, "[daemon]\nnot_a_key = 1\n").unwrap();
    signal(&child, "-HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon exited on a bad reload"
    );
    let health = reqwest::get(format!("http://127.0.0.1:{listen}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let status = terminate_within(&mut child, 15).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_a_query_nested_thousands_deep_is_refused_and_the_daemon_polls_on() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    for (path, title) in [("/a.xml", "Feed A"), ("/b.xml", "Feed B")] {
        site.route(
            path,
            Route::Body {
                content_type: "application/rss+xml",
                body: rss(title, &[("x1", "Iraq troops", &format!("{base}/x1"))]),
                etag: None,
            },
        );
    }
    let listen = free_port();
    let feed = |name: &str| {
        format!(
            "[[feed]]\nname = \"{name}\"\nurl = \"{base}/{}.xml\"\n",
            name.to_lowercase()
        )
    };
    let topic = |query: &str| format!("[[topic]]\nname = \"t\"\nquery = '{query}'\n");
    let config = write_config(
        dir.path(),
        Some(listen),
        &format!("{}{}", feed("A"), topic("iraq")),
    );
    let log_path = dir.path().join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    eventually(20, "the first poll of A", || {
        !site.requests_to("/a.xml").is_empty()
    })
    .await;

    // 4,808 parentheses (9.6 KB): parsing it once overflowed the stack and aborted the daemon.
    let deep = format!("{}iraq{}", "(".repeat(4_808), ")".repeat(4_808));
    write_config(
        dir.path(),
        Some(listen),
        &format!("{}{}{}", feed("A"), feed("B"), topic(&deep)),
    );
    signal(&child, "-HUP");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    eventually(20, "the refused reload in the log", || {
        log().contains("reload refused")
    })
    .await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon died:\n{}",
        log()
    );
    assert!(log().contains("nests deeper than 32 levels"), "{}", log());
    assert!(
        site.requests_to("/b.xml").is_empty(),
        "the refused config was applied"
    );

    // It runs on: the health endpoint answers, and a good config is taken and polled.
    let health = reqwest::get(format!("http://127.0.0.1:{listen}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    write_config(
        dir.path(),
        Some(listen),
        &format!("{}{}{}", feed("A"), feed("B"), topic("iraq")),
    );
    signal(&child, "-HUP");
    eventually(20, "the poll of B after a good reload", || {
        !site.requests_to("/b.xml").is_empty()
    })
    .await;
    let status = terminate_within(&mut child, 15).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
