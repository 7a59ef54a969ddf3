//! Live-set commitment: a compressed sparse Merkle tree over 128-bit keys.
//!
//! The vault commits to the set of live Facial IDs (UUID v4, 16 bytes) with a
//! single 32-byte root, supports O(depth) insert/remove, and hands out
//! membership and non-membership proofs that anyone can check offline.
//!
//! # Tree shape (canonical form)
//!
//! Conceptually a binary trie of depth 128 on the key bits, most significant
//! first (bit 0 = MSB of byte 0; `0` goes left). It is *compressed* in the
//! Diem/Aptos "Jellyfish" way, which makes the shape — hence the root — a
//! function of the key set alone:
//!
//! * an empty subtree is the placeholder [`PLACEHOLDER`] (`[0u8; 32]`);
//! * a subtree holding exactly one key is that key's leaf, placed directly at
//!   the top of the subtree (no chain of single-child internal nodes above it);
//! * a subtree holding ≥ 2 keys is an internal node with two children (one of
//!   them may be the placeholder when all keys share the next bit).
//!
//! The root of the empty set is [`PLACEHOLDER`]; of a one-key set, that key's
//! leaf hash.
//!
//! # Hashes and domain separation
//!
//! * leaf:     `SHA-256(0x02 ‖ "fidex-smt-v1" ‖ key[16])`       ([`leaf_hash`])
//! * internal: `SHA-256(0x03 ‖ "fidex-smt-v1" ‖ left ‖ right)`  ([`internal_hash`])
//!
//! Leaf and internal preimages differ in their first byte, so a leaf can never
//! be passed off as an internal node or vice versa. The leading bytes 0x02/0x03
//! differ from RFC 6962's 0x00/0x01 (see [`super::merkle`]), so no SMT node is
//! ever a valid transparency-log leaf or node, and the ASCII tag separates it
//! from any other SHA-256 use in the crate. The placeholder (all zeros) is not
//! a SHA-256 output anyone can find a preimage for.
//!
//! # Storage
//!
//! A PATRICIA (crit-bit) trie over arenas with free lists: `n` leaves (just
//! the 16-byte key) and `n − 1` branching internal nodes. An internal node
//! stores its branching bit (= its depth), two tagged child references, and
//! the hashes of both children *as seen from it* — so O(n) memory, ≈ 92
//! bytes per key. Runs of single-child internal nodes of the canonical tree
//! (shared prefixes) are not stored; their hashes are folded on the fly (one
//! hash per skipped level, the prefix bits taken from any key below).
//!
//! An insert descends to the nearest leaf, finds the first differing bit,
//! splices in one internal node and rehashes the path bottom-up; a remove
//! splices out the leaf's parent and rehashes the path. Neither touches
//! off-path nodes (their hashes are cached in the parent), so an update costs
//! one hash per internal node on the path plus one per skipped level: about
//! `log2 n + 3` hashes for random keys (≈ 22 at 1M keys), at most a few
//! hundred for adversarial ones. The root is cached: [`LiveSet::root`] is O(1).
//!
//! # Proofs
//!
//! [`SmtProof::siblings`]`[i]` is the sibling of the node at depth `i + 1` on
//! the key's path (the other child of the node at depth `i`), listed from the
//! root down; the terminal (an empty subtree or a leaf) sits at depth
//! `siblings.len()`. The verifier recomputes the root by folding the siblings
//! back up, choosing left/right from the key's bits.
//!
//! *Binding.* Two proofs for the same key that fold to the same root must agree
//! on depth and terminal: walking down from the root, equal hashes have equal
//! preimages (collision resistance), a leaf hash never equals an internal hash
//! (different first byte), and no hash equals the placeholder. So one root can
//! never yield both a membership and a non-membership proof for a key.
//!
//! *Canonicality.* On top of that, the verifiers reject every proof that
//! cannot come from a canonical tree, as far as the proof shows it:
//! * the deepest sibling (the one next to the terminal) must not be the
//!   placeholder — otherwise the terminal's parent would hold ≤ 1 key and
//!   should have been collapsed into the terminal itself;
//! * an empty terminal cannot be at depth 128 (its sibling would be a single
//!   key, which again should have been collapsed);
//! * a `Leaf(other)` terminal must share the key's first `depth` bits (it must
//!   actually sit on the key's path);
//! * depth ≤ 128.
//!
//! Together these make a verified proof describe a path of the unique
//! canonical tree of *some* set, not just some hash structure that happens to
//! fold to the root.

