//! The state of an open vault, in four parts, each with the invariant it keeps:
//!
//! - [`Keys`]: everything derived from the vault key (sealer, signing key, cancelable
//!   transform) — always derived from the same `key`, except in the middle of `rotate_key`.
//! - [`RecordTable`]: the live records. Every live Facial ID has exactly one [`Record`] and
//!   one row of the search index (`row_ids[record.row] == id`), and is either in a committed
//!   segment (`record.segment`) or among the `uncommitted` enrollments, never both.
//! - [`AuditLog`]: every log entry, the Merkle tree over all of them, and the chunk files
//!   holding the first `committed` entries; with the live set that signed tree heads
//!   commit to. Tree heads only ever cover the committed prefix.
//! - [`SegmentSet`]: the segment files of the last commit, the generation and object-id
//!   counter that name new files, and the files still to be removed. How these change is
//!   the commit's business (see `commit.rs`).
//!
//! [`VaultState`] holds the four parts with the header and configuration; the vault keeps
//! it behind its `RwLock`.

#![forbid(unsafe_code)]

use super::segment::Template;
use super::transform::{Construction, Transform};
use super::VaultConfig;
use crate::consent::ConsentReceipt;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::{labels, Sealer, VaultKey};
use crate::log::audit::DeletionReason;
use crate::log::merkle::MerkleLog;
use crate::log::smt::LiveSet;
use crate::search::engine::Engine;
use crate::search::{Metric, SearchOptions};
use crate::storage::format::VaultHeader;
use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use zeroize::{Zeroize, Zeroizing};

/// Everything an open vault holds in memory.
pub(super) struct VaultState {
    /// The plaintext header as of the last commit.
    pub header: VaultHeader,
    pub config: VaultConfig,
    pub created_at: i64,
    pub keys: Keys,
    pub records: RecordTable,
    pub log: AuditLog,
    pub segments: SegmentSet,
    /// Something changed since the last commit: the next commit writes a manifest.
    pub changed: bool,
}

/// The vault key and what is derived from it.
pub(super) struct Keys {
    pub key: VaultKey,
    /// Seals and opens every file body (AES-256-GCM-SIV under the data subkey).
    pub sealer: Sealer,
    /// Signs tree heads.
    pub signing: SigningKey,
    /// The secret orthogonal transform of a cancelable vault.
    pub transform: Option<Transform>,
    /// Ed25519 public keys of earlier (rotated) signing keys, oldest first.
    pub previous_verification_keys: Vec<[u8; 32]>,
}

impl Keys {
    /// `flags`: the header's (they name the transform construction).
    pub fn derive(key: VaultKey, vault_id: &[u8; 16], config: &VaultConfig, flags: u32) -> Keys {
        Keys {
            sealer: Sealer::new(&key, vault_id),
            signing: signing_key(&key, vault_id),
            transform: config
                .cancelable
                .then(|| Transform::derive(&key, vault_id, config.dimension as usize, Construction::from_flags(flags))),
            key,
            previous_verification_keys: Vec::new(),
        }
    }
}

/// The tree-head signing key of `key` for the vault `vault_id`.
pub(super) fn signing_key(key: &VaultKey, vault_id: &[u8; 16]) -> SigningKey {
    SigningKey::from_bytes(&key.subkey(vault_id, labels::SIGNING))
}

/// One live template's record (its vector lives in the search index, row `row`).
pub(super) struct Record {
    pub row: u32,
    /// The committed segment holding it; `None` until its enrollment is committed.
    pub segment: Option<u64>,
    pub enrolled_at: i64,
    pub last_interaction: i64,
    /// The consent's expiry (`expiresAt`), the one part of it every search needs.
    pub consent_expires_at: Option<i64>,
    /// The consent receipt as stored (parsed on demand: keeping every parsed receipt in
    /// memory cost several KiB per template).
    pub consent_json: String,
    pub payload: Vec<u8>,
}

impl Record {
    /// The stored consent receipt, parsed.
    pub fn consent(&self) -> Result<ConsentReceipt> {
        ConsentReceipt::from_json(&self.consent_json).map_err(|_| Error::corrupt("stored consent does not parse"))
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.consent_json.zeroize();
        self.payload.zeroize();
    }
}

/// The live records, their search index, and the counters of what happened to them.
pub(super) struct RecordTable {
    pub by_id: HashMap<FacialId, Record>,
    /// The Facial ID of each index row.
    pub row_ids: Vec<FacialId>,
    pub index: Engine,
    /// Templates enrolled since the last commit (in stored form), in enrollment order: in
    /// no segment yet.
    pub uncommitted: Vec<(FacialId, Template)>,
    /// Last-interaction times of committed records that are newer than their segment's
    /// copy. Persisted in the manifest (so a match does not rewrite a segment), and folded
    /// into the segments when the table grows beyond `MAX_MANIFEST_INTERACTIONS`.
    pub interactions_in_manifest: HashMap<FacialId, i64>,
    pub enrollments_total: u64,
    pub deletions_by_reason: BTreeMap<DeletionReason, u64>,
    /// See `ManifestBody::int8_calibrated_rows`.
    pub int8_calibrated_rows: u64,
    /// No record's retention deadline is earlier than this (`None`: not known), so a purge
    /// before it has nothing to do and skips the scan of every record. Kept a valid lower
    /// bound: deadlines only move later (interactions), deletions cannot lower it, and
    /// every inserted record lowers it to its own deadline ([`RecordTable::insert`]).
    pub purge_floor: Option<i64>,
}

