//! Commits: how changes in memory become durable, atomically.
//!
//! # The rule for changing a committed record
//! A committed record lives in an encrypted segment file, which is never modified. To
//! change a committed record (delete it, change its payload, its consent, a PIN, ...),
//! change it in memory and call [`VaultState::mark_segment_for_rewrite`] with its segment:
//! the next commit writes the segment's live records into a new file, and removes the old
//! file after the manifest switch. That removal is what erases the old copy from the vault.
//! The one exception is the last-interaction time, which every match changes: it goes to
//! the manifest (`RecordTable::interactions_in_manifest`) and is folded into the segments
//! only when that table grows beyond [`MAX_MANIFEST_INTERACTIONS`].
//!
//! # Protocol (docs/FORMAT.md)
//! [`Vault::write_commit`] writes new segments (uncommitted enrollments, segments marked for
//! rewrite, small segments merged) and one new log chunk, then the manifest, whose rename
//! is the commit point; it only reads the state. [`Vault::apply_commit`] then adopts the
//! committed state in memory, or removes what a failed commit wrote, and removes the files
//! the new manifest no longer references.
//!
//! # Entry points
//! - [`Vault::commit_while_searching`]: writes the files under the shared lock, so searches
//!   continue during the I/O; for every mutation but key rotation. The caller holds the
//!   writer mutex and no lock on the state.
//! - [`Vault::commit_blocking_searches`]: under the exclusive lock the caller holds (vault
//!   creation, and the start of a rotation).
//! - [`Vault::commit_blocking_searches_at`]: the same at a given generation (the one a
//!   rotation wrote its re-encrypted segments at).

#![forbid(unsafe_code)]

use super::config::ConfigRecord;
use super::manifest::{ChunkRef, ManifestBody, SegmentRef};
use super::segment::{self, RecordMeta, Template};
use super::state::{SegmentState, VaultState};
use super::{io_err, CommitInfo, Vault, SEGMENT_CAPACITY};
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::storage::format::{self, ObjectHeader, MANIFEST_FILE, MANIFEST_TMP};
use std::collections::BTreeSet;

/// Segments with fewer live templates than this are "small" and get merged.
const SMALL_SEGMENT: usize = SEGMENT_CAPACITY / 4;
/// More small segments than this trigger a merge at commit.
const MAX_SMALL_SEGMENTS: usize = 8;
/// Last-interaction times kept in the manifest beyond this are folded into their segments.
pub(super) const MAX_MANIFEST_INTERACTIONS: usize = 65_536;
/// More audit-log chunks than this trigger merging the newest ones.
const MAX_LOG_CHUNKS: usize = 32;

/// Seals manifest `body` under `header` from an exactly sized plaintext buffer (a growing
/// buffer would leave copies of the plaintext behind).
pub(super) fn seal_manifest_body(header: &format::VaultHeader, body: &ManifestBody, sealer: &crate::key::Sealer) -> Vec<u8> {
    let mut plain = zeroize::Zeroizing::new(vec![0u8; postcard::experimental::serialized_size(body).expect("manifest always serialises")]);
    postcard::to_slice(body, &mut plain).expect("sized above");
    format::seal_manifest(header, &plain, sealer)
}

/// A commit whose manifest is on disk: what to change in memory to match it.
struct CommitPlan {
    generation: u64,
    next_object_id: u64,
    rewrite: BTreeSet<u64>,
    new_segments: Vec<(u64, Vec<FacialId>)>,
    chunks: Vec<ChunkRef>,
    log_committed: usize,
    obsolete: Vec<String>,
    /// The header flags of the new manifest.
    flags: u32,
    files_written: usize,
    bytes_written: u64,
}

/// A commit that failed before its manifest switch: the files it wrote.
struct CommitFailure {
    error: Error,
    written: Vec<String>,
    next_object_id: u64,
}

impl VaultState {
    /// Marks `segment` for rewrite at the next commit: what every change to a committed
    /// record must call (see the module documentation).
    pub fn mark_segment_for_rewrite(&mut self, segment: u64) {
        if let Some(s) = self.segments.by_id.get_mut(&segment) {
            s.needs_rewrite = true;
        }
        self.changed = true;
    }
}

