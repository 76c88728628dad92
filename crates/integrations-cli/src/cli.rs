//! The command line, as clap derive types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::logging::LogFormat;
use crate::output::OutputFormat;

/// Resilient HubSpot and ManyChat calls for Kestra tasks and shells.
///
/// Secrets come from environment variables only (HUBSPOT_TOKEN, MANYCHAT_API_KEY, ...).
/// Results are JSON on stdout; logs go to stdout too (stderr would mark a Kestra task as
/// WARNING). The exit code is non-zero only when the work failed.
#[derive(Debug, Parser)]
#[command(name = "integrations", version, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Result format [default: json when stdout is not a terminal, table otherwise].
    #[arg(long, global = true, value_enum)]
    pub output: Option<OutputFormat>,
    /// Print Kestra `::{"outputs":..}::` and `::{"metrics":[..]}::` lines (also on when a
    /// Kestra task runner's variables are present; INTEGRATIONS_KESTRA=0/1 forces it).
    #[arg(long, global = true)]
    pub kestra: bool,
    /// Exit 0 when some items failed (they are still listed in the result).
    #[arg(long, global = true)]
    pub allow_partial: bool,
    /// Log filter (RUST_LOG syntax; RUST_LOG wins when set).
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub log_format: LogFormat,
    /// Only log errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Share one HubSpot rate budget with every process on this Redis
    /// (`redis://[:PASSWORD@]host:6379/0`); unset: an in-memory limiter, one budget per
    /// process. The URL is never printed.
    #[arg(
        long,
        global = true,
        env = "RATE_LIMIT_REDIS_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub rate_limit_redis_url: Option<String>,
    /// How many processes may share the Redis budget at once: while Redis is unreachable each
    /// uses 1/N of the budget [default: 4].
    #[arg(
        long,
        global = true,
        env = "RATE_LIMIT_REDIS_WORKERS",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub rate_limit_redis_workers: Option<u32>,
    /// HubSpot's limit for this account, `MAX` per 10 s or `MAX/WINDOW` (`190`, `100/10s`,
    /// `50/500ms`); the client never sends more, and learns lower limits from HubSpot's
    /// headers [default: 100/10s].
    #[arg(
        long,
        global = true,
        env = "HUBSPOT_RATE_LIMIT",
        value_name = "MAX[/WINDOW]",
        value_parser = parse_rate_limit
    )]
    pub hubspot_rate_limit: Option<RateLimitArg>,
}

/// A rate limit given on the command line: `max_requests` per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitArg {
    /// Requests allowed per window.
    pub max_requests: u32,
    /// The window.
    pub interval: Duration,
}

/// Parses `MAX` (per 10 s) or `MAX/WINDOW` with the window in `s` or `ms` (`100/10s`,
/// `50/500ms`).
///
/// # Errors
///
/// A message for clap when the value is not of that form, or the count or the window is zero.
pub fn parse_rate_limit(value: &str) -> Result<RateLimitArg, String> {
    let (max, window) = match value.trim().split_once('/') {
        Some((max, window)) => (max.trim(), Some(window.trim())),
        None => (value.trim(), None),
    };
    let max_requests: u32 = max
        .parse()
        .ok()
        .filter(|m| *m > 0)
        .ok_or_else(|| format!("{max:?} is not a positive whole number of requests"))?;
    let interval = match window {
        None => Duration::from_secs(10),
        Some(window) => {
            let bad = || format!("{window:?} is not a window like 10s or 500ms");
            let (number, unit) = match window.strip_suffix("ms") {
                Some(n) => (n, 1),
                None => (window.strip_suffix('s').ok_or_else(bad)?, 1000),
            };
            let millis: u64 = number.trim().parse().map_err(|_| bad())?;
            Duration::from_millis(
                millis
                    .checked_mul(unit)
                    .filter(|m| *m > 0)
                    .ok_or_else(bad)?,
            )
        }
    };
    Ok(RateLimitArg {
        max_requests,
        interval,
    })
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// HubSpot CRM objects: get, search, batch-read, upsert, archive.
    Hubspot(HubSpotArgs),
    /// ManyChat: send text, content or a flow, find a subscriber, tag, set a field.
    Manychat(ManyChatArgs),
    /// Sync HubSpot contacts to ManyChat: find each subscriber, send a message or flow, tag.
    Sync(SyncArgs),
    /// Webhook signatures.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Check the configured APIs; health+json output, exit code by status.
    Health(HealthArgs),
    /// Serve `POST /webhooks/hubspot`, `GET /health`, `GET /health/live` and `GET /metrics`.
    Serve(ServeArgs),
    /// Run the HubSpot and ManyChat simulator standalone.
    Sandbox(SandboxArgs),
    /// Run the whole workflow against the built-in sandbox with faults on.
    Demo(DemoArgs),
}

