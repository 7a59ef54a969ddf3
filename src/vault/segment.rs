//! Segments: the records of up to [`SEGMENT_CAPACITY`] templates in one sealed file; the
//! body codec, and reading a committed segment back.
//!
//! Plaintext layout (little-endian, documented in docs/FORMAT.md):
//! ```text
//! u32 count | u32 dim | u32 meta_len | u32 meta_version
//! count × dim × f32            (raw block, 16-byte aligned within the plaintext)
//! meta_len bytes               (postcard: Vec<RecordMeta>, same order as the vectors)
//! ```
//! Meta version 1 (written now) records each consent's expiry and purpose mask beside the
//! receipt, so loading a record reads no receipt; version 0 (written before) did not.

#![forbid(unsafe_code)]

use super::state::VaultState;
use super::Vault;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::Sealer;
use crate::storage::format::{self, ObjectHeader, Reader, HEADER_LEN};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Most templates a segment written by this version holds. A deletion rewrites one
/// segment, so this bounds the cost of a deletion commit: 1024 × 512 × 4 B = 2 MiB of
/// 512-d templates plus their consent receipts, about 3 MB to read, decrypt, re-encrypt and
/// write. (fidex wrote up to 4096 before: 12 MB per deletion, about 35 ms of a 42 ms
/// deletion on Zen 4. A bulk commit now writes, and syncs, 4 × as many files.)
pub const SEGMENT_CAPACITY: usize = 1024;

/// Most templates a segment may hold when read: vaults written before the capacity became
/// 1024 keep their segments of up to 4096 until a deletion rewrites them (as segments of
/// at most [`SEGMENT_CAPACITY`]).
pub const MAX_SEGMENT_RECORDS: usize = 4096;

/// A template in stored form (normalised, and transformed in a cancelable vault):
/// plaintext biometric data, so the one buffer type for it wipes itself when dropped. Every
/// copy the vault makes of a template — decrypted segments, uncommitted enrollments,
/// prepared probes, rotation and commit buffers — is a `Template`.
pub(crate) type Template = Zeroizing<Vec<f32>>;

/// The record metadata version this code writes (the body header's fourth word).
pub(crate) const META_VERSION: u32 = 1;

/// Per-template metadata stored beside the vector; wiped when dropped (it holds the
/// subject's consent receipt and the application's payload).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub(crate) struct RecordMeta {
    pub facial_id: [u8; 16],
    pub enrolled_at: i64,
    pub last_interaction: i64,
    /// Consent receipt JSON exactly as accepted.
    pub consent_json: String,
    pub payload: Vec<u8>,
    /// The consent's expiry, as read from `consent_json` when it was accepted.
    pub consent_expires_at: Option<i64>,
    /// The vault purposes `consent_json` covers, bit i for the vault's purpose i (the
    /// template's purpose mask in the index, as the load of a version-0 segment or the
    /// enrollment computed it); no bit beyond the vault's purposes.
    pub purpose_mask: u64,
}

impl Drop for RecordMeta {
    fn drop(&mut self) {
        self.consent_json.zeroize();
        self.payload.zeroize();
    }
}

/// [`RecordMeta`] as meta version 0 wrote it: without the consent facts (a load reads
/// them from the receipt).
#[derive(Deserialize)]
struct RecordMetaV0 {
    facial_id: [u8; 16],
    enrolled_at: i64,
    last_interaction: i64,
    consent_json: String,
    payload: Vec<u8>,
}

impl Drop for RecordMetaV0 {
    fn drop(&mut self) {
        self.consent_json.zeroize();
        self.payload.zeroize();
    }
}

impl RecordMetaV0 {
    /// The record with its facts unknown (`purpose_mask` 0), its buffers moved.
    fn upgrade(mut self) -> RecordMeta {
        RecordMeta {
            facial_id: self.facial_id,
            enrolled_at: self.enrolled_at,
            last_interaction: self.last_interaction,
            consent_json: std::mem::take(&mut self.consent_json),
            payload: std::mem::take(&mut self.payload),
            consent_expires_at: None,
            purpose_mask: 0,
        }
    }
}

