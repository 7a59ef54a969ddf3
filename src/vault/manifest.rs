//! The manifest (`fidex.vault`): its body, and loading a vault's whole state from it at
//! open, authenticating every file it references. Also the header read without a key, and
//! the removal of files no manifest references (leftovers of crashes and failed commits).

#![forbid(unsafe_code)]

use super::config::ConfigRecord;
use super::segment;
use super::state::{engine_err, Record, SegmentState, VaultState};
use super::{io_err, Vault, MAX_PAYLOAD_BYTES};
use crate::consent::ConsentReceipt;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::{self, Sealer, VaultKey};
use crate::log::audit::DeletionReason;
use crate::log::merkle::{self, Hash, MerkleLog};
use crate::log::smt::LiveSet;
use crate::storage::format::{self, ObjectHeader, VaultHeader, FLAG_CANCELABLE, MANIFEST_FILE};
use crate::storage::Storage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::Path;

/// A segment file the manifest references.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(super) struct SegmentRef {
    pub id: u64,
    pub generation: u64,
    pub count: u32,
}

/// An audit-log chunk file the manifest references.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(super) struct ChunkRef {
    pub seq: u64,
    pub generation: u64,
    pub count: u32,
}

/// The sealed body of the manifest (docs/FORMAT.md; postcard, fields in this order).
#[derive(Serialize, Deserialize)]
pub(super) struct ManifestBody {
    pub config: ConfigRecord,
    pub created_at: i64,
    pub next_object_id: u64,
    pub segments: Vec<SegmentRef>,
    /// Last-interaction times newer than the segment copy of their record
    /// (`RecordTable::interactions_in_manifest`).
    pub interactions: Vec<([u8; 16], i64)>,
    pub enrollments_total: u64,
    pub deletions_by_reason: Vec<(u32, u64)>,
    pub log_chunks: Vec<ChunkRef>,
    pub log_size: u64,
    pub log_root: [u8; 32],
    pub old_verification_keys: Vec<[u8; 32]>,
    /// Scale of the in-memory int8 quantisation (int8 storage only), so a reopened vault
    /// scores exactly as before.
    pub int8_scale: Option<f32>,
    /// Number of templates the int8 scale was last calibrated on (0: never; int8 only).
    pub int8_calibrated_rows: u64,
}

/// Reads the plaintext header of the vault at `path` without a key.
pub fn read_header(path: impl AsRef<Path>) -> Result<VaultHeader> {
    let p = path.as_ref().join(MANIFEST_FILE);
    let storage = crate::storage::FsStorage::new(path.as_ref());
    let bytes = storage.read_at_most(MANIFEST_FILE, MAX_MANIFEST_BYTES).map_err(|e| match e.kind() {
        // No manifest there, or the path is a file: as Vault::open says, not a vault.
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => Error::NotAVault(path.as_ref().display().to_string()),
        std::io::ErrorKind::InvalidData => Error::corrupt(format!("manifest: {e}")),
        _ => Error::io(p.display(), e),
    })?;
    VaultHeader::decode(&bytes)
}

impl Vault {
    /// Full integrity check: re-reads and authenticates every file, and compares with memory.
    /// A read-only handle first refreshes, and checks the generation it then holds (a
    /// commit in between is retried).
    pub fn check(&self) -> Result<()> {
        self.check_usable()?;
        if self.is_read_only() {
            for _ in 0..16 {
                self.refresh()?;
                let r = self.read();
                let bytes = read_manifest(&*self.storage)?;
                if VaultHeader::decode(&bytes)?.generation != r.segments.generation {
                    continue;
                }
                return match load_state_from(&*self.storage, &r.keys.key, &bytes) {
                    Ok(fresh) if fresh.records.by_id.len() == r.records.by_id.len() && fresh.log.tree.root() == r.log.tree.root() => Ok(()),
                    Ok(_) => Err(Error::corrupt("on-disk state disagrees with the open vault")),
                    Err(_) if VaultHeader::decode(&read_manifest(&*self.storage)?)?.generation != r.segments.generation => continue,
                    Err(e) => Err(e),
                };
            }
            return Err(Error::io_other("the vault changed during each attempt to check it"));
        }
        let r = self.read();
        let fresh = load_state(&*self.storage, &r.keys.key)?;
        let committed: usize = r.segments.by_id.values().map(|s| s.live as usize).sum();
        if fresh.records.by_id.len() != committed || fresh.log.tree.len() as usize != r.log.committed {
            return Err(Error::corrupt("on-disk state disagrees with the open vault"));
        }
        Ok(())
    }
}

