//! Ready-made checks.

pub(crate) mod breaker;
pub(crate) mod func;
pub(crate) mod http;
