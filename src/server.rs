//! The operations endpoint: `/healthz` and `/metrics` (Prometheus text), when `listen` is set.
//!
//! Owns the daemon's counters ([`Metrics`]) and serving them. The server takes its listener and
//! shutdown signal as arguments, so tests bind port 0 and stop it themselves.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;

/// Counters the daemon updates as it works.
#[derive(Debug, Default)]
pub struct Metrics {
    pub polls: AtomicU64,
    pub poll_errors: AtomicU64,
    pub not_modified: AtomicU64,
    pub new_stories: AtomicU64,
    pub joined_stories: AtomicU64,
    pub alerts_queued: AtomicU64,
    pub alerts_delivered: AtomicU64,
    pub alert_failures: AtomicU64,
    /// Unix time the scheduler loop last went round: health means this is recent.
    pub last_loop_at: AtomicI64,
    /// Unix time the database last answered, for the same reason.
    pub last_db_ok_at: AtomicI64,
    /// Why the database does not answer, while it does not (PostgreSQL down, say): `/healthz`
    /// says so at once instead of after two minutes.
    pub db_error: std::sync::Mutex<Option<String>>,
    /// Each feed's state after its last poll by this process, by feed name.
    pub feeds: std::sync::Mutex<std::collections::BTreeMap<String, FeedGauges>>,
    /// Each notifier's alerts by state, as the outbox last said, by notifier name.
    pub notifiers: std::sync::Mutex<std::collections::BTreeMap<String, NotifierGauges>>,
    /// How late (seconds) the last feed started after it was due: a scheduler that falls
    /// behind shows here first.
    pub scheduler_lag_seconds: AtomicI64,
    /// How late (seconds) each poll started after its feed was due, as a histogram: the
    /// gauge above shows the last one, this the spread (a p99 for a scheduler under load).
    pub poll_start_lag: LagHistogram,
    /// A notifier whose oldest retried alert is older than this (seconds; half of
    /// `give_up_after`) makes the daemon unhealthy. 0: not checked.
    pub notifier_failing_after: AtomicI64,
}

/// The upper bounds (seconds) of [`LagHistogram`]'s buckets; a last one holds the rest.
pub const LAG_BUCKETS: [i64; 9] = [0, 1, 2, 5, 10, 30, 60, 300, 1800];

/// Counts of poll start lags by bucket (a Prometheus histogram: cumulative when rendered).
#[derive(Debug, Default)]
pub struct LagHistogram {
    /// Lags up to each of [`LAG_BUCKETS`] (not cumulative), and past the last.
    counts: [AtomicU64; LAG_BUCKETS.len() + 1],
    sum: AtomicI64,
}

impl LagHistogram {
    pub fn observe(&self, lag: i64) {
        let lag = lag.max(0);
        let b = LAG_BUCKETS
            .iter()
            .position(|&up_to| lag <= up_to)
            .unwrap_or(LAG_BUCKETS.len());
        if let Some(c) = self.counts.get(b) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(lag, Ordering::Relaxed);
    }

    /// The histogram in Prometheus text.
    fn render(&self, name: &str, help: &str) -> String {
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        let mut total = 0;
        for (b, c) in self.counts.iter().enumerate() {
            total += c.load(Ordering::Relaxed);
            let le = LAG_BUCKETS
                .get(b)
                .map_or("+Inf".to_string(), |up_to| up_to.to_string());
            out.push_str(&format!("{name}_bucket{{le=\"{le}\"}} {total}\n"));
        }
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {total}\n",
            self.sum.load(Ordering::Relaxed)
        ));
        out
    }
}

/// A feed's gauges in `/metrics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedGauges {
    /// Unix time of its last successful poll (0: never).
    pub last_success: i64,
    pub consecutive_errors: i64,
    /// Items stored from it.
    pub items: i64,
    /// How long its last poll took.
    pub poll_seconds: f64,
}

