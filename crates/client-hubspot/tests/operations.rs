//! Every typed operation against the sandbox: happy paths, error paths, paging, search,
//! batches.

mod support;

use api_sandbox::SandboxConfig;
use client_hubspot::{
    BatchItemError, BatchReadOptions, BatchUpdateInput, BatchUpsertInput, Filter, FilterGroup,
    GetOptions, HubSpotError, ListOptions, ObjectInput, SearchRequest, Sort,
};
use futures_util::TryStreamExt;
use support::{client, contact_email, contact_id, sandbox, sandbox_with};

#[tokio::test]
async fn get_by_id_and_by_email_with_options() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let id = contact_id(&sandbox, 3);
    let email = contact_email(&sandbox, &id);

    let contact = client
        .contacts()
        .get(&id, &GetOptions::new().properties(["email", "city"]))
        .await
        .expect("get by id");
    assert_eq!(contact.id, id);
    assert_eq!(contact.property("email"), Some(email.as_str()));

    let by_email = client
        .contacts()
        .get_by_email(&email.to_uppercase(), &GetOptions::new())
        .await
        .expect("get by email");
    assert_eq!(by_email.id, id);

    // History, associations and archived reach HubSpot as query parameters.
    client
        .contacts()
        .get(
            &id,
            &GetOptions::new()
                .properties_with_history(["lifecyclestage"])
                .associations(["companies"])
                .archived(false),
        )
        .await
        .expect("get with history");
    let last = sandbox.log().entries().pop().expect("logged");
    assert_eq!(
        last.query.as_deref(),
        Some("propertiesWithHistory=lifecyclestage&associations=companies")
    );
    // The email went into the path percent-encoded, with idProperty.
    let by_email_entry = &sandbox.log().entries()[1];
    assert_eq!(by_email_entry.query.as_deref(), Some("idProperty=email"));
}

#[tokio::test]
async fn get_errors_are_typed() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let err = client
        .contacts()
        .get("999999999", &GetOptions::new())
        .await
        .expect_err("unknown id");
    assert!(err.is_not_found(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.category(), Some("OBJECT_NOT_FOUND"));
    assert!(err.correlation_id().is_some());

    let err = client
        .contacts()
        .get(" ", &GetOptions::new())
        .await
        .expect_err("empty id");
    assert!(matches!(err, HubSpotError::InvalidInput(_)), "{err:?}");

    // An unknown unique property is HubSpot's validation error, not a panic.
    let err = client
        .contacts()
        .get("x", &GetOptions::new().id_property("phone"))
        .await
        .expect_err("not unique");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(err.category(), Some("VALIDATION_ERROR"));

    // A bad token is a 401 from every operation, health check included.
    let bad = support::builder(&sandbox)
        .token("pat-na1-wrong")
        .cache(None)
        .build()
        .expect("builds");
    let err = bad.health_check().await.expect_err("bad token");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
}

#[tokio::test]
async fn health_check_reads_the_account_and_plugs_into_obs_health() {
    use obs_health::{Health, HealthChecker};

    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let account = client.health_check().await.expect("healthy");
    assert_eq!(account.portal_id, 62_515);
    assert_eq!(account.time_zone.as_deref(), Some("US/Eastern"));

    let checker = HealthChecker::builder().check(client.clone()).build();
    assert_eq!(checker.report().await.health(), Health::Healthy);

    let bad = support::builder(&sandbox)
        .token("pat-na1-wrong")
        .build()
        .expect("builds");
    let checker = HealthChecker::builder().check(bad).build();
    assert_eq!(checker.report().await.health(), Health::Unhealthy);
}

#[tokio::test]
async fn list_pages_and_streams_across_pages() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let page = client
        .contacts()
        .list_page(&ListOptions::new().limit(30).properties(["email"]))
        .await
        .expect("first page");
    assert_eq!(page.results.len(), 30);
    let after = page.next_after().expect("more pages").to_owned();
    let second = client
        .contacts()
        .list_page(&ListOptions::new().limit(30).after(after))
        .await
        .expect("second page");
    assert_ne!(second.results[0].id, page.results[0].id);

    sandbox.log().clear();
    let all: Vec<_> = client
        .contacts()
        .list(ListOptions::new().limit(30))
        .try_collect()
        .await
        .expect("every page");
    assert_eq!(all.len(), 100);
    // `dedup` alone only drops neighbours: sort first, so any repeat across pages counts.
    let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 100, "no duplicates across pages");
    assert_eq!(sandbox.log().len(), 4, "100 contacts in pages of 30");

    // A failing page ends the stream with the error.
    sandbox.control().fail_always(
        api_sandbox::Route::path("/crm/v3/objects/companies"),
        api_sandbox::Fault::status(403),
    );
    let result: Result<Vec<_>, _> = client
        .companies()
        .list(ListOptions::new())
        .try_collect()
        .await;
    assert_eq!(
        result.expect_err("403").status().map(|s| s.as_u16()),
        Some(403)
    );
}