impl VaultState {
    /// The segment and log-chunk files the last committed manifest references.
    pub(super) fn referenced_files(&self) -> impl Iterator<Item = String> + '_ {
        let segments = self.segments.by_id.iter().map(|(id, s)| format::segment_file(*id, s.generation));
        segments.chain(self.log.chunks.iter().map(|c| format::log_file(c.seq, c.generation)))
    }
}

/// Largest manifest file read (its body lists segments and at most
/// `MAX_MANIFEST_INTERACTIONS` interaction times: a few MiB at the quota's limit).
pub(super) const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Largest audit-log entry a chunk may hold (entries are small JSON events).
const MAX_LOG_ENTRY_BYTES: u64 = 128 << 10;
/// Bytes a file adds around its body: header, nonce, tag.
const FILE_OVERHEAD: u64 = format::HEADER_LEN as u64 + 64;

/// Largest size a segment of `count` records of dimension `dim` can have: the size check
/// made before reading one (an inflated file is refused without reading it).
pub(super) fn max_segment_bytes(count: u32, dim: u32) -> u64 {
    let per_record = u64::from(dim) * 4 + crate::consent::MAX_CONSENT_JSON as u64 + MAX_PAYLOAD_BYTES as u64 + 64;
    FILE_OVERHEAD + 16 + u64::from(count) * per_record
}

/// Largest size an audit-log chunk of `count` entries can have.
fn max_chunk_bytes(count: u32) -> u64 {
    FILE_OVERHEAD + 4 + u64::from(count) * (4 + MAX_LOG_ENTRY_BYTES)
}

/// Reads a file the manifest references, refusing one larger than `max` or not a regular
/// file before reading it; a missing one means the vault is damaged (or, for a reader, that
/// a writer committed since the manifest was read: the caller retries).
pub(super) fn read_referenced(storage: &dyn Storage, name: &str, what: &str, max: u64) -> Result<Vec<u8>> {
    storage.read_at_most(name, max).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::corrupt(format!("{what} {name} is missing")),
        std::io::ErrorKind::InvalidData => Error::corrupt(format!("{what}: {e}")),
        _ => io_err(storage, name, e),
    })
}

/// Reads the manifest file (bounded, regular files only).
pub(super) fn read_manifest(storage: &dyn Storage) -> Result<Vec<u8>> {
    storage.read_at_most(MANIFEST_FILE, MAX_MANIFEST_BYTES).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotAVault(storage.location()),
        std::io::ErrorKind::InvalidData => Error::corrupt(format!("manifest: {e}")),
        _ => io_err(storage, MANIFEST_FILE, e),
    })
}

/// Decodes the header of `bytes` and checks `key` against it. A key-check mismatch is a
/// wrong key unless the key opens a segment or log file of the vault: then the key is
/// right and the manifest header is damaged.
pub(super) fn check_key(storage: &dyn Storage, bytes: &[u8], key: &VaultKey) -> Result<VaultHeader> {
    let header = VaultHeader::decode(bytes)?;
    if header.key_check == key::key_check(key, &header.vault_id) {
        return Ok(header);
    }
    if key_opens_some_file(storage, key) {
        return Err(Error::corrupt(
            "the manifest header is damaged (its vault id or key-check bytes): the key opens the vault's other files",
        ));
    }
    Err(Error::WrongKey)
}

