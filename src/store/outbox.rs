//! The outbox rows: alerts queued with the stories that caused them, claimed under a lease by
//! the process that sends them, and marked delivered, retrying or failed.
//!
//! Claiming is one statement over the due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! processes claiming together take different rows; SQLite's write lock does the same), so an
//! alert is sent by one process at a time. The vocabulary (kinds, states, ids) is
//! [`crate::outbox`]'s.

use std::time::Duration;

use serde::Serialize;

use super::db::{Db, Dialect, Row, args};
use super::items::TopicHit;
use super::{Result, Store, StoreError, lease_until, stories};
use crate::notify::Alert;
use crate::outbox::{AlertKind, OutboxState, digest_alert_id, match_alert_id};

/// A notifier's alerts by state (see [`Store::outbox_stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifierStats {
    pub notifier: String,
    pub pending: i64,
    pub retrying: i64,
    pub delivered: i64,
    pub failed: i64,
    pub retrying_since: Option<i64>,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub alert_id: String,
    pub notifier: String,
    pub topic: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
    /// The process sending it now, while its lease is live.
    pub lease_owner: Option<String>,
    #[serde(skip)]
    pub payload: String,
}

impl OutboxRow {
    pub fn alert(&self) -> Result<Alert> {
        Ok(serde_json::from_str(&self.payload)?)
    }
}

pub(super) const OUTBOX_COLUMNS: &str =
    "id, alert_id, notifier, topic, state, attempts, next_attempt_at, created_at,
        delivered_at, last_error, payload, lease_owner, lease_until";

pub(super) fn outbox_from_row(r: &Row, now: i64) -> Result<OutboxRow> {
    let state: String = r.get(4)?;
    let until: Option<i64> = r.get(12)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        alert_id: r.get(1)?,
        notifier: r.get(2)?,
        topic: r.get(3)?,
        state: OutboxState::parse(&state),
        attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        created_at: r.get(7)?,
        delivered_at: r.get(8)?,
        last_error: r.get(9)?,
        payload: r.get(10)?,
        lease_owner: r
            .get::<Option<String>>(11)?
            .filter(|_| until.is_some_and(|u| u >= now)),
    })
}

fn insert_alert(db: &mut Db, alert: &Alert, notifier: &str, now: i64) -> Result<u64> {
    db.execute(
        "INSERT INTO outbox (alert_id, notifier, topic, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
        args![
            &alert.id,
            notifier,
            &alert.topic,
            &serde_json::to_string(alert)?,
            now
        ],
    )
}

