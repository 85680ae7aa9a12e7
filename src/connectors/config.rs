//! `[connectors.NAME]`: the raw TOML shape and its checks. Secrets are
//! resolved here, at load, so a missing one is reported with its key.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU64;
use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderName;
use serde::Deserialize;

use crate::config::{Secret, SecretRef};
use crate::infer::RetryPolicy;

/// Problems found, each with its key path inside the entry.
pub type Problems = Vec<(Vec<String>, String)>;

/// `[connectors.NAME]`. Keys marked with a kind belong to that kind only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnector {
    /// `http` or `postgres`.
    pub kind: String,
    /// `http`: the API's base URL; a step's `path` is appended to it.
    pub base_url: Option<String>,
    /// Per request (`http`) or per query (`postgres`), default 5000.
    pub timeout_ms: Option<u64>,
    /// `http`: attempts per request for transient failures, default 3.
    pub max_attempts: Option<u32>,
    /// `http`: client-side limit, e.g. `{ requests_per_minute = 600 }`.
    pub rate_limit: Option<RawConnectorRateLimit>,
    /// `http`: keep successful responses this many seconds (off when absent).
    pub cache_ttl_secs: Option<u64>,
    /// `http`: most responses the cache holds, default 1000.
    pub cache_max_entries: Option<usize>,
    /// `http`: largest response body accepted, default 1048576.
    pub max_response_bytes: Option<usize>,
    /// `http`: `[connectors.NAME.auth]` (none when absent).
    pub auth: Option<RawAuth>,
    /// `postgres`: `env:NAME`/`file:/path` reference to the connection URL.
    pub url: Option<String>,
    /// `postgres`: most rows a query returns, default 100.
    pub max_rows: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnectorRateLimit {
    pub requests_per_minute: u64,
}

/// `[connectors.NAME.auth]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `api_key`, `bearer` or `oauth2_client_credentials`.
    pub kind: String,
    /// `api_key`: the header carrying the key, default `X-Api-Key`.
    pub header: Option<String>,
    /// `api_key`: secret reference.
    pub key: Option<String>,
    /// `bearer`: secret reference.
    pub token: Option<String>,
    /// `oauth2_client_credentials`: the token endpoint.
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    /// Secret reference.
    pub client_secret: Option<String>,
    /// Space-separated scopes (sent when present).
    pub scope: Option<String>,
    /// How the client authenticates to the token endpoint: `body` (form
    /// fields, the default) or `basic` (HTTP Basic).
    pub client_auth: Option<String>,
}

/// A checked connector.
#[derive(Debug)]
pub enum ConnectorConfig {
    Http(HttpConfig),
    Postgres(PostgresConfig),
}

impl ConnectorConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::Http(_) => "http",
            ConnectorConfig::Postgres(_) => "postgres",
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub name: String,
    pub base_url: reqwest::Url,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub requests_per_minute: Option<NonZeroU64>,
    pub cache_ttl: Option<Duration>,
    pub cache_max_entries: usize,
    pub max_response_bytes: usize,
    pub auth: Auth,
}

/// How requests are authenticated. Secrets never show in `Debug`.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    ApiKey { header: HeaderName, key: Secret },
    Bearer { token: Secret },
    OAuth2(OAuth2Config),
}

#[derive(Debug, Clone)]
pub struct OAuth2Config {
    pub token_url: reqwest::Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub scope: Option<String>,
    /// Send the client credentials as HTTP Basic rather than form fields.
    pub basic: bool,
}

#[derive(Clone)]
pub struct PostgresConfig {
    pub name: String,
    /// Parsed from a secret: never shown.
    pub connect: tokio_postgres::Config,
    pub timeout: Duration,
    pub max_rows: u32,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("max_rows", &self.max_rows)
            .finish_non_exhaustive()
    }
}

const HTTP_ONLY: [&str; 7] = [
    "base_url",
    "max_attempts",
    "rate_limit",
    "cache_ttl_secs",
    "cache_max_entries",
    "max_response_bytes",
    "auth",
];