/// Whether `key` authenticates any segment or log chunk in `storage` (each under the vault
/// id its own header names). Reads at most a few files.
fn key_opens_some_file(storage: &dyn Storage, key: &VaultKey) -> bool {
    let Ok(names) = storage.list() else { return false };
    let candidates = names.iter().filter(|n| n.ends_with(".fxs") || n.ends_with(".fxl")).take(4);
    for name in candidates {
        let Ok(bytes) = storage.read_at_most(name, 1 << 30) else { continue };
        let Some(h) = format::peek_object_header(&bytes) else { continue };
        let sealer = Sealer::new(key, &h.0.vault_id);
        let (magic, aad) = if name.ends_with(".fxs") {
            (format::SEGMENT_MAGIC, format::AAD_SEGMENT)
        } else {
            (format::LOG_MAGIC, format::AAD_LOG)
        };
        if h.1 == *magic && format::open_object_in_place(magic, aad, &h.0, bytes, &sealer, name).is_ok() {
            return true;
        }
    }
    false
}

/// Opens and decodes the manifest body of `bytes` (its header already checked).
pub(super) fn decode_body(bytes: &[u8], sealer: &Sealer) -> Result<ManifestBody> {
    let plain = format::open_manifest(bytes, sealer)?;
    let (body, rest): (ManifestBody, &[u8]) =
        postcard::take_from_bytes(&plain).map_err(|e| Error::corrupt(format!("manifest body: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::corrupt("manifest body has trailing bytes"));
    }
    Ok(body)
}

/// Reads and decrypts the segment `s` refers to (bounded by its record count).
pub(super) fn read_segment_ref(storage: &dyn Storage, state: &VaultState, s: &SegmentRef) -> Result<segment::DecryptedSegment> {
    read_segment_with(storage, state.config.dimension, state.header.vault_id, &state.keys.sealer, s)
}

/// [`read_segment_ref`] from the parts of the state it needs.
fn read_segment_with(storage: &dyn Storage, d: u32, vault_id: [u8; 16], sealer: &Sealer, s: &SegmentRef) -> Result<segment::DecryptedSegment> {
    let name = format::segment_file(s.id, s.generation);
    let fb = read_referenced(storage, &name, "segment", max_segment_bytes(s.count, d))?;
    let h = ObjectHeader { vault_id, object_id: s.id, generation: s.generation, count: s.count, dim: d };
    segment::open(fb, &h, sealer, &name)
}

/// Per record of a decrypted segment: its consent's expiry and purpose tags. Parsing the
/// stored consent is most of the cost of loading a record, so loads do it in parallel.
pub(super) type ConsentFacts = Vec<(Option<i64>, u64)>;

/// Facial ID → SHA-256 of its consent JSON as stored, from the audit log's
/// `consent_recorded` entries (the latest one per ID).
pub(super) type RecordedConsents = std::collections::HashMap<[u8; 16], [u8; 32]>;

/// The [`ConsentFacts`] of `dec` under `config`. A segment of meta version 1 stores them
/// (written by fidex from the receipt it accepted, authenticated with the segment): they
/// are taken as stored, after checking that no mask names a purpose the vault does not
/// have. For version-0 segments: a stored receipt whose SHA-256 is the one
/// `recorded` holds for its Facial ID is byte for byte the text the full reader accepted
/// when it was enrolled (the log is authenticated, and a load whose log root disagrees
/// with the manifest fails whatever this returned), so only its expiry and purposes are read ([`crate::consent::StoredFacts`]); every
/// other stored receipt goes through the full reader, as before, and an unreadable one is
/// a damaged vault.
pub(super) fn consent_facts(
    config: &super::VaultConfig,
    dec: &segment::DecryptedSegment,
    recorded: Option<&RecordedConsents>,
) -> Result<ConsentFacts> {
    if dec.meta_version >= 1 {
        let all = config.all_purposes_mask();
        return dec
            .metas
            .iter()
            .map(|m| match m.purpose_mask & !all {
                0 => Ok((m.consent_expires_at, m.purpose_mask)),
                _ => Err(Error::corrupt("a stored purpose mask names a purpose the vault does not have")),
            })
            .collect();
    }
    dec.metas
        .iter()
        .map(|m| {
            let json = &m.consent_json;
            let known = recorded
                .and_then(|r| r.get(&m.facial_id))
                .is_some_and(|h| *h == <[u8; 32]>::from(sha2::Sha256::digest(json.as_bytes())));
            if let Some(f) = known.then(|| crate::consent::StoredFacts::read(json)).flatten() {
                return Ok((f.expires_at, config.tags_covered_by(|p| f.covers(p))));
            }
            let consent: ConsentReceipt = serde_json::from_str(json).map_err(|_| Error::corrupt("stored consent does not parse"))?;
            Ok((consent.expires_at, config.tags_covered_by(|p| consent.covers(p))))
        })
        .collect()
}

/// The log's consent hashes ([`RecordedConsents`]; run on the search pool).
fn recorded_consents(entries: &[Vec<u8>]) -> RecordedConsents {
    let list: Vec<([u8; 16], [u8; 32])> = entries.par_iter().filter_map(|e| recorded_consent(e)).collect();
    let mut recorded = RecordedConsents::with_capacity(list.len());
    recorded.extend(list); // in log order: the latest entry per ID wins
    recorded
}

/// After a load that took every record's consent facts as stored (segment meta version
/// 1), the receipts themselves were not read: each must be byte for byte one whose hash the
/// authenticated log recorded when the full reader accepted it at enrollment, or pass the
/// full reader now (as in [`consent_facts`] for version 0); otherwise the vault would open
/// with a record whose receipt cannot be read. On the search pool.
fn check_stored_receipts(state: &VaultState, recorded: &RecordedConsents) -> Result<()> {
    let records: Vec<(&FacialId, &Record)> = state.records.by_id.iter().collect();
    crate::search::pool::install(|| {
        records.par_iter().try_for_each(|(id, r)| match receipt_readable(id.as_bytes(), &r.consent_json, recorded) {
            true => Ok(()),
            false => Err(Error::corrupt("stored consent does not parse")),
        })
    })
}

/// Whether stored receipt `json` of `id` is one the log recorded (same SHA-256) or one the
/// full reader accepts.
fn receipt_readable(id: &[u8; 16], json: &str, recorded: &RecordedConsents) -> bool {
    recorded.get(id).is_some_and(|h| *h == <[u8; 32]>::from(sha2::Sha256::digest(json.as_bytes())))
        || serde_json::from_str::<ConsentReceipt>(json).is_ok()
}

/// The Facial ID and consent hash a `consent_recorded` log entry records; `None` for any
/// other entry (or one not in the form fidex writes: its receipts then take the full reader).
fn recorded_consent(entry: &[u8]) -> Option<([u8; 16], [u8; 32])> {
    #[derive(Deserialize)]
    struct View<'a> {
        event: &'a str,
        facial_id: Option<FacialId>,
        consent_sha256: Option<&'a str>,
    }
    // Most entries are of other kinds: skip them without parsing.
    const TAG: &[u8] = br#""event":"consent_recorded""#;
    if !entry.windows(TAG.len()).any(|w| w == TAG) {
        return None;
    }
    let v: View<'_> = serde_json::from_slice(entry).ok()?;
    if v.event != "consent_recorded" {
        return None;
    }
    let hash = key::from_hex(v.consent_sha256?)?.try_into().ok()?;
    Some((*v.facial_id?.as_bytes(), hash))
}

/// Adds the records of a decrypted segment to `state` (index rows, records, segment set);
/// returns their Facial IDs. A Facial ID already live is a damaged vault. `facts`: the
/// segment's [`consent_facts`] if already computed.
pub(super) fn add_segment(
    state: &mut VaultState,
    s: &SegmentRef,
    mut dec: segment::DecryptedSegment,
    facts: Option<ConsentFacts>,
) -> Result<Vec<[u8; 16]>> {
    let facts = match facts {
        Some(f) if f.len() == dec.metas.len() => f,
        _ => consent_facts(&state.config, &dec, None)?,
    };
    let mut ids = Vec::with_capacity(dec.metas.len());
    for (i, m) in dec.metas.iter_mut().enumerate() {
        let id = FacialId::from_bytes(m.facial_id);
        let (consent_expires_at, tags) = facts[i];
        if m.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::corrupt("stored payload exceeds the limit"));
        }
        if state.records.by_id.contains_key(&id) {
            return Err(Error::corrupt("a Facial ID appears twice"));
        }
        let row = state.records.index.push(&dec.templates[i].1, tags);
        state.records.row_ids.push(id);
        let rec = Record {
            row,
            segment: Some(s.id),
            enrolled_at: m.enrolled_at,
            last_interaction: m.last_interaction,
            consent_expires_at,
            consent_json: std::mem::take(&mut m.consent_json),
            payload: std::mem::take(&mut m.payload),
        };
        let retention = state.config.retention_secs;
        state.records.insert(id, rec, retention);
        ids.push(*id.as_bytes());
    }
    let facts = dec.meta_version >= 1;
    drop(dec); // wipes the decrypted templates and metadata
    state.segments.by_id.insert(s.id, SegmentState { generation: s.generation, live: s.count, needs_rewrite: false, facts });
    Ok(ids)
}

