//! The sync engine: reads contacts in batches of 100, then finds, sends and tags for each
//! contact with bounded concurrency, writing one record per contact as it finishes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use batch::{BatchProcessor, ItemError, ItemOutcome};
use client_hubspot::{BatchItemError, BatchReadOptions, CrmObject, HubSpotClient};
use client_manychat::{ManyChatClient, ManyChatError, Message, Subscriber};
use tokio::time::Instant;

use super::plan::{SendAction, SyncPlan, render_template, render_value};
use super::progress::SyncProgress;
use super::record::{ContactOutcome, ContactResult, SyncSummary};
use super::sink::ResultSink;
use crate::error::{CliError, chain};

/// The contact properties every sync reads (templates may add more).
pub const CONTACT_PROPERTIES: [&str; 4] = ["email", "phone", "firstname", "lastname"];

/// HubSpot's batch size.
const CHUNK: usize = 100;

/// Runs the sync workflow for lists of contact ids. Cheap to clone (the clients are shared).
#[derive(Debug, Clone)]
pub struct SyncEngine {
    hubspot: HubSpotClient,
    manychat: ManyChatClient,
    plan: Arc<SyncPlan>,
    processor: BatchProcessor,
    read_rounds: u32,
    read_delay: Duration,
    tag_ready: Arc<tokio::sync::OnceCell<()>>,
    locks: Arc<ContactLocks>,
}

/// One async lock per contact being synced, so two deliveries naming the same contact (two
/// workers, two jobs) never sync it at once: the second waits, then sees the first's tag.
#[derive(Debug, Default)]
struct ContactLocks {
    map: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ContactLocks {
    fn get(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(map.entry(id.to_owned()).or_default())
    }

    fn release(&self, id: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only the map and this caller hold it: nobody waits, so the entry can go.
        if Arc::strong_count(&lock) == 2 {
            map.remove(id);
        }
    }
}

impl SyncEngine {
    /// An engine over two clients, with concurrency 5 and 3 extra rounds for contact reads
    /// that failed as a whole request (an open breaker, a 5xx after the client's retries).
    pub fn new(hubspot: HubSpotClient, manychat: ManyChatClient, plan: SyncPlan) -> Self {
        Self {
            hubspot,
            manychat,
            plan: Arc::new(plan),
            processor: processor(batch::DEFAULT_CONCURRENCY),
            read_rounds: 3,
            read_delay: Duration::from_secs(1),
            tag_ready: Arc::new(tokio::sync::OnceCell::new()),
            locks: Arc::new(ContactLocks::default()),
        }
    }

    /// Contacts processed at once (at least 1).
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.processor = processor(concurrency);
        self
    }

    /// Extra rounds for contact reads whose whole request failed, and the wait between rounds
    /// when the error names none (an open breaker names its own). Reads are idempotent, so a
    /// later round is safe; sends are never repeated.
    #[must_use]
    pub fn read_retries(mut self, rounds: u32, delay: Duration) -> Self {
        self.read_rounds = rounds;
        self.read_delay = delay;
        self
    }

    /// The HubSpot client.
    pub fn hubspot(&self) -> &HubSpotClient {
        &self.hubspot
    }

    /// The ManyChat client.
    pub fn manychat(&self) -> &ManyChatClient {
        &self.manychat
    }

    /// Syncs `ids` (duplicates are synced once), writing one record per contact to `sink`.
    ///
    /// # Errors
    ///
    /// Only when the result file cannot be written; every contact's own failure is a record.
    pub async fn run(
        &self,
        ids: Vec<String>,
        sink: &ResultSink,
        progress: &SyncProgress,
    ) -> Result<SyncSummary, CliError> {
        let start = Instant::now();
        let mut seen = HashSet::new();
        let total = ids.len();
        let mut blank = 0;
        let ids: Vec<String> = ids
            .into_iter()
            .map(|id| id.trim().to_owned())
            .filter(|id| {
                blank += usize::from(id.is_empty());
                !id.is_empty() && seen.insert(id.clone())
            })
            .collect();
        if ids.len() + blank < total {
            tracing::info!(
                duplicates = total - ids.len() - blank,
                "duplicate contact ids are synced once"
            );
        }
        progress.add_total((ids.len() + blank) as u64);
        let mut summary = SyncSummary::default();
        for _ in 0..blank {
            let result = ContactResult::failed("", "input", "empty contact id".to_owned());
            self.record(&result, sink, progress)?;
            summary.add(&result);
        }
        self.ensure_tag().await;
        for chunk in ids.chunks(CHUNK) {
            let contacts = self.read_chunk(chunk).await;
            // Bounded concurrency (and a caught panic per contact) come from `batch`; the
            // operation records each contact as soon as it finishes.
            let batch = self
                .processor
                .process_keyed(contacts, entry_id, |entry| {
                    self.finish(entry, sink, progress)
                })
                .await;
            for record in batch.records {
                let result = match record.outcome {
                    ItemOutcome::Succeeded(result) => result,
                    ItemOutcome::Failed(ItemError::Operation(error)) => return Err(error),
                    ItemOutcome::Failed(error) => {
                        let result = ContactResult::failed(record.key, "sync", error.to_string());
                        self.record(&result, sink, progress)?;
                        result
                    }
                    ItemOutcome::Cancelled => {
                        let result = ContactResult::failed(
                            record.key,
                            "sync",
                            "cancelled before it started".to_owned(),
                        );
                        self.record(&result, sink, progress)?;
                        result
                    }
                };
                summary.add(&result);
            }
        }
        summary.duration = start.elapsed();
        Ok(summary)
    }

