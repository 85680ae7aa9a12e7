//! `[[pipelines.NAME.context]]`: one step that fetches context through a
//! declared connector, after ingest and before the prompt.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::config::Problems;
use super::http::Paginate;
use super::postgres::check_sql;

/// The raw TOML of one step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContextStep {
    /// The template sees the result as `{{ context.NAME }}`.
    pub name: String,
    /// A `[connectors.*]` name (or `kb` instead).
    pub connector: Option<String>,
    /// A `[kb.*]` name: the step retrieves that knowledge base's chunks
    /// best matching `query` (instead of a connector).
    pub kb: Option<String>,
    /// `http`: appended to the connector's `base_url`.
    pub path: Option<String>,
    /// `http`: query parameters (a table); a string starting with `/input`
    /// is a JSON pointer into the original (validated, unredacted) input,
    /// anything else a literal. `kb`: the pointer to the question, e.g.
    /// `"/input/question"`.
    pub query: Option<RawQuery>,
    /// `kb`: how many chunks to retrieve, default 4 (at most 50).
    pub top_k: Option<u32>,
    /// `http`: how to follow pages (one request when absent).
    pub paginate: Option<RawPaginate>,
    /// `postgres`: one SELECT (or WITH … SELECT) with `$1`, `$2`, … placeholders.
    pub sql: Option<String>,
    /// `postgres`: the values of `$1`, `$2`, …: pointers or literals as for `query`.
    #[serde(default)]
    pub params: Vec<toml::Value>,
    /// Fail the run when this step fails, default false (the context value
    /// is then `null`).
    pub required: Option<bool>,
}

/// `query`: a table of parameters (`http`) or one pointer (`kb`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawQuery {
    Pointer(String),
    Params(BTreeMap<String, toml::Value>),
}

/// `paginate = { cursor = {…} }`, `{ link_header = true }` or `{ page = {…} }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPaginate {
    pub cursor: Option<RawCursor>,
    pub link_header: Option<bool>,
    pub page: Option<RawPage>,
    /// `link_header`: pointer to the items of a page, default: the body.
    pub items: Option<String>,
    /// Most pages fetched, default 10; more are left and the result is
    /// marked truncated in the audit.
    pub max_pages: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCursor {
    /// The query parameter carrying the cursor.
    pub param: String,
    /// Pointer to the next cursor in a page (absent, null or "" ends).
    pub next: String,
    /// Pointer to the items of a page.
    pub items: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPage {
    /// The query parameter carrying the page number.
    pub param: String,
    /// The first page's number, default 1.
    pub start: Option<u64>,
    /// Pointer to the items of a page; an empty page ends.
    pub items: String,
}

/// Where a query or SQL parameter's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSource {
    /// A JSON pointer into the original input (`/input` stripped).
    Input(String),
    Literal(Value),
}

impl ValueSource {
    fn parse(v: &toml::Value) -> Result<ValueSource, String> {
        if let toml::Value::String(s) = v
            && (s == "/input" || s.starts_with("/input/"))
        {
            return Ok(ValueSource::Input(s["/input".len()..].to_string()));
        }
        match v {
            toml::Value::Table(_) | toml::Value::Array(_) => {
                Err("must be a pointer into `/input` or a literal string, number or boolean".into())
            }
            toml::Value::Datetime(d) => Ok(ValueSource::Literal(Value::String(d.to_string()))),
            other => serde_json::to_value(other)
                .map(ValueSource::Literal)
                .map_err(|e| e.to_string()),
        }
    }

    /// The value for `input`; `None` when the pointer finds nothing.
    pub fn resolve<'a>(&'a self, input: &'a Value) -> Option<&'a Value> {
        match self {
            ValueSource::Input(p) => input.pointer(p).filter(|v| !v.is_null()),
            ValueSource::Literal(v) => Some(v),
        }
    }
}

/// What a checked step asks its connector for.
#[derive(Debug)]
pub enum StepRequest {
    Http {
        path: String,
        query: Vec<(String, ValueSource)>,
        paginate: Option<Paginate>,
    },
    Sql {
        sql: String,
        params: Vec<ValueSource>,
    },
    /// The `top_k` chunks of the knowledge base best matching the input's
    /// string at `query` (a pointer, `/input` stripped).
    Kb { query: String, top_k: usize },
}

