//! Signed tree heads, deletion and enrollment receipts, published tree heads, and their
//! offline verification.
//!
//! A receipt is self-contained: anyone holding the vault's published [`VerificationKey`] can
//! check it with [`verify_json`] (or [`verify`] / [`verify_enrollment`] on parsed receipts),
//! without the vault and without any secret. The JSON forms are specified in
//! docs/RECEIPTS.md, which is enough to write a verifier in another language
//! (`tests/vectors/receipts/verify.py` is one, checked against the vectors there).
//!
//! What a deletion receipt proves: the vault owner's signing key signed a tree head whose
//! audit log contains, at `log_index`, an entry saying this Facial ID was deleted at that time
//! for that reason (and, for a withdrawal, the entry recording the withdrawal before it), and
//! whose live-set commitment does not contain the Facial ID. A sequence of published tree
//! heads ([`PublishedHead`]) checked by [`monitor`] then shows the log was only ever appended
//! to since. It cannot prove that nobody kept a copy made before the deletion (see
//! docs/PRIVACY.md).
//!
//! Versions: fidex issues version 2 (tree heads name their signing key's id and no longer
//! sign an unbound `live_count`; withdrawals prove the withdrawal entry; enrollment receipts
//! check times). Version-1 receipts verify exactly as they were specified.

#![forbid(unsafe_code)]

mod head;
mod key;
mod monitor;
mod published;

pub use head::{SignedTreeHead, TREE_HEAD_DOMAIN, TREE_HEAD_DOMAIN_V2};
pub use key::{VerificationKey, VERIFICATION_KEY_PREFIX};
pub use monitor::{monitor, monitor_json, MonitorReport, MonitoredHead, MonitoredReceipt, Problem, ProblemKind};
pub use published::{HeadRef, PublishedHead, PUBLISHED_HEAD_TYPE};

use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::to_hex;
use crate::log::audit::{DeletionReason, Event, LogEntry};
use crate::log::merkle::{self, Hash};
use crate::log::smt::{self, SmtProof, Terminal};
use head::HeadVersion;
use serde::{Deserialize, Serialize};

/// `type` of a deletion receipt.
pub const DELETION_RECEIPT_TYPE: &str = "fidex-deletion-receipt";
/// `type` of an enrollment receipt.
pub const ENROLLMENT_RECEIPT_TYPE: &str = "fidex-enrollment-receipt";
/// The receipt and head version fidex issues.
pub const CURRENT_VERSION: u32 = 2;

/// Lower-case hex only (so a case change is a changed receipt, not an equivalent one).
pub(crate) fn strict_hex(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    crate::key::from_hex(s)
}

pub(crate) fn hash_from_hex(s: &str, what: &str) -> Result<Hash> {
    strict_hex(s)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::VerificationFailed(format!("{what} is not 64 lower-case hex digits")))
}

pub(crate) fn hashes(v: &[String], what: &str) -> Result<Vec<Hash>> {
    v.iter().map(|s| hash_from_hex(s, what)).collect()
}

/// A live-set proof in JSON form: sibling hashes root-down, and the terminal leaf key
/// (32 hex digits, not hyphenated) or `null` for an empty subtree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSetProof {
    /// Sibling hashes from the root down (hex).
    pub siblings: Vec<String>,
    /// Key of the single-key subtree the path ends in, or null if it ends in an empty one.
    pub terminal_leaf: Option<String>,
}

impl LiveSetProof {
    pub(crate) fn from_proof(p: &SmtProof) -> LiveSetProof {
        LiveSetProof {
            siblings: p.siblings.iter().map(|h| to_hex(h)).collect(),
            terminal_leaf: match &p.terminal {
                Terminal::Empty => None,
                Terminal::Leaf(k) => Some(to_hex(k)),
            },
        }
    }

    fn to_proof(&self) -> Result<SmtProof> {
        let siblings = hashes(&self.siblings, "live-set sibling")?;
        let terminal = match &self.terminal_leaf {
            None => Terminal::Empty,
            Some(k) => Terminal::Leaf(
                strict_hex(k)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| Error::VerificationFailed("terminal leaf is not 32 lower-case hex digits".into()))?,
            ),
        };
        Ok(SmtProof { siblings, terminal })
    }
}

