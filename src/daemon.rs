//! The long-running daemon: polls every feed on schedule, drains the outbox, sends digests, and
//! serves health and metrics, until told to stop.
//!
//! Owns the tasks and their lifecycle: [`run`] takes the config and a shutdown future (tests pass
//! their own), re-reads the config on each reload signal, and on shutdown stops taking work and
//! abandons in-flight work safely (every store step is a transaction; an alert caught mid-send is
//! resent with the same id on the next start).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::{self, Config, FeedConfig, Schedule};
use crate::pipeline::{Pipeline, PollReport, PollResult};
use crate::server::{self, Metrics};
use crate::store::{ClaimMode, Store};

/// The longest the scheduler sleeps without looking again (a reload or a clock jump is noticed
/// within this).
const MAX_SLEEP: Duration = Duration::from_secs(30);
/// How long in-flight polls get to finish after a shutdown request before they are abandoned.
const DRAIN: Duration = Duration::from_secs(4);

/// Why the daemon could not start, when it is the user's to fix: `feedwatch run` exits 1 with
/// this one line (under systemd, `Restart=on-failure` would otherwise loop on it).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{}", database_message(database, error))]
    Database {
        database: String,
        error: crate::store::StoreError,
    },
    #[error(
        "cannot listen on {addr} ([daemon] listen): {error}; another process may hold the port: \
         stop it or choose another port"
    )]
    Listen {
        addr: std::net::SocketAddr,
        error: std::io::Error,
    },
    /// `api_token_file` could not be read, or holds no usable secret.
    #[error("{0}")]
    Token(String),
}

fn database_message(database: &str, error: &crate::store::StoreError) -> String {
    match error {
        // Names the file and says what to check already.
        crate::store::StoreError::Open { .. } | crate::store::StoreError::TooNew { .. } => {
            error.to_string()
        }
        _ => format!(
            "cannot open the database {database}: {error}; check [daemon] database and that its \
             folder is writable by the user feedwatch runs as"
        ),
    }
}

/// Files every configured feed's row in a few statements, sparing each new feed's first claim
/// the transaction that would file it. Only a shortcut: a feed this misses (the database down
/// now) is filed when first claimed.
pub(crate) fn register_feeds<'a>(store: &Store, feeds: impl IntoIterator<Item = &'a FeedConfig>) {
    let keys: Vec<(String, &str)> = feeds
        .into_iter()
        .map(|f| (f.key(), f.url.as_str()))
        .collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, u)| (k.as_str(), *u)).collect();
    if let Err(e) = store.register_feeds(&pairs) {
        tracing::debug!(error = %e, "feeds not registered ahead of their first poll");
    }
}

/// Runs the daemon until `shutdown` completes. Each message on `reload` re-reads the config at
/// `config.path`; a config with errors is refused and the running one kept.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    reload: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    run_with_clock(config, Clock::System, shutdown, reload).await
}

