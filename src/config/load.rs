//! Stage two: check every entry, resolve files, compile schemas and
//! templates, and collect *every* problem with its file, line and key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::budgets::{check_alerts, check_budget, check_limits};
use super::embeddings::{check_classifier_models, check_embeddings};
use super::locate::Locator;
use super::model::{Config, Pipeline, QueuePolicy, ServerConfig, StoreConfig, Synchronous};
use super::providers::{check_model, check_provider};
use super::raw::{
    RawAlerts, RawBudget, RawConfig, RawModel, RawPipeline, RawProvider, RawServer, RawStore,
};
use crate::act::sinks::SinkConfig;
use crate::flags::Flag;
use crate::infer::RetryPolicy;
use crate::infer::baseline::Baseline;
use crate::ingest::pii::{PiiPolicy, RawPii};
use crate::prompt::PromptTemplate;
use crate::schema::JsonSchema;

/// One problem in the config.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Dotted key path, e.g. `pipelines.triage.model`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found, in file order.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors while checking, each placed by its key path.
pub(super) struct Report<'a> {
    file: &'a Path,
    loc: &'a Locator,
    errors: Vec<ConfigError>,
}

impl Report<'_> {
    pub(super) fn at(&mut self, path: &[&str], message: impl Into<String>) {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        self.push(path, message.into());
    }

    fn push(&mut self, path: Vec<String>, message: String) {
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line: self.loc.line_of(&path),
            key: path.join("."),
            message,
        });
    }

    /// Deserialise one entry on its own, so its error names a key inside it.
    /// Unknown keys are reported and dropped, and the entry is tried again,
    /// so that every misspelt key is listed, not only the first.
    pub(super) fn entry<T: DeserializeOwned>(
        &mut self,
        prefix: &[&str],
        value: &toml::Value,
    ) -> Option<T> {
        let mut value = value.clone();
        for _ in 0..32 {
            let Ok(text) = toml::to_string(&value) else {
                self.at(prefix, "must be a table");
                return None;
            };
            let e = match toml::from_str::<T>(&text) {
                Ok(v) => return Some(v),
                Err(e) => e,
            };
            // A missing field belongs to the entry itself, not to a key in it.
            let sub = match e.span() {
                Some(span) if !e.message().starts_with("missing field") => {
                    Locator::new(&text).path_at(span.start)
                }
                _ => Vec::new(),
            };
            let mut path: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
            path.extend(sub.iter().cloned());
            let unknown = e.message().starts_with("unknown field");
            self.push(path, e.message().to_string());
            if !(unknown && remove_key(&mut value, &sub)) {
                return None;
            }
        }
        None
    }
}

/// Remove the key at `path` from a table; false if it is not there.
fn remove_key(value: &mut toml::Value, path: &[String]) -> bool {
    match path {
        [] => false,
        [last] => value
            .as_table_mut()
            .is_some_and(|t| t.remove(last).is_some()),
        [first, rest @ ..] => value
            .as_table_mut()
            .and_then(|t| t.get_mut(first))
            .is_some_and(|v| remove_key(v, rest)),
    }
}

