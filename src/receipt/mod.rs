//! Signed tree heads, deletion and enrollment receipts, and their offline verification.
//!
//! A receipt is self-contained: anyone holding the vault's published
//! [`VerificationKey`] can check it with [`verify`] / [`verify_json`], without the vault and
//! without any secret. The JSON form is specified in docs/RECEIPTS.md.
//!
//! What a deletion receipt proves: the vault owner's signing key signed a tree head whose
//! audit log contains, at `log_index`, an entry saying this Facial ID was deleted at that time
//! for that reason, and whose live-set commitment does not contain the Facial ID. Combined
//! with a later tree head and a consistency proof ([`verify_consistency`]), it proves the
//! log was only appended to since. It cannot prove that nobody kept a copy made before the
//! deletion (see docs/PRIVACY.md).

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::id::FacialId;
use crate::key::to_hex;
use crate::log::audit::{DeletionReason, Event, LogEntry};
use crate::log::merkle::{self, Hash};
use crate::log::smt::{self, SmtProof, Terminal};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Prefix of verification key text.
pub const VERIFICATION_KEY_PREFIX: &str = "fidex-vk-1:";
/// Domain separator of the signed tree-head message.
pub const TREE_HEAD_DOMAIN: &[u8] = b"fidex/v1/tree-head\0";

/// A vault's public verification key: vault id + Ed25519 public key.
///
/// Text form: `fidex-vk-1:<32 hex vault id>:<64 hex Ed25519 public key>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerificationKey {
    /// The vault the key signs for.
    pub vault_id: [u8; 16],
    /// Ed25519 public key bytes.
    pub public_key: [u8; 32],
}

impl VerificationKey {
    /// Text form, safe to publish.
    pub fn to_text(&self) -> String {
        format!("{VERIFICATION_KEY_PREFIX}{}:{}", to_hex(&self.vault_id), to_hex(&self.public_key))
    }

    /// Parses the text form (lower-case hex only).
    pub fn from_text(text: &str) -> Result<VerificationKey> {
        let bad = |m: &str| Error::InvalidKeyText(format!("verification key: {m}"));
        let rest = text.trim().strip_prefix(VERIFICATION_KEY_PREFIX).ok_or_else(|| bad("must start with 'fidex-vk-1:'"))?;
        let (v, k) = rest.split_once(':').ok_or_else(|| bad("missing ':'"))?;
        let vault_id: [u8; 16] = strict_hex(v).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("vault id must be 32 lower-case hex digits"))?;
        let public_key: [u8; 32] = strict_hex(k).and_then(|b| b.try_into().ok()).ok_or_else(|| bad("public key must be 64 lower-case hex digits"))?;
        VerifyingKey::from_bytes(&public_key).map_err(|_| bad("not a valid Ed25519 public key"))?;
        Ok(VerificationKey { vault_id, public_key })
    }

    pub(crate) fn from_signing(vault_id: [u8; 16], sk: &SigningKey) -> VerificationKey {
        VerificationKey { vault_id, public_key: sk.verifying_key().to_bytes() }
    }
}

/// Lower-case hex only (so a case change is a changed receipt, not an equivalent one).
pub(crate) fn strict_hex(s: &str) -> Option<Vec<u8>> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) {
        return None;
    }
    crate::key::from_hex(s)
}

fn hash_from_hex(s: &str, what: &str) -> Result<Hash> {
    strict_hex(s)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::VerificationFailed(format!("{what} is not 64 lower-case hex digits")))
}

/// A signed commitment to the audit log and the live set at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTreeHead {
    /// Vault id (hex).
    pub vault_id: String,
    /// Number of audit-log entries.
    pub log_size: u64,
    /// RFC 6962 root of the audit log (hex).
    pub log_root: String,
    /// Root of the live-set commitment (hex).
    pub live_root: String,
    /// Number of live templates.
    pub live_count: u64,
    /// Unix seconds when signed.
    pub timestamp: i64,
    /// Ed25519 signature over [`SignedTreeHead::message`] (hex).
    pub signature: String,
}