/// [`run`] on `clock`: scheduling, backoff, digests and quiet hours read their time from it
/// (tests pass a [`Clock::tokio`] on paused time).
pub async fn run_with_clock(
    config: Config,
    clock: Clock,
    shutdown: impl Future<Output = ()>,
    mut reload: mpsc::Receiver<()>,
) -> anyhow::Result<()> {
    // The first line names what this process runs on: an operator comparing it with what a
    // command in a terminal opened sees at once whether they look at the same database.
    tracing::info!(
        version = %env!("CARGO_PKG_VERSION"),
        config = %std::fs::canonicalize(&config.path)
            .unwrap_or_else(|_| config.path.clone())
            .display(),
        database = %config.daemon.database,
        "feedwatch starting"
    );
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let store = Store::open(&config.daemon.database).map_err(|error| StartError::Database {
        database: config.daemon.database.to_string(),
        error,
    })?;
    match store.release_dead_leases() {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            freed = n,
            "took back the work of a feedwatch process of this host that died"
        ),
        Err(e) => tracing::warn!(error = %e, "could not check for leases of dead processes"),
    }
    register_feeds(&store, &config.feeds);
    let mut pipeline = Pipeline::new(&config, store.clone()).context("setting up the pipeline")?;
    pipeline.clock = clock;
    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let (pipeline_tx, pipeline_rx) = watch::channel(pipeline);

    let mut background = JoinSet::new();
    let token = config
        .daemon
        .api_token_file
        .as_deref()
        .map(crate::web::Token::read)
        .transpose()
        .map_err(StartError::Token)?;
    let web = crate::web::Web::new(
        store.clone(),
        crate::web::Catalog::of(&config),
        metrics.clone(),
        token,
    );
    let catalog = web.catalog.clone();
    if let Some(addr) = config.daemon.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|error| StartError::Listen { addr, error })?;
        tracing::info!(%addr, token = web.token.is_some(), "serving the web pages, the API, /healthz and /metrics");
        let stop = stopped(stop_rx.clone());
        let m = metrics.clone();
        let web = web.clone();
        background.spawn(async move {
            if let Err(e) = server::serve(listener, m, Some(web), stop).await {
                tracing::error!(error = %e, "metrics server stopped");
            }
        });
    }
    background.spawn(notify_worker(
        pipeline_rx.clone(),
        metrics.clone(),
        clock,
        stop_rx.clone(),
    ));
    background.spawn(watchdog(
        metrics.clone(),
        store.clone(),
        clock,
        stop_rx.clone(),
    ));
    background.spawn(watch_database(
        store.clone(),
        config.daemon.database.clone(),
        metrics.clone(),
        clock,
        stop_rx.clone(),
    ));
    let mut digests = spawn_digests(&config, pipeline_rx.clone(), clock, stop_rx.clone());

    let status = format!(
        "running: {} feeds, {} topics",
        config.feeds.len(),
        config.topics.len()
    );
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Status(&status),
        sd_notify::NotifyState::Ready,
    ]);
    tracing::info!(
        feeds = config.feeds.len(),
        topics = config.topics.len(),
        "feedwatch running"
    );

    let mut config = config;
    let mut due = DueQueue::new(&config.feeds);
    let mut running: HashSet<String> = HashSet::new();
    let mut polls: JoinSet<(PollReport, Duration)> = JoinSet::new();
    metrics.notifier_failing_after.store(
        i64::try_from(config.daemon.give_up_after.as_secs() / 2).unwrap_or(i64::MAX),
        Ordering::Relaxed,
    );
    tokio::pin!(shutdown);

    loop {
        let now = clock.unix();
        metrics.last_loop_at.store(now, Ordering::Relaxed);
        let pipeline = pipeline_rx.borrow().clone();
        let mut next_wake = now + MAX_SLEEP.as_secs() as i64;
        // While the database does not answer nothing is polled (nothing could be recorded);
        // due feeds wait in the database and are polled once it is back.
        let db_up = metrics.database_up();
        if !db_up {
            next_wake = now + DB_RETRY.as_secs() as i64;
        }
        if db_up {
            // Feeds whose due time is not known yet (at start, after a reload) are read from
            // the database a slice at a time, so the first polls need not wait for them all.
            for _ in 0..FIRST_DUE_READS {
                let Some(i) = due.unread.pop() else { break };
                let Some(feed) = config.feeds.get(i) else {
                    continue;
                };
                let when = first_due(&store, feed, now, &metrics);
                due.set(&feed.key(), when);
            }
            if !due.unread.is_empty() {
                next_wake = now;
            }
        }
        // Enough polls under way: the next to finish wakes this loop to start more.
        while db_up && polls.len() < pipeline.polls_in_flight {
            let Some((i, when)) = due.pop_due(now, &running) else {
                break;
            };
            let Some(feed) = config.feeds.get(i) else {
                continue;
            };
            running.insert(feed.key());
            if when > i64::MIN / 2 {
                let lag = now.saturating_sub(when);
                metrics.scheduler_lag_seconds.store(lag, Ordering::Relaxed);
                metrics.poll_start_lag.observe(lag);
            }
            let p = pipeline.clone();
            let f = feed.clone();
            polls.spawn(async move {
                let started = std::time::Instant::now();
                let report = p.poll(&f, ClaimMode::Due).await;
                (report, started.elapsed())
            });
        }
        if let Some(t) = due.next() {
            next_wake = next_wake.min(t);
        }
        let sleep = if next_wake <= now && !due.unread.is_empty() {
            // More due times to read: go round again at once.
            Duration::ZERO
        } else {
            Duration::from_secs(u64::try_from(next_wake - now).unwrap_or(1).max(1))
        };

        tokio::select! {
            _ = &mut shutdown => break,
            Some(done) = polls.join_next() => {
                match done {
                    Ok((report, took)) => {
                        account(&metrics, &report);
                        running.remove(&report.feed);
                        let next = match &report.outcome {
                            PollResult::Skipped { until: Some(t), .. } => Some(*t),
                            _ => store.feed(&report.feed).ok().flatten().and_then(|s| {
                                metrics.feeds.lock().unwrap_or_else(|p| p.into_inner()).insert(
                                    report.feed.clone(),
                                    crate::server::FeedGauges {
                                        last_success: s.last_success_at.unwrap_or(0),
                                        consecutive_errors: s.consecutive_errors,
                                        items: s.items,
                                        poll_seconds: took.as_secs_f64(),
                                    },
                                );
                                if s.disabled_reason.is_some() { Some(i64::MAX) } else { s.next_due_at }
                            }),
                        };
                        // No answer, or one in the past (the database did not answer): asked
                        // again soon; the scheduler polls nothing until the database is back.
                        let now = clock.unix();
                        due.set(&report.feed, next.filter(|t| *t > now).unwrap_or(now + DB_RETRY.as_secs() as i64));
                    }
                    Err(e) => {
                        // A poll task that panicked: its feed is retried after a pause. The
                        // feed's key is lost with the task, so every running feed is rechecked.
                        tracing::error!(error = %e, "a poll task crashed");
                        for key in running.drain() {
                            due.retry(&key);
                        }
                    }
                }
            }
            Some(()) = reload.recv() => {
                // systemd shows the service "reloading" until READY=1, and the STATUS= line
                // below in `systemctl status`.
                let mut reloading = vec![sd_notify::NotifyState::Reloading];
                reloading.extend(sd_notify::NotifyState::monotonic_usec_now().ok());
                let _ = sd_notify::notify(&reloading);
                match config::load(&config.path) {
                    Ok(new) => match Pipeline::new(&new, store.clone()) {
                        Ok(mut p) => {
                            p.clock = clock;
                            // The notify worker waits on this; a new one would go unheard.
                            p.alerts_queued = pipeline_rx.borrow().alerts_queued.clone();
                            tracing::info!(feeds = new.feeds.len(), topics = new.topics.len(), "configuration reloaded");
                            let status = format!("running: {} feeds, {} topics (reloaded)", new.feeds.len(), new.topics.len());
                            let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&status), sd_notify::NotifyState::Ready]);
                            // Due times are read again from the database: a feed reset
                            // (`feedwatch feeds reset`) or polled by a `once` meanwhile is
                            // scheduled as the database now says.
                            register_feeds(&store, &new.feeds);
                            due = DueQueue::new(&new.feeds);
                            let _ = pipeline_tx.send(p);
                            digests.abort_all();
                            digests = spawn_digests(&new, pipeline_rx.clone(), clock, stop_rx.clone());
                            *catalog.write().unwrap_or_else(|p| p.into_inner()) = crate::web::Catalog::of(&new);
                            config = new;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "reload refused; keeping the running configuration");
                            refused(&e.to_string());
                        }
                    },
                    Err(e) => {
                        // One line per problem: a log line holds no line break.
                        tracing::error!(problems = e.issues.len(), "reload refused; keeping the running configuration");
                        for issue in &e.issues {
                            tracing::error!("config: {issue}");
                        }
                        let first = e.issues.first().map(|i| i.to_string()).unwrap_or_default();
                        refused(&format!("{} problems, the first: {first}", e.issues.len()));
                    }
                }
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }

    tracing::info!("shutting down");
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN, async {
        while let Some(done) = polls.join_next().await {
            if let Ok((report, _)) = done {
                account(&metrics, &report);
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("abandoning polls still running; they are redone at the next start");
        polls.abort_all();
    }
    digests.abort_all();
    let _ = tokio::time::timeout(DRAIN, async {
        while background.join_next().await.is_some() {}
    })
    .await;
    background.abort_all();
    Ok(())
}

/// Due times read from the database per turn of the loop while some are unknown.
const FIRST_DUE_READS: usize = 2000;

/// Each configured feed's next due time, and the feeds in the order of it: the loop takes the
/// due ones from the front instead of looking at every feed each time it wakes (with 100,000
/// feeds and dozens of polls a second, that look was most of the daemon's work).
struct DueQueue {
    /// The due time of each feed whose time is known, by key (`i64::MAX`: disabled).
    due: HashMap<String, i64>,
    /// (due time, index in the configuration's feeds), soonest first. An entry whose time is
    /// no longer the feed's in `due` is stale, and skipped.
    heap: BinaryHeap<Reverse<(i64, usize)>>,
    /// Each configured feed's index, by key.
    index: HashMap<String, usize>,
    /// Each configured feed's key, by index.
    keys: Vec<String>,
    /// The feeds whose due time is not read yet: the loop reads them from the database.
    unread: Vec<usize>,
}

impl DueQueue {
    fn new(feeds: &[FeedConfig]) -> DueQueue {
        DueQueue {
            due: HashMap::with_capacity(feeds.len()),
            heap: BinaryHeap::with_capacity(feeds.len()),
            index: feeds
                .iter()
                .enumerate()
                .map(|(i, f)| (f.key(), i))
                .collect(),
            keys: feeds.iter().map(FeedConfig::key).collect(),
            // Read first to last (taken from the end).
            unread: (0..feeds.len()).rev().collect(),
        }
    }

    /// Sets a feed's next due time (a feed no longer configured is left out).
    fn set(&mut self, key: &str, when: i64) {
        let Some(&i) = self.index.get(key) else {
            return;
        };
        self.due.insert(key.to_string(), when);
        if when != i64::MAX {
            self.heap.push(Reverse((when, i)));
        }
    }

    /// Puts a feed whose poll was lost (its task crashed) back at its due time.
    fn retry(&mut self, key: &str) {
        if let Some(&when) = self.due.get(key) {
            self.set(key, when);
        }
    }

    /// The next feed due by `now` and not running, with its due time.
    fn pop_due(&mut self, now: i64, running: &HashSet<String>) -> Option<(usize, i64)> {
        while let Some(&Reverse((when, i))) = self.heap.peek() {
            if when > now {
                return None;
            }
            self.heap.pop();
            let Some(key) = self.keys.get(i) else {
                continue;
            };
            // A stale entry (the feed was given another time since), or a feed running now
            // (its next time is set when it ends).
            if self.due.get(key) == Some(&when) && !running.contains(key) {
                return Some((i, when));
            }
        }
        None
    }

    /// When the soonest feed is due (perhaps a stale entry: the loop then wakes early).
    fn next(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse((when, _))| *when)
    }
}

