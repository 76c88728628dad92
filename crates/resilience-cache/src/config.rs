//! Cache configuration and its validation errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The default capacity, in entries, of [`CacheConfig::new`].
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000;

/// A function giving an entry's weight when the capacity is a total weight.
pub type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u64 + Send + Sync>;

/// How big a cache may grow.
pub enum Capacity<K, V> {
    /// At most this many entries (each weighs 1).
    Entries(u64),
    /// At most this total weight, each entry weighing what `weigher` says (at least 1).
    Weight {
        /// The total weight the cache may hold.
        max_weight: u64,
        /// A guess of how many entries that is, used to size the table.
        estimated_entries: usize,
        /// The weight of one entry.
        weigher: Weigher<K, V>,
    },
}

impl<K, V> Clone for Capacity<K, V> {
    fn clone(&self) -> Self {
        match self {
            Capacity::Entries(n) => Capacity::Entries(*n),
            Capacity::Weight {
                max_weight,
                estimated_entries,
                weigher,
            } => Capacity::Weight {
                max_weight: *max_weight,
                estimated_entries: *estimated_entries,
                weigher: Arc::clone(weigher),
            },
        }
    }
}

impl<K, V> fmt::Debug for Capacity<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Capacity::Entries(n) => f.debug_tuple("Entries").field(n).finish(),
            Capacity::Weight {
                max_weight,
                estimated_entries,
                ..
            } => f
                .debug_struct("Weight")
                .field("max_weight", max_weight)
                .field("estimated_entries", estimated_entries)
                .finish_non_exhaustive(),
        }
    }
}

/// The settings of a [`TtlCache`](crate::TtlCache).
///
/// | setting | default |
/// | --- | --- |
/// | `default_ttl` | required (no silent default) |
/// | capacity | [`DEFAULT_MAX_ENTRIES`] = 10 000 entries |
/// | `negative_ttl` | off (failed fills are not cached) |
/// | `stale_while_revalidate` | off |
#[derive(Debug)]
pub struct CacheConfig<K, V> {
    pub(crate) default_ttl: Duration,
    pub(crate) capacity: Capacity<K, V>,
    pub(crate) negative_ttl: Option<Duration>,
    pub(crate) stale_while_revalidate: Option<Duration>,
}

impl<K, V> Clone for CacheConfig<K, V> {
    fn clone(&self) -> Self {
        Self {
            default_ttl: self.default_ttl,
            capacity: self.capacity.clone(),
            negative_ttl: self.negative_ttl,
            stale_while_revalidate: self.stale_while_revalidate,
        }
    }
}

impl<K, V> CacheConfig<K, V> {
    /// A configuration whose entries live `default_ttl` unless inserted with their own TTL.
    pub fn new(default_ttl: Duration) -> Self {
        Self {
            default_ttl,
            capacity: Capacity::Entries(DEFAULT_MAX_ENTRIES),
            negative_ttl: None,
            stale_while_revalidate: None,
        }
    }

    /// Bounds the cache to `max_entries` entries.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.capacity = Capacity::Entries(max_entries);
        self
    }

    /// Bounds the cache by total weight: `weigher` gives each entry's weight (a result of 0 is
    /// counted as 1, so every entry stays evictable).
    pub fn max_weight(
        mut self,
        max_weight: u64,
        weigher: impl Fn(&K, &V) -> u64 + Send + Sync + 'static,
    ) -> Self {
        let estimated_entries = usize::try_from(max_weight.min(DEFAULT_MAX_ENTRIES)).unwrap_or(1);
        self.capacity = Capacity::Weight {
            max_weight,
            estimated_entries,
            weigher: Arc::new(weigher),
        };
        self
    }

    /// Sets the capacity directly.
    pub fn capacity(mut self, capacity: Capacity<K, V>) -> Self {
        self.capacity = capacity;
        self
    }

    /// Turns negative caching on: a failed fill of
    /// [`get_or_insert_with`](crate::TtlCache::get_or_insert_with) is stored for `ttl` and
    /// returned to callers until then (5 s is a sensible value).
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// Turns stale-while-revalidate on: an entry that expired less than `window` ago is still
    /// served by the fill methods while one background task refreshes it (10 % of the TTL is a
    /// sensible value).
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_while_revalidate = Some(window);
        self
    }

    /// The TTL of entries inserted without one.
    pub fn default_ttl_value(&self) -> Duration {
        self.default_ttl
    }

    /// Checks every setting.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first setting that is zero: a zero default TTL, negative TTL
    /// or stale window, a zero capacity, or a zero estimated entry count.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.default_ttl.is_zero() {
            return Err(ConfigError::new("default_ttl", "must be greater than zero"));
        }
        match &self.capacity {
            Capacity::Entries(0) => {
                return Err(ConfigError::new("max_entries", "must be greater than zero"));
            }
            Capacity::Weight { max_weight: 0, .. } => {
                return Err(ConfigError::new("max_weight", "must be greater than zero"));
            }
            Capacity::Weight {
                estimated_entries: 0,
                ..
            } => {
                return Err(ConfigError::new(
                    "estimated_entries",
                    "must be greater than zero",
                ));
            }
            _ => {}
        }
        if self.negative_ttl.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError::new(
                "negative_ttl",
                "must be greater than zero",
            ));
        }
        if self.stale_while_revalidate.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError::new(
                "stale_while_revalidate",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// A cache setting that cannot work, named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    setting: &'static str,
    problem: &'static str,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, problem: &'static str) -> Self {
        Self { setting, problem }
    }

    /// The name of the offending setting.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid cache setting `{}`: {}",
            self.setting, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_setting() {
        let ok = CacheConfig::<u32, u32>::new(Duration::from_secs(1));
        assert!(ok.validate().is_ok());
        let cases = [
            (CacheConfig::<u32, u32>::new(Duration::ZERO), "default_ttl"),
            (ok.clone().max_entries(0), "max_entries"),
            (ok.clone().max_weight(0, |_, _| 1), "max_weight"),
            (ok.clone().negative_ttl(Duration::ZERO), "negative_ttl"),
            (
                ok.clone().stale_while_revalidate(Duration::ZERO),
                "stale_while_revalidate",
            ),
        ];
        for (config, setting) in cases {
            let err = config.validate().unwrap_err();
            assert_eq!(err.setting(), setting);
            assert!(err.to_string().contains(setting), "{err}");
        }
    }
}
