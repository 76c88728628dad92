//! `integrations hubspot`: get, search, batch-read, upsert (JSON Lines or CSV), archive.

use std::collections::HashMap;
use std::path::Path;

use client_hubspot::{
    BatchItemError, BatchReadOptions, BatchUpsertInput, Filter, FilterGroup, GetOptions, Operator,
    SearchRequest,
};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::read_input;
use crate::app::Context;
use crate::cli::{HubSpotArgs, HubSpotCommand, InputFormat, SearchArgs};
use crate::clients;
use crate::error::{CliError, chain};
use crate::kestra::Metric;
use crate::output::{Report, Status};

/// Runs a HubSpot command.
///
/// # Errors
///
/// [`CliError`] for bad configuration or input, or when the call failed as a whole; per-item
/// failures of batch commands are listed in the report (status partial).
pub async fn run(_ctx: Context, args: HubSpotArgs) -> Result<Report, CliError> {
    let client = clients::hubspot_from_env()?;
    let objects = client.objects(args.object.clone());
    let report = match args.command {
        HubSpotCommand::Get {
            id,
            properties,
            id_property,
        } => {
            let mut options = GetOptions::new().properties(properties);
            if let Some(p) = id_property {
                options = options.id_property(p);
            }
            let object = objects
                .get(&id, &options)
                .await
                .map_err(|e| CliError::failed(format!("hubspot get {id}"), e))?;
            Report::success(to_json(&object)).output("id", object.id.clone())
        }
        HubSpotCommand::Search(search) => {
            let request = search_request(&search)?;
            let mut stream = objects.search(request).take(search.max);
            let mut results = Vec::new();
            while let Some(item) = stream.next().await {
                let object = item.map_err(|e| CliError::failed("hubspot search", e))?;
                results.push(to_json(&object));
            }
            let count = results.len();
            Report::success(Value::Array(results))
                .output("count", count)
                .metric(Metric::counter("objects_found", count as f64))
        }
        HubSpotCommand::BatchRead {
            ids,
            ids_file,
            properties,
        } => {
            let ids = collect_ids(ids, ids_file.as_deref()).await?;
            let options = BatchReadOptions::new().properties(properties);
            let response = objects
                .batch_read(ids.clone(), &options)
                .await
                .map_err(|e| CliError::failed("hubspot batch-read", e))?;
            batch_report(
                &ids,
                response
                    .into_items()
                    .into_iter()
                    .map(|r| r.map(|o| to_json(&o)))
                    .collect(),
            )
        }
        HubSpotCommand::Upsert {
            file,
            format,
            id_property,
        } => {
            let raw = read_input(&file).await?;
            let format = format.unwrap_or_else(|| guess_format(&file));
            let rows = parse_rows(&raw, format)?;
            let mut keys = Vec::with_capacity(rows.len());
            let mut inputs = Vec::with_capacity(rows.len());
            for (line, row) in rows.into_iter().enumerate() {
                let (key, input) = upsert_input(row, &id_property)
                    .map_err(|e| CliError::Input(format!("row {}: {e}", line + 1)))?;
                keys.push(key);
                inputs.push(input);
            }
            let response = objects
                .batch_upsert(inputs)
                .await
                .map_err(|e| CliError::failed("hubspot upsert", e))?;
            batch_report(
                &keys,
                response
                    .into_items()
                    .into_iter()
                    .map(|r| r.map(|u| json!({"id": u.object.id, "created": u.created})))
                    .collect(),
            )
        }
        HubSpotCommand::Archive { ids } => {
            let response = objects
                .batch_archive(ids.clone())
                .await
                .map_err(|e| CliError::failed("hubspot archive", e))?;
            batch_report(
                &ids,
                response
                    .into_items()
                    .into_iter()
                    .map(|r| r.map(|()| json!({"archived": true})))
                    .collect(),
            )
        }
    };
    client.close().await;
    Ok(report)
}

fn to_json(object: &client_hubspot::CrmObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}

/// One line per input: `{"key":..,"ok":true,"result":..}` or `{"key":..,"ok":false,"error":..}`.
fn batch_report(keys: &[String], items: Vec<Result<Value, BatchItemError>>) -> Report {
    let mut rows = Vec::with_capacity(keys.len());
    let mut failed = 0usize;
    let mut unconfirmed = 0usize;
    for (key, item) in keys.iter().zip(items) {
        match item {
            Ok(value) => rows.push(json!({"key": key, "ok": true, "result": value})),
            // A write whose answer was lost (or a 5xx): it may have been applied. Not resent;
            // counted as failed and flagged, so a workflow reads it back before writing again.
            Err(error) if error.is_outcome_unknown() => {
                failed += 1;
                unconfirmed += 1;
                rows.push(json!({
                    "key": key,
                    "ok": false,
                    "outcome": "unknown",
                    "error": chain(&error),
                    "category": error.category(),
                }));
            }
            Err(error) => {
                failed += 1;
                rows.push(json!({
                    "key": key,
                    "ok": false,
                    "error": chain(&error),
                    "category": error.category(),
                }));
            }
        }
    }
    let total = keys.len();
    let status = match failed {
        0 => Status::Success,
        n if n == total => Status::Failed,
        _ => Status::Partial,
    };
    Report::success(json!({
        "total": total,
        "succeeded": total - failed,
        "failed": failed,
        "unconfirmed": unconfirmed,
        "items": rows,
    }))
    .status(status)
    .output("total", total)
    .output("succeeded", total - failed)
    .output("failed", failed)
    .output("unconfirmed", unconfirmed)
    .metric(Metric::counter("items", (total - failed) as f64).tag("result", "succeeded"))
    .metric(Metric::counter("items", failed as f64).tag("result", "failed"))
}

