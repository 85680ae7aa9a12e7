//! The tenant a request is for, from its `Seam-Tenant` header: budgets and
//! cost reports are kept per tenant. Until per-tenant API keys exist, the
//! header is trusted as sent, so put seam behind something that sets it.

use axum::http::HeaderMap;

use crate::error::Error;
use crate::store::DEFAULT_TENANT;

pub const HEADER: &str = "seam-tenant";

/// The header's tenant, or the default tenant when there is none. A name is
/// 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
pub fn tenant_of(headers: &HeaderMap) -> Result<String, Error> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(DEFAULT_TENANT.to_string());
    };
    let name = value.to_str().unwrap_or("");
    let valid = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(name.to_string())
    } else {
        Err(Error::BadRequest(
            "header Seam-Tenant must be 1 to 64 ASCII letters, digits, `.`, `_` or `-`".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn names_are_checked_and_default() {
        let mut h = HeaderMap::new();
        assert_eq!(tenant_of(&h).unwrap(), "default");
        h.insert(HEADER, HeaderValue::from_static("acme-eu.1"));
        assert_eq!(tenant_of(&h).unwrap(), "acme-eu.1");
        h.insert(HEADER, HeaderValue::from_static("a b"));
        assert_eq!(tenant_of(&h).unwrap_err().status(), 400);
        h.insert(HEADER, HeaderValue::from_static(""));
        assert!(tenant_of(&h).is_err());
    }
}
