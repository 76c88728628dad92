//! `RateLimitLayer`: configuration and the tower `Layer`.

use crate::key::{DEFAULT_CLASS, HttpKey, RateKey};
use crate::memory::InMemoryStore;
use crate::quota::{InvalidQuota, Quota};
use crate::service::RateLimit;
use crate::signals::HttpSignals;
use resilience_core::HttpClassifier;
use std::borrow::Cow;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use tower_layer::Layer;

/// The default longest wait for a permit (the request's deadline may shorten it).
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);
/// The default pause after a throttled response that gave no `Retry-After` and no window.
pub const DEFAULT_THROTTLE_PAUSE: Duration = Duration::from_secs(1);
/// The default cap on any pause a response can ask for.
pub const DEFAULT_MAX_PAUSE: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) name: Arc<str>,
    pub(crate) default_quota: Quota,
    pub(crate) quotas: HashMap<Cow<'static, str>, Quota>,
    pub(crate) max_wait: Duration,
    pub(crate) throttle_pause: Duration,
    pub(crate) max_pause: Duration,
}

impl Config {
    /// The bucket a key draws from and its configured quota: a class without a quota of its
    /// own shares the scope's default bucket.
    pub(crate) fn resolve(&self, key: RateKey) -> (RateKey, Quota) {
        if let Some(quota) = self.quotas.get(key.class()) {
            (key, *quota)
        } else if key.class() == DEFAULT_CLASS {
            (key, self.default_quota)
        } else {
            (key.with_class(DEFAULT_CLASS), self.default_quota)
        }
    }
}

/// Applies the rate limiter to a service.
///
/// Type parameters (each replaced by a `with_*` method): `K` maps a request to its key
/// ([`HttpKey`]), `C` classifies outcomes ([`HttpClassifier`]), `H` reads limit signals from
/// responses ([`HttpSignals`]), `St` keeps the state ([`InMemoryStore`]). Services built by one
/// layer (and its clones) share one store, hence one budget per key.
#[derive(Debug, Clone)]
pub struct RateLimitLayer<K = HttpKey, C = HttpClassifier, H = HttpSignals, St = InMemoryStore> {
    pub(crate) config: Config,
    pub(crate) key_fn: K,
    pub(crate) classifier: C,
    pub(crate) signals: H,
    pub(crate) store: St,
}

impl RateLimitLayer {
    /// A limiter named `name` (the `service` metrics label) allowing `default_quota` per key,
    /// with the HTTP defaults: [`HttpKey`], [`HttpClassifier`], [`HttpSignals`] and a fresh
    /// [`InMemoryStore`].
    pub fn new(name: impl Into<Arc<str>>, default_quota: Quota) -> Self {
        RateLimitLayer {
            config: Config {
                name: name.into(),
                default_quota,
                quotas: HashMap::new(),
                max_wait: DEFAULT_MAX_WAIT,
                throttle_pause: DEFAULT_THROTTLE_PAUSE,
                max_pause: DEFAULT_MAX_PAUSE,
            },
            key_fn: HttpKey::new(),
            classifier: HttpClassifier::new(),
            signals: HttpSignals::new(),
            store: InMemoryStore::new(),
        }
    }
}

/// The rate class of HubSpot's CRM search endpoints (5 requests per second per token, separate
/// from the general limit). Mark search requests with `RateClass::new(HUBSPOT_SEARCH_CLASS)`.
pub const HUBSPOT_SEARCH_CLASS: &str = "search";

/// ManyChat's documented per-endpoint limits, in requests per second per page token (paths
/// relative to the API host; every other endpoint: 10/s). `getInfoByUserRef` states no limit
/// and gets the default.
pub const MANYCHAT_LIMITS: &[(&str, u32)] = &[
    ("/fb/page/getInfo", 100),
    ("/fb/page/getTags", 100),
    ("/fb/page/getWidgets", 100),
    ("/fb/page/getGrowthTools", 100),
    ("/fb/page/getCustomFields", 100),
    ("/fb/page/getOtnTopics", 100),
    ("/fb/page/getBotFields", 100),
    ("/fb/subscriber/findBySystemField", 50),
    ("/fb/sending/sendContent", 25),
    ("/fb/sending/sendContentByUserRef", 25),
    ("/fb/sending/sendFlow", 20),
];

/// ManyChat's limit for every endpoint not in [`MANYCHAT_LIMITS`].
pub const MANYCHAT_DEFAULT_LIMIT: u32 = 10;

