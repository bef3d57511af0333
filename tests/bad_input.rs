//! Broken feeds, hostile servers and mistaken configs: each gets one clear error naming the feed
//! or the line, and everything else goes on.

mod support;

use support::*;

fn config_with(
    dir: &std::path::Path,
    allow_private: bool,
    feeds: &[(&str, String)],
) -> std::path::PathBuf {
    let mut c = format!(
        "[daemon]\ndatabase = \"{}\"\nallow_private_addresses = {allow_private}\nfetch_timeout = \"2s\"\n\n[defaults]\nfull_article = false\nalert_backlog = true\n",
        support::database(dir)
    );
    for (name, url) in feeds {
        c.push_str(&format!("\n[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n"));
    }
    let path = dir.join("feedwatch.toml");
    std::fs::write(&path, c).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_feed_gets_one_clear_error_and_the_good_feed_is_still_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/good.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss("Good", &[("g1", "A fine story", &format!("{base}/story"))]),
            etag: None,
        },
    );
    site.route(
        "/page.xml",
        Route::Body {
            content_type: "text/html",
            body: b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>Our site</h1><p>Hello.</p></body></html>"
                .to_vec(),
            etag: None,
        },
    );
    let full = rss("Cut", &[("c1", "Cut short", "https://example.org/c1")]);
    site.route(
        "/truncated.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: full[..full.len() / 2].to_vec(),
            etag: None,
        },
    );
    site.route(
        "/huge.xml",
        Route::Endless {
            total: 50 * 1024 * 1024,
        },
    );
    site.route(
        "/loop.xml",
        Route::Redirect {
            status: 302,
            to: "/loop2.xml".into(),
        },
    );
    site.route(
        "/loop2.xml",
        Route::Redirect {
            status: 302,
            to: "/loop.xml".into(),
        },
    );
    site.route("/hang.xml", Route::Hang);
    site.route(
        "/gone.xml",
        Route::Status {
            status: 410,
            retry_after: None,
        },
    );
    site.route(
        "/busy.xml",
        Route::Status {
            status: 503,
            retry_after: Some(600),
        },
    );

    let feeds: Vec<(&str, String)> = [
        ("good", "/good.xml"),
        ("html-page", "/page.xml"),
        ("truncated", "/truncated.xml"),
        ("huge", "/huge.xml"),
        ("redirect-loop", "/loop.xml"),
        ("never-answers", "/hang.xml"),
        ("gone", "/gone.xml"),
        ("busy", "/busy.xml"),
    ]
    .iter()
    .map(|(n, p)| (*n, format!("{base}{p}")))
    .collect();
    let config = config_with(dir.path(), true, &feeds);

    let out = feedwatch(&config, &["once"]).await;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    // Every feed is polled and reported; the pass exits 1 naming the ones that failed, so a
    // script or timer notices (the repaired feed was read: it is not among them).
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let summary = stderr
        .lines()
        .find(|l| l.contains("feeds failed:"))
        .unwrap_or_else(|| panic!("no summary line:\n{stderr}"));
    for failed in [
        "html-page",
        "huge",
        "redirect-loop",
        "never-answers",
        "gone",
        "busy",
    ] {
        assert!(summary.contains(&format!("\"{failed}\"")), "{summary}");
    }
    assert!(
        !summary.contains("\"good\"") && !summary.contains("\"truncated\""),
        "{summary}"
    );
    assert!(
        stdout.contains("good: ok, 1 new stories"),
        "{stdout}\n{stderr}"
    );
    for (feed, expect) in [
        ("html-page", "HTML page"),
        ("truncated", "repaired"),
        ("huge", "larger than"),
        ("redirect-loop", "redirects"),
        ("never-answers", "no answer"),
        ("gone", "410"),
        ("busy", "503"),
    ] {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("feed \"{feed}\":")))
            .collect();
        assert_eq!(lines.len(), 1, "one error line for {feed}:\n{stderr}");
        assert!(
            lines[0].contains(expect),
            "{feed}: expected {expect:?} in {:?}",
            lines[0]
        );
    }

    // State shows in `feedwatch feeds`: the gone feed is disabled, the others count errors.
    let table = text(&feedwatch(&config, &["feeds"]).await.stdout);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("gone").contains("disabled"), "{table}");
    assert!(
        row("busy").trim_end().ends_with('1'),
        "one consecutive error: {table}"
    );
    assert!(row("good").contains(" ok"), "{table}");

    // The gone feed is not polled again.
    let before = site.requests_to("/gone.xml").len();
    feedwatch(&config, &["once"]).await;
    assert_eq!(site.requests_to("/gone.xml").len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_on_a_private_address_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss("Local", &[("l1", "Local", "https://example.org/l")]),
            etag: None,
        },
    );
    let port = base.rsplit(':').next().unwrap();
    let config = config_with(
        dir.path(),
        false,
        &[("local", format!("http://localhost:{port}/feed.xml"))],
    );
    let out = feedwatch(&config, &["once"]).await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("feed \"local\"") && stderr.contains("allow_private_addresses"),
        "{stderr}"
    );
    assert!(
        site.requests_to("/feed.xml").is_empty(),
        "no request may reach the private address"
    );

    let config = config_with(
        dir.path(),
        true,
        &[("local", format!("http://localhost:{port}/feed.xml"))],
    );
    let out = feedwatch(&config, &["once"]).await;
    assert!(
        text(&out.stdout).contains("local: ok, 1 new stories"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn check_names_file_line_and_field_of_each_config_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feedwatch.toml");
    std::fs::write(
        &path,
        "[[feed]]\nurl = \"https://example.org/rss\"\nschedule = \"every day\"\n\n[[feed]]\nurl = \"https://example.org/b\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = feedwatch(&path, &["check"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("feedwatch.toml:7") && stderr.contains("colour"),
        "{stderr}"
    );
    // An unknown key does not hide the other mistakes of its file.
    assert!(
        stderr.contains("feedwatch.toml:3: feed[0].schedule"),
        "{stderr}"
    );
    // `run` refuses to start on the same config.
    let out = feedwatch(&path, &["run"]).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn check_reports_bad_mail_addresses_and_header_names_of_notifiers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feedwatch.toml");
    std::fs::write(
        &path,
        "[[notifier]]\nname = \"me\"\ntype = \"email\"\nsmtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"not an address\"\nto = [\"me@example.org\", \"@nowhere\"]\n\n[[notifier]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://hooks.example.org/x\"\nheaders = { \"Bad Header\" = \"x\" }\n",
    )
    .unwrap();
    let out = feedwatch(&path, &["check"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for want in [
        "feedwatch.toml:1: notifier[0].from",
        "\"@nowhere\" is not an email address",
        "feedwatch.toml:8: notifier[1].headers",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in {stderr}");
    }
    assert!(!stderr.contains("me@example.org\" is not"), "{stderr}");
}

#[tokio::test]
async fn check_refuses_a_query_nested_thousands_deep_with_a_clear_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feedwatch.toml");
    for query in [
        // 4,808 parentheses in 9.6 KB, and NOTs: each once overflowed the stack of `check`.
        format!("{}iraq{}", "(".repeat(4_808), ")".repeat(4_808)),
        format!("iraq {}troops", "NOT ".repeat(3_000)),
        format!("iraq {}troops", "-".repeat(12_500)),
        // 12,500 NOTs (50 KB): over the size limit.
        format!("iraq {}troops", "NOT ".repeat(12_500)),
    ] {
        std::fs::write(
            &config,
            format!(
                "[daemon]\ndatabase = \"{}\"\n\n[[topic]]\nname = \"deep\"\nquery = '{query}'\n",
                dir.path().join("f.db").display()
            ),
        )
        .unwrap();
        let out = feedwatch(&config, &["check"]).await;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{:.300}", err);
        assert!(
            err.contains("feedwatch.toml:6: topic[0].query: column")
                && (err.contains("nests deeper than 32 levels") || err.contains("over the limit")),
            "{err:.400}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_and_line_breaks_in_a_feed_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    // JSON Feed strings can carry any control character.
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Wire\u{1b}]0;owned\u{7}",
        "items": [
            {"id": "1", "title": "Troops\u{1b}[2J leave\r\nFAKE LINE",
             "url": "\u{1b}[31mjavascript:alert(1)\r\n",
             "content_text": "Troops leave Basra.\u{1b}[1m Iraq \u{9b}31m troops go home."},
            {"id": "2", "title": "Iraq troops", "url": "https://a.example/x\u{1b}[0m\r\nY",
             "content_text": "Iraq troops again."}
        ]
    });
    let body = serde_json::to_vec(&feed).unwrap();
    site.route(
        "/feed.json",
        Route::Body {
            content_type: "application/feed+json",
            body: body.clone(),
            etag: None,
        },
    );
    let config = config_with(dir.path(), true, &[("W", format!("{base}/feed.json"))]);
    let file = dir.path().join("feed.json");
    std::fs::write(&file, &body).unwrap();
    let clean = |what: &str, out: &std::process::Output| {
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let t = text(bytes);
            assert!(
                !t.chars().any(|c| c.is_control() && c != '\n'),
                "{what} {stream}: {t:?}"
            );
            assert!(
                !t.lines().any(|l| l.starts_with("FAKE")),
                "{what} {stream}: {t}"
            );
        }
    };
    let parsed = feedwatch(&config, &["parse", file.to_str().unwrap()]).await;
    clean("parse", &parsed);
    assert!(
        text(&parsed.stdout).contains("Troops[2J leave FAKE LINE"),
        "{}",
        text(&parsed.stdout)
    );
    let once = feedwatch(&config, &["once"]).await;
    assert!(once.status.success(), "{}", text(&once.stderr));
    clean("once", &once);
    let stories = feedwatch(&config, &["stories"]).await;
    clean("stories", &stories);
    assert!(
        text(&stories.stdout).contains("Iraq troops"),
        "{}",
        text(&stories.stdout)
    );
    assert!(
        text(&stories.stdout).contains("https://a.example/x%1B[0mY"),
        "{}",
        text(&stories.stdout)
    );
    clean("search", &feedwatch(&config, &["search", "troops"]).await);
    let explained = feedwatch(&config, &["topics", "test", "troops"]).await;
    clean("topics test", &explained);
    assert!(
        text(&explained.stdout).contains("2 of 2"),
        "{}",
        text(&explained.stdout)
    );
}
