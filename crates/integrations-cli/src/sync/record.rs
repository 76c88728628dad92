//! One result per contact, and the run's counts.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::kestra::Metric;

/// What happened to one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactOutcome {
    /// Found, sent, tagged.
    Synced,
    /// The subscriber already carries the sync tag: nothing was sent again.
    AlreadySynced,
    /// No ManyChat subscriber has the contact's email or phone.
    NoSubscriber,
    /// The HubSpot contact does not exist.
    NotFound,
    /// The send may or may not have reached ManyChat (the connection dropped after it was
    /// written); it was not repeated, and the tag was added so a re-run skips it.
    Unconfirmed,
    /// A step failed; `stage` and `error` say which and why.
    Failed,
}

impl ContactOutcome {
    /// Whether this outcome counts as a failure for the exit code.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed)
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::AlreadySynced => "already_synced",
            Self::NoSubscriber => "no_subscriber",
            Self::NotFound => "not_found",
            Self::Unconfirmed => "unconfirmed",
            Self::Failed => "failed",
        }
    }
}

/// The JSON Lines record written for each contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactResult {
    /// HubSpot contact id.
    pub contact_id: String,
    /// The outcome.
    pub outcome: ContactOutcome,
    /// The contact's email, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The ManyChat subscriber id, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriber_id: Option<u64>,
    /// How the subscriber was matched: `email` or `phone`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<&'static str>,
    /// Whether the message or flow was accepted by ManyChat.
    pub sent: bool,
    /// Whether the tag was added.
    pub tagged: bool,
    /// The failed step (`hubspot`, `find`, `send`, `tag`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<&'static str>,
    /// The error, when a step failed (never a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ContactResult {
    /// A record with only an id and an outcome.
    pub fn new(contact_id: impl Into<String>, outcome: ContactOutcome) -> Self {
        Self {
            contact_id: contact_id.into(),
            outcome,
            email: None,
            subscriber_id: None,
            matched_by: None,
            sent: false,
            tagged: false,
            stage: None,
            error: None,
        }
    }

    /// A failure at `stage`.
    pub fn failed(contact_id: impl Into<String>, stage: &'static str, error: String) -> Self {
        Self {
            stage: Some(stage),
            error: Some(error),
            ..Self::new(contact_id, ContactOutcome::Failed)
        }
    }
}

/// Counts of a sync run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncSummary {
    /// Contacts asked for.
    pub total: u64,
    /// Synced now.
    pub synced: u64,
    /// Skipped: already tagged by an earlier run.
    pub already_synced: u64,
    /// No subscriber.
    pub no_subscriber: u64,
    /// Not in HubSpot.
    pub not_found: u64,
    /// Sent, outcome unknown (not repeated).
    pub unconfirmed: u64,
    /// Failed.
    pub failed: u64,
    /// Messages or flows ManyChat accepted.
    pub messages_sent: u64,
    /// Tags added.
    pub tagged: u64,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl SyncSummary {
    /// Counts one result.
    pub fn add(&mut self, result: &ContactResult) {
        self.total += 1;
        match result.outcome {
            ContactOutcome::Synced => self.synced += 1,
            ContactOutcome::AlreadySynced => self.already_synced += 1,
            ContactOutcome::NoSubscriber => self.no_subscriber += 1,
            ContactOutcome::NotFound => self.not_found += 1,
            ContactOutcome::Unconfirmed => self.unconfirmed += 1,
            ContactOutcome::Failed => self.failed += 1,
        }
        if result.sent {
            self.messages_sent += 1;
        }
        if result.tagged {
            self.tagged += 1;
        }
    }

    /// Adds another summary's counts (durations add up too).
    pub fn merge(&mut self, other: &SyncSummary) {
        self.total += other.total;
        self.synced += other.synced;
        self.already_synced += other.already_synced;
        self.no_subscriber += other.no_subscriber;
        self.not_found += other.not_found;
        self.unconfirmed += other.unconfirmed;
        self.failed += other.failed;
        self.messages_sent += other.messages_sent;
        self.tagged += other.tagged;
        self.duration += other.duration;
    }

    /// The counts as Kestra outputs.
    pub fn outputs(&self) -> Map<String, Value> {
        match json!({
            "total": self.total,
            "synced": self.synced,
            "already_synced": self.already_synced,
            "no_subscriber": self.no_subscriber,
            "not_found": self.not_found,
            "unconfirmed": self.unconfirmed,
            "failed": self.failed,
            "messages_sent": self.messages_sent,
        }) {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// The counts as Kestra metrics (counters by outcome, and the duration as a timer).
    pub fn metrics(&self) -> Vec<Metric> {
        let mut metrics: Vec<Metric> = [
            ("synced", self.synced),
            ("already_synced", self.already_synced),
            ("no_subscriber", self.no_subscriber),
            ("not_found", self.not_found),
            ("unconfirmed", self.unconfirmed),
            ("failed", self.failed),
        ]
        .into_iter()
        .map(|(outcome, n)| Metric::counter("contacts", n as f64).tag("outcome", outcome))
        .collect();
        metrics.push(Metric::counter("messages_sent", self.messages_sent as f64));
        metrics.push(Metric::timer("sync_duration", self.duration));
        metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_every_outcome_once() {
        let mut s = SyncSummary::default();
        let mut synced = ContactResult::new("1", ContactOutcome::Synced);
        synced.sent = true;
        synced.tagged = true;
        s.add(&synced);
        s.add(&ContactResult::new("2", ContactOutcome::NoSubscriber));
        s.add(&ContactResult::failed("3", "send", "boom".to_owned()));
        assert_eq!((s.total, s.synced, s.no_subscriber, s.failed), (3, 1, 1, 1));
        assert_eq!((s.messages_sent, s.tagged), (1, 1));
        assert_eq!(s.outputs()["total"], 3);
        let line = crate::kestra::metrics_line(&s.metrics());
        assert!(crate::kestra::parse_line(&line).is_some());
    }

    #[test]
    fn records_serialise_without_empty_fields() {
        let r = ContactResult::new("7", ContactOutcome::NotFound);
        assert_eq!(
            serde_json::to_string(&r).unwrap_or_default(),
            r#"{"contact_id":"7","outcome":"not_found","sent":false,"tagged":false}"#
        );
    }
}
