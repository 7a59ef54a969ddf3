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

/// A deletion made in memory, waiting for its commit and receipt.
pub(super) struct Deletion {
    pub facial_id: FacialId,
    /// Index of its `deleted` entry in the audit log.
    pub log_index: u64,
    pub reason: DeletionReason,
    pub at: i64,
    /// The file that held the record before this deletion (`None` if it was never
    /// committed): the receipt lists it while it is still on disk.
    pub old_file: Option<String>,
    /// Index of the `consent_withdrawn` entry before it (reason `consent_withdrawn`).
    pub withdrawal_index: Option<u64>,
}

impl Record {
    /// The retention deadline: the earlier of consent expiry and the last interaction
    /// (`touched`: a newer one recorded by a search, not yet folded in) + `retention`.
    pub fn deadline(&self, retention: i64, touched: Option<i64>) -> i64 {
        let last = touched.map_or(self.last_interaction, |t| t.max(self.last_interaction));
        let by_retention = last.saturating_add(retention);
        self.consent_expires_at.map_or(by_retention, |e| e.min(by_retention))
    }
}

impl Vault {
    /// Deletes template, payload and consent of `id`, commits, and returns a signed receipt.
    /// When this returns, the vault no longer references any encryption of them and the
    /// file that held them has been removed — unless the file system refused the removal:
    /// then the receipt's `erasure_pending` names the file (it is retried at each commit and
    /// at open, listed by [`Vault::pending_removals`], and unreadable without the key). If
    /// the commit fails (I/O error), the template is already gone from memory and never
    /// matches again; the deletion reaches disk with the next successful commit, and no
    /// receipt is issued.
    /// With reason [`DeletionReason::ConsentWithdrawn`] it is [`Vault::withdraw_consent`].
    /// If the receipt is lost after this returns (a crash before it was saved),
    /// [`Vault::issue_receipt`] issues it again from the log.
    pub fn delete(&self, id: &FacialId, reason: DeletionReason) -> Result<DeletionReceipt> {
        if reason == DeletionReason::ConsentWithdrawn {
            return self.withdraw_consent(id);
        }
        let _writer = self.writer()?;
        let now = self.now();
        let done = self.write().delete_record(id, reason, now)?;
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&[done], now).remove(0))
    }

    /// Deletes several templates with one commit (all or nothing on unknown ids). With reason
    /// [`DeletionReason::ConsentWithdrawn`] it is [`Vault::withdraw_consent_many`]: the
    /// withdrawal is logged too, and the receipts prove it.
    pub fn delete_many(&self, ids: &[FacialId], reason: DeletionReason) -> Result<Vec<DeletionReceipt>> {
        if reason == DeletionReason::ConsentWithdrawn {
            return self.withdraw_consent_many(ids);
        }
        let _writer = self.writer()?;
        let now = self.now();
        let mut done = Vec::new();
        {
            let mut w = self.write();
            check_ids(&w, ids)?;
            for id in ids {
                done.push(w.delete_record(id, reason, now)?);
            }
        }
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    /// The subject withdraws consent: logged as a withdrawal, then erased like [`Vault::delete`].
    /// The receipt proves both entries (its `withdrawal` part shows when the withdrawal was
    /// recorded).
    pub fn withdraw_consent(&self, id: &FacialId) -> Result<DeletionReceipt> {
        Ok(self.withdraw_consent_many(std::slice::from_ref(id))?.remove(0))
    }

    /// Several subjects withdraw consent, all or nothing, with one commit: every withdrawal
    /// is logged and erased, or (an id not live, or listed twice) none is. Receipts in the
    /// order of `ids`.
    pub fn withdraw_consent_many(&self, ids: &[FacialId]) -> Result<Vec<DeletionReceipt>> {
        let _writer = self.writer()?;
        let now = self.now();
        let mut done = Vec::with_capacity(ids.len());
        {
            let mut w = self.write();
            check_ids(&w, ids)?;
            for id in ids {
                let withdrawn = w.append_event(now, Event::ConsentWithdrawn { facial_id: *id });
                let mut d = w.delete_record(id, DeletionReason::ConsentWithdrawn, now)?;
                d.withdrawal_index = Some(withdrawn);
                done.push(d);
            }
        }
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    /// Deletes every template past its deadline as of `as_of` (default: the vault clock) —
    /// the earlier of consent expiry and last interaction + retention — and commits. `as_of`
    /// only decides which templates have expired: the log records the deletions at the vault
    /// clock's time, when they happen (a purge "as of" a future date does not write future
    /// times into the log).
    pub fn purge_expired(&self, as_of: Option<i64>) -> Result<Vec<DeletionReceipt>> {
        let now = self.now();
        let as_of = as_of.unwrap_or(now);
        let _writer = self.writer()?;
        let done = self.purge_expired_as_of(&mut self.write(), as_of, now)?;
        self.commit_while_searching()?;
        Ok(self.read().deletion_receipts(&done, now))
    }

    /// The in-memory part of a purge as of the vault clock's `now` (the caller holds the
    /// writer and commits).
    pub(super) fn purge_expired_in(&self, w: &mut VaultState, now: i64) -> Result<Vec<Deletion>> {
        self.purge_expired_as_of(w, now, now)
    }

    /// Deletes what has expired as of `as_of`, logged at `now`.
    fn purge_expired_as_of(&self, w: &mut VaultState, as_of: i64, now: i64) -> Result<Vec<Deletion>> {
        w.fold_interactions(self.interactions.take());
        // Logins served by read-only handles extend retention too.
        self.fold_reader_interactions(w);
        let retention = w.config.retention_secs;
        if w.records.purge_floor.is_some_and(|floor| as_of < floor) {
            return Ok(Vec::new()); // nothing can have expired yet: no scan of every record
        }
        let mut expired = Vec::new();
        let mut floor = i64::MAX;
        for (id, r) in &w.records.by_id {
            let d = r.deadline(retention, None);
            if d <= as_of {
                expired.push(*id);
            } else {
                floor = floor.min(d);
            }
        }
        expired.sort();
        let mut done = Vec::new();
        for id in expired {
            done.push(w.delete_record(&id, DeletionReason::RetentionExpired, now)?);
        }
        w.records.purge_floor = Some(floor);
        Ok(done)
    }

    /// When `id` will be purged unless used again: the earlier of consent expiry and last
    /// interaction + retention (unix seconds). Reading it is not logged.
    pub fn retention_deadline(&self, id: &FacialId) -> Result<i64> {
        self.check_usable()?;
        let r = self.read();
        let rec = r.records.by_id.get(id).ok_or(Error::NotFoundId(*id))?;
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

/// A batch of ids to erase: each live, none twice (checked before anything changes).
fn check_ids(w: &VaultState, ids: &[FacialId]) -> Result<()> {
    let uniq: BTreeSet<FacialId> = ids.iter().copied().collect();
    if uniq.len() != ids.len() {
        return Err(Error::InvalidArgument("the same Facial ID is listed twice".into()));
    }
    if let Some(missing) = ids.iter().find(|i| !w.records.by_id.contains_key(i)) {
        return Err(Error::NotFoundId(*missing));
    }
    Ok(())
}

impl VaultState {
    /// Removes a record and its index row from memory (nothing else); returns it.
    pub fn forget_record(&mut self, id: &FacialId) -> Option<Record> {
        let rec = self.records.by_id.remove(id)?;
        let row = rec.row;
        if let Some(moved_from) = self.records.index.swap_remove(row) {
            let moved_id = self.records.row_ids[moved_from as usize];
            if let Some(m) = self.records.by_id.get_mut(&moved_id) {
                m.row = row;
            }
        }
        self.records.row_ids.swap_remove(row as usize);
        self.records.interactions_in_manifest.remove(id);
        Some(rec)
    }

    /// Removes a record from memory and logs the deletion.
    pub fn delete_record(&mut self, id: &FacialId, reason: DeletionReason, now: i64) -> Result<Deletion> {
        let rec = self.forget_record(id).ok_or(Error::NotFoundId(*id))?;
        let mut old_file = None;
        match rec.segment {
            Some(seg) => {
                if let Some(s) = self.segments.by_id.get_mut(&seg) {
                    s.live = s.live.saturating_sub(1);
                    old_file = Some(crate::storage::format::segment_file(seg, s.generation));
                }
                self.mark_segment_for_rewrite(seg);
            }
            None => {
                if let Some(pos) = self.records.uncommitted.iter().position(|(p, _)| p == id) {
                    // The template wipes itself as it is dropped.
                    drop(self.records.uncommitted.remove(pos));
                }
            }
        }
        self.records.interactions_in_manifest.remove(id);
        self.log.live_set.remove(id.as_bytes());
        *self.records.deletions_by_reason.entry(reason).or_insert(0) += 1;
        self.changed = true;
        drop(rec);
        let log_index = self.append_event(now, Event::Deleted { facial_id: *id, reason });
        Ok(Deletion { facial_id: *id, log_index, reason, at: now, old_file, withdrawal_index: None })
    }
}