#![forbid(unsafe_code)]

use super::merkle::{Hash, ProofError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A 128-bit key (the 16 bytes of a Facial ID UUID).
pub type Key = [u8; 16];

/// Hash of an empty subtree, and the root of the empty set.
pub const PLACEHOLDER: Hash = [0u8; 32];

/// Domain tag mixed into every SMT hash.
pub const DOMAIN_TAG: &[u8] = b"fidex-smt-v1";
/// Leading byte of a leaf preimage.
pub const LEAF_PREFIX: u8 = 0x02;
/// Leading byte of an internal-node preimage.
pub const INTERNAL_PREFIX: u8 = 0x03;

/// Maximum proof depth (number of key bits).
pub const MAX_DEPTH: usize = 128;

/// `SHA-256(0x02 ‖ "fidex-smt-v1" ‖ key)`.
pub fn leaf_hash(key: &Key) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(DOMAIN_TAG);
    h.update(key);
    h.finalize().into()
}

/// `SHA-256(0x03 ‖ "fidex-smt-v1" ‖ left ‖ right)`.
pub fn internal_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([INTERNAL_PREFIX]);
    h.update(DOMAIN_TAG);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Bit `i` of `key`, MSB first (0 = left, 1 = right). `i < 128`.
#[inline]
fn bit(key: &Key, i: usize) -> usize {
    ((key[i / 8] >> (7 - (i % 8))) & 1) as usize
}

/// Index of the first bit where `a` and `b` differ (`a != b`).
#[inline]
fn first_diff(a: &Key, b: &Key) -> usize {
    (u128::from_be_bytes(*a) ^ u128::from_be_bytes(*b)).leading_zeros() as usize
}

/// True when `a` and `b` agree on their first `n` bits (`n <= 128`).
#[inline]
fn shares_prefix(a: &Key, b: &Key, n: usize) -> bool {
    n == 0 || a == b || first_diff(a, b) >= n
}

/// Fold an internal-node chain: `h` is the hash of a node at depth `to`, on the
/// path of `key`; returns the hash at depth `from` (`from <= to`), where every
/// intermediate level has the placeholder as the other child.
fn chain(mut h: Hash, key: &Key, from: usize, to: usize) -> Hash {
    for j in (from..to).rev() {
        h = if bit(key, j) == 0 {
            internal_hash(&h, &PLACEHOLDER)
        } else {
            internal_hash(&PLACEHOLDER, &h)
        };
    }
    h
}

/// What a proof path ends in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Terminal {
    /// An empty subtree (hash [`PLACEHOLDER`]).
    Empty,
    /// A single-key subtree: that key's leaf.
    Leaf(Key),
}

/// A membership or non-membership proof for one key (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtProof {
    /// Sibling hashes from the root down; `siblings.len()` is the terminal's depth.
    pub siblings: Vec<Hash>,
    /// The subtree found at the end of the key's path.
    pub terminal: Terminal,
}

impl SmtProof {
    /// True when the proof's terminal is the leaf of `key` (it claims
    /// membership); says nothing about validity.
    pub fn claims_member(&self, key: &Key) -> bool {
        self.terminal == Terminal::Leaf(*key)
    }
}

