//! The fetch stage: HTTP GETs of feeds and article pages, politely and safely.
//!
//! Owns the HTTP client (rustls, gzip/brotli, User-Agent), conditional requests, redirects
//! (followed by hand so each hop is checked and permanent moves reported), the refusal of
//! private addresses, body size caps, and turning HTTP answers into a [`FetchOutcome`] or a
//! [`FetchError`] the scheduler can act on (Retry-After, 410 Gone).

mod guard;
mod headers;
mod limits;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use tokio::time::{Instant, timeout_at};
use url::Url;

use guard::{BlockedAddress, GuardedResolver};
pub use guard::{Refused, classify};
use limits::Limits;

/// Longest network-error cause kept, so a log line stays one line.
const MAX_CAUSE_CHARS: usize = 300;

/// Body cap for feeds, after decompression: a runaway or hostile feed cannot fill memory.
pub const FEED_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Body cap for article pages, after decompression.
pub const PAGE_MAX_BYTES: usize = 5 * 1024 * 1024;

/// How the fetcher behaves; built from `[daemon]`.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Sent on every request, so site operators can see who polls them and how to reach us.
    pub user_agent: String,
    /// Refuse loopback, private and link-local targets unless true.
    pub allow_private_addresses: bool,
    /// Requests in flight at once, over all hosts.
    pub max_concurrent: usize,
    /// Requests in flight at once to one host.
    pub per_host: usize,
    /// Requests started per second to one host (its burst too): a feed of fifty new items
    /// must not have its site's pages fetched back to back.
    pub per_host_rate: u32,
    /// How long a TCP/TLS connection may take before the host counts as unreachable.
    pub connect_timeout: Duration,
    /// How long one fetch may take, every redirect hop and the whole body included, counted from
    /// when its first request may go (time queued behind a busy host does not count).
    pub total_timeout: Duration,
    /// Redirects followed before giving up with [`FetchError::TooManyRedirects`].
    pub max_redirects: usize,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            user_agent: concat!("feedwatch/", env!("CARGO_PKG_VERSION")).to_string(),
            allow_private_addresses: false,
            max_concurrent: 16,
            per_host: 2,
            per_host_rate: 5,
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            max_redirects: 5,
        }
    }
}

/// Validators from the last answer, sent back so an unchanged feed costs a 304.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditional {
    /// The `ETag` of the last 200, sent as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` of the last 200, sent as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// A successful answer.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// 304: nothing changed since the validators we sent.
    NotModified {
        /// Where the 304 came from, after redirects.
        final_url: Url,
        /// Set when every redirect on the way was permanent (301/308), as in [`Fetched`]: a feed
        /// that moved and is unchanged must still get its stored URL updated.
        moved_permanently: Option<Url>,
        /// `Cache-Control: max-age` of the 304, a floor for the next poll.
        max_age: Option<Duration>,
        /// `Expires` of the 304 (from its `Date`), the floor when there is no max-age.
        expires: Option<Duration>,
    },
    /// 2xx with its body.
    Fetched(Fetched),
}

/// A 2xx answer and what the later stages need from its headers.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where the body finally came from, after redirects.
    pub final_url: Url,
    /// Set when every redirect on the way was permanent (301/308): the new URL to store.
    pub moved_permanently: Option<Url>,
    /// To store and send back as [`Conditional::etag`].
    pub etag: Option<String>,
    /// To store and send back as [`Conditional::last_modified`].
    pub last_modified: Option<String>,
    /// The charset of the `Content-Type` header, if any.
    pub charset: Option<String>,
    /// The media type of the `Content-Type` header, lowercased, without parameters.
    pub content_type: Option<String>,
    /// The `Content-Location` header as sent: where the body says it lives, the outer base of
    /// its relative links (see `feed::document_base`).
    pub content_location: Option<String>,
    /// Decompressed body, at most the cap asked for.
    pub body: Vec<u8>,
    /// `Cache-Control: max-age`, a floor for the next poll.
    pub max_age: Option<Duration>,
    /// `Expires` as a delay from the answer's `Date` (else from now): the floor when there is
    /// no max-age.
    pub expires: Option<Duration>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http(s) URL")]
    InvalidUrl(String),
    #[error(
        "refused to connect to {host} ({addr}): a private or loopback address; set allow_private_addresses = true in [daemon] to allow it"
    )]
    Blocked { host: String, addr: String },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the body is larger than {limit} bytes; refused")]
    TooLarge { limit: usize },
    #[error("more than {0} redirects (a redirect loop?)")]
    TooManyRedirects(usize),
    #[error("the server answered {code}")]
    Status {
        code: u16,
        retry_after: Option<Duration>,
    },
    #[error("the server answered 410 Gone: the feed was removed")]
    Gone,
    #[error("network error: {0}")]
    Network(String),
}

