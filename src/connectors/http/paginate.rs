//! Following pages: a cursor in the body, a `Link: <…>; rel="next"` header,
//! or a page number. Pure: each page's body and headers in, the items and
//! the next request out.

use serde_json::Value;

/// How a step follows pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paginate {
    Cursor {
        param: String,
        next: String,
        items: String,
        max_pages: u32,
    },
    LinkHeader {
        items: String,
        max_pages: u32,
    },
    Page {
        param: String,
        start: u64,
        items: String,
        max_pages: u32,
    },
}

/// Where the next page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Set (or replace) query parameter `.0` to `.1`.
    Param(String, String),
    /// Fetch this URL (from a Link header, already checked to be on the
    /// connector's origin).
    Url(reqwest::Url),
    Done,
}

impl Paginate {
    pub fn max_pages(&self) -> u32 {
        match self {
            Paginate::Cursor { max_pages, .. }
            | Paginate::LinkHeader { max_pages, .. }
            | Paginate::Page { max_pages, .. } => *max_pages,
        }
    }

    /// The parameter the first request carries (the first page number).
    pub fn first(&self) -> Option<(String, String)> {
        match self {
            Paginate::Page { param, start, .. } => Some((param.clone(), start.to_string())),
            _ => None,
        }
    }

    fn items_pointer(&self) -> &str {
        match self {
            Paginate::Cursor { items, .. }
            | Paginate::LinkHeader { items, .. }
            | Paginate::Page { items, .. } => items,
        }
    }

    /// The items of one page, or why there are none.
    pub fn items(&self, body: &Value) -> Result<Vec<Value>, String> {
        let at = self.items_pointer();
        match body.pointer(at) {
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(Value::Null) | None => Err(format!("a page has no items at `{at}`")),
            Some(_) => Err(format!("a page's `{at}` is not an array")),
        }
    }

    /// The next page after page number `index` (0 for the first), given
    /// that page's body, `Link` header value and item count.
    pub fn next(
        &self,
        index: u32,
        body: &Value,
        link: Option<&str>,
        items: usize,
        base: &reqwest::Url,
    ) -> Result<Next, String> {
        match self {
            Paginate::Cursor { param, next, .. } => Ok(match body.pointer(next) {
                Some(Value::String(s)) if !s.is_empty() => Next::Param(param.clone(), s.clone()),
                Some(Value::Number(n)) => Next::Param(param.clone(), n.to_string()),
                _ => Next::Done,
            }),
            Paginate::Page { param, start, .. } => Ok(if items == 0 {
                Next::Done
            } else {
                Next::Param(param.clone(), (start + u64::from(index) + 1).to_string())
            }),
            Paginate::LinkHeader { .. } => match link.and_then(next_link) {
                None => Ok(Next::Done),
                Some(target) => {
                    let url = base
                        .join(&target)
                        .map_err(|_| "the Link header's next URL is not valid".to_string())?;
                    if url.origin() != base.origin() {
                        // Credentials go with every page: never to another host.
                        return Err("the Link header points to another origin".into());
                    }
                    Ok(Next::Url(url))
                }
            },
        }
    }
}

/// The target of the `rel="next"` link of a `Link` header (RFC 8288):
/// `<https://api/x?page=2>; rel="next", <…>; rel="last"`.
pub fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        // The parameters run to the next link (the next `<` after a comma).
        let end = after
            .find(",")
            .and_then(|c| after[c..].find('<').map(|l| c + l))
            .unwrap_or(after.len());
        let params = &after[..end];
        let is_next = params.split(';').any(|p| {
            let Some((k, v)) = p.split_once('=') else {
                return false;
            };
            k.trim().eq_ignore_ascii_case("rel")
                && v.trim()
                    .trim_end_matches([',', ' '])
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.to_string());
        }
        rest = &after[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> reqwest::Url {
        reqwest::Url::parse("http://api.test/v1/").unwrap()
    }

    #[test]
    fn link_header_next() {
        let h = r#"<http://api.test/v1/items?page=3>; rel="last", <http://api.test/v1/items?page=2>; rel="next""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("http://api.test/v1/items?page=2")
        );
        assert_eq!(
            next_link(r#"</items?page=2>; title="a, b"; rel="prev next""#).as_deref(),
            Some("/items?page=2")
        );
        assert_eq!(next_link(r#"<http://x/1>; rel="prev""#), None);
        assert_eq!(
            next_link(r#"<http://x/2>; rel=next, <http://x/9>; rel="last""#).as_deref(),
            Some("http://x/2")
        );
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn link_header_stays_on_the_origin() {
        let p = Paginate::LinkHeader {
            items: String::new(),
            max_pages: 5,
        };
        let next = |h: &str| p.next(0, &json!([]), Some(h), 1, &base());
        assert_eq!(
            next(r#"</v1/items?page=2>; rel="next""#),
            Ok(Next::Url(
                reqwest::Url::parse("http://api.test/v1/items?page=2").unwrap()
            ))
        );
        assert!(next(r#"<http://evil.test/steal>; rel="next""#).is_err());
        assert_eq!(p.next(0, &json!([]), None, 1, &base()), Ok(Next::Done));
        assert_eq!(p.items(&json!([1, 2])), Ok(vec![json!(1), json!(2)]));
    }

    #[test]
    fn cursor_pages() {
        let p = Paginate::Cursor {
            param: "cursor".into(),
            next: "/next_cursor".into(),
            items: "/data".into(),
            max_pages: 5,
        };
        let page = json!({"data": [{"id": 1}], "next_cursor": "abc"});
        assert_eq!(p.items(&page), Ok(vec![json!({"id": 1})]));
        assert_eq!(
            p.next(0, &page, None, 1, &base()),
            Ok(Next::Param("cursor".into(), "abc".into()))
        );
        for end in [
            json!({"data": []}),
            json!({"data": [], "next_cursor": null}),
            json!({"data": [], "next_cursor": ""}),
        ] {
            assert_eq!(p.next(1, &end, None, 0, &base()), Ok(Next::Done));
        }
        assert!(p.items(&json!({"data": 3})).is_err());
        assert!(p.items(&json!({})).is_err());
    }

    #[test]
    fn page_numbers() {
        let p = Paginate::Page {
            param: "page".into(),
            start: 1,
            items: "/data".into(),
            max_pages: 5,
        };
        assert_eq!(p.first(), Some(("page".into(), "1".into())));
        assert_eq!(
            p.next(0, &json!({}), None, 2, &base()),
            Ok(Next::Param("page".into(), "2".into()))
        );
        assert_eq!(
            p.next(1, &json!({}), None, 2, &base()),
            Ok(Next::Param("page".into(), "3".into()))
        );
        assert_eq!(p.next(2, &json!({}), None, 0, &base()), Ok(Next::Done));
    }
}
