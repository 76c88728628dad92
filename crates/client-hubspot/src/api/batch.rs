//! The batch family: inputs chunked into requests of [`BATCH_LIMIT`], and every response
//! (200, 201, 204, 207, or a failure of the whole request) mapped back to each input.

use std::collections::HashMap;
use std::sync::Arc;

use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::BATCH_LIMIT;
use super::objects::{BatchReadOptions, Objects};
use crate::error::HubSpotError;
use crate::models::BatchBody;
use crate::models::{
    BatchItemError, BatchResponse, BatchUpdateInput, BatchUpsertInput, CrmObject, ObjectInput,
    StandardError, UpsertedObject,
};
use crate::request::{Query, decode};

/// How one input is recognised in a response: its key, and the name of the error context
/// entry that lists such keys.
struct Keys {
    keys: Vec<String>,
    context: &'static str,
}

/// Sends one chunk and maps its response to one result per input of the chunk.
async fn send_chunk<T, B>(
    objects: &Objects,
    action: &'static str,
    query: &str,
    body: &B,
    mark: fn(crate::request::Call) -> crate::request::Call,
    keys: &Keys,
    result_key: &(dyn Fn(&T) -> Option<String> + Sync),
) -> Result<Vec<Result<T, BatchItemError>>, HubSpotError>
where
    T: DeserializeOwned + Clone,
    B: Serialize,
{
    let path = format!("{}/batch/{action}{query}", objects.base_path()?);
    let call = mark(objects.call(Method::POST, path, &format!("batch_{action}"))).json(body)?;
    let n = keys.keys.len();
    let outcome = match objects.client.execute(call).await {
        Ok(response) => decode::<Option<BatchBody<T>>>(&response),
        Err(error) => Err(error),
    };
    Ok(match outcome {
        Ok(Some(body)) => assemble(keys, body.results, result_key, body.errors),
        // 204 No Content (archive): every input done.
        Ok(None) => Vec::new(),
        Err(error) => {
            let error = Arc::new(error);
            (0..n)
                .map(|_| Err(BatchItemError::Request(Arc::clone(&error))))
                .collect()
        }
    })
}

/// Maps results and per-item errors back to inputs, by key, then by position for whatever
/// carried no usable key. Every input gets exactly one result.
fn assemble<T: Clone>(
    keys: &Keys,
    results: Vec<T>,
    result_key: &(dyn Fn(&T) -> Option<String> + Sync),
    errors: Vec<StandardError>,
) -> Vec<Result<T, BatchItemError>> {
    let n = keys.keys.len();
    let mut out: Vec<Option<Result<T, BatchItemError>>> = (0..n).map(|_| None).collect();
    let mut positions: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, key) in keys.keys.iter().enumerate() {
        positions.entry(key.as_str()).or_default().push(i);
    }
    let mut stray_results = Vec::new();
    for result in results {
        let matched = result_key(&result)
            .and_then(|key| positions.get(key.as_str()))
            .filter(|at| at.iter().any(|&i| out[i].is_none()));
        match matched {
            Some(at) => {
                for &i in at {
                    out[i] = Some(Ok(result.clone()));
                }
            }
            None => stray_results.push(result),
        }
    }
    let mut stray_errors = Vec::new();
    for error in errors {
        let mut matched = false;
        for key in error.context.get(keys.context).into_iter().flatten() {
            if let Some(at) = positions.get(normalize(key, keys).as_str()) {
                for &i in at {
                    if out[i].is_none() {
                        out[i] = Some(Err(BatchItemError::Item(Box::new(error.clone()))));
                        matched = true;
                    }
                }
            }
        }
        if !matched {
            stray_errors.push(error);
        }
    }
    // Whatever came back without a usable key goes to the unanswered inputs, in order.
    let mut strays = stray_results.into_iter().map(Ok).chain(
        stray_errors
            .into_iter()
            .map(|e| Err(BatchItemError::Item(Box::new(e)))),
    );
    for slot in out.iter_mut().filter(|slot| slot.is_none()) {
        match strays.next() {
            Some(item) => *slot = Some(item),
            None => break,
        }
    }
    let extra = strays.count();
    if extra > 0 {
        tracing::warn!(extra, "hubspot batch response held more items than inputs");
    }
    out.into_iter()
        .map(|slot| slot.unwrap_or(Err(BatchItemError::Missing)))
        .collect()
}

fn normalize(key: &str, keys: &Keys) -> String {
    // Unique properties such as email compare without case.
    if keys.context == "ids" {
        key.to_lowercase()
    } else {
        key.to_owned()
    }
}

fn id_keys(ids: &[String]) -> Keys {
    Keys {
        keys: ids.iter().map(|id| id.to_lowercase()).collect(),
        context: "ids",
    }
}