// ---------------------------------------------------------------- hubspot

/// `integrations hubspot`.
#[derive(Debug, Args)]
pub struct HubSpotArgs {
    /// Object type: contacts, companies, deals, tickets or any custom object type id.
    #[arg(long, global = true, default_value = "contacts")]
    pub object: String,
    /// The operation.
    #[command(subcommand)]
    pub command: HubSpotCommand,
}

/// HubSpot operations.
#[derive(Debug, Subcommand)]
pub enum HubSpotCommand {
    /// Read one object by id (or by another unique property with --id-property).
    Get {
        /// The id (or the value of --id-property).
        id: String,
        /// Properties to return (comma separated).
        #[arg(long, value_delimiter = ',')]
        properties: Vec<String>,
        /// Look up by this unique property (for example `email`).
        #[arg(long)]
        id_property: Option<String>,
    },
    /// Search objects.
    Search(SearchArgs),
    /// Read many objects by id (chunked into batches of 100).
    BatchRead {
        /// Ids (comma separated).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<String>,
        /// A file of ids, one a line (`-` for stdin).
        #[arg(long)]
        ids_file: Option<PathBuf>,
        /// Properties to return (comma separated).
        #[arg(long, value_delimiter = ',')]
        properties: Vec<String>,
    },
    /// Create or update objects from JSON Lines (`{"email":..,"firstname":..}` or
    /// `{"id":..,"properties":{..}}`) or CSV (a header row of property names).
    Upsert {
        /// The input file (`-` for stdin).
        #[arg(long)]
        file: PathBuf,
        /// The input format [default: from the file extension, JSON Lines otherwise].
        #[arg(long, value_enum)]
        format: Option<InputFormat>,
        /// The unique property that identifies a row.
        #[arg(long, default_value = "email")]
        id_property: String,
    },
    /// Archive objects by id.
    Archive {
        /// Ids.
        #[arg(required = true, value_delimiter = ',')]
        ids: Vec<String>,
    },
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// A HubSpot search.
#[derive(Debug, Clone, Args, Default)]
pub struct SearchArgs {
    /// A filter `property=OPERATOR:value` (`email=EQ:a@b.co`, `createdate=GTE:2026-01-01`,
    /// `phone=HAS_PROPERTY`); repeated filters are ANDed.
    #[arg(long = "filter")]
    pub filters: Vec<String>,
    /// Free-text query.
    #[arg(long)]
    pub query: Option<String>,
    /// Properties to return (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub properties: Vec<String>,
    /// Stop after this many results.
    #[arg(long, default_value_t = 100)]
    pub max: usize,
}

// ---------------------------------------------------------------- manychat

/// `integrations manychat`.
#[derive(Debug, Args)]
pub struct ManyChatArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: ManyChatCommand,
}

