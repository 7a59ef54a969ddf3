//! Segments: the records of up to [`SEGMENT_CAPACITY`] templates in one sealed file; the
//! body codec, and reading a committed segment back.
//!
//! Plaintext layout (little-endian, documented in docs/FORMAT.md):
//! ```text
//! u32 count | u32 dim | u32 meta_len | u32 zero
//! count × dim × f32            (raw block, 16-byte aligned within the plaintext)
//! meta_len bytes               (postcard: Vec<RecordMeta>, same order as the vectors)
//! ```

#![forbid(unsafe_code)]

use super::state::VaultState;
use super::{io_err, Vault};
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::storage::format::{self, ObjectHeader, Reader, HEADER_LEN};
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

/// A committed segment's records as decrypted: each stored template (normalised and, in
/// cancelable vaults, transformed) with its Facial ID, and the metadata in the same order.
/// Plaintext biometric data.
pub(super) struct DecryptedSegment {
    pub templates: Vec<(FacialId, Vec<f32>)>,
    pub metas: Vec<RecordMeta>,
}

impl Vault {
    /// Reads, authenticates and decodes committed segment `id`.
    pub(super) fn read_segment(&self, w: &VaultState, id: u64) -> Result<DecryptedSegment> {
        let s = w.segments.by_id.get(&id).ok_or_else(|| Error::corrupt("unknown segment"))?;
        let name = format::segment_file(id, s.generation);
        let bytes = self.storage.read(&name).map_err(|e| io_err(&*self.storage, &name, e))?;
        let count = count_of(&bytes)?;
        let d = w.config.dimension as usize;
        let h = ObjectHeader { vault_id: w.header.vault_id, object_id: id, generation: s.generation, count, dim: d as u32 };
        let body = format::open_object(format::SEGMENT_MAGIC, format::AAD_SEGMENT, &h, &bytes, &w.keys.sealer, &name)?;
        let dec = decode(&body, d, count as usize)?;
        let templates = dec
            .metas
            .iter()
            .enumerate()
            .map(|(i, m)| (FacialId::from_bytes(m.facial_id), dec.vectors[i * d..(i + 1) * d].to_vec()))
            .collect();
        Ok(DecryptedSegment { templates, metas: dec.metas })
    }
}

/// The record count in an object file's header.
fn count_of(bytes: &[u8]) -> Result<u32> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::corrupt("file is truncated inside its header"));
    }
    Ok(u32::from_le_bytes(bytes[48..52].try_into().expect("4 bytes")))
}
