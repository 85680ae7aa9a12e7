//! Delivering one action over HTTP; this sink alone decides which of its
//! failures are transient.

use serde_json::Value;

use super::HttpSinkConfig;
use crate::act::sinks::{DeliveryError, Receipt};

pub async fn deliver(
    config: &HttpSinkConfig,
    client: &reqwest::Client,
    body: &Value,
    key: &str,
) -> Result<Receipt, DeliveryError> {
    let mut req = client
        .request(config.method.clone(), config.url.clone())
        .timeout(config.timeout)
        .header("Idempotency-Key", key)
        .json(body);
    for (name, value) in &config.headers {
        req = req.header(name, value);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if resp.status().is_success() {
                return Ok(Receipt {
                    status: Some(status),
                });
            }
            let text: String = resp
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            Err(DeliveryError {
                // 408, 409 (in progress elsewhere), 425, 429 and 5xx may succeed later.
                transient: matches!(status, 408 | 409 | 425 | 429 | 500..=599),
                status: Some(status),
                reason: format!("the sink answered HTTP {status}"),
                detail: format!("HTTP {status}: {text}"),
            })
        }
        Err(e) => {
            let reason = if e.is_timeout() {
                "the delivery timed out"
            } else {
                "the connection to the sink failed"
            };
            Err(DeliveryError {
                transient: true,
                status: None,
                reason: reason.into(),
                detail: format!("{reason}: {}", e.without_url()),
            })
        }
    }
}
