//! The hash link between audit records.

use crate::canonical::sha256_parts;

/// `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Hash of one record: SHA-256 over the previous hash and every stored
/// field, length-prefixed, so changing any byte of a record, reordering
/// records or removing one breaks every later link.
pub fn link(
    prev_hash: &str,
    seq: i64,
    run_id: Option<&str>,
    layer: &str,
    at: &str,
    body: &str,
) -> String {
    sha256_parts(&[
        prev_hash.as_bytes(),
        &seq.to_be_bytes(),
        run_id.unwrap_or("").as_bytes(),
        layer.as_bytes(),
        at.as_bytes(),
        body.as_bytes(),
    ])
}