impl SignedTreeHead {
    pub(crate) fn sign(
        sk: &SigningKey,
        vault_id: &[u8; 16],
        log_size: u64,
        log_root: &Hash,
        live_root: &Hash,
        live_count: u64,
        timestamp: i64,
    ) -> SignedTreeHead {
        let msg = head_message(vault_id, log_size, log_root, live_root, live_count, timestamp);
        let sig = sk.sign(&msg);
        SignedTreeHead {
            vault_id: to_hex(vault_id),
            log_size,
            log_root: to_hex(log_root),
            live_root: to_hex(live_root),
            live_count,
            timestamp,
            signature: to_hex(&sig.to_bytes()),
        }
    }

    /// The exact signed bytes: domain ‖ vault id ‖ log_size (u64 LE) ‖ log root ‖ live root
    /// ‖ live_count (u64 LE) ‖ timestamp (i64 LE).
    pub fn message(&self) -> Result<Vec<u8>> {
        let vid: [u8; 16] = strict_hex(&self.vault_id)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::VerificationFailed("tree head vault_id is malformed".into()))?;
        Ok(head_message(
            &vid,
            self.log_size,
            &hash_from_hex(&self.log_root, "log_root")?,
            &hash_from_hex(&self.live_root, "live_root")?,
            self.live_count,
            self.timestamp,
        ))
    }

    /// Checks the signature against `vk` (and that the head is for vk's vault).
    pub fn verify(&self, vk: &VerificationKey) -> Result<()> {
        if self.vault_id != to_hex(&vk.vault_id) {
            return Err(Error::VerificationFailed("tree head is for a different vault than the key".into()));
        }
        let msg = self.message()?;
        let sig_bytes: [u8; 64] = strict_hex(&self.signature)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::VerificationFailed("signature is not 128 lower-case hex digits".into()))?;
        let vkey = VerifyingKey::from_bytes(&vk.public_key)
            .map_err(|_| Error::VerificationFailed("verification key is not a valid Ed25519 key".into()))?;
        vkey.verify_strict(&msg, &Signature::from_bytes(&sig_bytes))
            .map_err(|_| Error::VerificationFailed("tree head signature does not verify with this key".into()))
    }
}

fn head_message(vault_id: &[u8; 16], log_size: u64, log_root: &Hash, live_root: &Hash, live_count: u64, ts: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(TREE_HEAD_DOMAIN.len() + 16 + 8 + 32 + 32 + 8 + 8);
    m.extend_from_slice(TREE_HEAD_DOMAIN);
    m.extend_from_slice(vault_id);
    m.extend_from_slice(&log_size.to_le_bytes());
    m.extend_from_slice(log_root);
    m.extend_from_slice(live_root);
    m.extend_from_slice(&live_count.to_le_bytes());
    m.extend_from_slice(&ts.to_le_bytes());
    m
}

/// A live-set proof in JSON form: sibling hashes root-down, and the terminal leaf key
/// (hex) or `null` for an empty subtree.
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
        let siblings = self
            .siblings
            .iter()
            .map(|s| hash_from_hex(s, "live-set sibling"))
            .collect::<Result<Vec<_>>>()?;
        let terminal = match &self.terminal_leaf {
            None => Terminal::Empty,
            Some(k) => Terminal::Leaf(
                strict_hex(k)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| Error::VerificationFailed("terminal leaf is not 32 hex digits".into()))?,
            ),
        };
        Ok(SmtProof { siblings, terminal })
    }
}

