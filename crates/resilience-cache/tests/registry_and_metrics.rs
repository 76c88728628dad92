//! The named registry and the `metrics` facade output.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use resilience_cache::{CacheConfig, CacheRegistry, RegistryError, TtlCache, get_cache};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn the_registry_shares_caches_by_name() {
    let registry = CacheRegistry::new();
    let a: TtlCache<String, u64> = registry
        .get_or_create("contacts", CacheConfig::new(MINUTE))
        .unwrap();
    // A second client asking for the same name gets the same cache (its config is ignored).
    let b: TtlCache<String, u64> = registry
        .get_or_create("contacts", CacheConfig::new(Duration::from_secs(1)))
        .unwrap();
    a.insert("k".into(), 1);
    assert_eq!(b.get("k"), Some(1));
    assert_eq!(b.default_ttl(), MINUTE);
    assert_eq!(
        registry.get::<String, u64>("contacts").unwrap().get("k"),
        Some(1)
    );

    let wrong = registry.get_or_create::<String, String>("contacts", CacheConfig::new(MINUTE));
    assert!(matches!(wrong, Err(RegistryError::TypeMismatch { ref name }) if name == "contacts"));
    assert!(registry.get::<u32, u64>("contacts").is_none());
    let invalid = registry.get_or_create::<String, u64>("bad", CacheConfig::new(Duration::ZERO));
    let Err(RegistryError::Config { name, source }) = invalid else {
        panic!("expected a config error");
    };
    assert_eq!((name.as_str(), source.setting()), ("bad", "default_ttl"));

    let _deals: TtlCache<u64, String> = registry
        .get_or_create("deals", CacheConfig::new(MINUTE))
        .unwrap();
    assert_eq!(registry.names(), ["contacts", "deals"]);
    let stats = registry.stats();
    assert_eq!(stats[0].0, "contacts");
    assert_eq!((stats[0].1.hits, stats[0].1.entries), (2, 1));
    registry.clear_all();
    assert!(a.is_empty());
    assert!(registry.remove("deals"));
    assert_eq!(registry.names(), ["contacts"]);
}

#[test]
fn get_cache_uses_the_process_wide_registry() {
    let first: TtlCache<String, u64> = get_cache("global-test", CacheConfig::new(MINUTE)).unwrap();
    first.insert("k".into(), 5);
    let second: TtlCache<String, u64> = get_cache("global-test", CacheConfig::new(MINUTE)).unwrap();
    assert_eq!(second.get("k"), Some(5));
    assert!(
        CacheRegistry::global()
            .names()
            .contains(&"global-test".to_string())
    );
}

#[tokio::test(start_paused = true)]
async fn metrics_follow_the_naming_scheme() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // Handles are registered when the cache is built, so build it under the recorder.
    let cache: TtlCache<String, u64> = metrics::with_local_recorder(&recorder, || {
        TtlCache::new(
            "hubspot",
            CacheConfig::new(Duration::from_secs(10))
                .max_entries(2)
                .stale_while_revalidate(Duration::from_secs(5)),
        )
        .unwrap()
    });
    cache.insert("a".into(), 1);
    cache.get("a");
    cache.get("a");
    cache.get("missing");
    tokio::time::advance(Duration::from_secs(11)).await;
    let stale = cache
        .get_or_insert_with("a".into(), || async { Ok::<u64, String>(2) })
        .await;
    assert_eq!(stale, Ok(1));
    for key in ["b", "c", "d", "e"] {
        cache.insert(key.into(), 0);
    }

    let stats = cache.stats();
    let mut seen = std::collections::HashMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let value = match value {
            DebugValue::Counter(v) => v as f64,
            DebugValue::Gauge(v) => v.into_inner(),
            DebugValue::Histogram(_) => panic!("no histogram expected"),
        };
        seen.insert(format!("{}{{{}}}", key.name(), labels.join(",")), value);
    }
    let expect = |name: &str, value: f64| {
        assert_eq!(seen.get(name).copied(), Some(value), "{name} in {seen:#?}");
    };
    expect(
        "resilience_cache_requests_total{cache=hubspot,result=hit}",
        2.0,
    );
    expect(
        "resilience_cache_requests_total{cache=hubspot,result=miss}",
        1.0,
    );
    expect(
        "resilience_cache_requests_total{cache=hubspot,result=stale}",
        1.0,
    );
    expect(
        "resilience_cache_inserts_total{cache=hubspot}",
        stats.inserts as f64,
    );
    expect(
        "resilience_cache_evictions_total{cache=hubspot}",
        stats.evictions as f64,
    );
    expect(
        "resilience_cache_entries{cache=hubspot}",
        stats.entries as f64,
    );
    assert!(stats.evictions >= 3, "{stats:?}");
}