/// Reads, decrypts and adds the segments of a manifest at open: a few at a time in
/// parallel (bounded extra memory), added in manifest order (the same rows as a serial
/// load), group i added while group i + 1 is decrypted.
struct SegmentLoader<'a> {
    storage: &'a dyn Storage,
    segments: &'a [SegmentRef],
    vault_id: [u8; 16],
    sealer: Sealer,
    config: super::VaultConfig,
}

impl SegmentLoader<'_> {
    /// Loads every segment into `state`, their Facial IDs into `live_keys`. `recorded`:
    /// the log's consent hashes, for segments of meta version 0 ([`consent_facts`]);
    /// `None` when the manifest says every segment stores its facts (a version-0 segment
    /// is then damage).
    fn load(&self, state: &mut VaultState, live_keys: &mut Vec<[u8; 16]>, recorded: Option<&RecordedConsents>) -> Result<()> {
        let window = 2 * crate::search::pool::threads().max(1);
        let groups: Vec<&[SegmentRef]> = self.segments.chunks(window).collect();
        let decrypt_group = |group: &[SegmentRef]| -> Vec<Result<(segment::DecryptedSegment, ConsentFacts)>> {
            group
                .par_iter()
                .map(|s| {
                    let dec = read_segment_with(self.storage, self.config.dimension, self.vault_id, &self.sealer, s)?;
                    if recorded.is_none() && dec.meta_version == 0 {
                        return Err(Error::corrupt("a segment lacks the consent facts its manifest says every segment has"));
                    }
                    let facts = consent_facts(&self.config, &dec, recorded)?;
                    Ok((dec, facts))
                })
                .collect()
        };
        let mut pending = groups.first().map(|g| decrypt_group(g));
        let mut i = 0;
        while let Some(loaded) = pending.take() {
            let group = groups[i];
            let (next, added) = rayon::join(
                || groups.get(i + 1).map(|g| decrypt_group(g)),
                || -> Result<()> {
                    for (s, r) in group.iter().zip(loaded) {
                        let (dec, facts) = r?;
                        live_keys.extend(add_segment(state, s, dec, Some(facts))?);
                    }
                    Ok(())
                },
            );
            added?;
            pending = next;
            i += 1;
        }
        Ok(())
    }
}

