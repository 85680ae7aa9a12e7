//! HTTP sink config, checked at load.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::Value;

use crate::act::sinks::fields::{self, FieldSource};
use crate::act::sinks::{SinkErrors, delivery_limits};
use crate::config::RawSink;
use crate::config::SecretRef;

#[derive(Debug)]
pub struct HttpSinkConfig {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    /// Resolved headers; secret ones are marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub fields: Vec<(String, FieldSource)>,
    pub max_attempts: u32,
    pub timeout: Duration,
}

/// Header names whose values must come from a secret reference.
fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "cookie"
        || ["token", "secret", "key", "password", "signature"]
            .iter()
            .any(|w| n.contains(w))
}

impl HttpSinkConfig {
    pub fn load(raw: &RawSink, dir: &Path) -> Result<HttpSinkConfig, SinkErrors> {
        let mut errors: SinkErrors = Vec::new();
        let mut err = |path: &[&str], msg: String| {
            errors.push((path.iter().map(|s| s.to_string()).collect(), msg))
        };
        let method = raw.method.as_deref().unwrap_or("POST").to_ascii_uppercase();
        let method = match method.as_str() {
            "POST" | "PUT" | "PATCH" => reqwest::Method::from_bytes(method.as_bytes()).ok(),
            other => {
                err(
                    &["method"],
                    format!("`{other}` is not one of POST, PUT, PATCH"),
                );
                None
            }
        };
        let url = match reqwest::Url::parse(&raw.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            Ok(u) => {
                err(
                    &["url"],
                    format!(
                        "`{}` must be an http or https URL with a host (scheme `{}`)",
                        raw.url,
                        u.scheme()
                    ),
                );
                None
            }
            Err(e) => {
                err(&["url"], format!("`{}` is not a valid URL: {e}", raw.url));
                None
            }
        };
        let mut headers = Vec::new();
        for (name, value) in raw.headers.iter().flatten() {
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
                err(&["headers", name], "is not a valid header name".into());
                continue;
            };
            let resolved = match SecretRef::parse(value, dir) {
                Some(Ok(r)) => r.resolve().map(|s| (s.expose().to_string(), true)),
                Some(Err(e)) => Err(e),
                None if is_sensitive(name) => Err(
                    "this header carries a secret: reference it as `env:NAME` or `file:/path`"
                        .into(),
                ),
                None => Ok((value.clone(), false)),
            };
            match resolved.and_then(|(v, secret)| {
                HeaderValue::from_str(&v)
                    .map(|mut hv| {
                        hv.set_sensitive(secret);
                        hv
                    })
                    .map_err(|_| "the value is not a valid header value".to_string())
            }) {
                Ok(hv) => headers.push((header, hv)),
                Err(e) => err(&["headers", name], e),
            }
        }
        let (max_attempts, timeout) = delivery_limits(raw, &mut errors);
        let fields = fields::parse(&raw.fields, &mut errors);
        match (method, url) {
            (Some(method), Some(url)) if errors.is_empty() => Ok(HttpSinkConfig {
                method,
                url,
                headers,
                fields,
                max_attempts,
                timeout,
            }),
            _ => Err(errors),
        }
    }

    /// The JSON body: each declared field from its pointer (null if absent).
    pub fn body(&self, input: &Value, output: &Value, run: &Value) -> Value {
        fields::body(&self.fields, input, output, run)
    }
}
