//! Signed tree heads: the vault's signed commitment to its audit log and live set at one
//! moment (docs/RECEIPTS.md, "Signed tree head").
//!
//! Version 1 (receipts issued before issue 16) signs `live_count`, which nothing binds to the
//! live set; version 2 drops it and signs the key id instead. Both verify; fidex issues 2.

#![forbid(unsafe_code)]

use super::key::VerificationKey;
use super::{hash_from_hex, strict_hex};
use crate::error::{Error, Result};
use crate::key::to_hex;
use crate::log::merkle::Hash;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};

/// Domain separator of the version-1 signed tree-head message.
pub const TREE_HEAD_DOMAIN: &[u8] = b"fidex/v1/tree-head\0";
/// Domain separator of the version-2 signed tree-head message.
pub const TREE_HEAD_DOMAIN_V2: &[u8] = b"fidex/v2/tree-head\0";

/// A signed commitment to the audit log and the live set at one moment.
///
/// Version 2 (what fidex signs): `version` = 2 and `key_id` present, no `live_count`.
/// Version 1 (older receipts): no `version` and no `key_id`, `live_count` present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTreeHead {
    /// Head format version: `Some(2)`; absent (`None`) in version-1 heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Vault id (hex).
    pub vault_id: String,
    /// Key id of the signing key ([`VerificationKey::key_id`]); version 2 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Number of audit-log entries.
    pub log_size: u64,
    /// RFC 6962 root of the audit log (hex).
    pub log_root: String,
    /// Root of the live-set commitment (hex).
    pub live_root: String,
    /// Version 1 only: the number of live templates the vault claimed (signed, but bound to
    /// nothing: verifiers must draw no conclusion from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_count: Option<u64>,
    /// Unix seconds when signed.
    pub timestamp: i64,
    /// Ed25519 signature over [`SignedTreeHead::message`] (hex).
    pub signature: String,
}

/// The head version a [`SignedTreeHead`] claims, after checking its fields agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeadVersion {
    V1,
    V2,
}

impl SignedTreeHead {
    /// Signs a version-2 head.
    pub(crate) fn sign(sk: &SigningKey, vault_id: &[u8; 16], log_size: u64, log_root: &Hash, live_root: &Hash, timestamp: i64) -> SignedTreeHead {
        let vk = VerificationKey::from_signing(*vault_id, sk);
        let msg = message_v2(vault_id, &vk.key_id_bytes(), log_size, log_root, live_root, timestamp);
        let sig = sk.sign(&msg);
        SignedTreeHead {
            version: Some(2),
            vault_id: to_hex(vault_id),
            key_id: Some(vk.key_id()),
            log_size,
            log_root: to_hex(log_root),
            live_root: to_hex(live_root),
            live_count: None,
            timestamp,
            signature: to_hex(&sig.to_bytes()),
        }
    }

    /// Which version the fields describe, or why they describe none.
    pub(crate) fn head_version(&self) -> Result<HeadVersion> {
        match (self.version, &self.key_id, self.live_count) {
            (None, None, Some(_)) => Ok(HeadVersion::V1),
            (Some(2), Some(_), None) => Ok(HeadVersion::V2),
            (Some(v), _, _) if v != 2 => Err(Error::VerificationFailed(format!("tree head version {v} is not supported (1 or 2)"))),
            _ => Err(Error::VerificationFailed(
                "tree head fields do not match a version: version 2 has \"version\": 2 and \"key_id\" and no \"live_count\"; \
                 version 1 has \"live_count\" and neither of the others"
                    .into(),
            )),
        }
    }