/// Reads the entries of audit-log chunk `c`.
pub(super) fn read_chunk(storage: &dyn Storage, vault_id: [u8; 16], sealer: &Sealer, c: &ChunkRef) -> Result<Vec<Vec<u8>>> {
    let name = format::log_file(c.seq, c.generation);
    let fb = read_referenced(storage, &name, "audit log chunk", max_chunk_bytes(c.count))?;
    let h = ObjectHeader { vault_id, object_id: c.seq, generation: c.generation, count: c.count, dim: 0 };
    let plain = format::open_object_in_place(format::LOG_MAGIC, format::AAD_LOG, &h, fb, sealer, &name)?;
    let mut rd = format::Reader::new(&plain[format::BODY_OFFSET..]);
    let n = rd.u32()?;
    if n != c.count {
        return Err(Error::corrupt("audit log chunk count disagrees"));
    }
    let mut entries = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let len = rd.u32()? as usize;
        entries.push(rd.take(len)?.to_vec());
    }
    if !rd.rest().is_empty() {
        return Err(Error::corrupt("audit log chunk has trailing bytes"));
    }
    Ok(entries)
}

/// Loads the committed state of the vault in `storage`: the manifest, then every segment
/// and log chunk it references, each authenticated against the header the manifest implies.
pub(super) fn load_state(storage: &dyn Storage, key: &VaultKey) -> Result<VaultState> {
    let bytes = read_manifest(storage)?;
    load_state_from(storage, key, &bytes)
}

