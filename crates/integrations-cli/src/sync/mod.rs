//! The sync workflow: HubSpot contacts → their ManyChat subscribers (by email, then phone) →
//! a templated message or a flow → a tag, with one result record per contact.
//!
//! **No duplicate sends.** The ManyChat client never repeats a send that may have reached
//! ManyChat (a dropped connection after the request was written is an "outcome unknown",
//! recorded here as `unconfirmed`, never resent). Across runs (a Kestra task retry re-runs the
//! whole process), the tag is the marker: with `--tag`, a subscriber that already carries it is
//! skipped as `already_synced`, and the tag is added right after the send, also after an
//! unconfirmed one.

mod engine;
mod plan;
mod progress;
mod record;
mod sink;

pub use engine::{CONTACT_PROPERTIES, SyncEngine};
pub use plan::{SendAction, SyncPlan, render_template};
pub use progress::{ProgressMode, ProgressReporter, SyncProgress};
pub use record::{ContactOutcome, ContactResult, SyncSummary};
pub use sink::ResultSink;
