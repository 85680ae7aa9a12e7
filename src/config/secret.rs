//! Secret references: `env:NAME` or `file:/path`, never the secret itself.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

/// A resolved secret. `Debug` and `Display` never show the value.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret obtained at run time (an OAuth access token).
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl SecretRef {
    /// Parse a reference; `None` when the text is not a reference at all.
    pub fn parse(text: &str, base: &Path) -> Option<Result<SecretRef, String>> {
        if let Some(name) = text.strip_prefix("env:") {
            let ok =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            return Some(if ok {
                Ok(SecretRef::Env(name.to_string()))
            } else {
                Err(format!(
                    "`env:{name}` is not a valid environment variable name"
                ))
            });
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Some(Err("`file:` needs a path".into()));
            }
            return Some(Ok(SecretRef::File(base.join(path))));
        }
        None
    }

    /// Parse text that must be a reference.
    pub fn parse_required(text: &str, base: &Path) -> Result<SecretRef, String> {
        SecretRef::parse(text, base).unwrap_or_else(|| {
            Err(
                "secrets must be referenced as `env:NAME` or `file:/path`, not written inline"
                    .into(),
            )
        })
    }

    /// Read the secret. Errors name the variable or file, never a value.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            SecretRef::Env(name) => std::env::var(name)
                .map(Secret)
                .map_err(|_| format!("environment variable `{name}` is not set")),
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| format!("secret file `{}`: {e}", path.display())),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(n) => write!(f, "env:{n}"),
            SecretRef::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_references() {
        let base = Path::new("/etc/seam");
        assert_eq!(
            SecretRef::parse("env:OPENAI_API_KEY", base),
            Some(Ok(SecretRef::Env("OPENAI_API_KEY".into())))
        );
        assert_eq!(
            SecretRef::parse("file:keys/x", base),
            Some(Ok(SecretRef::File("/etc/seam/keys/x".into())))
        );
        assert!(SecretRef::parse("sk-live-123", base).is_none());
        assert!(SecretRef::parse_required("sk-live-123", base).is_err());
        assert!(matches!(
            SecretRef::parse("env:BAD-NAME", base),
            Some(Err(_))
        ));
    }

    #[test]
    fn debug_hides_value() {
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "Secret(***)");
    }
}
