//! The outbox's vocabulary: what kinds of alert there are, the states an alert goes through on
//! its way to a receiver, and the stable id each alert is known by.
//!
//! Owns the rules, not the rows: the store keeps the rows (`store/outbox.rs`) and the pipeline
//! sends them. An alert id is derived from what makes the alert that alert (topic, story,
//! notifier), so any process that queues it again, or sends it again after a crash, uses the same
//! id, and receivers can drop the repeat.

use serde::{Deserialize, Serialize};

/// What an alert is about; its wire name is the webhook's `type` and the mail's "Event".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertKind {
    /// A story matched a topic.
    #[serde(rename = "topic.match")]
    TopicMatch,
    /// A digest topic's matches, gathered at its schedule's tick.
    #[serde(rename = "topic.digest")]
    TopicDigest,
    /// A feed has failed for longer than `feed_failing_after`.
    #[serde(rename = "feed.failing")]
    FeedFailing,
    /// A feed answered 410 Gone and is no longer polled.
    #[serde(rename = "feed.gone")]
    FeedGone,
    /// A feed moved permanently to a new address.
    #[serde(rename = "feed.moved")]
    FeedMoved,
    /// `feedwatch notify test`.
    #[serde(rename = "test")]
    Test,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::TopicMatch => "topic.match",
            AlertKind::TopicDigest => "topic.digest",
            AlertKind::FeedFailing => "feed.failing",
            AlertKind::FeedGone => "feed.gone",
            AlertKind::FeedMoved => "feed.moved",
            AlertKind::Test => "test",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an alert is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting for its time (first try, or a retry after a failure).
    Pending,
    /// Claimed by one process, which is sending it under a lease; if that process dies, the
    /// alert is due again (with the same id) when the lease expires.
    Sending,
    /// The receiver took it; never sent again unless a person asks (`alerts retry`).
    Delivered,
    /// Given up: refused for good, or failing past `give_up_after`.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Delivered => "delivered",
            OutboxState::Failed => "failed",
        }
    }

    /// Reads the stored name; an unknown one (written by a newer release) reads as pending,
    /// which at worst sends an alert again under its own id.
    pub fn parse(s: &str) -> OutboxState {
        match s {
            "sending" => OutboxState::Sending,
            "delivered" => OutboxState::Delivered,
            "failed" => OutboxState::Failed,
            _ => OutboxState::Pending,
        }
    }
}

impl std::fmt::Display for OutboxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable alert id from its parts: what makes it this alert and no other.
pub fn alert_id(parts: &[&str]) -> String {
    use std::hash::Hasher;
    let mut h = siphasher::sip128::SipHasher13::new_with_keys(0x66_6565_6477, 0x616c_6572_7473);
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0);
    }
    let v = siphasher::sip128::Hasher128::finish128(&h);
    format!("msg_{:016x}{:016x}", v.h1, v.h2)
}

/// The id of a topic match's alert to one notifier.
pub fn match_alert_id(topic: &str, story_id: i64, notifier: &str) -> String {
    alert_id(&["match", topic, &story_id.to_string(), notifier])
}

/// The id of a digest's alert to one notifier at one tick of the topic's schedule: every
/// process that makes the same digest makes the same id, so it is queued once.
pub fn digest_alert_id(topic: &str, notifier: &str, tick: i64) -> String {
    alert_id(&["digest", topic, notifier, &tick.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_ids_are_stable_across_releases() {
        // Ids already sent by earlier releases must come out the same, or a resend after an
        // upgrade would look new to the receiver: these two were queued by the landed release
        // (tests/fixtures/store/landed-schema6.db).
        assert_eq!(
            match_alert_id("bread", 1, "hook"),
            "msg_66348e915954c8a4bc6a3296c68a6f31"
        );
        assert_eq!(
            match_alert_id("iraq-troops", 2, "hook"),
            "msg_e6cce8427f8bd15b250dfbf14ad5b4e3"
        );
        assert_ne!(
            match_alert_id("t", 1, "hook"),
            match_alert_id("t", 1, "mail")
        );
    }

    #[test]
    fn alert_kinds_keep_their_wire_names() {
        for kind in [
            AlertKind::TopicMatch,
            AlertKind::TopicDigest,
            AlertKind::FeedFailing,
            AlertKind::FeedGone,
            AlertKind::FeedMoved,
            AlertKind::Test,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            let back: AlertKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, kind);
        }
    }
}
