//! What an operator meets, through the real binary (issue 13): the database a command reads,
//! the daemon's first log line, a new feed's backlog, what `check` refuses, exit codes, and the
//! commands that look after feeds and alerts.

mod support;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::*;

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// A config polling `feeds` (name, URL) with one topic "iraq" sent to a webhook.
fn config(dir: &Path, db: &str, hook: &str, defaults: &str, feeds: &[(&str, String)]) -> PathBuf {
    let mut c = format!(
        "[daemon]\ndatabase = \"{db}\"\nallow_private_addresses = true\n\n\
         [defaults]\ninterval = \"1h\"\nfull_article = false\n{defaults}\n"
    );
    for (name, url) in feeds {
        c.push_str(&format!("\n[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    c.push_str(&format!(
        "\n[[topic]]\nname = \"iraq\"\nquery = \"iraq troops\"\nnotify = [\"hook\"]\n\n\
         [[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook}\"\n"
    ));
    write(&dir.join("feedwatch.toml"), &c)
}

#[tokio::test]
async fn read_commands_never_create_a_database_and_name_the_one_they_read() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::rss(rss(
            "F",
            &[("a1", "Harbour reopens", &format!("{base}/a1"))],
        )),
    );
    // The service's database, which this shell has not got.
    let db = dir.path().join("state/feedwatch.db");
    let config = config(
        dir.path(),
        &db.display().to_string(),
        "http://127.0.0.1:9/hook",
        "",
        &[("F", format!("{base}/feed.xml"))],
    );
    for args in [
        &["feeds"][..],
        &["stories"],
        &["alerts"],
        &["search", "harbour"],
        &["feeds", "--json"],
    ] {
        let out = feedwatch(&config, args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("no database at {}", db.display())),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("internal error"), "{stderr}");
        assert!(!db.exists(), "{args:?} created the database");
        assert!(
            !db.parent().unwrap().exists(),
            "{args:?} created its folder"
        );
    }
    // `once` writes: it creates the database; then the read commands say which one they read.
    let once = feedwatch(&config, &["once"]).await;
    assert!(once.status.success(), "{}", text(&once.stderr));
    assert!(db.exists());
    let feeds = feedwatch(&config, &["feeds"]).await;
    assert!(feeds.status.success(), "{}", text(&feeds.stderr));
    assert!(
        text(&feeds.stderr).contains(&format!("database: {}", db.display())),
        "{}",
        text(&feeds.stderr)
    );
    assert!(
        text(&feeds.stdout).contains("ok 200"),
        "{}",
        text(&feeds.stdout)
    );
    // An empty list says it is empty.
    let alerts = feedwatch(&config, &["alerts"]).await;
    assert!(alerts.status.success());
    assert!(
        text(&alerts.stderr).contains("no alerts yet"),
        "{}",
        text(&alerts.stderr)
    );
    // A notifier that cannot be reached is named once, with the address tried.
    let test = feedwatch(&config, &["notify", "test", "hook"]).await;
    let said = text(&test.stderr);
    assert_eq!(test.status.code(), Some(1), "{said}");
    assert_eq!(said.matches("notifier").count(), 1, "{said}");
    assert!(said.contains("127.0.0.1:9"), "{said}");
}

#[tokio::test]
async fn the_daemons_first_log_line_names_version_config_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let config = config(dir.path(), &db, "http://127.0.0.1:9/hook", "", &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("RUST_LOG")
        .env_remove("FEEDWATCH_DATABASE")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stderr).read_line(&mut line);
        line
    })
    .await
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(first.contains("feedwatch starting"), "{first}");
    assert!(
        first.contains(&format!("version={}", env!("CARGO_PKG_VERSION"))),
        "{first}"
    );
    assert!(
        first.contains(&format!("config={}", config.display())),
        "{first}"
    );
    // A PostgreSQL URL is shown as configured, without a password (it has none here).
    assert!(first.contains(&format!("database={db}")), "{first}");
}

