//! TtlCache behaviour, on tokio's paused clock (no real sleeping).

use resilience_cache::{CacheConfig, CacheStats, Store, TtlCache};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{advance, sleep};

const MINUTE: Duration = Duration::from_secs(60);

fn cache(config: CacheConfig<String, u64>) -> TtlCache<String, u64> {
    TtlCache::new("test", config).unwrap()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// A fill that counts its runs, takes `delay` and yields `value`.
fn counted_fill(
    runs: &Arc<AtomicUsize>,
    delay: Duration,
    value: Result<u64, String>,
) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Result<u64, String>> + Send>>
+ Send
+ 'static
+ use<> {
    let runs = Arc::clone(runs);
    move || {
        Box::pin(async move {
            runs.fetch_add(1, Ordering::SeqCst);
            sleep(delay).await;
            value
        })
    }
}

#[tokio::test(start_paused = true)]
async fn entries_expire_after_their_ttl() {
    let cache = cache(CacheConfig::new(MINUTE));
    cache.insert("default".into(), 1);
    cache.insert_with_ttl("short".into(), 2, Duration::from_secs(5));
    assert_eq!(cache.get("default"), Some(1));
    assert_eq!(cache.get("short"), Some(2));

    advance(Duration::from_millis(4_999)).await;
    assert_eq!(cache.get("short"), Some(2));
    advance(Duration::from_millis(1)).await;
    assert_eq!(cache.get("short"), None, "expired at exactly its TTL");
    assert!(!cache.contains_key("short"));
    assert_eq!(cache.len(), 1, "an expired entry is removed when read");

    advance(MINUTE - Duration::from_secs(5) - Duration::from_millis(1)).await;
    assert_eq!(cache.get("default"), Some(1));
    advance(Duration::from_millis(1)).await;
    assert_eq!(cache.get("default"), None);

    // Re-inserting restarts the TTL; a zero TTL stores nothing and drops the old entry.
    cache.insert("default".into(), 3);
    assert_eq!(cache.get("default"), Some(3));
    cache.insert_with_ttl("default".into(), 4, Duration::ZERO);
    assert_eq!(cache.get("default"), None);
}

#[tokio::test(start_paused = true)]
async fn expired_entries_are_refilled_by_get_or_insert_with() {
    let cache = cache(CacheConfig::new(Duration::from_secs(10)));
    let runs = counter();
    let get = || cache.get_or_insert_with("k".into(), counted_fill(&runs, Duration::ZERO, Ok(7)));
    assert_eq!(get().await, Ok(7));
    assert_eq!(get().await, Ok(7));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    advance(Duration::from_secs(10)).await;
    assert_eq!(get().await, Ok(7));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "an expired entry is filled again"
    );
}

#[tokio::test(start_paused = true)]
async fn one_fill_for_a_hundred_concurrent_callers() {
    let cache = cache(CacheConfig::new(MINUTE));
    let runs = counter();
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let cache = cache.clone();
        let fill = counted_fill(&runs, Duration::from_secs(1), Ok(42));
        tasks.push(tokio::spawn(async move {
            cache.get_or_insert_with("hot".into(), fill).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Ok(42));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the fill ran once");
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.hits, stats.inserts), (1, 99, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fill_for_a_hundred_callers_across_threads() {
    let cache = cache(CacheConfig::new(MINUTE));
    let runs = counter();
    let (release, released) = tokio::sync::watch::channel(false);
    let start = Arc::new(tokio::sync::Barrier::new(101));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (cache, runs, start) = (cache.clone(), Arc::clone(&runs), Arc::clone(&start));
        let mut released = released.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            cache
                .get_or_insert_with("hot".into(), move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    // Hold the fill open until the test lets it finish.
                    let _ = released.wait_for(|r| *r).await;
                    Ok::<u64, String>(42)
                })
                .await
        }));
    }
    start.wait().await;
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    release.send(true).unwrap();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Ok(42));
    }
    // Whatever the interleaving, a caller either waited for the single fill or hit its result.
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.stats().requests(), 100);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_fill_hands_over_to_the_next_waiter() {
    let cache = cache(CacheConfig::new(MINUTE));
    let (first_runs, second_runs) = (counter(), counter());

    let first = tokio::spawn({
        let cache = cache.clone();
        let fill = counted_fill(&first_runs, Duration::from_secs(3600), Ok(1));
        async move { cache.get_or_insert_with("k".into(), fill).await }
    });
    tokio::task::yield_now().await;
    let second = tokio::spawn({
        let cache = cache.clone();
        let fill = counted_fill(&second_runs, Duration::from_secs(1), Ok(2));
        async move { cache.get_or_insert_with("k".into(), fill).await }
    });
    advance(Duration::from_millis(10)).await;
    assert_eq!(
        first_runs.load(Ordering::SeqCst),
        1,
        "the first caller is filling"
    );
    assert_eq!(
        second_runs.load(Ordering::SeqCst),
        0,
        "the second caller waits"
    );
    assert!(!second.is_finished());

    first.abort();
    assert!(first.await.unwrap_err().is_cancelled());
    assert_eq!(second.await.unwrap(), Ok(2), "the waiter filled instead");
    assert_eq!(second_runs.load(Ordering::SeqCst), 1);
    assert_eq!(cache.get("k"), Some(2));
}

