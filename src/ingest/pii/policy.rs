//! `[pii]` and `[pipelines.NAME.pii]`: which detectors run, the custom
//! patterns (national ids and the like), and the key that seals the map of
//! an escalated run. Checked at load; problems come back with their key.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use regex::Regex;
use serde::Deserialize;

use super::detectors::Builtin;
use crate::config::SecretRef;

/// `[pii]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPii {
    /// Built-in detectors to run: `email`, `phone`, `card`, `iban`, `ip`,
    /// `ssn`. Default: all of them.
    pub detectors: Option<Vec<String>>,
    /// `[[pii.patterns]]`: national ids and other custom patterns.
    #[serde(default)]
    pub patterns: Vec<RawPattern>,
    /// `env:NAME` or `file:/path` holding 32 bytes (hex or base64) that
    /// seal the placeholder map of an escalated run. None: not kept.
    pub key: Option<String>,
    /// How long a sealed map is kept, default 168 (7 days).
    pub retention_hours: Option<u64>,
}

/// `[pipelines.NAME.pii]`: `detectors` replaces the global list;
/// `patterns` are added to the global ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipelinePii {
    pub detectors: Option<Vec<String>>,
    #[serde(default)]
    pub patterns: Vec<RawPattern>,
}

/// `[[pii.patterns]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPattern {
    /// The placeholder kind, UPPER_SNAKE: `NHS_NUMBER` → `<NHS_NUMBER_1>`.
    pub name: String,
    pub regex: String,
    /// `luhn` or `mod11` over the match's digits; none by default.
    pub checksum: Option<String>,
}

/// A check a custom pattern's match must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    Luhn,
    Mod11,
}

/// A compiled custom pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub name: String,
    pub regex: Regex,
    pub checksum: Option<Checksum>,
}

/// The 32-byte key sealing kept maps. `Debug` never shows it.
#[derive(Clone)]
pub struct PiiKey(pub(super) [u8; 32]);

impl fmt::Debug for PiiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PiiKey(***)")
    }
}

impl PiiKey {
    /// 64 hex digits or base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<PiiKey, String> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|e| e.to_string())?
        } else {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| "the key must be 32 bytes as 64 hex digits or base64".to_string())?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "the key must be 32 bytes as 64 hex digits or base64 (it has {})",
                b.len()
            )
        })?;
        Ok(PiiKey(key))
    }
}

/// Keeping the maps of escalated runs.
#[derive(Debug, Clone)]
pub struct Keep {
    pub key: PiiKey,
    pub retention: Duration,
}

/// What one pipeline redacts, and whether its escalated runs keep their map.
#[derive(Debug, Clone)]
pub struct PiiPolicy {
    pub builtins: Vec<Builtin>,
    pub patterns: Vec<Pattern>,
    pub keep: Option<Keep>,
}

impl Default for PiiPolicy {
    /// Every built-in detector, no custom pattern, nothing kept.
    fn default() -> Self {
        PiiPolicy {
            builtins: Builtin::ALL.to_vec(),
            patterns: Vec::new(),
            keep: None,
        }
    }
}

/// A problem: the key path inside the table, and the message.
pub type Problem = (Vec<String>, String);

const DEFAULT_RETENTION_HOURS: u64 = 168;

impl PiiPolicy {
    /// Check `[pii]`; `dir` resolves `file:` keys.
    pub fn load(raw: &RawPii, dir: &Path) -> Result<Arc<PiiPolicy>, Vec<Problem>> {
        let mut problems = Vec::new();
        let builtins = detectors(raw.detectors.as_deref(), &mut problems);
        let patterns = patterns(&raw.patterns, &[], &mut problems);
        let keep = raw.key.as_deref().and_then(|text| {
            let key = SecretRef::parse_required(text, dir)
                .and_then(|r| r.resolve())
                .and_then(|s| PiiKey::parse(s.expose()));
            match key {
                Ok(key) => Some(key),
                Err(e) => {
                    problems.push((vec!["key".into()], e));
                    None
                }
            }
        });
        let hours = raw.retention_hours.unwrap_or(DEFAULT_RETENTION_HOURS);
        if hours == 0 {
            problems.push((vec!["retention_hours".into()], "must be at least 1".into()));
        }
        if raw.retention_hours.is_some() && raw.key.is_none() {
            problems.push((
                vec!["retention_hours".into()],
                "has no effect without `key`: no map is kept".into(),
            ));
        }
        let keep = keep.map(|key| Keep {
            key,
            retention: Duration::from_secs(hours.saturating_mul(3600)),
        });
        if problems.is_empty() {
            Ok(Arc::new(PiiPolicy {
                builtins,
                patterns,
                keep,
            }))
        } else {
            Err(problems)
        }
    }