/// Load and validate a config file.
pub fn load(file: &Path) -> Result<Config, ConfigErrors> {
    let one = |line, message: String| {
        ConfigErrors(vec![ConfigError {
            file: file.to_path_buf(),
            line,
            key: String::new(),
            message,
        }])
    };
    let text =
        std::fs::read_to_string(file).map_err(|e| one(None, format!("cannot read config: {e}")))?;
    let loc = Locator::new(&text);
    let raw: RawConfig = match toml::from_str(&text) {
        Ok(raw) => raw,
        Err(e) => {
            let (line, key) = match e.span() {
                Some(span) => (
                    Some(loc.line_at(span.start)),
                    loc.path_at(span.start).join("."),
                ),
                None => (None, String::new()),
            };
            return Err(ConfigErrors(vec![ConfigError {
                file: file.to_path_buf(),
                line,
                key,
                message: e.message().to_string(),
            }]));
        }
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut report = Report {
        file,
        loc: &loc,
        errors: Vec::new(),
    };

    let server = raw
        .server
        .as_ref()
        .map_or(Some(RawServer::default()), |v| {
            report.entry::<RawServer>(&["server"], v)
        })
        .and_then(|s| check_server(&mut report, s));
    let store = raw
        .store
        .as_ref()
        .map_or(Some(RawStore::default()), |v| {
            report.entry::<RawStore>(&["store"], v)
        })
        .and_then(|s| check_store(&mut report, &dir, s));

    let mut providers = BTreeMap::new();
    for (name, value) in &raw.providers {
        if let Some(p) = report.entry::<RawProvider>(&["providers", name], value)
            && let Some(p) = check_provider(&mut report, &dir, name, p, &raw.embeddings)
        {
            providers.insert(name.clone(), Arc::new(p));
        }
    }
    let connectors = load_connectors(&mut report, &dir, &raw.connectors);
    let kb = load_kb(&mut report, &raw);
    let embeddings = check_embeddings(&mut report, &dir, &raw.embeddings);
    let mut models = BTreeMap::new();
    for (name, value) in &raw.models {
        if let Some(m) = report.entry::<RawModel>(&["models", name], value)
            && let Some(m) = check_model(
                &mut report,
                name,
                m,
                &providers,
                &raw.models,
                &raw.providers,
            )
        {
            models.insert(name.clone(), Arc::new(m));
        }
    }
    let pii = check_pii(&mut report, &dir, raw.pii.as_ref());
    let mut pipelines = BTreeMap::new();
    for (name, value) in &raw.pipelines {
        if let Some(p) = report.entry::<RawPipeline>(&["pipelines", name], value)
            && let Some(p) = check_pipeline(&mut report, &dir, name, p, &raw, &pii)
        {
            pipelines.insert(name.clone(), Arc::new(p));
        }
    }

    let mut budgets = Vec::new();
    let mut seen = BTreeMap::new();
    for (i, value) in raw.budgets.iter().enumerate() {
        let idx = i.to_string();
        if let Some(b) = report.entry::<RawBudget>(&["budgets", &idx], value)
            && let Some(b) = check_budget(&mut report, i, b, &raw.pipelines, &mut seen)
        {
            budgets.push(b);
        }
    }
    let daily_cost = raw
        .alerts
        .as_ref()
        .map_or(Some(RawAlerts::default()), |v| {
            report.entry::<RawAlerts>(&["alerts"], v)
        })
        .and_then(|a| check_alerts(&mut report, a));

    match (server, store, daily_cost) {
        (Some(server), Some(store), Some(daily_cost)) if report.errors.is_empty() => Ok(Config {
            file: file.to_path_buf(),
            server,
            store,
            providers,
            models,
            pipelines,
            budgets,
            daily_cost,
            connectors,
            kb,
            embeddings,
        }),
        _ => {
            let mut errors = report.errors;
            errors.sort_by_key(|e| e.line.unwrap_or(0));
            Err(ConfigErrors(errors))
        }
    }
}

fn check_server(r: &mut Report<'_>, s: RawServer) -> Option<ServerConfig> {
    let listen = s.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen = match listen.parse() {
        Ok(a) => a,
        Err(e) => {
            r.at(
                &["server", "listen"],
                format!("`{listen}` is not an address like 127.0.0.1:8080: {e}"),
            );
            return None;
        }
    };
    Some(ServerConfig {
        listen,
        outbox_concurrency: s.outbox_concurrency.unwrap_or(16).max(1),
    })
}

fn check_store(r: &mut Report<'_>, dir: &Path, s: RawStore) -> Option<StoreConfig> {
    let synchronous = match s.synchronous.as_deref().unwrap_or("full") {
        "full" => Synchronous::Full,
        "normal" => Synchronous::Normal,
        other => {
            r.at(
                &["store", "synchronous"],
                format!("`{other}` is not one of `full`, `normal`"),
            );
            return None;
        }
    };
    Some(StoreConfig {
        path: dir.join(s.path.as_deref().unwrap_or(".seam/seam.db")),
        synchronous,
        group_commit_max: s.group_commit_max.unwrap_or(256).max(1),
    })
}

pub(super) fn check_url(r: &mut Report<'_>, path: &[&str], text: &str) -> Option<reqwest::Url> {
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        Ok(url) => {
            r.at(
                path,
                format!(
                    "`{text}` must be an http or https URL with a host (scheme `{}`)",
                    url.scheme()
                ),
            );
            None
        }
        Err(e) => {
            r.at(path, format!("`{text}` is not a valid URL: {e}"));
            None
        }
    }
}

