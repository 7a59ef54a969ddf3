//! RFC 6962 / RFC 9162 Merkle tree: the append-only transparency log.
//!
//! # Hashing
//!
//! Exactly RFC 6962 §2.1 / RFC 9162 §2.1.1 with SHA-256:
//!
//! * empty tree: `MTH({}) = SHA-256("")` ([`empty_root`]);
//! * leaf:       `SHA-256(0x00 ‖ entry)` ([`leaf_hash`]);
//! * interior:   `SHA-256(0x01 ‖ left ‖ right)` ([`node_hash`]);
//! * a tree of `n > 1` leaves splits at `k`, the largest power of two `< n`:
//!   `MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n]))` ([`root_of`]).
//!
//! The 0x00/0x01 prefixes stop a leaf from being passed off as an interior node
//! (second-preimage attacks). The live-set commitment in [`super::smt`] uses
//! different leading bytes, so no SMT preimage is ever an RFC 6962 preimage.
//!
//! # Storage ([`MerkleLog`])
//!
//! The log keeps, per level `h`, the hashes of every *complete* subtree of
//! `2^h` leaves that exists so far: `levels[0]` are the leaf hashes,
//! `levels[1][i] = node_hash(levels[0][2i], levels[0][2i+1])`, and so on.
//! That is < 2n hashes in total. Appending pushes the leaf and then, while the
//! level just extended has even length, combines its last two entries into the
//! next level: amortised O(1) hashes, O(log n) worst case.
//!
//! In the RFC recursion every *left* child is a complete subtree aligned to its
//! own size, so its hash is one cache lookup; only the ragged right edge of a
//! tree (or of the old tree inside a consistency proof) is combined on the fly,
//! from at most `log2 n` cached complete subtrees. Hence [`MerkleLog::root`],
//! [`MerkleLog::root_at`], [`MerkleLog::inclusion_proof`] and
//! [`MerkleLog::consistency_proof`] cost O(log n) hash operations for *any*
//! historical tree size, not O(n).
//!
//! # Verification
//!
//! [`verify_inclusion`] and [`verify_consistency`] are the RFC 9162 §2.1.3.2
//! and §2.1.4.2 algorithms verbatim, including their exact-length behaviour:
//! a proof with one hash too many or too few is rejected with
//! [`ProofError::WrongLength`]. Note (inherent to RFC 6962, not a defect here):
//! a proof only binds the tree size *together with* the root it is checked
//! against; two sizes whose paths have the same shape can accept the same
//! (proof, root) pair. The tree size must therefore be authenticated with the
//! root (signed tree head / receipt), as the verifiers in this crate do.

#![forbid(unsafe_code)]

use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 output.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 ‖ entry)` — the RFC 6962 leaf hash.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)` — the RFC 6962 interior-node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `SHA-256("")` — the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Why a Merkle (log or live-set) proof was rejected, or why a proof could not
/// be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// Leaf index is not below the tree size (or the size exceeds the log).
    IndexOutOfRange,
    /// Sizes are inconsistent: `old_size > new_size`, or a size beyond the log.
    InvalidSizes,
    /// The proof has the wrong number of hashes for the claimed position/sizes
    /// (too many, too few, or an SMT path deeper than 128).
    WrongLength,
    /// The recomputed root (or, for consistency, either root) does not match.
    RootMismatch,
    /// SMT: a non-membership proof was requested/checked but the key is present.
    KeyPresent,
    /// SMT: a membership proof was checked but it does not show the key.
    KeyAbsent,
    /// SMT: the proof describes a tree that is not in canonical (collapsed)
    /// form, or a terminal leaf that is not on the key's path.
    NotCanonical,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ProofError::IndexOutOfRange => "leaf index out of range for tree size",
            ProofError::InvalidSizes => "invalid tree sizes",
            ProofError::WrongLength => "proof has the wrong number of hashes",
            ProofError::RootMismatch => "recomputed root does not match",
            ProofError::KeyPresent => "key is present in the set",
            ProofError::KeyAbsent => "key is absent from the set",
            ProofError::NotCanonical => "proof does not describe a canonical tree",
        };
        f.write_str(s)
    }
}

impl std::error::Error for ProofError {}

/// Largest power of two strictly less than `n` (requires `n >= 2`).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Merkle Tree Hash of `leaves` by the plain recursive RFC 6962 definition.
///
/// O(n); this is the reference the incremental [`MerkleLog`] is tested against.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// Append-only RFC 6962 Merkle tree over leaf hashes, with cached complete
/// subtrees so that roots and proofs for any size cost O(log n) hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MerkleLog {
    /// `levels[h][i]` = hash of the complete subtree of leaves
    /// `[i·2^h, (i+1)·2^h)`. `levels[0]` are the leaf hashes. Invariant:
    /// `levels[h].len() == len >> h` and no level is empty.
    levels: Vec<Vec<Hash>>,
}

