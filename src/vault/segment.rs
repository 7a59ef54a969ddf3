//! Segment bodies: the records of up to [`SEGMENT_CAPACITY`] templates in one sealed file.
//!
//! Plaintext layout (little-endian, documented in docs/FORMAT.md):
//! ```text
//! u32 count | u32 dim | u32 meta_len | u32 zero
//! count × dim × f32            (raw block, 16-byte aligned within the plaintext)
//! meta_len bytes               (postcard: Vec<RecordMeta>, same order as the vectors)
//! ```

use crate::error::{Error, Result};
use crate::storage::format::Reader;
use serde::{Deserialize, Serialize};

/// Most templates one segment holds. A deletion rewrites one segment, so this bounds the
/// cost of a deletion commit (4096 × 512 × 4 B = 8 MiB for 512-d templates).
pub const SEGMENT_CAPACITY: usize = 4096;

/// Per-template metadata stored beside the vector.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct RecordMeta {
    pub facial_id: [u8; 16],
    pub enrolled_at: i64,
    pub last_interaction: i64,
    /// Consent receipt JSON exactly as accepted.
    pub consent_json: String,
    pub payload: Vec<u8>,
}

/// Encodes a segment body.
pub(crate) fn encode(dim: usize, vectors: &[&[f32]], metas: &[RecordMeta]) -> Vec<u8> {
    debug_assert_eq!(vectors.len(), metas.len());
    let meta = postcard::to_allocvec(metas).expect("record metadata always serialises");
    let mut out = Vec::with_capacity(16 + vectors.len() * dim * 4 + meta.len());
    out.extend_from_slice(&(vectors.len() as u32).to_le_bytes());
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for v in vectors {
        debug_assert_eq!(v.len(), dim);
        for x in *v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out.extend_from_slice(&meta);
    out
}

/// Decoded segment: vectors row-major and their metadata.
pub(crate) struct Decoded {
    pub vectors: Vec<f32>,
    pub metas: Vec<RecordMeta>,
}

/// Decodes and validates a segment body (never panics on any input).
pub(crate) fn decode(body: &[u8], dim: usize, expected_count: usize) -> Result<Decoded> {
    let mut r = Reader::new(body);
    let count = r.u32()? as usize;
    let d = r.u32()? as usize;
    let meta_len = r.u32()? as usize;
    let zero = r.u32()?;
    if count != expected_count || d != dim || zero != 0 || count > SEGMENT_CAPACITY {
        return Err(Error::corrupt("segment body header disagrees with the manifest"));
    }
    let vec_bytes = r.take(count * dim * 4)?;
    let meta_bytes = r.take(meta_len)?;
    if !r.rest().is_empty() {
        return Err(Error::corrupt("segment has trailing bytes"));
    }
    let vectors: Vec<f32> = vec_bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if vectors.iter().any(|x| !x.is_finite()) {
        return Err(Error::corrupt("segment holds a non-finite template value"));
    }
    let (metas, rest): (Vec<RecordMeta>, &[u8]) = postcard::take_from_bytes(meta_bytes)
        .map_err(|e| Error::corrupt(format!("segment metadata: {e}")))?;
    if !rest.is_empty() || metas.len() != count {
        return Err(Error::corrupt("segment metadata count disagrees"));
    }
    Ok(Decoded { vectors, metas })
}