fn load_schema(r: &mut Report<'_>, dir: &Path, path: &[&str], file: &str) -> Option<JsonSchema> {
    JsonSchema::load(&dir.join(file))
        .map_err(|e| r.at(path, e))
        .ok()
}

/// `[pii]`; every built-in detector when absent (or broken: its problems
/// are reported and the load fails anyway).
fn check_pii(r: &mut Report<'_>, dir: &Path, value: Option<&toml::Value>) -> Arc<PiiPolicy> {
    let raw = match value {
        Some(v) => match r.entry::<RawPii>(&["pii"], v) {
            Some(raw) => raw,
            None => return Arc::default(),
        },
        None => return Arc::default(),
    };
    PiiPolicy::load(&raw, dir).unwrap_or_else(|problems| {
        for (sub, message) in problems {
            let mut path = vec!["pii".to_string()];
            path.extend(sub);
            r.push(path, message);
        }
        Arc::default()
    })
}

fn check_pipeline(
    r: &mut Report<'_>,
    dir: &Path,
    name: &str,
    p: RawPipeline,
    raw: &RawConfig,
    pii: &Arc<PiiPolicy>,
) -> Option<Pipeline> {
    let key = |k: &'static str| -> [&str; 3] { ["pipelines", name, k] };
    let input_schema = load_schema(r, dir, &key("input_schema"), &p.input_schema);
    let output_schema = load_schema(r, dir, &key("output_schema"), &p.output_schema);
    let prompt = PromptTemplate::load(
        &dir.join(&p.prompt),
        p.system_prompt.as_deref().map(|s| dir.join(s)),
    )
    .map_err(|(which, e)| r.at(&key(if which { "system_prompt" } else { "prompt" }), e))
    .ok();
    if !raw.models.contains_key(&p.model) {
        r.at(
            &key("model"),
            format!("model `{}` is not declared in [models]", p.model),
        );
    }
    for (i, fallback) in p.fallbacks.iter().enumerate() {
        if !raw.models.contains_key(fallback) {
            let idx = i.to_string();
            r.at(
                &["pipelines", name, "fallbacks", &idx],
                format!("model `{fallback}` is not declared in [models]"),
            );
        }
    }
    if let Some(schema) = &output_schema {
        check_classifier_models(r, name, &p.model, &p.fallbacks, raw, &schema.source);
    }
    let flag = Flag::parse(p.flag.as_deref().unwrap_or("on"))
        .map_err(|e| r.at(&key("flag"), e))
        .ok();
    if let Some(ptr) = &p.event_id
        && !ptr.starts_with('/')
    {
        r.at(
            &key("event_id"),
            format!("`{ptr}` is not a JSON pointer (it must start with `/`)"),
        );
    }
    if let Some(t) = p.temperature
        && !(0.0..=2.0).contains(&t)
    {
        r.at(&key("temperature"), "must be between 0 and 2");
    }
    let retry = RetryPolicy {
        max_attempts: p.retry.max_attempts.unwrap_or(3).max(1),
        base_delay: Duration::from_millis(p.retry.base_delay_ms.unwrap_or(100)),
        max_delay: Duration::from_millis(p.retry.max_delay_ms.unwrap_or(2_000)),
    };
    if retry.base_delay > retry.max_delay {
        r.at(
            &["pipelines", name, "retry", "base_delay_ms"],
            "must not exceed max_delay_ms",
        );
    }
    let sink = SinkConfig::load(&p.sink, dir).map_err(|errs| {
        for (k, e) in errs {
            let mut path = vec![
                "pipelines".to_string(),
                name.to_string(),
                "sink".to_string(),
            ];
            path.extend(k);
            r.push(path, e);
        }
    });
    if let (Ok(sink), Some(schema)) = (&sink, &output_schema) {
        for (field, pointer) in sink.output_pointers() {
            if !schema_declares(&schema.source, pointer) {
                r.at(
                    &["pipelines", name, "sink", "fields", field],
                    format!("`/output{pointer}` is not a property declared by the output schema"),
                );
            }
        }
    }
    let baseline = match (p.baseline, &output_schema) {
        (Some(raw), Some(schema)) => match Baseline::load(raw, schema) {
            Ok(b) => Some(b),
            Err(problems) => {
                for (sub, message) in problems {
                    let mut path = vec![
                        "pipelines".to_string(),
                        name.to_string(),
                        "baseline".to_string(),
                    ];
                    path.extend(sub);
                    r.push(path, message);
                }
                None
            }
        },
        _ => None,
    };
    let limits = check_limits(r, name, p.limits);
    let queue = QueuePolicy {
        concurrency: p.queue.concurrency.unwrap_or(4),
        retry: RetryPolicy {
            max_attempts: p.queue.max_attempts.unwrap_or(5),
            base_delay: Duration::from_millis(p.queue.base_delay_ms.unwrap_or(1_000)),
            max_delay: Duration::from_millis(p.queue.max_delay_ms.unwrap_or(60_000)),
        },
    };
    if queue.concurrency == 0 {
        r.at(
            &["pipelines", name, "queue", "concurrency"],
            "must be at least 1",
        );
    }
    if queue.retry.max_attempts == 0 {
        r.at(
            &["pipelines", name, "queue", "max_attempts"],
            "must be at least 1",
        );
    }
    if queue.retry.base_delay > queue.retry.max_delay {
        r.at(
            &["pipelines", name, "queue", "base_delay_ms"],
            "must not exceed max_delay_ms",
        );
    }
    let webhook = match &p.webhook {
        Some(raw) => match crate::ingest::webhook::Verifier::load(raw, dir) {
            Ok(v) => Some(Some(v)),
            Err(problems) => {
                for (sub, message) in problems {
                    let mut path = vec![
                        "pipelines".to_string(),
                        name.to_string(),
                        "webhook".to_string(),
                    ];
                    path.extend(sub.into_iter().filter(|k| !k.is_empty()));
                    r.push(path, message);
                }
                None
            }
        },
        None => Some(None),
    };
    let drift = check_drift(r, name, &p.drift);
    let grounding = check_grounding(r, name, &p.grounding);
    // A section with nothing to apply to is most likely a misspelt mark.
    let declared = p.grounding.on_retraction.is_some()
        || p.grounding.min_quote_chars.is_some()
        || !p.grounding.allow.is_empty();
    if let Some(schema) = &output_schema
        && declared
        && !crate::output::grounding::declares_any(&schema.source)
    {
        r.at(
            &["pipelines", name, "grounding"],
            "the output schema marks no property `\"x-seam-grounded\": true` or `\"x-seam-citations\": true`",
        );
    }
    let dual = check_dual(r, name, p.dual.as_ref(), output_schema.as_ref(), raw);
    let review = super::review::check(r, name, &p.review, output_schema.as_ref());
    let eval = crate::eval::EvalPolicy::load(&p.eval, output_schema.as_ref().map(|s| &s.source))
        .unwrap_or_else(|problems| {
            for (sub, message) in problems {
                let mut path = vec!["pipelines".into(), name.into(), "eval".into()];
                path.extend(sub);
                r.push(path, message);
            }
            crate::eval::EvalPolicy::default()
        });
    let window = check_window(r, name, &p.window);
    let pii = match &p.pii {
        Some(o) => pii.with_override(o).map_err(|problems| {
            for (sub, message) in problems {
                let mut path = vec!["pipelines".to_string(), name.to_string(), "pii".to_string()];
                path.extend(sub);
                r.push(path, message);
            }
        }),
        None => Ok(pii.clone()),
    };
    let context = check_context(r, name, p.context, raw);
    let normalize = match &p.normalize {
        Some(raw) => crate::ingest::normalize::Normalizer::load(raw).map_err(|problems| {
            for (sub, message) in problems {
                let mut path = vec!["pipelines".into(), name.into(), "normalize".into()];
                path.extend(sub);
                r.push(path, message);
            }
        }),
        None => Ok(crate::ingest::normalize::Normalizer::default()),
    };
    // A misspelt pointer would silently normalise nothing.
    if let (Ok(_), Some(schema), Some(raw)) = (&normalize, &input_schema, &p.normalize) {
        for ptr in raw.fields.keys() {
            let literal = !ptr.contains('*') && !ptr.contains('~');
            if literal && !schema_declares(&schema.source, ptr) {
                r.at(
                    &["pipelines", name, "normalize", "fields", ptr],
                    format!("`{ptr}` is not a property declared by the input schema"),
                );
            }
        }
    }
    let mut models = vec![p.model];
    models.extend(p.fallbacks);
    Some(Pipeline {
        name: name.to_string(),
        description: p.description,
        input_schema: input_schema?,
        prompt: prompt?,
        models,
        output_schema: output_schema?,
        max_output_tokens: p.max_output_tokens.unwrap_or(1024),
        temperature: p.temperature.unwrap_or(0.0),
        flag: flag?,
        event_id: p.event_id,
        retry,
        max_repairs: p.retry.max_repairs.unwrap_or(2),
        request_timeout: p.timeouts.request_ms.map(Duration::from_millis),
        run_timeout: Duration::from_millis(p.timeouts.run_ms.unwrap_or(60_000)),
        baseline,
        queue,
        limits,
        webhook: webhook?,
        drift,
        window,
        pii: pii.ok()?,
        context: context?,
        normalize: normalize.ok()?,
        grounding,
        dual,
        review,
        eval,
        sink: sink.ok()?,
    })
}