/// The HTTP client with its limits. Cheap to clone; clones share the limits.
#[derive(Clone)]
pub struct Fetcher {
    /// Timeouts, redirect limit and the private-address switch used on every request.
    options: FetchOptions,
    /// One client, so connections are pooled across fetches.
    client: reqwest::Client,
    /// In-flight caps shared by every clone.
    limits: Arc<Limits>,
}

impl Fetcher {
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(options.user_agent.as_str())
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .connect_timeout(options.connect_timeout)
            .timeout(options.total_timeout)
            // A feed host is polled again in minutes, not milliseconds: a couple of idle
            // connections per host are reused within a pass; thousands kept open (each with
            // its buffers) cost memory for nothing.
            .pool_max_idle_per_host(2)
            .pool_idle_timeout(Duration::from_secs(30))
            // Redirects are followed in `get`, so every hop is checked and permanence reported.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself and bypass the address guard.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: options.allow_private_addresses,
            }))
            .build()
            .map_err(|e| {
                FetchError::Network(format!(
                    "cannot build the HTTP client (check user_agent in [daemon]): {}",
                    condense(e)
                ))
            })?;
        let limits = Arc::new(Limits::new(
            options.max_concurrent,
            options.per_host,
            options.per_host_rate,
        ));
        Ok(Fetcher {
            options,
            client,
            limits,
        })
    }

    /// GETs `url`, following redirects, capping the body at `max_bytes`.
    pub async fn get(
        &self,
        url: &Url,
        conditional: &Conditional,
        max_bytes: usize,
    ) -> Result<FetchOutcome, FetchError> {
        check_scheme(url)?;
        let total = self.options.total_timeout;
        // The total timeout starts once the first request may go: waiting in the queue behind a
        // busy host is not the server's slowness.
        let mut deadline: Option<Instant> = None;
        let timed_out = |_| FetchError::Timeout(total);
        let mut current = url.clone();
        let mut seen = HashSet::from([without_fragment(&current)]);
        let mut hops = 0;
        let mut all_permanent = true;
        loop {
            if !self.options.allow_private_addresses {
                guard::check_url_host(&current).map_err(blocked)?;
            }
            let host = current.host_str().unwrap_or_default().to_string();
            // Host first, then global: a request queued behind a busy host holds no global slot
            // that requests to other hosts could use. Both are held for this hop only.
            let _host_slot = self.limits.host(&host).await;
            let _global_slot = self.limits.global().await;
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + total);
            let response = timeout_at(deadline, self.send(&current, conditional))
                .await
                .map_err(timed_out)??;
            let status = response.status();
            if status.is_redirection()
                && status != StatusCode::NOT_MODIFIED
                && let Some(location) = response.headers().get(header::LOCATION)
            {
                hops += 1;
                if hops > self.options.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.options.max_redirects));
                }
                let next = redirect_target(&current, location)?;
                all_permanent &= matches!(
                    status,
                    StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
                );
                if !seen.insert(without_fragment(&next)) {
                    return Err(FetchError::TooManyRedirects(self.options.max_redirects));
                }
                current = next;
                continue;
            }
            let moved_permanently = (hops > 0 && all_permanent).then(|| current.clone());
            return timeout_at(
                deadline,
                self.finish(response, current, moved_permanently, max_bytes),
            )
            .await
            .map_err(timed_out)?;
        }
    }

    async fn send(
        &self,
        url: &Url,
        conditional: &Conditional,
    ) -> Result<reqwest::Response, FetchError> {
        let mut request = self.client.get(url.clone());
        // A validator that is not a valid header value is skipped: the GET is merely unconditional.
        if let Some(etag) = conditional
            .etag
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = conditional
            .last_modified
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
        request.send().await.map_err(|e| self.classify_error(e))
    }

    async fn finish(
        &self,
        response: reqwest::Response,
        final_url: Url,
        moved_permanently: Option<Url>,
        max_bytes: usize,
    ) -> Result<FetchOutcome, FetchError> {
        let status = response.status();
        let headers = response.headers();
        let max_age = header_str(headers, header::CACHE_CONTROL).and_then(headers::max_age);
        let expires = header_str(headers, header::EXPIRES).and_then(|v| {
            headers::expires(v, header_str(headers, header::DATE), SystemTime::now())
        });
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified {
                final_url,
                moved_permanently,
                max_age,
                expires,
            });
        }
        if status == StatusCode::GONE {
            return Err(FetchError::Gone);
        }
        if !status.is_success() {
            let retry_after = header_str(headers, header::RETRY_AFTER)
                .and_then(|v| headers::retry_after(v, SystemTime::now()));
            return Err(FetchError::Status {
                code: status.as_u16(),
                retry_after,
            });
        }
        // reqwest hides Content-Length when it decompresses, so this is the size we will read.
        if response
            .content_length()
            .is_some_and(|len| len > max_bytes as u64)
        {
            return Err(FetchError::TooLarge { limit: max_bytes });
        }
        let etag = header_str(headers, header::ETAG).map(str::to_string);
        let content_location = header_str(headers, header::CONTENT_LOCATION).map(str::to_string);
        let last_modified = header_str(headers, header::LAST_MODIFIED).map(str::to_string);
        let (content_type, charset) = header_str(headers, header::CONTENT_TYPE)
            .map(headers::content_type)
            .unwrap_or_default();
        let expected = response.content_length().unwrap_or(0) as usize;
        let mut body = Vec::with_capacity(expected.min(max_bytes));
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.classify_error(e))?;
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge { limit: max_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched(Fetched {
            final_url,
            moved_permanently,
            etag,
            last_modified,
            charset,
            content_type,
            content_location,
            body,
            max_age,
            expires,
        }))
    }

    /// Turns a reqwest error into the kind the scheduler acts on.
    fn classify_error(&self, err: reqwest::Error) -> FetchError {
        if let Some(refusal) = find_in_chain::<BlockedAddress>(&err) {
            return blocked(refusal.clone());
        }
        if err.is_timeout() {
            let limit = if err.is_connect() {
                self.options.connect_timeout
            } else {
                self.options.total_timeout
            };
            return FetchError::Timeout(limit);
        }
        FetchError::Network(condense(err))
    }
}