/// The withdrawal part of a version-2 deletion receipt with reason `consent_withdrawn`: the
/// audit-log entry recording the subject's withdrawal, proven like the deletion entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalProof {
    /// Unix seconds when the withdrawal was recorded.
    pub withdrawn_at: i64,
    /// The `consent_withdrawn` entry (exact bytes, JSON text).
    pub log_entry: String,
    /// Its index in the log (0-based).
    pub log_index: u64,
    /// RFC 9162 inclusion proof of the entry in the tree head's log (hex hashes).
    pub inclusion_proof: Vec<String>,
}

/// Proof that a template was deleted (see the module docs and docs/RECEIPTS.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionReceipt {
    /// Always `fidex-deletion-receipt`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Receipt format version (2; 1 for receipts issued before issue 16).
    pub version: u32,
    /// Vault id (hex).
    pub vault_id: String,
    /// The deleted Facial ID.
    pub facial_id: FacialId,
    /// Unix seconds of the deletion.
    pub deleted_at: i64,
    /// Why.
    pub reason: DeletionReason,
    /// The audit-log entry (exact bytes, JSON text).
    pub log_entry: String,
    /// Its index in the log (0-based).
    pub log_index: u64,
    /// RFC 9162 inclusion proof of the entry in the tree head's log (hex hashes).
    pub inclusion_proof: Vec<String>,
    /// Version 2, reason `consent_withdrawn`: the withdrawal entry before the deletion.
    /// Present whenever the log records the withdrawal (always, for withdrawals made by
    /// fidex 0.2 after issue 16; a deletion with that reason made by `delete` before it has
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<WithdrawalProof>,
    /// The signed tree head.
    pub tree_head: SignedTreeHead,
    /// Proof that the Facial ID is not in the live set committed by the tree head.
    pub non_membership_proof: LiveSetProof,
    /// Vault files that still held an encryption of the deleted record when the receipt was
    /// issued, because the file system refused to remove them (absent when there were none,
    /// which is the normal case). Not covered by the signature: it is the vault's
    /// statement about its files at issue time. The files are no longer referenced by the
    /// vault, are retried at each commit and at open, and are unreadable without the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub erasure_pending: Vec<String>,
}

/// Proof that consent was recorded and the template enrolled (GDPR Art. 7(1)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentReceipt {
    /// Always `fidex-enrollment-receipt`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Receipt format version (2; 1 for receipts issued before issue 16).
    pub version: u32,
    /// Vault id (hex).
    pub vault_id: String,
    /// The new Facial ID.
    pub facial_id: FacialId,
    /// Unix seconds of enrollment.
    pub enrolled_at: i64,
    /// Kantara `consentReceiptID`.
    pub consent_receipt_id: String,
    /// SHA-256 of the consent JSON as stored (hex; see docs/FORMAT.md: fidex's compact
    /// re-serialisation, not the bytes the subject was given).
    pub consent_sha256: String,
    /// The consent-recorded log entry (JSON text).
    pub consent_entry: String,
    /// Its index (0-based).
    pub consent_index: u64,
    /// Its inclusion proof.
    pub consent_inclusion_proof: Vec<String>,
    /// The enrolled log entry (JSON text).
    pub enrollment_entry: String,
    /// Its index (0-based).
    pub enrollment_index: u64,
    /// Its inclusion proof.
    pub enrollment_inclusion_proof: Vec<String>,
    /// The signed tree head.
    pub tree_head: SignedTreeHead,
    /// Proof that the Facial ID is in the live set.
    pub membership_proof: LiveSetProof,
}

/// The receipt kinds, for generic handling (CLI, C ABI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Receipt {
    /// A deletion receipt.
    Deletion(DeletionReceipt),
    /// An enrollment receipt.
    Enrollment(EnrollmentReceipt),
}

impl Receipt {
    /// The receipt's signed tree head.
    pub fn tree_head(&self) -> &SignedTreeHead {
        match self {
            Receipt::Deletion(d) => &d.tree_head,
            Receipt::Enrollment(e) => &e.tree_head,
        }
    }

    /// The Facial ID the receipt is about.
    pub fn facial_id(&self) -> FacialId {
        match self {
            Receipt::Deletion(d) => d.facial_id,
            Receipt::Enrollment(e) => e.facial_id,
        }
    }

