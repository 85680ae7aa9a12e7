//! A batch's journal: the result lines of finished input lines, appended
//! in the order they finish, beside the output file. It survives a crash
//! (each line is one `write`); a torn last line is dropped on reopen. When
//! the batch completes, the output is assembled from it in input order.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Input line number → its result line (without the newline).
    lines: BTreeMap<u64, String>,
}

/// The journal of the batch writing `output`.
pub fn path_for(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".seam-journal");
    output.with_file_name(name)
}

impl Journal {
    /// Open the journal, keeping its whole lines when `resume`, else empty.
    pub fn open(path: PathBuf, resume: bool) -> std::io::Result<Journal> {
        let mut lines = BTreeMap::new();
        if resume {
            let text = match std::fs::read(&path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e),
            };
            // Only lines ending in a newline were written whole.
            for raw in text.split_inclusive(|b| *b == b'\n') {
                let Some(body) = raw.strip_suffix(b"\n") else {
                    break;
                };
                let Ok(value) = serde_json::from_slice::<Value>(body) else {
                    continue;
                };
                if let Some(n) = value.get("line").and_then(Value::as_u64) {
                    lines.insert(n, String::from_utf8_lossy(body).into_owned());
                }
            }
        }
        // Rewrite what was kept, so appends never follow a torn line.
        let tmp = path.with_extension("seam-journal-tmp");
        {
            let mut f = File::create(&tmp)?;
            for text in lines.values() {
                f.write_all(text.as_bytes())?;
                f.write_all(b"\n")?;
            }
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        let file = OpenOptions::new().append(true).open(&path)?;
        Ok(Journal { path, file, lines })
    }

    pub fn get(&self, line: u64) -> Option<&str> {
        self.lines.get(&line).map(String::as_str)
    }

    /// Append one result line (one write, so a crash tears at most this one).
    pub fn append(&mut self, line: u64, value: &Value) -> std::io::Result<()> {
        let text = crate::canonical::to_string(value);
        let mut buf = Vec::with_capacity(text.len() + 1);
        buf.extend_from_slice(text.as_bytes());
        buf.push(b'\n');
        self.file.write_all(&buf)?;
        self.lines.insert(line, text);
        Ok(())
    }

    /// Write every result in input order to `output` (atomically: a
    /// temporary file renamed over it), then remove the journal.
    pub fn finish(self, output: &Path) -> std::io::Result<()> {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(".seam-tmp");
        let tmp = output.with_file_name(name);
        {
            let mut f = std::io::BufWriter::new(File::create(&tmp)?);
            for text in self.lines.values() {
                f.write_all(text.as_bytes())?;
                f.write_all(b"\n")?;
            }
            f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, output)?;
        drop(self.file);
        std::fs::remove_file(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_dropped_and_order_is_restored() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let path = path_for(&out);
        std::fs::write(
            &path,
            b"{\"line\":3,\"result\":1}\n{\"line\":1,\"result\":2}\n{\"line\":2,\"res",
        )
        .unwrap();
        let mut j = Journal::open(path.clone(), true).unwrap();
        assert_eq!(j.get(3), Some("{\"line\":3,\"result\":1}"));
        assert!(j.get(2).is_none());
        j.append(2, &serde_json::json!({"line": 2, "result": 3}))
            .unwrap();
        // Reopened: the torn text is gone, the new line is whole.
        drop(j);
        let j = Journal::open(path.clone(), true).unwrap();
        assert!(j.get(2).is_some());
        j.finish(&out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let order: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["line"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(order, vec![1, 2, 3]);
        assert!(!path.exists());
    }

    #[test]
    fn a_fresh_journal_forgets_old_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(&dir.path().join("o.jsonl"));
        std::fs::write(&path, b"{\"line\":1}\n").unwrap();
        let j = Journal::open(path, false).unwrap();
        assert!(j.get(1).is_none());
    }
}
