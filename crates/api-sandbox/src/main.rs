//! `api-sandbox`: serve the HubSpot and ManyChat simulators standalone.
//!
//! ```text
//! cargo run -p api-sandbox -- [--port 8787] [--seed 42] [--contacts 10000] [--time-scale 1.0]
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use api_sandbox::{Sandbox, SandboxConfig};

const USAGE: &str = "usage: api-sandbox [--port N] [--seed N] [--contacts N] [--time-scale F]";

fn parse(args: &[String]) -> Result<SandboxConfig, String> {
    let mut config = SandboxConfig::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_owned());
        }
        if !["--port", "--seed", "--contacts", "--time-scale"].contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag:?}\n{USAGE}"));
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("invalid {flag} {value:?}: {e}\n{USAGE}");
        match flag.as_str() {
            "--port" => {
                let port: u16 = value.parse().map_err(|e| bad(&e))?;
                config.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            }
            "--seed" => config.seed = value.parse().map_err(|e| bad(&e))?,
            "--contacts" => config.contacts = value.parse().map_err(|e| bad(&e))?,
            "--time-scale" => config.time_scale = value.parse().map_err(|e| bad(&e))?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(c) => c,
        Err(msg) => {
            println!("{msg}");
            return ExitCode::from(2);
        }
    };
    let readonly = config
        .hubspot
        .tokens
        .get(1)
        .map(|t| t.token.clone())
        .unwrap_or_default();
    let sandbox = match Sandbox::start(config).await {
        Ok(s) => s,
        Err(e) => {
            println!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("api-sandbox listening on {}", sandbox.addr());
    println!("HUBSPOT_BASE_URL={}", sandbox.hubspot_url());
    println!("HUBSPOT_TOKEN={}", sandbox.hubspot_token());
    println!("HUBSPOT_READONLY_TOKEN={readonly}");
    println!("MANYCHAT_BASE_URL={}", sandbox.manychat_url());
    println!("MANYCHAT_API_KEY={}", sandbox.manychat_token());
    println!(
        "admin: {}/log (see README for fault scripting)",
        sandbox.admin_url()
    );
    println!("press Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_the_documented_flags() {
        let c = parse(&args(&[
            "--port",
            "8787",
            "--seed",
            "3",
            "--contacts",
            "5",
            "--time-scale",
            "0.5",
        ]))
        .expect("valid");
        assert_eq!(c.bind.port(), 8787);
        assert_eq!((c.seed, c.contacts, c.time_scale), (3, 5, 0.5));
    }

    #[test]
    fn rejects_bad_input_with_a_message() {
        assert!(parse(&args(&["--bogus"])).is_err_and(|e| e.contains("unknown argument")));
        assert!(parse(&args(&["--port"])).is_err_and(|e| e.contains("needs a value")));
        assert!(parse(&args(&["--port", "x"])).is_err_and(|e| e.contains("invalid --port")));
    }
}