    /// The exact signed bytes (docs/RECEIPTS.md). Version 2: `"fidex/v2/tree-head\0"` ‖
    /// vault id[16] ‖ key id[8] ‖ log_size (u64 LE) ‖ log root[32] ‖ live root[32] ‖
    /// timestamp (i64 LE). Version 1: `"fidex/v1/tree-head\0"` ‖ vault id ‖ log_size ‖ log
    /// root ‖ live root ‖ live_count (u64 LE) ‖ timestamp.
    pub fn message(&self) -> Result<Vec<u8>> {
        let vid: [u8; 16] = strict_hex(&self.vault_id)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::VerificationFailed("tree head vault_id is not 32 lower-case hex digits".into()))?;
        let log_root = hash_from_hex(&self.log_root, "log_root")?;
        let live_root = hash_from_hex(&self.live_root, "live_root")?;
        Ok(match self.head_version()? {
            HeadVersion::V1 => message_v1(&vid, self.log_size, &log_root, &live_root, self.live_count.unwrap_or(0), self.timestamp),
            HeadVersion::V2 => {
                let kid: [u8; 8] = self
                    .key_id
                    .as_deref()
                    .and_then(strict_hex)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| Error::VerificationFailed("tree head key_id is not 16 lower-case hex digits".into()))?;
                message_v2(&vid, &kid, self.log_size, &log_root, &live_root, self.timestamp)
            }
        })
    }

    /// Checks the signature against `vk`: the head is for vk's vault, (version 2) names vk's
    /// key id, and the signature verifies under the rules of docs/RECEIPTS.md (RFC 8032 plus
    /// the rejection of small-order points and of non-canonical encodings and scalars).
    pub fn verify(&self, vk: &VerificationKey) -> Result<()> {
        if self.vault_id != to_hex(&vk.vault_id) {
            return Err(Error::VerificationFailed("tree head is for a different vault than the key".into()));
        }
        if self.head_version()? == HeadVersion::V2 && self.key_id.as_deref() != Some(vk.key_id().as_str()) {
            return Err(Error::VerificationFailed(format!(
                "tree head was signed by the key with id {}, not by this key (id {})",
                self.key_id.as_deref().unwrap_or("?"),
                vk.key_id()
            )));
        }
        let msg = self.message()?;
        let sig_bytes: [u8; 64] = strict_hex(&self.signature)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::VerificationFailed("signature is not 128 lower-case hex digits".into()))?;
        vk.verifying_key()?
            .verify_strict(&msg, &Signature::from_bytes(&sig_bytes))
            .map_err(|_| Error::VerificationFailed("tree head signature does not verify with this key".into()))
    }

    /// Verifies with the right one of `keys`: the key named by `key_id` (version 2), or the
    /// first that verifies (version 1, which names no key).
    pub fn verify_with_keys(&self, keys: &[VerificationKey]) -> Result<VerificationKey> {
        if self.head_version()? == HeadVersion::V2 {
            let kid = self.key_id.as_deref().unwrap_or("");
            let vk = keys.iter().find(|k| k.key_id() == kid && to_hex(&k.vault_id) == self.vault_id).ok_or_else(|| {
                Error::VerificationFailed(format!("tree head was signed by key id {kid} of vault {}, which is not among the given keys", self.vault_id))
            })?;
            self.verify(vk)?;
            return Ok(*vk);
        }
        let mut last = None;
        for k in keys {
            match self.verify(k) {
                Ok(()) => return Ok(*k),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::VerificationFailed("no verification key given".into())))
    }

    pub(crate) fn log_root_hash(&self) -> Result<Hash> {
        hash_from_hex(&self.log_root, "log_root")
    }
}

fn message_v1(vault_id: &[u8; 16], log_size: u64, log_root: &Hash, live_root: &Hash, live_count: u64, ts: i64) -> Vec<u8> {
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

fn message_v2(vault_id: &[u8; 16], key_id: &[u8; 8], log_size: u64, log_root: &Hash, live_root: &Hash, ts: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(TREE_HEAD_DOMAIN_V2.len() + 16 + 8 + 8 + 32 + 32 + 8);
    m.extend_from_slice(TREE_HEAD_DOMAIN_V2);
    m.extend_from_slice(vault_id);
    m.extend_from_slice(key_id);
    m.extend_from_slice(&log_size.to_le_bytes());
    m.extend_from_slice(log_root);
    m.extend_from_slice(live_root);
    m.extend_from_slice(&ts.to_le_bytes());
    m
}