impl Vault {
    /// Makes all changes durable atomically. With `auto_purge` (default), expired templates
    /// are purged first; their receipts are in [`CommitInfo::purged`].
    pub fn commit(&self) -> Result<CommitInfo> {
        let _writer = self.writer()?;
        let now = self.now();
        let purged = {
            let mut w = self.write();
            if w.config.auto_purge { self.purge_expired_in(&mut w, now)? } else { Vec::new() }
        };
        let recalibrate = {
            let r = self.read();
            r.records.index.len() as u64 >= r.records.int8_calibrated_rows.saturating_mul(2).max(1)
        };
        if recalibrate {
            // Searches go on meanwhile (the writer mutex keeps every change out).
            self.recalibrate_int8_searchable()?;
        }
        let mut info = self.commit_while_searching()?;
        info.purged = self.read().deletion_receipts(&purged, now);
        Ok(info)
    }

    /// Rewrites all small segments and log chunks into as few files as possible.
    pub fn compact(&self) -> Result<CommitInfo> {
        let _writer = self.writer()?;
        let mut w = self.write();
        let ids: Vec<u64> = w.segments.by_id.iter().filter(|(_, s)| (s.live as usize) < SEGMENT_CAPACITY).map(|(id, _)| *id).collect();
        for id in ids {
            w.mark_segment_for_rewrite(id);
        }
        w.changed = true;
        drop(w);
        self.commit_while_searching()
    }

    /// Commits pending changes (purging expired templates if `auto_purge`) and closes the
    /// vault; the receipts of any purge are in [`CommitInfo::purged`].
    pub fn close(self) -> Result<CommitInfo> {
        if self.is_read_only() {
            // Nothing to commit; dropping the handle reports the matches it saw.
            let generation = self.read().header.generation;
            return Ok(CommitInfo { generation, files_written: 0, bytes_written: 0, purged: Vec::new() });
        }
        self.commit()
    }

    /// Commits holding the exclusive lock throughout (searches wait).
    pub(super) fn commit_blocking_searches(&self, w: &mut VaultState) -> Result<CommitInfo> {
        self.commit_blocking_searches_at(w, None)
    }

    /// [`Vault::commit_blocking_searches`] at `generation` (default: the next one).
    pub(super) fn commit_blocking_searches_at(&self, w: &mut VaultState, generation: Option<u64>) -> Result<CommitInfo> {
        let interactions = self.interactions.take();
        if !interactions.is_empty() {
            w.fold_interactions(interactions);
        }
        self.fold_reader_interactions(w);
        if !w.changed {
            self.remove_pending_files(w);
            return Ok(CommitInfo { generation: w.segments.generation, ..Default::default() });
        }
        let outcome = self.write_commit(w, generation);
        self.apply_commit(w, outcome)
    }

    /// Commit without blocking searches during file I/O. The caller holds `self.writer`
    /// (so nothing else mutates between the phases) and no guard on the state.
    pub(super) fn commit_while_searching(&self) -> Result<CommitInfo> {
        {
            let mut w = self.write();
            let interactions = self.interactions.take();
            if !interactions.is_empty() {
                w.fold_interactions(interactions);
            }
            self.fold_reader_interactions(&mut w);
            if !w.changed {
                self.remove_pending_files(&mut w);
                return Ok(CommitInfo { generation: w.segments.generation, ..Default::default() });
            }
        }
        // Phase 1, shared lock: write every new file and switch the manifest.
        let outcome = {
            let r = self.read();
            self.write_commit(&r, None)
        };
        // Phase 2, exclusive lock: adopt the committed state in memory.
        let mut w = self.write();
        self.apply_commit(&mut w, outcome)
    }

