//! CRM v3 object endpoints: list, get, create, update, archive and the batch family.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;
use serde_json::{Value, json};

use super::BatchOp;
use super::error::{self, PropError};
use super::store::{CrmStore, ObjectRef, ObjectStore, ObjectType, Props, Record};
use crate::reply::Reply;
use crate::seed::LIFECYCLE_STAGES;
use crate::state::Shared;
use crate::util::iso_ms;

/// Maximum inputs per batch request.
pub(crate) const MAX_BATCH: usize = 100;

type Query = BTreeMap<String, Vec<String>>;

fn first<'a>(q: &'a Query, k: &str) -> Option<&'a str> {
    q.get(k).and_then(|v| v.first()).map(String::as_str)
}

fn flag(q: &Query, k: &str) -> bool {
    first(q, k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The `properties` to return: the named known ones, or the type's defaults.
pub(crate) fn select_props(ty: ObjectType, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let known = ty.known_properties();
    let mut seen = HashSet::new();
    let picked: Vec<String> = names
        .into_iter()
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|n| known.contains(&n.as_str()) && seen.insert(n.clone()))
        .collect();
    if picked.is_empty() {
        ty.default_properties()
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    } else {
        picked
    }
}

fn query_props(ty: ObjectType, q: &Query) -> Vec<String> {
    select_props(ty, q.get("properties").cloned().unwrap_or_default())
}

/// The known properties named for `propertiesWithHistory` (no defaults: none named, none sent).
fn history_props(ty: ObjectType, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let known = ty.known_properties();
    let mut seen = HashSet::new();
    names
        .into_iter()
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|n| known.contains(&n.as_str()) && seen.insert(n.clone()))
        .collect()
}

/// The `associations` query parameter: object types, each a name or an id. An unknown one is
/// the 400 HubSpot sends (`Unable to infer object type from: …`).
fn query_associations(shared: &Shared, q: &Query) -> Result<Vec<ObjectType>, Reply> {
    let mut out = Vec::new();
    for name in q
        .get("associations")
        .into_iter()
        .flatten()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let ty = ObjectType::resolve(name, &shared.custom_types).ok_or_else(|| {
            error::validation(shared, &format!("Unable to infer object type from: {name}"))
        })?;
        if !out.contains(&ty) {
            out.push(ty);
        }
    }
    Ok(out)
}

/// What a read returns besides `properties`.
struct Extras {
    history: Vec<String>,
    associations: Vec<ObjectType>,
}

impl Extras {
    fn from_query(shared: &Shared, ty: ObjectType, q: &Query) -> Result<Self, Reply> {
        Ok(Self {
            history: history_props(
                ty,
                q.get("propertiesWithHistory").cloned().unwrap_or_default(),
            ),
            associations: query_associations(shared, q)?,
        })
    }

    fn render(&self, crm: &CrmStore, ty: ObjectType, rec: &Record, props: &[String]) -> Value {
        let mut j = rec.to_json(Some(props));
        if !self.history.is_empty() {
            j["propertiesWithHistory"] = rec.history_json(ty, &self.history);
        }
        if !self.associations.is_empty() {
            let a = crm.associations_json((ty, rec.id), &self.associations);
            if a.as_object().is_some_and(|m| !m.is_empty()) {
                j["associations"] = a;
            }
        }
        j
    }
}

fn parse_body(shared: &Shared, body: &Bytes) -> Result<Value, Reply> {
    serde_json::from_slice::<Value>(body).map_err(|e| error::invalid_json(shared, &e))
}

