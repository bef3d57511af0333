//! Fetcher tests against real HTTP servers on loopback (axum, or raw sockets for the odd cases).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::*;

const FEED: &[u8] = include_bytes!("../../tests/fixtures/fetch/feed.xml");
const ETAG: &str = "\"v1\"";
const LAST_MODIFIED: &str = "Wed, 25 Nov 2026 10:00:00 GMT";

/// What the server saw, for asserting on the requests the fetcher sent.
#[derive(Default)]
struct Seen {
    if_none_match: Mutex<Vec<Option<String>>>,
    if_modified_since: Mutex<Vec<Option<String>>>,
    accept_encoding: Mutex<Vec<Option<String>>>,
    user_agent: Mutex<Vec<Option<String>>>,
}

fn header_of(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

async fn feed(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    let inm = header_of(&headers, header::IF_NONE_MATCH);
    seen.if_none_match.lock().unwrap().push(inm.clone());
    seen.if_modified_since
        .lock()
        .unwrap()
        .push(header_of(&headers, header::IF_MODIFIED_SINCE));
    seen.user_agent
        .lock()
        .unwrap()
        .push(header_of(&headers, header::USER_AGENT));
    if inm.as_deref() == Some(ETAG) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::CACHE_CONTROL, "max-age=300")],
        )
            .into_response();
    }
    (
        [
            (header::ETAG, ETAG),
            (header::LAST_MODIFIED, LAST_MODIFIED),
            (header::CONTENT_TYPE, "Application/RSS+XML; charset=UTF-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        FEED,
    )
        .into_response()
}

async fn gzipped(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    seen.accept_encoding
        .lock()
        .unwrap()
        .push(header_of(&headers, header::ACCEPT_ENCODING));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(FEED).unwrap();
    let compressed = encoder.finish().unwrap();
    (
        [
            (header::CONTENT_ENCODING, "gzip"),
            (header::CONTENT_TYPE, "application/rss+xml"),
        ],
        compressed,
    )
        .into_response()
}

/// A body that never ends: the fetcher must stop at its cap.
async fn endless() -> Response {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
    Body::from_stream(stream).into_response()
}

fn redirect(status: StatusCode, location: &'static str) -> Response {
    (status, [(header::LOCATION, location)]).into_response()
}

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn feed_server() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route("/feed", get(feed))
        .route("/gz", get(gzipped))
        .route("/endless", get(endless))
        .route(
            "/p1",
            get(|| async { redirect(StatusCode::MOVED_PERMANENTLY, "/dir/p2") }),
        )
        .route(
            "/dir/p2",
            get(|| async { redirect(StatusCode::PERMANENT_REDIRECT, "../feed") }),
        )
        .route(
            "/t1",
            get(|| async { redirect(StatusCode::MOVED_PERMANENTLY, "/t2") }),
        )
        .route(
            "/t2",
            get(|| async { redirect(StatusCode::FOUND, "/feed") }),
        )
        .route(
            "/loop1",
            get(|| async { redirect(StatusCode::FOUND, "/loop2") }),
        )
        .route(
            "/loop2",
            get(|| async { redirect(StatusCode::FOUND, "/loop1") }),
        )
        .route("/r1", get(|| async { redirect(StatusCode::FOUND, "/r2") }))
        .route("/r2", get(|| async { redirect(StatusCode::FOUND, "/r3") }))
        .route("/r3", get(|| async { redirect(StatusCode::FOUND, "/r4") }))
        .route("/r4", get(|| async { redirect(StatusCode::FOUND, "/r5") }))
        .route("/r5", get(|| async { redirect(StatusCode::FOUND, "/r6") }))
        .route(
            "/r6",
            get(|| async { redirect(StatusCode::FOUND, "/feed") }),
        )
        .route(
            "/to-ftp",
            get(|| async { redirect(StatusCode::FOUND, "ftp://example.invalid/feed") }),
        )
        .route("/gone", get(|| async { StatusCode::GONE }))
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "120")],
                )
            }),
        )
        .route("/down", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
        .with_state(seen.clone());
    (serve(router).await, seen)
}

