//! Webhook delivery: one POST per alert, signed the Standard Webhooks way when a secret is set.
//!
//! Headers `webhook-id` (the alert id, so a retry carries the same one and the receiver can drop
//! repeats) and `webhook-timestamp` go with every request; `webhook-signature` is
//! `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) when `secret_file` is set; the key
//! is the secret read as the Standard Webhooks libraries read it ([`signing_key`]). The secret is
//! read at send time (so it can be rotated without a restart) and never leaves this file except
//! inside the HMAC.
//!
//! The client ignores proxy variables (`HTTP_PROXY`, …): the request goes straight to the
//! receiver, whose address the guard checked.
//!
//! Classification: 2xx delivered; 408, 429, 5xx and no answer are retryable; any other status is
//! a mistake a retry cannot fix. Errors name the receiver by scheme and host only, because chat
//! services keep their access token in the URL path.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;
use url::{Host, Url};

use super::guard::{self, PublicOnlyResolver};
use super::{Alert, NotifyError, payload};
use crate::config::WebhookConfig;

/// Connecting takes at most this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole request, answer included, takes at most this long.
const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up: a receiver that moved once is fine, a chain is a mistake.
const MAX_REDIRECTS: usize = 3;
/// How much of a failing receiver's answer goes into the error, to help the user see why.
const ERROR_BODY_CHARS: usize = 200;

/// The HTTP client shared by all webhooks.
pub fn build_client(user_agent: &str, allow_private: bool) -> Result<reqwest::Client, NotifyError> {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        // Only 307/308 keep the method and body; after a 301/302/303 reqwest would turn the POST
        // into a body-less GET and "deliver" nothing. Stopping hands the 3xx back as a failure.
        if !matches!(attempt.status().as_u16(), 307 | 308)
            || attempt.previous().len() > MAX_REDIRECTS
        {
            return attempt.stop();
        }
        let (next, first) = (attempt.url(), &attempt.previous()[0]);
        // The user's custom headers (tokens) must not travel to another host or over plain HTTP.
        if next.host_str() != first.host_str()
            || (first.scheme() == "https" && next.scheme() != "https")
        {
            return attempt.stop();
        }
        if !allow_private && let Some(kind) = ip_literal(next).and_then(guard::private_kind) {
            return attempt.error(format!("redirected to a {kind} address"));
        }
        attempt.follow()
    });
    let mut b = reqwest::Client::builder()
        // HTTP_PROXY and friends would send the request to the proxy, and the address check
        // below would then cover the proxy, not the receiver: the receiver is reached directly.
        .no_proxy()
        .user_agent(user_agent)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(TOTAL_TIMEOUT)
        .redirect(policy);
    if !allow_private {
        b = b.dns_resolver(PublicOnlyResolver);
    }
    b.build().map_err(|e| {
        NotifyError::permanent(format!("cannot set up the HTTP client for webhooks: {e}"))
    })
}

fn ip_literal(url: &Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(v4.into()),
        Host::Ipv6(v6) => Some(v6.into()),
        Host::Domain(_) => None,
    }
}

/// The body shape a webhook sends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Json,
    Slack,
    Discord,
    Ntfy,
}

/// One webhook notifier, checked and ready.
pub struct WebhookSender {
    /// The notifier's name, for error messages.
    name: String,
    /// Where to POST; its path and query may be secret and are never shown.
    url: Url,
    /// `scheme://host[:port]` of the URL: what errors show instead of the URL.
    shown: String,
    /// Read at each send so a rotated secret takes effect without a restart.
    secret_file: Option<std::path::PathBuf>,
    /// The user's extra headers, checked once at start.
    headers: HeaderMap,
    /// Which body preset to send.
    format: Format,
    /// Shared connection pool and settings.
    client: reqwest::Client,
    /// Whether loopback/private receivers are allowed.
    allow_private: bool,
}

