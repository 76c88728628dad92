//! HubSpot CRM v3 surface: auth, every object endpoint, batch and search, against the running
//! sandbox over real HTTP.

mod common;

use std::collections::HashSet;

use api_sandbox::{CustomObjectType, DEFAULT_HUBSPOT_READONLY_TOKEN, Sandbox, SandboxConfig};
use common::{Http, is_uuid};
use http::Method;
use serde_json::{Value, json};

/// A small data set without the burst limit, so functional tests never see a 429.
fn config() -> SandboxConfig {
    let mut c = SandboxConfig::small();
    c.hubspot.burst = None;
    c.hubspot.search = None;
    c
}

async fn start(c: SandboxConfig) -> (Sandbox, Http) {
    let sb = Sandbox::start(c).await.expect("sandbox starts");
    let http = Http::new(sb.hubspot_url(), Some(&sb.hubspot_token()));
    (sb, http)
}

fn assert_error_shape(body: &Value, category: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(
        body["correlationId"].as_str().is_some_and(is_uuid),
        "{body}"
    );
}

#[tokio::test]
async fn missing_or_wrong_token_gets_401_in_hubspot_shape() {
    let (sb, http) = start(config()).await;
    for h in [
        http.with_token(None),
        http.with_token(Some("pat-na1-wrong")),
    ] {
        let r = h.get("/crm/v3/objects/contacts").await;
        assert_eq!(r.status, 401);
        assert_error_shape(&r.json(), "INVALID_AUTHENTICATION");
        assert!(r.header("x-hubspot-ratelimit-max").is_none());
    }
    let log = sb.log().entries();
    assert_eq!(log[0].token, None);
    assert_eq!(log[1].token.as_deref(), Some("unknown"));
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403_and_reads_still_work() {
    let (_sb, http) = start(config()).await;
    let ro = http.with_token(Some(DEFAULT_HUBSPOT_READONLY_TOKEN));
    assert_eq!(ro.get("/crm/v3/objects/contacts").await.status, 200);
    let r = ro
        .post(
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "x@y.test"}}),
        )
        .await;
    assert_eq!(r.status, 403);
    let b = r.json();
    assert_error_shape(&b, "MISSING_SCOPES");
    assert_eq!(
        b["errors"][0]["context"]["requiredGranularScopes"][0],
        "crm.objects.contacts.write"
    );
}

#[tokio::test]
async fn correlation_ids_are_fresh_each_time() {
    let (_sb, http) = start(config()).await;
    let a = http.get("/crm/v3/objects/contacts/999999999").await.json();
    let b = http.get("/crm/v3/objects/contacts/999999999").await.json();
    assert_error_shape(&a, "OBJECT_NOT_FOUND");
    assert_ne!(a["correlationId"], b["correlationId"]);
}

