//! Transparency: audit-log appends, signed tree heads, inclusion and consistency proofs,
//! published heads, and the deletion and enrollment receipts built from them.
//!
//! Tree heads are signed over the committed prefix of the log and the live set only, so a
//! crash or a dropped handle can never make the vault sign two different logs of the same
//! size. Everything a receipt proves is in the committed log, so a receipt lost after its
//! deletion committed (a crash before it was saved) can always be issued again
//! ([`Vault::issue_receipt`]).
//!
//! Log times are the vault clock when the event happened (all entries of one operation share
//! one time); they are not forced to increase, since a clock stepped back must not delay
//! retention. A tree head's timestamp is never earlier than the last entry it covers, nor than
//! the entries a receipt proves, so receipt checks hold whatever the clock did.

#![forbid(unsafe_code)]

use super::erasure::Deletion;
use super::state::{AuditLog, VaultState};
use super::Vault;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::to_hex;
use crate::log::audit::{Event, LogEntry};
use crate::log::merkle;
use crate::receipt::{
    self, DeletionReceipt, EnrollmentReceipt, HeadRef, LiveSetProof, PublishedHead, Receipt, SignedTreeHead, VerificationKey,
    WithdrawalProof,
};

impl Vault {
    /// A freshly signed (version-2) tree head over the committed log and live set. Refused by
    /// a failed handle ([`Error::VaultFailed`]): a signature must never cover half-changed
    /// state.
    pub fn tree_head(&self) -> Result<SignedTreeHead> {
        self.check_usable()?;
        let now = self.now();
        Ok(self.read().sign_head(now, i64::MIN))
    }

    /// A tree head to publish (docs/RECEIPTS.md, "Published tree heads"): a freshly signed
    /// head, linked to `previous` (the last one you published; `None` for the first) by an
    /// RFC 9162 consistency proof and by the previous tree's frontier with the leaf hashes
    /// appended since. Publish them on a schedule (e.g. daily, on a web page); anyone can then
    /// check them and any receipt with [`receipt::monitor`], offline.
    ///
    /// Refused with [`Error::VerificationFailed`] if `previous` was not signed by one of this
    /// vault's keys, or is not a prefix of the committed log: the vault's history differs from
    /// what was published (restored from an older copy, or another vault's head) — publishing
    /// would show two histories.
    pub fn publish_head(&self, previous: Option<&PublishedHead>) -> Result<PublishedHead> {
        self.check_usable()?;
        let keys: Vec<VerificationKey> = std::iter::once(self.verification_key()).chain(self.previous_verification_keys()).collect();
        let now = self.now();
        let r = self.read();
        let head = r.sign_head(now, i64::MIN);
        let Some(prev) = previous else {
            return Ok(PublishedHead::new(head, None, Vec::new(), Vec::new(), &[]));
        };
        prev.verify(&keys)
            .map_err(|e| Error::VerificationFailed(format!("the previous published head does not verify with this vault's keys: {e}")))?;
        let (a, b) = (prev.tree_head.log_size, head.log_size);
        let differs = || {
            Error::VerificationFailed(format!(
                "the previous published head (log size {a}) is not a prefix of this vault's committed log ({b} entries): the vault's \
                 history differs from what was published (was it restored from an older copy?); publishing now would show two histories"
            ))
        };
        if a > b {
            return Err(differs());
        }
        let root_a = r.log.tree.root_at(a).expect("a ≤ committed size ≤ log length");
        if to_hex(&root_a) != prev.tree_head.log_root {
            return Err(differs());
        }
        let proof = r.log.tree.consistency_proof(a, b).expect("a ≤ b ≤ log length");
        let frontier = r.log.tree.frontier(a).expect("a ≤ log length");
        let leaves = &r.log.tree.leaves()[a as usize..b as usize];
        Ok(PublishedHead::new(head, Some(HeadRef { log_size: a, log_root: to_hex(&root_a) }), proof, frontier, leaves))
    }

    /// RFC 9162 consistency proof from the log at `old_size` to `new_size` (hex hashes).
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<String>> {
        self.check_usable()?;
        let r = self.read();
        if new_size > r.log.committed as u64 {
            return Err(Error::InvalidArgument(format!("the committed log has {} entries", r.log.committed)));
        }
        r.log
            .tree
            .consistency_proof(old_size, new_size)
            .map(|p| p.iter().map(|h| to_hex(h)).collect())
            .map_err(|e| Error::InvalidArgument(format!("consistency proof {old_size}→{new_size}: {e}")))
    }

    /// Audit-log entries with index in `[from, to)` (no biometric data in them); `to: None`
    /// means the end of the log. The range is clamped to the log, so a `from` at or past
    /// the end gives no entries; only `from > to` (an explicit `to`) is an error.
    pub fn audit_entries(&self, from: u64, to: Option<u64>) -> Result<Vec<LogEntry>> {
        self.check_usable()?;
        let r = self.read();
        let n = r.log.entries.len() as u64;
        if let Some(t) = to {
            if from > t {
                return Err(Error::InvalidArgument(format!("audit range {from}..{t}: from is after to")));
            }
        }
        let to = to.unwrap_or(n).min(n);
        let from = from.min(to);
        (from..to).map(|i| LogEntry::from_bytes(&r.log.entries[i as usize])).collect()
    }

