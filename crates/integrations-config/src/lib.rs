//! Typed configuration for the HubSpot and ManyChat clients.

mod pool;
mod secret;

pub use pool::PoolConfig;
pub use secret::Secret;
