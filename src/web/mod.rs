//! The web pages and the JSON API served on `listen` beside `/healthz` and `/metrics`: what a
//! person looks at (feeds' health, the stories that came in and their outlets, topics and
//! their hits, the outbox) and the same data as JSON for scripts.
//!
//! Owns the routes, who may read them (a token when one is configured), the headers every
//! answer carries (a strict Content-Security-Policy: no script, nothing loaded from anywhere
//! but this server) and reading request parameters. Read-only: every route is a GET that reads
//! the store. Pages are rendered in `pages`, JSON in `api`, charts in `chart`, and the topic
//! tester's search in `tester`.

mod api;
mod chart;
mod pages;
mod tester;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::Config;
use crate::server::Metrics;
use crate::store::Store;

/// The Content-Security-Policy of every answer: nothing runs (no script at all), styles come
/// only from this server's own stylesheet, images only from inline `data:` (none are used),
/// forms only submit here, and no other site may frame the pages.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the configuration says that the pages show beside the store's data: the topics and
/// their queries, the feeds' names and tags. Replaced whole on a reload.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The configured topics, in config order.
    pub topics: Vec<TopicInfo>,
    /// Each configured feed's name and tags, by feed key.
    pub feeds: HashMap<String, FeedInfo>,
}

/// A configured topic, as the topics page shows it.
#[derive(Debug, Clone)]
pub struct TopicInfo {
    /// Its name, as alerts and the stories filter name it.
    pub name: String,
    /// Its query as written.
    pub query: String,
    /// The notifiers its alerts go to.
    pub notify: Vec<String>,
    /// Whether it batches its matches into digests instead of alerting at once.
    pub digest: bool,
}

/// A configured feed's name (as the config gives it) and tags.
#[derive(Debug, Clone, Default)]
pub struct FeedInfo {
    /// The name the config gives it, if any (else its own title is shown).
    pub name: Option<String>,
    /// Its tags, for the stories page's tag filter.
    pub tags: Vec<String>,
}

impl Catalog {
    pub fn of(config: &Config) -> Catalog {
        Catalog {
            topics: config
                .topics
                .iter()
                .map(|t| TopicInfo {
                    name: t.name.clone(),
                    query: t.query.clone(),
                    notify: t.notify.clone(),
                    digest: t.digest.is_some(),
                })
                .collect(),
            feeds: config
                .feeds
                .iter()
                .map(|f| {
                    (
                        f.key(),
                        FeedInfo {
                            name: f.name.clone(),
                            tags: f.tags.clone(),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The keys of the feeds configured with this tag (compared without case).
    pub fn feeds_tagged(&self, tag: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .feeds
            .iter()
            .filter(|(_, f)| f.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort();
        keys
    }

    /// Every tag of a configured feed, sorted, each once.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .feeds
            .values()
            .flat_map(|f| f.tags.iter().cloned())
            .collect();
        tags.sort_by_key(|t| t.to_lowercase());
        tags.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        tags
    }
}

/// The secret requests must carry. Never printed: its `Debug` says only that there is one.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Reads the token from `api_token_file`: its content without surrounding whitespace.
    pub fn read(path: &std::path::Path) -> Result<Token, String> {
        let content = crate::secret_file::read_to_string(path).map_err(|e| {
            format!(
                "cannot read api_token_file {} ({e}); create it (mode 0600, readable by the \
                 service) or fix the path",
                path.display()
            )
        })?;
        let secret = content.trim();
        if secret.len() < 16 {
            return Err(format!(
                "api_token_file {} holds {} characters; put a secret of at least 16 in it",
                path.display(),
                secret.len()
            ));
        }
        Ok(Token(secret.into()))
    }

    /// Whether `given` is the secret, compared in time that does not depend on where they
    /// differ.
    fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    #[cfg(test)]
    fn new(s: &str) -> Token {
        Token(s.into())
    }
}

/// What the pages read: the store, the configuration's topics and feeds, the daemon's health.
#[derive(Clone)]
pub struct Web {
    /// Every page's data, read-only.
    pub store: Store,
    /// The configuration's side of the pages; the daemon replaces it on reload.
    pub catalog: Arc<RwLock<Catalog>>,
    /// The daemon's counters and health, for the overview.
    pub metrics: Arc<Metrics>,
    /// When set, every route but `/healthz` wants it.
    pub token: Option<Token>,
}

impl Web {
    pub fn new(store: Store, catalog: Catalog, metrics: Arc<Metrics>, token: Option<Token>) -> Web {
        Web {
            store,
            catalog: Arc::new(RwLock::new(catalog)),
            metrics,
            token,
        }
    }

    /// The configuration's side as it is now.
    pub fn catalog(&self) -> Catalog {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// `routes` behind the token check (when a token is set).
    pub fn guard(&self, routes: Router) -> Router {
        routes.layer(middleware::from_fn_with_state(self.clone(), authorise))
    }

    /// The routes of the pages and the API, behind the token check when a token is set.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(pages::overview))
            .route("/feeds", get(pages::feeds))
            .route("/stories", get(pages::stories))
            .route("/stories/{id}", get(pages::story))
            .route("/topics", get(pages::topics))
            .route("/alerts", get(pages::alerts))
            .route("/alerts/{id}", get(pages::alert))
            .route("/style.css", get(stylesheet))
            .route("/api/feeds", get(api::feeds))
            .route("/api/stories", get(api::stories))
            .route("/api/stories/{id}", get(api::story))
            .route("/api/topics", get(api::topics))
            .route("/api/topics/test", get(api::topics_test))
            .route("/api/alerts", get(api::alerts))
            .route("/api/alerts/{id}", get(api::alert))
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(self.clone(), authorise))
            .with_state(self)
    }
}

/// Headers every answer of the server carries, pages or not.
pub async fn secure_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Lets a request through when no token is configured, or when it carries the token: as a
/// bearer token (`Authorization: Bearer …`, for scripts) or as the password of HTTP basic
/// auth (any user name; a browser asks for it).
async fn authorise(State(web): State<Web>, req: Request, next: Next) -> Response {
    let Some(token) = &web.token else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(credential);
    if given.as_deref().is_some_and(|g| token.matches(g)) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [
            (
                header::WWW_AUTHENTICATE,
                "Basic realm=\"feedwatch\", charset=\"UTF-8\"",
            ),
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
        ],
        "this feedwatch wants its api_token: send it as `Authorization: Bearer TOKEN`, or as \
         the password of HTTP basic auth (any user name)\n",
    )
        .into_response()
}

/// The secret in an `Authorization` header: a bearer token, or a basic-auth password.
fn credential(value: &str) -> Option<String> {
    use base64::Engine;
    let (scheme, rest) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text.split_once(':').map(|(_, p)| p.to_string());
    }
    None
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "no such page; the pages are /, /feeds, /stories, /topics and /alerts, the API is under /api/\n",
    )
        .into_response()
}

/// A request's query parameters, by name (the last of a repeated name wins); an empty value
/// reads as absent, as a form's unset field sends it.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn of(query: Option<&str>) -> Params {
        Params(
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `limit`: how many rows a page shows, 1 to 200 (50 when not given).
    pub fn limit(&self) -> Result<usize, String> {
        match self.get("limit") {
            None => Ok(50),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=200).contains(&n) => Ok(n),
                _ => Err(format!("limit={v}: give a number of rows from 1 to 200")),
            },
        }
    }

    /// `since`: a duration back from now (`24h`, `7d`), as unix seconds.
    pub fn since(&self, now: i64) -> Result<Option<i64>, String> {
        self.get("since")
            .map(|v| {
                humantime::parse_duration(v)
                    .map(|d| now - i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2))
                    .map_err(|e| format!("since={v}: {e}; write a duration such as 24h or 7d"))
            })
            .transpose()
    }
}