fn per_second_rolling(count: u32) -> Quota {
    let burst = NonZeroU32::new((count / 5).max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::within_rolling_window(count, Duration::from_secs(1), burst)
        .unwrap_or_else(|_| Quota::per_second(NonZeroU32::MIN))
}

impl RateLimitLayer {
    /// HubSpot's limits: `per_ten_seconds` requests in any rolling 10 s per token (100 for
    /// Free/Starter private apps, 190 for Professional/Enterprise, 110 for public apps, 250
    /// with the limit increase), with a burst of a tenth of that; and search
    /// ([`HUBSPOT_SEARCH_CLASS`]) at 5 per second on its own bucket. The response headers
    /// lower these when the account's real limit is lower.
    ///
    /// # Errors
    ///
    /// [`InvalidQuota`] when `per_ten_seconds` is zero.
    pub fn hubspot(per_ten_seconds: u32) -> Result<Self, InvalidQuota> {
        let burst = NonZeroU32::new((per_ten_seconds / 10).max(1)).unwrap_or(NonZeroU32::MIN);
        let general =
            Quota::within_rolling_window(per_ten_seconds, Duration::from_secs(10), burst)?;
        Ok(RateLimitLayer::new("hubspot", general).with_quota(
            HUBSPOT_SEARCH_CLASS,
            Quota::within_rolling_window(5, Duration::from_secs(1), NonZeroU32::MIN)?,
        ))
    }

    /// ManyChat's per-endpoint limits ([`MANYCHAT_LIMITS`], 10/s for the rest), keyed by URI
    /// path ([`HttpKey::by_path`]), each within any rolling second with a burst of a fifth.
    pub fn manychat() -> Self {
        let mut layer = RateLimitLayer::new("manychat", per_second_rolling(MANYCHAT_DEFAULT_LIMIT))
            .with_key_fn(HttpKey::by_path());
        for (path, count) in MANYCHAT_LIMITS {
            layer = layer.with_quota(*path, per_second_rolling(*count));
        }
        layer
    }
}

impl<K, C, H, St> RateLimitLayer<K, C, H, St> {
    /// Gives requests of rate class `class` (see [`RateKey`]) their own bucket with `quota`,
    /// e.g. HubSpot search at 5/s, ManyChat `sendContent` at 25/s.
    pub fn with_quota(mut self, class: impl Into<Cow<'static, str>>, quota: Quota) -> Self {
        self.config.quotas.insert(class.into(), quota);
        self
    }

    /// The longest a request waits for a permit (default 5 s); its deadline may shorten it.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.config.max_wait = max_wait;
        self
    }

    /// How long a throttled outcome pauses its key when the response gave no `Retry-After` and
    /// no window (default 1 s).
    pub fn with_throttle_pause(mut self, pause: Duration) -> Self {
        self.config.throttle_pause = pause;
        self
    }

    /// The cap on any pause a response asks for (default 1 h).
    pub fn with_max_pause(mut self, max_pause: Duration) -> Self {
        self.config.max_pause = max_pause;
        self
    }

    /// Uses another key function (any [`KeyFn`](crate::KeyFn), closures included).
    pub fn with_key_fn<K2>(self, key_fn: K2) -> RateLimitLayer<K2, C, H, St> {
        RateLimitLayer {
            config: self.config,
            key_fn,
            classifier: self.classifier,
            signals: self.signals,
            store: self.store,
        }
    }

    /// Uses another outcome classifier (any [`Classify`](resilience_core::Classify)).
    pub fn with_classifier<C2>(self, classifier: C2) -> RateLimitLayer<K, C2, H, St> {
        RateLimitLayer {
            config: self.config,
            key_fn: self.key_fn,
            classifier,
            signals: self.signals,
            store: self.store,
        }
    }

    /// Uses another reader of response signals ([`NoSignals`](crate::NoSignals) for a
    /// non-HTTP service).
    pub fn with_signals<H2>(self, signals: H2) -> RateLimitLayer<K, C, H2, St> {
        RateLimitLayer {
            config: self.config,
            key_fn: self.key_fn,
            classifier: self.classifier,
            signals,
            store: self.store,
        }
    }

    /// Uses another state store (share one [`InMemoryStore`] between layers, or a remote one).
    pub fn with_store<St2>(self, store: St2) -> RateLimitLayer<K, C, H, St2> {
        RateLimitLayer {
            config: self.config,
            key_fn: self.key_fn,
            classifier: self.classifier,
            signals: self.signals,
            store,
        }
    }

    /// The state store.
    pub fn store(&self) -> &St {
        &self.store
    }

    /// The configured quota for requests of `class` (the default quota when it has none).
    pub fn quota_for(&self, class: &str) -> Quota {
        self.config
            .quotas
            .get(class)
            .copied()
            .unwrap_or(self.config.default_quota)
    }

    /// The bucket a request keyed `key` actually draws from, and that bucket's quota: a class
    /// without a quota of its own shares the scope's `default` bucket, exactly as the service
    /// resolves it. Use this to draw from the same budget outside the layer (a batch gate).
    pub fn resolve_key(&self, key: RateKey) -> (RateKey, Quota) {
        self.config.resolve(key)
    }
}

impl<S, K: Clone, C: Clone, H: Clone, St: Clone> Layer<S> for RateLimitLayer<K, C, H, St> {
    type Service = RateLimit<S, K, C, H, St>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::new(inner, self.clone())
    }
}
