//! CacheLayer over tiny tower services, on tokio's paused clock.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use resilience_cache::{CacheConfig, CacheLayer, HttpResponseCache, TtlCache};
use resilience_core::extensions::Cacheable;
use resilience_core::{BoxError, Outcome};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{advance, sleep};
use tower::util::BoxCloneService;
use tower::{Layer, ServiceExt, service_fn};

type Req = Request<Full<Bytes>>;
type Svc = BoxCloneService<Req, Response<Bytes>, BoxError>;

/// A service that answers by path, echoes the credentials it saw, and counts its calls.
fn backend(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<Req, Response = Response<Bytes>, Error = BoxError, Future: Send>
+ Clone
+ Send
+ 'static {
    service_fn(move |req: Req| {
        let calls = Arc::clone(&calls);
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            sleep(Duration::from_millis(100)).await;
            let auth = req
                .headers()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("anonymous")
                .to_owned();
            let mut response = Response::builder().header("x-call", n.to_string());
            response = match req.uri().path() {
                "/error" => return Err::<Response<Bytes>, BoxError>("connection reset".into()),
                "/500" => response.status(StatusCode::INTERNAL_SERVER_ERROR),
                "/404" => response.status(StatusCode::NOT_FOUND),
                "/429" => response.status(StatusCode::TOO_MANY_REQUESTS),
                "/no-store" => response.header(CACHE_CONTROL, "no-store"),
                "/no-cache" => response.header(CACHE_CONTROL, "no-cache"),
                "/max-age" => response.header(CACHE_CONTROL, "max-age=5"),
                "/private" => response.header(CACHE_CONTROL, "private, max-age=30"),
                _ => response,
            };
            Ok(response.body(Bytes::from(format!("{auth} #{n}"))).unwrap())
        }
    })
}

fn setup(
    config: CacheConfig<String, Arc<Response<Bytes>>>,
) -> (Svc, HttpResponseCache, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let cache = HttpResponseCache::new("layer-test", config).unwrap();
    let service = CacheLayer::new(cache.clone()).layer(backend(Arc::clone(&calls)));
    (BoxCloneService::new(service), cache, calls)
}

fn default_setup() -> (Svc, HttpResponseCache, Arc<AtomicUsize>) {
    setup(CacheConfig::new(Duration::from_secs(60)))
}

fn request(method: &str, path: &str) -> Req {
    Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"))
        .body(Full::new(Bytes::from_static(b"{\"q\":1}")))
        .unwrap()
}

async fn send(service: &Svc, req: Req) -> Result<Response<Bytes>, BoxError> {
    service.clone().oneshot(req).await
}

async fn body(service: &Svc, req: Req) -> String {
    let response = send(service, req).await.unwrap();
    String::from_utf8(response.into_body().to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_hit_does_not_call_the_inner_service() {
    let (service, cache, calls) = default_setup();
    let first = send(&service, request("GET", "/contacts")).await.unwrap();
    let second = send(&service, request("GET", "/contacts")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(first.status(), second.status());
    assert_eq!(first.headers(), second.headers());
    assert_eq!(first.body(), second.body());
    assert_eq!(
        body(&service, request("HEAD", "/contacts")).await,
        "anonymous #2",
        "HEAD is its own key"
    );
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 2));
    // Expiry after the default TTL.
    advance(Duration::from_secs(60)).await;
    assert_eq!(
        body(&service, request("GET", "/contacts")).await,
        "anonymous #3"
    );
}

#[tokio::test(start_paused = true)]
async fn posts_are_cached_only_when_marked_cacheable() {
    let (service, _cache, calls) = default_setup();
    send(&service, request("POST", "/search")).await.unwrap();
    send(&service, request("POST", "/search")).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a plain POST always reaches the service"
    );

    let marked = || {
        let mut req = request("POST", "/search");
        req.extensions_mut().insert(Cacheable);
        req
    };
    assert_eq!(body(&service, marked()).await, "anonymous #3");
    assert_eq!(body(&service, marked()).await, "anonymous #3");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Same URI, other body: another entry.
    let mut other = Request::post("https://api.example.com/search")
        .body(Full::new(Bytes::from_static(b"{\"q\":2}")))
        .unwrap();
    other.extensions_mut().insert(Cacheable);
    assert_eq!(body(&service, other).await, "anonymous #4");
}

