//! Checking `[providers.*]` and `[models.*]` entries.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::guard::check_guard;
use super::load::{Report, check_url};
use std::num::NonZeroU32;

use super::model::{LocalModelConfig, ModelConfig, ProviderConfig};
use super::raw::{RawModel, RawProvider};
use super::secret::SecretRef;
use crate::infer::prices::{self, Price};
use crate::infer::tokens::Tokenizer;
use crate::infer::{ProviderKind, StructuredMode};

pub(super) fn check_provider(
    r: &mut Report<'_>,
    dir: &Path,
    name: &str,
    p: RawProvider,
    declared_embeddings: &BTreeMap<String, toml::Value>,
) -> Option<ProviderConfig> {
    let key = |k: &'static str| -> [&str; 3] { ["providers", name, k] };
    let kind = ProviderKind::parse(&p.kind)
        .map_err(|e| r.at(&key("kind"), e))
        .ok()?;
    if let Err(e) = kind.available() {
        r.at(&key("kind"), e);
    }
    if kind == ProviderKind::Local {
        return check_local(r, dir, name, p);
    }
    if kind == ProviderKind::EmbeddingClassifier {
        return check_classifier(r, name, p, declared_embeddings);
    }
    if p.embeddings.is_some() {
        r.at(
            &key("embeddings"),
            format!(
                "only for `kind = \"embedding-classifier\"`, not `kind = \"{}\"`",
                p.kind
            ),
        );
    }
    for (field, set) in [
        ("path", p.path.is_some()),
        ("threads", p.threads.is_some()),
        ("context_size", p.context_size.is_some()),
    ] {
        if set {
            r.at(
                &["providers", name, field],
                format!("only for `kind = \"local\"`, not `kind = \"{}\"`", p.kind),
            );
        }
    }
    let base_url = match (p.base_url.as_deref(), kind.default_base_url()) {
        (Some(text), _) => check_url(r, &key("base_url"), text)
            .map(|u| u.as_str().trim_end_matches('/').to_string()),
        (None, Some(default)) => Some(default.to_string()),
        (None, None) => {
            r.at(
                &key("base_url"),
                format!("providers of kind `{}` need a base_url", p.kind),
            );
            None
        }
    };
    if kind.needs_api_version() && p.api_version.is_none() {
        r.at(
            &key("api_version"),
            "Azure OpenAI needs api_version, e.g. \"2024-10-21\"",
        );
    }
    if !kind.needs_api_version() && p.api_version.is_some() {
        r.at(
            &key("api_version"),
            "only `azure` providers take api_version",
        );
    }
    let api_key = match p
        .api_key
        .as_deref()
        .map(|k| SecretRef::parse_required(k, dir))
    {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            r.at(&key("api_key"), e);
            return None;
        }
        None => None,
    };
    Some(ProviderConfig {
        name: name.to_string(),
        kind,
        base_url: base_url?,
        api_key,
        api_version: p.api_version,
        timeout: Duration::from_millis(p.timeout_ms.unwrap_or(30_000)),
        local: None,
        embeddings: None,
    })
}

/// `kind = "embedding-classifier"`: an `[embeddings.NAME]` model instead
/// of a URL and a key.
fn check_classifier(
    r: &mut Report<'_>,
    name: &str,
    p: RawProvider,
    declared_embeddings: &BTreeMap<String, toml::Value>,
) -> Option<ProviderConfig> {
    for (field, set) in [
        ("base_url", p.base_url.is_some()),
        ("api_key", p.api_key.is_some()),
        ("api_version", p.api_version.is_some()),
        ("path", p.path.is_some()),
        ("threads", p.threads.is_some()),
        ("context_size", p.context_size.is_some()),
    ] {
        if set {
            r.at(
                &["providers", name, field],
                "not allowed for `kind = \"embedding-classifier\"`: it runs inside seam on the model named by `embeddings`",
            );
        }
    }
    let embeddings = match p.embeddings {
        Some(e) if declared_embeddings.contains_key(&e) => Some(e),
        Some(e) => {
            r.at(
                &["providers", name, "embeddings"],
                format!("`{e}` is not declared in [embeddings]"),
            );
            None
        }
        None => {
            r.at(
                &["providers", name],
                "missing field `embeddings` (an [embeddings.NAME] model), required for `kind = \"embedding-classifier\"`",
            );
            None
        }
    };
    Some(ProviderConfig {
        name: name.to_string(),
        kind: ProviderKind::EmbeddingClassifier,
        base_url: String::new(),
        api_key: None,
        api_version: None,
        timeout: Duration::from_millis(p.timeout_ms.unwrap_or(30_000)),
        local: None,
        embeddings: Some(embeddings?),
    })
}