#[tokio::test(start_paused = true)]
async fn failures_are_not_cached_without_negative_caching() {
    let cache = cache(CacheConfig::new(MINUTE));
    let runs = counter();
    for _ in 0..3 {
        let result = cache
            .get_or_insert_with(
                "k".into(),
                counted_fill(&runs, Duration::ZERO, Err("down".into())),
            )
            .await;
        assert_eq!(result, Err("down".to_string()));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 3, "every call filled again");
    assert!(cache.is_empty());

    // Concurrent callers take turns: each waiter fills after the previous failure.
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let cache = cache.clone();
        let fill = counted_fill(&runs, Duration::from_secs(1), Err("down".into()));
        tasks.push(tokio::spawn(async move {
            cache.get_or_insert_with("k".into(), fill).await
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap().is_err());
    }
    assert_eq!(runs.load(Ordering::SeqCst), 8);
}

#[tokio::test(start_paused = true)]
async fn negative_caching_keeps_a_failure_for_its_own_ttl() {
    let cache = cache(CacheConfig::new(MINUTE).negative_ttl(Duration::from_secs(5)));
    let runs = counter();
    let fail =
        |runs: &Arc<AtomicUsize>| counted_fill(runs, Duration::from_secs(1), Err("404".into()));

    // Ten concurrent callers: one fill, everyone gets its failure.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (cache, fill) = (cache.clone(), fail(&runs));
        tasks.push(tokio::spawn(async move {
            cache.get_or_insert_with("gone".into(), fill).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), Err("404".to_string()));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // The failure is served without a fill until the negative TTL ends ...
    advance(Duration::from_secs(3)).await;
    assert_eq!(
        cache.get_or_insert_with("gone".into(), fail(&runs)).await,
        Err("404".to_string())
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        cache.get("gone"),
        None,
        "`get` never returns a cached failure"
    );

    // ... and then the key is filled again, here successfully, for the normal TTL.
    advance(Duration::from_secs(2)).await;
    let ok = counted_fill(&runs, Duration::ZERO, Ok(9));
    assert_eq!(cache.get_or_insert_with("gone".into(), ok).await, Ok(9));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    advance(Duration::from_secs(30)).await;
    assert_eq!(cache.get("gone"), Some(9));

    let stats = cache.stats();
    assert_eq!(stats.negative_hits, 10, "9 waiters + 1 later caller");
    assert_eq!(
        stats.misses, 3,
        "first fill, `get` of the failure, the refill"
    );
}

#[tokio::test(start_paused = true)]
async fn stale_while_revalidate_serves_stale_and_refreshes_once() {
    let cache = cache(
        CacheConfig::new(Duration::from_secs(10)).stale_while_revalidate(Duration::from_secs(5)),
    );
    let runs = counter();
    let version = Arc::new(AtomicUsize::new(1));
    let fill = || {
        let (runs, version) = (Arc::clone(&runs), Arc::clone(&version));
        move || async move {
            runs.fetch_add(1, Ordering::SeqCst);
            sleep(Duration::from_secs(1)).await;
            Ok::<u64, String>(version.load(Ordering::SeqCst) as u64)
        }
    };
    assert_eq!(cache.get_or_insert_with("k".into(), fill()).await, Ok(1));
    version.store(2, Ordering::SeqCst);

    // Expired 1 s ago, inside the 5 s window: stale value at once, one background refresh.
    advance(Duration::from_secs(11)).await;
    for _ in 0..3 {
        assert_eq!(cache.get_or_insert_with("k".into(), fill()).await, Ok(1));
    }
    assert_eq!(cache.get("k"), None, "`get` does not serve stale values");
    tokio::task::yield_now().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "one refresh for three stale reads"
    );

    // Once the refresh lands, the value is fresh again.
    sleep(Duration::from_secs(1)).await;
    tokio::task::yield_now().await;
    assert_eq!(cache.get("k"), Some(2));
    assert_eq!(cache.get_or_insert_with("k".into(), fill()).await, Ok(2));
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // Past the window, the caller waits for a normal fill.
    version.store(3, Ordering::SeqCst);
    advance(Duration::from_secs(16)).await;
    assert_eq!(cache.get_or_insert_with("k".into(), fill()).await, Ok(3));
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    let stats = cache.stats();
    assert_eq!(stats.stale_hits, 3);
    assert_eq!(stats.refreshes, 1);
    assert_eq!(stats.inserts, 3, "first fill, the refresh, the last fill");
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_serving_stale_until_the_window_ends() {
    let cache = cache(
        CacheConfig::new(Duration::from_secs(10)).stale_while_revalidate(Duration::from_secs(5)),
    );
    let runs = counter();
    cache.insert("k".into(), 1);
    advance(Duration::from_secs(11)).await;
    let failing = || counted_fill(&runs, Duration::ZERO, Err("down".into()));
    assert_eq!(cache.get_or_insert_with("k".into(), failing()).await, Ok(1));
    sleep(Duration::from_millis(1)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // The failed refresh freed the slot: the next stale read tries again.
    assert_eq!(cache.get_or_insert_with("k".into(), failing()).await, Ok(1));
    sleep(Duration::from_millis(1)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    advance(Duration::from_secs(4)).await;
    assert_eq!(
        cache.get_or_insert_with("k".into(), failing()).await,
        Err("down".to_string())
    );
}

#[tokio::test(start_paused = true)]
async fn stats_arithmetic_and_hit_rate() {
    let cache = cache(CacheConfig::new(MINUTE));
    assert_eq!(cache.stats(), CacheStats::default());
    cache.insert("a".into(), 1);
    cache.insert("b".into(), 2);
    cache.insert("a".into(), 3); // a replacement is an insert, not an eviction
    assert_eq!(cache.get("a"), Some(3));
    assert_eq!(cache.get("b"), Some(2));
    assert_eq!(cache.get("b"), Some(2));
    assert_eq!(cache.get("zzz"), None);
    let runs = counter();
    let fill = || counted_fill(&runs, Duration::ZERO, Ok(5));
    assert_eq!(cache.get_or_insert_with("c".into(), fill()).await, Ok(5)); // miss
    assert_eq!(cache.get_or_insert_with("c".into(), fill()).await, Ok(5)); // hit

    let stats = cache.stats();
    assert_eq!(
        stats,
        CacheStats {
            hits: 4,
            misses: 2,
            stale_hits: 0,
            negative_hits: 0,
            inserts: 4,
            evictions: 0,
            refreshes: 0,
            entries: 3,
        }
    );
    assert_eq!(stats.requests(), 6);
    assert!((stats.hit_rate() - 4.0 / 6.0).abs() < 1e-12);
    assert!((cache.hit_rate() - 4.0 / 6.0).abs() < 1e-12);
}

#[tokio::test(start_paused = true)]
async fn capacity_evictions_are_counted() {
    let cache = cache(CacheConfig::new(MINUTE).max_entries(10));
    for i in 0..100u64 {
        cache.insert(format!("k{i}"), i);
    }
    let stats = cache.stats();
    assert!(stats.entries <= 10, "{stats:?}");
    assert_eq!(stats.inserts, 100);
    assert_eq!(stats.evictions + stats.entries, 100, "{stats:?}");

    // By weight: 30-byte values in a 100-byte cache.
    let weighted: TtlCache<String, String> = TtlCache::new(
        "weighted",
        CacheConfig::new(MINUTE).max_weight(100, |_, v: &String| v.len() as u64),
    )
    .unwrap();
    for i in 0..10 {
        weighted.insert(format!("k{i}"), "x".repeat(30));
    }
    let stats = weighted.stats();
    assert!(stats.entries <= 3, "{stats:?}");
    assert_eq!(stats.evictions + stats.entries, 10, "{stats:?}");

    // A value heavier than the whole cache is refused, and that counts as an eviction.
    weighted.clear();
    let before = weighted.stats().evictions;
    weighted.insert("huge".into(), "x".repeat(500));
    assert_eq!(weighted.get("huge"), None);
    assert_eq!(weighted.stats().evictions, before + 1);
}

#[tokio::test(start_paused = true)]
async fn invalidation_by_key_predicate_prefix_and_clear() {
    let cache = cache(CacheConfig::new(MINUTE));
    for key in [
        "GET /contacts/1",
        "GET /contacts/2",
        "GET /deals/1",
        "GET /deals/2",
    ] {
        cache.insert(key.into(), 1);
    }
    assert!(cache.invalidate("GET /deals/2"));
    assert!(!cache.invalidate("GET /deals/2"));
    cache.invalidate_prefix("GET /contacts/");
    assert_eq!(cache.get("GET /contacts/1"), None);
    assert_eq!(cache.get("GET /deals/1"), Some(1));
    cache.insert("GET /x".into(), 1);
    cache.invalidate_if(|key| key.ends_with("/1"));
    assert_eq!(cache.get("GET /deals/1"), None);
    assert_eq!(cache.get("GET /x"), Some(1));
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cache.stats().evictions, 0, "invalidation is not eviction");
}

#[tokio::test(start_paused = true)]
async fn invalidating_during_a_fill_stores_nothing() {
    let cache = cache(CacheConfig::new(MINUTE));
    let runs = counter();
    let filling = tokio::spawn({
        let (cache, fill) = (
            cache.clone(),
            counted_fill(&runs, Duration::from_secs(1), Ok(1)),
        );
        async move { cache.get_or_insert_with("k".into(), fill).await }
    });
    advance(Duration::from_millis(10)).await;
    cache.invalidate("k");
    assert_eq!(
        filling.await.unwrap(),
        Ok(1),
        "the caller still gets its value"
    );
    assert_eq!(cache.get("k"), None, "but the invalidated key stays empty");
}

#[tokio::test(start_paused = true)]
async fn get_or_fill_honours_the_fills_ttl_decision() {
    let cache = cache(CacheConfig::new(MINUTE));
    let short = cache
        .get_or_fill("short".into(), || async {
            Ok::<_, ()>((1, Store::Ttl(Duration::from_secs(2))))
        })
        .await;
    let skip = cache
        .get_or_fill("skip".into(), || async { Ok::<_, ()>((2, Store::Skip)) })
        .await;
    assert_eq!((short, skip), (Ok(1), Ok(2)));
    assert_eq!(cache.get("short"), Some(1));
    assert_eq!(cache.get("skip"), None);
    advance(Duration::from_secs(2)).await;
    assert_eq!(cache.get("short"), None);
}

#[test]
fn invalid_configs_are_typed_errors() {
    let err = TtlCache::<String, u64>::new("bad", CacheConfig::new(Duration::ZERO)).unwrap_err();
    assert_eq!(err.setting(), "default_ttl");
    let err =
        TtlCache::<String, u64>::new("bad", CacheConfig::new(MINUTE).max_entries(0)).unwrap_err();
    assert_eq!(err.setting(), "max_entries");
}
