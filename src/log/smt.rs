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
//! A PATRICIA (crit-bit) trie in an arena `Vec<Node>` with a free list: `n`
//! leaves and `n − 1` branching internal nodes, ≈ 2n nodes of 60 bytes, O(n)
//! memory. A stored internal node remembers the bit where its keys diverge, a
//! representative key (its bits before the branching bit are the prefix shared
//! by the whole subtree — true for *every* key ever in the subtree, so it never
//! needs updating), and its own hash at its own depth. Runs of single-child
//! internal nodes of the canonical tree (shared prefixes) are not stored: their
//! hashes are recomputed on demand by folding the placeholder in, which costs
//! one hash per skipped level. An insert or remove rehashes the O(depth) nodes
//! on the key's path; every skipped level is folded at most twice, so an
//! update costs at most a few hundred hashes and, for random keys, about
//! `log2 n` plus a small constant. The root is cached, so [`LiveSet::root`] is O(1).
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

const NIL: u32 = u32::MAX;
const LEAF: u8 = u8::MAX;

#[derive(Clone, Debug)]
struct Node {
    /// Leaf: `leaf_hash(key)`. Internal: `internal_hash` of its two children
    /// as seen at depth `bit + 1` (i.e. the node's hash at its own depth).
    hash: Hash,
    /// Leaf: the key. Internal: a key that was in the subtree when the node
    /// was made; bits `< bit` are the prefix shared by the whole subtree.
    key: Key,
    /// Internal: the branching bit (= depth), 0..=127. Leaf: `LEAF`.
    bit: u8,
    /// Internal: left (bit 0) and right (bit 1) child indices.
    children: [u32; 2],
}

impl Node {
    fn is_leaf(&self) -> bool {
        self.bit == LEAF
    }
}