fn blocked(refusal: BlockedAddress) -> FetchError {
    FetchError::Blocked {
        host: refusal.host,
        addr: refusal.addr.to_string(),
    }
}

fn check_scheme(url: &Url) -> Result<(), FetchError> {
    if matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty()) {
        Ok(())
    } else {
        Err(FetchError::InvalidUrl(crate::redact::url(url)))
    }
}

/// Resolves a `Location` against the URL that sent it and checks that it is http(s).
fn redirect_target(current: &Url, location: &HeaderValue) -> Result<Url, FetchError> {
    let text = location.to_str().map_err(|_| {
        FetchError::InvalidUrl(format!(
            "a redirect from {} to an unreadable Location",
            crate::redact::url(current)
        ))
    })?;
    let next = current
        .join(text.trim())
        .map_err(|_| FetchError::InvalidUrl(text.to_string()))?;
    check_scheme(&next)?;
    Ok(next)
}

fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn find_in_chain<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// The error and its causes on one line, without the URL (it may carry tokens in its query).
fn condense(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Wrappers often repeat their cause's text; keep each piece once.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    let mut line = parts.join(": ");
    if line.chars().count() > MAX_CAUSE_CHARS {
        line = line.chars().take(MAX_CAUSE_CHARS).collect::<String>() + "…";
    }
    line
}