/// [`load_state`] from manifest bytes already read.
pub(super) fn load_state_from(storage: &dyn Storage, key: &VaultKey, bytes: &[u8]) -> Result<VaultState> {
    let header = check_key(storage, bytes, key)?;
    let sealer = Sealer::new(key, &header.vault_id);
    let body = decode_body(bytes, &sealer)?;
    drop(sealer);
    let config = body.config.to_config()?;
    if config.dimension != header.dimension
        || config.metric.code() != header.metric
        || config.storage.code() != header.storage
        || config.cancelable != (header.flags & FLAG_CANCELABLE != 0)
        || header.flags & !(FLAG_CANCELABLE | format::FLAG_TRANSFORM_2 | format::FLAG_CONSENT_FACTS) != 0
        || (header.flags & format::FLAG_TRANSFORM_2 != 0 && header.flags & FLAG_CANCELABLE == 0)
    {
        return Err(Error::corrupt("manifest header disagrees with its encrypted configuration"));
    }
    config.validate_for_build()?;
    let mut state = VaultState::new(header.clone(), config, key.clone(), body.created_at)?;
    state.segments.generation = header.generation;
    state.segments.next_object_id = body.next_object_id;
    state.records.enrollments_total = body.enrollments_total;
    for (code, n) in &body.deletions_by_reason {
        let r = DeletionReason::from_code(*code).ok_or_else(|| Error::corrupt("unknown deletion reason code"))?;
        state.records.deletions_by_reason.insert(r, *n);
    }
    state.keys.previous_verification_keys = body.old_verification_keys.clone();
    state.records.int8_calibrated_rows = body.int8_calibrated_rows;
    if let Some(scale) = body.int8_scale {
        if !state.records.index.set_int8_scale(scale) {
            return Err(Error::corrupt("manifest holds an invalid int8 scale"));
        }
    }
    // One allocation for all rows (the manifest is authenticated; the quota caps it anyway),
    // and an IVF backend trains once, on every row, after the load.
    let total: u64 = body.segments.iter().map(|s| u64::from(s.count)).sum();
    state.records.index.reserve(total.min(state.config.max_templates) as usize);
    state.records.index.set_auto_train(false).map_err(engine_err)?;
    // The audit log: its chunks are read in parallel and its entries hashed in parallel;
    // its tree is checked against the committed head before anything is returned (a log
    // that fails the check fails the open, whatever the segment load used from it).
    let vault_id = header.vault_id;
    let log_sealer = Sealer::new(key, &vault_id);
    let read_log = || -> Result<Vec<Vec<u8>>> {
        let chunks: Vec<Result<Vec<Vec<u8>>>> = body.log_chunks.par_iter().map(|c| read_chunk(storage, vault_id, &log_sealer, c)).collect();
        let mut entries = Vec::with_capacity(body.log_chunks.iter().map(|c| c.count as usize).sum::<usize>().min(1 << 28));
        for c in chunks {
            entries.extend(c?);
        }
        Ok(entries)
    };
    let hash_leaves = |entries: &[Vec<u8>]| entries.par_iter().map(|e| merkle::leaf_hash(e)).collect::<Vec<Hash>>();
    let mut seen = std::collections::HashSet::with_capacity(body.segments.len());
    for s in &body.segments {
        if s.id >= body.next_object_id || !seen.insert(s.id) || s.count == 0 {
            return Err(Error::corrupt("manifest lists an invalid segment"));
        }
    }
    let loader = SegmentLoader {
        storage,
        segments: &body.segments,
        vault_id,
        sealer: Sealer::new(key, &vault_id),
        config: state.config.clone(),
    };
    let mut live_keys = Vec::new();
    let (entries, tree, loaded) = if header.flags & format::FLAG_CONSENT_FACTS != 0 {
        // Every segment stores its consent facts: the segments need nothing from the log,
        // and both load side by side.
        let (log, loaded) = crate::search::pool::install(|| {
            rayon::join(
                || {
                    read_log().map(|entries| {
                        let (leaves, recorded) = rayon::join(|| hash_leaves(&entries), || recorded_consents(&entries));
                        (MerkleLog::from_leaves(leaves), recorded, entries)
                    })
                },
                || loader.load(&mut state, &mut live_keys, None),
            )
        });
        let (tree, recorded, entries) = log?;
        // The receipts were not read: each must be one the full reader accepted.
        let loaded = loaded.and_then(|()| check_stored_receipts(&state, &recorded));
        (entries, tree, loaded)
    } else {
        // Segments of meta version 0 remain: the log first, since its consent hashes decide
        // which stored receipts need the full reader; its tree is built beside the segments.
        let entries = crate::search::pool::install(read_log)?;
        let (leaves, recorded) = crate::search::pool::install(|| rayon::join(|| hash_leaves(&entries), || recorded_consents(&entries)));
        let (tree, loaded) = crate::search::pool::install(|| {
            rayon::join(|| MerkleLog::from_leaves(leaves), || loader.load(&mut state, &mut live_keys, Some(&recorded)))
        });
        (entries, tree, loaded)
    };
    drop(log_sealer);
    if tree.len() != body.log_size || tree.root() != body.log_root {
        return Err(Error::corrupt("audit log does not match the committed tree head"));
    }
    loaded?;
    state.log.tree = tree;
    state.records.index.set_auto_train(true).map_err(engine_err)?;
    state.log.live_set = LiveSet::from_keys(live_keys);
    state.adopt_manifest_interactions(&body.interactions)?;
    state.log.committed = entries.len();
    state.log.entries = entries;
    state.log.chunks = body.log_chunks;
    Ok(state)
}