impl WebhookSender {
    pub fn new(
        name: &str,
        cfg: &WebhookConfig,
        client: reqwest::Client,
        allow_private: bool,
    ) -> Result<WebhookSender, NotifyError> {
        let format = match cfg.format.as_str() {
            "" | "json" => Format::Json,
            "slack" => Format::Slack,
            "discord" => Format::Discord,
            "ntfy" => Format::Ntfy,
            other => {
                return Err(NotifyError::permanent(format!(
                    "notifier {name}: unknown format \"{other}\"; use json, slack, discord or ntfy"
                )));
            }
        };
        let shown = match cfg.url.port() {
            Some(p) => format!(
                "{}://{}:{p}",
                cfg.url.scheme(),
                cfg.url.host_str().unwrap_or("")
            ),
            None => format!(
                "{}://{}",
                cfg.url.scheme(),
                cfg.url.host_str().unwrap_or("")
            ),
        };
        if !matches!(cfg.url.scheme(), "http" | "https") || cfg.url.host_str().is_none() {
            return Err(NotifyError::permanent(format!(
                "notifier {name}: url must be http:// or https:// with a host"
            )));
        }
        if !allow_private && let Some(kind) = ip_literal(&cfg.url).and_then(guard::private_kind) {
            return Err(NotifyError::permanent(format!(
                "notifier {name}: {shown} is a {kind} address; set allow_private_addresses = true in [daemon] to allow it"
            )));
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let hn = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                NotifyError::permanent(format!(
                    "notifier {name}: \"{k}\" is not a valid header name"
                ))
            })?;
            if hn.as_str().starts_with("webhook-") {
                return Err(NotifyError::permanent(format!(
                    "notifier {name}: header {k} is set by feedwatch itself (Standard Webhooks); remove it from headers"
                )));
            }
            // The value may be a token: say which header is wrong, never what it holds.
            let mut hv = HeaderValue::from_str(v).map_err(|_| {
                NotifyError::permanent(format!(
                    "notifier {name}: the value of header {k} has characters HTTP does not allow"
                ))
            })?;
            hv.set_sensitive(true);
            headers.insert(hn, hv);
        }
        Ok(WebhookSender {
            name: name.to_string(),
            url: cfg.url.clone(),
            shown,
            secret_file: cfg.secret_file.clone(),
            headers,
            format,
            client,
            allow_private,
        })
    }

    /// One POST of `alert`.
    pub async fn send(&self, alert: &Alert) -> Result<(), NotifyError> {
        let name = &self.name;
        let (body, content_type) = match self.format {
            Format::Json => (payload::json_body(alert), "application/json"),
            Format::Slack => (payload::slack_body(alert), "application/json"),
            Format::Discord => (payload::discord_body(alert), "application/json"),
            Format::Ntfy => (payload::ntfy_body(alert), "text/plain; charset=utf-8"),
        };
        if !self.allow_private && ip_literal(&self.url).is_none() {
            // The client's resolver enforces this too; checking first gives a clear, permanent error.
            let host = self.url.host_str().unwrap_or_default();
            let port = self.url.port_or_known_default().unwrap_or(443);
            if let Err(e) = guard::resolve_public(host, port).await {
                let retryable = matches!(e, guard::GuardError::Lookup { .. });
                return Err(NotifyError {
                    message: format!("notifier {name}: {e}"),
                    retryable,
                });
            }
        }
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut req = self
            .client
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header("webhook-id", header_value(&alert.id, name)?)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(path) = &self.secret_file {
            let key = read_key(path, name).await?;
            let sig = sign(&key, &alert.id, timestamp, &body);
            req = req.header("webhook-signature", sig);
        }
        if self.format == Format::Ntfy {
            for (k, v) in payload::ntfy_headers(alert) {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    req = req.header(k, v);
                }
            }
        }
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) => return Err(self.transport_error(e)),
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let code = status.as_u16();
        let retryable = code == 408 || code == 429 || status.is_server_error();
        // The outbox worker schedules retries itself; the receiver's wish is shown for the log.
        let wait = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                format!(
                    ", asks to retry after {}",
                    v.chars().take(40).collect::<String>()
                )
            })
            .unwrap_or_default();
        let snippet = answer_snippet(resp).await;
        let advice = if retryable {
            "will retry"
        } else if status.is_redirection() {
            "update the notifier's url to where the receiver moved"
        } else if code == 401 || code == 403 {
            "check the receiver's credentials (headers, secret_file)"
        } else {
            "the receiver refused the alert; check the url and format"
        };
        Err(NotifyError {
            message: format!(
                "notifier {name}: {} answered {status}{snippet}{wait}; {advice}",
                self.shown
            ),
            retryable,
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> NotifyError {
        // reqwest puts the full URL into its messages; the path may hold a token.
        let e = e.without_url();
        let mut why = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            why.push_str(": ");
            why.push_str(&s.to_string());
            source = s.source();
        }
        let refused_private =
            why.contains("allow_private_addresses") || why.contains("redirected to a");
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else if e.is_redirect() {
            "bad redirect"
        } else {
            "request failed"
        };
        NotifyError {
            message: format!("notifier {}: {} {what} ({why})", self.name, self.shown),
            retryable: !refused_private,
        }
    }
}

