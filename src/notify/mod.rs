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

use crate::config::NotifierConfig;

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    pub message: String,
    /// false for mistakes a retry cannot fix (a rejected recipient, a 4xx other than 408/429).
    pub retryable: bool,
}

/// The configured notifiers, ready to send.
#[derive(Clone)]
pub struct Notifiers {
    notifiers: Vec<NotifierConfig>,
}

impl Notifiers {
    /// `allow_private` lets webhooks reach loopback/private receivers (tests, LAN setups).
    pub fn new(
        notifiers: &[NotifierConfig],
        user_agent: &str,
        allow_private: bool,
    ) -> Result<Notifiers, NotifyError> {
        let _ = (user_agent, allow_private);
        Ok(Notifiers {
            notifiers: notifiers.to_vec(),
        })
    }

    /// Sends one alert through the notifier named `name`.
    pub async fn send(&self, name: &str, alert: &Alert) -> Result<(), NotifyError> {
        let _ = alert;
        Err(NotifyError {
            message: format!("notifier {name} not implemented yet"),
            retryable: true,
        })
    }
}