impl ConnectorConfig {
    /// Check one entry; every problem is returned with its key path.
    pub fn load(name: &str, raw: RawConnector, dir: &Path) -> Result<ConnectorConfig, Problems> {
        let mut problems = Problems::new();
        let timeout = Duration::from_millis(raw.timeout_ms.unwrap_or(5_000));
        if timeout.is_zero() {
            push(&mut problems, &["timeout_ms"], "must be at least 1");
        }
        let config = match raw.kind.as_str() {
            "http" => load_http(name, raw, dir, timeout, &mut problems).map(ConnectorConfig::Http),
            "postgres" => {
                let set = [
                    raw.base_url.is_some(),
                    raw.max_attempts.is_some(),
                    raw.rate_limit.is_some(),
                    raw.cache_ttl_secs.is_some(),
                    raw.cache_max_entries.is_some(),
                    raw.max_response_bytes.is_some(),
                    raw.auth.is_some(),
                ];
                for (key, set) in HTTP_ONLY.iter().zip(set) {
                    if set {
                        push(&mut problems, &[key], "belongs to kind = \"http\" only");
                    }
                }
                load_postgres(name, &raw, dir, timeout, &mut problems)
                    .map(ConnectorConfig::Postgres)
            }
            other => {
                push(
                    &mut problems,
                    &["kind"],
                    &format!("`{other}` is not one of `http`, `postgres`"),
                );
                None
            }
        };
        match config {
            Some(c) if problems.is_empty() => Ok(c),
            _ => Err(problems),
        }
    }
}

fn push(problems: &mut Problems, path: &[&str], message: &str) {
    problems.push((
        path.iter().map(|s| s.to_string()).collect(),
        message.to_string(),
    ));
}

fn secret(
    problems: &mut Problems,
    path: &[&str],
    text: Option<&str>,
    dir: &Path,
) -> Option<Secret> {
    let Some(text) = text else {
        push(problems, path, "is required");
        return None;
    };
    match SecretRef::parse_required(text, dir).and_then(|r| r.resolve()) {
        Ok(s) => Some(s),
        Err(e) => {
            push(problems, path, &e);
            None
        }
    }
}

fn url(problems: &mut Problems, path: &[&str], text: &str) -> Option<reqwest::Url> {
    match reqwest::Url::parse(text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
        Ok(_) => {
            push(
                problems,
                path,
                &format!("`{text}` must be an http or https URL with a host"),
            );
            None
        }
        Err(e) => {
            push(problems, path, &format!("`{text}` is not a valid URL: {e}"));
            None
        }
    }
}

fn load_http(
    name: &str,
    raw: RawConnector,
    dir: &Path,
    timeout: Duration,
    problems: &mut Problems,
) -> Option<HttpConfig> {
    for (key, set) in [
        ("url", raw.url.is_some()),
        ("max_rows", raw.max_rows.is_some()),
    ] {
        if set {
            push(problems, &[key], "belongs to kind = \"postgres\" only");
        }
    }
    let base_url = match raw.base_url.as_deref() {
        Some(text) => url(problems, &["base_url"], text),
        None => {
            push(problems, &["base_url"], "is required for kind = \"http\"");
            None
        }
    };
    let max_attempts = raw.max_attempts.unwrap_or(3);
    if max_attempts == 0 {
        push(problems, &["max_attempts"], "must be at least 1");
    }
    let requests_per_minute = match &raw.rate_limit {
        Some(r) => match NonZeroU64::new(r.requests_per_minute) {
            Some(n) => Some(n),
            None => {
                push(
                    problems,
                    &["rate_limit", "requests_per_minute"],
                    "must be at least 1",
                );
                None
            }
        },
        None => None,
    };
    let auth = match &raw.auth {
        None => Some(Auth::None),
        Some(a) => load_auth(a, dir, problems),
    };
    Some(HttpConfig {
        name: name.to_string(),
        base_url: base_url?,
        timeout,
        retry: RetryPolicy {
            max_attempts: max_attempts.max(1),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(2_000),
        },
        requests_per_minute,
        cache_ttl: raw
            .cache_ttl_secs
            .filter(|s| *s > 0)
            .map(Duration::from_secs),
        cache_max_entries: raw.cache_max_entries.unwrap_or(1_000).max(1),
        max_response_bytes: raw.max_response_bytes.unwrap_or(1 << 20).max(1),
        auth: auth?,
    })
}

