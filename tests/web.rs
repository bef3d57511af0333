//! The web pages and the JSON API of `feedwatch run`, over HTTP on loopback, against the
//! wire-copy pair (one story two outlets carried) stored by a real `once`: what a person and a
//! script see, that feed text is escaped, the security headers, the token a non-loopback
//! `listen` needs, and the API's JSON in the shape the README documents.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::*;

/// A feed title that would run script if a page put it into HTML unescaped (XML-escaped here,
/// as a feed carries it).
/// Escaped twice: the feed's title is HTML in XML, and the feed layer strips markup it reads as
/// tags; this one it reads as text, so the stored title is literally `Evil <script>…`.
const EVIL_TITLE: &str = "Evil &amp;lt;script&amp;gt;document.title='pwned';window.pwned=1&amp;lt;/script&amp;gt; &amp;lt;img src=x onerror=alert(1)&amp;gt;";

/// The fixture pair, a feed with a hostile title, a topic that matches the pair, and a webhook.
fn write_config(dir: &Path, base: &str, hook: &str, listen: &str, extra: &str) -> PathBuf {
    let config = format!(
        r#"
[daemon]
database = "{db}"
allow_private_addresses = true
user_agent = "feedwatch-test/1"
fetch_timeout = "5s"
listen = "{listen}"
{extra}

[defaults]
alert_backlog = true
interval = "1h"

[[feed]]
name = "TOME"
url = "{base}/tome/rss.xml"
tags = ["world"]

[[feed]]
name = "Daily Wire Service"
url = "{base}/wire/atom.xml"

[[feed]]
url = "{base}/evil/rss.xml"
full_article = false

[[topic]]
name = "iraq-troops"
query = 'iraq AND (troops OR "coalition forces") NOT sport'
notify = ["hook"]

[[notifier]]
name = "hook"
type = "webhook"
url = "{hook}"
"#,
        db = support::database(dir),
    );
    let path = dir.join("feedwatch.toml");
    std::fs::write(&path, config).unwrap();
    path
}

/// A daemon serving the stored pair, and where.
struct Served {
    dir: tempfile::TempDir,
    base: String,
    _daemon: Daemon,
    _site: Site,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }
}

fn serve_evil(base: &str, site: &Site) {
    site.route(
        "/evil/rss.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss(
                EVIL_TITLE,
                &[("evil-1", EVIL_TITLE, &format!("{base}/evil/1"))],
            ),
            etag: None,
        },
    );
}

/// Stores the pair with `once` (its alerts delivered), then starts `run` serving on loopback.
async fn serve_pair(extra: &str, listen_host: &str) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let (feeds, site) = http_server().await;
    serve_news(&feeds, &site);
    serve_evil(&feeds, &site);
    let hook = webhook_receiver(vec![500, 200]).await;
    let port = free_port();
    let config = write_config(
        dir.path(),
        &feeds,
        &hook.url,
        &format!("{listen_host}:{port}"),
        extra,
    );
    // Twice: the second pass retries the alert the webhook refused the first time.
    for _ in 0..2 {
        let once = feedwatch(&config, &["once"]).await;
        assert!(once.status.success(), "once: {}", text(&once.stderr));
    }
    let daemon = Daemon::start(&config, &dir.path().join("daemon.log"));
    wait_for_port(port);
    Served {
        dir,
        base: format!("http://127.0.0.1:{port}"),
        _daemon: daemon,
        _site: site,
    }
}

async fn get_json(url: &str) -> Value {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    assert_eq!(res.headers()["content-type"], "application/json", "{url}");
    res.json().await.unwrap()
}