/// Structural checks and root recomputation shared by both verifiers.
fn fold_proof(key: &Key, proof: &SmtProof) -> Result<Hash, ProofError> {
    let depth = proof.siblings.len();
    if depth > MAX_DEPTH {
        return Err(ProofError::WrongLength);
    }
    // Canonical form: the terminal's parent must hold >= 2 keys, so the
    // terminal's sibling can't be empty.
    if proof.siblings.last() == Some(&PLACEHOLDER) {
        return Err(ProofError::NotCanonical);
    }
    let mut h = match &proof.terminal {
        Terminal::Empty => {
            // Its sibling would be a single key at depth 128 → should collapse.
            if depth == MAX_DEPTH {
                return Err(ProofError::NotCanonical);
            }
            PLACEHOLDER
        }
        Terminal::Leaf(k) => {
            // The leaf must lie on `key`'s path.
            if !shares_prefix(k, key, depth) {
                return Err(ProofError::NotCanonical);
            }
            leaf_hash(k)
        }
    };
    for j in (0..depth).rev() {
        let s = &proof.siblings[j];
        h = if bit(key, j) == 0 {
            internal_hash(&h, s)
        } else {
            internal_hash(s, &h)
        };
    }
    Ok(h)
}

/// Verify that `key` is in the set committed to by `root`.
///
/// Errors: [`ProofError::WrongLength`] (depth > 128),
/// [`ProofError::NotCanonical`], [`ProofError::RootMismatch`], or
/// [`ProofError::KeyAbsent`] when `proof` is a valid proof that the key is
/// *not* in the set.
pub fn verify_membership(root: &Hash, key: &Key, proof: &SmtProof) -> Result<(), ProofError> {
    if fold_proof(key, proof)? != *root {
        return Err(ProofError::RootMismatch);
    }
    if proof.claims_member(key) {
        Ok(())
    } else {
        Err(ProofError::KeyAbsent)
    }
}

/// Verify that `key` is *not* in the set committed to by `root`.
///
/// The terminal at depth `d` on the key's path is the whole subtree of keys
/// sharing the key's first `d` bits. If it is `Empty`, no such key exists. If
/// it is `Leaf(other)` with `other != key` and `other` sharing those `d` bits,
/// then in the canonical tree that subtree holds exactly one key — `other` —
/// so `key`, which would have to live in the same subtree, is absent. (By
/// the binding argument in the module docs, no membership proof for `key`
/// can exist against the same root.)
///
/// Errors: as [`verify_membership`], with [`ProofError::KeyPresent`] when
/// `proof` is a valid *membership* proof for the key.
pub fn verify_non_membership(root: &Hash, key: &Key, proof: &SmtProof) -> Result<(), ProofError> {
    if fold_proof(key, proof)? != *root {
        return Err(ProofError::RootMismatch);
    }
    if proof.claims_member(key) {
        Err(ProofError::KeyPresent)
    } else {
        Ok(())
    }
}

/// Empty-tree / no-node reference.
const NIL: u32 = u32::MAX;
/// High bit of a node reference: set for leaves (index into `leaves`),
/// clear for internal nodes (index into `inners`).
const LEAF_TAG: u32 = 1 << 31;

#[inline]
fn is_leaf(r: u32) -> bool {
    r & LEAF_TAG != 0
}

#[inline]
fn index(r: u32) -> usize {
    (r & !LEAF_TAG) as usize
}

/// The links of a branching internal node of the PATRICIA trie. Its child
/// hashes live in the parallel `LiveSet::child_hashes` array, so the links
/// walked by every lookup stay compact (12 bytes/node) and cache-friendly.
#[derive(Clone, Copy, Debug)]
struct Inner {
    /// Left (bit 0) and right (bit 1) children (tagged references).
    children: [u32; 2],
    /// The branching bit, which is also this node's depth (0..=127).
    bit: u8,
}

/// An internal node's hash at its own depth, from its two child hashes.
fn pair_hash(h: &[Hash; 2]) -> Hash {
    internal_hash(&h[0], &h[1])
}

/// The set of live keys with an incrementally maintained root.
///
/// Memory: per key, a 16-byte leaf plus (for n − 1 internal nodes) a 12-byte
/// link record and 64 bytes of child hashes: ≈ 92 bytes/key, plus `Vec`
/// growth slack; freed slots are reused, the arenas never shrink. Capacity:
/// up to 2^31 − 1 keys.
#[derive(Clone)]
pub struct LiveSet {
    leaves: Vec<Key>,
    inners: Vec<Inner>,
    /// `child_hashes[i]`: the hashes of inner node `i`'s two children *as
    /// seen from it*, i.e. at depth `bit + 1` (a child internal node's own
    /// hash extended by its chain of single-child levels; a leaf child is
    /// just its leaf hash). Keeping them here means an update never has to
    /// touch off-path nodes.
    child_hashes: Vec<[Hash; 2]>,
    free_leaves: Vec<u32>,
    free_inners: Vec<u32>,
    root: u32,
    len: usize,
    root_hash: Hash,
}