    /// Canonical JSON text ([`to_json`]).
    pub fn to_json(&self) -> String {
        match self {
            Receipt::Deletion(d) => to_json(d),
            Receipt::Enrollment(e) => to_json(e),
        }
    }
}

/// Checks one entry of a receipt: canonical bytes, index, vault, and its RFC 9162 inclusion
/// proof against the head's log root.
fn check_inclusion(entry: &str, index: u64, proof: &[String], head: &SignedTreeHead, what: &str) -> Result<LogEntry> {
    let fail = |m: String| Error::VerificationFailed(m);
    let parsed = LogEntry::from_bytes(entry.as_bytes()).map_err(|_| fail(format!("{what} is not a valid audit-log entry")))?;
    if parsed.to_bytes() != entry.as_bytes() {
        return Err(fail(format!("{what} is not in canonical form")));
    }
    if parsed.index != index {
        return Err(fail(format!("{what}: its index disagrees with the receipt")));
    }
    if parsed.vault_id != head.vault_id {
        return Err(fail(format!("{what} is for another vault")));
    }
    let root = head.log_root_hash()?;
    merkle::verify_inclusion(&merkle::leaf_hash(entry.as_bytes()), index, head.log_size, &hashes(proof, "inclusion proof")?, &root)
        .map_err(|e| fail(format!("{what}: inclusion proof: {e}")))?;
    Ok(parsed)
}

/// The receipt's version and its head's must agree: a version-1 receipt carries a
/// version-1 head, a version-2 receipt a version-2 head.
fn check_versions(kind: &str, version: u32, head: &SignedTreeHead) -> Result<HeadVersion> {
    let want = match version {
        1 => HeadVersion::V1,
        2 => HeadVersion::V2,
        v => return Err(Error::VerificationFailed(format!("{kind} version {v} is not supported (1 or 2)"))),
    };
    if head.head_version()? != want {
        return Err(Error::VerificationFailed(format!("a version-{version} {kind} must carry a version-{version} tree head")));
    }
    Ok(want)
}

/// Verifies a deletion receipt offline with the vault's verification key.
pub fn verify(receipt: &DeletionReceipt, vk: &VerificationKey) -> Result<()> {
    let fail = |m: &str| Err(Error::VerificationFailed(m.to_string()));
    if receipt.kind != DELETION_RECEIPT_TYPE {
        return fail("not a fidex deletion receipt");
    }
    let version = check_versions("deletion receipt", receipt.version, &receipt.tree_head)?;
    if receipt.vault_id != to_hex(&vk.vault_id) || receipt.tree_head.vault_id != receipt.vault_id {
        return fail("receipt is for a different vault than the verification key");
    }
    receipt.tree_head.verify(vk)?;
    let entry = check_inclusion(&receipt.log_entry, receipt.log_index, &receipt.inclusion_proof, &receipt.tree_head, "log entry")?;
    match entry.event {
        Event::Deleted { facial_id, reason } if facial_id == receipt.facial_id && reason == receipt.reason => {}
        _ => return fail("log entry does not record this deletion"),
    }
    if entry.time != receipt.deleted_at {
        return fail("deletion time disagrees with the log entry");
    }
    if receipt.tree_head.timestamp < receipt.deleted_at {
        return fail("tree head predates the deletion");
    }
    match (&receipt.withdrawal, version) {
        (None, _) => {}
        (Some(_), HeadVersion::V1) => return fail("a version-1 receipt has no withdrawal part"),
        (Some(_), HeadVersion::V2) if receipt.reason != DeletionReason::ConsentWithdrawn => {
            return fail("a withdrawal part belongs only to a deletion with reason consent_withdrawn")
        }
        (Some(w), HeadVersion::V2) => {
            let e = check_inclusion(&w.log_entry, w.log_index, &w.inclusion_proof, &receipt.tree_head, "withdrawal entry")?;
            match e.event {
                Event::ConsentWithdrawn { facial_id } if facial_id == receipt.facial_id => {}
                _ => return fail("withdrawal entry does not record this subject's withdrawal"),
            }
            if e.time != w.withdrawn_at {
                return fail("withdrawal time disagrees with its log entry");
            }
            if w.log_index >= receipt.log_index || w.withdrawn_at > receipt.deleted_at {
                return fail("the withdrawal must be logged before the deletion (index and time)");
            }
        }
    }
    let live_root = hash_from_hex(&receipt.tree_head.live_root, "live_root")?;
    smt::verify_non_membership(&live_root, receipt.facial_id.as_bytes(), &receipt.non_membership_proof.to_proof()?)
        .map_err(|e| Error::VerificationFailed(format!("live-set non-membership proof: {e}")))
}