/// The set of live keys with an incrementally maintained root.
///
/// Capacity: up to 2^31 keys (arena indices are `u32`).
#[derive(Clone)]
pub struct LiveSet {
    nodes: Vec<Node>,
    free: Vec<u32>,
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
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            len: 0,
            root_hash: PLACEHOLDER,
        }
    }

    /// Bulk-build from keys (duplicates ignored): O(n log n) to sort, then
    /// O(n) node construction.
    pub fn from_keys(keys: impl IntoIterator<Item = Key>) -> Self {
        let mut keys: Vec<Key> = keys.into_iter().collect();
        keys.sort_unstable();
        keys.dedup();
        let mut set = Self::new();
        if keys.is_empty() {
            return set;
        }
        set.nodes.reserve(2 * keys.len() - 1);
        set.root = set.build(&keys);
        set.len = keys.len();
        set.root_hash = set.slot_hash(set.root, 0);
        set
    }

    /// `keys` sorted, distinct, non-empty.
    fn build(&mut self, keys: &[Key]) -> u32 {
        if keys.len() == 1 {
            return self.alloc_leaf(keys[0]);
        }
        let (first, last) = (&keys[0], &keys[keys.len() - 1]);
        let b = first_diff(first, last);
        let split = keys.partition_point(|k| bit(k, b) == 0);
        let l = self.build(&keys[..split]);
        let r = self.build(&keys[split..]);
        let n = self.alloc(Node {
            hash: PLACEHOLDER,
            key: *first,
            bit: b as u8,
            children: [l, r],
        });
        self.rehash(n);
        n
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
            .is_some_and(|l| self.nodes[l as usize].key == *key)
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
            let l = self.alloc_leaf(key);
            self.root = l;
            self.len = 1;
            self.root_hash = self.nodes[l as usize].hash;
            return true;
        };
        let other = self.nodes[near as usize].key;
        if other == key {
            return false;
        }
        let crit = first_diff(&key, &other);
        // Descend again to the first node branching at or below `crit`.
        // Every key under that node agrees with `key` (and `other`) on bits
        // < crit, and the node itself branches strictly after `crit`.
        let mut path: Vec<u32> = Vec::with_capacity(48);
        let mut cur = self.root;
        loop {
            let n = &self.nodes[cur as usize];
            if n.is_leaf() || n.bit as usize > crit {
                break;
            }
            path.push(cur);
            cur = n.children[bit(&key, n.bit as usize)];
        }
        let leaf = self.alloc_leaf(key);
        let d = bit(&key, crit);
        let mut children = [cur; 2];
        children[d] = leaf;
        let inner = self.alloc(Node {
            hash: PLACEHOLDER,
            key,
            bit: crit as u8,
            children,
        });
        self.rehash(inner);
        match path.last() {
            None => self.root = inner,
            Some(&p) => {
                let pb = self.nodes[p as usize].bit as usize;
                self.nodes[p as usize].children[bit(&key, pb)] = inner;
            }
        }
        for &p in path.iter().rev() {
            self.rehash(p);
        }
        self.len += 1;
        self.root_hash = self.slot_hash(self.root, 0);
        true
    }

    /// Remove `key`; `false` if it was absent. O(depth) hashes.
    pub fn remove(&mut self, key: &Key) -> bool {
        if self.root == NIL {
            return false;
        }
        let mut path: Vec<u32> = Vec::with_capacity(48);
        let mut cur = self.root;
        loop {
            let n = &self.nodes[cur as usize];
            if n.is_leaf() {
                break;
            }
            path.push(cur);
            cur = n.children[bit(key, n.bit as usize)];
        }
        if self.nodes[cur as usize].key != *key {
            return false;
        }
        self.release(cur);
        self.len -= 1;
        let Some(parent) = path.pop() else {
            self.root = NIL;
            self.root_hash = PLACEHOLDER;
            return true;
        };
        let pn = &self.nodes[parent as usize];
        let sibling = pn.children[1 - bit(key, pn.bit as usize)];
        self.release(parent);
        match path.last() {
            None => self.root = sibling,
            Some(&g) => {
                let gb = self.nodes[g as usize].bit as usize;
                self.nodes[g as usize].children[bit(key, gb)] = sibling;
            }
        }
        for &p in path.iter().rev() {
            self.rehash(p);
        }
        self.root_hash = self.slot_hash(self.root, 0);
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
            let n = &self.nodes[cur as usize];
            if n.is_leaf() {
                return SmtProof {
                    siblings,
                    terminal: Terminal::Leaf(n.key),
                };
            }
            let b = n.bit as usize;
            // Levels of the shared prefix: the other side is empty, unless
            // `key` leaves the prefix here, in which case its side is empty.
            for j in depth..b {
                if bit(key, j) == bit(&n.key, j) {
                    siblings.push(PLACEHOLDER);
                } else {
                    siblings.push(self.slot_hash(cur, j + 1));
                    return SmtProof {
                        siblings,
                        terminal: Terminal::Empty,
                    };
                }
            }
            let d = bit(key, b);
            siblings.push(self.slot_hash(n.children[1 - d], b + 1));
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
        loop {
            let n = &self.nodes[cur as usize];
            if n.is_leaf() {
                return Some(cur);
            }
            cur = n.children[bit(key, n.bit as usize)];
        }
    }

    /// Hash of node `idx` as seen in a slot at depth `depth` (≤ its own depth):
    /// a leaf is collapsed (its own hash); an internal node is extended by the
    /// chain of single-child levels above it.
    fn slot_hash(&self, idx: u32, depth: usize) -> Hash {
        let n = &self.nodes[idx as usize];
        if n.is_leaf() {
            n.hash
        } else {
            chain(n.hash, &n.key, depth, n.bit as usize)
        }
    }

    fn rehash(&mut self, idx: u32) {
        let n = &self.nodes[idx as usize];
        let below = n.bit as usize + 1;
        let [l, r] = n.children;
        let h = internal_hash(&self.slot_hash(l, below), &self.slot_hash(r, below));
        self.nodes[idx as usize].hash = h;
    }

    fn alloc_leaf(&mut self, key: Key) -> u32 {
        self.alloc(Node {
            hash: leaf_hash(&key),
            key,
            bit: LEAF,
            children: [NIL; 2],
        })
    }

    fn alloc(&mut self, node: Node) -> u32 {
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = node;
            return i;
        }
        let i = u32::try_from(self.nodes.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("LiveSet capacity (2^31 keys) exceeded");
        self.nodes.push(node);
        i
    }

    fn release(&mut self, idx: u32) {
        self.free.push(idx);
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
        while let Some(i) = self.stack.pop() {
            let n = &self.set.nodes[i as usize];
            if n.is_leaf() {
                self.remaining -= 1;
                return Some(&n.key);
            }
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