    /// Creates the sync tag on the page when it does not exist yet (ManyChat's add-by-name
    /// needs an existing tag). Done once per engine; a failure is logged and retried by the
    /// next run, and each contact's tag step then reports its own error.
    async fn ensure_tag(&self) {
        let Some(tag) = self.plan.tag.clone() else {
            return;
        };
        let result = self
            .tag_ready
            .get_or_try_init(|| async {
                let page = self.manychat.page();
                let tags = page.tags().await?;
                if !tags.iter().any(|t| t.name.eq_ignore_ascii_case(&tag)) {
                    page.create_tag(&tag).await?;
                    tracing::info!(tag = %tag, "created the sync tag");
                }
                Ok::<(), ManyChatError>(())
            })
            .await;
        if let Err(error) = result {
            tracing::warn!(tag = %tag, error = %chain(&error), "cannot make sure the sync tag exists");
        }
    }

    /// Syncs one read contact (or passes its read failure on) and records it.
    async fn finish(
        &self,
        entry: Result<CrmObject, Box<ContactResult>>,
        sink: &ResultSink,
        progress: &SyncProgress,
    ) -> Result<ContactResult, CliError> {
        let result = match entry {
            Ok(contact) => {
                let id = contact.id.clone();
                let lock = self.locks.get(&id);
                let result = {
                    let _guard = lock.lock().await;
                    self.sync_contact(contact).await
                };
                self.locks.release(&id, lock);
                result
            }
            Err(result) => *result,
        };
        self.record(&result, sink, progress)?;
        Ok(result)
    }

    /// Logs a failure, counts the outcome and writes the record.
    fn record(
        &self,
        result: &ContactResult,
        sink: &ResultSink,
        progress: &SyncProgress,
    ) -> Result<(), CliError> {
        if result.outcome.is_failure() {
            tracing::warn!(
                contact_id = %result.contact_id,
                stage = result.stage.unwrap_or("unknown"),
                error = result.error.as_deref().unwrap_or(""),
                "contact sync failed"
            );
        }
        metrics::counter!("integrations_sync_contacts_total", "outcome" => result.outcome.as_str())
            .increment(1);
        progress.finish_one(result.outcome.is_failure());
        sink.write(result)
    }

    /// Reads up to 100 contacts; every id ends as a contact or as its final record.
    async fn read_chunk(&self, ids: &[String]) -> Vec<Result<CrmObject, Box<ContactResult>>> {
        let mut properties: Vec<String> =
            CONTACT_PROPERTIES.iter().map(|s| (*s).to_owned()).collect();
        for name in self.plan.template_properties() {
            if !properties.contains(&name) {
                properties.push(name);
            }
        }
        let options = BatchReadOptions::new().properties(properties);
        let mut done: HashMap<String, Result<CrmObject, Box<ContactResult>>> = HashMap::new();
        let mut pending: Vec<String> = ids.to_vec();
        let mut round = 0;
        while !pending.is_empty() {
            let response = self
                .hubspot
                .contacts()
                .objects()
                .batch_read(pending.clone(), &options)
                .await;
            let items = match response {
                Ok(response) => response.into_items(),
                Err(error) => {
                    let message = chain(&error);
                    for id in pending.drain(..) {
                        let record = ContactResult::failed(id.clone(), "hubspot", message.clone());
                        done.insert(id, Err(Box::new(record)));
                    }
                    break;
                }
            };
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            for (id, item) in pending.iter().zip(
                items
                    .into_iter()
                    .map(Some)
                    .chain(std::iter::repeat_with(|| None)),
            ) {
                match item {
                    Some(Ok(contact)) => {
                        done.insert(id.clone(), Ok(contact));
                    }
                    Some(Err(error)) if error.is_not_found() => {
                        let record = ContactResult::new(id.clone(), ContactOutcome::NotFound);
                        done.insert(id.clone(), Err(Box::new(record)));
                    }
                    Some(Err(BatchItemError::Request(error)))
                        if round < self.read_rounds
                            && (error.is_retryable() || error.is_rejected()) =>
                    {
                        wait = wait.max(error.retry_after());
                        again.push(id.clone());
                    }
                    Some(Err(error)) => {
                        let record = ContactResult::failed(id.clone(), "hubspot", chain(&error));
                        done.insert(id.clone(), Err(Box::new(record)));
                    }
                    None => {
                        let record = ContactResult::failed(
                            id.clone(),
                            "hubspot",
                            "hubspot returned no result for the contact".to_owned(),
                        );
                        done.insert(id.clone(), Err(Box::new(record)));
                    }
                }
            }
            if !again.is_empty() {
                let delay = wait
                    .unwrap_or(self.read_delay)
                    .max(Duration::from_millis(10))
                    .min(Duration::from_secs(30));
                tracing::warn!(
                    contacts = again.len(),
                    round = round + 1,
                    delay_ms = delay.as_millis() as u64,
                    "hubspot read failed, reading these contacts again"
                );
                tokio::time::sleep(delay).await;
            }
            pending = again;
            round += 1;
        }
        ids.iter()
            .map(|id| {
                done.remove(id).unwrap_or_else(|| {
                    Err(Box::new(ContactResult::failed(
                        id.clone(),
                        "hubspot",
                        "contact was not read".to_owned(),
                    )))
                })
            })
            .collect()
    }