/// Verifies an enrollment receipt offline.
pub fn verify_enrollment(receipt: &EnrollmentReceipt, vk: &VerificationKey) -> Result<()> {
    let fail = |m: &str| Err(Error::VerificationFailed(m.to_string()));
    if receipt.kind != ENROLLMENT_RECEIPT_TYPE {
        return fail("not a fidex enrollment receipt");
    }
    let version = check_versions("enrollment receipt", receipt.version, &receipt.tree_head)?;
    if receipt.vault_id != to_hex(&vk.vault_id) || receipt.tree_head.vault_id != receipt.vault_id {
        return fail("receipt is for a different vault than the verification key");
    }
    receipt.tree_head.verify(vk)?;
    let c = check_inclusion(&receipt.consent_entry, receipt.consent_index, &receipt.consent_inclusion_proof, &receipt.tree_head, "consent entry")?;
    match &c.event {
        Event::ConsentRecorded { facial_id, consent_receipt_id, consent_sha256, .. }
            if *facial_id == receipt.facial_id
                && *consent_receipt_id == receipt.consent_receipt_id
                && *consent_sha256 == receipt.consent_sha256 => {}
        _ => return fail("consent entry does not match the receipt"),
    }
    let e = check_inclusion(&receipt.enrollment_entry, receipt.enrollment_index, &receipt.enrollment_inclusion_proof, &receipt.tree_head, "enrollment entry")?;
    match e.event {
        Event::Enrolled { facial_id } if facial_id == receipt.facial_id => {}
        _ => return fail("enrollment entry does not match the receipt"),
    }
    if e.time != receipt.enrolled_at || c.index >= e.index {
        return fail("enrollment time or order disagrees with the log");
    }
    if version == HeadVersion::V2 {
        if c.time > receipt.enrolled_at {
            return fail("the consent entry is timestamped after the enrollment");
        }
        if receipt.tree_head.timestamp < receipt.enrolled_at {
            return fail("tree head predates the enrollment");
        }
    }
    let live_root = hash_from_hex(&receipt.tree_head.live_root, "live_root")?;
    smt::verify_membership(&live_root, receipt.facial_id.as_bytes(), &receipt.membership_proof.to_proof()?)
        .map_err(|e| Error::VerificationFailed(format!("live-set membership proof: {e}")))
}

/// Parses and verifies receipt JSON of either kind. The text must be exactly the canonical
/// form fidex writes ([`to_json`], docs/RECEIPTS.md), optionally followed by one newline;
/// any changed byte fails.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// use fidex::{receipt, ConsentReceipt, DeletionReason, Vault, VaultConfig, VaultKey};
/// let vault = Vault::create(dir.path().join("v"), &VaultKey::generate(), VaultConfig::new(2)).unwrap();
/// let c = ConsentReceipt::explicit("ann", "Acme", "https://acme.example/p", &["identification"], 1_700_000_000).unwrap();
/// let id = vault.enroll(&[1.0, 0.0], &c, None).unwrap().facial_id;
/// let text = receipt::to_json(&vault.delete(&id, DeletionReason::SubjectRequest).unwrap());
/// let vk = vault.verification_key();
/// assert!(receipt::verify_json(&format!("{text}\n"), &vk).is_ok());
/// assert!(receipt::verify_json(&text.replacen("  ", "   ", 1), &vk).is_err());
/// ```
pub fn verify_json(text: &str, vk: &VerificationKey) -> Result<Receipt> {
    let r = parse_json(text)?;
    match &r {
        Receipt::Deletion(d) => verify(d, vk)?,
        Receipt::Enrollment(e) => verify_enrollment(e, vk)?,
    }
    Ok(r)
}