/// Records topic matches for a story and queues their alerts; each (topic, story) pair alerts
/// once, ever, whichever process stores which copy.
pub fn record_hits(db: &mut Db, story_id: i64, hits: &[TopicHit], now: i64) -> Result<usize> {
    let mut alerts = 0;
    for hit in hits {
        let inserted = db.execute(
            "INSERT INTO matches (topic, story_id, matched, created_at, digested)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            args![
                &hit.topic,
                story_id,
                &serde_json::to_string(&hit.matched)?,
                now,
                i64::from(hit.notifiers.is_empty())
            ],
        )?;
        if inserted == 0 || hit.digest {
            continue;
        }
        let mut story = stories::alert_story(db, story_id, hit.matched.clone())?;
        if !hit.snippet.trim().is_empty() {
            story.summary = hit.snippet.clone();
        }
        for notifier in &hit.notifiers {
            let alert = Alert {
                id: match_alert_id(&hit.topic, story_id, notifier),
                kind: AlertKind::TopicMatch,
                topic: hit.topic.clone(),
                stories: vec![story.clone()],
            };
            alerts += insert_alert(db, &alert, notifier, now)? as usize;
        }
    }
    Ok(alerts)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Store {
    /// Claims the alerts to send now for this process, for `lease`: pending ones whose time
    /// has come (every pending one with `all_pending`, for `once`), and ones left "sending" by
    /// a process whose lease expired (it died mid-send: they go again with the same id, so
    /// receivers can drop the repeat). An alert another process is sending is not taken.
    pub fn claim_alerts(
        &self,
        now: i64,
        all_pending: bool,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<OutboxRow>> {
        let until = lease_until(now, lease);
        let owner: &str = &self.owner;
        self.tx(|db| {
            let lock = match db.dialect() {
                Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
                Dialect::Sqlite => "",
            };
            let mut rows = db.query(
                &format!(
                    "UPDATE outbox SET state = 'sending', lease_owner = $4, lease_until = $5
                     WHERE id IN (
                       SELECT id FROM outbox
                       WHERE (state = 'pending' AND ($2 OR next_attempt_at <= $1))
                          OR (state = 'sending' AND COALESCE(lease_until, 0) < $1)
                       ORDER BY next_attempt_at, id LIMIT $3 {lock})
                     RETURNING {OUTBOX_COLUMNS}"
                ),
                args![now, all_pending, limit, owner, until],
                |r| outbox_from_row(r, now),
            )?;
            rows.sort_by_key(|r| (r.next_attempt_at, r.id));
            Ok(rows)
        })
    }

    /// Extends this process's lease on an alert it claimed, right before sending it: false
    /// when the lease ran out and another process took the alert meanwhile (then it is theirs
    /// to send, and this process must not).
    pub fn renew_alert_lease(&self, id: i64, now: i64, lease: Duration) -> Result<bool> {
        let until = lease_until(now, lease);
        let owner: &str = &self.owner;
        self.with(|db| {
            Ok(db.execute(
                "UPDATE outbox SET lease_until = $3
                 WHERE id = $1 AND lease_owner = $2 AND state = 'sending'",
                args![id, owner, until],
            )? == 1)
        })
    }

    /// When the next pending alert falls due (or a sending one's lease runs out), to sleep
    /// until then.
    pub fn next_alert_due(&self) -> Result<Option<i64>> {
        self.with(|db| {
            db.query_one(
                "SELECT MIN(CASE WHEN state = 'pending' THEN next_attempt_at ELSE COALESCE(lease_until, 0) END)
                 FROM outbox WHERE state IN ('pending', 'sending')",
                &[],
                |r| r.get(0),
            )
        })
    }

    /// Ends this process's lease on an alert with a new state; counts a try unless `postpone`.
    fn settle(
        &self,
        id: i64,
        state: OutboxState,
        set: &str,
        values: &[super::db::Value],
    ) -> Result<()> {
        let owner: &str = &self.owner;
        let changed = self.with(|db| {
            let mut all: Vec<super::db::Value> =
                vec![id.into(), owner.into(), state.as_str().into()];
            all.extend_from_slice(values);
            let changed = db.execute(
                &format!(
                    "UPDATE outbox SET state = $3, lease_owner = NULL, lease_until = NULL{set}
                     WHERE id = $1 AND (lease_owner = $2 OR lease_owner IS NULL)"
                ),
                &all,
            )?;
            // Each attempt's end, for the alert's delivery log; a postponement (quiet hours)
            // is no attempt.
            if changed > 0 && set.contains("attempts = attempts + 1") {
                db.execute(
                    "INSERT INTO delivery_log (outbox_id, at, state, error)
                     SELECT id, $2, state, CASE WHEN state = 'delivered' THEN NULL ELSE last_error END
                     FROM outbox WHERE id = $1",
                    args![id, now()],
                )?;
            }
            Ok(changed)
        })?;
        if changed == 0 {
            tracing::warn!(
                alert = id,
                "the alert's lease was lost while it was being sent (another process may send it again, with the same id)"
            );
        }
        Ok(())
    }

    pub fn mark_delivered(&self, id: i64, now: i64) -> Result<()> {
        self.settle(
            id,
            OutboxState::Delivered,
            ", delivered_at = $4, last_error = NULL, attempts = attempts + 1",
            args![now],
        )
    }

    pub fn mark_retry(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<()> {
        self.settle(
            id,
            OutboxState::Pending,
            ", next_attempt_at = $4, last_error = $5, attempts = attempts + 1",
            args![next_attempt_at, error],
        )
    }

    /// Holds an alert until `at` without counting a try (quiet hours).
    pub fn postpone(&self, id: i64, at: i64) -> Result<()> {
        self.settle(
            id,
            OutboxState::Pending,
            ", next_attempt_at = $4",
            args![at],
        )
    }

    pub fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.settle(
            id,
            OutboxState::Failed,
            ", last_error = $4, attempts = attempts + 1",
            args![error],
        )
    }

    /// The delivery log, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<OutboxRow>> {
        let now = now();
        self.with(|db| {
            db.query(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox ORDER BY id DESC LIMIT $1"),
                args![limit],
                |r| outbox_from_row(r, now),
            )
        })
    }

    /// Puts a failed (or delivered) alert back in the queue, due now, with the same id.
    pub fn retry_alert(&self, id: i64, now: i64) -> Result<()> {
        let n = self.with(|db| {
            db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = $2, lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND state <> 'sending'",
                args![id, now],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "alert {id} that is not being sent now"
            )));
        }
        Ok(())
    }

    /// Queues again, due `now`, every delivery of the alert with this id (the `msg_…` the logs
    /// print; a feed event sent to several notifiers has one per notifier). Returns how many.
    pub fn retry_alert_id(&self, alert_id: &str, now: i64) -> Result<usize> {
        let n = self.with(|db| {
            db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = $2, lease_owner = NULL, lease_until = NULL
                 WHERE alert_id = $1 AND state <> 'sending'",
                args![alert_id, now],
            )
        })?;
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "alert {alert_id} that is not being sent now; `feedwatch alerts` lists them"
            )));
        }
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Each notifier's alerts by state (for `/metrics` and `/healthz`): waiting for a first
    /// try (or being sent), retrying, delivered, given up; and when the oldest one it retries
    /// was queued.
    pub fn outbox_stats(&self) -> Result<Vec<NotifierStats>> {
        self.with(|db| {
            db.query(
                "SELECT notifier,
                   SUM(CASE WHEN state IN ('pending', 'sending') AND attempts = 0 THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state IN ('pending', 'sending') AND attempts > 0 THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END),
                   MIN(CASE WHEN state IN ('pending', 'sending') AND attempts > 0 THEN created_at END)
                 FROM outbox GROUP BY notifier ORDER BY notifier",
                &[],
                |r| {
                    Ok(NotifierStats {
                        notifier: r.get(0)?,
                        pending: r.get(1)?,
                        retrying: r.get(2)?,
                        delivered: r.get(3)?,
                        failed: r.get(4)?,
                        retrying_since: r.get(5)?,
                    })
                },
            )
        })
    }

    /// Refreshes the "also at" lists of an alert's stories at send time, so copies found after
    /// the alert was queued are included, and adds each story's byline and clean text for the
    /// mail (kept out of the outbox row: a story's text is stored once, with the story).
    pub fn refresh_alert(&self, alert: &mut Alert) -> Result<()> {
        self.with(|db| {
            for story in &mut alert.stories {
                if let Ok(id) = story.id.parse::<i64>() {
                    story.also_at = stories::copies(db, id, &story.url)?
                        .into_iter()
                        .map(|c| c.url)
                        .collect();
                    if let Some((byline, text)) = stories::article(db, id)? {
                        story.byline = byline.filter(|b| !b.trim().is_empty());
                        story.text = text;
                    }
                }
            }
            Ok(())
        })
    }

    /// Queues an alert that is not about a story match (feed health, a test alert), once per
    /// notifier, whichever process queues it.
    pub fn queue_alert(&self, alert: &Alert, notifiers: &[String], now: i64) -> Result<usize> {
        self.tx(|db| {
            let mut n = 0;
            for notifier in notifiers {
                let mut a = alert.clone();
                a.id = crate::outbox::alert_id(&[&alert.id, notifier]);
                n += insert_alert(db, &a, notifier, now)? as usize;
            }
            Ok(n)
        })
    }

    /// Gathers a digest topic's undigested matches into one alert per notifier. Returns how
    /// many stories went in (0: nothing to send this tick). Every process running the topic's
    /// schedule may call it at the tick; the first makes the digest, the others find nothing.
    pub fn make_digest(&self, topic: &str, notifiers: &[String], tick: i64) -> Result<usize> {
        self.serial(|db| {
            let hits: Vec<(i64, String)> = db.query(
                "SELECT story_id, matched FROM matches WHERE topic = $1 AND digested = 0
                 ORDER BY created_at, story_id",
                args![topic],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            if hits.is_empty() {
                return Ok(0);
            }
            let mut stories = Vec::new();
            for (story_id, matched) in &hits {
                let matched: Vec<String> = serde_json::from_str(matched).unwrap_or_default();
                stories.push(stories::alert_story(db, *story_id, matched)?);
            }
            for notifier in notifiers {
                let alert = Alert {
                    id: digest_alert_id(topic, notifier, tick),
                    kind: AlertKind::TopicDigest,
                    topic: topic.into(),
                    stories: stories.clone(),
                };
                insert_alert(db, &alert, notifier, tick)?;
            }
            db.execute(
                "UPDATE matches SET digested = 1 WHERE topic = $1 AND digested = 0",
                args![topic],
            )?;
            Ok(hits.len())
        })
    }
}
