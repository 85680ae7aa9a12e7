//! Against the real model, fetched into `models/` on first use (the tests
//! fail, never skip, when that fails).

use std::path::{Path, PathBuf};

#[cfg(feature = "embed")]
use super::cosine;
use super::{EmbedError, Embedder};

/// all-MiniLM-L6-v2, fetched (sha256-checked) by scripts/fetch-model.sh.
pub(crate) fn model_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("models/all-minilm-l6-v2");
    if super::check_files(&dir).is_err() {
        let out = std::process::Command::new(root.join("scripts/fetch-model.sh"))
            .arg("all-minilm-l6-v2")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/fetch-model.sh all-minilm-l6-v2 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

#[test]
fn a_missing_file_is_named_with_the_fetch_script() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(err, EmbedError::MissingDir { .. }), "{err}");
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let err = Embedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains("scripts/fetch-model.sh all-minilm-l6-v2"), "{err}");
}

#[cfg(not(feature = "embed"))]
#[test]
fn without_the_feature_loading_says_how_to_build() {
    let err = Embedder::load(&model_dir()).unwrap_err().to_string();
    assert!(err.contains("--features embed"), "{err}");
}

#[cfg(feature = "embed")]
#[test]
fn similar_texts_are_closer_and_batches_match_single_texts() {
    let started = std::time::Instant::now();
    let e = Embedder::load(&model_dir()).unwrap();
    eprintln!("loaded in {:?}", started.elapsed());
    assert_eq!(e.dims(), 384);
    assert_eq!(e.model_name(), "all-minilm-l6-v2");
    let texts = [
        "refund my double charge",
        "billing question about a duplicate payment",
        "the app crashes on startup",
        "",
    ];
    let batch = e.embed(&texts).unwrap();
    assert_eq!(batch.vectors.len(), 4);
    for v in &batch.vectors {
        assert_eq!(v.len(), 384);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    }
    let [refund, billing, crash, _] = &batch.vectors[..] else {
        unreachable!()
    };
    let near = cosine(refund, billing);
    let far = cosine(refund, crash);
    assert!(near > far + 0.1, "refund~billing {near}, refund~crash {far}");
    // [CLS] and [SEP] around the five word pieces of the four words;
    // padding not counted.
    let one = e.embed(&["refund my double charge"]).unwrap();
    assert_eq!(one.tokens, 2 + 5, "{}", one.tokens);
    assert!(batch.tokens > one.tokens * 3);
    // Padding to the batch's longest text changes nothing.
    for (text, in_batch) in texts.iter().zip(&batch.vectors) {
        let alone = &e.embed(&[text]).unwrap().vectors[0];
        let diff = alone
            .iter()
            .zip(in_batch)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "{text:?}: {diff}");
    }
    assert_eq!(e.embed(&[]).unwrap().vectors.len(), 0);
}

#[cfg(feature = "embed")]
#[test]
fn long_texts_are_cut_at_128_tokens() {
    let e = Embedder::load(&model_dir()).unwrap();
    let long = "word ".repeat(1000);
    let out = e.embed(&[&long]).unwrap();
    assert_eq!(out.tokens, 128);
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Embedder>();
}