/// [`verify_json`] with the right one of `keys` (a vault's current and earlier keys, as read
/// by [`VerificationKey::parse_key_file`]): the key named by the head's key id (version 2),
/// else the first that verifies. Returns the receipt and the key that verified it.
pub fn verify_json_with_keys(text: &str, keys: &[VerificationKey]) -> Result<(Receipt, VerificationKey)> {
    let r = parse_json(text)?;
    let head = r.tree_head();
    let candidates: Vec<VerificationKey> = match head.head_version() {
        Ok(HeadVersion::V2) => keys.iter().filter(|k| Some(k.key_id()) == head.key_id).copied().collect(),
        _ => keys.to_vec(),
    };
    if candidates.is_empty() {
        return Err(Error::VerificationFailed(format!(
            "the receipt was signed by key id {}, which is not among the given verification keys",
            head.key_id.as_deref().unwrap_or("?")
        )));
    }
    let mut err = None;
    for k in &candidates {
        let res = match &r {
            Receipt::Deletion(d) => verify(d, k),
            Receipt::Enrollment(e) => verify_enrollment(e, k),
        };
        match res {
            Ok(()) => return Ok((r, *k)),
            // Prefer a reason other than "wrong vault" when several keys are given.
            Err(e) => {
                if err.is_none() || !e.to_string().contains("different vault") {
                    err = Some(e);
                }
            }
        }
    }
    Err(err.expect("at least one candidate"))
}

/// Parses receipt text and checks its canonical form (without verifying anything else).
pub fn parse_json(text: &str) -> Result<Receipt> {
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let r = parse_receipt(trimmed)?;
    if r.to_json() != trimmed {
        return Err(Error::VerificationFailed("receipt is not in canonical form (it was edited)".into()));
    }
    Ok(r)
}

/// Parses receipt JSON by its `type` field, so that a malformed receipt is described in
/// terms of its own fields ("deletion receipt: missing field `log_index`").
fn parse_receipt(text: &str) -> Result<Receipt> {
    let bad = |m: String| Error::VerificationFailed(m);
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("the receipt is not JSON ({e})")))?;
    let kind = v.get("type").and_then(serde_json::Value::as_str).unwrap_or("");
    match kind {
        DELETION_RECEIPT_TYPE => serde_json::from_value(v)
            .map(Receipt::Deletion)
            .map_err(|e| bad(format!("deletion receipt: {e}"))),
        ENROLLMENT_RECEIPT_TYPE => serde_json::from_value(v)
            .map(Receipt::Enrollment)
            .map_err(|e| bad(format!("enrollment receipt: {e}"))),
        _ => Err(bad(
            "not a fidex receipt: its \"type\" must be \"fidex-deletion-receipt\" or \"fidex-enrollment-receipt\"".into(),
        )),
    }
}

/// Canonical JSON of a receipt, tree head or published head (docs/RECEIPTS.md, "Canonical
/// form": 2-space indentation, fixed field order, no trailing newline).
pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("receipts always serialise")
}

/// Checks that `newer` extends `older` (the log was only appended to): both heads verify
/// with `vk` and `proof` is a valid RFC 9162 consistency proof between them.
pub fn verify_consistency(older: &SignedTreeHead, newer: &SignedTreeHead, proof: &[String], vk: &VerificationKey) -> Result<()> {
    verify_consistency_with_keys(older, newer, proof, std::slice::from_ref(vk))
}

/// [`verify_consistency`] across key rotations: each head must verify with one of `keys`
/// (the vault's current and previous verification keys), and both be of the same vault.
pub fn verify_consistency_with_keys(older: &SignedTreeHead, newer: &SignedTreeHead, proof: &[String], keys: &[VerificationKey]) -> Result<()> {
    if older.vault_id != newer.vault_id {
        return Err(Error::VerificationFailed("the two tree heads are of different vaults".into()));
    }
    older.verify_with_keys(keys)?;
    newer.verify_with_keys(keys)?;
    if newer.log_size < older.log_size {
        return Err(Error::VerificationFailed("the newer tree head is smaller".into()));
    }
    merkle::verify_consistency(older.log_size, newer.log_size, &older.log_root_hash()?, &newer.log_root_hash()?, &hashes(proof, "consistency proof")?)
        .map_err(|e| Error::VerificationFailed(format!("consistency proof: {e}")))
}