/// The key of a result: its `id`, or its value of the unique property the inputs named.
fn object_key(id_property: Option<&str>) -> impl Fn(&CrmObject) -> Option<String> + Sync + '_ {
    move |object| match id_property {
        Some(property) if property != "hs_object_id" => {
            object.property(property).map(str::to_lowercase)
        }
        _ => Some(object.id.to_lowercase()),
    }
}

#[derive(Serialize)]
struct Inputs<'a, I: Serialize> {
    inputs: &'a [I],
}

#[derive(Serialize)]
struct IdInput<'a> {
    id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadBody<'a> {
    inputs: Vec<IdInput<'a>>,
    #[serde(flatten)]
    options: &'a BatchReadOptions,
}

fn check_ids(ids: &[String]) -> Result<(), HubSpotError> {
    match ids.iter().position(|id| id.trim().is_empty()) {
        Some(at) => Err(HubSpotError::InvalidInput(format!(
            "batch input {at} has an empty id"
        ))),
        None => Ok(()),
    }
}

fn finish<T>(items: Vec<Result<T, BatchItemError>>, requests: usize) -> BatchResponse<T> {
    BatchResponse { items, requests }
}

pub(super) async fn read(
    objects: &Objects,
    ids: Vec<String>,
    options: &BatchReadOptions,
) -> Result<BatchResponse<CrmObject>, HubSpotError> {
    objects.base_path()?;
    check_ids(&ids)?;
    let mut query = Query::new();
    if options.archived {
        query.push("archived", "true");
    }
    let key = object_key(options.id_property.as_deref());
    let mut items = Vec::with_capacity(ids.len());
    let mut requests = 0;
    for chunk in ids.chunks(BATCH_LIMIT) {
        let body = ReadBody {
            inputs: chunk.iter().map(|id| IdInput { id }).collect(),
            options,
        };
        let keys = id_keys(chunk);
        requests += 1;
        items.extend(
            send_chunk(
                objects,
                "read",
                query.as_str(),
                &body,
                |call| call.idempotent().cacheable(),
                &keys,
                &key,
            )
            .await?,
        );
    }
    Ok(finish(items, requests))
}

pub(super) async fn create(
    objects: &Objects,
    mut inputs: Vec<ObjectInput>,
) -> Result<BatchResponse<CrmObject>, HubSpotError> {
    objects.base_path()?;
    for (i, input) in inputs.iter_mut().enumerate() {
        input
            .object_write_trace_id
            .get_or_insert_with(|| i.to_string());
    }
    let trace_key = |object: &CrmObject| {
        object.extra.get("objectWriteTraceId").and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| Some(v.to_string()))
        })
    };
    let mut items = Vec::with_capacity(inputs.len());
    let mut requests = 0;
    for chunk in inputs.chunks(BATCH_LIMIT) {
        let keys = Keys {
            keys: chunk
                .iter()
                .map(|input| input.object_write_trace_id.clone().unwrap_or_default())
                .collect(),
            context: "objectWriteTraceId",
        };
        requests += 1;
        items.extend(
            send_chunk(
                objects,
                "create",
                "",
                &Inputs { inputs: chunk },
                |call| call,
                &keys,
                &trace_key,
            )
            .await?,
        );
    }
    Ok(finish(items, requests))
}

pub(super) async fn update(
    objects: &Objects,
    inputs: Vec<BatchUpdateInput>,
) -> Result<BatchResponse<CrmObject>, HubSpotError> {
    objects.base_path()?;
    let ids: Vec<String> = inputs.iter().map(|input| input.id.clone()).collect();
    check_ids(&ids)?;
    let mut items = Vec::with_capacity(inputs.len());
    let mut requests = 0;
    for chunk in inputs.chunks(BATCH_LIMIT) {
        let ids: Vec<String> = chunk.iter().map(|input| input.id.clone()).collect();
        let keys = id_keys(&ids);
        // Inputs may mix ids and unique values; a result matches by either.
        let properties: Vec<&str> = chunk
            .iter()
            .filter_map(|input| input.id_property.as_deref())
            .collect();
        let key = |object: &CrmObject| {
            let id = object.id.to_lowercase();
            if keys.keys.contains(&id) {
                return Some(id);
            }
            properties
                .iter()
                .find_map(|p| object.property(p))
                .map(str::to_lowercase)
        };
        requests += 1;
        let results = send_chunk(
            objects,
            "update",
            "",
            &Inputs { inputs: chunk },
            |call| call,
            &keys,
            &key,
        )
        .await?;
        let changed: Vec<&str> = chunk
            .iter()
            .map(|input| input.id.as_str())
            .chain(results.iter().flatten().map(|object| object.id.as_str()))
            .collect();
        objects
            .client
            .invalidate_many(&objects.object_type, &changed);
        items.extend(results);
    }
    Ok(finish(items, requests))
}

