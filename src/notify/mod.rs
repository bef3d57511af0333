//! The notify stage: delivering alerts by webhook or email.
//!
//! Owns the payloads (design.md's webhook JSON and email layout, in `payload`), Standard
//! Webhooks signing and the webhook presets (`webhook`), SMTP delivery (`email`), the refusal of
//! private receivers (`guard`), and telling a retryable failure from a permanent one. The outbox
//! worker in `daemon` decides when to call it and how often; this module makes one attempt per
//! `send` and hands back a [`NotifyError`] saying whether another attempt can help.
//!
//! Secrets (the signing secret, the SMTP password, and the path and query of webhook URLs, where
//! Slack and Discord keep their tokens) never appear in errors or logs.

mod email;
mod guard;
mod payload;
mod webhook;

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::{NotifierConfig, NotifierKind};

pub use guard::private_kind;
pub use payload::{ArticleCut, MailStyle, MailZone};
pub use webhook::signing_key as webhook_signing_key;

/// One alert as the outbox holds it: what is sent, independent of how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable per alert: the webhook-id and the email Message-ID derive from it, so a resend
    /// after a crash is recognisable by the receiver.
    pub id: String,
    /// What the alert is about (its wire name is the webhook's `type`).
    #[serde(rename = "type")]
    pub kind: crate::outbox::AlertKind,
    /// The topic's name (or, for feed health events, what the event is about): the receiver
    /// groups and filters on it.
    pub topic: String,
    /// The matched stories: one for an immediate alert, several for a digest.
    pub stories: Vec<AlertStory>,
}

/// One story inside an alert (several in a digest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertStory {
    /// The store's id of the story, so a receiver can refer back to it.
    pub id: String,
    /// The headline, shown as the link text and in the email subject.
    pub title: String,
    /// Where the story is read.
    pub url: String,
    /// The name of the feed it came from, so the reader knows the outlet.
    pub feed: String,
    /// RFC 3339 UTC, when known.
    pub published: Option<String>,
    /// Plain text, a few sentences.
    pub summary: String,
    /// The query terms that matched.
    pub matched: Vec<String>,
    /// The same story at other outlets.
    pub also_at: Vec<String>,
    /// The article's author, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byline: Option<String>,
    /// The article's clean text, paragraphs separated by blank lines: read from the store at
    /// send time for the mail (never kept in the outbox, never sent to webhooks).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// What went wrong and what the user can do about it; never holds a secret.
    pub message: String,
    /// false for mistakes a retry cannot fix (a rejected recipient, a 4xx other than 408/429).
    pub retryable: bool,
}

impl NotifyError {
    pub(crate) fn retryable(message: impl Into<String>) -> NotifyError {
        NotifyError {
            message: message.into(),
            retryable: true,
        }
    }

    pub(crate) fn permanent(message: impl Into<String>) -> NotifyError {
        NotifyError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// One notifier, checked and ready to send.
enum Sender {
    Webhook(webhook::WebhookSender),
    Email(email::EmailSender),
}

/// The configured notifiers, ready to send.
#[derive(Clone)]
pub struct Notifiers {
    /// By notifier name; shared so that cloning `Notifiers` for each worker task is cheap and
    /// every clone reuses the same HTTP connection pool.
    senders: Arc<HashMap<String, Sender>>,
}

impl Notifiers {
    /// Checks every notifier (URLs, addresses, headers, CA files) and prepares its client.
    /// `allow_private` lets webhooks reach loopback/private receivers (tests, LAN setups).
    pub fn new(
        notifiers: &[NotifierConfig],
        user_agent: &str,
        allow_private: bool,
    ) -> Result<Notifiers, NotifyError> {
        let mut senders = HashMap::new();
        // One HTTP client for all webhooks: one connection pool, one TLS setup.
        let mut http: Option<reqwest::Client> = None;
        for n in notifiers {
            let sender = match &n.kind {
                NotifierKind::Webhook(cfg) => {
                    let client = match &http {
                        Some(c) => c.clone(),
                        None => {
                            let c = webhook::build_client(user_agent, allow_private)?;
                            http = Some(c.clone());
                            c
                        }
                    };
                    Sender::Webhook(webhook::WebhookSender::new(
                        &n.name,
                        cfg,
                        client,
                        allow_private,
                    )?)
                }
                NotifierKind::Email(cfg) => Sender::Email(email::EmailSender::new(&n.name, cfg)?),
            };
            if senders.insert(n.name.clone(), sender).is_some() {
                return Err(NotifyError::permanent(format!(
                    "two notifiers are named \"{}\"; give each [[notifier]] its own name",
                    n.name
                )));
            }
        }
        Ok(Notifiers {
            senders: Arc::new(senders),
        })
    }

    /// Sends one alert through the notifier named `name`: one attempt, no retries.
    pub async fn send(&self, name: &str, alert: &Alert) -> Result<(), NotifyError> {
        match self.senders.get(name) {
            Some(Sender::Webhook(w)) => w.send(alert).await,
            Some(Sender::Email(e)) => e.send(alert).await,
            None => Err(NotifyError::permanent(format!(
                "no notifier is named \"{name}\"; add a [[notifier]] with that name or fix the topic's notify list"
            ))),
        }
    }

    /// The configured notifier names, for `notify test` and for checking topics.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.senders.keys().cloned().collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_notifier_name_is_a_permanent_error() {
        let n = Notifiers::new(&[], "feedwatch-test", false).unwrap();
        let alert = Alert {
            id: "a1".into(),
            kind: crate::outbox::AlertKind::TopicMatch,
            topic: "t".into(),
            stories: vec![],
        };
        let err = n.send("nobody", &alert).await.unwrap_err();
        assert!(!err.retryable);
        assert!(err.message.contains("nobody"), "{}", err.message);
    }

    #[test]
    fn two_notifiers_with_one_name_are_refused() {
        let cfg = NotifierConfig {
            name: "hook".into(),
            kind: NotifierKind::Webhook(crate::config::WebhookConfig {
                url: url::Url::parse("https://hooks.example.org/x").unwrap(),
                secret_file: None,
                headers: Default::default(),
                format: "json".into(),
            }),
            events: Vec::new(),
        };
        let err = Notifiers::new(&[cfg.clone(), cfg], "ua", false)
            .err()
            .unwrap();
        assert!(err.message.contains("two notifiers"), "{}", err.message);
    }
}