#[tokio::test(start_paused = true)]
async fn errors_and_unsuccessful_responses_are_never_stored() {
    let (service, cache, calls) = default_setup();
    for path in ["/error", "/500", "/404", "/429", "/no-store", "/no-cache"] {
        let before = calls.load(Ordering::SeqCst);
        let first = send(&service, request("GET", path)).await;
        let second = send(&service, request("GET", path)).await;
        assert_eq!(first.is_err(), path == "/error");
        assert_eq!(second.is_err(), path == "/error");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            before + 2,
            "{path} was served from the cache"
        );
    }
    assert!(cache.is_empty());
    assert_eq!(cache.stats().inserts, 0);
}

#[tokio::test(start_paused = true)]
async fn a_shorter_max_age_wins_over_the_default_ttl() {
    let (service, _cache, calls) = default_setup();
    assert_eq!(
        body(&service, request("GET", "/max-age")).await,
        "anonymous #1"
    );
    advance(Duration::from_millis(4_800)).await;
    assert_eq!(
        body(&service, request("GET", "/max-age")).await,
        "anonymous #1"
    );
    advance(Duration::from_millis(200)).await;
    assert_eq!(
        body(&service, request("GET", "/max-age")).await,
        "anonymous #2"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // A max-age longer than the default TTL is capped by it.
    let (service, _cache, _calls) = setup(CacheConfig::new(Duration::from_secs(2)));
    assert_eq!(
        body(&service, request("GET", "/max-age")).await,
        "anonymous #1"
    );
    advance(Duration::from_secs(2)).await;
    assert_eq!(
        body(&service, request("GET", "/max-age")).await,
        "anonymous #2"
    );
}

#[tokio::test(start_paused = true)]
async fn entries_never_leak_across_tokens() {
    let (service, cache, calls) = default_setup();
    let as_user = |token: &str| {
        let mut req = request("GET", "/contacts");
        req.headers_mut()
            .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        req
    };
    assert_eq!(body(&service, as_user("alpha")).await, "Bearer alpha #1");
    assert_eq!(body(&service, as_user("beta")).await, "Bearer beta #2");
    assert_eq!(
        body(&service, request("GET", "/contacts")).await,
        "anonymous #3"
    );
    assert_eq!(body(&service, as_user("alpha")).await, "Bearer alpha #1");
    assert_eq!(body(&service, as_user("beta")).await, "Bearer beta #2");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // `Cache-Control: private` is stored per credential by default ...
    assert_eq!(
        body(&service, {
            let mut r = as_user("alpha");
            *r.uri_mut() = "https://api.example.com/private".parse().unwrap();
            r
        })
        .await,
        "Bearer alpha #4"
    );
    assert_eq!(cache.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn private_responses_can_be_refused() {
    let calls = Arc::new(AtomicUsize::new(0));
    let cache =
        HttpResponseCache::new("private", CacheConfig::new(Duration::from_secs(60))).unwrap();
    let service = CacheLayer::new(cache.clone())
        .store_private(false)
        .layer(backend(Arc::clone(&calls)));
    let service: Svc = BoxCloneService::new(service);
    send(&service, request("GET", "/private")).await.unwrap();
    send(&service, request("GET", "/private")).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(cache.is_empty());
}

#[tokio::test(start_paused = true)]
async fn concurrent_misses_share_one_inner_call() {
    let (service, cache, calls) = default_setup();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let service = service.clone();
        tasks.push(tokio::spawn(async move {
            let response = service.oneshot(request("GET", "/hot")).await.unwrap();
            String::from_utf8(response.into_body().to_vec()).unwrap()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), "anonymous #1");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().misses, 1);
}

#[tokio::test(start_paused = true)]
async fn stale_responses_are_served_while_one_call_refreshes() {
    let (service, cache, calls) = setup(
        CacheConfig::new(Duration::from_secs(10)).stale_while_revalidate(Duration::from_secs(5)),
    );
    assert_eq!(
        body(&service, request("GET", "/feed")).await,
        "anonymous #1"
    );
    advance(Duration::from_secs(11)).await;
    assert_eq!(
        body(&service, request("GET", "/feed")).await,
        "anonymous #1"
    );
    assert_eq!(
        body(&service, request("GET", "/feed")).await,
        "anonymous #1"
    );
    sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one background refresh");
    assert_eq!(
        body(&service, request("GET", "/feed")).await,
        "anonymous #2"
    );
    assert_eq!(cache.stats().stale_hits, 2);
}

#[tokio::test(start_paused = true)]
async fn the_layer_works_over_any_service_with_its_own_rules() {
    // Requests are `u32` ids, responses are `String`s: cache even ids only, store non-empty
    // answers only.
    #[derive(Clone, Debug, PartialEq)]
    struct Answer(String);
    impl resilience_cache::CacheableResponse for Answer {
        fn clone_response(&self) -> Self {
            self.clone()
        }
        fn freshness(&self) -> resilience_cache::Freshness {
            resilience_cache::Freshness::Store {
                max_age: None,
                private: false,
            }
        }
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let calls = Arc::clone(&calls);
        service_fn(move |id: u32| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok::<_, std::convert::Infallible>(Answer(if id == 0 {
                    String::new()
                } else {
                    format!("user {id}")
                }))
            }
        })
    };
    let cache: TtlCache<u32, Arc<Answer>> =
        TtlCache::new("ids", CacheConfig::new(Duration::from_secs(60))).unwrap();
    let classifier = |result: &Result<Answer, std::convert::Infallible>| match result {
        Ok(Answer(text)) if !text.is_empty() => Outcome::Success,
        _ => Outcome::Neutral,
    };
    let key_fn = |id: &u32| (id % 2 == 0).then_some(*id);
    let service = CacheLayer::with_rules(cache.clone(), key_fn, classifier).layer(inner);
    for id in [2, 2, 3, 3, 0, 0] {
        service.clone().oneshot(id).await.unwrap();
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        5,
        "only id 2 was answered from the cache"
    );
    assert_eq!(cache.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_of_an_uncacheable_response_do_not_queue() {
    for path in ["/no-store", "/500"] {
        let (service, _cache, calls) = default_setup();
        let begin = tokio::time::Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let service = service.clone();
            tasks.push(tokio::spawn(async move {
                service
                    .oneshot(request("GET", path))
                    .await
                    .unwrap()
                    .status()
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            10,
            "{path}: nothing was stored"
        );
        // One 100 ms call, then the nine waiters together: not ten calls one after another.
        assert_eq!(begin.elapsed(), Duration::from_millis(200), "{path}");

        // New callers while the key is passing go straight through, concurrently.
        let begin = tokio::time::Instant::now();
        let (a, b) = tokio::join!(
            send(&service, request("GET", path)),
            send(&service, request("GET", path))
        );
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(begin.elapsed(), Duration::from_millis(100), "{path}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_passing_key_is_cached_again_once_a_response_may_be_stored() {
    let calls = Arc::new(AtomicUsize::new(0));
    let backend = service_fn({
        let calls = Arc::clone(&calls);
        move |_: Req| {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                let mut response = Response::builder();
                if n == 1 {
                    response = response.header(CACHE_CONTROL, "no-store");
                }
                Ok::<_, BoxError>(response.body(Bytes::from(format!("#{n}"))).unwrap())
            }
        }
    });
    let cache =
        HttpResponseCache::new("passing", CacheConfig::new(Duration::from_secs(60))).unwrap();
    let service = BoxCloneService::new(CacheLayer::new(cache.clone()).layer(backend));
    assert_eq!(body(&service, request("GET", "/x")).await, "#1");
    assert_eq!(body(&service, request("GET", "/x")).await, "#2");
    assert_eq!(
        body(&service, request("GET", "/x")).await,
        "#2",
        "stored again"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cache.stats().hits, 1);
}