fn check_window(
    r: &mut Report<'_>,
    name: &str,
    raw: &[super::raw::RawWindowField],
) -> Vec<crate::prompt::window::WindowField> {
    use crate::prompt::window::{Strategy, WindowField};
    let mut fields = Vec::new();
    for (i, f) in raw.iter().enumerate() {
        let index = i.to_string();
        let at = |key: &'static str| ["pipelines", name, "window", "", key];
        let mut place = |key: &'static str, message: String| {
            let mut path: Vec<&str> = at(key).to_vec();
            path[3] = &index;
            r.at(&path, message);
        };
        if !f.pointer.starts_with('/') {
            place(
                "pointer",
                format!(
                    "`{}` is not a JSON pointer into the input (like `/history`)",
                    f.pointer
                ),
            );
            continue;
        }
        let Some(strategy) = Strategy::parse(&f.strategy) else {
            place(
                "strategy",
                format!(
                    "`{}` is not one of drop, truncate_middle, keep_newest",
                    f.strategy
                ),
            );
            continue;
        };
        fields.push(WindowField {
            pointer: f.pointer.clone(),
            strategy,
            priority: f.priority,
        });
    }
    fields
}

fn check_drift(
    r: &mut Report<'_>,
    name: &str,
    raw: &super::raw::RawDrift,
) -> crate::ingest::drift::DriftPolicy {
    use crate::ingest::drift::{DriftMode, DriftPolicy};
    let default = DriftPolicy::default();
    let mode = match raw.mode.as_deref() {
        None => default.mode,
        Some("observe") => DriftMode::Observe,
        Some("strict") => DriftMode::Strict,
        Some("off") => DriftMode::Off,
        Some(other) => {
            r.at(
                &["pipelines", name, "drift", "mode"],
                format!("`{other}` is not one of observe, strict, off"),
            );
            default.mode
        }
    };
    let learn_events = raw.learn_events.unwrap_or(default.learn_events);
    if learn_events == 0 {
        r.at(
            &["pipelines", name, "drift", "learn_events"],
            "must be at least 1",
        );
    }
    DriftPolicy { mode, learn_events }
}