    /// A receipt proving that the consent record and the enrollment of `id` are in the
    /// audit log and that `id` is live (GDPR Art. 7(1): demonstrating consent). Available
    /// once the enrollment is committed: signed tree heads only ever cover committed state,
    /// so a crash can never make the vault sign two different logs of the same size.
    pub fn enrollment_receipt(&self, id: &FacialId) -> Result<EnrollmentReceipt> {
        self.check_usable()?;
        let now = self.now();
        let r = self.read();
        let rec = r.records.by_id.get(id).ok_or(Error::NotFoundId(*id))?;
        if rec.segment.is_none() {
            return Err(Error::NotCommitted(format!("the enrollment of {id} has no receipt until it is committed; call commit() first")));
        }
        r.enrollment_receipt(id, now)
    }

    /// Issues, against a freshly signed tree head, the receipt of what the committed audit log
    /// says about `id`: the deletion receipt if it was deleted (with its withdrawal if it was
    /// withdrawn), else the enrollment receipt if it is live. Everything a receipt proves is in
    /// the log, so this recovers a receipt lost after its deletion committed (a crash, a
    /// full disk, a failed file write).
    ///
    /// A re-issued deletion receipt's `erasure_pending` lists every obsolete segment file the
    /// file system still refuses to remove (the vault no longer knows which held the record).
    /// Errors: [`Error::NotFoundId`] if the log has nothing about `id`,
    /// [`Error::NotCommitted`] for an enrollment, or a deletion whose commit failed, not
    /// committed yet.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// use fidex::{receipt::{self, Receipt}, ConsentReceipt, DeletionReason, Vault, VaultConfig, VaultKey};
    /// let vault = Vault::create(dir.path().join("v"), &VaultKey::generate(), VaultConfig::new(2)).unwrap();
    /// let c = ConsentReceipt::explicit("ann", "Acme", "https://acme.example/p", &["identification"], 1_700_000_000).unwrap();
    /// let id = vault.enroll(&[1.0, 0.0], &c, None).unwrap().facial_id;
    /// let _lost = vault.withdraw_consent(&id).unwrap();
    /// let again = vault.issue_receipt(&id).unwrap();
    /// let Receipt::Deletion(d) = &again else { panic!() };
    /// assert!(d.withdrawal.is_some());
    /// receipt::verify_json(&again.to_json(), &vault.verification_key()).unwrap();
    /// ```
    pub fn issue_receipt(&self, id: &FacialId) -> Result<Receipt> {
        self.check_usable()?;
        let now = self.now();
        let r = self.read();
        if let Some(rec) = r.records.by_id.get(id) {
            if rec.segment.is_none() {
                return Err(Error::NotCommitted(format!("the enrollment of {id} has no receipt until it is committed; call commit() first")));
            }
            return r.enrollment_receipt(id, now).map(Receipt::Enrollment);
        }
        let found = r.log.find_latest(id, r.log.committed, |e| matches!(e, Event::Deleted { .. }))?;
        let Some(del) = found else {
            // A deletion whose commit failed is in memory only: its receipt comes with the
            // next successful commit.
            if r.log.find_latest(id, r.log.entries.len(), |e| matches!(e, Event::Deleted { .. }))?.is_some() {
                return Err(Error::NotCommitted(format!("the deletion of {id} is not committed yet (its commit failed); call commit() first")));
            }
            return Err(Error::NotFoundId(*id));
        };
        let Event::Deleted { reason, .. } = del.event else { unreachable!("matched above") };
        let withdrawal = r.log.find_latest(id, del.index as usize, |e| matches!(e, Event::ConsentWithdrawn { .. }))?;
        let pending: Vec<String> = r.segments.pending_removals.iter().filter(|f| f.starts_with("seg-")).cloned().collect();
        let d = Deletion { facial_id: *id, log_index: del.index, reason, at: del.time, old_file: None, withdrawal_index: withdrawal.map(|w| w.index) };
        let mut receipts = r.deletion_receipts(&[d], now);
        let mut out = receipts.remove(0);
        out.erasure_pending = pending;
        Ok(Receipt::Deletion(out))
    }
}

impl AuditLog {
    /// An entry's JSON text.
    fn entry_text(&self, i: u64) -> String {
        String::from_utf8(self.entries[i as usize].clone()).expect("log entries are JSON text")
    }

    /// The inclusion proof of entry `index` in the log of `size` entries (hex hashes).
    fn inclusion_hex(&self, index: u64, size: u64) -> Vec<String> {
        self.tree.inclusion_proof(index, size).expect("index < size ≤ log length").iter().map(|h| to_hex(h)).collect()
    }