/// Tells systemd a reload was refused: `systemctl status` shows why, and the service is ready
/// again on the configuration it had.
fn refused(why: &str) {
    let status = format!(
        "reload refused, running the previous configuration: {}",
        crate::printable::line(why)
    );
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Status(&status),
        sd_notify::NotifyState::Ready,
    ]);
}

/// How often the database is asked whether it answers.
const DB_RETRY: Duration = Duration::from_secs(5);
/// How often the daemon says, while the database does not answer, that it does not.
const DB_COMPLAINT_EVERY: i64 = 60;

/// Asks the database every few seconds whether it answers, for the scheduler (which polls
/// nothing while it does not) and `/healthz`; says so in the log once a minute while it does
/// not, and once when it is back.
async fn watch_database(
    store: Store,
    database: crate::store::Database,
    metrics: Arc<Metrics>,
    clock: Clock,
    stop: watch::Receiver<bool>,
) {
    let mut down_since: Option<i64> = None;
    let mut said_at = i64::MIN / 2;
    loop {
        let now = clock.unix();
        match store.ping() {
            Ok(()) => {
                metrics.database(now, Ok(()));
                if let Some(since) = down_since.take() {
                    tracing::info!(database = %database, down_for_s = now - since, "the database answers again; polling resumes");
                }
            }
            Err(e) => {
                metrics.database(now, Err(e.to_string()));
                down_since.get_or_insert(now);
                if now - said_at >= DB_COMPLAINT_EVERY {
                    said_at = now;
                    tracing::error!(database = %database, error = %e, "the database does not answer; polling nothing until it does (nothing is lost: due feeds and queued alerts wait in it)");
                }
            }
        }
        tokio::select! {
            _ = stopped(stop.clone()) => return,
            _ = tokio::time::sleep(DB_RETRY) => {}
        }
    }
}