impl MerkleLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bulk-build from leaf hashes in O(n).
    pub fn from_leaves(leaves: Vec<Hash>) -> Self {
        let mut levels = Vec::new();
        if leaves.is_empty() {
            return Self { levels };
        }
        levels.push(leaves);
        loop {
            let prev = &levels[levels.len() - 1];
            if prev.len() < 2 {
                break;
            }
            let next: Vec<Hash> = prev
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// True when the log has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All leaf hashes in order.
    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], |l| l.as_slice())
    }

    /// The leaf hash at `index`, if any.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        let i = usize::try_from(index).ok()?;
        self.leaves().get(i).copied()
    }

    /// Append a leaf hash; returns its index. Amortised O(1) hashes.
    pub fn append(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let index = self.levels[0].len() as u64 - 1;
        let mut h = 0;
        while self.levels[h].len().is_multiple_of(2) {
            let lvl = &self.levels[h];
            let n = lvl.len();
            let parent = node_hash(&lvl[n - 2], &lvl[n - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
        }
        index
    }

    /// Current root (`empty_root()` when empty). O(log n).
    pub fn root(&self) -> Hash {
        self.mth(0, self.len())
    }

    /// Root of the tree formed by the first `size` leaves; `None` if
    /// `size > len()`. `root_at(0) == Some(empty_root())`. O(log n).
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        (size <= self.len()).then(|| self.mth(0, size))
    }

    /// RFC 9162 §2.1.3.1 inclusion proof (audit path, leaf side first) of leaf
    /// `index` in the tree of the first `size` leaves. O(log n).
    ///
    /// Errors: [`ProofError::InvalidSizes`] if `size > len()`,
    /// [`ProofError::IndexOutOfRange`] if `index >= size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.len() {
            return Err(ProofError::InvalidSizes);
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange);
        }
        let (mut start, mut n, mut m) = (0u64, size, index);
        let mut path = Vec::new();
        while n > 1 {
            let k = split_point(n);
            if m < k {
                path.push(self.mth(start + k, n - k));
                n = k;
            } else {
                path.push(self.mth(start, k));
                start += k;
                m -= k;
                n -= k;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// RFC 9162 §2.1.4.1 consistency proof between the trees of the first
    /// `old_size` and `new_size` leaves. O(log n).
    ///
    /// Empty for `old_size == 0` or `old_size == new_size` (the cases
    /// [`verify_consistency`] accepts only with an empty proof).
    /// Error: [`ProofError::InvalidSizes`] if `old_size > new_size` or
    /// `new_size > len()`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        if old_size > new_size || new_size > self.len() {
            return Err(ProofError::InvalidSizes);
        }
        let mut path = Vec::new();
        if old_size == 0 || old_size == new_size {
            return Ok(path);
        }
        // SUBPROOF(m, D[start:start+n], b), unrolled.
        let (mut start, mut n, mut m, mut b) = (0u64, new_size, old_size, true);
        loop {
            if m == n {
                if !b {
                    path.push(self.mth(start, n));
                }
                break;
            }
            let k = split_point(n);
            if m <= k {
                path.push(self.mth(start + k, n - k));
                n = k;
            } else {
                path.push(self.mth(start, k));
                start += k;
                m -= k;
                n -= k;
                b = false;
            }
        }
        path.reverse();
        Ok(path)
    }

    /// `MTH(D[start:start+n])` from the cache. Callers keep
    /// `start + n <= len()`. Every left child in the recursion is a complete
    /// subtree aligned to its size, so this is one lookup per level of the
    /// ragged right edge: O(log n). (An unaligned range would still be
    /// computed correctly, just more slowly.)
    fn mth(&self, start: u64, n: u64) -> Hash {
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            // Present by the invariant whenever start + n <= len().
            if let Some(x) = self
                .levels
                .get(h)
                .and_then(|l| l.get((start >> h) as usize))
            {
                return *x;
            }
        }
        if n == 1 {
            // Unreachable when start < len(); keep total anyway.
            return self.leaf(start).unwrap_or_else(empty_root);
        }
        let k = split_point(n);
        node_hash(&self.mth(start, k), &self.mth(start + k, n - k))
    }
}

