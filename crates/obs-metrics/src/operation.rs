//! Where the `operation` label comes from.

use resilience_core::extensions::Operation;

/// The `operation` label used when a request carries no operation name.
pub const UNKNOWN_OPERATION: &str = "unknown";
/// The `operation` label used once a layer has seen more distinct operations than its limit.
pub const OVERFLOW_OPERATION: &str = "other";

/// Reads the operation name of a request.
///
/// Implemented by [`FromExtension`] (the default, for `http::Request`), [`FixedOperation`] (a
/// service that performs one operation) and every closure `Fn(&Req) -> &'static str`.
pub trait OperationOf<Req> {
    /// The request's operation name, if it has one. Names must come from a small fixed set.
    fn operation<'r>(&self, request: &'r Req) -> Option<&'r str>;
}

impl<Req, F> OperationOf<Req> for F
where
    F: Fn(&Req) -> &'static str,
{
    fn operation<'r>(&self, request: &'r Req) -> Option<&'r str> {
        Some(self(request))
    }
}

/// Reads the [`Operation`] request extension that clients set (never the path, which may hold ids).
#[derive(Debug, Clone, Copy, Default)]
pub struct FromExtension;

impl<B> OperationOf<http::Request<B>> for FromExtension {
    fn operation<'r>(&self, request: &'r http::Request<B>) -> Option<&'r str> {
        request
            .extensions()
            .get::<Operation>()
            .map(Operation::as_str)
    }
}

/// Labels every request with one fixed operation name.
#[derive(Debug, Clone, Copy)]
pub struct FixedOperation(pub &'static str);

impl<Req> OperationOf<Req> for FixedOperation {
    fn operation<'r>(&self, _request: &'r Req) -> Option<&'r str> {
        Some(self.0)
    }
}
