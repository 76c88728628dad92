//! HubSpot CRM v3 client: typed operations over a tower stack you can recompose.
//!
//! - [`HubSpotClient`]: `new(config)`, `from_env()`, `builder()` build the default stack
//!   ([`stack`]); `with_service(svc)` runs the typed API over a stack of your own. Clones are
//!   cheap and share the pool and every layer's state (`breaker()`, `cache()` give handles);
//!   `close().await` drains in-flight calls; `health_check()` reads
//!   `/account-info/v3/details`, and the client is an `obs_health::HealthCheck`.
//! - [`Objects`] (any object type) and [`Contacts`] (plus lookups by email): get, list (a page,
//!   or a [`Stream`](futures_core::Stream) following `after`), create, update, archive, search
//!   (a [`SearchRequest`] builder; [`SearchStream`] stops cleanly at HubSpot's 10,000-result
//!   cap), and batch read/create/update/upsert/archive chunked into requests of 100, with 207
//!   partial failures mapped back to each input ([`BatchResponse`]).
//! - [`HubSpotError`]: one error type with `is_not_found()`, `is_rate_limited()`,
//!   `is_retryable()`, `status()`, `category()`, `correlation_id()`; a daily-limit 429 is
//!   [`HubSpotError::DailyLimit`] and never retryable; a write that may have been applied
//!   without an answer saying so is [`HubSpotError::OutcomeUnknown`], never retryable.
//! - The rate limiter's state lives in memory per client, or on a [`FleetStore`]
//!   ([`HubSpotClientBuilder::rate_limit_store`]): through Redis, every process shares one
//!   budget per HubSpot account.
//!
//! Every request is marked for the layers with `resilience_core::extensions`: an
//! `Operation` name (`contacts.get`, `deals.batch_read`, ...), `Idempotent` for batch reads
//! and searches (POSTs without side effects), `Cacheable` for gets and batch reads, and a
//! `RateClass("search")` so the limiter keeps searches on their own 5/s bucket.
//! [`HubSpotClassifier`] adds HubSpot's daily-limit rule to the workspace's HTTP
//! classification for every layer of the default stack.
//!
//! # Example
//!
//! The typed API over a service of your own (here a closure standing in for HubSpot):
//!
//! ```
//! use bytes::Bytes;
//! use client_hubspot::{GetOptions, HubSpotClient};
//! use http::{Request, Response};
//! use integrations_http::Body;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let service = tower::service_fn(|request: Request<Body>| async move {
//!     assert_eq!(request.uri(), "/crm/v3/objects/contacts/ada%40example.com?properties=email&idProperty=email");
//!     let body = r#"{"id":"1","properties":{"email":"ada@example.com"},"archived":false}"#;
//!     Ok::<_, std::convert::Infallible>(Response::new(Bytes::from(body)))
//! });
//! let client = HubSpotClient::with_service(service);
//!
//! let ada = client
//!     .contacts()
//!     .get_by_email("ada@example.com", &GetOptions::new().properties(["email"]))
//!     .await?;
//! assert_eq!(ada.id, "1");
//! assert_eq!(ada.property("email"), Some("ada@example.com"));
//! # Ok(())
//! # }
//! ```
//!
//! With the default stack, configured from `HUBSPOT_TOKEN` and the other `HUBSPOT_*`
//! variables:
//!
//! ```no_run
//! use client_hubspot::{Filter, FilterGroup, HubSpotClient, SearchRequest};
//! use futures_util::TryStreamExt;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client = HubSpotClient::from_env()?;
//! let customers = client.contacts().search(
//!     SearchRequest::new()
//!         .filter_group(FilterGroup::new().filter(Filter::eq("lifecyclestage", "customer")))
//!         .limit(200),
//! );
//! let all: Vec<_> = customers.try_collect().await?;
//! println!("{} customers", all.len());
//! client.close().await;
//! # Ok(())
//! # }
//! ```

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod api;
mod builder;
mod classify;
mod client;
mod error;
mod health;
pub mod models;
mod request;
pub mod stack;

pub use api::{
    BATCH_LIMIT, BatchReadOptions, Contacts, GetOptions, ListOptions, ObjectStream, Objects,
    SearchStream,
};
pub use builder::HubSpotClientBuilder;
pub use classify::HubSpotClassifier;
pub use client::{HubSpotClient, HubSpotService, Invalidate};
pub use error::{BuildError, HubSpotError, is_daily_limit_response};
pub use models::{
    AccountDetails, AssociationInput, BatchItemError, BatchResponse, BatchUpdateInput,
    BatchUpsertInput, CrmObject, Filter, FilterGroup, ObjectInput, Operator, Page, SearchPage,
    SearchRequest, Sort, StandardError, UpsertedObject,
};
/// The rate-limit store choice of [`StackConfig::rate_limit_store`](stack::StackConfig::rate_limit_store):
/// in memory, or one budget per account for a fleet through Redis.
pub use resilience_ratelimit_redis::FleetStore;