/// Proof that a template was deleted (see the module docs and docs/RECEIPTS.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionReceipt {
    /// Always `fidex-deletion-receipt`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Receipt format version (1).
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
    /// Its index in the log.
    pub log_index: u64,
    /// RFC 9162 inclusion proof of the entry in the tree head's log (hex hashes).
    pub inclusion_proof: Vec<String>,
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
    /// Receipt format version (1).
    pub version: u32,
    /// Vault id (hex).
    pub vault_id: String,
    /// The new Facial ID.
    pub facial_id: FacialId,
    /// Unix seconds of enrollment.
    pub enrolled_at: i64,
    /// Kantara `consentReceiptID`.
    pub consent_receipt_id: String,
    /// SHA-256 of the consent JSON as stored (hex).
    pub consent_sha256: String,
    /// The consent-recorded log entry (JSON text).
    pub consent_entry: String,
    /// Its index.
    pub consent_index: u64,
    /// Its inclusion proof.
    pub consent_inclusion_proof: Vec<String>,
    /// The enrolled log entry (JSON text).
    pub enrollment_entry: String,
    /// Its index.
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

fn hashes(v: &[String], what: &str) -> Result<Vec<Hash>> {
    v.iter().map(|s| hash_from_hex(s, what)).collect()
}

fn check_inclusion(entry: &str, index: u64, proof: &[String], head: &SignedTreeHead) -> Result<LogEntry> {
    let parsed = LogEntry::from_bytes(entry.as_bytes())
        .map_err(|_| Error::VerificationFailed("log entry is not a valid audit-log entry".into()))?;
    if parsed.to_bytes() != entry.as_bytes() {
        return Err(Error::VerificationFailed("log entry is not in canonical form".into()));
    }
    if parsed.index != index {
        return Err(Error::VerificationFailed("log entry index disagrees with the receipt".into()));
    }
    if parsed.vault_id != head.vault_id {
        return Err(Error::VerificationFailed("log entry is for another vault".into()));
    }
    let root = hash_from_hex(&head.log_root, "log_root")?;
    merkle::verify_inclusion(&merkle::leaf_hash(entry.as_bytes()), index, head.log_size, &hashes(proof, "inclusion proof")?, &root)
        .map_err(|e| Error::VerificationFailed(format!("log inclusion proof: {e}")))?;
    Ok(parsed)
}

/// Verifies a deletion receipt offline with the vault's verification key.
pub fn verify(receipt: &DeletionReceipt, vk: &VerificationKey) -> Result<()> {
    let fail = |m: &str| Err(Error::VerificationFailed(m.to_string()));
    if receipt.kind != "fidex-deletion-receipt" || receipt.version != 1 {
        return fail("not a version-1 fidex deletion receipt");
    }
    if receipt.vault_id != to_hex(&vk.vault_id) || receipt.tree_head.vault_id != receipt.vault_id {
        return fail("receipt is for a different vault than the verification key");
    }
    receipt.tree_head.verify(vk)?;
    let entry = check_inclusion(&receipt.log_entry, receipt.log_index, &receipt.inclusion_proof, &receipt.tree_head)?;
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
    let live_root = hash_from_hex(&receipt.tree_head.live_root, "live_root")?;
    smt::verify_non_membership(&live_root, receipt.facial_id.as_bytes(), &receipt.non_membership_proof.to_proof()?)
        .map_err(|e| Error::VerificationFailed(format!("live-set non-membership proof: {e}")))
}