fn check_grounding(
    r: &mut Report<'_>,
    name: &str,
    raw: &super::raw::RawGrounding,
) -> crate::output::grounding::GroundingPolicy {
    use crate::output::grounding::{GroundingPolicy, OnRetraction};
    let default = GroundingPolicy::default();
    let on_retraction = match raw.on_retraction.as_deref() {
        None => default.on_retraction,
        Some("review") => OnRetraction::Review,
        Some("act") => OnRetraction::Act,
        Some(other) => {
            r.at(
                &["pipelines", name, "grounding", "on_retraction"],
                format!("`{other}` is not one of review, act"),
            );
            default.on_retraction
        }
    };
    let min_quote_chars = raw.min_quote_chars.unwrap_or(default.min_quote_chars);
    if min_quote_chars == 0 {
        r.at(
            &["pipelines", name, "grounding", "min_quote_chars"],
            "must be at least 1",
        );
    }
    for entry in &raw.allow {
        let inner = entry.strip_prefix("*.").unwrap_or(entry);
        let body = inner.strip_suffix('*').unwrap_or(inner);
        if inner.is_empty() || inner.contains(['/', ' ']) || body.contains('*') {
            r.at(
                &["pipelines", name, "grounding", "allow"],
                format!(
                    "`{entry}` is not a domain (`docs.example.com`, `*.example.com`) or a source id (`kb:42`, `kb:*`)"
                ),
            );
        }
    }
    GroundingPolicy {
        on_retraction,
        min_quote_chars,
        allow: raw.allow.clone(),
    }
}