/// Ids from a flag list and/or a file (one a line, blank lines and `#` comments skipped).
///
/// # Errors
///
/// [`CliError::Io`] when the file cannot be read, [`CliError::Input`] when no id is given.
pub async fn collect_ids(
    mut ids: Vec<String>,
    file: Option<&Path>,
) -> Result<Vec<String>, CliError> {
    if let Some(path) = file {
        let raw = read_input(path).await?;
        let text = String::from_utf8_lossy(&raw);
        ids.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    ids.retain(|id| !id.trim().is_empty());
    if ids.is_empty() {
        return Err(CliError::Input(
            "no ids given (--ids or --ids-file)".to_owned(),
        ));
    }
    Ok(ids)
}

/// A search request from `--filter property=OPERATOR:value`, `--query` and `--properties`.
///
/// # Errors
///
/// [`CliError::Input`] for a malformed filter or an unknown operator.
pub fn search_request(args: &SearchArgs) -> Result<SearchRequest, CliError> {
    let mut group = FilterGroup::new();
    for raw in &args.filters {
        group = group.filter(parse_filter(raw)?);
    }
    let mut request = SearchRequest::new().limit(args.max.clamp(1, 100) as u32);
    if !args.filters.is_empty() {
        request = request.filter_group(group);
    }
    if let Some(q) = &args.query {
        request = request.query(q.clone());
    }
    if !args.properties.is_empty() {
        request = request.properties(args.properties.clone());
    }
    Ok(request)
}

fn parse_filter(raw: &str) -> Result<Filter, CliError> {
    let bad = || CliError::Input(format!("filter {raw:?} is not `property=OPERATOR:value`"));
    let (property, rest) = raw.split_once('=').ok_or_else(bad)?;
    let property = property.trim();
    if property.is_empty() {
        return Err(bad());
    }
    let (op, value) = match rest.split_once(':') {
        Some((op, value)) => (op.trim(), Some(value)),
        None => (rest.trim(), None),
    };
    let operator: Operator = serde_json::from_value(Value::String(op.to_ascii_uppercase()))
        .map_err(|_| CliError::Input(format!("unknown filter operator {op:?} in {raw:?}")))?;
    Ok(match (operator, value) {
        (Operator::HasProperty, _) => Filter::has_property(property),
        (Operator::NotHasProperty, _) => Filter::not_has_property(property),
        (Operator::In | Operator::NotIn, Some(values)) => {
            let list: Vec<String> = values.split(',').map(|v| v.trim().to_owned()).collect();
            let mut filter = Filter::is_in(property, list);
            filter.operator = operator;
            filter
        }
        (Operator::Between, Some(values)) => {
            let (low, high) = values
                .split_once("..")
                .ok_or_else(|| CliError::Input(format!("BETWEEN needs `low..high` in {raw:?}")))?;
            Filter::between(property, low.trim(), high.trim())
        }
        (op, Some(value)) => Filter::new(property, op, value),
        (_, None) => return Err(bad()),
    })
}

fn guess_format(path: &Path) -> InputFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("csv") => InputFormat::Csv,
        _ => InputFormat::Jsonl,
    }
}

/// Parses JSON Lines or CSV into one JSON object per row.
///
/// # Errors
///
/// [`CliError::Input`] naming the bad line.
pub fn parse_rows(raw: &[u8], format: InputFormat) -> Result<Vec<Map<String, Value>>, CliError> {
    let text = std::str::from_utf8(raw).map_err(|error| {
        let line = 1 + raw[..error.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        CliError::Input(format!(
            "line {line}: input is not UTF-8 (invalid byte at offset {})",
            error.valid_up_to()
        ))
    })?;
    match format {
        InputFormat::Jsonl => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, line)| match serde_json::from_str(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(_) => Err(CliError::Input(format!(
                    "line {}: not a JSON object",
                    i + 1
                ))),
                Err(e) => Err(CliError::Input(format!("line {}: {e}", i + 1))),
            })
            .collect(),
        InputFormat::Csv => {
            let records = parse_csv(text)?;
            let mut it = records.into_iter();
            let header = it
                .next()
                .ok_or_else(|| CliError::Input("the CSV has no header row".to_owned()))?;
            it.enumerate()
                .filter(|(_, r)| !(r.len() == 1 && r[0].is_empty()))
                .map(|(i, record)| {
                    if record.len() != header.len() {
                        return Err(CliError::Input(format!(
                            "CSV row {} has {} fields, the header has {}",
                            i + 2,
                            record.len(),
                            header.len()
                        )));
                    }
                    Ok(header
                        .iter()
                        .cloned()
                        .zip(record.into_iter().map(Value::String))
                        .collect())
                })
                .collect()
        }
    }
}