fn value_to_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Validates a `properties` object for a write. Empty strings clear a property.
fn check_props(
    ty: ObjectType,
    props: Option<&Value>,
) -> Result<Vec<(String, String)>, Vec<PropError>> {
    let Some(map) = props.and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (k, v) in map {
        if !ty.known_properties().contains(&k.as_str()) {
            errs.push(PropError {
                name: k.clone(),
                code: "PROPERTY_DOESNT_EXIST",
                message: format!("Property \"{k}\" does not exist"),
            });
            continue;
        }
        if ty.read_only(k) {
            errs.push(PropError {
                name: k.clone(),
                code: "READ_ONLY_VALUE",
                message: format!("{k} is a read only property; its value cannot be set."),
            });
            continue;
        }
        let Some(s) = value_to_string(v) else {
            errs.push(PropError {
                name: k.clone(),
                code: "INVALID_TYPE",
                message: format!("Property \"{k}\" must be a string, number or boolean"),
            });
            continue;
        };
        if !s.is_empty() {
            if k == "email" && (!s.contains('@') || s.contains(' ') || s.ends_with('@')) {
                errs.push(PropError {
                    name: k.clone(),
                    code: "INVALID_EMAIL",
                    message: format!("Email address {s} is invalid"),
                });
                continue;
            }
            if k == "lifecyclestage" && !LIFECYCLE_STAGES.contains(&s.as_str()) {
                errs.push(PropError {
                    name: k.clone(),
                    code: "INVALID_OPTION",
                    message: format!(
                        "{s} was not one of the allowed options: [{}]",
                        LIFECYCLE_STAGES.join(", ")
                    ),
                });
                continue;
            }
            if (k == "amount" || k == "numberofemployees") && s.parse::<f64>().is_err() {
                errs.push(PropError {
                    name: k.clone(),
                    code: "INVALID_INTEGER",
                    message: format!("{s} is not a valid number"),
                });
                continue;
            }
        }
        out.push((k.clone(), s));
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn apply(rec: &mut Record, ty: ObjectType, props: &[(String, String)], now: i64) {
    for (k, v) in props {
        rec.note_write(ty, k, v, now);
        if v.is_empty() {
            rec.props.remove(k);
        } else {
            rec.props.insert(k, v.clone());
        }
    }
    rec.updated_ms = now;
    rec.props.insert(ty.last_modified_property(), iso_ms(now));
}

fn new_record(
    store: &mut ObjectStore,
    ty: ObjectType,
    props: &[(String, String)],
    now: i64,
) -> Record {
    let id = store.next_id.max(1);
    store.next_id = id + 1;
    let mut rec = Record {
        id,
        props: Props::default(),
        created_ms: now,
        updated_ms: now,
        archived_at: None,
        history: Vec::new(),
    };
    rec.props.insert(ty.created_property(), iso_ms(now));
    rec.props.insert("hs_object_id", id.to_string());
    apply(&mut rec, ty, props, now);
    rec
}

/// The unique-property value a write would set, if it collides with another live record.
fn conflict(
    store: &ObjectStore,
    ty: ObjectType,
    props: &[(String, String)],
    self_id: Option<u64>,
) -> Option<u64> {
    let u = ty.unique_property()?;
    let (_, v) = props.iter().find(|(k, v)| k == u && !v.is_empty())?;
    store
        .unique
        .get(&v.to_ascii_lowercase())
        .copied()
        .filter(|id| Some(*id) != self_id)
}

fn conflict_reply(shared: &Shared, ty: ObjectType, existing: u64) -> Reply {
    let noun = match ty {
        ObjectType::Contacts => "Contact",
        ObjectType::Companies => "Company",
        ObjectType::Deals => "Deal",
        ObjectType::Custom(_) => "Object",
    };
    error::with(
        shared,
        409,
        "CONFLICT",
        &format!("{noun} already exists. Existing ID: {existing}"),
        json!({}),
    )
}

/// How an `id` is resolved: by `hs_object_id` or by the unique property.
fn by_unique(shared: &Shared, ty: ObjectType, id_property: Option<&str>) -> Result<bool, Reply> {
    match id_property {
        None | Some("") | Some("hs_object_id") => Ok(false),
        Some(p) if ty.unique_property() == Some(p) => Ok(true),
        Some(p) => Err(error::validation(
            shared,
            &format!("{p} is not a unique property of {}", ty.name()),
        )),
    }
}

pub(super) fn list(shared: &Shared, ty: ObjectType, q: &Query) -> Reply {
    let max = shared.config.hubspot.max_list_limit.max(1) as usize;
    let limit = match first(q, "limit").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(n)) => n.clamp(1, max),
        Some(Err(_)) => return error::validation(shared, "limit must be an integer"),
    };
    let after = match first(q, "after").map(|a| a.trim().parse::<u64>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return error::validation(shared, "after is not a valid paging cursor");
        }
    };
    let archived = flag(q, "archived");
    let props = query_props(ty, q);
    let extras = match Extras::from_query(shared, ty, q) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let crm = shared.crm.lock();
    let mut page = crm
        .of(ty)
        .records
        .range(after..)
        .map(|(_, r)| r)
        .filter(|r| r.archived_at.is_some() == archived)
        .take(limit + 1);
    let results: Vec<Value> = page
        .by_ref()
        .take(limit)
        .map(|r| extras.render(&crm, ty, r, &props))
        .collect();
    let next = page.next().map(|r| r.id);
    let mut out = json!({ "results": results });
    if let Some(n) = next {
        out["paging"] = json!({"next": {"after": n.to_string(), "link": format!("?after={n}")}});
    }
    Reply::json(200, &out)
}