/// An `http(s)` link from a feed, or nothing: a `javascript:` or `data:` URL from an untrusted
/// feed must never become a link a person clicks.
pub fn safe_link(url: &str) -> Option<&str> {
    let lower = url
        .trim_start()
        .get(..8)
        .unwrap_or(url)
        .to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")).then_some(url)
}

/// A feed's name as the pages show it: the config's name, else the feed's own title, else its key.
pub fn feed_name(catalog: &Catalog, key: &str, title: Option<&str>) -> String {
    catalog
        .feeds
        .get(key)
        .and_then(|f| f.name.clone())
        .or_else(|| title.map(str::to_string))
        .unwrap_or_else(|| key.to_string())
}

/// A store failure as an answer: 500 with what went wrong (the store's errors name no secret).
pub fn store_failure(e: crate::store::StoreError) -> (StatusCode, String) {
    tracing::warn!(error = %e, "a web page could not read the store");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("the database could not be read: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_taken_as_bearer_or_basic_password_and_never_printed() {
        let t = Token::new("0123456789abcdef");
        assert!(t.matches("0123456789abcdef"));
        assert!(!t.matches("0123456789abcdeX"));
        assert!(!t.matches("0123"));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_eq!(credential("Bearer abc").as_deref(), Some("abc"));
        // "me:s3cret" in base64.
        assert_eq!(credential("Basic bWU6czNjcmV0").as_deref(), Some("s3cret"));
        assert_eq!(credential("Digest x"), None);
    }

    #[test]
    fn only_http_links_from_feeds_become_links() {
        assert_eq!(
            safe_link("https://a.example/x"),
            Some("https://a.example/x")
        );
        assert_eq!(safe_link("HTTP://a.example/"), Some("HTTP://a.example/"));
        assert_eq!(safe_link("javascript:alert(1)"), None);
        assert_eq!(safe_link("data:text/html,<script>"), None);
        assert_eq!(safe_link(""), None);
    }

    #[test]
    fn a_limit_out_of_range_is_refused_with_the_range() {
        assert_eq!(Params::of(Some("limit=7")).limit(), Ok(7));
        assert_eq!(Params::of(None).limit(), Ok(50));
        let e = Params::of(Some("limit=5000")).limit().unwrap_err();
        assert!(e.contains("1 to 200"), "{e}");
    }
}
