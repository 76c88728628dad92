//! One module per command.

pub mod demo;
pub mod health;
pub mod hubspot;
pub mod manychat;
pub mod sandbox;
pub mod serve;
pub mod sync;
pub mod webhook;

use std::path::Path;

use crate::error::CliError;

/// Reads a file, or stdin for `-`.
///
/// # Errors
///
/// [`CliError::Io`] when it cannot be read.
pub async fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    if path.as_os_str() == "-" {
        tokio::task::spawn_blocking(|| {
            use std::io::Read;
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map(|_| buf)
        })
        .await
        .map_err(|e| CliError::io("-", std::io::Error::other(e)))?
        .map_err(|e| CliError::io("-", e))
    } else {
        tokio::fs::read(path)
            .await
            .map_err(|e| CliError::io(path, e))
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