/// RFC 4180 CSV: quoted fields with `""` escapes and line breaks inside quotes.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, CliError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match c {
                '"' if field.is_empty() => quoted = true,
                ',' => record.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                    any = false;
                }
                c => field.push(c),
            }
        }
    }
    if quoted {
        return Err(CliError::Input("unterminated quote in CSV".to_owned()));
    }
    if any {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

/// A row → (its key, an upsert input). A row is either `{"id":..,"properties":{..}}` or a flat
/// object of properties holding `id_property`.
fn upsert_input(
    mut row: Map<String, Value>,
    id_property: &str,
) -> Result<(String, BatchUpsertInput), String> {
    let properties: HashMap<String, String> = match row.remove("properties") {
        Some(Value::Object(props)) => {
            let id = match row.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => props
                    .get(id_property)
                    .and_then(scalar)
                    .ok_or_else(|| format!("no `id` and no `{id_property}` property"))?,
            };
            let mut map: HashMap<String, String> = props
                .iter()
                .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s)))
                .collect();
            map.entry(id_property.to_owned()).or_insert(id);
            map
        }
        Some(_) => return Err("`properties` must be an object".to_owned()),
        None => row
            .iter()
            .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s)))
            .collect(),
    };
    let id = properties
        .get(id_property)
        .filter(|v| !v.trim().is_empty())
        .cloned()
        .ok_or_else(|| format!("missing `{id_property}`"))?;
    let mut input = BatchUpsertInput::new(id_property, id.clone());
    for (k, v) in properties {
        if k != id_property {
            input = input.property(k, v);
        }
    }
    Ok((id, input))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_input_names_the_line() {
        let raw = b"{\"email\":\"a@x.io\"}\n{\"email\":\"b@x.io\"}\n{\"email\":\"\xff\"}\n";
        let error = parse_rows(raw, InputFormat::Jsonl).unwrap_err().to_string();
        assert!(error.contains("line 3"), "{error}");
        assert!(error.contains("not UTF-8"), "{error}");
        let error = parse_rows(b"\xfe,b\n", InputFormat::Csv)
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 1"), "{error}");
    }

    #[test]
    fn csv_handles_quotes_commas_and_line_breaks() {
        let rows = parse_rows(
            b"email,firstname,note\r\na@x.io,Ada,\"hi, \"\"there\"\"\"\nb@x.io,Bob,\"two\nlines\"\n",
            InputFormat::Csv,
        )
        .expect("valid csv");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["note"], "hi, \"there\"");
        assert_eq!(rows[1]["note"], "two\nlines");
        assert!(parse_rows(b"a,b\n1\n", InputFormat::Csv).is_err());
        assert!(parse_rows(b"a\n\"open\n", InputFormat::Csv).is_err());
    }

    #[test]
    fn jsonl_rows_must_be_objects() {
        assert_eq!(
            parse_rows(
                b"{\"email\":\"a@x.io\"}\n\n{\"email\":\"b@x.io\"}\n",
                InputFormat::Jsonl
            )
            .map(|r| r.len())
            .ok(),
            Some(2)
        );
        assert!(parse_rows(b"[1]\n", InputFormat::Jsonl).is_err());
    }

    #[test]
    fn upsert_rows_need_the_id_property() {
        let row = |v: Value| v.as_object().cloned().unwrap_or_default();
        let (key, input) =
            upsert_input(row(json!({"email": "a@x.io", "firstname": "Ada"})), "email")
                .expect("valid");
        assert_eq!(key, "a@x.io");
        assert_eq!(input.id, "a@x.io");
        assert_eq!(
            input.properties.get("firstname").map(String::as_str),
            Some("Ada")
        );
        let (key, _) = upsert_input(
            row(json!({"id": "a@x.io", "properties": {"firstname": "A"}})),
            "email",
        )
        .expect("valid");
        assert_eq!(key, "a@x.io");
        assert!(upsert_input(row(json!({"firstname": "Ada"})), "email").is_err());
    }

    #[test]
    fn filters_parse_operators() {
        let f = parse_filter("email=eq:a@x.io").expect("valid");
        assert_eq!(f.operator, Operator::Eq);
        assert_eq!(f.value.as_deref(), Some("a@x.io"));
        assert_eq!(
            parse_filter("phone=HAS_PROPERTY").expect("valid").operator,
            Operator::HasProperty
        );
        assert!(parse_filter("email=LIKE:x").is_err());
        assert!(parse_filter("nope").is_err());
        assert!(parse_filter("email=EQ").is_err());
    }
}