/// A notifier's alerts in `/metrics`, as the outbox holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifierGauges {
    /// Waiting for their first try.
    pub pending: i64,
    /// Tried, failed, to be tried again.
    pub retrying: i64,
    pub delivered: i64,
    /// Given up.
    pub failed: i64,
    /// When the oldest alert it is still retrying was queued, if any.
    pub retrying_since: Option<i64>,
}

/// How a feed gauge's value is read, for rendering.
type GaugeOf = fn(&FeedGauges) -> String;

/// A label value as Prometheus's text format wants it.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Healthy: the loop went round and the database answered within `max_age` seconds, and
    /// its last answer was not an error.
    pub fn healthy(&self, now: i64, max_age: i64) -> bool {
        self.unhealthy_because(now, max_age).is_none()
    }

    /// Why the daemon is not healthy, if it is not.
    pub fn unhealthy_because(&self, now: i64, max_age: i64) -> Option<String> {
        if let Some(e) = self
            .db_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Some(format!(
                "the database is unavailable ({e}); polling is paused until it answers"
            ));
        }
        if now - self.last_loop_at.load(Ordering::Relaxed) > max_age
            || now - self.last_db_ok_at.load(Ordering::Relaxed) > max_age
        {
            return Some(format!(
                "the scheduler loop or the database has not answered for {max_age} s"
            ));
        }
        let after = self.notifier_failing_after.load(Ordering::Relaxed);
        if after > 0 {
            let notifiers = self.notifiers.lock().unwrap_or_else(|p| p.into_inner());
            for (name, n) in notifiers.iter() {
                if let Some(since) = n.retrying_since
                    && now - since > after
                {
                    return Some(format!(
                        "notifier \"{name}\" has failed to deliver for {} s ({} alerts retrying); \
                         `feedwatch alerts` shows its last error",
                        now - since,
                        n.retrying
                    ));
                }
            }
        }
        None
    }

    /// Whether the database answered at the last check (or has not been checked yet).
    pub fn database_up(&self) -> bool {
        self.db_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Records whether the database answered.
    pub fn database(&self, now: i64, result: Result<(), String>) {
        let mut e = self.db_error.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => {
                self.last_db_ok_at.store(now, Ordering::Relaxed);
                *e = None;
            }
            Err(why) => *e = Some(why),
        }
    }

    pub fn render(&self) -> String {
        let counters: [(&str, &str, &AtomicU64); 8] = [
            ("feedwatch_polls_total", "Feed polls made.", &self.polls),
            (
                "feedwatch_poll_errors_total",
                "Feed polls that failed.",
                &self.poll_errors,
            ),
            (
                "feedwatch_not_modified_total",
                "Feed polls answered 304 Not Modified.",
                &self.not_modified,
            ),
            (
                "feedwatch_new_stories_total",
                "Stories seen for the first time.",
                &self.new_stories,
            ),
            (
                "feedwatch_joined_stories_total",
                "Items recognised as a copy of a stored story.",
                &self.joined_stories,
            ),
            (
                "feedwatch_alerts_queued_total",
                "Alerts put in the outbox.",
                &self.alerts_queued,
            ),
            (
                "feedwatch_alerts_delivered_total",
                "Alerts delivered.",
                &self.alerts_delivered,
            ),
            (
                "feedwatch_alert_failures_total",
                "Failed alert delivery attempts.",
                &self.alert_failures,
            ),
        ];
        let mut out = String::new();
        let up = self
            .db_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none();
        out.push_str(&format!(
            "# HELP feedwatch_database_up Whether the database answered at the last check.\n# TYPE feedwatch_database_up gauge\nfeedwatch_database_up {}\n",
            u8::from(up)
        ));
        for (name, help, value) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out.push_str(&format!(
            "# HELP feedwatch_scheduler_lag_seconds How late the last feed started after it was due.\n# TYPE feedwatch_scheduler_lag_seconds gauge\nfeedwatch_scheduler_lag_seconds {}\n",
            self.scheduler_lag_seconds.load(Ordering::Relaxed)
        ));
        out.push_str(&self.poll_start_lag.render(
            "feedwatch_poll_start_lag_seconds",
            "How late each poll started after its feed was due.",
        ));
        let feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let per_feed: [(&str, &str, GaugeOf); 4] = [
            (
                "feedwatch_feed_last_success_timestamp_seconds",
                "Unix time of the feed's last successful poll (0: never).",
                |g| g.last_success.to_string(),
            ),
            (
                "feedwatch_feed_consecutive_errors",
                "Polls of the feed that failed in a row.",
                |g| g.consecutive_errors.to_string(),
            ),
            ("feedwatch_feed_items", "Items stored from the feed.", |g| {
                g.items.to_string()
            }),
            (
                "feedwatch_feed_poll_duration_seconds",
                "How long the feed's last poll took.",
                |g| format!("{:.3}", g.poll_seconds),
            ),
        ];
        for (name, help, value) in per_feed {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (feed, g) in &feeds {
                out.push_str(&format!(
                    "{name}{{feed=\"{}\"}} {}\n",
                    label(feed),
                    value(g)
                ));
            }
        }
        let notifiers = self
            .notifiers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        out.push_str("# HELP feedwatch_notifier_alerts Alerts in the outbox by notifier and state.\n# TYPE feedwatch_notifier_alerts gauge\n");
        for (notifier, n) in &notifiers {
            for (state, v) in [
                ("pending", n.pending),
                ("retrying", n.retrying),
                ("delivered", n.delivered),
                ("failed", n.failed),
            ] {
                out.push_str(&format!(
                    "feedwatch_notifier_alerts{{notifier=\"{}\",state=\"{state}\"}} {v}\n",
                    label(notifier)
                ));
            }
        }
        out
    }
}