pub(super) fn get(shared: &Shared, ty: ObjectType, id: &str, q: &Query) -> Reply {
    let unique = match by_unique(shared, ty, first(q, "idProperty")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let props = query_props(ty, q);
    let extras = match Extras::from_query(shared, ty, q) {
        Ok(e) => e,
        Err(r) => return r,
    };
    let crm = shared.crm.lock();
    match crm.of(ty).find(id, unique, flag(q, "archived")) {
        Some(r) => Reply::json(200, &extras.render(&crm, ty, r, &props)),
        None => error::not_found(shared),
    }
}

/// The object type a HubSpot-defined association type id leads to from `from`
/// (`SimplePublicObjectInputForCreate.associations[].types[].associationTypeId`).
fn association_target(from: ObjectType, type_id: u64) -> Option<ObjectType> {
    use ObjectType::{Companies, Contacts, Deals};
    match (from, type_id) {
        (Contacts, 1 | 279) | (Deals, 5 | 341) => Some(Companies),
        (Companies, 2 | 280) | (Deals, 3) => Some(Contacts),
        (Contacts, 4) | (Companies, 6 | 342) => Some(Deals),
        _ => None,
    }
}

/// Validates the `associations` of a create input against live records.
fn create_associations(
    crm: &CrmStore,
    ty: ObjectType,
    v: Option<&Value>,
) -> Result<Vec<ObjectRef>, String> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("associations must be an array".to_owned()),
    };
    let mut out = Vec::new();
    for (i, a) in items.iter().enumerate() {
        let to_id = a
            .get("to")
            .and_then(|t| t.get("id"))
            .and_then(id_string)
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("associations[{i}].to.id is required"))?;
        let types = a
            .get("types")
            .and_then(Value::as_array)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("associations[{i}].types is required"))?;
        for t in types {
            let type_id = t
                .get("associationTypeId")
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    format!("associations[{i}].types[].associationTypeId is required")
                })?;
            let target = association_target(ty, type_id).ok_or_else(|| {
                format!(
                    "{type_id} is not a valid association type id from {}",
                    ty.name()
                )
            })?;
            let live = crm
                .of(target)
                .records
                .get(&to_id)
                .is_some_and(|r| r.archived_at.is_none());
            if !live {
                return Err(format!(
                    "associations[{i}]: {} {to_id} does not exist",
                    target.upper()
                ));
            }
            out.push((target, to_id));
        }
    }
    Ok(out)
}