#[tokio::test]
async fn create_update_archive() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let contacts = client.contacts();
    let created = contacts
        .create(
            &ObjectInput::new()
                .property("email", "ada@example.com")
                .property("firstname", "Ada"),
        )
        .await
        .expect("create");
    assert_eq!(created.property("firstname"), Some("Ada"));
    assert!(
        sandbox
            .control()
            .contact_by_email("ada@example.com")
            .is_some()
    );

    // Duplicate email: HubSpot's 409 conflict.
    let err = contacts
        .create(&ObjectInput::new().property("email", "ada@example.com"))
        .await
        .expect_err("duplicate");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(409));
    assert!(!err.is_retryable());

    // Unknown property: a validation error with per-field details.
    let err = contacts
        .create(&ObjectInput::new().property("favourite_colour", "blue"))
        .await
        .expect_err("unknown property");
    assert_eq!(err.category(), Some("VALIDATION_ERROR"));
    assert!(
        err.message()
            .is_some_and(|m| m.contains("favourite_colour")),
        "{err:?}"
    );

    let updated = contacts
        .update(
            &created.id,
            &ObjectInput::new().property("firstname", "Augusta"),
        )
        .await
        .expect("update");
    assert_eq!(updated.property("firstname"), Some("Augusta"));
    let by_email = contacts
        .update_by_email(
            "ada@example.com",
            &ObjectInput::new().property("city", "London"),
        )
        .await
        .expect("update by email");
    assert_eq!(by_email.id, created.id);
    assert_eq!(by_email.property("city"), Some("London"));
    let err = contacts
        .update(
            &created.id,
            &ObjectInput::new()
                .association(client_hubspot::AssociationInput::hubspot_defined("1", 279)),
        )
        .await
        .expect_err("associations are refused, not dropped");
    assert!(matches!(err, HubSpotError::InvalidInput(_)));
    let err = contacts
        .update("999999999", &ObjectInput::new().property("city", "Paris"))
        .await
        .expect_err("unknown id");
    assert!(err.is_not_found());

    contacts.archive(&created.id).await.expect("archive");
    let err = contacts
        .get(&created.id, &GetOptions::new())
        .await
        .expect_err("archived");
    assert!(err.is_not_found());
    let archived = contacts
        .get(&created.id, &GetOptions::new().archived(true))
        .await
        .expect("archived objects can be read");
    assert!(archived.archived);
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let id = contact_id(&sandbox, 7);
    let email = contact_email(&sandbox, &id);
    let page = client
        .contacts()
        .search_page(
            &SearchRequest::new()
                .filter_group(FilterGroup::new().filter(Filter::eq("email", &email)))
                .properties(["email"]),
        )
        .await
        .expect("search");
    assert_eq!(page.total, 1);
    assert_eq!(page.results[0].id, id);

    let mut stream = client.contacts().search(
        SearchRequest::new()
            .filter_group(FilterGroup::new().filter(Filter::has_property("email")))
            .sort(Sort::ascending("email"))
            .limit(40),
    );
    let mut emails = Vec::new();
    while let Some(contact) = stream.try_next().await.expect("page") {
        emails.push(contact.property("email").unwrap_or_default().to_owned());
    }
    assert_eq!(emails.len(), 100);
    assert!(emails.windows(2).all(|w| w[0] <= w[1]), "sorted");
    assert_eq!(stream.total(), Some(100));
    assert!(!stream.truncated());

    let err = client
        .contacts()
        .search_page(&SearchRequest::new().limit(500))
        .await
        .expect_err("limit too large");
    assert!(matches!(err, HubSpotError::InvalidInput(_)));
    let err = client
        .contacts()
        .search_page(
            &SearchRequest::new()
                .filter_group(FilterGroup::new().filter(Filter::eq("no_such_property", "x"))),
        )
        .await
        .expect_err("bad filter");
    assert_eq!(err.category(), Some("VALIDATION_ERROR"));
}

#[tokio::test(start_paused = true)]
async fn search_stops_cleanly_at_the_10000_cap() {
    let mut config = SandboxConfig::small().with_contacts(10_050);
    config.hubspot.search = None;
    let sandbox = sandbox_with(config).await;
    let client = client(&sandbox);
    let mut stream = client
        .contacts()
        .search(SearchRequest::new().properties(["email"]).limit(200));
    let mut n = 0;
    while let Some(contact) = stream.try_next().await.expect("no error at the cap") {
        assert!(!contact.id.is_empty());
        n += 1;
    }
    assert_eq!(n, 10_000);
    assert!(stream.truncated());
    assert_eq!(stream.total(), Some(10_050));
    let searches = sandbox.log().for_path("/crm/v3/objects/contacts/search");
    assert_eq!(searches.len(), 50);
    assert!(
        searches.iter().all(|e| e.status == Some(200)),
        "never a 400"
    );
}

