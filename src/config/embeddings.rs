//! Checking `[embeddings.NAME]` entries: the build can run them and the
//! model's folder holds its files.

use std::collections::BTreeMap;
use std::path::Path;

use super::load::Report;
use super::model::EmbeddingsConfig;
use super::raw::{RawConfig, RawEmbeddings};
use crate::embed::{self, EmbedError};
use crate::infer::classifier_plan as plan;

pub(super) fn check_embeddings(
    r: &mut Report<'_>,
    dir: &Path,
    raw: &BTreeMap<String, toml::Value>,
) -> BTreeMap<String, EmbeddingsConfig> {
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        let Some(e) = r.entry::<RawEmbeddings>(&["embeddings", name], value) else {
            continue;
        };
        if !cfg!(feature = "embed") {
            r.at(&["embeddings", name], EmbedError::NotBuilt.to_string());
            continue;
        }
        let path = dir.join(&e.path);
        if let Err(err) = embed::check_files(&path) {
            r.at(&["embeddings", name, "path"], err.to_string());
            continue;
        }
        out.insert(
            name.clone(),
            EmbeddingsConfig {
                name: name.clone(),
                path,
            },
        );
    }
    out
}

/// A pipeline whose chain reaches an `embedding-classifier` model must
/// have an output schema that model can fill; each such model's key gets
/// the reason when it cannot.
pub(super) fn check_classifier_models(
    r: &mut Report<'_>,
    pipeline: &str,
    model: &str,
    fallbacks: &[String],
    raw: &RawConfig,
    schema: &serde_json::Value,
) {
    let is_classifier = |m: &str| {
        raw.models
            .get(m)
            .and_then(|m| m.get("provider"))
            .and_then(toml::Value::as_str)
            .and_then(|p| raw.providers.get(p))
            .and_then(|p| p.get("kind"))
            .and_then(toml::Value::as_str)
            == Some("embedding-classifier")
    };
    let chain = std::iter::once((vec!["model".to_string()], model)).chain(
        fallbacks
            .iter()
            .enumerate()
            .map(|(i, f)| (vec!["fallbacks".to_string(), i.to_string()], f.as_str())),
    );
    for (sub, m) in chain {
        if !is_classifier(m) {
            continue;
        }
        if let Err(e) = plan(schema) {
            let mut path = vec!["pipelines", pipeline];
            path.extend(sub.iter().map(String::as_str));
            r.at(
                &path,
                format!("model `{m}` is an embedding classifier and cannot answer this pipeline's output schema: {e}"),
            );
        }
    }
}