pub(super) async fn upsert(
    objects: &Objects,
    inputs: Vec<BatchUpsertInput>,
) -> Result<BatchResponse<UpsertedObject>, HubSpotError> {
    objects.base_path()?;
    let ids: Vec<String> = inputs.iter().map(|input| input.id.clone()).collect();
    check_ids(&ids)?;
    let mut items = Vec::with_capacity(inputs.len());
    let mut requests = 0;
    for chunk in inputs.chunks(BATCH_LIMIT) {
        let ids: Vec<String> = chunk.iter().map(|input| input.id.clone()).collect();
        let keys = id_keys(&ids);
        let properties: Vec<&str> = chunk
            .iter()
            .map(|input| input.id_property.as_str())
            .collect();
        let key = |upserted: &UpsertedObject| {
            properties
                .iter()
                .find_map(|p| upserted.object.property(p))
                .map(str::to_lowercase)
        };
        requests += 1;
        let results = send_chunk(
            objects,
            "upsert",
            "",
            &Inputs { inputs: chunk },
            |call| call,
            &keys,
            &key,
        )
        .await?;
        let changed: Vec<&str> = results
            .iter()
            .flatten()
            .map(|upserted| upserted.object.id.as_str())
            .collect();
        objects
            .client
            .invalidate_many(&objects.object_type, &changed);
        items.extend(results);
    }
    Ok(finish(items, requests))
}

pub(super) async fn archive(
    objects: &Objects,
    ids: Vec<String>,
) -> Result<BatchResponse<()>, HubSpotError> {
    objects.base_path()?;
    check_ids(&ids)?;
    let mut items = Vec::with_capacity(ids.len());
    let mut requests = 0;
    for chunk in ids.chunks(BATCH_LIMIT) {
        let body = Inputs {
            inputs: &chunk.iter().map(|id| IdInput { id }).collect::<Vec<_>>(),
        };
        let keys = id_keys(chunk);
        requests += 1;
        let results = send_chunk::<(), _>(
            objects,
            "archive",
            "",
            &body,
            |call| call,
            &keys,
            &|_: &()| None,
        )
        .await?;
        let changed: Vec<&str> = chunk.iter().map(String::as_str).collect();
        objects
            .client
            .invalidate_many(&objects.object_type, &changed);
        if results.is_empty() {
            items.extend(chunk.iter().map(|_| Ok(())));
        } else {
            items.extend(results);
        }
    }
    Ok(finish(items, requests))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: &str, email: &str) -> CrmObject {
        serde_json::from_value(serde_json::json!({
            "id": id, "properties": {"email": email}, "archived": false
        }))
        .unwrap()
    }

    fn not_found(ids: &[&str]) -> StandardError {
        serde_json::from_value(serde_json::json!({
            "status": "error", "category": "OBJECT_NOT_FOUND", "message": "missing",
            "context": {"ids": ids}
        }))
        .unwrap()
    }

    #[test]
    fn results_and_errors_map_back_by_id() {
        let keys = id_keys(&["1".into(), "2".into(), "3".into(), "1".into()]);
        let key = object_key(None);
        let out = assemble(
            &keys,
            vec![object("3", "c@x"), object("1", "a@x")],
            &key,
            vec![not_found(&["2"])],
        );
        assert_eq!(out[0].as_ref().unwrap().id, "1");
        assert!(out[1].as_ref().unwrap_err().is_not_found());
        assert_eq!(out[2].as_ref().unwrap().id, "3");
        assert_eq!(
            out[3].as_ref().unwrap().id,
            "1",
            "duplicates share a result"
        );
    }

    #[test]
    fn unique_property_keys_ignore_case() {
        let keys = id_keys(&["Ada@Example.com".into(), "bob@example.com".into()]);
        let key = object_key(Some("email"));
        let out = assemble(
            &keys,
            vec![object("10", "ada@example.com")],
            &key,
            vec![not_found(&["BOB@example.com"])],
        );
        assert_eq!(out[0].as_ref().unwrap().id, "10");
        assert!(out[1].is_err());
    }

    #[test]
    fn unmatched_items_fill_unanswered_inputs_and_missing_ones_are_reported() {
        let keys = id_keys(&["1".into(), "2".into(), "3".into()]);
        let no_key = |_: &CrmObject| None;
        let mut context_free = not_found(&[]);
        context_free.context.clear();
        let out = assemble(&keys, vec![object("9", "z@x")], &no_key, vec![context_free]);
        assert_eq!(out[0].as_ref().unwrap().id, "9");
        assert!(matches!(out[1], Err(BatchItemError::Item(_))));
        assert!(matches!(out[2], Err(BatchItemError::Missing)));
    }
}