#[tokio::test]
async fn a_new_feeds_backlog_is_stored_but_not_alerted_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let old: Vec<(String, String, String)> = (1..=3)
        .map(|i| {
            (
                format!("old{i}"),
                format!("Iraq troops story {i} from 2019"),
                format!("{base}/old{i}"),
            )
        })
        .collect();
    let route = |items: &[(String, String, String)]| Route::rss(rss_owned("Wire", items));
    site.route("/wire.xml", route(&old));
    let hook = webhook_receiver(vec![200]).await;
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        &hook.url,
        "",
        &[("Wire", format!("{base}/wire.xml"))],
    );

    let first = feedwatch(&config, &["once"]).await;
    let stdout = text(&first.stdout);
    let stderr = text(&first.stderr);
    assert!(first.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "Wire: ok, 3 new stories, 0 copies of known stories, 0 alerts queued, 3 kept back"
        ),
        "{stdout}"
    );
    assert!(
        stderr.contains("feed \"Wire\": first poll: 3 items")
            && stderr.contains("alert_backlog = true"),
        "{stderr}"
    );
    let received = hook.received.lock().unwrap().len();
    assert_eq!(received, 0, "the backlog was alerted");
    // Stored and searchable.
    let stories = feedwatch(&config, &["stories"]).await;
    for i in 1..=3 {
        assert!(
            text(&stories.stdout).contains(&format!("Iraq troops story {i} from 2019")),
            "{}",
            text(&stories.stdout)
        );
    }
    assert!(text(&stories.stdout).contains("topics: iraq"));

    // What the feed carries later is alerted.
    let mut newer = old.clone();
    newer.push((
        "new1".into(),
        "Iraq troops leave the base today".into(),
        format!("{base}/new1"),
    ));
    site.route("/wire.xml", route(&newer));
    let second = feedwatch(&config, &["once"]).await;
    assert!(
        text(&second.stdout)
            .contains("Wire: ok, 1 new stories, 0 copies of known stories, 1 alerts queued"),
        "{}",
        text(&second.stdout)
    );
    assert!(!text(&second.stdout).contains("kept back"));
    let bodies: Vec<String> = hook
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        body["stories"][0]["title"],
        "Iraq troops leave the base today"
    );
    // The summary is plain text: no markdown markers around the matched terms.
    let summary = body["stories"][0]["summary"].as_str().unwrap();
    assert!(
        summary.contains("Iraq troops") && !summary.contains('*'),
        "{summary}"
    );
}

#[tokio::test]
async fn once_prints_each_feeds_line_in_name_order_with_its_own_counts_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    // Each feed carries its own number of stories (about different things, so none is a copy
    // of another), so a line printed with another feed's counts shows.
    let subjects = ["harbour cranes", "orchard frost", "library fines"];
    for (n, subject) in subjects.iter().enumerate() {
        let items: Vec<(String, String, String)> = (1..=n + 1)
            .map(|i| {
                (
                    format!("f{n}-{i}"),
                    format!("Report {i} on {subject} in district {n}"),
                    format!("{base}/f{n}/{i}"),
                )
            })
            .collect();
        site.route(
            &format!("/f{n}.xml"),
            Route::rss(rss_owned(&format!("Feed {n}"), &items)),
        );
    }
    let hook = webhook_receiver(vec![200]).await;
    let db = database(dir.path());
    // Configured out of name order; "Delta" is not served (404).
    let config = config(
        dir.path(),
        &db,
        &hook.url,
        "",
        &[
            ("Charlie", format!("{base}/f2.xml")),
            ("Delta", format!("{base}/missing.xml")),
            ("Alpha", format!("{base}/f0.xml")),
            ("Bravo", format!("{base}/f1.xml")),
        ],
    );

    let out = feedwatch(&config, &["once"]).await;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "Alpha: ok, 1 new stories, 0 copies of known stories, 0 alerts queued",
            "Bravo: ok, 2 new stories, 0 copies of known stories, 0 alerts queued",
            "Charlie: ok, 3 new stories, 0 copies of known stories, 0 alerts queued",
            "Delta: error",
        ],
        "{stdout}"
    );
    assert!(
        stderr.contains("feed \"Delta\": ") && stderr.contains("1 of 4 feeds failed: \"Delta\""),
        "{stderr}"
    );

    // The second pass: every feed's line again, in the same order, with nothing new.
    let again = feedwatch(&config, &["once"]).await;
    let stdout = text(&again.stdout);
    let lines: Vec<&str> = stdout.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "Alpha: ok, 0 new stories, 0 copies of known stories, 0 alerts queued",
            "Bravo: ok, 0 new stories, 0 copies of known stories, 0 alerts queued",
            "Charlie: ok, 0 new stories, 0 copies of known stories, 0 alerts queued",
            "Delta: error",
        ],
        "{stdout}"
    );
}

