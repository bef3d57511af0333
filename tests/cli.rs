//! The offline commands of design.md's CLI contract, through the real binary: extract, parse,
//! OPML in and out, topics test and search.

mod support;

use std::path::Path;

use support::*;

fn fixture_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[tokio::test]
async fn extract_json_gives_one_object_per_file_with_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("none.toml");
    let tome = fixture_path("tome-iraq-troops.html");
    let out = feedwatch(&config, &["extract", "--json", &tome, "/no/such/file.html"]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "an unreadable file is a user error"
    );
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let a = &lines[0];
    for key in [
        "file",
        "title",
        "byline",
        "published",
        "site_name",
        "lang",
        "url",
        "text",
        "html",
    ] {
        assert!(a.get(key).is_some(), "missing {key}: {a}");
    }
    assert_eq!(a["file"], tome.as_str());
    let expected = std::fs::read_to_string(fixture_path("tome-iraq-troops.expected.txt")).unwrap();
    let (title, body) = expected.split_once("\n\n").unwrap();
    assert_eq!(a["title"], title);
    assert_eq!(a["text"].as_str().unwrap().trim_end(), body.trim_end());
    assert!(text(&out.stderr).contains("/no/such/file.html"));
}

#[tokio::test]
async fn parse_json_reports_a_broken_file_as_a_line_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.xml");
    std::fs::write(
        &good,
        rss("Good", &[("g1", "First &amp; best", "https://a.example/1")]),
    )
    .unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<html><body>Not found</body></html>").unwrap();
    let config = dir.path().join("none.toml");
    let out = feedwatch(
        &config,
        &[
            "parse",
            "--json",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[0]["entries"][0]["title"], "First & best");
    assert_eq!(lines[0]["entries"][0]["published"], "2024-05-29T10:00:00Z");
    assert_eq!(lines[1]["ok"], false);
    assert!(
        lines[1]["error"].as_str().unwrap().contains("HTML"),
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn opml_import_adds_new_feeds_to_feeds_d_and_export_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feedwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\n\n[[feed]]\nname = \"Known\"\nurl = \"https://known.example/rss\"\n",
            support::database(dir.path())
        ),
    )
    .unwrap();
    let opml = dir.path().join("subs.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?><opml version="2.0"><body>
        <outline text="World"><outline text="World News" xmlUrl="https://world.example/feed"/></outline>
        <outline text="Known" xmlUrl="https://known.example/rss"/></body></opml>"#,
    )
    .unwrap();
    let out = feedwatch(&config, &["import-opml", opml.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 feeds added"),
        "{}",
        text(&out.stdout)
    );
    let written = std::fs::read_to_string(dir.path().join("feeds.d/world-news.toml")).unwrap();
    assert!(
        written.contains("https://world.example/feed") && written.contains("World"),
        "{written}"
    );
    assert!(
        std::fs::read_to_string(&config).unwrap().contains("Known"),
        "the main file is never rewritten"
    );

    let check = feedwatch(&config, &["check"]).await;
    assert!(
        text(&check.stdout).contains("2 feeds"),
        "{}",
        text(&check.stdout)
    );
    let export = text(&feedwatch(&config, &["export-opml"]).await.stdout);
    assert!(
        export.contains("xmlUrl=\"https://world.example/feed\""),
        "{export}"
    );
    assert!(
        export.contains("xmlUrl=\"https://known.example/rss\""),
        "{export}"
    );
    // Importing again adds nothing.
    let again = feedwatch(&config, &["import-opml", opml.to_str().unwrap()]).await;
    assert!(
        text(&again.stdout).contains("0 feeds added"),
        "{}",
        text(&again.stdout)
    );
}

#[tokio::test]
async fn topics_test_explains_hits_and_rejects_a_bad_query_with_its_column() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/feed.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss(
                "News",
                &[
                    ("1", "Coalition troops to leave Iraq", "https://a.example/1"),
                    ("2", "Football: Iraq beat Oman", "https://a.example/2"),
                ],
            ),
            etag: None,
        },
    );
    let config = dir.path().join("feedwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\nallow_private_addresses = true\n[defaults]\nfull_article = false\n[[feed]]\nname = \"News\"\nurl = \"{base}/feed.xml\"\n",
            support::database(dir.path())
        ),
    )
    .unwrap();
    assert!(feedwatch(&config, &["once"]).await.status.success());

    let out = feedwatch(&config, &["topics", "test", "iraq AND troop* NOT football"]).await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Coalition troops to leave Iraq"),
        "{stdout}"
    );
    assert!(!stdout.contains("Oman"), "{stdout}");
    assert!(stdout.contains("matched: iraq, troop*"), "{stdout}");
    assert!(stdout.contains("1 of 2 stored stories match"), "{stdout}");

    let search = text(&feedwatch(&config, &["search", "title:oman"]).await.stdout);
    assert!(
        search.contains("Oman") && !search.contains("Coalition"),
        "{search}"
    );

    let bad = feedwatch(&config, &["topics", "test", "iraq AND (troops"]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stderr).contains("column"),
        "{}",
        text(&bad.stderr)
    );
}

#[tokio::test]
async fn check_validates_a_postgres_database_without_connecting_and_feeds_says_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("feedwatch.toml");
    // Nothing listens on this port.
    let port = free_port();
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"postgres://fw:hunter2@127.0.0.1:{port}/news\"\n\n[[feed]]\nname = \"N\"\nurl = \"https://n.example/rss\"\n"
        ),
    )
    .unwrap();
    let out = feedwatch(&config, &["check"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = feedwatch(&config, &["feeds"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("127.0.0.1:{port}/news")) && err.contains("cannot be reached"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the password is never shown: {err}"
    );
    assert!(
        !dir.path().join("postgres:").exists(),
        "the URL is not taken as a file path"
    );
}
