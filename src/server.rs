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
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Healthy: the loop went round and the database answered within `max_age` seconds.
    pub fn healthy(&self, now: i64, max_age: i64) -> bool {
        now - self.last_loop_at.load(Ordering::Relaxed) <= max_age
            && now - self.last_db_ok_at.load(Ordering::Relaxed) <= max_age
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
        for (name, help, value) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

/// Serves `/healthz` and `/metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .with_state(metrics);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn healthz(State(m): State<Arc<Metrics>>) -> (StatusCode, &'static str) {
    if m.healthy(chrono::Utc::now().timestamp(), 120) {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "unhealthy: the scheduler loop or the database has not answered for 2 minutes\n",
        )
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

    #[tokio::test]
    async fn metrics_and_health_are_served_over_http() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        Metrics::add(&metrics.polls, 3);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, metrics.clone(), async {
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