/// ManyChat operations.
#[derive(Debug, Subcommand)]
pub enum ManyChatCommand {
    /// Send a text message.
    SendText {
        /// Subscriber id.
        #[arg(long)]
        subscriber: String,
        /// The text.
        #[arg(long)]
        text: String,
        /// A Facebook message tag (for sends outside the 24 h window).
        #[arg(long)]
        message_tag: Option<String>,
    },
    /// Send Dynamic Block content from a JSON file (`{"version":"v2","content":{..}}`).
    SendContent {
        /// Subscriber id.
        #[arg(long)]
        subscriber: String,
        /// The JSON file (`-` for stdin).
        #[arg(long)]
        file: PathBuf,
        /// A Facebook message tag.
        #[arg(long)]
        message_tag: Option<String>,
    },
    /// Start a flow for a subscriber.
    SendFlow {
        /// Subscriber id.
        #[arg(long)]
        subscriber: String,
        /// The flow namespace (`content20180221085508_278589`).
        #[arg(long)]
        flow: String,
    },
    /// Find a subscriber by email or phone.
    Find {
        /// Email.
        #[arg(long, conflicts_with = "phone", required_unless_present = "phone")]
        email: Option<String>,
        /// Phone (`+15400000000`).
        #[arg(long)]
        phone: Option<String>,
    },
    /// Add a tag (by name) to a subscriber.
    Tag {
        /// Subscriber id.
        #[arg(long)]
        subscriber: String,
        /// Tag name.
        #[arg(long)]
        tag: String,
    },
    /// Set a custom field (by name) on a subscriber.
    SetField {
        /// Subscriber id.
        #[arg(long)]
        subscriber: String,
        /// Field name.
        #[arg(long)]
        field: String,
        /// Value: JSON (`12`, `true`, `"text"`) or plain text.
        #[arg(long)]
        value: String,
    },
}

// ---------------------------------------------------------------- sync

/// Where the contacts of a sync come from, and what is sent.
#[derive(Debug, Clone, Args, Default)]
pub struct SyncOptions {
    /// Text template: `{{firstname}}`, `{{email}}` or any contact property.
    #[arg(long, conflicts_with_all = ["message_file", "flow"])]
    pub text: Option<String>,
    /// A Dynamic Block JSON file whose strings may hold `{{property}}` placeholders.
    #[arg(long, conflicts_with = "flow")]
    pub message_file: Option<PathBuf>,
    /// A flow namespace to start instead of a message.
    #[arg(long)]
    pub flow: Option<String>,
    /// Tag added to each subscriber after the send.
    #[arg(long)]
    pub tag: Option<String>,
    /// A Facebook message tag for the sends.
    #[arg(long)]
    pub message_tag: Option<String>,
    /// Contacts processed at once.
    #[arg(long, default_value_t = 5)]
    pub concurrency: usize,
}

/// `integrations sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// HubSpot contact ids (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub ids: Vec<String>,
    /// A file of contact ids, one a line (`-` for stdin).
    #[arg(long)]
    pub ids_file: Option<PathBuf>,
    /// A HubSpot webhook payload (a JSON array of events) whose contact ids are synced.
    #[arg(long, conflicts_with_all = ["ids", "ids_file"])]
    pub webhook_payload: Option<PathBuf>,
    /// Take the contacts from a HubSpot search instead.
    #[command(flatten)]
    pub search: SearchArgs,
    /// Use the search (with its --filter/--query) as the source.
    #[arg(long, conflicts_with_all = ["ids", "ids_file", "webhook_payload"])]
    pub from_search: bool,
    /// What to send.
    #[command(flatten)]
    pub options: SyncOptions,
    /// JSON Lines file with one result per contact (list it in the task's outputFiles).
    #[arg(long, default_value = "sync-results.jsonl")]
    pub results: PathBuf,
}

// ---------------------------------------------------------------- webhook

/// Webhook commands.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Verify a delivery's signature; prints a JSON verdict, exits 0 (valid) or 1 (invalid).
    Verify(VerifyArgs),
}

/// Signature schemes for `webhook verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemeArg {
    /// HubSpot, version chosen from the headers (v3 first).
    Hubspot,
    /// HubSpot v1 only.
    HubspotV1,
    /// HubSpot v2 only.
    HubspotV2,
    /// HubSpot v3 only.
    HubspotV3,
    /// Generic HMAC-SHA256 of the body in --signature-header.
    Hmac,
    /// GitHub (`X-Hub-Signature-256: sha256=<hex>`).
    Github,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    Standard,
    /// Stripe (`Stripe-Signature`).
    Stripe,
}

