use crate::Outcome;
use std::error::Error;

/// Turns a finished attempt into an [`Outcome`].
///
/// Implemented by [`HttpClassifier`](crate::HttpClassifier) for HTTP responses and by every
/// closure `Fn(&Result<T, E>) -> Outcome`, so a service of any kind can bring its own rules.
pub trait Classify<T, E> {
    /// Classifies one finished attempt.
    fn classify(&self, result: &Result<T, E>) -> Outcome;
}

impl<T, E, F> Classify<T, E> for F
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self(result)
    }
}

/// An error type whose source chain a classifier can walk.
///
/// Implemented for the boxed errors tower middleware produces, for `std::io::Error` and for
/// `Infallible`; wrap other error types in a closure classifier.
pub trait AsDynError {
    /// The error as a trait object, for walking its `source()` chain.
    fn as_dyn_error(&self) -> &(dyn Error + 'static);
}

impl AsDynError for Box<dyn Error + Send + Sync + 'static> {
    fn as_dyn_error(&self) -> &(dyn Error + 'static) {
        &**self
    }
}

impl AsDynError for Box<dyn Error + 'static> {
    fn as_dyn_error(&self) -> &(dyn Error + 'static) {
        &**self
    }
}

impl AsDynError for std::io::Error {
    fn as_dyn_error(&self) -> &(dyn Error + 'static) {
        self
    }
}

impl AsDynError for std::convert::Infallible {
    fn as_dyn_error(&self) -> &(dyn Error + 'static) {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_are_classifiers() {
        let classify = |r: &Result<u16, String>| match r {
            Ok(code) if *code < 500 => Outcome::Success,
            _ => Outcome::Failure,
        };
        assert_eq!(classify.classify(&Ok(200)), Outcome::Success);
        assert_eq!(classify.classify(&Ok(503)), Outcome::Failure);
        assert_eq!(classify.classify(&Err("boom".into())), Outcome::Failure);
    }
}
