//! The notify stage: delivering alerts by webhook or email.
//!
//! Owns the payloads (design.md's webhook JSON and email layout), Standard Webhooks signing,
//! SMTP delivery, and telling a retryable failure from a permanent one. The outbox worker in
//! `daemon` decides when to call it; this module only sends.

use serde::{Deserialize, Serialize};

/// One alert as the outbox holds it: what is sent, independent of how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable per alert: the webhook-id and the email Message-ID derive from it, so a resend
    /// after a crash is recognisable by the receiver.
    pub id: String,
    /// "topic.match" for topic alerts; "feed.failing", "feed.gone", "feed.moved" for feed health.
    #[serde(rename = "type")]
    pub kind: String,
    pub topic: String,
    pub stories: Vec<AlertStory>,
}

/// One story inside an alert (several in a digest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStory {
    pub id: String,
    pub title: String,
    pub url: String,
    pub feed: String,
    /// RFC 3339 UTC, when known.
    pub published: Option<String>,
    /// Plain text, a few sentences.
    pub summary: String,
    /// The query terms that matched.
    pub matched: Vec<String>,
    /// The same story at other outlets.
    pub also_at: Vec<String>,
}