impl RecordTable {
    /// Adds a record (the one way records enter the table, so `purge_floor` stays a lower
    /// bound of every deadline).
    pub fn insert(&mut self, id: FacialId, rec: Record, retention: i64) {
        let d = rec.deadline(retention, None);
        self.purge_floor = self.purge_floor.map(|f| f.min(d));
        self.by_id.insert(id, rec);
    }
}

/// The audit log and what signed tree heads commit to.
pub(super) struct AuditLog {
    /// Every entry, as the JSON bytes its leaf hash covers.
    pub entries: Vec<Vec<u8>>,
    /// RFC 6962 tree over every entry.
    pub tree: MerkleLog,
    /// The chunk files holding the first `committed` entries, in log order.
    pub chunks: Vec<super::manifest::ChunkRef>,
    /// Entries on disk; tree heads are signed over this prefix only.
    pub committed: usize,
    /// The Facial IDs a tree head presents as live: committed enrollments, minus every
    /// deletion (a deletion leaves it at once, an enrollment joins at its commit).
    pub live_set: LiveSet,
}

/// One committed segment file.
pub(super) struct SegmentState {
    /// The generation that wrote the file (part of its name).
    pub generation: u64,
    /// Live records in it.
    pub live: u32,
    /// A record in it changed: the next commit rewrites it (see `commit.rs`).
    pub needs_rewrite: bool,
    /// It stores its records' consent facts (segment meta version 1; see
    /// [`crate::storage::format::FLAG_CONSENT_FACTS`]).
    pub facts: bool,
}

/// The segment files of the last commit and the counters that name new files.
pub(super) struct SegmentSet {
    pub by_id: BTreeMap<u64, SegmentState>,
    /// Commit counter.
    pub generation: u64,
    /// Segment ids and log sequence numbers are drawn from it and never reused.
    pub next_object_id: u64,
    /// Files to remove: obsolete segments and log chunks whose removal failed, leftovers of
    /// failed commits and of crashes. Retried at each commit ([`super::Vault::pending_removals`]).
    pub pending_removals: BTreeSet<String>,
}

impl VaultState {
    /// An empty vault's state.
    pub fn new(header: VaultHeader, config: VaultConfig, key: VaultKey, created_at: i64) -> Result<VaultState> {
        let vid = header.vault_id;
        let keys = Keys::derive(key, &vid, &config, header.flags);
        let index = Engine::new(config.dimension as usize, config.metric, config.storage, config.backend)
            .map_err(Error::InvalidConfig)?;
        Ok(VaultState {
            keys,
            records: RecordTable {
                by_id: HashMap::new(),
                row_ids: Vec::new(),
                index,
                uncommitted: Vec::new(),
                interactions_in_manifest: HashMap::new(),
                enrollments_total: 0,
                deletions_by_reason: BTreeMap::new(),
                int8_calibrated_rows: 0,
                purge_floor: None,
            },
            log: AuditLog { entries: Vec::new(), tree: MerkleLog::new(), chunks: Vec::new(), committed: 0, live_set: LiveSet::new() },
            segments: SegmentSet { by_id: BTreeMap::new(), generation: 0, next_object_id: 1, pending_removals: BTreeSet::new() },
            header,
            config,
            created_at,
            changed: false,
        })
    }

    /// A new, empty search engine of this vault's configuration.
    pub fn new_engine(&self) -> Result<Engine> {
        let c = &self.config;
        Engine::new(c.dimension as usize, c.metric, c.storage, c.backend).map_err(Error::InvalidConfig)
    }

    pub fn search_opts(&self) -> SearchOptions {
        SearchOptions { threads: self.config.search_threads }
    }

    /// Validates a template or probe and brings it into stored form, in a buffer that wipes
    /// itself (as does every intermediate copy).
    pub fn prepare(&self, v: &[f32]) -> Result<Template> {
        let d = self.config.dimension as usize;
        if v.len() != d {
            return Err(Error::DimensionMismatch { expected: d, got: v.len() });
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFiniteValue { index: i });
        }
        let norm = v.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-12 || !norm.is_finite() {
            return Err(Error::ZeroVector);
        }
        let mut out: Template = Zeroizing::new(Vec::with_capacity(d));
        if self.config.metric == Metric::Cosine {
            out.extend(v.iter().map(|x| (*x as f64 / norm) as f32));
        } else {
            out.extend_from_slice(v);
        }
        if out.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFiniteValue { index: 0 });
        }
        if let Some(t) = &self.keys.transform {
            // The untransformed copy is dropped here, and wipes itself.
            out = t.apply(&out);
        }
        Ok(out)
    }

    /// A copy of the payload of a live record (empty if none), wiped when dropped.
    pub fn payload_of(&self, id: &FacialId) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.records.by_id.get(id).map(|r| r.payload.clone()).unwrap_or_default())
    }

    /// Index score (higher is better) for a user threshold.
    pub fn min_score(&self, thr: f32) -> f32 {
        match self.config.metric {
            Metric::L2 => -(thr * thr),
            _ => thr,
        }
    }

    /// User-facing score from an index score.
    pub fn user_score(&self, s: f32) -> f32 {
        match self.config.metric {
            Metric::L2 => (-s).max(0.0).sqrt(),
            _ => s,
        }
    }
}

/// A failure inside the search engine (faiss training or adding) that is not the caller's.
pub(super) fn engine_err(e: String) -> Error {
    Error::io_other(format!("search index: {e}"))
}