/// `[pipelines.NAME.dual]` and the output schema's `x-seam-dual` marks.
fn check_dual(
    r: &mut Report<'_>,
    name: &str,
    raw: Option<&super::raw::RawDual>,
    schema: Option<&crate::schema::JsonSchema>,
    config: &super::raw::RawConfig,
) -> crate::output::dual::DualPolicy {
    use crate::output::dual::{DualPolicy, OnDivergence, marked_fields};
    let fields = match schema.map(|s| marked_fields(&s.source)) {
        Some(Ok(fields)) => fields,
        Some(Err(errors)) => {
            for (at, message) in errors {
                r.at(
                    &["pipelines", name, "output_schema"],
                    format!("{at}: {message}"),
                );
            }
            Vec::new()
        }
        None => Vec::new(),
    };
    let Some(raw) = raw else {
        return DualPolicy {
            fields,
            ..DualPolicy::default()
        };
    };
    if schema.is_some() && fields.is_empty() {
        r.at(
            &["pipelines", name, "dual"],
            "the output schema marks no property `\"x-seam-dual\": RULE` (exact, numeric, set)",
        );
    }
    if let Some(m) = &raw.model
        && !config.models.contains_key(m)
    {
        r.at(
            &["pipelines", name, "dual", "model"],
            format!("model `{m}` is not declared under [models]"),
        );
    }
    if let Some(t) = raw.temperature
        && !(0.0..=2.0).contains(&t)
    {
        r.at(
            &["pipelines", name, "dual", "temperature"],
            "must be between 0 and 2",
        );
    }
    let on_divergence = match raw.on_divergence.as_deref() {
        None | Some("review") => OnDivergence::Review,
        Some("act") => OnDivergence::Act,
        Some(other) => {
            r.at(
                &["pipelines", name, "dual", "on_divergence"],
                format!("`{other}` is not one of review, act"),
            );
            OnDivergence::Review
        }
    };
    DualPolicy {
        fields,
        model: raw.model.clone(),
        temperature: raw.temperature,
        on_divergence,
    }
}

