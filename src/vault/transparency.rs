//! Transparency: audit-log appends, signed tree heads, inclusion and consistency proofs,
//! and the deletion and enrollment receipts built from them.
//!
//! Tree heads are signed over the committed prefix of the log and the live set only, so a
//! crash or a dropped handle can never make the vault sign two different logs of the same
//! size.

#![forbid(unsafe_code)]

use super::erasure::Deletion;
use super::state::{AuditLog, VaultState};
use super::Vault;
use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::to_hex;
use crate::log::audit::{Event, LogEntry};
use crate::log::merkle;
use crate::receipt::{DeletionReceipt, EnrollmentReceipt, LiveSetProof, SignedTreeHead};

impl Vault {
    /// A freshly signed tree head over the committed log and live set. Refused by a failed
    /// handle ([`Error::VaultFailed`]): a signature must never cover half-changed state.
    pub fn tree_head(&self) -> Result<SignedTreeHead> {
        self.check_usable()?;
        let now = self.now();
        Ok(self.read().sign_head(now))
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
        let needle = id.to_string();
        let (mut consent_entry, mut enroll_entry) = (None, None);
        for i in (0..r.log.committed).rev() {
            let bytes = &r.log.entries[i];
            if !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                continue;
            }
            let e = LogEntry::from_bytes(bytes)?;
            match &e.event {
                Event::Enrolled { facial_id } if facial_id == id && enroll_entry.is_none() => enroll_entry = Some(e),
                Event::ConsentRecorded { facial_id, .. } if facial_id == id && consent_entry.is_none() => consent_entry = Some(e),
                _ => {}
            }
            if consent_entry.is_some() && enroll_entry.is_some() {
                break;
            }
        }
        let (Some(c), Some(e)) = (consent_entry, enroll_entry) else {
            return Err(Error::corrupt(format!("the audit log has no enrollment entries for {id}")));
        };
        let Event::ConsentRecorded { consent_receipt_id, consent_sha256, .. } = &c.event else {
            unreachable!("matched above")
        };
        let head = r.sign_head(now);
        Ok(EnrollmentReceipt {
            kind: "fidex-enrollment-receipt".into(),
            version: 1,
            vault_id: to_hex(&r.header.vault_id),
            facial_id: *id,
            enrolled_at: e.time,
            consent_receipt_id: consent_receipt_id.clone(),
            consent_sha256: consent_sha256.clone(),
            consent_entry: r.log.entry_text(c.index),
            consent_index: c.index,
            consent_inclusion_proof: r.log.inclusion_hex(c.index, head.log_size),
            enrollment_entry: r.log.entry_text(e.index),
            enrollment_index: e.index,
            enrollment_inclusion_proof: r.log.inclusion_hex(e.index, head.log_size),
            membership_proof: LiveSetProof::from_proof(&r.log.live_set.prove(id.as_bytes())),
            tree_head: head,
        })
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

    /// Signs a tree head over the committed log and the committed live set only.
    pub fn sign_head(&self, now: i64) -> SignedTreeHead {
        let size = self.log.committed as u64;
        let root = self.log.tree.root_at(size).expect("committed size ≤ log length");
        let live = &self.log.live_set;
        SignedTreeHead::sign(&self.keys.signing, &self.header.vault_id, size, &root, &live.root(), live.len() as u64, now)
    }

    /// The receipts of committed deletions, under one freshly signed tree head.
    pub fn deletion_receipts(&self, done: &[Deletion], now: i64) -> Vec<DeletionReceipt> {
        if done.is_empty() {
            return Vec::new();
        }
        let head = self.sign_head(now);
        done.iter()
            .map(|d| DeletionReceipt {
                kind: "fidex-deletion-receipt".into(),
                version: 1,
                vault_id: to_hex(&self.header.vault_id),
                facial_id: d.facial_id,
                deleted_at: d.at,
                reason: d.reason,
                log_entry: self.log.entry_text(d.log_index),
                log_index: d.log_index,
                inclusion_proof: self.log.inclusion_hex(d.log_index, head.log_size),
                tree_head: head.clone(),
                non_membership_proof: LiveSetProof::from_proof(&self.log.live_set.prove(d.facial_id.as_bytes())),
                // Honest about the files: the old file of the record if it is still there.
                erasure_pending: d.old_file.iter().filter(|f| self.segments.pending_removals.contains(*f)).cloned().collect(),
            })
            .collect()
    }
}