/// `kind = "local"`: a GGUF file instead of a URL and a key.
fn check_local(
    r: &mut Report<'_>,
    dir: &Path,
    name: &str,
    p: RawProvider,
) -> Option<ProviderConfig> {
    for (field, set) in [
        ("base_url", p.base_url.is_some()),
        ("api_key", p.api_key.is_some()),
        ("api_version", p.api_version.is_some()),
    ] {
        if set {
            r.at(
                &["providers", name, field],
                "not allowed for `kind = \"local\"`: the model runs inside seam, with no network and no key",
            );
        }
    }
    let path = match &p.path {
        Some(file) => {
            let path = dir.join(file);
            check_gguf(&path)
                .map_err(|e| r.at(&["providers", name, "path"], e))
                .ok()
                .map(|()| path)
        }
        None => {
            r.at(
                &["providers", name],
                "missing field `path` (the GGUF model file), required for `kind = \"local\"`",
            );
            None
        }
    };
    let threads = match p.threads.map(NonZeroU32::new) {
        Some(None) => {
            r.at(&["providers", name, "threads"], "must be greater than 0");
            None
        }
        Some(n) => Some(n),
        None => Some(None),
    };
    let context_size = NonZeroU32::new(
        p.context_size
            .unwrap_or(LocalModelConfig::DEFAULT_CONTEXT_SIZE),
    );
    if context_size.is_none() {
        r.at(
            &["providers", name, "context_size"],
            "must be greater than 0",
        );
    }
    Some(ProviderConfig {
        name: name.to_string(),
        kind: ProviderKind::Local,
        base_url: String::new(),
        api_key: None,
        api_version: None,
        timeout: Duration::from_millis(p.timeout_ms.unwrap_or(30_000)),
        local: Some(LocalModelConfig {
            path: path?,
            threads: threads?,
            context_size: context_size?,
        }),
        embeddings: None,
    })
}

/// The file exists, is readable and starts with the GGUF magic.
fn check_gguf(path: &Path) -> Result<(), String> {
    use std::io::Read;
    let hint = "(for the default model, run scripts/fetch-model.sh in the seam repository)";
    let cannot =
        |e: std::io::Error| format!("cannot read the model file {}: {e} {hint}", path.display());
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(cannot)?;
    if &magic != b"GGUF" {
        return Err(format!(
            "{} is not a GGUF model file (it does not start with `GGUF`)",
            path.display()
        ));
    }
    Ok(())
}

/// The window assumed for an `embedding-classifier` model.
const CLASSIFIER_WINDOW: u32 = 1 << 20;

pub(super) fn check_model(
    r: &mut Report<'_>,
    name: &str,
    mut m: RawModel,
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    declared_models: &BTreeMap<String, toml::Value>,
    declared_providers: &BTreeMap<String, toml::Value>,
) -> Option<ModelConfig> {
    let key = |k: &'static str| -> [&str; 3] { ["models", name, k] };
    if !declared_providers.contains_key(&m.provider) {
        r.at(
            &key("provider"),
            format!("provider `{}` is not declared in [providers]", m.provider),
        );
    }
    let kind = providers.get(&m.provider).map(|p| p.kind);
    if kind == Some(ProviderKind::EmbeddingClassifier) {
        // Offline and free; it reads any prompt (the embedder cuts its
        // input to 128 tokens), so no window needs declaring.
        m.input_price_per_mtok.get_or_insert(0);
        m.output_price_per_mtok.get_or_insert(0);
        m.context_window.get_or_insert(CLASSIFIER_WINDOW);
    }
    let builtin = kind.and_then(|k| prices::builtin(k.family(), &m.upstream));
    let price = match (m.input_price_per_mtok, m.output_price_per_mtok, builtin) {
        (Some(input), Some(output), b) => Some(Price {
            input,
            output,
            cache_read: m.cache_read_price_per_mtok.or(b.and_then(|b| b.cache_read)),
            cache_write: m
                .cache_write_price_per_mtok
                .or(b.and_then(|b| b.cache_write)),
            context_window: None,
        }),
        (None, None, Some(b)) => Some(Price {
            cache_read: m.cache_read_price_per_mtok.or(b.cache_read),
            cache_write: m.cache_write_price_per_mtok.or(b.cache_write),
            ..b
        }),
        (None, None, None) if kind.is_some() => {
            r.at(
                &key("upstream"),
                format!(
                    "`{}` is not in the built-in price table; give input_price_per_mtok and output_price_per_mtok (0 for free models)",
                    m.upstream
                ),
            );
            None
        }
        (None, None, None) => None,
        (Some(_), None, _) | (None, Some(_), _) => {
            r.at(
                &key(if m.input_price_per_mtok.is_none() {
                    "input_price_per_mtok"
                } else {
                    "output_price_per_mtok"
                }),
                "give both input_price_per_mtok and output_price_per_mtok, or neither",
            );
            None
        }
    };
    let context_window = m.context_window.or(builtin.and_then(|b| b.context_window));
    match context_window {
        Some(0) => r.at(&key("context_window"), "must be greater than 0"),
        None if price.is_some() => r.at(
            &key("context_window"),
            "the model's context window in tokens is needed (it is not in the built-in table)",
        ),
        _ => {}
    }
    let structured = match m.structured_output.as_deref().map(StructuredMode::parse) {
        Some(Ok(mode)) => Some(mode),
        Some(Err(e)) => {
            r.at(&key("structured_output"), e);
            None
        }
        None => None,
    };
    for (i, f) in m.fallbacks.iter().enumerate() {
        if !declared_models.contains_key(f) || f == name {
            let idx = i.to_string();
            r.at(
                &["models", name, "fallbacks", &idx],
                format!("model `{f}` is not another model declared in [models]"),
            );
        }
    }
    let guard = check_guard(
        r,
        name,
        m.breaker.take(),
        m.rate_limit.take(),
        m.retry_budget.take(),
    );
    Some(ModelConfig {
        guard: guard?,
        name: name.to_string(),
        provider: m.provider,
        tokenizer: Tokenizer::for_model(&m.upstream),
        upstream: m.upstream,
        price: price?,
        context_window: context_window.filter(|w| *w > 0)?,
        structured,
        fallbacks: m.fallbacks,
        cache_ttl: m.cache_ttl_secs.map(Duration::from_secs),
        max_cost_per_call: m.max_cost_micros_per_call,
    })
}
