//! Jobs and the spool file that carries them across a restart.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// One accepted webhook delivery: the contacts it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Sequence number (per process; informational).
    pub id: u64,
    /// HubSpot contact ids to sync.
    pub contact_ids: Vec<String>,
}

/// Reads the jobs of a spool file (JSON Lines); a missing file is an empty spool.
///
/// # Errors
///
/// [`CliError::Io`] when the file cannot be read, [`CliError::Input`] naming a bad line.
pub fn load_spool(path: &Path) -> Result<Vec<Job>, CliError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CliError::io(path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| CliError::Input(format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// Writes `jobs` to `path` atomically (a temporary file renamed over it); no jobs removes the
/// file.
///
/// # Errors
///
/// [`CliError::Io`] when the file cannot be written.
pub fn write_spool(path: &Path, jobs: &[Job]) -> Result<(), CliError> {
    if jobs.is_empty() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::io(path, e)),
        };
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(|e| CliError::io(&tmp, e))?;
    for job in jobs {
        let mut line = serde_json::to_vec(job).map_err(|e| CliError::Input(e.to_string()))?;
        line.push(b'\n');
        file.write_all(&line).map_err(|e| CliError::io(&tmp, e))?;
    }
    file.sync_all().map_err(|e| CliError::io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(|e| CliError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_round_trips_and_empty_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("integrations-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("spool.jsonl");
        let jobs = vec![
            Job {
                id: 1,
                contact_ids: vec!["10".to_owned(), "11".to_owned()],
            },
            Job {
                id: 2,
                contact_ids: vec!["12".to_owned()],
            },
        ];
        write_spool(&path, &jobs).expect("written");
        assert_eq!(load_spool(&path).expect("read"), jobs);
        write_spool(&path, &[]).expect("removed");
        assert!(!path.exists());
        assert_eq!(load_spool(&path).expect("missing is empty"), Vec::new());
        std::fs::write(&path, "{bad\n").expect("write");
        assert!(load_spool(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