impl Default for LiveSet {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for LiveSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root: String = self.root_hash.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("LiveSet")
            .field("len", &self.len)
            .field("root", &root)
            .finish()
    }
}

impl LiveSet {
    /// An empty set (root = [`PLACEHOLDER`]).
    pub fn new() -> Self {
        Self {
            leaves: Vec::new(),
            inners: Vec::new(),
            child_hashes: Vec::new(),
            free_leaves: Vec::new(),
            free_inners: Vec::new(),
            root: NIL,
            len: 0,
            root_hash: PLACEHOLDER,
        }
    }

    /// Bulk-build from keys (duplicates ignored): O(n log n) to sort, then
    /// O(n) node construction and hashing.
    pub fn from_keys(keys: impl IntoIterator<Item = Key>) -> Self {
        let mut keys: Vec<Key> = keys.into_iter().collect();
        keys.sort_unstable();
        keys.dedup();
        let mut set = Self::new();
        if keys.is_empty() {
            return set;
        }
        set.leaves.reserve_exact(keys.len());
        set.inners.reserve_exact(keys.len() - 1);
        set.child_hashes.reserve_exact(keys.len() - 1);
        let (root, h) = set.build(&keys);
        set.root = root;
        set.len = keys.len();
        set.root_hash = set.lift(root, h, &keys[0], 0);
        set
    }

    /// `keys` sorted, distinct, non-empty. Returns the subtree's reference
    /// and its hash at its own depth.
    fn build(&mut self, keys: &[Key]) -> (u32, Hash) {
        if keys.len() == 1 {
            return (self.alloc_leaf(keys[0]), leaf_hash(&keys[0]));
        }
        let (first, last) = (&keys[0], &keys[keys.len() - 1]);
        let b = first_diff(first, last);
        let split = keys.partition_point(|k| bit(k, b) == 0);
        let (l, hl) = self.build(&keys[..split]);
        let (r, hr) = self.build(&keys[split..]);
        let child_hash = [
            self.lift(l, hl, &keys[0], b + 1),
            self.lift(r, hr, &keys[split], b + 1),
        ];
        let h = internal_hash(&child_hash[0], &child_hash[1]);
        let n = self.alloc_inner(
            Inner {
                children: [l, r],
                bit: b as u8,
            },
            child_hash,
        );
        (n, h)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The commitment to the current set. O(1).
    pub fn root(&self) -> Hash {
        self.root_hash
    }

    /// Whether `key` is in the set. O(depth).
    pub fn contains(&self, key: &Key) -> bool {
        self.find_leaf(key)
            .is_some_and(|l| self.leaves[index(l)] == *key)
    }

    /// Keys in ascending (byte-lexicographic) order.
    pub fn iter(&self) -> Iter<'_> {
        let mut stack = Vec::new();
        if self.root != NIL {
            stack.push(self.root);
        }
        Iter {
            set: self,
            stack,
            remaining: self.len,
        }
    }

