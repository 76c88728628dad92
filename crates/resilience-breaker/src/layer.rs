use crate::breaker::Breaker;
use crate::service::CircuitBreaker;
use resilience_core::HttpClassifier;
use std::fmt;
use tower_layer::Layer;

/// Wraps services in a [`CircuitBreaker`] that shares one [`Breaker`].
///
/// Every service the layer builds, and every clone of those, shares the breaker, so the layer
/// can be applied to many clients of one API. The classifier decides each call's
/// [`Outcome`](resilience_core::Outcome); it is [`HttpClassifier`] by default, and any
/// [`Classify`](resilience_core::Classify) (a closure, for instance) for other services.
#[derive(Clone)]
pub struct CircuitBreakerLayer<C = HttpClassifier> {
    breaker: Breaker,
    classifier: C,
}

impl CircuitBreakerLayer<HttpClassifier> {
    /// A layer over `breaker` that classifies HTTP responses with the default rules.
    pub fn new(breaker: Breaker) -> Self {
        Self {
            breaker,
            classifier: HttpClassifier::new(),
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// A layer over `breaker` that classifies outcomes with `classifier`.
    pub fn with_classifier(breaker: Breaker, classifier: C) -> Self {
        Self {
            breaker,
            classifier,
        }
    }

    /// Replaces the classifier.
    pub fn classifier<C2>(self, classifier: C2) -> CircuitBreakerLayer<C2> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classifier,
        }
    }

    /// The shared breaker (for its state, snapshot and operator controls).
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}

impl<C> fmt::Debug for CircuitBreakerLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("breaker", &self.breaker)
            .field("classifier", &std::any::type_name::<C>())
            .finish()
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreaker<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreaker::new(inner, self.breaker.clone(), self.classifier.clone())
    }
}