    /// Writes new segments, a log chunk and the manifest; the rename is the commit point.
    /// Reads `w` only; everything to change in memory is returned.
    fn write_commit(&self, w: &VaultState, generation: Option<u64>) -> std::result::Result<CommitPlan, CommitFailure> {
        let d = w.config.dimension as usize;
        let vid = w.header.vault_id;
        let sealer = &w.keys.sealer;
        let gen = generation.unwrap_or(w.segments.generation + 1);
        let mut next_id = w.segments.next_object_id;
        let mut written: Vec<String> = Vec::new();
        let fail = |error: Error, written: Vec<String>, next_id: u64| CommitFailure { error, written, next_object_id: next_id };
        // 1. Which segments to rewrite.
        let mut rewrite: BTreeSet<u64> = w.segments.by_id.iter().filter(|(_, s)| s.needs_rewrite).map(|(id, _)| *id).collect();
        if w.records.interactions_in_manifest.len() > MAX_MANIFEST_INTERACTIONS {
            for id in w.records.interactions_in_manifest.keys() {
                if let Some(Some(seg)) = w.records.by_id.get(id).map(|r| r.segment) {
                    rewrite.insert(seg);
                }
            }
        }
        let small: Vec<u64> =
            w.segments.by_id.iter().filter(|(id, s)| (s.live as usize) < SMALL_SEGMENT && !rewrite.contains(id)).map(|(id, _)| *id).collect();
        if small.len() + usize::from(!w.records.uncommitted.is_empty()) > MAX_SMALL_SEGMENTS {
            rewrite.extend(small);
        }
        // 2. Gather the live records of those segments plus uncommitted ones.
        let mut moving: Vec<(FacialId, Template)> = Vec::new();
        for id in &rewrite {
            let templates = match self.read_segment(w, *id) {
                Ok(x) => x.templates,
                Err(e) => return Err(fail(e, written, next_id)),
            };
            for (rid, v) in templates {
                if w.records.by_id.get(&rid).and_then(|r| r.segment) == Some(*id) {
                    moving.push((rid, v));
                }
            }
        }
        moving.extend(w.records.uncommitted.iter().map(|(id, v)| (*id, v.clone())));
        // 3. Name the new files: segments of the records that move, and one audit-log chunk
        //    with the entries since the last commit. Chunks are merged like a binary counter
        //    (a tail chunk no larger than what follows it is folded in), so there are
        //    O(log n) chunks and each entry is rewritten O(log n) times.
        let mut new_segments: Vec<(u64, Vec<FacialId>)> = Vec::new();
        for chunk in moving.chunks(SEGMENT_CAPACITY) {
            new_segments.push((next_id, chunk.iter().map(|(i, _)| *i).collect()));
            next_id += 1;
        }
        let log = &w.log;
        let mut chunks = log.chunks.clone();
        let mut obsolete_chunks = Vec::new();
        let mut first = log.committed;
        let mut log_file = None;
        if first < log.entries.len() {
            while let Some(last) = chunks.last() {
                if (last.count as usize) > log.entries.len() - first && chunks.len() < MAX_LOG_CHUNKS {
                    break;
                }
                let last = chunks.pop().expect("checked");
                first -= last.count as usize;
                obsolete_chunks.push(format::log_file(last.seq, last.generation));
            }
            let seq = next_id;
            next_id += 1;
            let entries = &log.entries[first..];
            let mut body = Vec::new();
            body.extend_from_slice(&(entries.len() as u32).to_le_bytes());
            for e in entries {
                body.extend_from_slice(&(e.len() as u32).to_le_bytes());
                body.extend_from_slice(e);
            }
            let h = ObjectHeader { vault_id: vid, object_id: seq, generation: gen, count: entries.len() as u32, dim: 0 };
            log_file = Some((format::log_file(seq, gen), format::seal_object(format::LOG_MAGIC, format::AAD_LOG, &h, &body, sealer)));
            chunks.push(ChunkRef { seq, generation: gen, count: entries.len() as u32 });
        }
        // 4. The manifest, sealed now: it is written first, as `fidex.vault.tmp`, so that
        //    every file this commit writes is listed by an authenticated file before it
        //    exists (an interrupted commit's files are provably its own at the next open).
        let mut segs: Vec<SegmentRef> = w
            .segments
            .by_id
            .iter()
            .filter(|(id, _)| !rewrite.contains(id))
            .map(|(id, s)| SegmentRef { id: *id, generation: s.generation, count: s.live })
            .collect();
        segs.extend(new_segments.iter().map(|(id, ids)| SegmentRef { id: *id, generation: gen, count: ids.len() as u32 }));
        let moved: BTreeSet<FacialId> = new_segments.iter().flat_map(|(_, ids)| ids.iter().copied()).collect();
        let interactions: Vec<([u8; 16], i64)> = w
            .records
            .interactions_in_manifest
            .iter()
            .filter(|(id, _)| !moved.contains(id))
            .map(|(id, t)| (*id.as_bytes(), *t))
            .collect();
        let body = ManifestBody {
            config: ConfigRecord::from_config(&w.config),
            created_at: w.created_at,
            next_object_id: next_id,
            segments: segs,
            interactions,
            enrollments_total: w.records.enrollments_total,
            deletions_by_reason: w.records.deletions_by_reason.iter().map(|(k, v)| (k.code(), *v)).collect(),
            log_chunks: chunks.clone(),
            log_size: log.tree.len(),
            log_root: log.tree.root(),
            old_verification_keys: w.keys.previous_verification_keys.clone(),
            int8_scale: w.records.index.int8_scale(),
            int8_calibrated_rows: w.records.int8_calibrated_rows,
        };
        let mut header = w.header.clone();
        header.generation = gen;
        // Segments written now store their consent facts; the flag says whether every
        // segment of this manifest does.
        let kept_have_facts = w.segments.by_id.iter().all(|(id, s)| s.facts || rewrite.contains(id));
        header.flags = format::with_consent_facts(header.flags, kept_have_facts);
        let manifest_bytes = seal_manifest_body(&header, &body, sealer);
        drop(body);
        // 5. Write: the temporary manifest, the segments, the log chunk; each only while
        //    this handle still holds the vault's lock.
        if let Err(e) = self.verify_lock() {
            return Err(fail(e, written, next_id));
        }
        let _ = self.storage.remove(MANIFEST_TMP);
        if let Err(e) = self.storage.write_new(MANIFEST_TMP, &manifest_bytes) {
            written.push(MANIFEST_TMP.to_string());
            return Err(fail(io_err(&*self.storage, MANIFEST_TMP, e), written, next_id));
        }
        let mut bytes_written = 0u64;
        let res = (|| -> Result<()> {
            for ((id, _), chunk) in new_segments.iter().zip(moving.chunks(SEGMENT_CAPACITY)) {
                let metas: Vec<RecordMeta> = chunk
                    .iter()
                    .map(|(rid, _)| {
                        let r = &w.records.by_id[rid];
                        RecordMeta {
                            facial_id: *rid.as_bytes(),
                            enrolled_at: r.enrolled_at,
                            last_interaction: r.last_interaction,
                            consent_json: r.consent_json.clone(),
                            payload: r.payload.clone(),
                            consent_expires_at: r.consent_expires_at,
                            purpose_mask: w.records.index.tags(r.row),
                        }
                    })
                    .collect();
                let refs: Vec<&[f32]> = chunk.iter().map(|(_, v)| v.as_slice()).collect();
                let h = ObjectHeader { vault_id: vid, object_id: *id, generation: gen, count: chunk.len() as u32, dim: d as u32 };
                let bytes = segment::seal(&h, &refs, &metas, sealer);
                let name = format::segment_file(*id, gen);
                self.write_own(&name, &bytes, &mut written)?;
                bytes_written += bytes.len() as u64;
            }
            if let Some((name, bytes)) = &log_file {
                self.write_own(name, bytes, &mut written)?;
                bytes_written += bytes.len() as u64;
            }
            self.verify_lock()
        })();
        drop(moving); // wipes every template it holds
        if let Err(e) = res {
            written.push(MANIFEST_TMP.to_string());
            return Err(fail(e, written, next_id));
        }
        // 6. The switch: the commit point.
        if let Err(e) = self.storage.rename(MANIFEST_TMP, MANIFEST_FILE) {
            written.push(MANIFEST_TMP.to_string());
            return Err(fail(io_err(&*self.storage, "replacing the manifest", e), written, next_id));
        }
        bytes_written += manifest_bytes.len() as u64;
        let obsolete: Vec<String> = rewrite
            .iter()
            .filter_map(|id| w.segments.by_id.get(id).map(|s| format::segment_file(*id, s.generation)))
            .chain(obsolete_chunks)
            .collect();
        Ok(CommitPlan {
            generation: gen,
            next_object_id: next_id,
            rewrite,
            new_segments,
            chunks,
            log_committed: log.entries.len(),
            obsolete,
            flags: header.flags,
            files_written: written.len() + 1,
            bytes_written,
        })
    }