    /// Find, send, tag for one contact. Never fails: failures are records.
    pub async fn sync_contact(&self, contact: CrmObject) -> ContactResult {
        let mut result = ContactResult::new(contact.id.clone(), ContactOutcome::Synced);
        let email = contact
            .property("email")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let phone = contact
            .property("phone")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        result.email = email.map(str::to_owned);

        let subscribers = self.manychat.subscribers();
        let mut found: Option<(Subscriber, &'static str)> = None;
        if let Some(email) = email {
            match subscribers.find_by_email(email).await {
                Ok(Some(s)) => found = Some((s, "email")),
                Ok(None) => {}
                Err(e) => return fail(result, "find", &e),
            }
        }
        if found.is_none() {
            if let Some(phone) = phone {
                match subscribers.find_by_phone(phone).await {
                    Ok(Some(s)) => found = Some((s, "phone")),
                    Ok(None) => {}
                    Err(e) => return fail(result, "find", &e),
                }
            }
        }
        let Some((subscriber, matched_by)) = found else {
            result.outcome = ContactOutcome::NoSubscriber;
            return result;
        };
        let id = subscriber.id;
        result.subscriber_id = Some(id.get());
        result.matched_by = Some(matched_by);

        if let Some(tag) = &self.plan.tag {
            if subscriber
                .tags
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(tag))
            {
                result.outcome = ContactOutcome::AlreadySynced;
                result.tagged = true;
                return result;
            }
        }

        let sent = match &self.plan.action {
            SendAction::None => None,
            SendAction::Flow(ns) => Some(self.manychat.send_flow(id, ns).await),
            SendAction::Text(template) => {
                let text = render_template(template, &contact.properties);
                match self.message(Message::text(text)) {
                    Ok(message) => Some(self.manychat.send_content(id, &message).await),
                    Err(e) => return fail(result, "send", &e),
                }
            }
            SendAction::Content(value) => {
                let rendered = render_value(value, &contact.properties);
                match self.message(Message::from_json(&rendered)) {
                    Ok(message) => Some(self.manychat.send_content(id, &message).await),
                    Err(e) => return fail(result, "send", &e),
                }
            }
        };
        match sent {
            None => {}
            Some(Ok(())) => result.sent = true,
            Some(Err(e)) if e.is_outcome_unknown() => {
                tracing::warn!(
                    contact_id = %result.contact_id,
                    subscriber_id = id.get(),
                    "send outcome unknown; not repeated"
                );
                result.outcome = ContactOutcome::Unconfirmed;
                result.stage = Some("send");
                result.error = Some(chain(&e));
            }
            Some(Err(e)) => return fail(result, "send", &e),
        }

        if let Some(tag) = &self.plan.tag {
            match subscribers.add_tag(id, tag.as_str()).await {
                Ok(()) => result.tagged = true,
                Err(e) => {
                    tracing::warn!(
                        contact_id = %result.contact_id,
                        error = %chain(&e),
                        "tag not added; a re-run would send again"
                    );
                    if result.error.is_none() {
                        result.stage = Some("tag");
                        result.error = Some(chain(&e));
                    }
                }
            }
        }
        result
    }

    fn message(
        &self,
        built: Result<Message, client_manychat::ValidationError>,
    ) -> Result<Message, ManyChatError> {
        let message = built?;
        match &self.plan.message_tag {
            Some(tag) => Ok(message.with_message_tag(tag.clone())?),
            None => Ok(message),
        }
    }
}

fn processor(concurrency: usize) -> BatchProcessor {
    BatchProcessor::builder()
        .concurrency(concurrency.max(1))
        .build()
        .unwrap_or_default()
}

fn entry_id(entry: &Result<CrmObject, Box<ContactResult>>) -> String {
    match entry {
        Ok(contact) => contact.id.clone(),
        Err(result) => result.contact_id.clone(),
    }
}

fn fail(
    mut result: ContactResult,
    stage: &'static str,
    error: &dyn std::error::Error,
) -> ContactResult {
    result.outcome = ContactOutcome::Failed;
    result.stage = Some(stage);
    result.error = Some(chain(error));
    result
}
