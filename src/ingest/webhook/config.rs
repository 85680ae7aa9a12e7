//! `[pipelines.NAME.webhook]`: the scheme, its secret(s) (`env:`/`file:`
//! references only) and its options, checked into a [`Verifier`].

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{DEFAULT_TOLERANCE, Encoding, Scheme, Verifier, standard};
use crate::config::SecretRef;

/// `[pipelines.NAME.webhook]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    /// `standard`, `stripe`, `github`, `shopify` or `hmac`.
    pub scheme: String,
    /// The signing secret, `env:NAME` or `file:/path`.
    pub secret: Option<String>,
    /// Several secrets, all accepted (during a rotation). Exclusive with `secret`.
    pub secrets: Option<Vec<String>>,
    /// `standard` and `stripe`: how far the signed timestamp may be from
    /// now, default 300.
    pub tolerance_secs: Option<u64>,
    /// `hmac`: the header carrying the signature.
    pub header: Option<String>,
    /// `hmac`: `hex` (default) or `base64`.
    pub encoding: Option<String>,
    /// `hmac`: text before the signature, e.g. `sha256=`; default none.
    pub prefix: Option<String>,
}

/// Problems, each with its key path below `webhook` and a message.
pub type Problems = Vec<(Vec<String>, String)>;

impl Verifier {
    /// Check the table and resolve its secrets. Errors name the key and,
    /// for secrets, the variable or file, never a value.
    pub fn load(raw: &RawWebhook, dir: &Path) -> Result<Verifier, Problems> {
        let mut problems: Problems = Vec::new();
        let mut bad = |key: &[&str], message: String| {
            problems.push((key.iter().map(|s| s.to_string()).collect(), message));
        };
        let is_hmac = raw.scheme == "hmac";
        let scheme = match raw.scheme.as_str() {
            "standard" => Some(Scheme::Standard),
            "stripe" => Some(Scheme::Stripe),
            "github" => Some(Scheme::Github),
            "shopify" => Some(Scheme::Shopify),
            "hmac" => hmac_scheme(raw, &mut bad),
            other => {
                bad(
                    &["scheme"],
                    format!(
                        "unknown scheme `{other}`: expected standard, stripe, github, shopify or hmac"
                    ),
                );
                None
            }
        };
        if !is_hmac {
            for (key, set) in [
                ("header", raw.header.is_some()),
                ("encoding", raw.encoding.is_some()),
                ("prefix", raw.prefix.is_some()),
            ] {
                if set {
                    bad(&[key], "only applies to scheme = \"hmac\"".into());
                }
            }
        }
        let untimed = matches!(raw.scheme.as_str(), "github" | "shopify" | "hmac");
        let tolerance = match raw.tolerance_secs {
            Some(0) => {
                bad(&["tolerance_secs"], "must be at least 1".into());
                DEFAULT_TOLERANCE
            }
            Some(_) if untimed => {
                bad(
                    &["tolerance_secs"],
                    "only applies to schemes that sign a timestamp (standard, stripe)".into(),
                );
                DEFAULT_TOLERANCE
            }
            Some(s) => Duration::from_secs(s),
            None => DEFAULT_TOLERANCE,
        };
        let refs: Vec<(Vec<String>, &String)> = match (&raw.secret, &raw.secrets) {
            (Some(s), None) => vec![(vec!["secret".into()], s)],
            (None, Some(list)) if !list.is_empty() => list
                .iter()
                .enumerate()
                .map(|(i, s)| (vec!["secrets".into(), i.to_string()], s))
                .collect(),
            (None, Some(_)) => {
                bad(&["secrets"], "needs at least one secret".into());
                Vec::new()
            }
            (Some(_), Some(_)) => {
                bad(&["secrets"], "give `secret` or `secrets`, not both".into());
                Vec::new()
            }
            (None, None) => {
                bad(
                    &[],
                    "needs `secret` (or `secrets` during a rotation) as `env:NAME` or `file:/path`"
                        .into(),
                );
                Vec::new()
            }
        };
        let mut keys = Vec::new();
        for (path, text) in refs {
            let key = SecretRef::parse_required(text, dir)
                .and_then(|r| r.resolve())
                .and_then(|secret| match scheme {
                    Some(Scheme::Standard) => standard::key_from_secret(secret.expose()),
                    _ if secret.expose().is_empty() => Err("the secret is empty".into()),
                    _ => Ok(secret.expose().as_bytes().to_vec()),
                });
            match key {
                Ok(k) => keys.push(k),
                Err(e) => problems.push((path, e)),
            }
        }
        match scheme {
            Some(scheme) if problems.is_empty() => Ok(Verifier::new(scheme, keys, tolerance)),
            _ => Err(problems),
        }
    }
}

fn hmac_scheme(raw: &RawWebhook, bad: &mut impl FnMut(&[&str], String)) -> Option<Scheme> {
    let header = match raw.header.as_deref() {
        Some(h) if axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok() => {
            Some(h.to_ascii_lowercase())
        }
        Some(h) => {
            bad(&["header"], format!("`{h}` is not a valid header name"));
            None
        }
        None => {
            bad(&["header"], "scheme \"hmac\" needs `header`".into());
            None
        }
    };
    let encoding = match raw.encoding.as_deref().unwrap_or("hex") {
        "hex" => Some(Encoding::Hex),
        "base64" => Some(Encoding::Base64),
        other => {
            bad(
                &["encoding"],
                format!("unknown encoding `{other}`: expected hex or base64"),
            );
            None
        }
    };
    Some(Scheme::Hmac {
        header: header?,
        encoding: encoding?,
        prefix: raw.prefix.clone().unwrap_or_default(),
    })
}
