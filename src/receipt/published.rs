//! Published tree heads: what a vault owner publishes on a schedule so that anyone can check,
//! offline, that the audit log was only ever appended to (docs/RECEIPTS.md, "Published tree
//! heads").
//!
//! Each published head is a version-2 signed tree head plus the link from the previous
//! published head: an RFC 9162 consistency proof, and the previous tree's frontier with the
//! leaf hashes appended since. The frontier and leaf hashes give the log root at *every* size
//! between the two heads, so a monitor can anchor receipts whose own heads were signed
//! between two publications ([`super::monitor`]). Leaf hashes reveal nothing of the entries
//! of subjects (each holds a random Facial ID); entries without one (`vault_created`,
//! `key_rotated`) can be confirmed by guessing their few fields.

#![forbid(unsafe_code)]

use super::head::HeadVersion;
use super::{hash_from_hex, hashes, SignedTreeHead, VerificationKey};
use crate::error::{Error, Result};
use crate::log::merkle::{self, Frontier, Hash};
use serde::{Deserialize, Serialize};

/// `type` of a published tree head.
pub const PUBLISHED_HEAD_TYPE: &str = "fidex-published-head";

/// A log size with its root: the previous published head a link starts from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadRef {
    /// Number of entries.
    pub log_size: u64,
    /// RFC 6962 root of the first `log_size` entries (hex).
    pub log_root: String,
}

/// A signed tree head as published, with the link from the previous published head.
///
/// Made by [`crate::Vault::publish_head`]; checked alone by [`PublishedHead::verify`] and in
/// sequence by [`super::monitor`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedHead {
    /// Always `fidex-published-head`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Format version (2).
    pub version: u32,
    /// The signed head (version 2).
    pub tree_head: SignedTreeHead,
    /// The previous published head, or `null` for the first one.
    pub previous: Option<HeadRef>,
    /// RFC 9162 consistency proof from `previous` to `tree_head` (empty without a previous).
    pub consistency_proof: Vec<String>,
    /// Frontier of the previous tree: the roots of its maximal complete subtrees, largest
    /// first (see [`Frontier`]); empty without a previous.
    pub previous_frontier: Vec<String>,
    /// RFC 6962 leaf hashes of the entries appended since the previous published head
    /// (`tree_head.log_size - previous.log_size` of them); empty without a previous.
    pub leaf_hashes: Vec<String>,
}

impl PublishedHead {
    /// Builds one (the vault supplies the proofs).
    pub(crate) fn new(tree_head: SignedTreeHead, previous: Option<HeadRef>, proof: Vec<Hash>, frontier: Vec<Hash>, leaves: &[Hash]) -> PublishedHead {
        let hex = |v: &[Hash]| v.iter().map(|h| crate::key::to_hex(h)).collect::<Vec<_>>();
        PublishedHead {
            kind: PUBLISHED_HEAD_TYPE.into(),
            version: 2,
            tree_head,
            previous,
            consistency_proof: hex(&proof),
            previous_frontier: hex(&frontier),
            leaf_hashes: hex(leaves),
        }
    }

    /// Parses published-head text, checking its canonical form (any changed byte fails, as
    /// for receipts; one trailing newline is allowed).
    pub fn from_json(text: &str) -> Result<PublishedHead> {
        let trimmed = text.strip_suffix('\n').unwrap_or(text);
        let p: PublishedHead = serde_json::from_str(trimmed)
            .map_err(|e| Error::VerificationFailed(format!("not a published tree head: {e}")))?;
        if super::to_json(&p) != trimmed {
            return Err(Error::VerificationFailed("published tree head is not in canonical form (it was edited)".into()));
        }
        Ok(p)
    }

    /// Canonical JSON text.
    pub fn to_json(&self) -> String {
        super::to_json(self)
    }

    /// Checks everything a published head says by itself: the type and version, the signature
    /// (with the key of `keys` its key id names), and the link from `previous`: the
    /// consistency proof, that the frontier folds to the previous root, and that appending
    /// the leaf hashes to it gives this head's root. Returns the key that signed it.
    pub fn verify(&self, keys: &[VerificationKey]) -> Result<VerificationKey> {
        let vk = self.verify_signature(keys)?;
        self.link()?;
        Ok(vk)
    }

    /// The type, version and signature checks of [`PublishedHead::verify`], without the link.
    pub(crate) fn verify_signature(&self, keys: &[VerificationKey]) -> Result<VerificationKey> {
        if self.kind != PUBLISHED_HEAD_TYPE || self.version != 2 {
            return Err(Error::VerificationFailed("not a version-2 fidex published tree head".into()));
        }
        if self.tree_head.head_version()? != HeadVersion::V2 {
            return Err(Error::VerificationFailed("a published head carries a version-2 tree head".into()));
        }
        self.tree_head.verify_with_keys(keys)
    }

    /// Checks the link from `previous` and returns the frontier of the previous tree (an
    /// empty one without a previous), ready to replay `leaf_hashes`.
    pub(crate) fn link(&self) -> Result<Option<(Frontier, Vec<Hash>)>> {
        let fail = |m: String| Error::VerificationFailed(m);
        let size = self.tree_head.log_size;
        let root = self.tree_head.log_root_hash()?;
        let Some(prev) = &self.previous else {
            if !self.consistency_proof.is_empty() || !self.previous_frontier.is_empty() || !self.leaf_hashes.is_empty() {
                return Err(fail("the first published head (previous: null) has no proof, frontier or leaf hashes".into()));
            }
            return Ok(None);
        };
        if prev.log_size > size {
            return Err(fail(format!("previous head of size {} is larger than this head ({size})", prev.log_size)));
        }
        let prev_root = hash_from_hex(&prev.log_root, "previous log_root")?;
        merkle::verify_consistency(prev.log_size, size, &prev_root, &root, &hashes(&self.consistency_proof, "consistency proof")?)
            .map_err(|e| fail(format!("consistency proof from size {}: {e}", prev.log_size)))?;
        let frontier = Frontier::from_hashes(prev.log_size, hashes(&self.previous_frontier, "previous_frontier")?)
            .map_err(|_| fail(format!("previous_frontier must hold one hash per set bit of {}", prev.log_size)))?;
        if frontier.root() != prev_root {
            return Err(fail("previous_frontier does not fold to the previous log root".into()));
        }
        if self.leaf_hashes.len() as u64 != size - prev.log_size {
            return Err(fail(format!("leaf_hashes must hold {} hashes (the entries since the previous head)", size - prev.log_size)));
        }
        let leaves = hashes(&self.leaf_hashes, "leaf hash")?;
        let mut f = frontier.clone();
        for l in &leaves {
            f.append(*l);
        }
        if f.root() != root {
            return Err(fail("the leaf hashes appended to the previous frontier do not give this head's log root".into()));
        }
        Ok(Some((frontier, leaves)))
    }
}
