//! Why a knowledge-base operation failed. Messages name files, knowledge
//! bases and counts, never document text or queries.

use crate::error::ErrorClass;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("knowledge base `{0}` is not declared in [kb]")]
    Unknown(String),
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("`{0}` is not a folder")]
    NotAFolder(String),
    #[error("`{0}` is not valid UTF-8 text")]
    NotText(String),
    #[error("the embedder failed: {0}")]
    Embed(String),
    #[error(
        "chunk `{chunk}` has a {stored}-dimension vector but embedder `{embedder}` makes {made}: add the documents again"
    )]
    Dimensions {
        chunk: String,
        stored: usize,
        made: usize,
        embedder: String,
    },
    #[error("the query has no words")]
    EmptyQuery,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl KbError {
    pub fn class(&self) -> ErrorClass {
        match self {
            KbError::Store(StoreError::Corrupt(_)) => ErrorClass::Configuration,
            KbError::Store(_) => ErrorClass::Transient,
            KbError::Unknown(_) | KbError::Dimensions { .. } | KbError::Embed(_) => {
                ErrorClass::Configuration
            }
            KbError::Read { .. } | KbError::NotAFolder(_) | KbError::NotText(_) => {
                ErrorClass::Client
            }
            KbError::EmptyQuery => ErrorClass::Data,
        }
    }
}