#[tokio::test]
async fn account_details_for_health_checks() {
    let (_sb, http) = start(config()).await;
    let r = http.get("/account-info/v3/details").await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["portalId"], 62515);
    for f in [
        "accountType",
        "timeZone",
        "companyCurrency",
        "dataHostingLocation",
        "uiDomain",
        "utcOffset",
    ] {
        assert!(b.get(f).is_some(), "missing {f}");
    }
    assert_eq!(
        http.with_token(None)
            .get("/account-info/v3/details")
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn paging_lists_every_contact_exactly_once() {
    let mut c = SandboxConfig::default(); // 10,000 contacts
    c.hubspot.burst = None;
    let (sb, http) = start(c).await;
    let mut seen = HashSet::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &after {
            Some(a) => format!("/crm/v3/objects/contacts?limit=100&after={a}"),
            None => "/crm/v3/objects/contacts?limit=100".to_owned(),
        };
        let r = http.get(&path).await;
        assert_eq!(r.status, 200);
        let b = r.json();
        let results = b["results"].as_array().expect("results");
        assert!(results.len() <= 100);
        for c in results {
            let id = c["id"].as_str().expect("string id").to_owned();
            assert!(seen.insert(id), "a contact came twice");
        }
        pages += 1;
        match b["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 10_000);
    assert_eq!(pages, 100);
    assert_eq!(sb.log().len(), 100);
}

#[tokio::test]
async fn list_defaults_and_properties_param() {
    let (_sb, http) = start(config()).await;
    let b = http.get("/crm/v3/objects/contacts").await.json();
    assert_eq!(
        b["results"].as_array().map(Vec::len),
        Some(10),
        "default limit is 10"
    );
    let first = &b["results"][0];
    for k in ["id", "properties", "createdAt", "updatedAt", "archived"] {
        assert!(first.get(k).is_some(), "missing {k}");
    }
    assert_eq!(first["archived"], false);
    assert!(first["properties"]["email"].is_string());
    assert_eq!(first["properties"]["hs_object_id"], first["id"]);
    assert!(
        b["paging"]["next"]["link"]
            .as_str()
            .is_some_and(|l| l.starts_with("?after="))
    );

    let b = http
        .get("/crm/v3/objects/contacts?limit=3&properties=phone,lifecyclestage&properties=bogus")
        .await
        .json();
    let props = b["results"][0]["properties"].as_object().expect("props");
    let keys: HashSet<&str> = props.keys().map(String::as_str).collect();
    assert_eq!(keys, HashSet::from(["phone", "lifecyclestage"]));
    assert_eq!(
        http.get("/crm/v3/objects/contacts?limit=abc").await.status,
        400
    );
    // companies and deals are served too, by name or by type id
    assert_eq!(http.get("/crm/v3/objects/companies").await.status, 200);
    assert_eq!(
        http.get("/crm/v3/objects/0-3?limit=1").await.json()["results"][0]["properties"]["pipeline"],
        "default"
    );
    let r = http.get("/crm/v3/objects/widgets").await;
    assert_eq!(r.status, 400);
    assert_error_shape(&r.json(), "VALIDATION_ERROR");
}

#[tokio::test]
async fn get_by_id_and_by_email_and_404() {
    let (sb, http) = start(config()).await;
    let id = sb.control().contact_ids()[5];
    let contact = sb.control().contact(id).expect("exists");
    let email = contact["properties"]["email"]
        .as_str()
        .expect("email")
        .to_owned();

    let r = http.get(&format!("/crm/v3/objects/contacts/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["properties"]["email"], email.as_str());

    let r = http
        .get(&format!(
            "/crm/v3/objects/contacts/{}?idProperty=email",
            email.to_uppercase()
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["id"], id.to_string());

    let r = http
        .get("/crm/v3/objects/contacts/nobody@nowhere.test?idProperty=email")
        .await;
    assert_eq!(r.status, 404);
    assert_error_shape(&r.json(), "OBJECT_NOT_FOUND");
    let r = http
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?idProperty=firstname"
        ))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn create_update_archive_round_trip() {
    let (sb, http) = start(config()).await;
    let r = http
        .post(
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "new@person.test", "firstname": "New", "lifecyclestage": "lead"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let created = r.json();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["properties"]["hs_object_id"], id.as_str());
    assert!(created["properties"]["createdate"].is_string());

    // duplicate email: 409 CONFLICT naming the existing id
    let r = http
        .post(
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "NEW@person.test"}}),
        )
        .await;
    assert_eq!(r.status, 409);
    let b = r.json();
    assert_error_shape(&b, "CONFLICT");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.ends_with(&format!("Existing ID: {id}")))
    );

    // unknown and invalid properties: 400 with HubSpot's message and errors[]
    let r = http
        .post(
            "/crm/v3/objects/contacts",
            &json!({"properties": {"missing": "x", "lifecyclestage": "bogus"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    let b = r.json();
    assert_error_shape(&b, "VALIDATION_ERROR");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Property values were not valid: ["))
    );
    let codes: HashSet<&str> = b["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        HashSet::from(["PROPERTY_DOESNT_EXIST", "INVALID_OPTION"])
    );
    let r = http
        .send(Method::POST, "/crm/v3/objects/contacts", None)
        .await;
    assert_eq!(r.status, 400, "empty body is invalid JSON");

    // update: overwrite, clear with "", 404 for a missing id
    let r = http
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            &json!({"properties": {"firstname": "Renamed", "lifecyclestage": ""}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["properties"]["firstname"], "Renamed");
    assert!(b["properties"].get("lifecyclestage").is_none());
    let r = http
        .patch(
            "/crm/v3/objects/contacts/new@person.test?idProperty=email",
            &json!({"properties": {"lastname": "Person"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["properties"]["lastname"], "Person");
    let r = http
        .patch(
            "/crm/v3/objects/contacts/1",
            &json!({"properties": {"firstname": "x"}}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = http
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            &json!({"properties": {"hs_object_id": "7"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errors"][0]["code"], "READ_ONLY_VALUE");

    // archive: 204, then gone from get, visible with archived=true
    assert_eq!(
        http.delete(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        http.get(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        404
    );
    let r = http
        .get(&format!("/crm/v3/objects/contacts/{id}?archived=true"))
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["archived"], true);
    assert!(b["archivedAt"].is_string());
    assert_eq!(
        http.delete(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        204,
        "archiving twice is fine"
    );
    assert!(
        !sb.control()
            .contact_ids()
            .contains(&id.parse().expect("numeric"))
    );
    // the email is free again
    let r = http
        .post(
            "/crm/v3/objects/contacts",
            &json!({"properties": {"email": "new@person.test"}}),
        )
        .await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn batch_read_answers_207_with_missing_ids() {
    let (sb, http) = start(config()).await;
    let ids = sb.control().contact_ids();
    let body = json!({"inputs": [{"id": ids[0].to_string()}, {"id": "1"}, {"id": ids[1].to_string()}, {"id": "2"}], "properties": ["email"]});
    let r = http
        .post("/crm/v3/objects/contacts/batch/read", &body)
        .await;
    assert_eq!(r.status, 207);
    let b = r.json();
    assert_eq!(b["status"], "COMPLETE");
    assert_eq!(b["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(b["numErrors"], 1);
    let err = &b["errors"][0];
    assert_eq!(err["status"], "error");
    assert_eq!(err["category"], "OBJECT_NOT_FOUND");
    assert_eq!(err["context"]["ids"], json!(["1", "2"]));
    for k in ["startedAt", "completedAt"] {
        assert!(b[k].is_string());
    }
    let keys: Vec<&String> = b["results"][0]["properties"]
        .as_object()
        .expect("props")
        .keys()
        .collect();
    assert_eq!(keys, ["email"]);

    // all found: 200 without errors; by email with idProperty
    let email = sb.control().contact(ids[3]).expect("c")["properties"]["email"].clone();
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/read",
            &json!({"idProperty": "email", "inputs": [{"id": email}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert!(b.get("errors").is_none());
    assert_eq!(b["results"][0]["id"], ids[3].to_string());
}

#[tokio::test]
async fn batches_over_100_inputs_are_a_400() {
    let (_sb, http) = start(config()).await;
    let inputs: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    for op in ["read", "create", "update", "upsert", "archive"] {
        let r = http
            .post(
                &format!("/crm/v3/objects/contacts/batch/{op}"),
                &json!({ "inputs": inputs }),
            )
            .await;
        assert_eq!(r.status, 400, "{op}");
        assert_error_shape(&r.json(), "VALIDATION_ERROR");
    }
    let r = http
        .post("/crm/v3/objects/contacts/batch/read", &json!({"nope": []}))
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn batch_create_is_all_or_nothing_without_trace_ids_and_207_with_them() {
    let (sb, http) = start(config()).await;
    let before = sb.control().contact_ids().len();
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/create",
            &json!({"inputs": [{"properties": {"email": "a@batch.test"}}, {"properties": {"email": "b@batch.test"}}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["results"].as_array().map(Vec::len), Some(2));

    // one bad input without a trace id fails the whole batch
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/create",
            &json!({"inputs": [{"properties": {"email": "c@batch.test"}}, {"properties": {"missing": "x"}}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(sb.control().contact_by_email("c@batch.test").is_none());

    // with trace ids: 207, the good one created, the bad one reported with its trace id
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/create",
            &json!({"inputs": [
                {"properties": {"email": "c@batch.test"}, "objectWriteTraceId": "t1"},
                {"properties": {"missing": "x"}, "objectWriteTraceId": "549b1c2a9351"},
                {"properties": {"email": "a@batch.test"}, "objectWriteTraceId": "t3"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207);
    let b = r.json();
    assert_eq!(b["numErrors"], 2);
    assert_eq!(b["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(b["errors"][0]["category"], "VALIDATION_ERROR");
    assert_eq!(
        b["errors"][0]["context"]["objectWriteTraceId"],
        json!(["549b1c2a9351"])
    );
    assert_eq!(b["errors"][1]["category"], "CONFLICT");
    assert!(sb.control().contact_by_email("c@batch.test").is_some());
    assert_eq!(sb.control().contact_ids().len(), before + 3);
}

#[tokio::test]
async fn batch_update_upsert_and_archive() {
    let (sb, http) = start(config()).await;
    let ids = sb.control().contact_ids();
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/update",
            &json!({"inputs": [
                {"id": ids[0].to_string(), "properties": {"jobtitle": "CEO"}},
                {"id": "3", "properties": {"jobtitle": "CTO"}}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207);
    let b = r.json();
    assert_eq!(b["results"][0]["properties"]["jobtitle"], "CEO");
    assert_eq!(b["errors"][0]["context"]["ids"], json!(["3"]));
    let dup = json!({"inputs": [{"id": "5", "properties": {}}, {"id": "5", "properties": {}}]});
    assert_eq!(
        http.post("/crm/v3/objects/contacts/batch/update", &dup)
            .await
            .status,
        400
    );
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/update",
            &json!({"inputs": [{"id": ids[0].to_string(), "properties": {"bogus": "1"}}]}),
        )
        .await;
    assert_eq!(r.status, 400);

    let existing = sb.control().contact(ids[1]).expect("c")["properties"]["email"].clone();
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            &json!({"inputs": [
                {"id": existing, "idProperty": "email", "properties": {"firstname": "Up"}},
                {"id": "fresh@upsert.test", "idProperty": "email", "properties": {"firstname": "Fresh"}}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["results"][0]["new"], false);
    assert_eq!(b["results"][0]["id"], ids[1].to_string());
    assert_eq!(b["results"][1]["new"], true);
    assert_eq!(b["results"][1]["properties"]["email"], "fresh@upsert.test");
    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            &json!({"inputs": [{"id": "4", "properties": {"firstname": "x"}}]}),
        )
        .await;
    assert_eq!(r.status, 207, "an unknown hs_object_id cannot be created");

    let r = http
        .post(
            "/crm/v3/objects/contacts/batch/archive",
            &json!({"inputs": [{"id": ids[2].to_string()}, {"id": "6"}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert!(!sb.control().contact_ids().contains(&ids[2]));
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    let (sb, http) = start(config()).await;
    let ids = sb.control().contact_ids();
    let c = sb.control().contact(ids[7]).expect("c");
    let email = c["properties"]["email"].as_str().expect("email");

    let r = http
        .post(
            "/crm/v3/objects/contacts/search",
            &json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": email}]}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let b = r.json();
    assert_eq!(b["total"], 1);
    assert_eq!(b["results"][0]["id"], ids[7].to_string());
    assert!(b.get("paging").is_none());
    let keys: HashSet<&str> = b["results"][0]["properties"]
        .as_object()
        .expect("p")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from([
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ])
    );
    assert!(
        r.header("x-hubspot-ratelimit-max").is_none(),
        "search sends no rate-limit headers"
    );

    // groups are ORed, filters ANDed; IN, HAS_PROPERTY, CONTAINS_TOKEN with a wildcard
    let all = |f: Value| json!({"filterGroups": [{"filters": [f]}], "limit": 200});
    let customers = http
        .post("/crm/v3/objects/contacts/search", &all(json!({"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer", "lead"]})))
        .await
        .json();
    let n_in = customers["total"].as_u64().expect("total");
    assert!(n_in > 0 && n_in < 100);
    let with_phone = http
        .post(
            "/crm/v3/objects/contacts/search",
            &all(json!({"propertyName": "phone", "operator": "HAS_PROPERTY"})),
        )
        .await
        .json()["total"]
        .as_u64()
        .expect("total");
    let without_phone = http
        .post(
            "/crm/v3/objects/contacts/search",
            &all(json!({"propertyName": "phone", "operator": "NOT_HAS_PROPERTY"})),
        )
        .await
        .json()["total"]
        .as_u64()
        .expect("total");
    assert_eq!(with_phone + without_phone, 100);
    let domain = email.split('@').nth(1).expect("domain");
    let tok = http
        .post("/crm/v3/objects/contacts/search", &all(json!({"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": format!("*@{domain}")})))
        .await
        .json();
    assert!(tok["results"].as_array().expect("r").iter().all(|c| {
        c["properties"]["email"]
            .as_str()
            .is_some_and(|e| e.ends_with(domain))
    }));

    // GT on a date, sorted descending
    let r = http
        .post(
            "/crm/v3/objects/contacts/search",
            &json!({
                "filterGroups": [{"filters": [{"propertyName": "createdate", "operator": "GT", "value": "2024-06-01T00:00:00.000Z"}]}],
                "sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}],
                "properties": ["createdate"], "limit": 50
            }),
        )
        .await
        .json();
    let dates: Vec<&str> = r["results"]
        .as_array()
        .expect("r")
        .iter()
        .filter_map(|c| c["properties"]["createdate"].as_str())
        .collect();
    assert!(!dates.is_empty());
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "sorted descending");
    assert!(dates.iter().all(|d| *d > "2024-06-01"));

    // paging with after, every result once
    let mut seen = HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({"limit": 30, "properties": ["email"]});
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let b = http
            .post("/crm/v3/objects/contacts/search", &body)
            .await
            .json();
        assert_eq!(b["total"], 100);
        for c in b["results"].as_array().expect("r") {
            assert!(seen.insert(c["id"].as_str().expect("id").to_owned()));
        }
        match b["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 100);
    // free-text query
    let first = c["properties"]["firstname"].as_str().expect("first");
    let b = http
        .post(
            "/crm/v3/objects/contacts/search",
            &json!({"query": first, "limit": 200}),
        )
        .await
        .json();
    assert!(b["results"].as_array().expect("r").iter().all(|r| {
        r["properties"]["firstname"] == first
            || r["properties"]["lastname"]
                .as_str()
                .is_some_and(|l| l.to_lowercase().starts_with(&first.to_lowercase()))
            || r["properties"]["email"]
                .as_str()
                .is_some_and(|e| e.contains(&first.to_lowercase()))
    }));
}

#[tokio::test]
async fn search_enforces_its_own_limits() {
    let mut c = SandboxConfig::default();
    c.hubspot.burst = None;
    c.hubspot.search = None;
    c.contacts = 12_000;
    let (_sb, http) = start(c).await;
    let search = |b: Value| {
        let http = http.clone();
        async move { http.post("/crm/v3/objects/contacts/search", &b).await }
    };
    let r = search(json!({"limit": 201})).await;
    assert_eq!(r.status, 400);
    assert_error_shape(&r.json(), "VALIDATION_ERROR");
    assert_eq!(search(json!({"limit": 200})).await.status, 200);

    // the 10,000-result cap: the last reachable page has no next link; beyond it is a 400
    let b = search(json!({"limit": 200, "after": "9800"})).await.json();
    assert_eq!(b["total"], 12_000);
    assert_eq!(b["results"].as_array().map(Vec::len), Some(200));
    assert!(b.get("paging").is_none(), "no page beyond 10,000");
    let r = search(json!({"limit": 10, "after": 10_000})).await;
    assert_eq!(r.status, 400);
    assert_error_shape(&r.json(), "VALIDATION_ERROR");

    // body over 3,000 characters
    let r = search(json!({"query": "x".repeat(3_001)})).await;
    assert_eq!(r.status, 400);
    // too many groups / filters, more than one sort, unknown operator
    let f = json!({"propertyName": "email", "operator": "HAS_PROPERTY"});
    let groups: Vec<Value> = (0..6).map(|_| json!({"filters": [f]})).collect();
    assert_eq!(search(json!({ "filterGroups": groups })).await.status, 400);
    let filters: Vec<Value> = (0..11).map(|_| f.clone()).collect();
    assert_eq!(
        search(json!({"filterGroups": [{"filters": filters}]}))
            .await
            .status,
        400
    );
    assert_eq!(
        search(json!({"sorts": ["email", "-createdate"]}))
            .await
            .status,
        400
    );
    assert_eq!(
        search(json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "LIKE", "value": "x"}]}]})).await.status,
        400
    );
}

#[tokio::test]
async fn properties_with_history_on_get_list_and_batch_read() {
    let (sb, http) = start(config()).await;
    let id = sb.control().contact_ids()[0];
    let path = format!("/crm/v3/objects/contacts/{id}");
    let before = http
        .get(&format!(
            "{path}?properties=lifecyclestage&propertiesWithHistory=lifecyclestage,email,bogus"
        ))
        .await
        .json();
    let stage = before["properties"]["lifecyclestage"].clone();
    assert!(stage.is_string(), "{before}");
    let hist = before["propertiesWithHistory"]
        .as_object()
        .expect("propertiesWithHistory object");
    assert_eq!(
        hist.keys().collect::<Vec<_>>(),
        ["email", "lifecyclestage"],
        "unknown names are ignored"
    );
    let stages = hist["lifecyclestage"].as_array().expect("array");
    assert_eq!(
        stages[0]["value"], stage,
        "newest first, current value on top"
    );
    for v in stages {
        assert!(
            v["timestamp"].is_string() && v["sourceType"].is_string(),
            "{v}"
        );
    }
    // plain reads carry no history
    assert!(
        http.get(&path)
            .await
            .json()
            .get("propertiesWithHistory")
            .is_none()
    );

    // two writes through the API land on top, newest first, as INTEGRATION
    for s in ["lead", "customer"] {
        let r = http
            .patch(&path, &json!({"properties": {"lifecyclestage": s}}))
            .await;
        assert_eq!(r.status, 200);
    }
    let after = http
        .get(&format!("{path}?propertiesWithHistory=lifecyclestage"))
        .await
        .json();
    let list = after["propertiesWithHistory"]["lifecyclestage"]
        .as_array()
        .expect("array");
    let values: Vec<&Value> = list.iter().map(|v| &v["value"]).collect();
    assert_eq!(values[0], "customer");
    assert_eq!(values[1], "lead");
    assert_eq!(values[2], &stage, "the seeded value is kept underneath");
    assert_eq!(list.len(), stages.len() + 2);
    assert_eq!(list[0]["sourceType"], "INTEGRATION");

    // list and batch read take it too
    let page = http
        .get("/crm/v3/objects/contacts?limit=3&propertiesWithHistory=email")
        .await
        .json();
    let results = page["results"].as_array().expect("results");
    assert!(results.iter().all(|r| {
        r["propertiesWithHistory"]["email"]
            .as_array()
            .is_some_and(|h| h[0]["value"] == r["properties"]["email"])
    }));
    let batch = http
        .post(
            "/crm/v3/objects/contacts/batch/read",
            &json!({"inputs": [{"id": id.to_string()}], "properties": ["email"], "propertiesWithHistory": ["lifecyclestage"]}),
        )
        .await
        .json();
    assert_eq!(
        batch["results"][0]["propertiesWithHistory"]["lifecyclestage"],
        json!(list)
    );
}

#[tokio::test]
async fn associations_on_get_are_deterministic_and_symmetric() {
    let (sb, http) = start(config()).await;
    let (sb2, http2) = start(config()).await;
    let mut with_company = None;
    for id in sb.control().contact_ids() {
        let b = http
            .get(&format!(
                "/crm/v3/objects/contacts/{id}?associations=companies,deals"
            ))
            .await
            .json();
        let again = http2
            .get(&format!(
                "/crm/v3/objects/contacts/{id}?associations=companies,deals"
            ))
            .await
            .json();
        assert_eq!(
            b["associations"], again["associations"],
            "same seed, same links"
        );
        if let Some(c) = b["associations"]["companies"]["results"].get(0) {
            assert_eq!(c["type"], "contact_to_company");
            with_company = Some((id, c["id"].as_str().expect("string id").to_owned()));
            break;
        }
    }
    drop(sb2);
    let (contact, company) = with_company.expect("some contact has a company");
    let contact_id = contact.to_string();
    // the reverse direction, by type id
    let b = http
        .get(&format!(
            "/crm/v3/objects/companies/{company}?associations=0-1"
        ))
        .await
        .json();
    let back = b["associations"]["contacts"]["results"]
        .as_array()
        .expect("company has contacts");
    assert!(back.iter().any(
        |r| r["id"].as_str() == Some(contact_id.as_str()) && r["type"] == "company_to_contact"
    ));
    // every deal has a contact; list takes the parameter too
    let deals = http
        .get("/crm/v3/objects/deals?limit=20&associations=contacts")
        .await
        .json();
    assert!(deals["results"].as_array().is_some_and(|d| {
        d.iter()
            .all(|d| d["associations"]["contacts"]["results"][0]["type"] == "deal_to_contact")
    }));
    // an archived target disappears from the associations
    assert_eq!(
        http.delete(&format!("/crm/v3/objects/companies/{company}"))
            .await
            .status,
        204
    );
    let b = http
        .get(&format!(
            "/crm/v3/objects/contacts/{contact}?associations=companies"
        ))
        .await
        .json();
    assert!(b.get("associations").is_none(), "{b}");
    // an unknown type is HubSpot's 400
    let r = http
        .get(&format!(
            "/crm/v3/objects/contacts/{contact}?associations=false"
        ))
        .await;
    assert_eq!(r.status, 400);
    let e = r.json();
    assert_error_shape(&e, "VALIDATION_ERROR");
    assert_eq!(e["message"], "Unable to infer object type from: false");
}

#[tokio::test]
async fn companies_and_deals_support_every_operation() {
    let (sb, http) = start(config()).await;
    for (ty, name_prop, count, create, bad) in [
        (
            "companies",
            "name",
            sb.control().company_ids().len(),
            json!({"name": "Acme", "domain": "acme.test", "numberofemployees": "12"}),
            json!({"numberofemployees": "many"}),
        ),
        (
            "deals",
            "dealname",
            sb.control().deal_ids().len(),
            json!({"dealname": "Big one", "amount": "1500", "dealstage": "appointmentscheduled"}),
            json!({"amount": "lots"}),
        ),
    ] {
        let base = format!("/crm/v3/objects/{ty}");
        // list pages through every seeded record
        let mut seen = 0;
        let mut after: Option<String> = None;
        loop {
            let q = after.map_or(String::new(), |a| format!("&after={a}"));
            let b = http.get(&format!("{base}?limit=7{q}")).await.json();
            let results = b["results"].as_array().expect("results");
            assert!(
                results
                    .iter()
                    .all(|r| r["properties"][name_prop].is_string())
            );
            seen += results.len();
            match b["paging"]["next"]["after"].as_str() {
                Some(a) => after = Some(a.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, count, "{ty}");
        // create, get, update, search, batch read, archive
        let r = http.post(&base, &json!({"properties": create})).await;
        assert_eq!(r.status, 201, "{ty}");
        let id = r.json()["id"].as_str().expect("id").to_owned();
        let got = http
            .get(&format!("{base}/{id}?properties={name_prop}"))
            .await
            .json();
        assert_eq!(got["properties"][name_prop], create[name_prop]);
        let r = http
            .patch(
                &format!("{base}/{id}"),
                &json!({"properties": {name_prop: "Renamed"}}),
            )
            .await;
        assert_eq!(r.json()["properties"][name_prop], "Renamed");
        let r = http
            .patch(&format!("{base}/{id}"), &json!({"properties": bad}))
            .await;
        assert_eq!(r.status, 400, "{ty}");
        let found = http
            .post(
                &format!("{base}/search"),
                &json!({"filterGroups": [{"filters": [{"propertyName": name_prop, "operator": "EQ", "value": "Renamed"}]}]}),
            )
            .await
            .json();
        assert_eq!(found["total"], 1, "{ty}: {found}");
        assert_eq!(found["results"][0]["id"], id.as_str());
        let batch = http
            .post(
                &format!("{base}/batch/read"),
                &json!({"inputs": [{"id": id}, {"id": "1"}], "properties": [name_prop]}),
            )
            .await;
        assert_eq!(batch.status, 207, "{ty}");
        let r = http
            .post(
                &format!("{base}/batch/update"),
                &json!({"inputs": [{"id": id, "properties": {name_prop: "Again"}}]}),
            )
            .await;
        assert_eq!(r.json()["results"][0]["properties"][name_prop], "Again");
        let r = http
            .post(
                &format!("{base}/batch/create"),
                &json!({"inputs": [{"properties": {name_prop: "B1"}}, {"properties": {name_prop: "B2"}}]}),
            )
            .await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["results"].as_array().map(Vec::len), Some(2));
        assert_eq!(http.delete(&format!("{base}/{id}")).await.status, 204);
        assert_eq!(http.get(&format!("{base}/{id}")).await.status, 404);
        let r = http
            .post(
                &format!("{base}/batch/archive"),
                &json!({"inputs": [{"id": id}]}),
            )
            .await;
        assert_eq!(r.status, 204);
    }
}

#[tokio::test]
async fn custom_objects_by_name_fully_qualified_name_or_type_id() {
    let (sb, http) = start(config()).await;
    let ids = sb
        .control()
        .object_ids("pets")
        .expect("pets are served by default");
    assert_eq!(ids.len(), 50);
    assert_eq!(sb.control().object_ids("2-1000001"), Some(ids.clone()));
    assert_eq!(sb.control().object_ids("tickets"), None);
    let first = ids[0];
    // custom objects return hs_createdate, hs_lastmodifieddate and hs_object_id by default
    for path in ["pets", "2-1000001", "p62515_pets"] {
        let b = http
            .get(&format!("/crm/v3/objects/{path}/{first}"))
            .await
            .json();
        assert_eq!(b["id"], first.to_string(), "{path}");
        let mut keys: Vec<&String> = b["properties"].as_object().expect("props").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
        );
    }
    let b = http
        .get(&format!(
            "/crm/v3/objects/pets/{first}?properties=name,species"
        ))
        .await
        .json();
    assert!(
        b["properties"]["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("pets "))
    );

    // create (read-only and unknown properties refused), update, search, batch, archive
    let r = http
        .post(
            "/crm/v3/objects/pets",
            &json!({"properties": {"name": "Rex", "species": "dog", "age": "3"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let created = r.json();
    assert!(created["properties"]["hs_createdate"].is_string());
    let id = created["id"].as_str().expect("id").to_owned();
    for bad in [json!({"hs_createdate": "x"}), json!({"color": "red"})] {
        let r = http
            .post("/crm/v3/objects/pets", &json!({"properties": bad}))
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_error_shape(&r.json(), "VALIDATION_ERROR");
    }
    let r = http
        .patch(
            &format!("/crm/v3/objects/2-1000001/{id}"),
            &json!({"properties": {"age": "4"}}),
        )
        .await;
    assert_eq!(r.json()["properties"]["age"], "4");
    let found = http
        .post(
            "/crm/v3/objects/pets/search",
            &json!({"query": "Rex", "properties": ["name", "age"]}),
        )
        .await
        .json();
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["results"][0]["properties"]["age"], "4");
    let r = http
        .post(
            "/crm/v3/objects/pets/batch/read",
            &json!({"inputs": [{"id": id}, {"id": first.to_string()}], "properties": ["name"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        http.delete(&format!("/crm/v3/objects/pets/{id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        http.get(&format!("/crm/v3/objects/pets/{id}")).await.status,
        404
    );

    // the read-only token reads custom objects but cannot write them
    let ro = http.with_token(Some(DEFAULT_HUBSPOT_READONLY_TOKEN));
    assert_eq!(ro.get("/crm/v3/objects/pets").await.status, 200);
    let r = ro
        .post(
            "/crm/v3/objects/pets",
            &json!({"properties": {"name": "x"}}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_error_shape(&r.json(), "MISSING_SCOPES");

    // types that are not configured answer HubSpot's 400
    for t in ["tickets", "2-999", "p62515_cars"] {
        let r = http.get(&format!("/crm/v3/objects/{t}")).await;
        assert_eq!(r.status, 400, "{t}");
        let b = r.json();
        assert_error_shape(&b, "VALIDATION_ERROR");
        assert_eq!(
            b["message"],
            format!("Unable to infer object type from: {t}")
        );
    }
}

#[tokio::test]
async fn configured_custom_object_types_and_their_validation() {
    let mut c = config();
    c.hubspot.custom_objects = vec![
        CustomObjectType::new(
            "tickets",
            "0-5",
            ["subject", "content", "hs_pipeline_stage_x"],
        )
        .with_records(7),
    ];
    // hs_ prefixes are reserved for the system properties
    let err = Sandbox::start(c.clone()).await.expect_err("invalid config");
    assert!(err.to_string().contains("hs_"), "{err}");
    c.hubspot.custom_objects[0].properties.pop();
    let (sb, http) = start(c.clone()).await;
    let b = http
        .get("/crm/v3/objects/0-5?limit=100&properties=subject")
        .await
        .json();
    assert_eq!(b["results"].as_array().map(Vec::len), Some(7));
    assert!(b["results"][0]["properties"]["subject"].is_string());
    // pets are not configured any more
    assert_eq!(http.get("/crm/v3/objects/pets").await.status, 400);
    drop(sb);
    // a name taken by a built-in type is refused
    c.hubspot.custom_objects = vec![CustomObjectType::new("deals", "2-1", ["x"])];
    assert!(Sandbox::start(c).await.is_err());
}

#[tokio::test]
async fn create_with_associations_links_both_ways() {
    let (sb, http) = start(config()).await;
    let contact = sb.control().contact_ids()[5].to_string();
    let company = sb.control().company_ids()[2].to_string();
    let assoc = |id: &str, type_id: u64| json!({"to": {"id": id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]});
    let r = http
        .post(
            "/crm/v3/objects/deals",
            &json!({"properties": {"dealname": "Linked"}, "associations": [assoc(&contact, 3), assoc(&company, 341)]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let deal = r.json()["id"].as_str().expect("id").to_owned();
    let b = http
        .get(&format!(
            "/crm/v3/objects/deals/{deal}?associations=contacts,companies"
        ))
        .await
        .json();
    assert_eq!(
        b["associations"]["contacts"]["results"],
        json!([{"id": contact, "type": "deal_to_contact"}])
    );
    assert_eq!(
        b["associations"]["companies"]["results"],
        json!([{"id": company, "type": "deal_to_company"}])
    );
    let c = http
        .get(&format!(
            "/crm/v3/objects/contacts/{contact}?associations=deals"
        ))
        .await
        .json();
    assert!(
        c["associations"]["deals"]["results"]
            .as_array()
            .is_some_and(|d| {
                d.iter().any(|d| {
                    d["id"].as_str() == Some(deal.as_str()) && d["type"] == "contact_to_deal"
                })
            })
    );
    // a type id that does not start at deals, or a missing target, is a 400 and creates nothing
    let before = sb.control().deal_ids().len();
    for bad in [assoc(&contact, 279), assoc("999999999", 3)] {
        let r = http
            .post(
                "/crm/v3/objects/deals",
                &json!({"properties": {"dealname": "No"}, "associations": [bad]}),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_error_shape(&r.json(), "VALIDATION_ERROR");
    }
    assert_eq!(sb.control().deal_ids().len(), before);
    // in a batch with trace ids, the bad input is a 207 error and the good one is linked
    let r = http
        .post(
            "/crm/v3/objects/deals/batch/create",
            &json!({"inputs": [
                {"properties": {"dealname": "Good"}, "associations": [assoc(&company, 5)], "objectWriteTraceId": "g"},
                {"properties": {"dealname": "Bad"}, "associations": [assoc("1", 5)], "objectWriteTraceId": "b"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 207);
    let b = r.json();
    assert_eq!(
        b["errors"][0]["context"]["objectWriteTraceId"],
        json!(["b"])
    );
    let good = b["results"][0]["id"].as_str().expect("id").to_owned();
    let g = http
        .get(&format!(
            "/crm/v3/objects/deals/{good}?associations=companies"
        ))
        .await
        .json();
    assert_eq!(g["associations"]["companies"]["results"][0]["id"], company);
}
