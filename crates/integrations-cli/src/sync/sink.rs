//! The JSON Lines result file: one line per contact, written (and flushed) as each finishes.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::CliError;

use super::record::ContactResult;

/// A shared, append-only JSON Lines writer. Clones write to the same file.
#[derive(Debug, Clone)]
pub struct ResultSink {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: Option<PathBuf>,
    file: Mutex<Option<BufWriter<File>>>,
    memory: Option<Mutex<Vec<ContactResult>>>,
}

impl ResultSink {
    /// Opens `path` for appending (created when missing).
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the file cannot be opened.
    pub fn append(path: &Path) -> Result<Self, CliError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| CliError::io(path, e))?;
        Ok(Self::from_file(Some(path.to_owned()), file))
    }

    /// Creates (or truncates) `path`.
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the file cannot be created.
    pub fn create(path: &Path) -> Result<Self, CliError> {
        let file = File::create(path).map_err(|e| CliError::io(path, e))?;
        Ok(Self::from_file(Some(path.to_owned()), file))
    }

    /// A sink that writes nothing.
    pub fn discard() -> Self {
        Self {
            inner: Arc::new(Inner {
                path: None,
                file: Mutex::new(None),
                memory: None,
            }),
        }
    }

    /// A sink that keeps the records in memory ([`ResultSink::records`]).
    pub fn memory() -> Self {
        Self {
            inner: Arc::new(Inner {
                path: None,
                file: Mutex::new(None),
                memory: Some(Mutex::new(Vec::new())),
            }),
        }
    }

    /// The records kept by a [`ResultSink::memory`] sink (empty for the others).
    pub fn records(&self) -> Vec<ContactResult> {
        self.inner.memory.as_ref().map_or_else(Vec::new, |m| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        })
    }

    fn from_file(path: Option<PathBuf>, file: File) -> Self {
        Self {
            inner: Arc::new(Inner {
                path,
                file: Mutex::new(Some(BufWriter::new(file))),
                memory: None,
            }),
        }
    }

    /// The file path, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Writes one record as a line and flushes it.
    ///
    /// # Errors
    ///
    /// [`CliError::Io`] when the write fails.
    pub fn write(&self, result: &ContactResult) -> Result<(), CliError> {
        if let Some(memory) = &self.inner.memory {
            memory
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(result.clone());
            return Ok(());
        }
        let mut line = serde_json::to_vec(result).map_err(|e| CliError::Input(e.to_string()))?;
        line.push(b'\n');
        let mut guard = self
            .inner
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(writer) = guard.as_mut() {
            let path = self.inner.path.clone().unwrap_or_default();
            writer
                .write_all(&line)
                .and_then(|()| writer.flush())
                .map_err(|e| CliError::io(path, e))?;
        }
        Ok(())
    }
}