#[tokio::test]
async fn a_feed_with_alert_backlog_alerts_what_it_carries_at_its_first_poll() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::rss(rss(
            "F",
            &[
                ("o1", "Iraq troops in 2019", &format!("{base}/o1")),
                ("o2", "Iraq troops in 2020", &format!("{base}/o2")),
            ],
        )),
    );
    let hook = webhook_receiver(vec![200]).await;
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        &hook.url,
        "alert_backlog = true",
        &[("F", format!("{base}/feed.xml"))],
    );
    let out = feedwatch(&config, &["once"]).await;
    assert!(
        text(&out.stdout)
            .contains("F: ok, 2 new stories, 0 copies of known stories, 2 alerts queued"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(hook.received.lock().unwrap().len(), 2);
}

/// Runs `check` on `body` (after a `[daemon]` that allows nothing private), in `dir`.
async fn check(dir: &Path, body: &str) -> (Option<i32>, String, String) {
    let config = write(
        &dir.join("feedwatch.toml"),
        &format!("[daemon]\ndatabase = \"{}/x.db\"\n\n{body}", dir.display()),
    );
    let out = feedwatch(&config, &["check"]).await;
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn check_refuses_what_run_could_not_do_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("feedwatch.toml").display().to_string();
    let secret = d.join("hook.secret");
    let cases: Vec<(String, &str, String)> = vec![
        (
            format!(
                "[[feed]]\nurl = \"https://a.example/f\"\n\n[[notifier]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"https://hooks.example/x\"\nsecret_file = \"{}\"\n",
                secret.display()
            ),
            "notifier[0].secret_file",
            format!("{} does not exist", secret.display()),
        ),
        (
            format!(
                "[[feed]]\nurl = \"https://a.example/f\"\n\n[[notifier]]\nname = \"m\"\ntype = \"email\"\nsmtp_url = \"smtps://mail.example:465\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\nusername = \"u\"\npassword_file = \"{}/smtp.pw\"\n",
                d.display()
            ),
            "notifier[0].password_file",
            "smtp.pw does not exist".into(),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\n\n[[notifier]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:8080/hook\"\n".into(),
            "notifier[0].url",
            "127.0.0.1 is a loopback address".into(),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\n\n[[notifier]]\nname = \"h\"\ntype = \"webhook\"\nurl = \"http://localhost/hook\"\n".into(),
            "notifier[0].url",
            "allow_private_addresses = true".into(),
        ),
        (
            "[[feed]]\nname = \"A\"\nurl = \"https://a.example/f\"\n\n[[feed]]\nname = \"B\"\nurl = \"https://a.example/f\"\n".into(),
            "feed.url",
            format!("is already the feed \"A\" at {file}:4"),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\nschedule = \"0 25 * * *\"\n".into(),
            "feed[0].schedule",
            "the hour field takes 0-23, not 25".into(),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\nschedule = \"@fortnightly\"\n".into(),
            "feed[0].schedule",
            "use @hourly, @daily, @weekly".into(),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\n\n[[topic]]\nname = \"t\"\nquery = \"x\"\nnotify = [\"nobody\", \"noone\"]\n".into(),
            "topic[0].notify",
            "no [[notifier]] is named \"nobody\"".into(),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\n\n[[notifier]]\nname = \"m\"\ntype = \"email\"\nsmtp_url = \"smtp://mail.example:25\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\narticle = \"lots\"\n".into(),
            "notifier[0].article",
            "a number (0 for none, 3 by default) or \"full\"".into(),
        ),
        (
            "[[feed]]\nurl = \"https://a.example/f\"\n\n[[notifier]]\nname = \"m\"\ntype = \"email\"\nsmtp_url = \"smtp://mail.example:25\"\nfrom = \"a@example.org\"\nto = [\"b@example.org\"]\ntimezone = \"Mars/Olympus\"\n".into(),
            "notifier[0].timezone",
            "a zone name such as \"Europe/Berlin\"".into(),
        ),
    ];
    for (body, field, message) in cases {
        let (code, _, stderr) = check(d, &body).await;
        assert_eq!(code, Some(1), "{body}\n{stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains(field))
            .unwrap_or_else(|| panic!("no line names {field}:\n{stderr}"));
        assert!(line.starts_with(&format!("{file}:")), "{line}");
        assert!(line.contains(&message), "{message:?} not in {line}");
    }
}

#[tokio::test]
async fn check_accepts_cron_shorthands_and_warns_of_what_is_allowed_but_odd() {
    let dir = tempfile::tempdir().unwrap();
    // No feeds at all, and a topic that sends nowhere: warnings, exit 0.
    let (code, stdout, stderr) = check(
        dir.path(),
        "[defaults]\nschedule = \"@hourly\"\n\n[[topic]]\nname = \"quiet\"\nquery = \"x\"\n",
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("ok (0 feeds"), "{stdout}");
    assert!(
        stderr.contains("warning: ") && stderr.contains("no feeds are configured"),
        "{stderr}"
    );
    assert!(stderr.contains("topic[0].notify") && stderr.contains("names no notifier"));
    for shorthand in ["@hourly", "@daily", "@weekly", "@monthly", "@yearly"] {
        let (code, _, stderr) = check(
            dir.path(),
            &format!("[[feed]]\nurl = \"https://a.example/f\"\nschedule = \"{shorthand}\"\n"),
        )
        .await;
        assert_eq!(code, Some(0), "{shorthand}: {stderr}");
    }
}

#[tokio::test]
async fn exit_codes_say_user_error_for_what_the_user_can_fix() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A usage error is 1, not clap's 2 (2 is an internal failure here).
    let config = write(&d.join("feedwatch.toml"), "");
    let out = feedwatch(&config, &["no-such-command"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let help = feedwatch(&config, &["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(
        text(&help.stdout).contains("Exit status: 0 ok; 1 a user error"),
        "{}",
        text(&help.stdout)
    );

    // No config where it was looked for: where feedwatch looked, and where the example is.
    let out = feedwatch(&d.join("missing.toml"), &["check"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no config file here")
            && stderr.contains("/etc/feedwatch/feedwatch.toml")
            && stderr.contains("config/feedwatch.example.toml"),
        "{stderr}"
    );

    // A database whose folder cannot be made (a file stands in its place).
    std::fs::write(d.join("not-a-folder"), "").unwrap();
    let config = write(
        &d.join("feedwatch.toml"),
        &format!(
            "[daemon]\ndatabase = \"{}/not-a-folder/feedwatch.db\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n",
            d.display()
        ),
    );
    let out = feedwatch(&config, &["run"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("feedwatch: cannot open the database")
            && last.contains("not-a-folder/feedwatch.db"),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");

    // A listen port another process holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = write(
        &d.join("feedwatch.toml"),
        &format!(
            "[daemon]\ndatabase = \"{}\"\nlisten = \"127.0.0.1:{port}\"\n\n[[feed]]\nurl = \"https://a.example/f\"\n",
            database(d)
        ),
    );
    let out = feedwatch(&config, &["run"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "feedwatch: cannot listen on 127.0.0.1:{port} ([daemon] listen)"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");
    drop(taken);
}

#[tokio::test]
async fn feeds_reset_polls_a_gone_feed_again_and_feeds_json_shows_each_state() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::Status {
            status: 410,
            retry_after: None,
        },
    );
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        "http://127.0.0.1:9/hook",
        "",
        &[("F", format!("{base}/feed.xml"))],
    );
    let out = feedwatch(&config, &["once"]).await;
    assert_eq!(out.status.code(), Some(1));
    let json = feedwatch(&config, &["feeds", "--json"]).await;
    assert!(json.status.success(), "{}", text(&json.stderr));
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", text(&json.stdout));
    assert_eq!(lines[0]["name"], "F");
    assert_eq!(lines[0]["status"], "disabled");
    assert_eq!(lines[0]["consecutive_errors"], 1);
    assert!(lines[0]["next_due"].is_null());

    // The site is back: a reset feed is polled again.
    site.route(
        "/feed.xml",
        Route::rss(rss("F", &[("b1", "Back again", &format!("{base}/b1"))])),
    );
    let before = site.requests_to("/feed.xml").len();
    assert!(feedwatch(&config, &["once"]).await.status.success());
    assert_eq!(
        site.requests_to("/feed.xml").len(),
        before,
        "a disabled feed was polled"
    );
    let reset = feedwatch(&config, &["feeds", "reset", "F"]).await;
    assert!(reset.status.success(), "{}", text(&reset.stderr));
    assert!(text(&reset.stdout).contains("feed \"F\" reset"));
    // Why it is due now: the reset.
    let json = feedwatch(&config, &["feeds", "--json"]).await;
    let state: serde_json::Value = serde_json::from_str(text(&json.stdout).trim()).unwrap();
    assert_eq!(state["due_reason"], "reset");
    let out = feedwatch(&config, &["once"]).await;
    assert!(
        text(&out.stdout).contains("F: ok, 1 new stories"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let json = feedwatch(&config, &["feeds", "--json"]).await;
    let state: serde_json::Value = serde_json::from_str(text(&json.stdout).trim()).unwrap();
    assert_eq!(state["consecutive_errors"], 0);
    assert_eq!(state["items"], 1);
    assert!(state["due_reason"].is_string(), "{state}");
    assert!(state["due_interval"].is_i64(), "{state}");
    let unknown = feedwatch(&config, &["feeds", "reset", "Nope"]).await;
    assert_eq!(unknown.status.code(), Some(1));
}

#[tokio::test]
async fn alerts_retry_takes_the_alert_id_the_logs_print() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::rss(rss(
            "F",
            &[("i1", "Iraq troops withdraw", &format!("{base}/i1"))],
        )),
    );
    // Refused for good (a 4xx), then accepted.
    let hook = webhook_receiver(vec![400, 200]).await;
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        &hook.url,
        "alert_backlog = true",
        &[("F", format!("{base}/feed.xml"))],
    );
    assert!(feedwatch(&config, &["once"]).await.status.success());
    let alerts = feedwatch(&config, &["alerts", "--json"]).await;
    let row: serde_json::Value = serde_json::from_str(
        text(&alerts.stdout)
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no alert: {}", text(&alerts.stderr))),
    )
    .unwrap();
    assert_eq!(row["state"], "failed", "{row}");
    let id = row["alert_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("msg_"), "{id}");
    // The table shows the id to retry beside the error.
    let table = text(&feedwatch(&config, &["alerts"]).await.stdout);
    assert!(table.contains(&format!("{id}: last error: ")), "{table}");

    let retry = feedwatch(&config, &["alerts", "retry", &id]).await;
    assert!(retry.status.success(), "{}", text(&retry.stderr));
    assert!(text(&retry.stdout).contains(&format!("alert {id} queued again")));
    assert!(feedwatch(&config, &["once"]).await.status.success());
    let alerts = feedwatch(&config, &["alerts", "--json"]).await;
    let row: serde_json::Value =
        serde_json::from_str(text(&alerts.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(row["state"], "delivered", "{row}");
    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].0.get("webhook-id"),
        received[1].0.get("webhook-id"),
        "a retry keeps the alert's id"
    );
    let unknown = feedwatch(&config, &["alerts", "retry", "msg_nope"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("msg_nope"));
}

#[tokio::test]
async fn opml_import_names_each_skipped_feed_keeps_letters_and_export_writes_folders() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        &dir.path().join("feedwatch.toml"),
        &format!(
            "[daemon]\ndatabase = \"{}\"\n\n[[feed]]\nname = \"Known\"\nurl = \"https://known.example/rss\"\n",
            database(dir.path())
        ),
    );
    let opml = write(
        &dir.path().join("subs.opml"),
        r#"<?xml version="1.0"?><opml version="2.0"><body>
<outline text="Nachrichten">
  <outline text="Süddeutsche Zeitung" xmlUrl="https://sz.example/rss"/>
  <outline text="Ελληνικά" xmlUrl="https://gr.example/rss"/>
</outline>
<outline text="Old name" xmlUrl="https://known.example/rss"/>
</body></opml>"#,
    );
    let out = feedwatch(&config, &["import-opml", opml.to_str().unwrap()]).await;
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        text(&out.stdout).contains("2 feeds added"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        stderr.contains(":6: \"Old name\" skipped: already configured as \"Known\""),
        "{stderr}"
    );
    let sz = std::fs::read_to_string(dir.path().join("feeds.d/süddeutsche-zeitung.toml"))
        .unwrap_or_else(|e| {
            panic!(
                "{e}: {:?}",
                std::fs::read_dir(dir.path().join("feeds.d"))
                    .unwrap()
                    .collect::<Vec<_>>()
            )
        });
    assert!(sz.contains("Nachrichten"), "{sz}");
    assert!(dir.path().join("feeds.d/ελληνικά.toml").exists());

    let export = text(&feedwatch(&config, &["export-opml"]).await.stdout);
    let folder = export
        .find("<outline text=\"Nachrichten\" title=\"Nachrichten\">")
        .unwrap_or_else(|| panic!("{export}"));
    let inner = &export[folder..export[folder..].find("</outline>").unwrap() + folder];
    assert!(
        inner.contains("xmlUrl=\"https://sz.example/rss\""),
        "{export}"
    );
    assert!(
        inner.contains("xmlUrl=\"https://gr.example/rss\""),
        "{export}"
    );
    assert!(!inner.contains("known.example"), "{export}");
}

#[tokio::test]
async fn a_refused_reload_is_reported_to_systemd_and_the_daemon_stays_ready() {
    use std::os::unix::net::UnixDatagram;
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        "http://127.0.0.1:9/hook",
        "",
        &[("F", "http://127.0.0.1:9/feed.xml".to_string())],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove("FEEDWATCH_DATABASE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Reads what the daemon tells systemd until a message holds READY=1.
    let until_ready = move |socket: UnixDatagram| {
        tokio::task::spawn_blocking(move || {
            let mut said = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let ready = msg.lines().any(|l| l == "READY=1");
                said.push(msg);
                if ready {
                    break;
                }
            }
            (said, socket)
        })
    };
    let (started, socket) = until_ready(socket).await.unwrap();
    assert!(
        started
            .concat()
            .contains("STATUS=running: 1 feeds, 1 topics"),
        "{started:?}"
    );
    std::fs::write(&config, "[daemon]\nlisten = \"nope\"\n").unwrap();
    unsafe { libc::kill(child.id() as i32, libc::SIGHUP) };
    let (reload, _socket) = until_ready(socket).await.unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let said = reload.concat();
    assert!(said.contains("RELOADING=1"), "{reload:?}");
    assert!(said.contains("MONOTONIC_USEC="), "{reload:?}");
    assert!(
        said.contains(
            "STATUS=reload refused, running the previous configuration: 1 problems, the first: "
        ) && said.contains("daemon.listen"),
        "{reload:?}"
    );
    assert!(said.contains("READY=1"), "{reload:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_feeds_and_notifiers_and_healthz_names_a_failing_notifier() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::rss(rss(
            "F",
            &[("i1", "Iraq troops withdraw", &format!("{base}/i1"))],
        )),
    );
    let hook = webhook_receiver(vec![500]).await;
    let port = free_port();
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        &hook.url,
        "alert_backlog = true",
        &[("F", format!("{base}/feed.xml"))],
    );
    // Given up after 20 s: failing for more than 10 s makes the daemon unhealthy.
    let text_of = std::fs::read_to_string(&config).unwrap().replace(
        "allow_private_addresses = true\n",
        &format!("allow_private_addresses = true\nlisten = \"127.0.0.1:{port}\"\ngive_up_after = \"20s\"\n"),
    );
    std::fs::write(&config, text_of).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("FEEDWATCH_DATABASE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_port(port);
    let client = reqwest::Client::new();
    let get = |path: &'static str| {
        let client = client.clone();
        async move {
            match client
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
            {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(_) => (0, String::new()),
            }
        }
    };
    let mut metrics = String::new();
    for _ in 0..300 {
        metrics = get("/metrics").await.1;
        if metrics.contains("feedwatch_notifier_alerts{notifier=\"hook\",state=\"retrying\"} 1") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut health = (0, String::new());
    for _ in 0..300 {
        health = get("/healthz").await;
        if health.0 == 503 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    for line in [
        "feedwatch_notifier_alerts{notifier=\"hook\",state=\"retrying\"} 1",
        "feedwatch_notifier_alerts{notifier=\"hook\",state=\"delivered\"} 0",
        "feedwatch_feed_consecutive_errors{feed=\"F\"} 0",
        "feedwatch_feed_items{feed=\"F\"} 1",
        "feedwatch_feed_poll_duration_seconds{feed=\"F\"} ",
        "feedwatch_scheduler_lag_seconds ",
    ] {
        assert!(metrics.contains(line), "{line} not in:\n{metrics}");
    }
    assert!(
        !metrics.contains("feedwatch_feed_last_success_timestamp_seconds{feed=\"F\"} 0\n"),
        "{metrics}"
    );
    assert_eq!(health.0, 503, "{}", health.1);
    assert!(
        health
            .1
            .contains("notifier \"hook\" has failed to deliver for"),
        "{}",
        health.1
    );
}

#[tokio::test]
async fn a_feed_url_that_is_a_page_uses_the_feed_it_links_and_discover_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let page = |links: &[&str]| {
        let mut html = String::from("<!DOCTYPE html><html><head><title>Site</title>");
        for l in links {
            html.push_str(l);
        }
        html.push_str("</head><body><h1>News</h1><p>Read us.</p></body></html>");
        Route::Body {
            content_type: "text/html; charset=utf-8",
            body: html.into_bytes(),
            etag: None,
        }
    };
    site.route(
        "/news/",
        page(&[
            r#"<link rel="alternate" type="application/rss+xml" title="Main" href="/feed.xml">"#,
        ]),
    );
    site.route(
        "/multi/",
        page(&[
            r#"<link rel="alternate" type="application/rss+xml" title="Main" href="/feed.xml">"#,
            r#"<link rel="alternate" type="application/atom+xml" title="Comments" href="/comments.atom">"#,
        ]),
    );
    site.route("/bare/", page(&[]));
    site.route(
        "/feed.xml",
        Route::rss(rss(
            "Site",
            &[("s1", "Harbour reopens", &format!("{base}/s1"))],
        )),
    );
    site.route(
        "/rss.xml",
        Route::rss(rss("Usual", &[("u1", "Usual path", &format!("{base}/u1"))])),
    );
    let db = database(dir.path());
    let config = config(
        dir.path(),
        &db,
        "http://127.0.0.1:9/hook",
        "",
        &[
            ("Page", format!("{base}/news/")),
            ("Multi", format!("{base}/multi/")),
        ],
    );
    let out = feedwatch(&config, &["once"]).await;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        stdout.contains("Page: ok, 1 new stories"),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "feed \"Page\": the url is a web page; polling the feed it links from now on: {base}/feed.xml (RSS, \"Main\")"
        )),
        "{stderr}"
    );
    // Two feeds: the user picks, told which is which.
    let multi = stderr
        .lines()
        .find(|l| l.starts_with("feed \"Multi\""))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        multi.contains("linking 2 feeds")
            && multi.contains(&format!("{base}/feed.xml (RSS, \"Main\")"))
            && multi.contains(&format!("{base}/comments.atom (Atom, \"Comments\")"))
            && multi.contains("set the feed's url to the one you want"),
        "{multi}"
    );
    assert_eq!(out.status.code(), Some(1));
    let feeds = text(&feedwatch(&config, &["feeds"]).await.stdout);
    assert!(
        feeds.contains(&format!("polling {base}/feed.xml")),
        "{feeds}"
    );
    // From now on the feed itself is polled, not the page.
    let pages = site.requests_to("/news/").len();
    feedwatch(&config, &["once", "--feed", "Page"]).await;
    assert_eq!(site.requests_to("/news/").len(), pages);

    let linked = feedwatch(&config, &["discover", &format!("{base}/multi/")]).await;
    let listed = text(&linked.stdout);
    assert!(linked.status.success(), "{}", text(&linked.stderr));
    assert!(
        listed.contains(&format!("  {base}/feed.xml (RSS, \"Main\")"))
            && listed.contains(&format!("  {base}/comments.atom (Atom, \"Comments\")")),
        "{listed}"
    );
    let usual = feedwatch(&config, &["discover", &format!("{base}/bare/")]).await;
    let listed = text(&usual.stdout);
    assert!(
        listed.contains("feeds at the usual paths:")
            && listed.contains(&format!("  {base}/rss.xml (RSS, \"Usual\")")),
        "{listed}{}",
        text(&usual.stderr)
    );
    let itself = feedwatch(&config, &["discover", &format!("{base}/feed.xml")]).await;
    assert!(
        text(&itself.stdout).contains("is a feed (rss2, \"Site\")"),
        "{}",
        text(&itself.stdout)
    );
}

