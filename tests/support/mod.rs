//! Real servers on loopback for whole-daemon tests: an HTTP server serving feeds and pages (and
//! misbehaving on purpose), a webhook receiver, and an SMTP server (Debian's aiosmtpd).
#![allow(dead_code)]

pub mod postgres;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// What the test HTTP server answers on a path.
#[derive(Clone)]
pub enum Route {
    /// A body with a content type; with `etag`, a matching If-None-Match gets a 304.
    Body {
        content_type: &'static str,
        body: Vec<u8>,
        etag: Option<String>,
    },
    /// A redirect with this status to this location.
    Redirect { status: u16, to: String },
    /// A bare status code (with optional Retry-After).
    Status {
        status: u16,
        retry_after: Option<u32>,
    },
    /// Headers are sent, then the body never ends (streams `total` bytes of filler, slowly).
    Endless { total: usize },
    /// The connection is accepted and nothing is ever answered.
    Hang,
}

impl Route {
    /// An RSS feed's body, with no ETag: what most tests serve.
    pub fn rss(body: Vec<u8>) -> Route {
        Route::Body {
            content_type: "application/rss+xml",
            body,
            etag: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    /// When the request came, on tokio's clock (paused and advanced by tests that drive time).
    pub at: tokio::time::Instant,
}

#[derive(Clone, Default)]
pub struct Site {
    routes: Arc<Mutex<HashMap<String, Route>>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Site {
    pub fn route(&self, path: &str, route: Route) {
        self.routes.lock().unwrap().insert(path.to_string(), route);
    }

    pub fn requests_to(&self, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

/// Starts the HTTP server on 127.0.0.1:0; returns its base URL and the site to fill.
pub async fn http_server() -> (String, Site) {
    let site = Site::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(serve).with_state(site.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), site)
}

async fn serve(State(site): State<Site>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    site.seen.lock().unwrap().push(Seen {
        path: path.clone(),
        headers: req.headers().clone(),
        at: tokio::time::Instant::now(),
    });
    let route = site.routes.lock().unwrap().get(&path).cloned();
    let mut b = Response::builder();
    match route {
        None => b.status(404).body(Body::from("not found")).unwrap(),
        Some(Route::Body {
            content_type,
            body,
            etag,
        }) => {
            if let Some(tag) = &etag {
                let inm = req
                    .headers()
                    .get("if-none-match")
                    .and_then(|v| v.to_str().ok());
                if inm == Some(tag.as_str()) {
                    return b
                        .status(304)
                        .header("etag", tag)
                        .body(Body::empty())
                        .unwrap();
                }
                b = b.header("etag", tag);
            }
            b.status(200)
                .header("content-type", content_type)
                .body(Body::from(body))
                .unwrap()
        }
        Some(Route::Redirect { status, to }) => b
            .status(status)
            .header("location", to)
            .body(Body::empty())
            .unwrap(),
        Some(Route::Status {
            status,
            retry_after,
        }) => {
            if let Some(r) = retry_after {
                b = b.header("retry-after", r.to_string());
            }
            b.status(status)
                .body(Body::from(format!("status {status}")))
                .unwrap()
        }
        Some(Route::Endless { total }) => {
            let chunk = vec![b'x'; 64 * 1024];
            let chunks = total / chunk.len() + 1;
            let stream = futures_util::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            b.status(200)
                .header("content-type", "application/rss+xml")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        Some(Route::Hang) => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

/// A webhook receiver answering with the given statuses in turn (the last one repeats).
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

pub async fn webhook_receiver(statuses: Vec<u16>) -> Receiver {
    slow_webhook_receiver(statuses, Duration::ZERO).await
}

/// Like [`webhook_receiver`], but each answer comes after `delay` (the request is recorded at
/// once), so a test can kill the sender while a delivery is in flight.
pub async fn slow_webhook_receiver(statuses: Vec<u16>, delay: Duration) -> Receiver {
    let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let statuses = Arc::new(statuses);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let r = received.clone();
    let app = Router::new().fallback(move |headers: HeaderMap, body: String| {
        let r = r.clone();
        let statuses = statuses.clone();
        async move {
            let status = {
                let mut log = r.lock().unwrap();
                let n = log.len();
                log.push((headers, body));
                statuses.get(n).or(statuses.last()).copied().unwrap_or(200)
            };
            tokio::time::sleep(delay).await;
            StatusCode::from_u16(status).unwrap()
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/hook"),
        received,
    }
}

/// A real SMTP server (aiosmtpd, via `tests/fixtures/notify/smtp_sink.py`) writing each
/// message it accepts into a directory.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    child: Child,
}

impl SmtpServer {
    pub fn start(dir: &Path) -> SmtpServer {
        Self::start_on(dir, free_port())
    }

    pub fn start_on(dir: &Path, port: u16) -> SmtpServer {
        let maildir = dir.join("mail");
        std::fs::create_dir_all(&maildir).unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/smtp_sink.py");
        let child = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&maildir)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "the SMTP tests need Debian's python3-aiosmtpd (apt-get install python3-aiosmtpd)",
            );
        let server = SmtpServer {
            port,
            maildir,
            child,
        };
        wait_for_port(port);
        server
    }

    /// The raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&self.maildir) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "eml") {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that is free now and that no `bind(":0")` will hand out meanwhile: below the
/// kernel's ephemeral range, so a test that leaves it closed for a while (the mail server
/// "down") does not find another test's server on it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 400) as u16 * 25,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < 32_000, "no free port below the ephemeral range");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Waits (bounded) until something accepts connections on the port.
pub fn wait_for_port(port: u16) {
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing is listening on port {port} after 10 s: did the test server start?");
}

/// Runs the real `feedwatch` binary with a config, from a blocking thread.
pub async fn feedwatch(config: &Path, args: &[&str]) -> Output {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env_remove("FEEDWATCH_CONFIG")
            .env_remove("FEEDWATCH_DATABASE")
            .env_remove("RUST_LOG")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// [`rss`] for items built at run time: (guid, title, link).
pub fn rss_owned(title: &str, items: &[(String, String, String)]) -> Vec<u8> {
    let refs: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    rss(title, &refs)
}

pub fn rss(title: &str, items: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>{title}</title><link>https://example.org/</link><description>test</description>\n"
    );
    for (guid, t, link) in items {
        s.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{guid}</guid><title>{t}</title><link>{link}</link><pubDate>Wed, 29 May 2024 10:00:00 GMT</pubDate><description>{t}</description></item>\n"
        ));
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

pub fn atom(title: &str, entries: &[(&str, &str, &str)]) -> Vec<u8> {
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{title}</title><id>urn:test:{title}</id><updated>2024-05-29T12:00:00Z</updated>\n"
    );
    for (id, t, link) in entries {
        s.push_str(&format!(
            "<entry><id>{id}</id><title>{t}</title><link href=\"{link}\"/><updated>2024-05-29T12:00:00Z</updated><summary>{t}</summary></entry>\n"
        ));
    }
    s.push_str("</feed>\n");
    s.into_bytes()
}

/// Polls `check` every 100 ms for at most `secs` seconds: a bound against hanging, not a timing
/// assertion.
pub async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..secs * 10 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for: {what}");
}

/// The backend the whole-daemon tests run on: SQLite unless `FEEDWATCH_TEST_BACKEND=postgres`
/// (the README's test command runs them once on each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_env() -> Backend {
        match std::env::var("FEEDWATCH_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("FEEDWATCH_TEST_BACKEND is {other:?}: say sqlite or postgres"),
        }
    }
}

/// The `database = "…"` value for a test working in `dir`, on the backend of the run: the
/// same database every time it is asked for the same folder (a test rewriting its config keeps
/// its data).
pub fn database(dir: &Path) -> String {
    database_on(Backend::from_env(), dir)
}

/// [`database`] on a backend chosen by the test.
pub fn database_on(backend: Backend, dir: &Path) -> String {
    static DATABASES: Mutex<Option<HashMap<(PathBuf, bool), String>>> = Mutex::new(None);
    let mut known = DATABASES.lock().unwrap_or_else(|p| p.into_inner());
    let key = (dir.to_path_buf(), backend == Backend::Postgres);
    known
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert_with(|| match backend {
            Backend::Sqlite => dir.join("feedwatch.db").display().to_string(),
            Backend::Postgres => postgres::fresh_database(),
        })
        .clone()
}

/// Runs SQL on the database of a test working in `dir`, as an operator would with its own
/// client (to age rows, say).
pub fn run_sql(dir: &Path, sql: &str) {
    let db = database(dir);
    if db.starts_with("postgres://") {
        postgres::cluster().psql(&db, sql);
    } else {
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }
}

/// The wire-copy pair on `site`: TOME's RSS feed (the Iraq troops story and a bakery story) and
/// the Daily Wire Service's Atom feed (the same troops story, in other words), with their
/// article pages: one story that two outlets carried.
pub fn serve_news(base: &str, site: &Site) {
    site.route(
        "/tome/rss.xml",
        Route::Body {
            content_type: "application/rss+xml",
            body: rss(
                "TOME",
                &[
                    (
                        "tome-1",
                        "Future of Foreign Troops in Iraq to Be Discussed by Washington and Baghdad",
                        &format!("{base}/tome/world/troops?utm_source=rss&amp;utm_medium=feed"),
                    ),
                    ("tome-2", "Local bakery wins national bread prize", &format!("{base}/tome/life/bakery")),
                ],
            ),
            etag: Some("\"tome-v1\"".into()),
        },
    );
    site.route(
        "/wire/atom.xml",
        Route::Body {
            content_type: "application/atom+xml",
            body: atom(
                "Daily Wire Service",
                &[(
                    "urn:wire:1",
                    "US and Iraq to Begin Talks on Future of Coalition Troops",
                    &format!("{base}/wire/iraq-troops"),
                )],
            ),
            etag: Some("\"wire-v1\"".into()),
        },
    );
    site.route(
        "/tome/world/troops",
        Route::Body {
            content_type: "text/html; charset=utf-8",
            body: fixture("tome-iraq-troops.html"),
            etag: None,
        },
    );
    site.route(
        "/wire/iraq-troops",
        Route::Body {
            content_type: "text/html; charset=utf-8",
            body: fixture("wire-iraq-troops.html"),
            etag: None,
        },
    );
    site.route(
        "/tome/life/bakery",
        Route::Body {
            content_type: "text/html",
            body: b"<html><head><title>Bakery | TOME</title></head><body><article><h1>Local bakery wins national bread prize</h1>\
                <p>A small bakery in the old town has won the national bread prize for its sourdough loaf, judges said on Tuesday.</p>\
                <p>The owners said they would keep their prices unchanged and thanked their customers for years of support.</p>\
                </article></body></html>"
                .to_vec(),
            etag: None,
        },
    );
}

/// `feedwatch run` on a config, killed when dropped (a failing test leaves no daemon behind).
pub struct Daemon {
    pub child: Child,
}

impl Daemon {
    /// Starts `feedwatch run` with `config`; its log goes to `log` (a file the test may read).
    pub fn start(config: &Path, log: &Path) -> Daemon {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_feedwatch"))
            .arg("--config")
            .arg(config)
            .arg("run")
            .env_remove("FEEDWATCH_CONFIG")
            .env_remove("FEEDWATCH_DATABASE")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon { child }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