    /// This policy with a pipeline's override applied.
    pub fn with_override(
        self: &Arc<Self>,
        raw: &RawPipelinePii,
    ) -> Result<Arc<PiiPolicy>, Vec<Problem>> {
        let mut problems = Vec::new();
        let builtins = match &raw.detectors {
            Some(list) => detectors(Some(list), &mut problems),
            None => self.builtins.clone(),
        };
        let mut all = self.patterns.clone();
        all.extend(patterns(&raw.patterns, &self.patterns, &mut problems));
        if problems.is_empty() {
            Ok(Arc::new(PiiPolicy {
                builtins,
                patterns: all,
                keep: self.keep.clone(),
            }))
        } else {
            Err(problems)
        }
    }
}

fn detectors(list: Option<&[String]>, problems: &mut Vec<Problem>) -> Vec<Builtin> {
    let Some(list) = list else {
        return Builtin::ALL.to_vec();
    };
    let mut out = Vec::new();
    for (i, name) in list.iter().enumerate() {
        match Builtin::parse(name) {
            Some(b) if out.contains(&b) => problems.push((
                vec!["detectors".into(), i.to_string()],
                format!("`{name}` is listed twice"),
            )),
            Some(b) => out.push(b),
            None => problems.push((
                vec!["detectors".into(), i.to_string()],
                format!(
                    "`{name}` is not a detector; built-ins are {}",
                    Builtin::ALL
                        .iter()
                        .map(|b| format!("`{}`", b.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
    out
}

fn patterns(raw: &[RawPattern], before: &[Pattern], problems: &mut Vec<Problem>) -> Vec<Pattern> {
    let mut out: Vec<Pattern> = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let at = |key: &str| vec!["patterns".to_string(), i.to_string(), key.to_string()];
        let mut ok = true;
        let upper_snake = p
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
            && p.name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !upper_snake {
            problems.push((
                at("name"),
                format!("`{}` must be UPPER_SNAKE, like `NHS_NUMBER`", p.name),
            ));
            ok = false;
        } else if Builtin::ALL.iter().any(|b| b.kind() == p.name)
            || before.iter().chain(&out).any(|q| q.name == p.name)
        {
            problems.push((at("name"), format!("`{}` is already a kind", p.name)));
            ok = false;
        }
        let checksum = match p.checksum.as_deref() {
            None | Some("none") => None,
            Some("luhn") => Some(Checksum::Luhn),
            Some("mod11") => Some(Checksum::Mod11),
            Some(other) => {
                problems.push((
                    at("checksum"),
                    format!("`{other}` is not one of `luhn`, `mod11`, `none`"),
                ));
                ok = false;
                None
            }
        };
        let regex = match Regex::new(&p.regex) {
            Ok(r) if r.is_match("") => {
                problems.push((at("regex"), "must not match the empty string".into()));
                None
            }
            Ok(r) => Some(r),
            Err(e) => {
                // The regex crate's message spans lines; its last says why.
                let e = e.to_string();
                let why = e.lines().last().unwrap_or(&e).trim_start_matches("error: ");
                problems.push((
                    at("regex"),
                    format!("`{}` does not compile: {why}", p.regex),
                ));
                None
            }
        };
        if let (true, Some(regex)) = (ok, regex) {
            out.push(Pattern {
                name: p.name.clone(),
                regex,
                checksum,
            });
        }
    }
    out
}