    /// Adopts a written commit in memory (or records a failed one's leftovers).
    fn apply_commit(&self, w: &mut VaultState, outcome: std::result::Result<CommitPlan, CommitFailure>) -> Result<CommitInfo> {
        let plan = match outcome {
            Ok(p) => p,
            Err(f) => {
                // Never reuse an object id: files with those names may linger.
                w.segments.next_object_id = w.segments.next_object_id.max(f.next_object_id);
                self.discard_failed_commit_files(w, &f.written);
                return Err(f.error);
            }
        };
        let gen = plan.generation;
        w.segments.next_object_id = plan.next_object_id;
        for id in &plan.rewrite {
            w.segments.by_id.remove(id);
        }
        for (id, ids) in &plan.new_segments {
            w.segments.by_id.insert(*id, SegmentState { generation: gen, live: ids.len() as u32, needs_rewrite: false, facts: true });
            for rid in ids {
                if let Some(r) = w.records.by_id.get_mut(rid) {
                    r.segment = Some(*id);
                }
                w.records.interactions_in_manifest.remove(rid);
            }
        }
        // Uncommitted enrollments are on disk now (none can be added between the phases):
        // they join the committed live set.
        for (id, _) in &w.records.uncommitted {
            w.log.live_set.insert(*id.as_bytes());
        }
        w.records.uncommitted.clear(); // each template wipes itself as it is dropped
        w.log.chunks = plan.chunks;
        w.log.committed = plan.log_committed;
        w.segments.generation = gen;
        w.header.generation = gen;
        w.header.flags = plan.flags;
        w.changed = false;
        let sync = self.storage.sync_dir();
        self.forget_folded_interactions();
        w.segments.pending_removals.extend(plan.obsolete);
        self.remove_pending_files(w);
        sync.map_err(|e| io_err(&*self.storage, "syncing the vault directory (commit may not be durable)", e))?;
        Ok(CommitInfo { generation: gen, files_written: plan.files_written, bytes_written: plan.bytes_written, purged: Vec::new() })
    }