/// `[connectors.NAME]`, each checked on its own.
fn load_connectors(
    r: &mut Report<'_>,
    dir: &Path,
    raw: &BTreeMap<String, toml::Value>,
) -> BTreeMap<String, crate::connectors::ConnectorConfig> {
    use crate::connectors::{ConnectorConfig, RawConnector};
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        let Some(c) = r.entry::<RawConnector>(&["connectors", name], value) else {
            continue;
        };
        match ConnectorConfig::load(name, c, dir) {
            Ok(c) => {
                out.insert(name.clone(), c);
            }
            Err(problems) => {
                for (sub, message) in problems {
                    let mut path = vec!["connectors".to_string(), name.clone()];
                    path.extend(sub);
                    r.push(path, message);
                }
            }
        }
    }
    out
}

/// `[kb.NAME]`, each checked on its own against `[embeddings]`.
fn load_kb(r: &mut Report<'_>, raw: &RawConfig) -> BTreeMap<String, crate::kb::KbConfig> {
    use crate::kb::{KbConfig, RawKb};
    let embeddings: std::collections::BTreeSet<String> = raw.embeddings.keys().cloned().collect();
    let mut out = BTreeMap::new();
    for (name, value) in &raw.kb {
        let Some(k) = r.entry::<RawKb>(&["kb", name], value) else {
            continue;
        };
        match KbConfig::load(name, k, &embeddings, crate::kb::config::EMBED_BUILT) {
            Ok(k) => {
                out.insert(name.clone(), k);
            }
            Err(problems) => {
                for (sub, message) in problems {
                    let mut path = vec!["kb".to_string(), name.clone()];
                    path.extend(sub);
                    r.push(path, message);
                }
            }
        }
    }
    out
}

/// `[[pipelines.NAME.context]]`: each step against the declared connectors;
/// names unique (the template reads `context.NAME`).
fn check_context(
    r: &mut Report<'_>,
    name: &str,
    steps: Vec<crate::connectors::RawContextStep>,
    raw: &RawConfig,
) -> Option<Vec<crate::connectors::ContextStep>> {
    let kinds = crate::connectors::config::kinds(&raw.connectors);
    let kbs: std::collections::BTreeSet<String> = raw.kb.keys().cloned().collect();
    let mut out = Vec::new();
    let mut ok = true;
    for (i, step) in steps.into_iter().enumerate() {
        let idx = i.to_string();
        if out
            .iter()
            .any(|s: &crate::connectors::ContextStep| s.name == step.name)
        {
            r.at(
                &["pipelines", name, "context", &idx, "name"],
                format!("step `{}` is declared twice", step.name),
            );
            ok = false;
            continue;
        }
        match crate::connectors::ContextStep::load(step, &kinds, &kbs) {
            Ok(s) => out.push(s),
            Err(problems) => {
                ok = false;
                for (sub, message) in problems {
                    let mut path = vec![
                        "pipelines".to_string(),
                        name.to_string(),
                        "context".to_string(),
                        idx.clone(),
                    ];
                    path.extend(sub);
                    r.push(path, message);
                }
            }
        }
    }
    ok.then_some(out)
}

/// Whether an object schema declares the path `pointer` (e.g. `/category`)
/// through nested `properties`. Schemas that do not declare properties
/// (free-form objects) accept any path.
pub(super) fn schema_declares(schema: &serde_json::Value, pointer: &str) -> bool {
    let mut node = schema;
    for segment in pointer.split('/').skip(1) {
        let Some(props) = node.get("properties").and_then(|p| p.as_object()) else {
            return true;
        };
        match props.get(segment) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::schema_declares;
    use serde_json::json;

    #[test]
    fn output_pointers_must_be_declared() {
        let schema = json!({"type": "object", "properties": {
            "category": {"enum": ["a"]},
            "contact": {"type": "object", "properties": {"name": {"type": "string"}}},
            "extra": {"type": "object"}
        }});
        assert!(schema_declares(&schema, "/category"));
        assert!(schema_declares(&schema, "/contact/name"));
        assert!(
            schema_declares(&schema, "/extra/anything"),
            "free-form objects accept any path"
        );
        assert!(!schema_declares(&schema, "/categry"));
        assert!(!schema_declares(&schema, "/contact/email"));
        assert!(schema_declares(&json!({"type": "object"}), "/x"));
    }
}