pub(super) fn create(shared: &Shared, ty: ObjectType, body: &Bytes) -> Reply {
    let v = match parse_body(shared, body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let props = match check_props(ty, v.get("properties")) {
        Ok(p) => p,
        Err(errs) => return error::invalid_properties(shared, &errs),
    };
    let now = shared.clock.now_ms();
    let mut crm = shared.crm.lock();
    let links = match create_associations(&crm, ty, v.get("associations")) {
        Ok(l) => l,
        Err(m) => return error::validation(shared, &m),
    };
    let store = crm.of_mut(ty);
    if let Some(existing) = conflict(store, ty, &props, None) {
        return conflict_reply(shared, ty, existing);
    }
    let rec = new_record(store, ty, &props, now);
    let json = rec.to_json(None);
    let id = rec.id;
    store.insert(ty, rec);
    store.reindex(ty, id, None);
    for l in links {
        crm.link((ty, id), l);
    }
    Reply::json(201, &json)
}

pub(super) fn update(shared: &Shared, ty: ObjectType, id: &str, q: &Query, body: &Bytes) -> Reply {
    let unique = match by_unique(shared, ty, first(q, "idProperty")) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let v = match parse_body(shared, body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let props = match check_props(ty, v.get("properties")) {
        Ok(p) => p,
        Err(errs) => return error::invalid_properties(shared, &errs),
    };
    let now = shared.clock.now_ms();
    let mut crm = shared.crm.lock();
    let store = crm.of_mut(ty);
    let Some(rid) = store.find(id, unique, false).map(|r| r.id) else {
        return error::not_found(shared);
    };
    if let Some(existing) = conflict(store, ty, &props, Some(rid)) {
        return conflict_reply(shared, ty, existing);
    }
    update_in_place(store, ty, rid, &props, now)
        .map_or_else(|| error::not_found(shared), |j| Reply::json(200, &j))
}

fn update_in_place(
    store: &mut ObjectStore,
    ty: ObjectType,
    rid: u64,
    props: &[(String, String)],
    now: i64,
) -> Option<Value> {
    let old_unique = ty
        .unique_property()
        .and_then(|u| store.records.get(&rid)?.props.get(u).cloned());
    let rec = store.records.get_mut(&rid)?;
    apply(rec, ty, props, now);
    let json = rec.to_json(None);
    store.reindex(ty, rid, old_unique.as_deref());
    Some(json)
}

fn archive_in_place(store: &mut ObjectStore, ty: ObjectType, rid: u64, now: i64) {
    let old = ty
        .unique_property()
        .and_then(|u| store.records.get(&rid)?.props.get(u).cloned());
    if let Some(rec) = store.records.get_mut(&rid)
        && rec.archived_at.is_none()
    {
        rec.archived_at = Some(now);
        rec.updated_ms = now;
        store.reindex(ty, rid, old.as_deref());
    }
}

pub(super) fn archive(shared: &Shared, ty: ObjectType, id: &str) -> Reply {
    let now = shared.clock.now_ms();
    let mut crm = shared.crm.lock();
    let store = crm.of_mut(ty);
    if let Some(rid) = store.find(id, false, false).map(|r| r.id) {
        archive_in_place(store, ty, rid, now);
    }
    Reply::empty(204)
}

// ===== batch =====

struct BatchOut {
    results: Vec<Value>,
    errors: Vec<Value>,
}

fn batch_reply(shared: &Shared, ok_status: u16, started: i64, out: BatchOut) -> Reply {
    let mut body = json!({
        "status": "COMPLETE",
        "results": out.results,
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(shared.clock.now_ms()),
    });
    if out.errors.is_empty() {
        Reply::json(ok_status, &body)
    } else {
        body["numErrors"] = json!(out.errors.len());
        body["errors"] = Value::Array(out.errors);
        Reply::json(207, &body)
    }
}

fn standard_error(category: &str, message: &str, context: Value) -> Value {
    json!({
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    })
}

fn not_found_error(ty: ObjectType, verb: &str, ids: &[String]) -> Value {
    standard_error(
        "OBJECT_NOT_FOUND",
        &format!(
            "Could not {verb} some {} objects, they may be deleted or not exist. Check that ids are valid.",
            ty.upper()
        ),
        json!({ "ids": ids }),
    )
}

fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn duplicates(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut dups: Vec<String> = ids
        .iter()
        .filter(|i| !seen.insert(i.to_ascii_lowercase()))
        .cloned()
        .collect();
    dups.dedup();
    dups
}

pub(super) fn batch(
    shared: &Shared,
    ty: ObjectType,
    op: BatchOp,
    q: &Query,
    body: &Bytes,
) -> Reply {
    let started = shared.clock.now_ms();
    let v = match parse_body(shared, body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(inputs) = v.get("inputs").and_then(Value::as_array) else {
        return error::with(
            shared,
            400,
            "VALIDATION_ERROR",
            "Invalid input JSON: inputs is required and must be an array",
            json!({"errors": [{"message": "inputs is required", "in": "inputs"}]}),
        );
    };
    if inputs.len() > MAX_BATCH {
        return error::with(
            shared,
            400,
            "VALIDATION_ERROR",
            &format!(
                "Too many inputs: {}. Batch operations are limited to {MAX_BATCH} inputs per request.",
                inputs.len()
            ),
            json!({"context": {"inputs": [inputs.len().to_string()]}}),
        );
    }
    let ids: Vec<Option<String>> = inputs
        .iter()
        .map(|i| i.get("id").and_then(id_string))
        .collect();
    if matches!(
        op,
        BatchOp::Read | BatchOp::Update | BatchOp::Upsert | BatchOp::Archive
    ) && let Some(pos) = ids.iter().position(Option::is_none)
    {
        return error::validation(
            shared,
            &format!("Invalid input JSON: inputs[{pos}].id is required"),
        );
    }
    let ids: Vec<String> = ids.into_iter().flatten().collect();
    if matches!(op, BatchOp::Update | BatchOp::Upsert) {
        let dups = duplicates(&ids);
        if !dups.is_empty() {
            return error::validation(
                shared,
                &format!(
                    "Duplicate IDs found in batch input: [{}]. IDs must be unique",
                    dups.join(", ")
                ),
            );
        }
    }
    match op {
        BatchOp::Read => batch_read(shared, ty, &v, q, &ids, started),
        BatchOp::Create => batch_create(shared, ty, inputs, started),
        BatchOp::Update => batch_update(shared, ty, inputs, &ids, started),
        BatchOp::Upsert => batch_upsert(shared, ty, inputs, &ids, started),
        BatchOp::Archive => {
            let now = shared.clock.now_ms();
            let mut crm = shared.crm.lock();
            let store = crm.of_mut(ty);
            for id in &ids {
                if let Some(rid) = store.find(id, false, false).map(|r| r.id) {
                    archive_in_place(store, ty, rid, now);
                }
            }
            Reply::empty(204)
        }
    }
}

fn batch_read(
    shared: &Shared,
    ty: ObjectType,
    v: &Value,
    q: &Query,
    ids: &[String],
    started: i64,
) -> Reply {
    let unique = match by_unique(shared, ty, v.get("idProperty").and_then(Value::as_str)) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let names: Vec<String> = v
        .get("properties")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let props = select_props(ty, names);
    let history: Vec<String> = history_props(
        ty,
        v.get("propertiesWithHistory")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    // batch read cannot return associations (HubSpot's docs)
    let extras = Extras {
        history,
        associations: Vec::new(),
    };
    let archived = flag(q, "archived");
    let crm = shared.crm.lock();
    let store = crm.of(ty);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    for id in ids {
        match store.find(id, unique, archived) {
            Some(r) => {
                if seen.insert(r.id) {
                    results.push(extras.render(&crm, ty, r, &props));
                }
            }
            None => missing.push(id.clone()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(ty, "get", &missing)]
    };
    batch_reply(shared, 200, started, BatchOut { results, errors })
}

fn trace_id(input: &Value) -> Option<String> {
    input
        .get("objectWriteTraceId")
        .and_then(id_string)
        .filter(|s| !s.is_empty())
}

fn batch_create(shared: &Shared, ty: ObjectType, inputs: &[Value], started: i64) -> Reply {
    let now = shared.clock.now_ms();
    let mut crm = shared.crm.lock();
    let links: Vec<Result<Vec<ObjectRef>, String>> = inputs
        .iter()
        .map(|i| create_associations(&crm, ty, i.get("associations")))
        .collect();
    let store = crm.of_mut(ty);
    // validate everything first: without trace ids a single bad input fails the whole batch
    let mut planned = Vec::new();
    let mut failures: Vec<(Option<String>, Reply, Value)> = Vec::new();
    let mut batch_unique: HashSet<String> = HashSet::new();
    for (input, links) in inputs.iter().zip(links) {
        let trace = trace_id(input);
        let links = match links {
            Ok(l) => l,
            Err(m) => {
                let ctx = trace
                    .as_ref()
                    .map_or(json!({}), |t| json!({"objectWriteTraceId": [t]}));
                failures.push((
                    trace.clone(),
                    error::validation(shared, &m),
                    standard_error("VALIDATION_ERROR", &m, ctx),
                ));
                continue;
            }
        };
        match check_props(ty, input.get("properties")) {
            Err(errs) => {
                let (message, _) =
                    error::property_error_parts(shared.config.hubspot.portal_id, &errs);
                let ctx = trace
                    .as_ref()
                    .map_or(json!({}), |t| json!({"objectWriteTraceId": [t]}));
                failures.push((
                    trace.clone(),
                    error::invalid_properties(shared, &errs),
                    standard_error("VALIDATION_ERROR", &message, ctx),
                ));
            }
            Ok(props) => {
                let dup_in_batch = ty.unique_property().and_then(|u| {
                    let (_, v) = props.iter().find(|(k, v)| k == u && !v.is_empty())?;
                    (!batch_unique.insert(v.to_ascii_lowercase())).then_some(0)
                });
                if let Some(existing) = conflict(store, ty, &props, None).or(dup_in_batch) {
                    let message = format!("{} already exists. Existing ID: {existing}", ty.upper());
                    let ctx = trace
                        .as_ref()
                        .map_or(json!({}), |t| json!({"objectWriteTraceId": [t]}));
                    failures.push((
                        trace.clone(),
                        conflict_reply(shared, ty, existing),
                        standard_error("CONFLICT", &message, ctx),
                    ));
                } else {
                    planned.push((props, trace, links));
                }
            }
        }
    }
    if let Some((_, reply, _)) = failures.iter().find(|(t, _, _)| t.is_none()) {
        return reply.clone();
    }
    let mut results = Vec::new();
    let mut made = Vec::new();
    for (props, trace, links) in planned {
        let rec = new_record(store, ty, &props, now);
        let mut j = rec.to_json(None);
        if let Some(t) = trace {
            j["objectWriteTraceId"] = json!(t);
        }
        let id = rec.id;
        store.insert(ty, rec);
        store.reindex(ty, id, None);
        results.push(j);
        made.push((id, links));
    }
    for (id, links) in made {
        for l in links {
            crm.link((ty, id), l);
        }
    }
    let errors = failures.into_iter().map(|(_, _, e)| e).collect();
    batch_reply(shared, 201, started, BatchOut { results, errors })
}

fn batch_update(
    shared: &Shared,
    ty: ObjectType,
    inputs: &[Value],
    ids: &[String],
    started: i64,
) -> Reply {
    let now = shared.clock.now_ms();
    let mut planned = Vec::new();
    for (input, id) in inputs.iter().zip(ids) {
        let unique = match by_unique(shared, ty, input.get("idProperty").and_then(Value::as_str)) {
            Ok(u) => u,
            Err(r) => return r,
        };
        match check_props(ty, input.get("properties")) {
            Ok(p) => planned.push((id.clone(), unique, p, trace_id(input))),
            Err(errs) => return error::invalid_properties(shared, &errs),
        }
    }
    let mut crm = shared.crm.lock();
    let store = crm.of_mut(ty);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for (id, unique, props, trace) in planned {
        let Some(rid) = store.find(&id, unique, false).map(|r| r.id) else {
            missing.push(id);
            continue;
        };
        if let Some(existing) = conflict(store, ty, &props, Some(rid)) {
            return conflict_reply(shared, ty, existing);
        }
        if let Some(mut j) = update_in_place(store, ty, rid, &props, now) {
            if let Some(t) = trace {
                j["objectWriteTraceId"] = json!(t);
            }
            results.push(j);
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(ty, "update", &missing)]
    };
    batch_reply(shared, 200, started, BatchOut { results, errors })
}

fn batch_upsert(
    shared: &Shared,
    ty: ObjectType,
    inputs: &[Value],
    ids: &[String],
    started: i64,
) -> Reply {
    let now = shared.clock.now_ms();
    let mut planned = Vec::new();
    for (input, id) in inputs.iter().zip(ids) {
        let id_prop = input.get("idProperty").and_then(Value::as_str);
        let unique = match by_unique(shared, ty, id_prop) {
            Ok(u) => u,
            Err(r) => return r,
        };
        match check_props(ty, input.get("properties")) {
            Ok(p) => planned.push((id.clone(), unique, p)),
            Err(errs) => return error::invalid_properties(shared, &errs),
        }
    }
    let mut crm = shared.crm.lock();
    let store = crm.of_mut(ty);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for (id, unique, mut props) in planned {
        let mut out = match store.find(&id, unique, false).map(|r| r.id) {
            Some(rid) => {
                if let Some(existing) = conflict(store, ty, &props, Some(rid)) {
                    return conflict_reply(shared, ty, existing);
                }
                let Some(mut j) = update_in_place(store, ty, rid, &props, now) else {
                    continue;
                };
                j["new"] = json!(false);
                j
            }
            None if unique => {
                if let Some(u) = ty.unique_property()
                    && !props.iter().any(|(k, _)| k == u)
                {
                    props.push((u.to_owned(), id.clone()));
                }
                if let Some(existing) = conflict(store, ty, &props, None) {
                    return conflict_reply(shared, ty, existing);
                }
                let rec = new_record(store, ty, &props, now);
                let mut j = rec.to_json(None);
                let rid = rec.id;
                store.insert(ty, rec);
                store.reindex(ty, rid, None);
                j["new"] = json!(true);
                j
            }
            None => {
                missing.push(id);
                continue;
            }
        };
        if let Some(o) = out.as_object_mut() {
            o.remove("archivedAt");
        }
        results.push(out);
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(ty, "upsert", &missing)]
    };
    batch_reply(shared, 200, started, BatchOut { results, errors })
}

/// Properties map → JSON, for tests of the module.
#[cfg(test)]
fn props_json(p: &[(String, String)]) -> serde_json::Map<String, Value> {
    p.iter().map(|(k, v)| (k.clone(), json!(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_read_only_properties_are_rejected() {
        let errs = check_props(
            ObjectType::Contacts,
            Some(&json!({"nope": "x", "hs_object_id": "1", "email": "a@b.c"})),
        )
        .expect_err("invalid");
        let codes: Vec<_> = errs.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["READ_ONLY_VALUE", "PROPERTY_DOESNT_EXIST"]);
        let ok = check_props(
            ObjectType::Contacts,
            Some(&json!({"email": "a@b.c", "phone": 5})),
        )
        .expect("valid");
        assert_eq!(props_json(&ok)["phone"], json!("5"));
    }

    #[test]
    fn select_props_ignores_unknown_names_and_falls_back_to_defaults() {
        assert_eq!(
            select_props(ObjectType::Contacts, ["email,bogus".to_owned()]),
            ["email"]
        );
        assert_eq!(
            select_props(ObjectType::Contacts, ["bogus".to_owned()]).len(),
            6
        );
    }
}