async fn get_text(url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let res = reqwest::get(url).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_api_show_the_joined_outlets_the_alerts_and_the_testers_hits() {
    let s = serve_pair("", "127.0.0.1").await;

    // The story list: the troops story once, with the other outlet that carried it.
    let stories = get_json(&s.url("/api/stories")).await;
    let items = stories["items"].as_array().unwrap();
    let troops: Vec<&Value> = items
        .iter()
        .filter(|i| i["title"].as_str().unwrap().contains("Iraq"))
        .collect();
    assert_eq!(troops.len(), 1, "one story for the pair: {stories}");
    let story = troops[0];
    let outlets: Vec<&str> = story["also_at"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["feed"].as_str().unwrap())
        .collect();
    let own = story["feed"].as_str().unwrap();
    let mut both: Vec<&str> = outlets.iter().copied().chain([own]).collect();
    both.sort();
    assert_eq!(both, ["Daily Wire Service", "TOME"], "{story}");
    assert_eq!(story["topics"][0]["topic"], "iraq-troops", "{story}");
    assert!(
        !story["topics"][0]["terms"].as_array().unwrap().is_empty(),
        "the terms that matched: {story}"
    );

    // The page says the same to a person.
    let (status, _, html) = get_text(&s.url("/stories")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Also at: "), "{html}");
    assert!(html.contains("Daily Wire Service") && html.contains("TOME"));

    // Filtered by topic: only the pair's story; by a feed: that feed's stories.
    let by_topic = get_json(&s.url("/api/stories?topic=iraq-troops")).await;
    assert_eq!(by_topic["items"].as_array().unwrap().len(), 1, "{by_topic}");
    // The tag of TOME's feed: TOME's two stories (one of them the pair's), not the others.
    let by_tag = get_json(&s.url("/api/stories?tag=world")).await;
    let mut titles: Vec<&str> = by_tag["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles.len(), 2, "{by_tag}");
    assert!(
        titles[0].contains("Iraq") || titles[1].contains("Iraq"),
        "{titles:?}"
    );
    assert!(titles.iter().any(|t| t.contains("bakery")), "{titles:?}");
    let by_feed = get_json(&s.url("/api/stories?feed=TOME")).await;
    assert_eq!(by_feed["items"].as_array().unwrap().len(), 2, "{by_feed}");

    // Keyset pages: one story per page, each once, then no `next`.
    let mut seen = Vec::new();
    let mut next = String::new();
    loop {
        let page = get_json(&s.url(&format!("/api/stories?limit=1{next}"))).await;
        for i in page["items"].as_array().unwrap() {
            seen.push(i["id"].as_i64().unwrap());
        }
        match page["next"].as_str() {
            Some(n) => next = format!("&after={n}"),
            None => break,
        }
        assert!(seen.len() < 10, "pages never end: {seen:?}");
    }
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(seen.len(), items.len(), "every story once: {seen:?}");
    assert_eq!(unique, seen);

    // The story's page: its clean text.
    let id = story["id"].as_i64().unwrap();
    let (status, _, page) = get_text(&s.url(&format!("/stories/{id}"))).await;
    assert_eq!(status, 200);
    let expected = String::from_utf8(fixture(if own == "TOME" {
        "tome-iraq-troops.expected.txt"
    } else {
        "wire-iraq-troops.expected.txt"
    }))
    .unwrap();
    // The first paragraph (the first line is the headline).
    let first_sentence = expected.lines().find(|l| l.len() > 100).unwrap();
    let escaped = first_sentence.replace('&', "&amp;").replace('"', "&quot;");
    assert!(
        page.contains(&escaped),
        "the article's text on its page: {first_sentence}"
    );

    // Alerts: the webhook answered 500 then 200; the log shows both tries.
    let alerts = get_json(&s.url("/api/alerts")).await;
    let counts = &alerts["counts"][0];
    assert_eq!(counts["notifier"], "hook", "{alerts}");
    let alert = &alerts["items"][0];
    let alert_id = alert["id"].as_i64().unwrap();
    let detail = get_json(&s.url(&format!("/api/alerts/{alert_id}"))).await;
    let log: Vec<&str> = detail["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["state"].as_str().unwrap())
        .collect();
    assert_eq!(log, ["pending", "delivered"], "{detail}");
    assert!(
        detail["log"][0]["error"].as_str().unwrap().contains("500"),
        "{detail}"
    );
    let (status, _, page) = get_text(&s.url(&format!("/alerts/{alert_id}"))).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Delivery log") && page.contains("500"),
        "{page}"
    );

    // Feeds: each with its poll, how it went and how long it took.
    let feeds = get_json(&s.url("/api/feeds")).await;
    let tome = feeds["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "TOME")
        .unwrap();
    assert_eq!(tome["status"], "ok", "{tome}");
    assert_eq!(tome["items"], 2, "{tome}");
    assert_eq!(tome["polls"][0]["outcome"], "ok", "{tome}");
    assert!(tome["polls"][0]["duration_ms"].is_i64(), "{tome}");
    let (_, _, page) = get_text(&s.url("/feeds")).await;
    assert_eq!(
        page.matches("<svg class=\"polls\"").count(),
        3,
        "a chart per feed"
    );

    // The tester: the topic's query finds the pair's story, its terms marked.
    let found = get_json(&s.url("/api/topics/test?q=iraq+AND+troops")).await;
    let hits = found["items"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["id"], story["id"]);
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("**"),
        "{found}"
    );
    let (_, _, page) = get_text(&s.url("/topics?q=iraq+AND+troops")).await;
    assert!(page.contains("<mark>"), "matched terms marked on the page");

    // Topics: the configured one, with its hits of today.
    let topics = get_json(&s.url("/api/topics")).await;
    assert_eq!(topics["items"][0]["name"], "iraq-troops");
    assert_eq!(topics["items"][0]["hits"], 1, "{topics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_text_is_escaped_and_every_answer_carries_the_security_headers() {
    let s = serve_pair("", "127.0.0.1").await;
    for path in [
        "/",
        "/feeds",
        "/stories",
        "/topics",
        "/alerts",
        "/api/stories",
    ] {
        let (status, headers, body) = get_text(&s.url(path)).await;
        assert_eq!(status, 200, "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        if !path.starts_with("/api/") {
            assert!(
                !body.contains("<script") && !body.contains("<img"),
                "{path}: a feed's markup got into the page"
            );
        }
    }
    let (_, _, page) = get_text(&s.url("/stories")).await;
    assert!(
        page.contains("&lt;script&gt;document.title="),
        "the hostile title shown as text: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_get_one_clear_error() {
    let s = serve_pair("", "127.0.0.1").await;
    for (path, says) in [
        ("/api/stories?limit=5000", "1 to 200"),
        ("/api/stories?since=yesterday", "24h"),
        ("/api/stories?after=nonsense", "next"),
        (
            "/api/alerts?state=lost",
            "pending, sending, delivered or failed",
        ),
        ("/api/topics/test?q=iraq+AND", "not valid"),
        ("/api/topics/test", "q="),
    ] {
        let res = reqwest::get(s.url(path)).await.unwrap();
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    let (status, _, page) = get_text(&s.url("/stories/999999")).await;
    assert_eq!(status, 404);
    assert!(page.contains("no story 999999"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_address_beyond_loopback_is_refused_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/hook",
        &format!("0.0.0.0:{}", free_port()),
        "",
    );
    for command in ["check", "run"] {
        let out = feedwatch(&config, &[command]).await;
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = text(&out.stderr);
        assert!(
            err.contains("daemon.listen") && err.contains("api_token_file"),
            "{command}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_page_wants_it_and_it_is_never_logged() {
    let secret = "tok-3f9a6c1e8b2d4f70a5";
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("api.token");
    std::fs::write(&token_file, format!("{secret}\n")).unwrap();
    let s = serve_pair(
        &format!("api_token_file = \"{}\"", token_file.display()),
        "0.0.0.0",
    )
    .await;
    let client = reqwest::Client::new();
    for path in ["/", "/stories", "/api/stories", "/metrics"] {
        let res = client.get(s.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 401, "{path} without the token");
        assert!(res.headers().contains_key("www-authenticate"), "{path}");
        let wrong = client
            .get(s.url(path))
            .bearer_auth("tok-3f9a6c1e8b2d4f70a6")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401, "{path} with a wrong token");
        let ok = client
            .get(s.url(path))
            .bearer_auth(secret)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200, "{path} with the token");
    }
    // A browser's basic auth (any user name, the token as password).
    let basic = client
        .get(s.url("/feeds"))
        .basic_auth("me", Some(secret))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    // Health checks need no token.
    let health = client.get(s.url("/healthz")).send().await.unwrap();
    assert_ne!(health.status(), 401);
    let log = s.log();
    assert!(log.contains("serving the web pages"), "{log}");
    assert!(!log.contains(secret), "the token is in the log: {log}");
}

/// The README's example of each endpoint, from its "JSON API" section: the block of JSON under
/// the line naming `GET /api/...`.
fn documented_shapes() -> Vec<(String, Value)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("#### `GET ") else {
            continue;
        };
        let endpoint = rest.trim_end_matches('`').to_string();
        let mut block = String::new();
        let mut inside = false;
        for l in lines.by_ref() {
            if l.trim() == "```json" {
                inside = true;
            } else if inside && l.trim() == "```" {
                break;
            } else if inside {
                block.push_str(l);
                block.push('\n');
            }
        }
        let shape: Value = serde_json::from_str(&block)
            .unwrap_or_else(|e| panic!("README's JSON for {endpoint} does not parse: {e}"));
        out.push((endpoint, shape));
    }
    out
}

/// Checks `actual` against the documented example: the same keys at every level, each value
/// of the documented type (`null` allowed where a value may be missing: the example shows the
/// type it has when present), every element of an array like the example's first.
fn same_shape(path: &str, documented: &Value, actual: &Value, problems: &mut Vec<String>) {
    match (documented, actual) {
        (_, Value::Null) => {}
        (Value::Object(d), Value::Object(a)) => {
            for k in d.keys() {
                if !a.contains_key(k) {
                    problems.push(format!("{path}.{k}: documented, missing"));
                }
            }
            for (k, v) in a {
                match d.get(k) {
                    None => problems.push(format!("{path}.{k}: served, not documented")),
                    Some(dv) => same_shape(&format!("{path}.{k}"), dv, v, problems),
                }
            }
        }
        (Value::Array(d), Value::Array(a)) => {
            if let Some(first) = d.first() {
                for (i, v) in a.iter().enumerate() {
                    same_shape(&format!("{path}[{i}]"), first, v, problems);
                }
            }
        }
        (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_)) => {}
        (Value::Null, _) => {
            problems.push(format!("{path}: documented as null only, served {actual}"))
        }
        _ => problems.push(format!(
            "{path}: documented as {documented}, served {actual}"
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_in_the_shape_the_readme_documents() {
    let s = serve_pair("", "127.0.0.1").await;
    let story = get_json(&s.url("/api/stories?topic=iraq-troops")).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let alert = get_json(&s.url("/api/alerts")).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let shapes = documented_shapes();
    let endpoints: Vec<&str> = shapes.iter().map(|(e, _)| e.as_str()).collect();
    for wanted in [
        "/api/feeds",
        "/api/stories",
        "/api/stories/ID",
        "/api/topics",
        "/api/topics/test?q=QUERY",
        "/api/alerts",
        "/api/alerts/ID",
    ] {
        assert!(
            endpoints.contains(&wanted),
            "README documents {wanted}: {endpoints:?}"
        );
    }
    let mut problems = Vec::new();
    for (endpoint, shape) in &shapes {
        let path = endpoint
            .replace("/api/stories/ID", &format!("/api/stories/{story}"))
            .replace("/api/alerts/ID", &format!("/api/alerts/{alert}"))
            .replace("QUERY", "iraq+AND+troops");
        let actual = get_json(&s.url(&path)).await;
        same_shape(endpoint, shape, &actual, &mut problems);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every page in headless Chromium (Debian's), driven over the DevTools protocol: it loads
/// without console errors (a CSP violation is one), the story list shows the pair's joined
/// outlets, the tester's form finds the story, the script in a feed's title does not run, and
/// no request leaves this server. Screenshots of each page go to
/// `target/tmp/web-screenshots/`. SQLite only: the pages are the same on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_pages_load_cleanly_show_the_outlets_and_run_no_feed_script() {
    use chromiumoxide::cdp::browser_protocol::log::{EventEntryAdded, LogEntryLevel};
    use chromiumoxide::cdp::browser_protocol::network::EventRequestWillBeSent;
    use chromiumoxide::cdp::js_protocol::runtime::{
        ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
    };
    use chromiumoxide::page::ScreenshotParams;
    use chromiumoxide::{Browser, BrowserConfig};
    use futures_util::StreamExt;
    use std::sync::{Arc, Mutex};

    if Backend::from_env() == Backend::Postgres {
        return;
    }
    let s = serve_pair("", "127.0.0.1").await;
    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
                .into_iter()
                .find(|p| Path::new(p).exists())
                .expect("the browser tests need Debian's chromium (apt-get install chromium)"),
        )
        .new_headless_mode()
        // Root (CI) cannot use Chromium's sandbox.
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1280, 900)
        .viewport(None)
        // Nothing but loopback: any other request goes to a proxy that is not there.
        .arg("--proxy-server=http://127.0.0.1:9")
        .arg("--proxy-bypass-list=<-loopback>")
        .arg("--disable-component-update")
        .arg("--disable-gpu")
        .build()
        .unwrap();
    let (mut browser, mut handler) = Browser::launch(config).await.unwrap();
    let events = tokio::spawn(async move { while handler.next().await.is_some() {} });
    let page = browser.new_page("about:blank").await.unwrap();
    page.enable_log().await.unwrap();

    let problems: Arc<Mutex<Vec<String>>> = Arc::default();
    let requests: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut console = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let mut log = page.event_listener::<EventEntryAdded>().await.unwrap();
    let mut thrown = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let mut sent = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .unwrap();
    let (p1, p2, p3, r) = (
        problems.clone(),
        problems.clone(),
        problems.clone(),
        requests.clone(),
    );
    let listeners = [
        tokio::spawn(async move {
            while let Some(e) = console.next().await {
                if matches!(
                    e.r#type,
                    ConsoleApiCalledType::Error | ConsoleApiCalledType::Warning
                ) {
                    p1.lock().unwrap().push(format!("console: {:?}", e.args));
                }
            }
        }),
        tokio::spawn(async move {
            while let Some(e) = log.next().await {
                if matches!(e.entry.level, LogEntryLevel::Error | LogEntryLevel::Warning) {
                    p2.lock()
                        .unwrap()
                        .push(format!("log: {} {:?}", e.entry.text, e.entry.url));
                }
            }
        }),
        tokio::spawn(async move {
            while let Some(e) = thrown.next().await {
                p3.lock()
                    .unwrap()
                    .push(format!("exception: {}", e.exception_details.text));
            }
        }),
        tokio::spawn(async move {
            while let Some(e) = sent.next().await {
                r.lock().unwrap().push(e.request.url.clone());
            }
        }),
    ];

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let story_id = get_json(&s.url("/api/stories?topic=iraq-troops")).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let alert_id = get_json(&s.url("/api/alerts")).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let pages = [
        ("overview", "/".to_string()),
        ("feeds", "/feeds".to_string()),
        ("stories", "/stories".to_string()),
        ("story", format!("/stories/{story_id}")),
        ("topics", "/topics".to_string()),
        ("alerts", "/alerts".to_string()),
        ("alert", format!("/alerts/{alert_id}")),
    ];
    for (name, path) in &pages {
        page.goto(s.url(path)).await.unwrap();
        page.wait_for_navigation().await.unwrap();
        let title = page.get_title().await.unwrap().unwrap_or_default();
        assert!(title.ends_with("· feedwatch"), "{path}: title {title:?}");
        page.save_screenshot(
            ScreenshotParams::builder().full_page(true).build(),
            shots.join(format!("{name}.png")),
        )
        .await
        .unwrap();
        if *name == "stories" {
            // The pair's story, with the other outlet that carried it.
            let also: Vec<String> = {
                let mut out = Vec::new();
                for e in page.find_elements(".also .outlet").await.unwrap() {
                    out.push(e.inner_text().await.unwrap().unwrap_or_default());
                }
                out
            };
            assert_eq!(also.len(), 1, "one story with another outlet: {also:?}");
            assert!(
                also[0] == "Daily Wire Service" || also[0] == "TOME",
                "{also:?}"
            );
            // The feed's script is on the page as text, and did not run.
            let text: String = page
                .evaluate("document.body.innerText")
                .await
                .unwrap()
                .into_value()
                .unwrap();
            assert!(text.contains("<script>document.title='pwned'"), "{text}");
            let ran: bool = page
                .evaluate("window.pwned !== undefined || document.title === 'pwned'")
                .await
                .unwrap()
                .into_value()
                .unwrap();
            assert!(!ran, "the feed title's script ran");
        }
    }

    // The tester, used as a person would: type a query, press Enter.
    page.goto(s.url("/topics")).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    let input = page
        .find_element("form.tester input[name=q]")
        .await
        .unwrap();
    input.click().await.unwrap();
    input.type_str("iraq AND troops").await.unwrap();
    input.press_key("Enter").await.unwrap();
    page.wait_for_navigation().await.unwrap();
    for _ in 0..50 {
        // Asked while the answer is still loading, the page may have no document yet.
        if page
            .find_elements("ol.hits li")
            .await
            .is_ok_and(|hits| hits.len() == 1)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let hits = page.find_elements("ol.hits li").await.unwrap();
    assert_eq!(hits.len(), 1, "the tester's hits");
    let marked = page.find_elements("ol.hits mark").await.unwrap();
    assert!(!marked.is_empty(), "matched terms marked");
    page.save_screenshot(
        ScreenshotParams::builder().full_page(true).build(),
        shots.join("topic-tester.png"),
    )
    .await
    .unwrap();

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let problems = problems.lock().unwrap().clone();
    assert!(problems.is_empty(), "console errors: {problems:#?}");
    let requests = requests.lock().unwrap().clone();
    let elsewhere: Vec<&String> = requests
        .iter()
        .filter(|u| !u.starts_with(&s.base) && u.as_str() != "about:blank")
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests beyond this server: {elsewhere:?}"
    );
    assert!(requests.iter().any(|u| u.ends_with("/style.css")));

    browser.close().await.unwrap();
    let _ = browser.wait().await;
    events.abort();
    for l in listeners {
        l.abort();
    }
}
