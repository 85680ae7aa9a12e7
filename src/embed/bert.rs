//! BERT on candle (CPU, f32): the tokenizer and the model of one folder.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer};

use super::pool::mean_pool;
use super::{EmbedError, Embedded};

/// Texts per forward pass: bounds the activations held at once.
const BATCH: usize = 32;

pub(super) struct Bert {
    model: BertModel,
    tokenizer: Tokenizer,
    dims: usize,
}

impl Bert {
    pub(super) fn load(dir: &Path) -> Result<Bert, EmbedError> {
        let config_path = dir.join("config.json");
        let text = read(&config_path)?;
        let config: Config = serde_json::from_slice(&text).map_err(|e| EmbedError::BadFile {
            path: config_path.clone(),
            message: e.to_string(),
        })?;
        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer =
            Tokenizer::from_file(&tokenizer_path).map_err(|e| EmbedError::BadFile {
                path: tokenizer_path.clone(),
                message: e.to_string(),
            })?;
        // The packaged tokenizer pads every text to 128 tokens; padding to
        // the longest text of the batch gives the same vectors (padding is
        // masked out) for less work. Its truncation (128) is kept.
        let padding = tokenizer.get_padding().cloned().unwrap_or_default();
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..padding
        }));
        let weights_path = dir.join("model.safetensors");
        let weights = read(&weights_path)?;
        let bad_weights = |e: candle_core::Error| EmbedError::BadFile {
            path: weights_path.clone(),
            message: e.to_string(),
        };
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(bad_weights)?;
        let model = BertModel::load(vb, &config).map_err(bad_weights)?;
        Ok(Bert {
            model,
            tokenizer,
            dims: config.hidden_size,
        })
    }

    pub(super) fn dims(&self) -> usize {
        self.dims
    }

    pub(super) fn embed(&self, texts: &[&str]) -> Result<Embedded, EmbedError> {
        let mut vectors = Vec::with_capacity(texts.len());
        let mut tokens = 0u64;
        for chunk in texts.chunks(BATCH) {
            tokens += self.embed_batch(chunk, &mut vectors)?;
        }
        Ok(Embedded { vectors, tokens })
    }

    /// One forward pass; appends a vector per text, returns the tokens read.
    fn embed_batch(&self, texts: &[&str], out: &mut Vec<Vec<f32>>) -> Result<u64, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut types = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for e in &encodings {
            if e.get_ids().len() != len {
                return Err(EmbedError::Tokenizer(
                    "the batch was not padded to one length".into(),
                ));
            }
            ids.extend_from_slice(e.get_ids());
            types.extend_from_slice(e.get_type_ids());
            mask.extend_from_slice(e.get_attention_mask());
        }
        let model_err = |e: candle_core::Error| EmbedError::Model(e.to_string());
        let shape = (texts.len(), len);
        let ids_t = Tensor::from_vec(ids, shape, &Device::Cpu).map_err(model_err)?;
        let types_t = Tensor::from_vec(types, shape, &Device::Cpu).map_err(model_err)?;
        let mask_t = Tensor::from_vec(mask.clone(), shape, &Device::Cpu).map_err(model_err)?;
        let hidden = self
            .model
            .forward(&ids_t, &types_t, Some(&mask_t))
            .and_then(|t| t.to_vec3::<f32>())
            .map_err(model_err)?;
        let mut tokens = 0u64;
        for (i, rows) in hidden.iter().enumerate() {
            let row_mask = &mask[i * len..(i + 1) * len];
            tokens += row_mask.iter().map(|&m| u64::from(m)).sum::<u64>();
            out.push(mean_pool(rows, row_mask));
        }
        Ok(tokens)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
    std::fs::read(path).map_err(|source| EmbedError::Read {
        path: path.to_path_buf(),
        source,
    })
}