/// Signature encodings for `--scheme hmac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncodingArg {
    /// Hexadecimal.
    Hex,
    /// Base64.
    Base64,
}

/// `integrations webhook verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The raw body file (`-` for stdin).
    #[arg(long, default_value = "-")]
    pub body: PathBuf,
    /// A header `Name: value` (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// A JSON object of headers (`{"X-HubSpot-Signature-v3": "..."}`).
    #[arg(long)]
    pub headers_file: Option<PathBuf>,
    /// The signature scheme.
    #[arg(long, value_enum, default_value = "hubspot")]
    pub scheme: SchemeArg,
    /// The environment variable holding the secret [default: HUBSPOT_CLIENT_SECRET for
    /// HubSpot, WEBHOOK_SECRET otherwise].
    #[arg(long)]
    pub secret_env: Option<String>,
    /// The full URL the sender called (HubSpot v2 and v3 sign it).
    #[arg(long)]
    pub uri: Option<String>,
    /// The HTTP method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// Verify as of this time (epoch milliseconds) instead of now.
    #[arg(long)]
    pub now_ms: Option<u64>,
    /// The signature header for --scheme hmac.
    #[arg(long, default_value = "x-signature")]
    pub signature_header: String,
    /// The encoding for --scheme hmac.
    #[arg(long, value_enum, default_value = "hex")]
    pub encoding: EncodingArg,
    /// A prefix before the signature for --scheme hmac (`sha256=`).
    #[arg(long)]
    pub prefix: Option<String>,
}

// ---------------------------------------------------------------- health

/// `integrations health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Exit non-zero on `warn` (degraded) too, not only on `fail`.
    #[arg(long)]
    pub strict: bool,
}

// ---------------------------------------------------------------- serve

/// `integrations serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Deliveries waiting for a worker; a full queue answers 503 so HubSpot retries later.
    #[arg(long, default_value_t = 1000)]
    pub queue_capacity: usize,
    /// Workers running syncs.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// File where queued work is written at shutdown and resumed from at start.
    #[arg(long, default_value = "integrations-spool.jsonl")]
    pub spool: PathBuf,
    /// The environment variable holding the HubSpot app's client secret.
    #[arg(long, default_value = "HUBSPOT_CLIENT_SECRET")]
    pub secret_env: String,
    /// The public base URL HubSpot calls (`https://hooks.example.com`), for v2/v3 signatures
    /// [default: `https://` + the request's Host header].
    #[arg(long)]
    pub public_url: Option<String>,
    /// Without --public-url, rebuild the signed URL with `http://` (local use with no TLS
    /// proxy in front).
    #[arg(long)]
    pub plain_http: bool,
    /// JSON Lines file receiving one result per synced contact.
    #[arg(long, default_value = "serve-results.jsonl")]
    pub results: PathBuf,
    /// Seconds to let in-flight work finish at shutdown before spooling the rest.
    #[arg(long, default_value_t = 20)]
    pub drain_secs: u64,
    /// What each delivered contact gets.
    #[command(flatten)]
    pub options: SyncOptions,
}

// ---------------------------------------------------------------- sandbox

/// `integrations sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Seed of the generated data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of HubSpot contacts.
    #[arg(long, default_value_t = 10_000)]
    pub contacts: usize,
    /// Multiplies every rate-limit window (0.01 runs HubSpot's 10 s window in 100 ms).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

// ---------------------------------------------------------------- demo

/// `integrations demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Contacts to sync.
    #[arg(long, default_value_t = 300)]
    pub contacts: usize,
    /// Seed of the sandbox data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Run without injected faults.
    #[arg(long)]
    pub no_faults: bool,
    /// Do not print the Prometheus metrics at the end.
    #[arg(long)]
    pub no_metrics: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