    /// Writes a new file of this commit and records it in `written` — also when the write
    /// failed part-way, but never when the name already existed: then the file is not this
    /// handle's, and its failure cleanup must not remove it.
    fn write_own(&self, name: &str, bytes: &[u8], written: &mut Vec<String>) -> Result<()> {
        match self.storage.write_new(name, bytes) {
            Ok(()) => {
                written.push(name.to_string());
                Ok(())
            }
            Err(e) => {
                if e.kind() != std::io::ErrorKind::AlreadyExists {
                    written.push(name.to_string());
                }
                Err(io_err(&*self.storage, name, e))
            }
        }
    }

    /// A failed commit: remove what it wrote (only files it created itself; the temporary
    /// manifest last, since it explains the others); whatever can't be removed now is
    /// retried later.
    fn discard_failed_commit_files(&self, w: &mut VaultState, written: &[String]) {
        let mut kept = false;
        for n in written {
            if n == MANIFEST_TMP && kept {
                continue;
            }
            if self.storage.remove(n).is_err() {
                kept = true;
                w.segments.pending_removals.insert(n.clone());
            }
        }
    }

    /// Removes the files queued for removal (`SegmentSet::pending_removals`); those that
    /// cannot be removed stay queued.
    pub(super) fn remove_pending_files(&self, w: &mut VaultState) {
        if w.segments.pending_removals.is_empty() {
            return;
        }
        let queued = std::mem::take(&mut w.segments.pending_removals);
        for n in queued {
            // A second attempt for transient refusals (EINTR, EBUSY); what still fails stays
            // queued, is reported (receipts, stats) and retried at the next commit and open.
            if self.storage.remove(&n).is_err() && self.storage.remove(&n).is_err() {
                w.segments.pending_removals.insert(n);
            }
        }
        let _ = self.storage.sync_dir();
    }
}