#[tokio::test]
async fn batch_read_chunks_250_ids_into_3_requests_and_maps_207() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let seeded: Vec<String> = sandbox
        .control()
        .contact_ids()
        .iter()
        .map(u64::to_string)
        .collect();
    // 250 inputs: the 100 seeded ids, then 150 ids that do not exist, then seeded again.
    let mut ids: Vec<String> = seeded.clone();
    ids.extend((0..100).map(|i| format!("9{i:08}")));
    ids.extend(seeded.iter().take(50).cloned());
    assert_eq!(ids.len(), 250);

    let response = client
        .contacts()
        .batch_read(ids.clone(), &BatchReadOptions::new().properties(["email"]))
        .await
        .expect("batch read");
    let reads = sandbox
        .log()
        .for_path("/crm/v3/objects/contacts/batch/read");
    assert_eq!(reads.len(), 3);
    assert_eq!(response.requests, 3);
    assert_eq!(
        reads.iter().map(|e| e.status).collect::<Vec<_>>(),
        [Some(200), Some(207), Some(200)]
    );
    assert_eq!(response.len(), 250);
    for (input, item) in ids.iter().zip(&response.items) {
        if seeded.contains(input) {
            assert_eq!(&item.as_ref().expect("found").id, input);
        } else {
            let err = item.as_ref().expect_err("missing id");
            assert!(err.is_not_found(), "{err:?}");
            assert!(matches!(err, BatchItemError::Item(_)));
        }
    }
    assert_eq!(response.successes().count(), 150);
    assert_eq!(response.failures().count(), 100);

    // By email (idProperty), any case.
    let emails: Vec<String> = seeded[..3]
        .iter()
        .map(|id| contact_email(&sandbox, id).to_uppercase())
        .collect();
    let by_email = client
        .contacts()
        .batch_read(
            emails,
            &BatchReadOptions::new()
                .id_property("email")
                .properties(["email"]),
        )
        .await
        .expect("by email");
    let found: Vec<&str> = by_email.successes().map(|c| c.id.as_str()).collect();
    assert_eq!(
        found,
        [seeded[0].as_str(), seeded[1].as_str(), seeded[2].as_str()]
    );
}

#[tokio::test]
async fn batch_create_update_upsert_archive() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    let contacts = client.contacts();
    let existing = contact_email(&sandbox, &contact_id(&sandbox, 0));

    // 120 inputs in two requests; input 5 duplicates an existing email and input 110 has an
    // unknown property: a 207 whose errors map back to exactly those inputs.
    let inputs: Vec<ObjectInput> = (0..120)
        .map(|i| match i {
            5 => ObjectInput::new().property("email", existing.as_str()),
            110 => ObjectInput::new().property("shoe_size", "42"),
            _ => ObjectInput::new().property("email", format!("new{i}@example.com")),
        })
        .collect();
    let created = contacts.batch_create(inputs).await.expect("batch create");
    assert_eq!(created.requests, 2);
    assert_eq!(created.len(), 120);
    let failures: Vec<(usize, Option<&str>)> =
        created.failures().map(|(i, e)| (i, e.category())).collect();
    assert_eq!(
        failures,
        [(5, Some("CONFLICT")), (110, Some("VALIDATION_ERROR"))]
    );
    let ok = created.items[7].as_ref().expect("created");
    assert_eq!(ok.property("email"), Some("new7@example.com"));
    assert!(
        sandbox
            .control()
            .contact_by_email("new119@example.com")
            .is_some()
    );

    let updates = vec![
        BatchUpdateInput::new(ok.id.clone()).property("city", "Oslo"),
        BatchUpdateInput::new("999999999").property("city", "Nowhere"),
        BatchUpdateInput::new("NEW8@example.com")
            .id_property("email")
            .property("city", "Rome"),
    ];
    let updated = contacts.batch_update(updates).await.expect("batch update");
    assert_eq!(
        updated.items[0].as_ref().expect("updated").property("city"),
        Some("Oslo")
    );
    assert!(
        updated.items[1]
            .as_ref()
            .expect_err("unknown")
            .is_not_found()
    );
    assert_eq!(
        updated.items[2]
            .as_ref()
            .expect("by email")
            .property("city"),
        Some("Rome")
    );

    let upserts = vec![
        BatchUpsertInput::new("email", "new9@example.com").property("city", "Lima"),
        BatchUpsertInput::new("email", "brand.new@example.com").property("city", "Quito"),
    ];
    let upserted = contacts.batch_upsert(upserts).await.expect("batch upsert");
    let first = upserted.items[0].as_ref().expect("existing");
    let second = upserted.items[1].as_ref().expect("new");
    assert!(!first.created && second.created);
    assert_eq!(first.object.property("city"), Some("Lima"));
    assert_eq!(second.object.property("city"), Some("Quito"));

    let archived = contacts
        .batch_archive([ok.id.clone(), second.object.id.clone()])
        .await
        .expect("batch archive");
    assert!(archived.is_complete());
    assert!(
        contacts
            .get(&ok.id, &GetOptions::new())
            .await
            .expect_err("gone")
            .is_not_found()
    );

    // A failing request marks every input it held.
    sandbox.control().fail_always(
        api_sandbox::Route::path("/crm/v3/objects/contacts/batch/archive"),
        api_sandbox::Fault::status(403),
    );
    let failed = contacts.batch_archive(["1", "2"]).await.expect("outcome");
    assert_eq!(
        failed.items.len(),
        2,
        "one result per input, so `all` below is not vacuous"
    );
    assert!(failed.items.iter().all(|item| matches!(
        item,
        Err(BatchItemError::Request(e)) if e.status().map(|s| s.as_u16()) == Some(403)
    )));
}