    /// Insert `key`; `false` if it was already present. O(depth) hashes.
    pub fn insert(&mut self, key: Key) -> bool {
        let Some(near) = self.find_leaf(&key) else {
            self.root = self.alloc_leaf(key);
            self.len = 1;
            self.root_hash = leaf_hash(&key);
            return true;
        };
        let other = self.leaves[index(near)];
        if other == key {
            return false;
        }
        let crit = first_diff(&key, &other);
        // Descend again to the first node branching after `crit`: the new
        // internal node goes in its slot. Nodes above it branch before
        // `crit`, so `key` shares their prefixes.
        let mut path: Vec<u32> = Vec::with_capacity(48);
        let mut cur = self.root;
        while !is_leaf(cur) {
            let n = &self.inners[index(cur)];
            if n.bit as usize > crit {
                break;
            }
            path.push(cur);
            cur = n.children[bit(&key, n.bit as usize)];
        }
        // `other` lies under `cur`, so its bits give `cur`'s prefix.
        let own = if is_leaf(cur) {
            leaf_hash(&other)
        } else {
            pair_hash(&self.child_hashes[index(cur)])
        };
        let displaced = self.lift(cur, own, &other, crit + 1);
        let leaf = self.alloc_leaf(key);
        let d = bit(&key, crit);
        let mut child_hash = [displaced; 2];
        child_hash[d] = leaf_hash(&key);
        let mut children = [cur; 2];
        children[d] = leaf;
        let h = pair_hash(&child_hash);
        let inner = self.alloc_inner(
            Inner {
                children,
                bit: crit as u8,
            },
            child_hash,
        );
        self.set_child(path.last().copied(), &key, inner);
        self.propagate(&path, &key, h, crit, false);
        self.len += 1;
        true
    }

    /// Remove `key`; `false` if it was absent. O(depth) hashes.
    pub fn remove(&mut self, key: &Key) -> bool {
        if self.root == NIL {
            return false;
        }
        let mut path: Vec<u32> = Vec::with_capacity(48);
        let mut cur = self.root;
        while !is_leaf(cur) {
            path.push(cur);
            let n = &self.inners[index(cur)];
            cur = n.children[bit(key, n.bit as usize)];
        }
        if self.leaves[index(cur)] != *key {
            return false;
        }
        self.free_leaves.push(cur);
        self.len -= 1;
        let Some(parent) = path.pop() else {
            self.root = NIL;
            self.root_hash = PLACEHOLDER;
            return true;
        };
        // The sibling takes the parent's place.
        let p = &self.inners[index(parent)];
        let pb = p.bit as usize;
        let side = 1 - bit(key, pb);
        let sibling = p.children[side];
        let seen = self.child_hashes[index(parent)][side];
        self.free_inners.push(parent);
        self.set_child(path.last().copied(), key, sibling);
        if is_leaf(sibling) {
            self.propagate(&path, key, seen, pb, true);
        } else {
            // `seen` is the sibling at depth pb + 1; one level up (depth pb)
            // it is the only child. Above that it shares `key`'s bits.
            let h = if side == 0 {
                internal_hash(&seen, &PLACEHOLDER)
            } else {
                internal_hash(&PLACEHOLDER, &seen)
            };
            self.propagate(&path, key, h, pb, false);
        }
        true
    }

    /// A membership proof if `key` is present, else a non-membership proof.
    /// O(depth) (plus at most 128 hashes to fold a skipped prefix).
    pub fn prove(&self, key: &Key) -> SmtProof {
        let mut siblings = Vec::new();
        if self.root == NIL {
            return SmtProof {
                siblings,
                terminal: Terminal::Empty,
            };
        }
        let (mut cur, mut depth) = (self.root, 0usize);
        loop {
            if is_leaf(cur) {
                return SmtProof {
                    siblings,
                    terminal: Terminal::Leaf(self.leaves[index(cur)]),
                };
            }
            let n = &self.inners[index(cur)];
            let b = n.bit as usize;
            if depth < b {
                // Skipped single-child levels: the other side is empty,
                // unless `key` leaves the shared prefix here, in which case
                // *its* side is empty and the sibling is this whole subtree.
                let prefix = self.any_key(cur);
                let diverge = if prefix == *key {
                    MAX_DEPTH
                } else {
                    first_diff(key, &prefix)
                };
                if diverge < b {
                    siblings.resize(diverge, PLACEHOLDER);
                    let own = pair_hash(&self.child_hashes[index(cur)]);
                    siblings.push(chain(own, &prefix, diverge + 1, b));
                    return SmtProof {
                        siblings,
                        terminal: Terminal::Empty,
                    };
                }
                siblings.resize(b, PLACEHOLDER);
            }
            let d = bit(key, b);
            siblings.push(self.child_hashes[index(cur)][1 - d]);
            cur = n.children[d];
            depth = b + 1;
        }
    }

    // ---- internals ----