/// When a feed is first due in this run: as stored, or now for a feed never polled. Its gauges
/// in `/metrics` start from what is stored.
fn first_due(store: &Store, feed: &FeedConfig, now: i64, metrics: &Metrics) -> i64 {
    let state = store.feed(&feed.key());
    if let Ok(Some(s)) = &state {
        metrics
            .feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(feed.key())
            .or_insert_with(|| crate::server::FeedGauges {
                last_success: s.last_success_at.unwrap_or(0),
                consecutive_errors: s.consecutive_errors,
                items: s.items,
                poll_seconds: 0.0,
            });
    }
    match state {
        Ok(Some(s)) if s.disabled_reason.is_some() && s.url == feed.url.as_str() => i64::MAX,
        Ok(Some(s)) => s.next_due_at.unwrap_or(now),
        _ => now,
    }
}

fn account(metrics: &Metrics, r: &PollReport) {
    if matches!(r.outcome, PollResult::Skipped { .. }) {
        // Another process has it: nothing done here.
        return;
    }
    Metrics::add(&metrics.polls, 1);
    match r.outcome {
        PollResult::Error => Metrics::add(&metrics.poll_errors, 1),
        PollResult::NotModified => Metrics::add(&metrics.not_modified, 1),
        _ => {}
    }
    Metrics::add(&metrics.new_stories, r.new_stories);
    Metrics::add(&metrics.joined_stories, r.joined_stories);
    Metrics::add(&metrics.alerts_queued, r.alerts);
    if r.new_stories + r.joined_stories > 0 {
        tracing::info!(feed = %r.feed, new = r.new_stories, joined = r.joined_stories, alerts = r.alerts, "polled");
    }
    if r.kept_back > 0 {
        tracing::info!(feed = %r.feed, kept_back = r.kept_back, "{}", crate::pipeline::kept_back_note(r.kept_back));
    }
    for note in &r.notes {
        tracing::warn!(feed = %r.feed, "{note}");
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Sends due alerts, then sleeps until the next one is due, alerts are queued, or shutdown.
async fn notify_worker(
    pipeline: watch::Receiver<Pipeline>,
    metrics: Arc<Metrics>,
    clock: Clock,
    stop: watch::Receiver<bool>,
) {
    let mut stats_at = i64::MIN / 2;
    loop {
        if *stop.borrow() {
            return;
        }
        let p = pipeline.borrow().clone();
        let report = p.deliver_due(false).await;
        Metrics::add(&metrics.alerts_delivered, report.delivered);
        Metrics::add(&metrics.alert_failures, report.retrying + report.failed);
        let now = clock.unix();
        // The outbox by notifier, for /metrics and /healthz: after a pass that did something,
        // or every half minute (it reads the whole outbox).
        if report.delivered + report.retrying + report.failed > 0 || now - stats_at >= 30 {
            stats_at = now;
            match p.store.outbox_stats() {
                Ok(stats) => {
                    let mut gauges = std::collections::BTreeMap::new();
                    for n in p.notifiers.names() {
                        gauges.insert(n, crate::server::NotifierGauges::default());
                    }
                    for s in stats {
                        gauges.insert(
                            s.notifier,
                            crate::server::NotifierGauges {
                                pending: s.pending,
                                retrying: s.retrying,
                                delivered: s.delivered,
                                failed: s.failed,
                                retrying_since: s.retrying_since,
                            },
                        );
                    }
                    *metrics.notifiers.lock().unwrap_or_else(|p| p.into_inner()) = gauges;
                }
                Err(e) => tracing::warn!(error = %e, "could not count the outbox for /metrics"),
            }
        }
        let next = p.store.next_alert_due().ok().flatten().unwrap_or(i64::MAX);
        let wait = Duration::from_secs(
            u64::try_from(next.saturating_sub(now))
                .unwrap_or(0)
                .clamp(1, 60),
        );
        tokio::select! {
            _ = stopped(stop.clone()) => return,
            _ = p.alerts_queued.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One task per digest topic: at each tick of its schedule, its matches become one alert.
fn spawn_digests(
    config: &Config,
    pipeline: watch::Receiver<Pipeline>,
    clock: Clock,
    stop: watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for topic in &config.topics {
        let Some(Schedule::Cron(_, cron)) = topic.digest.clone() else {
            continue;
        };
        let name = topic.name.clone();
        let notifiers = topic.notify.clone();
        let pipeline = pipeline.clone();
        let stop = stop.clone();
        set.spawn(async move {
            loop {
                let Some(tick) = cron.after(&clock.now()).next() else {
                    return;
                };
                tokio::select! {
                    _ = stopped(stop.clone()) => return,
                    _ = clock.sleep_until(tick) => {}
                }
                let p = pipeline.borrow().clone();
                match p.store.make_digest(&name, &notifiers, tick.timestamp()) {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(topic = %name, stories = n, "digest queued");
                        p.alerts_queued.notify_one();
                    }
                    Err(e) => tracing::error!(topic = %name, error = %e, "digest failed"),
                }
            }
        });
    }
    set
}

/// Pings systemd's watchdog while the scheduler loop turns and the database answers; stops
/// pinging (so systemd restarts us) when either hangs.
async fn watchdog(metrics: Arc<Metrics>, store: Store, clock: Clock, stop: watch::Receiver<bool>) {
    let interval = sd_notify::watchdog_enabled()
        .map(|d| d / 2)
        .unwrap_or(Duration::from_secs(15));
    let enabled = sd_notify::watchdog_enabled().is_some();
    loop {
        let now = clock.unix();
        if store.ping().is_ok() {
            metrics.last_db_ok_at.store(now, Ordering::Relaxed);
        }
        if enabled && metrics.healthy(now, (MAX_SLEEP.as_secs() * 3) as i64) {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
        }
        tokio::select! {
            _ = stopped(stop.clone()) => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// Where the config lives, for callers that only have a path.
pub fn config_path(config: &Config) -> PathBuf {
    config.path.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feeds(n: usize) -> Vec<FeedConfig> {
        let text: String = (0..n)
            .map(|i| format!("[[feed]]\nname = \"f{i}\"\nurl = \"https://f{i}.example/rss\"\n"))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feedwatch.toml");
        std::fs::write(&path, text).unwrap();
        config::load(&path).unwrap().feeds
    }

    #[test]
    fn the_queue_gives_due_feeds_soonest_first_skipping_running_and_rescheduled_ones() {
        let feeds = feeds(4);
        let key = |i: usize| feeds[i].key();
        let mut q = DueQueue::new(&feeds);
        q.set(&key(0), 300);
        q.set(&key(1), 100);
        q.set(&key(2), 200);
        q.set(&key(3), i64::MAX);
        // Feed 2 was given a later time: its first entry is stale.
        q.set(&key(2), 900);
        let running: HashSet<String> = [key(1)].into_iter().collect();
        assert_eq!(q.next(), Some(100));
        // Feed 1 runs (its next time comes when it ends); feed 2's old time is skipped.
        assert_eq!(q.pop_due(1000, &running), Some((0, 300)));
        assert_eq!(q.pop_due(1000, &running), Some((2, 900)));
        assert_eq!(
            q.pop_due(1000, &running),
            None,
            "disabled feed 3 is never due"
        );
        q.set(&key(1), 1200);
        assert_eq!(q.pop_due(1000, &HashSet::new()), None, "not due yet");
        assert_eq!(q.next(), Some(1200));
        assert_eq!(q.pop_due(1200, &HashSet::new()), Some((1, 1200)));
        // A feed no longer configured is left out.
        q.set("gone", 1);
        assert_eq!(q.pop_due(5000, &HashSet::new()), None);
    }
}