/// Verify an RFC 9162 §2.1.3.2 inclusion proof: `leaf` (a leaf *hash*) is at
/// `index` in the tree of `size` leaves whose root is `root`.
///
/// Errors: [`ProofError::IndexOutOfRange`] (`index >= size`),
/// [`ProofError::WrongLength`] (too many or too few hashes),
/// [`ProofError::RootMismatch`].
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verify an RFC 9162 §2.1.4.2 consistency proof that the tree of `new_size`
/// leaves with root `new_root` extends the tree of `old_size` leaves with root
/// `old_root`.
///
/// Edge cases (the RFC defines proofs only for `0 < old_size < new_size`):
/// * `old_size > new_size` → [`ProofError::InvalidSizes`];
/// * `old_size == new_size` → the proof must be empty
///   ([`ProofError::WrongLength`]) and the roots equal
///   ([`ProofError::RootMismatch`]);
/// * `old_size == 0` (< `new_size`) → the proof must be empty and `old_root`
///   must be [`empty_root`] (our choice: stricter than e.g. transparency-dev,
///   which ignores `old_root` here); any `new_root` is consistent with it.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::InvalidSizes);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if *old_root == empty_root() {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // 1. Empty proof fails.
    let Some((head, tail)) = proof.split_first() else {
        return Err(ProofError::WrongLength);
    };
    // 2. If old_size is a power of two, old_root is (implicitly) prepended.
    let (first, rest): (&Hash, &[Hash]) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (head, tail)
    };
    // 3.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*first, *first);
    // 6.
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The compact range of a tree: the hashes of its maximal complete subtrees, left to right.
///
/// The tree of `n` leaves splits into one complete subtree of `2^k` leaves per set bit `k`
/// of `n`, from the most significant bit down, each starting where the previous one ends:
/// `n = 6` gives `MTH(D[0:4])` and `MTH(D[4:6])`. The root is their right fold
/// ([`Frontier::root`]), and appending a leaf only touches the last few
/// ([`Frontier::append`]), so a frontier plus the leaf hashes appended after it gives the
/// root of *every* later size. Published tree heads carry one (docs/RECEIPTS.md) so that a
/// monitor can check receipts whose tree heads fall between two published ones.
///
/// ```
/// use fidex::log::merkle::{leaf_hash, Frontier, MerkleLog};
/// let leaves: Vec<_> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
/// let log = MerkleLog::from_leaves(leaves.clone());
/// let mut f = Frontier::from_hashes(3, log.frontier(3).unwrap()).unwrap();
/// for l in &leaves[3..] {
///     f.append(*l);
/// }
/// assert_eq!(f.root(), log.root());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// `(hash, number of leaves)` of each complete subtree, largest first.
    parts: Vec<(Hash, u64)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn empty() -> Frontier {
        Frontier { size: 0, parts: Vec::new() }
    }

    /// A frontier of a tree of `size` leaves from its hashes, largest subtree first. Error if
    /// the number of hashes is not the number of set bits of `size`.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Result<Frontier, ProofError> {
        if hashes.len() != size.count_ones() as usize {
            return Err(ProofError::WrongLength);
        }
        let bits = (0..64).rev().filter(|b| size >> b & 1 == 1).map(|b| 1u64 << b);
        Ok(Frontier { size, parts: hashes.into_iter().zip(bits).collect() })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree hashes, largest first.
    pub fn hashes(&self) -> Vec<Hash> {
        self.parts.iter().map(|(h, _)| *h).collect()
    }

    /// Appends a leaf hash: the new leaf merges with the last subtree while they have the
    /// same number of leaves.
    pub fn append(&mut self, leaf: Hash) {
        self.parts.push((leaf, 1));
        while let [.., (l, ln), (r, rn)] = self.parts[..] {
            if ln != rn {
                break;
            }
            self.parts.truncate(self.parts.len() - 2);
            self.parts.push((node_hash(&l, &r), ln * 2));
        }
        self.size += 1;
    }

    /// The root: `SHA-256("")` when empty, else the right fold
    /// `node(f0, node(f1, … node(f[m-2], f[m-1])))`.
    pub fn root(&self) -> Hash {
        let mut it = self.parts.iter().rev();
        let Some((last, _)) = it.next() else { return empty_root() };
        it.fold(*last, |acc, (h, _)| node_hash(h, &acc))
    }
}

impl MerkleLog {
    /// The [`Frontier`] hashes of the tree of the first `size` leaves (largest subtree
    /// first); `None` if `size > len()`. O(log n).
    pub fn frontier(&self, size: u64) -> Option<Vec<Hash>> {
        if size > self.len() {
            return None;
        }
        let mut out = Vec::new();
        let mut start = 0u64;
        for b in (0..64).rev() {
            if size >> b & 1 == 1 {
                out.push(self.mth(start, 1 << b));
                start += 1 << b;
            }
        }
        Some(out)
    }
}