    /// The leaf reached by following `key`'s bits, if the set is non-empty.
    fn find_leaf(&self, key: &Key) -> Option<u32> {
        if self.root == NIL {
            return None;
        }
        let mut cur = self.root;
        while !is_leaf(cur) {
            let n = &self.inners[index(cur)];
            cur = n.children[bit(key, n.bit as usize)];
        }
        Some(cur)
    }

    /// Some key stored under `r` (all keys under an internal node share its
    /// prefix, so any one gives the prefix bits).
    fn any_key(&self, mut r: u32) -> Key {
        while !is_leaf(r) {
            r = self.inners[index(r)].children[0];
        }
        self.leaves[index(r)]
    }

    /// Hash of node `r` (own hash `own`) as seen in a slot at depth `depth`:
    /// a leaf is collapsed, an internal node is extended by its chain of
    /// single-child levels, whose sides follow `prefix` (any key under `r`).
    fn lift(&self, r: u32, own: Hash, prefix: &Key, depth: usize) -> Hash {
        if is_leaf(r) {
            own
        } else {
            chain(own, prefix, depth, self.inners[index(r)].bit as usize)
        }
    }

    /// Make `child` the child of `parent` on `key`'s side (or the root).
    fn set_child(&mut self, parent: Option<u32>, key: &Key, child: u32) {
        match parent {
            None => self.root = child,
            Some(p) => {
                let n = &mut self.inners[index(p)];
                n.children[bit(key, n.bit as usize)] = child;
            }
        }
    }

    /// Rehash `path` (root first) bottom-up after its lowest node's child on
    /// `key`'s side changed to a subtree with hash `h` at depth `depth` (a
    /// leaf if `leaf`; then `depth` is ignored). That subtree shares `key`'s
    /// bits above `depth`. Updates the cached root.
    fn propagate(
        &mut self,
        path: &[u32],
        key: &Key,
        mut h: Hash,
        mut depth: usize,
        mut leaf: bool,
    ) {
        for &p in path.iter().rev() {
            let pb = self.inners[index(p)].bit as usize;
            let ch = &mut self.child_hashes[index(p)];
            ch[bit(key, pb)] = if leaf {
                h
            } else {
                chain(h, key, pb + 1, depth)
            };
            h = pair_hash(ch);
            depth = pb;
            leaf = false;
        }
        self.root_hash = if leaf { h } else { chain(h, key, 0, depth) };
    }

    fn alloc_leaf(&mut self, key: Key) -> u32 {
        if let Some(r) = self.free_leaves.pop() {
            self.leaves[index(r)] = key;
            return r;
        }
        let i = self.leaves.len();
        assert!(
            i < (LEAF_TAG - 1) as usize,
            "LiveSet capacity (2^31 - 1 keys) exceeded"
        );
        self.leaves.push(key);
        LEAF_TAG | i as u32
    }

    fn alloc_inner(&mut self, node: Inner, hashes: [Hash; 2]) -> u32 {
        if let Some(r) = self.free_inners.pop() {
            self.inners[index(r)] = node;
            self.child_hashes[index(r)] = hashes;
            return r;
        }
        let i = self.inners.len();
        assert!(
            i < LEAF_TAG as usize,
            "LiveSet capacity (2^31 - 1 keys) exceeded"
        );
        self.inners.push(node);
        self.child_hashes.push(hashes);
        i as u32
    }
}

impl FromIterator<Key> for LiveSet {
    fn from_iter<I: IntoIterator<Item = Key>>(iter: I) -> Self {
        Self::from_keys(iter)
    }
}

impl<'a> IntoIterator for &'a LiveSet {
    type Item = &'a Key;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over a [`LiveSet`]'s keys in ascending order.
pub struct Iter<'a> {
    set: &'a LiveSet,
    stack: Vec<u32>,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Key;

    fn next(&mut self) -> Option<&'a Key> {
        while let Some(r) = self.stack.pop() {
            if is_leaf(r) {
                self.remaining -= 1;
                return Some(&self.set.leaves[index(r)]);
            }
            let n = &self.set.inners[index(r)];
            self.stack.push(n.children[1]);
            self.stack.push(n.children[0]);
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}
