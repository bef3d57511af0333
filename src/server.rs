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
