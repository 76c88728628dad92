//! `POST /crm/v3/objects/{type}/search`: filter groups, one sort, free-text query, `after`
//! paging and the documented limits (200 per page, 10,000 results, 3,000-character body,
//! 5 groups / 10 filters per group / 25 filters).

use std::cmp::Ordering;

use bytes::Bytes;
use serde_json::{Value, json};

use super::error;
use super::objects::select_props;
use super::store::{ObjectType, Record};
use crate::reply::Reply;
use crate::state::Shared;
use crate::util::parse_time_ms;

/// Largest page.
pub(crate) const MAX_LIMIT: usize = 200;
/// Results reachable by paging.
pub(crate) const MAX_RESULTS: usize = 10_000;
/// Largest request body, in characters.
pub(crate) const MAX_BODY_CHARS: usize = 3_000;
/// Filter limits (HubSpot changelog, effective 2024-08-26).
pub(crate) const MAX_GROUPS: usize = 5;
pub(crate) const MAX_FILTERS_PER_GROUP: usize = 10;
pub(crate) const MAX_FILTERS: usize = 25;

#[derive(Debug)]
enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

#[derive(Debug)]
struct Filter {
    property: String,
    op: Operator,
    value: Option<String>,
    high: Option<String>,
    values: Vec<String>,
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_filter(ty: ObjectType, f: &Value) -> Result<Filter, String> {
    let property = f
        .get("propertyName")
        .and_then(Value::as_str)
        .ok_or("filter is missing propertyName")?
        .to_owned();
    if !ty.known_properties().contains(&property.as_str()) {
        return Err(format!(
            "There was a problem with the request. Property \"{property}\" does not exist"
        ));
    }
    let op_name = f.get("operator").and_then(Value::as_str).unwrap_or("EQ");
    let op = match op_name {
        "EQ" => Operator::Eq,
        "NEQ" => Operator::Neq,
        "GT" => Operator::Gt,
        "GTE" => Operator::Gte,
        "LT" => Operator::Lt,
        "LTE" => Operator::Lte,
        "BETWEEN" => Operator::Between,
        "IN" => Operator::In,
        "NOT_IN" => Operator::NotIn,
        "HAS_PROPERTY" => Operator::HasProperty,
        "NOT_HAS_PROPERTY" => Operator::NotHasProperty,
        "CONTAINS_TOKEN" => Operator::ContainsToken,
        "NOT_CONTAINS_TOKEN" => Operator::NotContainsToken,
        other => return Err(format!("Unknown operator: {other}")),
    };
    let value = f.get("value").and_then(as_text);
    let high = f.get("highValue").and_then(as_text);
    let values: Vec<String> = f
        .get("values")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(as_text).collect())
        .unwrap_or_default();
    let needs_value = !matches!(
        op,
        Operator::HasProperty | Operator::NotHasProperty | Operator::In | Operator::NotIn
    );
    if needs_value && value.is_none() {
        return Err(format!(
            "filter on {property} with operator {op_name} requires a value"
        ));
    }
    if matches!(op, Operator::Between) && high.is_none() {
        return Err(format!(
            "filter on {property} with operator BETWEEN requires highValue"
        ));
    }
    if matches!(op, Operator::In | Operator::NotIn) && values.is_empty() {
        return Err(format!(
            "filter on {property} with operator {op_name} requires values"
        ));
    }
    Ok(Filter {
        property,
        op,
        value,
        high,
        values,
    })
}

