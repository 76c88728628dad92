//! The error that stops a command.

use std::path::PathBuf;

use integrations_config::ConfigErrors;

use crate::output::{EXIT_FAILED, EXIT_USAGE};

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The configuration (environment variables) is invalid; every problem is listed.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// A required environment variable is not set (secrets are only read from the environment).
    #[error("environment variable {name} is not set")]
    MissingEnv {
        /// The variable.
        name: String,
    },
    /// A setting given as a flag or an environment variable is invalid. Its value is not
    /// repeated: it may hold a password.
    #[error("invalid {name}: {reason}")]
    InvalidSetting {
        /// The flag and variable, e.g. `--rate-limit-redis-url (RATE_LIMIT_REDIS_URL)`.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An input file or stdin could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file (`-` for stdin).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input is malformed (bad JSON, a bad header, a bad CSV row...).
    #[error("invalid input: {0}")]
    Input(String),
    /// A remote API or a server failed and nothing useful was done.
    #[error("{context}: {source}")]
    Failed {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl CliError {
    /// A short machine-readable kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::MissingEnv { .. } | Self::InvalidSetting { .. } => "config",
            Self::Io { .. } => "io",
            Self::Input(_) => "input",
            Self::Failed { .. } => "failed",
        }
    }

    /// The process exit code: 2 when nothing could start (usage, configuration, input),
    /// 1 when the work failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_)
            | Self::MissingEnv { .. }
            | Self::InvalidSetting { .. }
            | Self::Input(_) => EXIT_USAGE,
            Self::Io { .. } | Self::Failed { .. } => EXIT_FAILED,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A failure of the work, with context.
    pub fn failed(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Failed {
            context: context.into(),
            source: source.into(),
        }
    }

    /// The message with its source chain, for printing.
    pub fn chain(&self) -> String {
        match self {
            // These print their source already.
            Self::Config(_) | Self::Io { .. } => self.to_string(),
            other => chain(other),
        }
    }
}

/// An error and its sources, joined with `: ` (a source already in the text is left out).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Reads a required environment variable (a secret: it is never printed).
///
/// # Errors
///
/// [`CliError::MissingEnv`] when it is unset or blank.
pub fn require_env(name: &str) -> Result<String, CliError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(CliError::MissingEnv {
            name: name.to_owned(),
        }),
    }
}