#[derive(Debug)]
pub struct ContextStep {
    pub name: String,
    /// The connector's name, or the knowledge base's for a `kb` step.
    pub connector: String,
    pub required: bool,
    pub request: StepRequest,
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn push(problems: &mut Problems, path: &[&str], message: impl Into<String>) {
    problems.push((path.iter().map(|s| s.to_string()).collect(), message.into()));
}

fn pointer(problems: &mut Problems, path: &[&str], p: &str) {
    if !p.is_empty() && !p.starts_with('/') {
        push(
            problems,
            path,
            format!(
                "`{p}` is not a JSON pointer (it must start with `/`, or be empty for the whole body)"
            ),
        );
    }
}

impl ContextStep {
    /// Check one step against the declared connectors (`kinds`: name →
    /// kind) and knowledge bases. Paths in the problems are relative to
    /// the step.
    pub fn load(
        raw: RawContextStep,
        kinds: &BTreeMap<String, String>,
        kbs: &BTreeSet<String>,
    ) -> Result<ContextStep, Problems> {
        let mut problems = Problems::new();
        if !is_name(&raw.name) {
            push(
                &mut problems,
                &["name"],
                "must be letters, digits and `_`, not starting with a digit (templates read it as `context.NAME`)",
            );
        }
        let (source, kind) = match (&raw.connector, &raw.kb) {
            (Some(c), None) => (c.clone(), kinds.get(c).map(String::as_str)),
            (None, Some(k)) => {
                if !kbs.contains(k) {
                    push(
                        &mut problems,
                        &["kb"],
                        format!("knowledge base `{k}` is not declared in [kb]"),
                    );
                }
                (k.clone(), Some("kb"))
            }
            (Some(_), Some(_)) => {
                push(
                    &mut problems,
                    &["kb"],
                    "a step reads either a `connector` or a `kb`, not both",
                );
                return Err(problems);
            }
            (None, None) => {
                push(
                    &mut problems,
                    &[],
                    "name a `connector` (or a `kb`) for the step to read",
                );
                return Err(problems);
            }
        };
        let request = match kind {
            None => {
                push(
                    &mut problems,
                    &["connector"],
                    format!("connector `{source}` is not declared in [connectors]"),
                );
                None
            }
            Some("kb") => kb_request(&raw, &mut problems),
            Some("http") => http_request(&raw, &mut problems),
            Some("postgres") => sql_request(&raw, &mut problems),
            // The connector's own entry reports its bad kind.
            Some(_) => None,
        };
        match request {
            Some(request) if problems.is_empty() => Ok(ContextStep {
                name: raw.name,
                connector: source,
                required: raw.required.unwrap_or(false),
                request,
            }),
            _ => Err(problems),
        }
    }
}

fn http_request(raw: &RawContextStep, problems: &mut Problems) -> Option<StepRequest> {
    if raw.sql.is_some() {
        push(
            problems,
            &["sql"],
            "belongs to steps on a postgres connector",
        );
    }
    if !raw.params.is_empty() {
        push(
            problems,
            &["params"],
            "belongs to steps on a postgres connector",
        );
    }
    let path = raw.path.clone().unwrap_or_default();
    if !path.is_empty() && !path.starts_with('/') {
        push(problems, &["path"], format!("`{path}` must start with `/`"));
    }
    if path.contains(['?', '#']) {
        push(
            problems,
            &["path"],
            "put query parameters in `query`, not in the path",
        );
    }
    if raw.top_k.is_some() {
        push(problems, &["top_k"], "belongs to steps on a knowledge base");
    }
    let empty = BTreeMap::new();
    let params = match &raw.query {
        None => &empty,
        Some(RawQuery::Params(p)) => p,
        Some(RawQuery::Pointer(_)) => {
            push(
                problems,
                &["query"],
                "must be a table of query parameters on an http connector",
            );
            &empty
        }
    };
    let mut query = Vec::new();
    for (k, v) in params {
        match ValueSource::parse(v) {
            Ok(s) => query.push((k.clone(), s)),
            Err(e) => push(problems, &["query", k], e),
        }
    }
    let paginate = match &raw.paginate {
        None => None,
        Some(p) => paginate(p, params, problems),
    };
    Some(StepRequest::Http {
        path,
        query,
        paginate,
    })
}

fn paginate(
    p: &RawPaginate,
    query: &BTreeMap<String, toml::Value>,
    problems: &mut Problems,
) -> Option<Paginate> {
    let max_pages = p.max_pages.unwrap_or(10);
    if max_pages == 0 {
        push(problems, &["paginate", "max_pages"], "must be at least 1");
    }
    let chosen = [
        p.cursor.is_some(),
        p.link_header == Some(true),
        p.page.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() != 1 {
        push(
            problems,
            &["paginate"],
            "choose one of `cursor`, `link_header = true`, `page`",
        );
        return None;
    }
    if p.items.is_some() && p.link_header != Some(true) {
        push(
            problems,
            &["paginate", "items"],
            "belongs to `link_header`; `cursor` and `page` name their own `items`",
        );
    }
    let param_clash = |problems: &mut Problems, param: &str, sub: &str| {
        if query.contains_key(param) {
            push(
                problems,
                &["paginate", sub, "param"],
                format!("`{param}` is also set in `query`"),
            );
        }
    };
    if let Some(c) = &p.cursor {
        pointer(problems, &["paginate", "cursor", "next"], &c.next);
        pointer(problems, &["paginate", "cursor", "items"], &c.items);
        param_clash(problems, &c.param, "cursor");
        return Some(Paginate::Cursor {
            param: c.param.clone(),
            next: c.next.clone(),
            items: c.items.clone(),
            max_pages,
        });
    }
    if let Some(pg) = &p.page {
        pointer(problems, &["paginate", "page", "items"], &pg.items);
        param_clash(problems, &pg.param, "page");
        return Some(Paginate::Page {
            param: pg.param.clone(),
            start: pg.start.unwrap_or(1),
            items: pg.items.clone(),
            max_pages,
        });
    }
    let items = p.items.clone().unwrap_or_default();
    pointer(problems, &["paginate", "items"], &items);
    Some(Paginate::LinkHeader { items, max_pages })
}

/// Most chunks a `kb` step may ask for.
const MAX_TOP_K: u32 = 50;

fn kb_request(raw: &RawContextStep, problems: &mut Problems) -> Option<StepRequest> {
    for (key, set) in [
        ("path", raw.path.is_some()),
        ("paginate", raw.paginate.is_some()),
        ("sql", raw.sql.is_some()),
        ("params", !raw.params.is_empty()),
    ] {
        if set {
            push(problems, &[key], "does not apply to a knowledge-base step");
        }
    }
    let top_k = raw.top_k.unwrap_or(4);
    if !(1..=MAX_TOP_K).contains(&top_k) {
        push(
            problems,
            &["top_k"],
            format!("must be between 1 and {MAX_TOP_K}"),
        );
    }
    let query = match &raw.query {
        Some(RawQuery::Pointer(p)) if p == "/input" || p.starts_with("/input/") => {
            p["/input".len()..].to_string()
        }
        Some(RawQuery::Pointer(p)) => {
            push(
                problems,
                &["query"],
                format!("`{p}` must be a JSON pointer into the input, e.g. `/input/question`"),
            );
            return None;
        }
        Some(RawQuery::Params(_)) => {
            push(
                problems,
                &["query"],
                "must be one pointer into the input (e.g. `/input/question`), not a table",
            );
            return None;
        }
        None => {
            push(
                problems,
                &["query"],
                "is required on a knowledge-base step: the pointer to the question, e.g. `/input/question`",
            );
            return None;
        }
    };
    Some(StepRequest::Kb {
        query,
        top_k: top_k as usize,
    })
}

fn sql_request(raw: &RawContextStep, problems: &mut Problems) -> Option<StepRequest> {
    if raw.top_k.is_some() {
        push(problems, &["top_k"], "belongs to steps on a knowledge base");
    }
    for (key, set) in [
        ("path", raw.path.is_some()),
        ("query", raw.query.is_some()),
        ("paginate", raw.paginate.is_some()),
    ] {
        if set {
            push(problems, &[key], "belongs to steps on an http connector");
        }
    }
    let Some(sql) = &raw.sql else {
        push(problems, &["sql"], "is required on a postgres connector");
        return None;
    };
    let mut params = Vec::new();
    for (i, v) in raw.params.iter().enumerate() {
        match ValueSource::parse(v) {
            Ok(s) => params.push(s),
            Err(e) => push(problems, &["params", &i.to_string()], e),
        }
    }
    match check_sql(sql, params.len()) {
        Ok(sql) => Some(StepRequest::Sql { sql, params }),
        Err(e) => {
            push(problems, &["sql"], e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("api".to_string(), "http".to_string()),
            ("db".to_string(), "postgres".to_string()),
        ])
    }

    fn load(text: &str) -> Result<ContextStep, Problems> {
        let kbs = BTreeSet::from(["docs".to_string()]);
        ContextStep::load(toml::from_str(text).unwrap(), &kinds(), &kbs)
    }

    fn keys(problems: &Problems) -> Vec<String> {
        problems.iter().map(|(k, _)| k.join(".")).collect()
    }

    #[test]
    fn pointers_and_literals() {
        let s = load(
            "name = \"company\"\nconnector = \"api\"\npath = \"/c\"\n\
             query = { domain = \"/input/email_domain\", limit = 5, kind = \"lead\" }",
        )
        .unwrap();
        let StepRequest::Http { query, .. } = s.request else {
            panic!("not http")
        };
        assert_eq!(
            query,
            [
                (
                    "domain".to_string(),
                    ValueSource::Input("/email_domain".into())
                ),
                (
                    "kind".to_string(),
                    ValueSource::Literal(Value::from("lead"))
                ),
                ("limit".to_string(), ValueSource::Literal(Value::from(5))),
            ]
        );
        assert!(!s.required);
    }

    #[test]
    fn problems_name_their_keys() {
        let e = load("name = \"1x\"\nconnector = \"nope\"").unwrap_err();
        assert_eq!(keys(&e), ["name", "connector"]);
        let e = load(
            "name = \"x\"\nconnector = \"api\"\npath = \"c?x=1\"\nsql = \"SELECT 1\"\n\
             paginate = { cursor = { param = \"c\", next = \"next\", items = \"/d\" }, link_header = true }",
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["sql", "path", "path", "paginate"]);
        let e = load(
            "name = \"x\"\nconnector = \"db\"\npath = \"/c\"\nsql = \"DELETE FROM t WHERE id = $1\"\nparams = [\"/input/id\"]",
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["path", "sql"]);
    }

    #[test]
    fn kb_steps() {
        let s = load("name = \"docs\"\nkb = \"docs\"\nquery = \"/input/question\"").unwrap();
        assert_eq!(s.connector, "docs");
        let StepRequest::Kb { query, top_k } = s.request else {
            panic!("not kb")
        };
        assert_eq!((query.as_str(), top_k), ("/question", 4));
        let e = load(
            "name = \"d\"\nkb = \"nope\"\nquery = \"/question\"\ntop_k = 0\nsql = \"SELECT 1\"",
        )
        .unwrap_err();
        assert_eq!(keys(&e), ["kb", "sql", "top_k", "query"]);
        let e = load("name = \"d\"\nkb = \"docs\"\nconnector = \"api\"").unwrap_err();
        assert_eq!(keys(&e), ["kb"]);
        let e = load("name = \"d\"\nkb = \"docs\"\nquery = { q = \"/input/q\" }").unwrap_err();
        assert_eq!(keys(&e), ["query"]);
        let e =
            load("name = \"d\"\nconnector = \"api\"\nquery = \"/input/q\"\ntop_k = 3").unwrap_err();
        assert_eq!(keys(&e), ["top_k", "query"]);
        let e = load("name = \"d\"").unwrap_err();
        assert_eq!(keys(&e), [""]);
    }

    #[test]
    fn sql_steps_count_their_parameters() {
        let e = load(
            "name = \"x\"\nconnector = \"db\"\nsql = \"SELECT * FROM t WHERE a = $1 AND b = $2\"\nparams = [\"/input/a\"]",
        )
        .unwrap_err();
        assert!(e[0].1.contains("$2"), "{e:?}");
        assert!(
            load("name = \"x\"\nconnector = \"db\"\nsql = \"select 1;\"").is_ok(),
            "a trailing semicolon is fine"
        );
    }

    #[test]
    fn input_pointers_resolve_against_the_original_input() {
        let input = serde_json::json!({"a": {"b": "x"}, "n": null});
        assert_eq!(
            ValueSource::Input("/a/b".into()).resolve(&input),
            Some(&Value::from("x"))
        );
        assert_eq!(ValueSource::Input("/n".into()).resolve(&input), None);
        assert_eq!(ValueSource::Input("/zz".into()).resolve(&input), None);
    }
}