#[tokio::test]
async fn every_layer_can_be_switched_off_and_bad_settings_are_typed_errors() {
    use client_hubspot::{BuildError, HubSpotClient};
    use integrations_config::HubSpotConfig;

    let sandbox = sandbox().await;
    let bare = support::builder(&sandbox)
        .retry(None)
        .breaker(None)
        .cache(None)
        .rate_limit(None)
        .metrics(None)
        .timeout(None)
        .total_timeout(None)
        .build()
        .expect("bare stack");
    assert!(bare.breaker().is_none() && bare.cache().is_none());
    let id = contact_id(&sandbox, 0);
    assert_eq!(
        bare.contacts()
            .get(&id, &GetOptions::new())
            .await
            .expect("get")
            .id,
        id
    );

    // Retry is off: a 503 comes back as it is, after one request.
    sandbox.log().clear();
    sandbox.control().fail_next(
        api_sandbox::Route::path("/crm/v3/objects/contacts"),
        1,
        api_sandbox::Fault::status(503),
    );
    let err = bare
        .contacts()
        .get(&id, &GetOptions::new())
        .await
        .expect_err("503, not retried");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    assert_eq!(sandbox.log().len(), 1, "one request: no retry layer");

    let missing = HubSpotClient::builder().build().expect_err("no token");
    assert!(matches!(missing, BuildError::MissingToken), "{missing:?}");
    let url = HubSpotClient::builder()
        .token("pat-na1-x")
        .base_url("ftp://example.com")
        .build()
        .expect_err("not http");
    assert!(matches!(url, BuildError::BaseUrl(_)), "{url:?}");
    let mut config = HubSpotConfig::new("pat-na1-x");
    config.retry.max_retries = 50;
    let invalid = HubSpotClient::new(config).expect_err("too many retries");
    assert!(matches!(invalid, BuildError::Config(_)), "{invalid:?}");
    assert!(
        invalid.to_string().contains("HUBSPOT_MAX_RETRIES"),
        "{invalid}"
    );
}

#[tokio::test]
async fn a_cursor_that_comes_back_ends_the_stream_with_an_error_not_a_loop() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // A server that hands back the same cursor for every page: without the guard the stream
    // would fetch the same page forever.
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    let service = tower::service_fn(move |request: http::Request<integrations_http::Body>| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let query = request.uri().query().unwrap_or_default().to_owned();
        async move {
            let body = format!(
                r#"{{"results":[{{"id":"{n}","properties":{{}}}}],"paging":{{"next":{{"after":"stuck"}}}},"query":"{query}"}}"#
            );
            Ok::<_, std::convert::Infallible>(http::Response::new(bytes::Bytes::from(body)))
        }
    });
    let client = client_hubspot::HubSpotClient::with_service(service);
    let mut stream = client.contacts().list(ListOptions::new());
    let mut ids = Vec::new();
    let error = loop {
        match stream.try_next().await {
            Ok(Some(contact)) => ids.push(contact.id),
            Ok(None) => panic!("the stream ended without an error"),
            Err(error) => break error,
        }
    };
    // Page 1 (no cursor) and page 2 (`after=stuck`) were read; page 2 named `stuck` again.
    assert_eq!(ids, ["0", "1"]);
    assert!(
        matches!(&error, HubSpotError::CursorLoop { after } if after == "stuck"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    assert!(stream.try_next().await.expect("ended").is_none());
}