    /// The time of entry `i`.
    fn time_of(&self, i: usize) -> i64 {
        LogEntry::from_bytes(&self.entries[i]).map_or(i64::MIN, |e| e.time)
    }

    /// The last entry before index `before` that is about `id` and satisfies `want`.
    fn find_latest(&self, id: &FacialId, before: usize, want: impl Fn(&Event) -> bool) -> Result<Option<LogEntry>> {
        let needle = id.to_string();
        for i in (0..before.min(self.entries.len())).rev() {
            let bytes = &self.entries[i];
            if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            let e = LogEntry::from_bytes(bytes)?;
            if e.event.facial_id() == Some(*id) && want(&e.event) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }
}

impl VaultState {
    /// Appends an entry to the audit log (in memory; on disk with the next commit) and
    /// returns its index.
    pub fn append_event(&mut self, time: i64, event: Event) -> u64 {
        let index = self.log.entries.len() as u64;
        let entry = LogEntry { index, time, vault_id: to_hex(&self.header.vault_id), event };
        let bytes = entry.to_bytes();
        self.log.tree.append(merkle::leaf_hash(&bytes));
        self.log.entries.push(bytes);
        index
    }

    /// Signs a version-2 tree head over the committed log and the committed live set only,
    /// timestamped `now`, or later if the last committed entry (or `at_least`) is later.
    pub fn sign_head(&self, now: i64, at_least: i64) -> SignedTreeHead {
        let size = self.log.committed as u64;
        let root = self.log.tree.root_at(size).expect("committed size ≤ log length");
        let last = if size == 0 { i64::MIN } else { self.log.time_of(size as usize - 1) };
        let ts = now.max(last).max(at_least);
        SignedTreeHead::sign(&self.keys.signing, &self.header.vault_id, size, &root, &self.log.live_set.root(), ts)
    }

    /// The enrollment receipt of a committed, live `id` (the caller checked both).
    fn enrollment_receipt(&self, id: &FacialId, now: i64) -> Result<EnrollmentReceipt> {
        let committed = self.log.committed;
        let e = self.log.find_latest(id, committed, |e| matches!(e, Event::Enrolled { .. }))?;
        let c = self.log.find_latest(id, committed, |e| matches!(e, Event::ConsentRecorded { .. }))?;
        let (Some(c), Some(e)) = (c, e) else {
            return Err(Error::corrupt(format!("the audit log has no enrollment entries for {id}")));
        };
        let Event::ConsentRecorded { consent_receipt_id, consent_sha256, .. } = &c.event else {
            unreachable!("matched above")
        };
        let head = self.sign_head(now, e.time.max(c.time));
        Ok(EnrollmentReceipt {
            kind: receipt::ENROLLMENT_RECEIPT_TYPE.into(),
            version: receipt::CURRENT_VERSION,
            vault_id: to_hex(&self.header.vault_id),
            facial_id: *id,
            enrolled_at: e.time,
            consent_receipt_id: consent_receipt_id.clone(),
            consent_sha256: consent_sha256.clone(),
            consent_entry: self.log.entry_text(c.index),
            consent_index: c.index,
            consent_inclusion_proof: self.log.inclusion_hex(c.index, head.log_size),
            enrollment_entry: self.log.entry_text(e.index),
            enrollment_index: e.index,
            enrollment_inclusion_proof: self.log.inclusion_hex(e.index, head.log_size),
            membership_proof: LiveSetProof::from_proof(&self.log.live_set.prove(id.as_bytes())),
            tree_head: head,
        })
    }

    /// The receipts of committed deletions, under one freshly signed tree head.
    pub fn deletion_receipts(&self, done: &[Deletion], now: i64) -> Vec<DeletionReceipt> {
        if done.is_empty() {
            return Vec::new();
        }
        let latest = done.iter().map(|d| d.at).max().unwrap_or(i64::MIN);
        let head = self.sign_head(now, latest);
        done.iter()
            .map(|d| DeletionReceipt {
                kind: receipt::DELETION_RECEIPT_TYPE.into(),
                version: receipt::CURRENT_VERSION,
                vault_id: to_hex(&self.header.vault_id),
                facial_id: d.facial_id,
                deleted_at: d.at,
                reason: d.reason,
                log_entry: self.log.entry_text(d.log_index),
                log_index: d.log_index,
                inclusion_proof: self.log.inclusion_hex(d.log_index, head.log_size),
                withdrawal: d.withdrawal_index.map(|w| WithdrawalProof {
                    withdrawn_at: self.log.time_of(w as usize),
                    log_entry: self.log.entry_text(w),
                    log_index: w,
                    inclusion_proof: self.log.inclusion_hex(w, head.log_size),
                }),
                tree_head: head.clone(),
                non_membership_proof: LiveSetProof::from_proof(&self.log.live_set.prove(d.facial_id.as_bytes())),
                // Honest about the files: the old file of the record if it is still there.
                erasure_pending: d.old_file.iter().filter(|f| self.segments.pending_removals.contains(*f)).cloned().collect(),
            })
            .collect()
    }
}
