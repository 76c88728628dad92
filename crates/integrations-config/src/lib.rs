//! Typed configuration for the HubSpot and ManyChat clients, loaded from environment variables
//! (or any map of them) and validated all at once.
//!
//! - [`HubSpotConfig`] and [`ManyChatConfig`] hold everything a client needs: the token (a
//!   [`Secret`] that never prints), a validated [`BaseUrl`], the attempt timeout, and the shared
//!   [`RetryConfig`], [`BreakerConfig`], [`CacheConfig`] and [`PoolConfig`].
//! - [`Environment`] (`ENVIRONMENT`: production, staging, development, test) picks the defaults
//!   of every setting no variable sets; its docs hold the table.
//! - `from_env`, `from_map` and `from_lookup` read the variables named in [`vars`], the names
//!   used by the Python library this workspace replaces.
//! - A bad configuration is one [`ConfigErrors`] listing every problem, each a [`ConfigError`]
//!   naming its variable. Tokens and keys are never part of an error.
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::Duration;
//! use integrations_config::{Environment, HubSpotConfig, ManyChatConfig};
//!
//! let vars = HashMap::from([
//!     ("HUBSPOT_TOKEN".to_owned(), "pat-na1-0000".to_owned()),
//!     ("HUBSPOT_TIMEOUT".to_owned(), "2.5".to_owned()),
//!     ("MANYCHAT_API_KEY".to_owned(), "0123abcd".to_owned()),
//!     ("MANYCHAT_PAGE_ID".to_owned(), "1234567".to_owned()),
//!     ("ENVIRONMENT".to_owned(), "test".to_owned()),
//! ]);
//!
//! let hubspot = HubSpotConfig::from_map(&vars)?;
//! assert_eq!(hubspot.timeout, Duration::from_millis(2500));
//! assert_eq!(hubspot.environment, Environment::Test);
//! assert!(!hubspot.retry.jitter);
//!
//! let manychat = ManyChatConfig::from_map(&vars)?;
//! assert_eq!(manychat.bearer_token().expose(), "1234567:0123abcd");
//!
//! // Every problem at once, each naming its variable; secrets are never shown.
//! let bad = HashMap::from([
//!     ("HUBSPOT_TIMEOUT".to_owned(), "abc".to_owned()),
//!     ("HUBSPOT_MAX_RETRIES".to_owned(), "99".to_owned()),
//! ]);
//! let errors = HubSpotConfig::from_map(&bad).unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "invalid configuration (3 problems):\n  \
//!      HUBSPOT_TOKEN is missing\n  \
//!      HUBSPOT_TIMEOUT=\"abc\" is not a number of seconds\n  \
//!      HUBSPOT_MAX_RETRIES=99 is more than the maximum of 10"
//! );
//! # Ok::<(), integrations_config::ConfigErrors>(())
//! ```

mod environment;
mod error;
mod hubspot;
mod load;
mod manychat;
mod pool;
mod secret;
mod shared;
mod url;
pub mod vars;

pub use environment::{Environment, ParseEnvironmentError};
pub use error::{ConfigError, ConfigErrors};
pub use hubspot::HubSpotConfig;
pub use manychat::ManyChatConfig;
pub use pool::PoolConfig;
pub use secret::Secret;
pub use shared::{BreakerConfig, CacheConfig, MAX_RETRIES_LIMIT, RetryConfig};
pub use url::{BaseUrl, BaseUrlError};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