/// Serves `/healthz`, `/metrics` and, given `web`, the pages and the API on `listener` until
/// `shutdown` completes. When `web` holds a token, `/metrics` wants it too; `/healthz` never
/// does (it says only whether the daemon is well).
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    web: Option<crate::web::Web>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let health = Router::new()
        .route("/healthz", get(healthz))
        .with_state(metrics.clone());
    let metrics_route = Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(metrics);
    let app = match web {
        Some(web) => health.merge(web.guard(metrics_route)).merge(web.router()),
        None => health.merge(metrics_route),
    }
    .layer(axum::middleware::from_fn(crate::web::secure_headers));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz(State(m): State<Arc<Metrics>>) -> (StatusCode, String) {
    match m.unhealthy_because(chrono::Utc::now().timestamp(), 120) {
        None => (StatusCode::OK, "ok\n".into()),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {why}\n"),
        ),
    }
}

async fn metrics_text(
    State(m): State<Arc<Metrics>>,
) -> ([(&'static str, &'static str); 1], String) {
    ([("content-type", "text/plain; version=0.0.4")], m.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_start_lags_are_counted_in_cumulative_buckets() {
        let h = LagHistogram::default();
        for lag in [0, 0, 1, 4, 40, 5000, -3] {
            h.observe(lag);
        }
        let text = h.render("lag", "How late.");
        for line in [
            "lag_bucket{le=\"0\"} 3",
            "lag_bucket{le=\"1\"} 4",
            "lag_bucket{le=\"5\"} 5",
            "lag_bucket{le=\"30\"} 5",
            "lag_bucket{le=\"60\"} 6",
            "lag_bucket{le=\"1800\"} 6",
            "lag_bucket{le=\"+Inf\"} 7",
            "lag_sum 5045",
            "lag_count 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }

    #[tokio::test]
    async fn metrics_and_health_are_served_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        Metrics::add(&metrics.polls, 3);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, metrics.clone(), None, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::new();
        let unhealthy = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(unhealthy.status(), 503, "never looped yet: not healthy");
        let now = chrono::Utc::now().timestamp();
        metrics.last_loop_at.store(now, Ordering::Relaxed);
        metrics.last_db_ok_at.store(now, Ordering::Relaxed);
        assert_eq!(
            client
                .get(format!("http://{addr}/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let text = client
            .get(format!("http://{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("feedwatch_polls_total 3"), "{text}");
        tx.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
