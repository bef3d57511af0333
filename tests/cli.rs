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
    // Every file is a line; the command exits 1 because one could not be parsed, naming it.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("bad.xml"),
        "{}",
        text(&out.stderr)
    );
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

/// A config with one feed, "Known", and the path of an OPML file beside it holding `body`.
fn opml_setup(dir: &Path, body: &str) -> (std::path::PathBuf, String) {
    let config = dir.join("feedwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\ndatabase = \"{}\"\n\n[[feed]]\nname = \"Known\"\nurl = \"https://known.example/rss\"\n\n[[feed]]\nurl = \"https://untitled.example/rss\"\n",
            dir.join("f.db").display()
        ),
    )
    .unwrap();
    let opml = dir.join("subs.opml");
    std::fs::write(
        &opml,
        format!("<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><body>\n{body}\n</body></opml>\n"),
    )
    .unwrap();
    (config, opml.display().to_string())
}

/// The files in `feeds.d/` beside the config, by name.
fn feeds_d(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("feeds.d"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn an_opml_import_with_a_bad_entry_writes_nothing_and_names_each_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (config, opml) = opml_setup(
        dir.path(),
        "<outline text=\"Good\" xmlUrl=\"https://good.example/rss\"/>\n\
         <outline text=\"Secrets\" xmlUrl=\"file:///etc/passwd\"/>\n\
         <outline text=\"News\" xmlUrl=\"https://a.example/rss\"/>\n\
         <outline text=\"News\" xmlUrl=\"https://b.example/rss\"/>\n\
         <outline text=\"Nowhere\" xmlUrl=\"not a url\"/>",
    );
    let out = feedwatch(&config, &["import-opml", &opml]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(
        err.contains(
            "line 4: \"Secrets\": only http:// and https:// feeds can be polled, not file:"
        ),
        "{err}"
    );
    assert!(
        err.contains("line 6: \"News\" (https://b.example/rss): the outline at line 5"),
        "{err}"
    );
    assert!(err.contains("line 7: \"Nowhere\""), "{err}");
    assert!(feeds_d(dir.path()).is_empty(), "{:?}", feeds_d(dir.path()));
    let check = feedwatch(&config, &["check"]).await;
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[tokio::test]
async fn an_opml_import_merges_a_feed_listed_twice_and_leaves_a_config_that_checks() {
    let dir = tempfile::tempdir().unwrap();
    // The same feed in two folders, under two titles; a feed already configured by name; one
    // without a title; titles whose file names would be the same; a name with escapes in it.
    let (config, opml) = opml_setup(
        dir.path(),
        "<outline text=\"World\"><outline text=\"Daily\" xmlUrl=\"https://d.example/rss\"/></outline>\n\
         <outline text=\"Europe\"><outline text=\"Daily (EU)\" xmlUrl=\"https://d.example/rss\"/></outline>\n\
         <outline text=\"Known\" xmlUrl=\"https://other.example/rss\"/>\n\
         <outline xmlUrl=\"https://plain.example/feed\"/>\n\
         <outline text=\"A &amp; B\" xmlUrl=\"https://ab.example/rss\"/>\n\
         <outline text=\"A / B\" xmlUrl=\"https://ab2.example/rss\"/>\n\
         <outline text=\"Bell&#x7;&#xD;&#xA;[[feed]]\" xmlUrl=\"https://bell.example/rss\"/>",
    );
    let out = feedwatch(&config, &["import-opml", &opml]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("5 feeds added"), "{stdout}");
    assert!(
        stderr.contains(":5: \"Known\" skipped: a configured feed has this name"),
        "{stderr}"
    );
    assert!(stderr.contains(":4: the same feed as line 3"), "{stderr}");
    assert_eq!(
        feeds_d(dir.path()),
        [
            "a-b-2.toml",
            "a-b.toml",
            "bell-feed.toml",
            "daily.toml",
            "plain-example.toml"
        ]
    );
    let daily = std::fs::read_to_string(dir.path().join("feeds.d/daily.toml")).unwrap();
    assert!(daily.contains("tags = [\"World\", \"Europe\"]"), "{daily}");
    let bell = std::fs::read_to_string(dir.path().join("feeds.d/bell-feed.toml")).unwrap();
    assert!(bell.contains("name = \"Bell [[feed]]\""), "{bell}");
    let plain = std::fs::read_to_string(dir.path().join("feeds.d/plain-example.toml")).unwrap();
    assert!(
        !plain.contains("name"),
        "an untitled feed keeps its own title: {plain}"
    );
    let check = feedwatch(&config, &["check"]).await;
    assert!(check.status.success(), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("7 feeds"),
        "{}",
        text(&check.stdout)
    );
}

#[tokio::test]
async fn an_opml_import_that_would_fail_check_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The second title is the key of the first feed, which has no title (its URL): every
    // later command would fail on two feeds of one name.
    let (config, opml) = opml_setup(
        dir.path(),
        "<outline xmlUrl=\"https://new.example/rss\"/>\n\
         <outline text=\"https://new.example/rss\" xmlUrl=\"https://clash.example/rss\"/>",
    );
    let out = feedwatch(&config, &["import-opml", &opml]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("do not pass check"), "{err}");
    assert!(err.contains("two feeds are named"), "{err}");
    assert!(feeds_d(dir.path()).is_empty(), "{:?}", feeds_d(dir.path()));
}

#[tokio::test]
async fn deeply_nested_or_repeated_opml_outlines_cost_little_and_make_one_feed() {
    let dir = tempfile::tempdir().unwrap();
    // Thousands of folders deep (234 KB once took 2 GB): refused, naming the limit.
    let mut deep = String::new();
    for i in 0..5_000 {
        deep.push_str(&format!(
            "<outline text=\"c{i}\"><outline text=\"f{i}\" xmlUrl=\"https://x.example/f\"/>"
        ));
    }
    deep.push_str(&"</outline>".repeat(5_000));
    let (config, opml) = opml_setup(dir.path(), &deep);
    let start = std::time::Instant::now();
    let out = feedwatch(&config, &["import-opml", &opml]).await;
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("outlines nest deeper than 16 levels"), "{err}");
    assert!(feeds_d(dir.path()).is_empty());

    // Well formed and 16 deep, 4,000 outlines of one feed under as many titles (once 4,000
    // files, 894 MB, 23 s): one file.
    let mut wide = "<outline text=\"Folder\">".repeat(15);
    for i in 0..4_000 {
        wide.push_str(&format!(
            "<outline text=\"Title {i}\" xmlUrl=\"https://x.example/f\"/>\n"
        ));
    }
    wide.push_str(&"</outline>".repeat(15));
    let (config, opml) = opml_setup(dir.path(), &wide);
    let out = feedwatch(&config, &["import-opml", &opml]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(feeds_d(dir.path()), ["title-0.toml"]);
    assert!(
        text(&out.stdout).contains("1 feeds added"),
        "{}",
        text(&out.stdout)
    );
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
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