/// Verifies an enrollment receipt offline.
pub fn verify_enrollment(receipt: &EnrollmentReceipt, vk: &VerificationKey) -> Result<()> {
    let fail = |m: &str| Err(Error::VerificationFailed(m.to_string()));
    if receipt.kind != "fidex-enrollment-receipt" || receipt.version != 1 {
        return fail("not a version-1 fidex enrollment receipt");
    }
    if receipt.vault_id != to_hex(&vk.vault_id) || receipt.tree_head.vault_id != receipt.vault_id {
        return fail("receipt is for a different vault than the verification key");
    }
    receipt.tree_head.verify(vk)?;
    let c = check_inclusion(&receipt.consent_entry, receipt.consent_index, &receipt.consent_inclusion_proof, &receipt.tree_head)?;
    match &c.event {
        Event::ConsentRecorded { facial_id, consent_receipt_id, consent_sha256, .. }
            if *facial_id == receipt.facial_id
                && *consent_receipt_id == receipt.consent_receipt_id
                && *consent_sha256 == receipt.consent_sha256 => {}
        _ => return fail("consent entry does not match the receipt"),
    }
    let e = check_inclusion(&receipt.enrollment_entry, receipt.enrollment_index, &receipt.enrollment_inclusion_proof, &receipt.tree_head)?;
    match e.event {
        Event::Enrolled { facial_id } if facial_id == receipt.facial_id => {}
        _ => return fail("enrollment entry does not match the receipt"),
    }
    if e.time != receipt.enrolled_at || c.index >= e.index {
        return fail("enrollment time or order disagrees with the log");
    }
    let live_root = hash_from_hex(&receipt.tree_head.live_root, "live_root")?;
    smt::verify_membership(&live_root, receipt.facial_id.as_bytes(), &receipt.membership_proof.to_proof()?)
        .map_err(|e| Error::VerificationFailed(format!("live-set membership proof: {e}")))
}

/// Parses and verifies receipt JSON of either kind. The text must be exactly the canonical
/// form fidex writes (pretty JSON, as produced by [`to_json`]); any changed byte fails.
pub fn verify_json(text: &str, vk: &VerificationKey) -> Result<Receipt> {
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let r = parse_receipt(trimmed)?;
    let canonical = match &r {
        Receipt::Deletion(d) => to_json(d),
        Receipt::Enrollment(e) => to_json(e),
    };
    if canonical != trimmed {
        return Err(Error::VerificationFailed("receipt is not in canonical form (it was edited)".into()));
    }
    match &r {
        Receipt::Deletion(d) => verify(d, vk)?,
        Receipt::Enrollment(e) => verify_enrollment(e, vk)?,
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
        "fidex-deletion-receipt" => serde_json::from_value(v)
            .map(Receipt::Deletion)
            .map_err(|e| bad(format!("deletion receipt: {e}"))),
        "fidex-enrollment-receipt" => serde_json::from_value(v)
            .map(Receipt::Enrollment)
            .map_err(|e| bad(format!("enrollment receipt: {e}"))),
        _ => Err(bad(
            "not a fidex receipt: its \"type\" must be \"fidex-deletion-receipt\" or \"fidex-enrollment-receipt\"".into(),
        )),
    }
}

/// Canonical JSON of a receipt or tree head (pretty-printed, fixed field order).
pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("receipts always serialise")
}

/// Checks that `newer` extends `older` (the log was only appended to): both heads verify
/// with `vk` and `proof` is a valid RFC 9162 consistency proof between them.
pub fn verify_consistency(older: &SignedTreeHead, newer: &SignedTreeHead, proof: &[String], vk: &VerificationKey) -> Result<()> {
    verify_consistency_with_keys(older, newer, proof, std::slice::from_ref(vk))
}

/// [`verify_consistency`] across key rotations: each head must verify with one of `keys`
/// (the vault's current and previous verification keys).
pub fn verify_consistency_with_keys(older: &SignedTreeHead, newer: &SignedTreeHead, proof: &[String], keys: &[VerificationKey]) -> Result<()> {
    let signed_by_one = |h: &SignedTreeHead| {
        if keys.iter().any(|k| h.verify(k).is_ok()) {
            Ok(())
        } else {
            Err(Error::VerificationFailed("tree head does not verify with any of the given keys".into()))
        }
    };
    signed_by_one(older)?;
    signed_by_one(newer)?;
    if newer.log_size < older.log_size {
        return Err(Error::VerificationFailed("the newer tree head is smaller".into()));
    }
    merkle::verify_consistency(
        older.log_size,
        newer.log_size,
        &hash_from_hex(&older.log_root, "log_root")?,
        &hash_from_hex(&newer.log_root, "log_root")?,
        &hashes(proof, "consistency proof")?,
    )
    .map_err(|e| Error::VerificationFailed(format!("consistency proof: {e}")))
}