/// Compares two property values: as numbers or dates when both parse, else case-insensitively.
fn compare(a: &str, b: &str) -> Ordering {
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    match (parse_time_ms(a), parse_time_ms(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
    }
}

fn tokens(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(pos) = rest.find(part) {
            rest = &rest[pos + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

fn contains_token(value: &str, wanted: &str) -> bool {
    let v = value.to_lowercase();
    let w = wanted.to_lowercase();
    if w.contains('*') {
        glob(&w, &v) || tokens(&v).any(|t| glob(&w, &t))
    } else {
        v == w || tokens(&v).any(|t| t == w)
    }
}

fn matches(rec: &Record, f: &Filter) -> bool {
    let val = rec.props.get(&f.property).filter(|v| !v.is_empty());
    let v = f.value.as_deref().unwrap_or("");
    match (&f.op, val) {
        (Operator::HasProperty, x) => x.is_some(),
        (Operator::NotHasProperty, x) => x.is_none(),
        (Operator::Neq, None) | (Operator::NotIn, None) | (Operator::NotContainsToken, None) => {
            true
        }
        (_, None) => false,
        (Operator::Eq, Some(x)) => compare(x, v) == Ordering::Equal,
        (Operator::Neq, Some(x)) => compare(x, v) != Ordering::Equal,
        (Operator::Gt, Some(x)) => compare(x, v) == Ordering::Greater,
        (Operator::Gte, Some(x)) => compare(x, v) != Ordering::Less,
        (Operator::Lt, Some(x)) => compare(x, v) == Ordering::Less,
        (Operator::Lte, Some(x)) => compare(x, v) != Ordering::Greater,
        (Operator::Between, Some(x)) => {
            compare(x, v) != Ordering::Less
                && compare(x, f.high.as_deref().unwrap_or("")) != Ordering::Greater
        }
        (Operator::In, Some(x)) => f.values.iter().any(|w| compare(x, w) == Ordering::Equal),
        (Operator::NotIn, Some(x)) => f.values.iter().all(|w| compare(x, w) != Ordering::Equal),
        (Operator::ContainsToken, Some(x)) => contains_token(x, v),
        (Operator::NotContainsToken, Some(x)) => !contains_token(x, v),
    }
}

fn searchable(ty: ObjectType) -> &'static [&'static str] {
    match ty {
        ObjectType::Contacts => &["firstname", "lastname", "email", "phone", "company"],
        ObjectType::Companies => &["name", "domain", "phone", "website"],
        ObjectType::Deals => &["dealname"],
        ObjectType::Custom(d) => &d.searchable,
    }
}

fn query_matches(ty: ObjectType, rec: &Record, words: &[String]) -> bool {
    words.iter().all(|w| {
        searchable(ty).iter().any(|p| {
            rec.props.get(p).is_some_and(|v| {
                v.to_lowercase().starts_with(w.as_str())
                    || tokens(v).any(|t| t.starts_with(w.as_str()))
            })
        })
    })
}

pub(super) fn search(shared: &Shared, ty: ObjectType, body: &Bytes) -> Reply {
    let chars = String::from_utf8_lossy(body).chars().count();
    if chars > MAX_BODY_CHARS {
        return error::validation(
            shared,
            &format!("Search request body is {chars} characters; the maximum is {MAX_BODY_CHARS}"),
        );
    }
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return error::invalid_json(shared, &e),
        }
    };
    let limit = match v.get("limit") {
        None | Some(Value::Null) => 10,
        Some(l) => match l.as_u64() {
            Some(n) if n as usize <= MAX_LIMIT => (n as usize).max(1),
            Some(n) => {
                return error::validation(
                    shared,
                    &format!("limit must be less than or equal to {MAX_LIMIT}, got {n}"),
                );
            }
            None => return error::validation(shared, "limit must be an integer"),
        },
    };
    let after = match v.get("after") {
        None | Some(Value::Null) => 0,
        Some(a) => match as_text(a).and_then(|s| s.trim().parse::<usize>().ok()) {
            Some(n) => n,
            None => return error::validation(shared, "after must be an integer offset"),
        },
    };
    if after >= MAX_RESULTS {
        return error::with(
            shared,
            400,
            "VALIDATION_ERROR",
            &format!(
                "The maximum number of results a search can page through is {MAX_RESULTS}; after={after} is beyond it"
            ),
            json!({"context": {"after": [after.to_string()]}}),
        );
    }
    let groups_v: Vec<Value> = v
        .get("filterGroups")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if groups_v.len() > MAX_GROUPS {
        return error::validation(
            shared,
            &format!(
                "Too many filter groups: {}; the maximum is {MAX_GROUPS}",
                groups_v.len()
            ),
        );
    }
    let mut groups: Vec<Vec<Filter>> = Vec::new();
    let mut total_filters = 0;
    for g in &groups_v {
        let fs = g
            .get("filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if fs.len() > MAX_FILTERS_PER_GROUP {
            return error::validation(
                shared,
                &format!(
                    "Too many filters in a group: {}; the maximum is {MAX_FILTERS_PER_GROUP}",
                    fs.len()
                ),
            );
        }
        total_filters += fs.len();
        let mut parsed = Vec::new();
        for f in &fs {
            match parse_filter(ty, f) {
                Ok(f) => parsed.push(f),
                Err(m) => return error::validation(shared, &m),
            }
        }
        groups.push(parsed);
    }
    if total_filters > MAX_FILTERS {
        return error::validation(
            shared,
            &format!("Too many filters: {total_filters}; the maximum is {MAX_FILTERS}"),
        );
    }
    let sorts: Vec<(String, bool)> = v
        .get("sorts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| match s {
                    Value::String(p) => Some(match p.strip_prefix('-') {
                        Some(p) => (p.to_owned(), false),
                        None => (p.clone(), true),
                    }),
                    Value::Object(o) => Some((
                        o.get("propertyName")?.as_str()?.to_owned(),
                        o.get("direction").and_then(Value::as_str) != Some("DESCENDING"),
                    )),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if sorts.len() > 1 {
        return error::validation(shared, "Only one sorting rule can be applied to any search");
    }
    let query = v.get("query").and_then(Value::as_str).unwrap_or("");
    let words: Vec<String> = tokens(query).collect();
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

    let crm = shared.crm.lock();
    let mut hits: Vec<&Record> = crm
        .of(ty)
        .records
        .values()
        .filter(|r| r.archived_at.is_none())
        .filter(|r| groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| matches(r, f))))
        .filter(|r| words.is_empty() || query_matches(ty, r, &words))
        .collect();
    if let Some((prop, asc)) = sorts.first() {
        hits.sort_by(|a, b| {
            let ord = match (a.props.get(prop), b.props.get(prop)) {
                (Some(x), Some(y)) => compare(x, y),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            let ord = if *asc { ord } else { ord.reverse() };
            ord.then(a.id.cmp(&b.id))
        });
    }
    let total = hits.len();
    let end = (after + limit).min(total).min(MAX_RESULTS);
    let results: Vec<Value> = hits
        .get(after.min(end)..end)
        .unwrap_or(&[])
        .iter()
        .map(|r| r.to_json(Some(&props)))
        .collect();
    let mut out = json!({ "total": total, "results": results });
    if end < total.min(MAX_RESULTS) {
        out["paging"] = json!({"next": {"after": end.to_string()}});
    }
    Reply::json(200, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_wildcards() {
        assert!(contains_token("jon@hubspot.com", "*@hubspot.com"));
        assert!(contains_token("Jon Smith", "smith"));
        assert!(!contains_token("Jon Smith", "smit"));
        assert!(glob("a*c", "abbc"));
    }

    #[test]
    fn compares_numbers_and_dates() {
        assert_eq!(compare("10", "9"), Ordering::Greater);
        assert_eq!(
            compare("2024-01-02T00:00:00.000Z", "1704067200000"),
            Ordering::Greater
        );
        assert_eq!(compare("Lead", "lead"), Ordering::Equal);
    }
}
