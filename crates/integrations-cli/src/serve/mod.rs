//! The webhook service behind `integrations serve` (and the demo): verify → enqueue → 204,
//! a bounded queue drained by a worker pool running the sync, health and metrics endpoints,
//! and a graceful shutdown that finishes or spools every accepted delivery.

mod router;
mod server;
mod spool;

pub use server::{ServeConfig, ServeStats, Server, WEBHOOK_PATH};
pub use spool::{Job, load_spool, write_spool};
