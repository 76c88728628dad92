//! `integrations webhook verify`: checks a delivery's signature, prints a JSON verdict and exits
//! 0 (valid) or 1 (invalid).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use webhook_verify::{
    HmacVerifier, HubSpotVerifier, HubSpotVersion, SignatureEncoding, StandardWebhooksVerifier,
    StripeVerifier, Verify, WebhookRequest, WebhookSecret,
};

use super::read_input;
use crate::app::Context;
use crate::cli::{EncodingArg, SchemeArg, VerifyArgs, WebhookCommand};
use crate::error::{CliError, require_env};
use crate::output::{Report, Status};

/// Runs a webhook command.
///
/// # Errors
///
/// [`CliError`] for unreadable input, malformed headers or a missing secret variable; an
/// invalid signature is a report with [`Status::Failed`], not an error.
pub async fn run(_ctx: Context, command: WebhookCommand) -> Result<Report, CliError> {
    match command {
        WebhookCommand::Verify(args) => verify(args).await,
    }
}

async fn verify(args: VerifyArgs) -> Result<Report, CliError> {
    let body = read_input(&args.body).await?;
    let mut headers = HeaderMap::new();
    if let Some(path) = &args.headers_file {
        let raw = read_input(path).await?;
        let map: serde_json::Map<String, Value> = serde_json::from_slice(&raw).map_err(|e| {
            CliError::Input(format!(
                "{} is not a JSON object of headers: {e}",
                path.display()
            ))
        })?;
        for (name, value) in map {
            let value = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
            insert_header(&mut headers, &name, &value)?;
        }
    }
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| CliError::Input(format!("header {header:?} is not `Name: value`")))?;
        insert_header(&mut headers, name.trim(), value.trim())?;
    }
    let verifier = build_verifier(&args)?;
    let uri = args.uri.clone().unwrap_or_default();
    let request = WebhookRequest::new(&args.method, &uri, &headers, &body);
    let now = match args.now_ms {
        Some(ms) => UNIX_EPOCH + Duration::from_millis(ms),
        None => SystemTime::now(),
    };
    let report = match verifier.verify(&request, now) {
        Ok(verified) => Report::success(json!({
            "valid": true,
            "scheme": verified.scheme.as_str(),
            "secret_index": verified.secret_index,
        }))
        .output("valid", true)
        .output("scheme", verified.scheme.as_str()),
        Err(error) => {
            tracing::warn!(code = error.code(), "webhook signature rejected");
            Report::success(json!({
                "valid": false,
                "error": error.to_string(),
                "code": error.code(),
                "status": error.status().as_u16(),
            }))
            .status(Status::Failed)
            .output("valid", false)
            .output("error", error.code())
        }
    };
    Ok(report)
}

fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), CliError> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| CliError::Input(format!("invalid header name {name:?}")))?;
    let value = HeaderValue::from_str(value)
        .map_err(|_| CliError::Input(format!("invalid value for header {name}")))?;
    headers.append(name, value);
    Ok(())
}

fn build_verifier(args: &VerifyArgs) -> Result<Box<dyn Verify>, CliError> {
    let hubspot = matches!(
        args.scheme,
        SchemeArg::Hubspot | SchemeArg::HubspotV1 | SchemeArg::HubspotV2 | SchemeArg::HubspotV3
    );
    let var = args.secret_env.clone().unwrap_or_else(|| {
        if hubspot {
            "HUBSPOT_CLIENT_SECRET".to_owned()
        } else {
            "WEBHOOK_SECRET".to_owned()
        }
    });
    let secret = require_env(&var)?;
    let needs_uri = matches!(
        args.scheme,
        SchemeArg::Hubspot | SchemeArg::HubspotV2 | SchemeArg::HubspotV3
    );
    if needs_uri && args.uri.is_none() && args.scheme != SchemeArg::Hubspot {
        return Err(CliError::Input(
            "--uri is required: HubSpot v2 and v3 sign the full URL".to_owned(),
        ));
    }
    let verifier: Box<dyn Verify> = match args.scheme {
        SchemeArg::Hubspot => Box::new(HubSpotVerifier::new(secret)),
        SchemeArg::HubspotV1 => {
            Box::new(HubSpotVerifier::new(secret).pin_version(HubSpotVersion::V1))
        }
        SchemeArg::HubspotV2 => {
            Box::new(HubSpotVerifier::new(secret).pin_version(HubSpotVersion::V2))
        }
        SchemeArg::HubspotV3 => {
            Box::new(HubSpotVerifier::new(secret).pin_version(HubSpotVersion::V3))
        }
        SchemeArg::Github => Box::new(HmacVerifier::github(secret)),
        SchemeArg::Hmac => {
            let header =
                HeaderName::from_bytes(args.signature_header.as_bytes()).map_err(|_| {
                    CliError::Input(format!(
                        "invalid --signature-header {:?}",
                        args.signature_header
                    ))
                })?;
            let encoding = match args.encoding {
                EncodingArg::Hex => SignatureEncoding::Hex,
                EncodingArg::Base64 => SignatureEncoding::Base64,
            };
            let mut verifier = HmacVerifier::new(header, encoding, secret);
            if let Some(prefix) = &args.prefix {
                verifier = verifier.prefix(prefix.clone());
            }
            Box::new(verifier)
        }
        SchemeArg::Standard => Box::new(StandardWebhooksVerifier::new(
            WebhookSecret::from_standard(&secret)
                .map_err(|e| CliError::Input(format!("{var}: {e}")))?,
        )),
        SchemeArg::Stripe => Box::new(StripeVerifier::new(secret)),
    };
    Ok(verifier)
}