fn options() -> FetchOptions {
    FetchOptions {
        allow_private_addresses: true,
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(10),
        ..FetchOptions::default()
    }
}

fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).unwrap()
}

fn fetched(outcome: FetchOutcome) -> Fetched {
    match outcome {
        FetchOutcome::Fetched(f) => f,
        other => panic!("expected a body, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unchanged_feed_costs_a_304_on_the_conditional_request() {
    let (addr, seen) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let first = fetched(
        fetcher
            .get(&url(addr, "/feed"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    assert_eq!(first.body, FEED);
    assert_eq!(first.etag.as_deref(), Some(ETAG));
    assert_eq!(first.last_modified.as_deref(), Some(LAST_MODIFIED));

    let conditional = Conditional {
        etag: first.etag.clone(),
        last_modified: first.last_modified.clone(),
    };
    let second = fetcher
        .get(&url(addr, "/feed"), &conditional, FEED_MAX_BYTES)
        .await
        .unwrap();
    match second {
        FetchOutcome::NotModified {
            final_url,
            moved_permanently,
            max_age,
            ..
        } => {
            assert_eq!(final_url, url(addr, "/feed"));
            assert_eq!(moved_permanently, None);
            assert_eq!(max_age, Some(Duration::from_secs(300)));
        }
        other => panic!("expected 304, got {other:?}"),
    }
    assert_eq!(
        *seen.if_none_match.lock().unwrap(),
        vec![None, Some(ETAG.to_string())]
    );
    assert_eq!(
        *seen.if_modified_since.lock().unwrap(),
        vec![None, Some(LAST_MODIFIED.to_string())]
    );
}

#[tokio::test]
async fn content_type_charset_cache_age_and_user_agent_are_reported() {
    let (addr, seen) = feed_server().await;
    let fetcher = Fetcher::new(FetchOptions {
        user_agent: "feedwatch-test/1 (+https://example.invalid/bot)".into(),
        ..options()
    })
    .unwrap();
    let got = fetched(
        fetcher
            .get(&url(addr, "/feed"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    assert_eq!(got.content_type.as_deref(), Some("application/rss+xml"));
    assert_eq!(got.charset.as_deref(), Some("utf-8"));
    assert_eq!(got.max_age, Some(Duration::from_secs(300)));
    assert_eq!(
        seen.user_agent.lock().unwrap()[0].as_deref(),
        Some("feedwatch-test/1 (+https://example.invalid/bot)")
    );
}

#[tokio::test]
async fn a_gzipped_body_is_decompressed() {
    let (addr, seen) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let got = fetched(
        fetcher
            .get(&url(addr, "/gz"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    assert_eq!(got.body, FEED);
    let accepted = seen.accept_encoding.lock().unwrap()[0].clone().unwrap();
    assert!(
        accepted.contains("gzip") && accepted.contains("br"),
        "{accepted}"
    );
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_without_reading_it_all() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(&url(addr, "/endless"), &Conditional::default(), 1024 * 1024)
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 1048576 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_cap_counts_the_decompressed_size_not_the_compressed_one() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    // The gzipped fixture is smaller than the raw one: the cap applies to what comes out.
    let err = fetcher
        .get(&url(addr, "/gz"), &Conditional::default(), FEED.len() - 1)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

/// A server that announces a 100 MB body, sends three bytes and then waits for ever.
async fn announcing_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\nabc")
                .await;
            held.push(socket);
        }
    });
    addr
}

#[tokio::test]
async fn a_content_length_over_the_cap_is_refused_before_the_body() {
    let addr = announcing_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    // Were the header ignored, this would wait for the body and end in a Timeout instead.
    let err = fetcher
        .get(&url(addr, "/"), &Conditional::default(), 1024 * 1024)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn permanent_redirects_are_followed_and_reported_as_a_move() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let got = fetched(
        fetcher
            .get(&url(addr, "/p1"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    // /dir/p2 redirects to the relative "../feed".
    assert_eq!(got.final_url, url(addr, "/feed"));
    assert_eq!(got.moved_permanently, Some(url(addr, "/feed")));
    assert_eq!(got.body, FEED);
}

#[tokio::test]
async fn a_temporary_redirect_on_the_way_is_not_a_move() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let got = fetched(
        fetcher
            .get(&url(addr, "/t1"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    assert_eq!(got.final_url, url(addr, "/feed"));
    assert_eq!(got.moved_permanently, None);
}

#[tokio::test]
async fn a_page_without_redirects_is_not_a_move() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let got = fetched(
        fetcher
            .get(&url(addr, "/feed"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    assert_eq!(got.moved_permanently, None);
}

#[tokio::test]
async fn a_redirect_loop_is_refused() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(
            &url(addr, "/loop1"),
            &Conditional::default(),
            FEED_MAX_BYTES,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects(5)), "{err:?}");
}

#[tokio::test]
async fn more_than_five_redirects_are_refused_and_five_are_followed() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(&url(addr, "/r1"), &Conditional::default(), FEED_MAX_BYTES)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects(5)), "{err:?}");
    let got = fetched(
        fetcher
            .get(&url(addr, "/r2"), &Conditional::default(), FEED_MAX_BYTES)
            .await
            .unwrap(),
    );
    assert_eq!(got.final_url, url(addr, "/feed"));
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_refused() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(
            &url(addr, "/to-ftp"),
            &Conditional::default(),
            FEED_MAX_BYTES,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::InvalidUrl(u) if u.starts_with("ftp://")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_non_http_url_is_refused_without_a_request() {
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(
            &Url::parse("file:///etc/passwd").unwrap(),
            &Conditional::default(),
            FEED_MAX_BYTES,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::InvalidUrl(_)), "{err:?}");
}

#[tokio::test]
async fn status_410_means_gone() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(&url(addr, "/gone"), &Conditional::default(), FEED_MAX_BYTES)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Gone), "{err:?}");
}

#[tokio::test]
async fn status_429_carries_its_retry_after() {
    let (addr, _) = feed_server().await;
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(&url(addr, "/busy"), &Conditional::default(), FEED_MAX_BYTES)
        .await
        .unwrap_err();
    match err {
        FetchError::Status { code, retry_after } => {
            assert_eq!(code, 429);
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
        }
        other => panic!("expected a 429 status, got {other:?}"),
    }
    let err = fetcher
        .get(&url(addr, "/down"), &Conditional::default(), FEED_MAX_BYTES)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::Status {
                code: 503,
                retry_after: None
            }
        ),
        "{err:?}"
    );
}

/// A server that accepts connections and never says a word.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    addr
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let addr = silent_server().await;
    let fetcher = Fetcher::new(FetchOptions {
        connect_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_millis(300),
        ..options()
    })
    .unwrap();
    let err = fetcher
        .get(&url(addr, "/"), &Conditional::default(), FEED_MAX_BYTES)
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_a_short_network_error_without_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let fetcher = Fetcher::new(options()).unwrap();
    let err = fetcher
        .get(
            &url(addr, "/feed?token=s3cret"),
            &Conditional::default(),
            FEED_MAX_BYTES,
        )
        .await
        .unwrap_err();
    match err {
        FetchError::Network(cause) => {
            assert!(!cause.contains("s3cret"), "{cause}");
            assert!(cause.to_lowercase().contains("refused"), "{cause}");
            assert!(cause.len() <= MAX_CAUSE_CHARS + 4, "{cause}");
        }
        other => panic!("expected a network error, got {other:?}"),
    }
}

#[tokio::test]
async fn loopback_targets_are_blocked_unless_allowed() {
    let (addr, _) = feed_server().await;
    let port = addr.port();
    let fetcher = Fetcher::new(FetchOptions::default()).unwrap();
    for (target, host) in [
        (format!("http://127.0.0.1:{port}/feed"), "127.0.0.1"),
        (format!("http://localhost:{port}/feed"), "localhost"),
        ("http://[::1]/feed".to_string(), "[::1]"),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/feed"),
            "[::ffff:7f00:1]",
        ),
    ] {
        let err = fetcher
            .get(
                &Url::parse(&target).unwrap(),
                &Conditional::default(),
                FEED_MAX_BYTES,
            )
            .await
            .unwrap_err();
        match &err {
            FetchError::Blocked { host: h, addr } => {
                assert_eq!(h, host, "{target}");
                let ip: std::net::IpAddr = addr.parse().unwrap();
                assert_eq!(classify(ip), Some(Refused::Loopback), "{target}");
            }
            other => panic!("{target}: expected Blocked, got {other:?}"),
        }
        assert!(err.to_string().contains("allow_private_addresses"), "{err}");
    }
    // The same server is reachable once the user allows private addresses.
    let allowed = Fetcher::new(options()).unwrap();
    let got = allowed
        .get(
            &Url::parse(&format!("http://localhost:{port}/feed")).unwrap(),
            &Conditional::default(),
            FEED_MAX_BYTES,
        )
        .await;
    assert!(matches!(got, Ok(FetchOutcome::Fetched(_))), "{got:?}");
}

/// Holds every request until the test releases it, counting how many are held at once.
struct Gate {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    arrivals: mpsc::UnboundedSender<oneshot::Sender<()>>,
}

async fn held(State(gate): State<Arc<Gate>>) -> &'static str {
    let now = gate.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    gate.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let (release, released) = oneshot::channel();
    gate.arrivals.send(release).unwrap();
    released.await.unwrap();
    gate.in_flight.fetch_sub(1, Ordering::SeqCst);
    "ok"
}

/// Sends `urls` in parallel to a gated server and returns the most it saw in flight at once.
/// Requests the caps let through pile up unreleased at the server, so a broken cap shows as more
/// than `cap` in flight; a working one lets a new request in only after one is released.
async fn most_in_flight(
    fetcher: Fetcher,
    gate: Arc<Gate>,
    mut arrivals: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    urls: Vec<Url>,
    cap: usize,
) -> usize {
    let total = urls.len();
    let gets: Vec<_> = urls
        .into_iter()
        .map(|u| {
            let fetcher = fetcher.clone();
            tokio::spawn(async move { fetcher.get(&u, &Conditional::default(), 1024).await })
        })
        .collect();
    let mut waiting = std::collections::VecDeque::new();
    for released in 0..total {
        while waiting.len() < cap.min(total - released) {
            waiting.push_back(arrivals.recv().await.unwrap());
        }
        waiting.pop_front().unwrap().send(()).unwrap();
    }
    for get in gets {
        let got = fetched(get.await.unwrap().unwrap());
        assert_eq!(got.body, b"ok");
    }
    gate.max_in_flight.load(Ordering::SeqCst)
}

async fn gated_server() -> (
    SocketAddr,
    Arc<Gate>,
    mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let (arrivals_tx, arrivals) = mpsc::unbounded_channel();
    let gate = Arc::new(Gate {
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        arrivals: arrivals_tx,
    });
    let addr = serve(
        Router::new()
            .route("/{n}", get(held))
            .with_state(gate.clone()),
    )
    .await;
    (addr, gate, arrivals)
}

#[tokio::test]
async fn at_most_two_requests_reach_one_host_at_once() {
    let (addr, gate, arrivals) = gated_server().await;
    let fetcher = Fetcher::new(FetchOptions {
        per_host: 2,
        ..options()
    })
    .unwrap();
    let urls = (0..6).map(|n| url(addr, &format!("/{n}"))).collect();
    assert_eq!(most_in_flight(fetcher, gate, arrivals, urls, 2).await, 2);
}

#[tokio::test]
async fn at_most_max_concurrent_requests_are_in_flight_over_all_hosts() {
    let (addr, gate, arrivals) = gated_server().await;
    // A per-host cap above the global one, so only the global one can bind.
    let fetcher = Fetcher::new(FetchOptions {
        per_host: 8,
        max_concurrent: 3,
        ..options()
    })
    .unwrap();
    let urls = (0..8).map(|n| url(addr, &format!("/{n}"))).collect();
    assert_eq!(most_in_flight(fetcher, gate, arrivals, urls, 3).await, 3);
}