#[tokio::test]
async fn completions_and_the_man_page_come_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("none.toml");
    for (shell, expect) in [
        ("bash", "_feedwatch()"),
        ("zsh", "#compdef feedwatch"),
        ("fish", "complete -c feedwatch"),
    ] {
        let out = feedwatch(&config, &["completions", shell]).await;
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(expect), "{shell}: {script}");
        assert!(
            script.contains("discover") && script.contains("import-opml"),
            "{shell}"
        );
    }
    let man = feedwatch(&config, &["man"]).await;
    let page = text(&man.stdout);
    assert!(man.status.success());
    assert!(
        page.starts_with(".ie") || page.contains(".TH feedwatch 1"),
        "{page}"
    );
    assert!(page.contains("Exit status: 0 ok"), "{page}");
    let bad = feedwatch(&config, &["completions", "tcsh"]).await;
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn the_unit_documents_its_man_page_and_runs_as_the_packaged_user() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("systemd/feedwatch.service")).unwrap();
    assert!(unit.contains("Documentation=man:feedwatch(1)"), "{unit}");
    assert!(unit.contains("User=feedwatch"), "{unit}");
    let sysusers = std::fs::read_to_string(root.join("systemd/feedwatch.sysusers")).unwrap();
    assert!(sysusers.lines().any(|l| l.starts_with("u feedwatch ")));
    let tmpfiles = std::fs::read_to_string(root.join("systemd/feedwatch.tmpfiles")).unwrap();
    assert!(
        tmpfiles.contains("d /var/lib/feedwatch ") || tmpfiles.contains("d /var/lib/feedwatch")
    );
    // The example config the package installs names the service's database.
    let example = std::fs::read_to_string(root.join("config/feedwatch.example.toml")).unwrap();
    assert!(example.contains("\ndatabase = \"/var/lib/feedwatch/feedwatch.db\"\n"));
    // The README links nothing outside the repository.
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        !readme.contains("../shared"),
        "the README links outside the repository"
    );
}