fn header_value(v: &str, name: &str) -> Result<HeaderValue, NotifyError> {
    HeaderValue::from_str(v).map_err(|_| {
        NotifyError::permanent(format!(
            "notifier {name}: the alert id cannot be sent as a webhook-id header"
        ))
    })
}

/// The start of a failing receiver's answer, on one line; reads at most a few KiB so a huge
/// error page costs nothing.
async fn answer_snippet(mut resp: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < 4 * ERROR_BODY_CHARS {
        match resp.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            text.chars().take(ERROR_BODY_CHARS).collect::<String>()
        )
    }
}

/// The signing key from the secret file.
async fn read_key(path: &std::path::Path, name: &str) -> Result<Vec<u8>, NotifyError> {
    let raw = crate::secret_file::read(path).map_err(|e| {
        NotifyError::retryable(format!(
            "notifier {name}: cannot read secret_file {}: {e}; fix the file or the path",
            path.display()
        ))
    })?;
    // Retryable: the file can be fixed (or rotated) while the alert waits.
    signing_key(&raw).map_err(|why| {
        NotifyError::retryable(format!(
            "notifier {name}: secret_file {}: {why}",
            path.display()
        ))
    })
}

/// Base64 as the Standard Webhooks libraries read a secret: the standard alphabet, padding
/// optional, stray bits at the end ignored.
const SECRET_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// The signing key of a secret file's content, read as the Standard Webhooks libraries read a
/// secret: surrounding whitespace trimmed, a `whsec_` prefix dropped, and the rest
/// base64-decoded (padded or not). A secret that is not base64 is refused rather than used as
/// raw bytes, since no receiver using those libraries could verify its signatures. The error
/// never holds the secret.
pub fn signing_key(content: &[u8]) -> Result<Vec<u8>, String> {
    let Ok(text) = std::str::from_utf8(content) else {
        return Err("the secret is not text; write whsec_ followed by base64".into());
    };
    let secret = text.trim();
    if secret.is_empty() {
        return Err("the file is empty; write the secret (whsec_ followed by base64)".into());
    }
    let (b64, prefixed) = match secret.strip_prefix("whsec_") {
        Some(rest) => (rest, true),
        None => (secret, false),
    };
    let key = SECRET_BASE64.decode(b64).map_err(|_| {
        if prefixed {
            "the secret starts with whsec_ but the rest is not base64".to_string()
        } else {
            "the secret is not base64, and Standard Webhooks receivers read it as base64 \
             (with or without a whsec_ prefix), so none could verify its signatures; \
             write whsec_ followed by the base64 of the key"
                .to_string()
        }
    })?;
    if key.is_empty() {
        return Err(
            "the secret is empty after whsec_; write the base64 of the key after it".into(),
        );
    }
    Ok(key)
}

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
fn sign(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests;
