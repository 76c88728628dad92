//! A TTL cache on [`quick_cache`] with single-flight fill, and a tower [`CacheLayer`].
//!
//! - [`TtlCache`]: per-entry TTL (with a default), capacity by entries or by weight, `get`,
//!   `insert`, `insert_with_ttl`, invalidation by key, predicate or prefix, `clear`, and
//!   [`get_or_insert_with`](TtlCache::get_or_insert_with): one fill per key at a time, through
//!   quick_cache's own placeholder guard (a cancelled fill hands over to the next waiter).
//! - Optional stale-while-revalidate (one background refresh per key) and negative caching
//!   (failed fills kept for their own short TTL), set in [`CacheConfig`].
//! - [`CacheStats`] (hits, misses, stale hits, inserts, evictions, `hit_rate()`) and the
//!   `resilience_cache_*` metrics through the `metrics` facade, labelled `cache = name`.
//! - [`CacheLayer`] / [`Cache`]: answers cacheable requests (by default `GET`/`HEAD` and requests
//!   marked [`Cacheable`](resilience_core::extensions::Cacheable)) from the cache, stores only
//!   successful responses that `Cache-Control` allows, keys by method, URI, chosen headers and a
//!   hash of the credentials (never the token itself).
//! - [`CacheRegistry`] and [`get_cache`]: named caches shared across clients.
//!
//! Time is tokio's clock, so tests with a paused clock control expiry.
//!
//! # Example
//!
//! ```
//! use resilience_cache::{CacheConfig, TtlCache};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cache: TtlCache<String, u64> = TtlCache::new(
//!     "contacts",
//!     CacheConfig::new(Duration::from_secs(60))
//!         .max_entries(1_000)
//!         .negative_ttl(Duration::from_secs(5)),
//! )?;
//!
//! // A miss runs the fill once; concurrent callers for the same key share its result.
//! let id = cache
//!     .get_or_insert_with("alice".to_string(), || async { Ok::<_, String>(42) })
//!     .await?;
//! assert_eq!(id, 42);
//! assert_eq!(cache.get("alice"), Some(42)); // a hit
//!
//! cache.insert_with_ttl("bob".to_string(), 7, Duration::from_secs(1));
//! cache.invalidate_prefix("al");
//! assert_eq!(cache.get("alice"), None); // a miss
//!
//! let stats = cache.stats();
//! assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 2, 2));
//! assert!((stats.hit_rate() - 1.0 / 3.0).abs() < 1e-9);
//! # Ok(())
//! # }
//! ```
//!
//! And as a layer in front of an HTTP service:
//!
//! ```
//! use bytes::Bytes;
//! use resilience_cache::{CacheConfig, CacheLayer, HttpResponseCache};
//! use std::time::Duration;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let cache = HttpResponseCache::new("hubspot", CacheConfig::new(Duration::from_secs(30)))?;
//! let service = ServiceBuilder::new()
//!     .layer(CacheLayer::new(cache.clone()))
//!     .service(service_fn(|_req: http::Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(http::Response::new(Bytes::from_static(b"{}")))
//!     }));
//!
//! let get = || http::Request::get("https://api.example.com/x").body(String::new()).unwrap();
//! service.clone().oneshot(get()).await?; // miss: calls the service, stores the 200
//! service.clone().oneshot(get()).await?; // hit: the service is not called
//! assert_eq!(cache.stats().hits, 1);
//! # Ok(())
//! # }
//! ```

mod config;
mod future;
mod key;
mod layer;
mod registry;
mod response;
mod service;
mod stats;
mod ttl_cache;

pub use config::{CacheConfig, Capacity, ConfigError, DEFAULT_MAX_ENTRIES, Weigher};
pub use future::ResponseFuture;
pub use key::{HttpKey, KeyFn, MAX_KEYED_BODY_BYTES};
pub use layer::{CacheLayer, HttpResponseCache, ResponseCache};
pub use quick_cache::Equivalent;
pub use registry::{CacheRegistry, RegistryError, get_cache};
pub use response::{CacheableResponse, Freshness, http_freshness};
pub use service::Cache;
pub use stats::CacheStats;
pub use ttl_cache::{Store, TtlCache};

/// Compiles the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