/// The parts of the first mail the SMTP sink received, decoded: (text, html).
fn first_mail(smtp: &SmtpServer) -> (String, String) {
    let json = std::fs::read_to_string(smtp.maildir.join("1.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let part = |ct: &str| {
        v["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["content_type"] == ct)
            .and_then(|p| p["text"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    (part("text/plain"), part("text/html"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_mail_carries_the_article_its_outlet_and_times_in_the_notifiers_zone() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    let page = String::from_utf8(fixture("tome-iraq-troops.html"))
        .unwrap()
        .replacen(
            "<meta charset=\"utf-8\">",
            "<meta charset=\"utf-8\"><meta name=\"author\" content=\"Jane Roe\">",
            1,
        );
    site.route(
        "/tome.html",
        Route::Body {
            content_type: "text/html; charset=utf-8",
            body: page.into_bytes(),
            etag: None,
        },
    );
    site.route(
        "/rss.xml",
        Route::rss(rss(
            "TOME",
            &[(
                "t1",
                "Iraq troops talks to begin",
                &format!("{base}/tome.html"),
            )],
        )),
    );
    let smtp = SmtpServer::start(dir.path());
    let config = write(
        &dir.path().join("feedwatch.toml"),
        &format!(
            "[daemon]\ndatabase = \"{}\"\nallow_private_addresses = true\n\n\
             [defaults]\nalert_backlog = true\n\n\
             [[feed]]\nname = \"TOME\"\nurl = \"{base}/rss.xml\"\n\n\
             [[topic]]\nname = \"iraq\"\nquery = '\"coalition forces\" AND troops'\nnotify = [\"me\"]\n\n\
             [[notifier]]\nname = \"me\"\ntype = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\n\
             from = \"fw@example.org\"\nto = [\"me@example.org\"]\narticle = 2\ntimezone = \"+02:00\"\n",
            database(dir.path()),
            smtp.port
        ),
    );
    let out = feedwatch(&config, &["once"]).await;
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    eventually(20, "the mail", || smtp.maildir.join("1.json").exists()).await;
    let (plain, html) = first_mail(&smtp);

    let first = "The United States and Iraq have announced that they will begin discussions";
    let third = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tome-iraq-troops.expected.txt"),
    )
    .unwrap()
    .split("\n\n")
    .nth(3)
    .unwrap()
    .chars()
    .take(60)
    .collect::<String>();
    for (part, body) in [("text", &plain), ("html", &html)] {
        assert!(body.contains("TOME"), "{part}: the outlet\n{body}");
        assert!(body.contains("by Jane Roe"), "{part}: the byline\n{body}");
        // Published 10:00 UTC, shown at +02:00.
        assert!(
            body.contains("Wed 29 May 2024, 12:00 (+02:00)"),
            "{part}: the time\n{body}"
        );
        assert!(
            body.contains(first),
            "{part}: the article's first paragraph\n{body}"
        );
        assert!(
            !body.contains(&third),
            "{part}: past the cut of 2 paragraphs\n{body}"
        );
        assert!(
            body.contains("coalition forces"),
            "{part}: the matched terms\n{body}"
        );
    }
    // The story's address is the page's own (its og:url), absolute.
    assert!(
        plain.contains(
            "[…] The rest at https://tome.example/world/2024/05/29/foreign-troops-iraq-talks/"
        ),
        "{plain}"
    );
    // Emphasis as emphasis, no literal markdown, every link absolute.
    assert!(html.contains("<strong>coalition forces</strong>"), "{html}");
    assert!(!html.contains("**"), "{html}");
    for href in html.split("href=\"").skip(1) {
        assert!(
            href.starts_with("http://") || href.starts_with("https://"),
            "{href}"
        );
    }
    assert!(html.contains("Read the whole article"), "{html}");
    render_in_chromium(dir.path(), &html);
}

/// Renders a mail's HTML in headless Chromium, light and dark, as a reader's mail client would:
/// the page parses to the same text (well-formed: nothing swallowed by a broken tag), shows no
/// markdown, and both screenshots are written (kept beside the test's files; look at them with
/// FEEDWATCH_KEEP_RENDERING=DIR).
fn render_in_chromium(dir: &Path, html: &str) {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("the mail rendering check needs Debian's chromium (apt-get install chromium)");
    let page = dir.join("mail.html");
    std::fs::write(&page, html).unwrap();
    let url = format!("file://{}", page.display());
    let run = |extra: &[&str]| {
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.join("chromium").display()
            ))
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        out
    };
    let dom = text(&run(&["--dump-dom"]).stdout);
    assert!(dom.contains("<strong>coalition forces</strong>"), "{dom}");
    assert!(!dom.contains("**"), "{dom}");
    assert_eq!(
        dom.matches("<p>").count(),
        html.matches("<p>").count(),
        "{dom}"
    );
    let keep = std::env::var_os("FEEDWATCH_KEEP_RENDERING").map(std::path::PathBuf::from);
    for (mode, flags) in [
        ("light", &[][..]),
        (
            "dark",
            &[
                "--force-dark-mode",
                "--blink-settings=forceDarkModeEnabled=true",
            ][..],
        ),
    ] {
        let png = keep
            .clone()
            .unwrap_or_else(|| dir.to_path_buf())
            .join(format!("mail-{mode}.png"));
        let shot = format!("--screenshot={}", png.display());
        let mut args = vec!["--window-size=800,1400", shot.as_str()];
        args.extend_from_slice(flags);
        run(&args);
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{mode}: {} bytes",
            bytes.len()
        );
    }
}