fn load_auth(a: &RawAuth, dir: &Path, problems: &mut Problems) -> Option<Auth> {
    let unused = |problems: &mut Problems, keys: &[(&str, bool)]| {
        for (key, set) in keys {
            if *set {
                push(
                    problems,
                    &["auth", key],
                    &format!("does not belong to auth kind `{}`", a.kind),
                );
            }
        }
    };
    let oauth_keys = [
        ("token_url", a.token_url.is_some()),
        ("client_id", a.client_id.is_some()),
        ("client_secret", a.client_secret.is_some()),
        ("scope", a.scope.is_some()),
        ("client_auth", a.client_auth.is_some()),
    ];
    match a.kind.as_str() {
        "api_key" => {
            unused(problems, &oauth_keys);
            unused(problems, &[("token", a.token.is_some())]);
            let header = a.header.as_deref().unwrap_or("X-Api-Key");
            let header = match HeaderName::from_bytes(header.as_bytes()) {
                Ok(h) => Some(h),
                Err(_) => {
                    push(
                        problems,
                        &["auth", "header"],
                        &format!("`{header}` is not a valid header name"),
                    );
                    None
                }
            };
            let key = secret(problems, &["auth", "key"], a.key.as_deref(), dir);
            Some(Auth::ApiKey {
                header: header?,
                key: key?,
            })
        }
        "bearer" => {
            unused(problems, &oauth_keys);
            unused(
                problems,
                &[("header", a.header.is_some()), ("key", a.key.is_some())],
            );
            let token = secret(problems, &["auth", "token"], a.token.as_deref(), dir)?;
            Some(Auth::Bearer { token })
        }
        "oauth2_client_credentials" => {
            unused(
                problems,
                &[
                    ("header", a.header.is_some()),
                    ("key", a.key.is_some()),
                    ("token", a.token.is_some()),
                ],
            );
            let token_url = match a.token_url.as_deref() {
                Some(t) => url(problems, &["auth", "token_url"], t),
                None => {
                    push(problems, &["auth", "token_url"], "is required");
                    None
                }
            };
            let client_id = a.client_id.clone().filter(|c| !c.is_empty());
            if client_id.is_none() {
                push(problems, &["auth", "client_id"], "is required");
            }
            let client_secret = secret(
                problems,
                &["auth", "client_secret"],
                a.client_secret.as_deref(),
                dir,
            );
            let basic = match a.client_auth.as_deref().unwrap_or("body") {
                "body" => Some(false),
                "basic" => Some(true),
                other => {
                    push(
                        problems,
                        &["auth", "client_auth"],
                        &format!("`{other}` is not one of `body`, `basic`"),
                    );
                    None
                }
            };
            Some(Auth::OAuth2(OAuth2Config {
                token_url: token_url?,
                client_id: client_id?,
                client_secret: client_secret?,
                scope: a.scope.clone(),
                basic: basic?,
            }))
        }
        other => {
            push(
                problems,
                &["auth", "kind"],
                &format!(
                    "`{other}` is not one of `api_key`, `bearer`, `oauth2_client_credentials`"
                ),
            );
            None
        }
    }
}

fn load_postgres(
    name: &str,
    raw: &RawConnector,
    dir: &Path,
    timeout: Duration,
    problems: &mut Problems,
) -> Option<PostgresConfig> {
    let connect = match raw.url.as_deref() {
        Some(u) => match crate::act::sinks::postgres::connect_config(u, dir) {
            Ok(c) => Some(c),
            Err(e) => {
                push(problems, &["url"], &e);
                None
            }
        },
        None => {
            push(problems, &["url"], "is required for kind = \"postgres\"");
            None
        }
    };
    let max_rows = raw.max_rows.unwrap_or(100);
    if max_rows == 0 {
        push(problems, &["max_rows"], "must be at least 1");
    }
    Some(PostgresConfig {
        name: name.to_string(),
        connect: connect?,
        timeout,
        max_rows,
    })
}

/// The kind of each declared connector, read from the raw entries (for
/// checking the steps that use them).
pub fn kinds(raw: &BTreeMap<String, toml::Value>) -> BTreeMap<String, String> {
    raw.iter()
        .filter_map(|(name, v)| {
            let kind = v.get("kind")?.as_str()?;
            Some((name.clone(), kind.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ConnectorConfig, Problems> {
        let raw: RawConnector = toml::from_str(text).unwrap();
        ConnectorConfig::load("c", raw, Path::new("/"))
    }

    fn keys(problems: &Problems) -> Vec<String> {
        problems.iter().map(|(k, _)| k.join(".")).collect()
    }

    #[test]
    fn http_needs_a_base_url_and_known_auth() {
        let e = load("kind = \"http\"\nmax_rows = 3\n[auth]\nkind = \"magic\"").unwrap_err();
        assert_eq!(keys(&e), ["max_rows", "base_url", "auth.kind"]);
    }

    #[test]
    fn secrets_must_be_references() {
        let e = load(
            "kind = \"http\"\nbase_url = \"http://x\"\n[auth]\nkind = \"bearer\"\ntoken = \"abc\"",
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["auth.token"]);
        assert!(!e[0].1.contains("abc"));
        let e = load(
            "kind = \"http\"\nbase_url = \"http://x\"\n[auth]\nkind = \"oauth2_client_credentials\"\n\
             token_url = \"http://x/t\"\nclient_secret = \"env:SEAM_TEST_UNSET_SECRET\"",
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["auth.client_id", "auth.client_secret"]);
    }

    #[test]
    fn postgres_refuses_http_keys() {
        let e = load("kind = \"postgres\"\nbase_url = \"http://x\"\nurl = \"plain\"").unwrap_err();
        assert_eq!(keys(&e), ["base_url", "url"]);
    }
}