impl VaultState {
    /// Adopts the manifest's last-interaction overlay (newer than the segment copies).
    pub(super) fn adopt_manifest_interactions(&mut self, interactions: &[([u8; 16], i64)]) -> Result<()> {
        self.records.interactions_in_manifest.clear();
        for (id, t) in interactions {
            let id = FacialId::from_bytes(*id);
            match self.records.by_id.get_mut(&id) {
                Some(r) => {
                    r.last_interaction = r.last_interaction.max(*t);
                    self.records.interactions_in_manifest.insert(id, *t);
                }
                None => return Err(Error::corrupt("interaction record for an unknown template")),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment_with(consent_json: &str) -> segment::DecryptedSegment {
        let meta = segment::RecordMeta {
            facial_id: [7; 16],
            enrolled_at: 1,
            last_interaction: 1,
            consent_json: consent_json.to_string(),
            payload: Vec::new(),
            consent_expires_at: None,
            purpose_mask: 0,
        };
        segment::DecryptedSegment { templates: Vec::new(), metas: vec![meta], meta_version: 0 }
    }

    /// Only a stored receipt whose hash the log recorded skips the full reader; any other
    /// goes through it, so a stored receipt the full reader refuses still fails the load.
    #[test]
    fn only_receipts_the_log_recorded_skip_the_full_reader() {
        let config = crate::vault::VaultConfig::new(2);
        let good = ConsentReceipt::explicit_at("s", "Acme", "https://a.example/p", &["identification"], 1000, 2000).unwrap();
        let good = serde_json::to_string(&good).unwrap();
        // Readable by the facts reader, refused by the full reader (no consentTimestamp).
        let broken = good.replacen("\"consentTimestamp\"", "\"consentTimetaspm\"", 1);
        assert!(ConsentReceipt::from_json(&broken).is_err());
        let hash = |s: &str| <[u8; 32]>::from(sha2::Sha256::digest(s.as_bytes()));
        let identification = config.purpose_bit("identification").unwrap();
        for json in [&good, &broken] {
            let seg = segment_with(json);
            let recorded: RecordedConsents = [([7; 16], hash(json))].into_iter().collect();
            let other: RecordedConsents = [([7; 16], hash("something else"))].into_iter().collect();
            // Recorded: facts only (even the broken text: its bytes are what was enrolled).
            assert_eq!(consent_facts(&config, &seg, Some(&recorded)).unwrap(), vec![(None, identification)]);
            // Not recorded, or recorded with another hash: the full reader decides.
            for r in [None, Some(&other), Some(&RecordedConsents::new())] {
                match consent_facts(&config, &seg, r) {
                    Ok(f) => {
                        assert!(std::ptr::eq(json, &good), "the broken receipt was accepted without the full reader");
                        assert_eq!(f, vec![(None, identification)]);
                    }
                    Err(e) => {
                        assert!(std::ptr::eq(json, &broken), "the good receipt was refused: {e}");
                        assert!(matches!(e, Error::Corrupt(_)), "{e:?}");
                    }
                }
            }
        }
    }

    /// Meta version 1: the stored facts are taken as they are (the receipt is not read:
    /// "{}" would not parse), unless a mask names a purpose the vault does not have.
    #[test]
    fn stored_facts_are_used_and_masks_beyond_the_vault_purposes_refused() {
        let config = crate::vault::VaultConfig::new(2);
        assert_eq!(config.purposes.len(), 2, "the default configuration has two purposes");
        let mut seg = segment_with("{}");
        seg.meta_version = 1;
        for (expiry, mask) in [(None, 0b01), (Some(77), 0b11), (Some(5), 0)] {
            seg.metas[0].consent_expires_at = expiry;
            seg.metas[0].purpose_mask = mask;
            assert_eq!(consent_facts(&config, &seg, None).unwrap(), vec![(expiry, mask)]);
        }
        seg.metas[0].purpose_mask = 0b100;
        let err = consent_facts(&config, &seg, None).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    }

    /// Version 1 takes the facts as stored, but a receipt neither recorded by the log nor
    /// accepted by the full reader still fails the load (`check_stored_receipts`).
    #[test]
    fn a_stored_receipt_must_be_recorded_or_readable() {
        let good = ConsentReceipt::explicit_at("s", "Acme", "https://a.example/p", &["identification"], 1000, 2000).unwrap();
        let good = serde_json::to_string(&good).unwrap();
        let broken = good.replacen("\"consentTimestamp\"", "\"consentTimetaspm\"", 1);
        let hash = |s: &str| <[u8; 32]>::from(sha2::Sha256::digest(s.as_bytes()));
        let none = RecordedConsents::new();
        let broken_recorded: RecordedConsents = [([7; 16], hash(&broken))].into_iter().collect();
        let other_recorded: RecordedConsents = [([8; 16], hash(&broken))].into_iter().collect();
        assert!(receipt_readable(&[7; 16], &good, &none));
        assert!(receipt_readable(&[7; 16], &broken, &broken_recorded));
        assert!(!receipt_readable(&[7; 16], &broken, &none));
        assert!(!receipt_readable(&[7; 16], &broken, &other_recorded), "recorded for another Facial ID");
    }

    #[test]
    fn consent_recorded_entries_are_read_and_others_skipped() {
        use crate::log::audit::{Event, LogEntry};
        let id = FacialId::random();
        let hex = "ab".repeat(32);
        let entry = |event| LogEntry { index: 3, time: 9, vault_id: "00".repeat(16), event }.to_bytes();
        let rec = entry(Event::ConsentRecorded { facial_id: id, consent_receipt_id: "r".into(), consent_sha256: hex.clone(), purposes: vec!["identification".into()] });
        assert_eq!(recorded_consent(&rec), Some((*id.as_bytes(), [0xab; 32])));
        assert_eq!(recorded_consent(&entry(Event::Enrolled { facial_id: id })), None);
        let short = entry(Event::ConsentRecorded { facial_id: id, consent_receipt_id: "r".into(), consent_sha256: "ab".into(), purposes: vec![] });
        assert_eq!(recorded_consent(&short), None);
        assert_eq!(recorded_consent(b"not json"), None);
    }
}
