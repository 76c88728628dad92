//! An in-process, fault-injecting simulator of the HubSpot CRM v3 and ManyChat APIs.
//!
//! The sandbox serves the real paths, bodies, headers and error shapes of both APIs from one
//! hyper server on `127.0.0.1:0`: HubSpot objects (`/crm/v3/objects/{objectType}` for contacts,
//! companies, deals and configured [`CustomObjectType`]s, with list, get, create, update,
//! archive, the batch family and search; `propertiesWithHistory` and `associations` on reads)
//! and `/account-info/v3/details`; ManyChat's `/fb/page/*` (info, tags, custom and bot fields,
//! flows, growth tools, OTN topics), `/fb/subscriber/*` (lookups by id, name, email/phone,
//! custom field and `user_ref`; writes) and `/fb/sending/*` (`sendContent`,
//! `sendContentByUserRef`, `sendFlow`). The README lists every route.
//! It enforces HubSpot's per-token limits with `X-HubSpot-RateLimit-*` headers and the real 429
//! bodies (`TEN_SECONDLY_ROLLING`, `SECONDLY` for search, `DAILY`), and ManyChat's
//! per-operation limits; a body over [`SandboxConfig::max_body_bytes`] is answered 413 in the
//! API's error shape. Seed data is generated deterministically from a seed: 10,000 contacts by
//! default, companies, deals and their associations, custom objects, and matching ManyChat
//! subscribers (same email or phone) for 70 % of the contacts.
//!
//! A [`Control`] handle scripts faults per route ([`Fault`]: a status with a JSON or HTML body and
//! an optional `Retry-After`, added latency, a connection dropped before or after processing,
//! malformed JSON, a truncated body, an outage window, seeded random [`Chaos`]), and the
//! [`RequestLog`] records every request (method, path, status, arrival time, token label, fault)
//! so a test can assert counts and spacing. [`webhook`] signs and delivers HubSpot-style
//! webhook batches.
//!
//! # Time
//! Everything time-based inside the sandbox (rate-limit windows, latency faults, outage windows,
//! log timestamps) uses `tokio::time`, so a test on a paused clock
//! (`#[tokio::test(start_paused = true)]`) drives it: `tokio::time::advance` empties a rate
//! window without waiting, and a latency fault completes as soon as the runtime is idle. Real
//! sockets still work on a paused clock, because tokio only auto-advances time when every task is
//! idle. Dates in API bodies are a fixed epoch ([`SandboxConfig::epoch_ms`]) plus elapsed
//! `tokio::time`, so responses are deterministic. [`SandboxConfig::time_scale`] shrinks the
//! documented windows (0.01 runs HubSpot's 10 s window in 100 ms) for tests on a real clock.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use api_sandbox::{Fault, Route, Sandbox, SandboxConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::start(SandboxConfig::small()).await?;
//! let base = sandbox.hubspot_url(); // http://127.0.0.1:PORT, instead of https://api.hubapi.com
//! let token = sandbox.hubspot_token(); // send as `Authorization: Bearer <token>`
//! assert!(base.starts_with("http://127.0.0.1:"));
//! assert!(!token.is_empty());
//!
//! // the next three contact reads answer 503, then an HTML 502 for 50 ms
//! sandbox.control().fail_next(Route::path("/crm/v3/objects/contacts"), 3, Fault::status(503));
//! sandbox.control().fail_for(Route::hubspot(), Duration::from_millis(50), Fault::html(502));
//!
//! // ... run the client under test, then assert on the log
//! assert_eq!(sandbox.log().len(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! Standalone: `cargo run -p api-sandbox -- --port 8787` prints the base URLs and tokens; the
//! admin endpoints under `/__sandbox/` (see the README) script faults over HTTP.

mod admin;
mod config;
mod control;
mod faults;
mod hubspot;
mod log;
mod manychat;
mod ratelimit;
mod reply;
mod seed;
mod server;
mod state;
mod util;
pub mod webhook;

pub use config::{
    CustomObjectType, DEFAULT_EPOCH_MS, DEFAULT_HUBSPOT_READONLY_TOKEN, DEFAULT_HUBSPOT_TOKEN,
    DEFAULT_MANYCHAT_API_KEY, DEFAULT_MANYCHAT_PAGE_ID, DEFAULT_MAX_BODY_BYTES, HubSpotConfig,
    HubSpotToken, ManyChatConfig, SandboxConfig, WindowLimit,
};
pub use control::Control;
pub use faults::{Api, Chaos, Fault, FaultBody, FaultId, FaultRule, Route};
pub use log::{LogEntry, RequestLog};
pub use manychat::store::{Delivery, DeliveryKind};
pub use server::{Closed, Sandbox, StartError};