/// Encodes a segment body after `prefix` reserved bytes, into one buffer sized for the
/// body and `spare` more bytes (no reallocation leaves a copy).
fn encode(prefix: usize, spare: usize, dim: usize, vectors: &[&[f32]], metas: &[RecordMeta]) -> Zeroizing<Vec<u8>> {
    debug_assert_eq!(vectors.len(), metas.len());
    let meta_len = postcard::experimental::serialized_size(metas).expect("record metadata always serialises");
    let mut out = Zeroizing::new(Vec::with_capacity(prefix + 16 + vectors.len() * dim * 4 + meta_len + spare));
    out.resize(prefix, 0);
    out.extend_from_slice(&(vectors.len() as u32).to_le_bytes());
    out.extend_from_slice(&(dim as u32).to_le_bytes());
    out.extend_from_slice(&(meta_len as u32).to_le_bytes());
    out.extend_from_slice(&META_VERSION.to_le_bytes());
    for v in vectors {
        debug_assert_eq!(v.len(), dim);
        for x in *v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    let start = out.len();
    out.resize(start + meta_len, 0);
    postcard::to_slice(metas, &mut out[start..]).expect("sized above");
    out
}

/// Decodes and validates a segment body (never panics on any input).
fn decode(body: &[u8], dim: usize, expected_count: usize) -> Result<DecryptedSegment> {
    let mut r = Reader::new(body);
    let count = r.u32()? as usize;
    let d = r.u32()? as usize;
    let meta_len = r.u32()? as usize;
    let meta_version = r.u32()?;
    if count != expected_count || d != dim || meta_version > META_VERSION || count > MAX_SEGMENT_RECORDS {
        return Err(Error::corrupt("segment body header disagrees with the manifest"));
    }
    let vec_bytes = r.take(count * dim * 4)?;
    let meta_bytes = r.take(meta_len)?;
    if !r.rest().is_empty() {
        return Err(Error::corrupt("segment has trailing bytes"));
    }
    let meta_err = |e: postcard::Error| Error::corrupt(format!("segment metadata: {e}"));
    let (metas, rest): (Vec<RecordMeta>, &[u8]) = if meta_version == 0 {
        let (v0, rest): (Vec<RecordMetaV0>, &[u8]) = postcard::take_from_bytes(meta_bytes).map_err(meta_err)?;
        (v0.into_iter().map(RecordMetaV0::upgrade).collect(), rest)
    } else {
        postcard::take_from_bytes(meta_bytes).map_err(meta_err)?
    };
    if !rest.is_empty() || metas.len() != count {
        return Err(Error::corrupt("segment metadata count disagrees"));
    }
    let mut templates = Vec::with_capacity(count);
    for (row, m) in vec_bytes.chunks_exact(dim * 4).zip(&metas) {
        let mut t: Template = Zeroizing::new(Vec::with_capacity(dim));
        t.extend(row.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        if t.iter().any(|x| !x.is_finite()) {
            return Err(Error::corrupt("segment holds a non-finite template value"));
        }
        templates.push((FacialId::from_bytes(m.facial_id), t));
    }
    Ok(DecryptedSegment { templates, metas, meta_version })
}

/// A committed segment's records as decrypted: each stored template with its Facial ID,
/// and the metadata in the same order. Plaintext biometric data: every part wipes itself
/// when dropped.
pub(crate) struct DecryptedSegment {
    pub templates: Vec<(FacialId, Template)>,
    pub metas: Vec<RecordMeta>,
    /// The record metadata version it was written in: 0 = the consent facts
    /// (`consent_expires_at`, `purpose_mask`) are not stored and read as `None` / 0.
    pub meta_version: u32,
}

/// The segment codec: encodes and seals the records of one segment file. The plaintext body
/// exists only inside, in a buffer wiped before it is freed.
pub(crate) fn seal(h: &ObjectHeader, templates: &[&[f32]], metas: &[RecordMeta], sealer: &Sealer) -> Vec<u8> {
    let buf = encode(format::BODY_OFFSET, crate::key::TAG_LEN, h.dim as usize, templates, metas);
    format::seal_object_in_place(format::SEGMENT_MAGIC, format::AAD_SEGMENT, h, buf, sealer)
}

/// The segment codec: authenticates, decrypts and decodes one segment file (`h` as the
/// manifest says it must be). Every buffer of plaintext it makes is wiped when dropped.
pub(crate) fn open(bytes: Vec<u8>, h: &ObjectHeader, sealer: &Sealer, name: &str) -> Result<DecryptedSegment> {
    let buf = format::open_object_in_place(format::SEGMENT_MAGIC, format::AAD_SEGMENT, h, bytes, sealer, name)?;
    decode(&buf[format::BODY_OFFSET..], h.dim as usize, h.count as usize)
}

impl Vault {
    /// Reads, authenticates and decodes committed segment `id`.
    pub(super) fn read_segment(&self, w: &VaultState, id: u64) -> Result<DecryptedSegment> {
        let s = w.segments.by_id.get(&id).ok_or_else(|| Error::corrupt("unknown segment"))?;
        let name = format::segment_file(id, s.generation);
        let max = super::manifest::max_segment_bytes(MAX_SEGMENT_RECORDS as u32, w.config.dimension);
        let bytes = super::manifest::read_referenced(&*self.storage, &name, "segment", max)?;
        let count = count_of(&bytes)?;
        let d = w.config.dimension as usize;
        let h = ObjectHeader { vault_id: w.header.vault_id, object_id: id, generation: s.generation, count, dim: d as u32 };
        open(bytes, &h, &w.keys.sealer, &name)
    }
}

/// The record count in an object file's header.
fn count_of(bytes: &[u8]) -> Result<u32> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::corrupt("file is truncated inside its header"));
    }
    Ok(u32::from_le_bytes(bytes[48..52].try_into().expect("4 bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::VaultKey;

    /// A segment of `count` records of dimension 2 sealed for segment id 5.
    fn sealed(count: usize, sealer: &Sealer) -> (Vec<u8>, ObjectHeader) {
        let h = ObjectHeader { vault_id: [3; 16], object_id: 5, generation: 9, count: count as u32, dim: 2 };
        let rows: Vec<[f32; 2]> = (0..count).map(|i| [1.0, i as f32]).collect();
        let refs: Vec<&[f32]> = rows.iter().map(|r| &r[..]).collect();
        let metas: Vec<RecordMeta> = (0..count)
            .map(|i| RecordMeta {
                facial_id: [(i % 251) as u8; 16],
                enrolled_at: i as i64,
                last_interaction: i as i64,
                consent_json: "{}".into(),
                payload: Vec::new(),
                consent_expires_at: (i % 2 == 0).then_some(i as i64 * 1000),
                purpose_mask: 1 + (i as u64 % 3),
            })
            .collect();
        (seal(&h, &refs, &metas, sealer), h)
    }

    /// Segments written before the capacity became 1024 held up to 4096 records: those
    /// still open, with every record; one record more is refused as damage.
    #[test]
    #[cfg_attr(miri, ignore = "seals and opens 5 segments of up to 4,097 records: too slow under Miri; safe code")]
    fn segments_up_to_the_former_capacity_still_open() {
        const { assert!(SEGMENT_CAPACITY < MAX_SEGMENT_RECORDS) };
        let sealer = Sealer::new(&VaultKey::generate(), &[3; 16]);
        for count in [1, SEGMENT_CAPACITY, SEGMENT_CAPACITY + 1, MAX_SEGMENT_RECORDS] {
            let (bytes, h) = sealed(count, &sealer);
            let seg = open(bytes, &h, &sealer, "seg").unwrap_or_else(|e| panic!("{count} records: {e}"));
            assert_eq!(seg.metas.len(), count);
            assert_eq!(seg.metas[count - 1].enrolled_at, count as i64 - 1);
        }
        let (bytes, h) = sealed(MAX_SEGMENT_RECORDS + 1, &sealer);
        let err = open(bytes, &h, &sealer, "seg").err().expect("a segment over the limit is refused");
        assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    }

    /// Meta version 1 keeps each record's consent facts; a segment written in meta
    /// version 0 (no facts) still opens, with its facts unknown (mask 0) and every other
    /// field as written; an unknown version is damage.
    #[test]
    fn consent_facts_round_trip_and_version_0_segments_still_open() {
        let sealer = Sealer::new(&VaultKey::generate(), &[3; 16]);
        let (bytes, h) = sealed(3, &sealer);
        let seg = open(bytes, &h, &sealer, "seg").unwrap();
        assert_eq!(seg.meta_version, 1);
        let facts: Vec<(Option<i64>, u64)> = seg.metas.iter().map(|m| (m.consent_expires_at, m.purpose_mask)).collect();
        assert_eq!(facts, vec![(Some(0), 1), (None, 2), (Some(2000), 3)]);

        // A version-0 body, as fidex wrote it before: the same layout with word 3 = 0 and
        // metadata without the two fact fields.
        #[derive(Serialize)]
        struct V0<'a> {
            facial_id: [u8; 16],
            enrolled_at: i64,
            last_interaction: i64,
            consent_json: &'a str,
            payload: &'a [u8],
        }
        let v0 = [
            V0 { facial_id: [1; 16], enrolled_at: 10, last_interaction: 11, consent_json: "{\"a\":1}", payload: b"p" },
            V0 { facial_id: [2; 16], enrolled_at: 20, last_interaction: 21, consent_json: "{}", payload: b"" },
        ];
        let meta = postcard::to_allocvec(&v0[..]).unwrap();
        let body = |version: u32| {
            let mut b = vec![0u8; format::BODY_OFFSET];
            for w in [2u32, 2, meta.len() as u32, version] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            for x in [1.0f32, 0.0, 0.0, 1.0] {
                b.extend_from_slice(&x.to_le_bytes());
            }
            b.extend_from_slice(&meta);
            b
        };
        let h = ObjectHeader { vault_id: [3; 16], object_id: 5, generation: 9, count: 2, dim: 2 };
        let seal_body = |b: Vec<u8>| format::seal_object_in_place(format::SEGMENT_MAGIC, format::AAD_SEGMENT, &h, Zeroizing::new(b), &sealer);
        let seg = open(seal_body(body(0)), &h, &sealer, "seg").unwrap();
        assert_eq!(seg.meta_version, 0);
        assert_eq!(seg.templates[1].1.as_slice(), &[0.0, 1.0]);
        let m = &seg.metas[0];
        assert_eq!((m.facial_id, m.enrolled_at, m.last_interaction), ([1; 16], 10, 11));
        assert_eq!((m.consent_json.as_str(), m.payload.as_slice()), ("{\"a\":1}", &b"p"[..]));
        assert_eq!((m.consent_expires_at, m.purpose_mask), (None, 0));
        assert_eq!(seg.metas[1].consent_json, "{}");
        // The same version-0 metadata labelled version 1 does not decode; version 2 is unknown.
        for v in [1, 2] {
            let err = open(seal_body(body(v)), &h, &sealer, "seg").err().expect("refused");
            assert!(matches!(err, Error::Corrupt(_)), "version {v}: {err:?}");
        }
    }
}
