//! Erasure: deletion on request, withdrawal of consent, and retention (deadlines and purge).
//!
//! A deletion removes the record from memory at once (it never matches again), marks its
//! segment for rewrite (the commit rule, see `commit.rs`), logs the deletion, and commits
//! before the call returns: the receipt promises the template is gone from the vault.
//! A template's retention deadline is the earlier of its consent's expiry and its last
//! interaction + the vault's retention period.

#![forbid(unsafe_code)]

use super::state::{Record, VaultState};
use super::Vault;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::log::audit::{DeletionReason, Event};
use crate::receipt::DeletionReceipt;
use std::collections::BTreeSet;
use zeroize::Zeroize;

/// A deletion made in memory, waiting for its commit and receipt.
pub(super) struct Deletion {
    pub facial_id: FacialId,
    /// Index of its `deleted` entry in the audit log.
    pub log_index: u64,
    pub reason: DeletionReason,
    pub at: i64,
}

impl Record {
    /// The retention deadline: the earlier of consent expiry and the last interaction
    /// (`touched`: a newer one recorded by a search, not yet folded in) + `retention`.
    pub fn deadline(&self, retention: i64, touched: Option<i64>) -> i64 {
        let last = touched.map_or(self.last_interaction, |t| t.max(self.last_interaction));
        let by_retention = last.saturating_add(retention);
        self.consent.expires_at.map_or(by_retention, |e| e.min(by_retention))
    }
}

impl Vault {
    /// Deletes template, payload and consent of `id`, commits, and returns a signed receipt.
    /// After this returns, no vault file holds any encryption of them. If the commit fails
    /// (I/O error), the template is already gone from memory and never matches again; the
    /// deletion reaches disk with the next successful commit, and no receipt is issued.
    pub fn delete(&self, id: &FacialId, reason: DeletionReason) -> Result<DeletionReceipt> {
        let _writer = self.writer()?;
        let now = self.now();
        let log_index = self.write().delete_record(id, reason, now)?;
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&[Deletion { facial_id: *id, log_index, reason, at: now }], now).remove(0))
    }

    /// Deletes several templates with one commit (all or nothing on unknown ids).
    pub fn delete_many(&self, ids: &[FacialId], reason: DeletionReason) -> Result<Vec<DeletionReceipt>> {
        let _writer = self.writer()?;
        let now = self.now();
        let mut done = Vec::new();
        {
            let mut w = self.write();
            let uniq: BTreeSet<FacialId> = ids.iter().copied().collect();
            if uniq.len() != ids.len() {
                return Err(Error::InvalidArgument("the same Facial ID is listed twice".into()));
            }
            if ids.iter().any(|i| !w.records.by_id.contains_key(i)) {
                return Err(Error::NotFound);
            }
            for id in ids {
                let log_index = w.delete_record(id, reason, now)?;
                done.push(Deletion { facial_id: *id, log_index, reason, at: now });
            }
        }
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    /// The subject withdraws consent: logged as a withdrawal, then erased like [`Vault::delete`].
    pub fn withdraw_consent(&self, id: &FacialId) -> Result<DeletionReceipt> {
        let _writer = self.writer()?;
        let now = self.now();
        let log_index = {
            let mut w = self.write();
            if !w.records.by_id.contains_key(id) {
                return Err(Error::NotFound);
            }
            w.append_event(now, Event::ConsentWithdrawn { facial_id: *id });
            w.delete_record(id, DeletionReason::ConsentWithdrawn, now)?
        };
        self.commit_while_searching()?;
        let done = Deletion { facial_id: *id, log_index, reason: DeletionReason::ConsentWithdrawn, at: now };
        Ok(self.read().deletion_receipts(&[done], now).remove(0))
    }

    /// Deletes every template past its deadline at `now` (default: the vault clock) —
    /// the earlier of consent expiry and last interaction + retention — and commits.
    pub fn purge_expired(&self, now: Option<i64>) -> Result<Vec<DeletionReceipt>> {
        let now = now.unwrap_or_else(|| self.now());
        let _writer = self.writer()?;
        let done = self.purge_expired_in(&mut self.write(), now)?;
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    /// The in-memory part of a purge (the caller holds the writer and commits).
    pub(super) fn purge_expired_in(&self, w: &mut VaultState, now: i64) -> Result<Vec<Deletion>> {
        w.fold_interactions(self.interactions.take());
        let retention = w.config.retention_secs;
        let mut expired: Vec<FacialId> =
            w.records.by_id.iter().filter(|(_, r)| r.deadline(retention, None) <= now).map(|(id, _)| *id).collect();
        expired.sort();
        let mut done = Vec::new();
        for id in expired {
            let log_index = w.delete_record(&id, DeletionReason::RetentionExpired, now)?;
            done.push(Deletion { facial_id: id, log_index, reason: DeletionReason::RetentionExpired, at: now });
        }
        Ok(done)
    }

    /// When `id` will be purged unless used again: the earlier of consent expiry and last
    /// interaction + retention (unix seconds). Reading it is not logged.
    pub fn retention_deadline(&self, id: &FacialId) -> Result<i64> {
        let r = self.read();
        let rec = r.records.by_id.get(id).ok_or(Error::NotFound)?;
        Ok(rec.deadline(r.config.retention_secs, self.interactions.latest(id)))
    }

    /// Templates whose deadline is at or before `now`, with their deadlines (a dry run of
    /// [`Vault::purge_expired`]).
    pub fn expired(&self, now: i64) -> Vec<(FacialId, i64)> {
        let r = self.read();
        let mut v: Vec<(FacialId, i64)> = r
            .records
            .by_id
            .iter()
            .map(|(id, rec)| (*id, rec.deadline(r.config.retention_secs, self.interactions.latest(id))))
            .filter(|(_, d)| *d <= now)
            .collect();
        v.sort();
        v
    }
}

impl VaultState {
    /// Removes a record from memory and logs the deletion; returns the log index.
    pub fn delete_record(&mut self, id: &FacialId, reason: DeletionReason, now: i64) -> Result<u64> {
        let rec = self.records.by_id.remove(id).ok_or(Error::NotFound)?;
        let row = rec.row;
        if let Some(moved_from) = self.records.index.swap_remove(row) {
            let moved_id = self.records.row_ids[moved_from as usize];
            if let Some(m) = self.records.by_id.get_mut(&moved_id) {
                m.row = row;
            }
        }
        self.records.row_ids.swap_remove(row as usize);
        match rec.segment {
            Some(seg) => {
                if let Some(s) = self.segments.by_id.get_mut(&seg) {
                    s.live = s.live.saturating_sub(1);
                }
                self.mark_segment_for_rewrite(seg);
            }
            None => {
                if let Some(pos) = self.records.uncommitted.iter().position(|(p, _)| p == id) {
                    let (_, mut v) = self.records.uncommitted.remove(pos);
                    v.zeroize();
                }
            }
        }
        self.records.interactions_in_manifest.remove(id);
        self.log.live_set.remove(id.as_bytes());
        *self.records.deletions_by_reason.entry(reason).or_insert(0) += 1;
        self.changed = true;
        drop(rec);
        Ok(self.append_event(now, Event::Deleted { facial_id: *id, reason }))
    }
}
