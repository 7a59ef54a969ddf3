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
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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
    let bytes = std::fs::read(&p).map_err(|e| {
        // No manifest there, or the path is a file: as Vault::open says, not a vault.
        if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) {
            Error::NotAVault(path.as_ref().display().to_string())
        } else {
            Error::io(p.display(), e)
        }
    })?;
    VaultHeader::decode(&bytes)
}

impl Vault {
    /// Removes files a crashed or failed commit left behind (never referenced by the manifest).
    pub(super) fn remove_unreferenced_files(&self) {
        let mut w = self.write();
        let referenced: BTreeSet<String> = w.referenced_files().collect();
        if let Ok(names) = self.storage.list() {
            for n in names {
                if format::is_vault_file(&n) && !referenced.contains(&n) {
                    w.segments.pending_removals.insert(n);
                }
            }
        }
        self.remove_pending_files(&mut w);
    }

    /// Full integrity check: re-reads and authenticates every file, and compares with memory.
    pub fn check(&self) -> Result<()> {
        self.check_usable()?;
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

/// Reads a file the manifest references; a missing one means the vault is damaged.
fn read_referenced(storage: &dyn Storage, name: &str, what: &str) -> Result<Vec<u8>> {
    storage.read(name).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::corrupt(format!("{what} {name} is missing"))
        } else {
            io_err(storage, name, e)
        }
    })
}

/// Loads the committed state of the vault in `storage`: the manifest, then every segment
/// and log chunk it references, each authenticated against the header the manifest implies.
pub(super) fn load_state(storage: &dyn Storage, key: &VaultKey) -> Result<VaultState> {
    let bytes = storage.read(MANIFEST_FILE).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotAVault(storage.location())
        } else {
            io_err(storage, MANIFEST_FILE, e)
        }
    })?;
    let header = VaultHeader::decode(&bytes)?;
    if header.key_check != key::key_check(key, &header.vault_id) {
        return Err(Error::WrongKey);
    }
    let sealer = Sealer::new(key, &header.vault_id);
    let plain = format::open_manifest(&bytes, &sealer)?;
    let (body, rest): (ManifestBody, &[u8]) =
        postcard::take_from_bytes(&plain).map_err(|e| Error::corrupt(format!("manifest body: {e}")))?;
    if !rest.is_empty() {
        return Err(Error::corrupt("manifest body has trailing bytes"));
    }
    let config = body.config.to_config()?;
    if config.dimension != header.dimension
        || config.metric.code() != header.metric
        || config.storage.code() != header.storage
        || config.cancelable != (header.flags & FLAG_CANCELABLE != 0)
        || header.flags & !(FLAG_CANCELABLE | format::FLAG_TRANSFORM_2) != 0
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
    let d = state.config.dimension as usize;
    let mut live_keys = Vec::new();
    // One allocation for all rows (the manifest is authenticated; the quota caps it anyway),
    // and an IVF backend trains once, on every row, after the load.
    let total: u64 = body.segments.iter().map(|s| u64::from(s.count)).sum();
    state.records.index.reserve(total.min(state.config.max_templates) as usize);
    state.records.index.set_auto_train(false).map_err(engine_err)?;
    for s in &body.segments {
        if s.id >= body.next_object_id || state.segments.by_id.contains_key(&s.id) || s.count == 0 {
            return Err(Error::corrupt("manifest lists an invalid segment"));
        }
        let name = format::segment_file(s.id, s.generation);
        let fb = read_referenced(storage, &name, "segment")?;
        let h = ObjectHeader { vault_id: header.vault_id, object_id: s.id, generation: s.generation, count: s.count, dim: d as u32 };
        let mut dec = segment::open(&fb, &h, &state.keys.sealer, &name)?;
        for (i, m) in dec.metas.iter_mut().enumerate() {
            let id = FacialId::from_bytes(m.facial_id);
            let consent: ConsentReceipt =
                serde_json::from_str(&m.consent_json).map_err(|_| Error::corrupt("stored consent does not parse"))?;
            if m.payload.len() > MAX_PAYLOAD_BYTES {
                return Err(Error::corrupt("stored payload exceeds the limit"));
            }
            let tags = state.config.purpose_tags(&consent.covered_purposes(&state.config.purposes));
            let row = state.records.index.push(&dec.templates[i].1, tags);
            state.records.row_ids.push(id);
            let rec = Record {
                row,
                segment: Some(s.id),
                enrolled_at: m.enrolled_at,
                last_interaction: m.last_interaction,
                consent,
                consent_json: std::mem::take(&mut m.consent_json),
                payload: std::mem::take(&mut m.payload),
            };
            if state.records.by_id.insert(id, rec).is_some() {
                return Err(Error::corrupt("a Facial ID appears twice"));
            }
            live_keys.push(*id.as_bytes());
        }
        drop(dec); // wipes the decrypted templates and metadata
        state.segments.by_id.insert(s.id, SegmentState { generation: s.generation, live: s.count, needs_rewrite: false });
    }
    state.records.index.set_auto_train(true).map_err(engine_err)?;
    state.log.live_set = LiveSet::from_keys(live_keys);
    for (id, t) in &body.interactions {
        let id = FacialId::from_bytes(*id);
        match state.records.by_id.get_mut(&id) {
            Some(r) => {
                r.last_interaction = r.last_interaction.max(*t);
                state.records.interactions_in_manifest.insert(id, *t);
            }
            None => return Err(Error::corrupt("interaction record for an unknown template")),
        }
    }
    // Audit log.
    let mut entries = Vec::new();
    for c in &body.log_chunks {
        let name = format::log_file(c.seq, c.generation);
        let fb = read_referenced(storage, &name, "audit log chunk")?;
        let h = ObjectHeader { vault_id: header.vault_id, object_id: c.seq, generation: c.generation, count: c.count, dim: 0 };
        let plain = format::open_object(format::LOG_MAGIC, format::AAD_LOG, &h, &fb, &state.keys.sealer, &name)?;
        let mut rd = format::Reader::new(&plain);
        let n = rd.u32()?;
        if n != c.count {
            return Err(Error::corrupt("audit log chunk count disagrees"));
        }
        for _ in 0..n {
            let len = rd.u32()? as usize;
            entries.push(rd.take(len)?.to_vec());
        }
        if !rd.rest().is_empty() {
            return Err(Error::corrupt("audit log chunk has trailing bytes"));
        }
    }
    let leaves: Vec<Hash> = entries.iter().map(|e| merkle::leaf_hash(e)).collect();
    state.log.tree = MerkleLog::from_leaves(leaves);
    if state.log.tree.len() != body.log_size || state.log.tree.root() != body.log_root {
        return Err(Error::corrupt("audit log does not match the committed tree head"));
    }
    state.log.committed = entries.len();
    state.log.entries = entries;
    state.log.chunks = body.log_chunks;
    Ok(state)
}
