//! Shared setup: a sandbox on 127.0.0.1:0 and a client built for it with the test
//! environment's short timeouts and deterministic retries.

#![allow(dead_code, unreachable_pub)]

use api_sandbox::{Sandbox, SandboxConfig};
use client_hubspot::{HubSpotClient, HubSpotClientBuilder};
use integrations_config::{Environment, HubSpotConfig};

/// A sandbox with 100 contacts.
pub async fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::small()).await
}

/// A sandbox with `config`.
pub async fn sandbox_with(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// The test-environment builder, pointed at `sandbox` with its token.
pub fn builder(sandbox: &Sandbox) -> HubSpotClientBuilder {
    let config = HubSpotConfig::for_environment(Environment::Test, sandbox.hubspot_token());
    HubSpotClient::builder()
        .config(config)
        .base_url(sandbox.hubspot_url())
}

/// The default stack (cache off, so every call reaches the sandbox) for `sandbox`.
pub fn client(sandbox: &Sandbox) -> HubSpotClient {
    builder(sandbox).cache(None).build().expect("client builds")
}

/// The id of the `n`th seeded contact.
pub fn contact_id(sandbox: &Sandbox, n: usize) -> String {
    sandbox.control().contact_ids()[n].to_string()
}

/// The email of seeded contact `id`.
pub fn contact_email(sandbox: &Sandbox, id: &str) -> String {
    let contact = sandbox
        .control()
        .contact(id.parse().expect("numeric id"))
        .expect("seeded contact");
    contact["properties"]["email"]
        .as_str()
        .expect("seeded contacts have an email")
        .to_owned()
}
