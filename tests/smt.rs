//! Live-set sparse Merkle tree: model-based property tests, proof soundness
//! and forgery attempts.

use fidex::log::merkle::{Hash, ProofError};
use fidex::log::smt::{
    internal_hash, leaf_hash, verify_membership, verify_non_membership, Key, LiveSet, SmtProof,
    Terminal, PLACEHOLDER,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn bit(key: &Key, i: usize) -> usize {
    ((key[i / 8] >> (7 - i % 8)) & 1) as usize
}

fn k128(x: u128) -> Key {
    x.to_be_bytes()
}

/// Naive canonical root straight from the definition (uncompressed walk,
/// one level at a time). `keys` all share their first `depth` bits.
fn reference_root(keys: &[Key], depth: usize) -> Hash {
    match keys.len() {
        0 => PLACEHOLDER,
        1 => leaf_hash(&keys[0]),
        _ => {
            let (l, r): (Vec<Key>, Vec<Key>) = keys.iter().partition(|k| bit(k, depth) == 0);
            internal_hash(
                &reference_root(&l, depth + 1),
                &reference_root(&r, depth + 1),
            )
        }
    }
}

/// Naive prover from the definition.
fn reference_proof(keys: &[Key], key: &Key) -> SmtProof {
    let mut cur: Vec<Key> = keys.to_vec();
    let mut siblings = Vec::new();
    let mut depth = 0;
    loop {
        match cur.len() {
            0 => {
                return SmtProof {
                    siblings,
                    terminal: Terminal::Empty,
                }
            }
            1 => {
                return SmtProof {
                    siblings,
                    terminal: Terminal::Leaf(cur[0]),
                }
            }
            _ => {
                let (same, other): (Vec<Key>, Vec<Key>) =
                    cur.iter().partition(|k| bit(k, depth) == bit(key, depth));
                siblings.push(reference_root(&other, depth + 1));
                cur = same;
                depth += 1;
            }
        }
    }
}

fn model_root(model: &BTreeSet<Key>) -> Hash {
    let v: Vec<Key> = model.iter().copied().collect();
    reference_root(&v, 0)
}

/// Check every proof property for `key` against `set`/`model`.
fn check_proofs(set: &LiveSet, model: &BTreeSet<Key>, key: &Key) {
    let root = set.root();
    let proof = set.prove(key);
    let present = model.contains(key);
    let keys: Vec<Key> = model.iter().copied().collect();
    assert_eq!(
        proof,
        reference_proof(&keys, key),
        "proof differs from reference"
    );
    assert!(proof.siblings.len() <= 128);
    if present {
        assert_eq!(verify_membership(&root, key, &proof), Ok(()));
        assert_eq!(
            verify_non_membership(&root, key, &proof),
            Err(ProofError::KeyPresent)
        );
    } else {
        assert_eq!(verify_non_membership(&root, key, &proof), Ok(()));
        assert_eq!(
            verify_membership(&root, key, &proof),
            Err(ProofError::KeyAbsent)
        );
    }
    // Single-bit corruptions (top, middle and bottom sibling; a few bytes of
    // the terminal key) break it for both verifiers. Kept small: this runs
    // at every step of the property test, in unoptimised test builds too.
    let n = proof.siblings.len();
    let mut idx = vec![0, n / 2, n.saturating_sub(1)];
    idx.dedup();
    for i in idx.into_iter().filter(|&i| i < n) {
        let mut p = proof.clone();
        p.siblings[i][i % 32] ^= 0x10;
        assert!(verify_membership(&root, key, &p).is_err());
        assert!(verify_non_membership(&root, key, &p).is_err());
    }
    if let Terminal::Leaf(k) = proof.terminal {
        for byte in [0usize, 15] {
            let mut p = proof.clone();
            let mut k2 = k;
            k2[byte] ^= 0x01;
            p.terminal = Terminal::Leaf(k2);
            assert!(verify_membership(&root, key, &p).is_err());
            assert!(verify_non_membership(&root, key, &p).is_err());
        }
    }
    // Wrong root.
    let mut r = root;
    r[5] ^= 0x40;
    assert!(verify_membership(&r, key, &proof).is_err());
    assert!(verify_non_membership(&r, key, &proof).is_err());
}

/// Keys that collide on long prefixes: mostly variations of a few bases.
fn key_strategy() -> impl Strategy<Value = Key> {
    let bases = [
        0u128,
        u128::MAX,
        0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        0x8000_0000_0000_0000_0000_0000_0000_0000,
    ];
    prop_oneof![
        any::<u128>().prop_map(k128),
        (0..4usize, 0..128u32).prop_map(move |(b, i)| k128(bases[b] ^ (1u128 << i))),
        (0..4usize, 0..128u32, 0..128u32)
            .prop_map(move |(b, i, j)| k128(bases[b] ^ (1u128 << i) ^ (1u128 << j))),
        (0..4usize).prop_map(move |b| k128(bases[b])),
        (0u8..16).prop_map(|x| k128(u128::from(x))),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Insert(Key),
    Remove(Key),
    RemoveExisting(usize),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => key_strategy().prop_map(Op::Insert),
        1 => key_strategy().prop_map(Op::Remove),
        2 => any::<usize>().prop_map(Op::RemoveExisting),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn live_set_matches_model(ops in prop::collection::vec(op_strategy(), 1..80),
                              probes in prop::collection::vec(key_strategy(), 1..6)) {
        let mut set = LiveSet::new();
        let mut model = BTreeSet::new();
        for op in ops {
            let (key, changed) = match op {
                Op::Insert(k) => {
                    let c = set.insert(k);
                    prop_assert_eq!(c, model.insert(k));
                    (k, c)
                }
                Op::Remove(k) => {
                    let c = set.remove(&k);
                    prop_assert_eq!(c, model.remove(&k));
                    (k, c)
                }
                Op::RemoveExisting(i) => {
                    if model.is_empty() { continue; }
                    let k = *model.iter().nth(i % model.len()).unwrap();
                    let before = set.prove(&k);
                    let old_root = set.root();
                    prop_assert!(set.remove(&k));
                    model.remove(&k);
                    // The old membership proof no longer verifies.
                    prop_assert!(verify_membership(&old_root, &k, &before).is_ok());
                    prop_assert!(verify_membership(&set.root(), &k, &before).is_err());
                    prop_assert!(verify_non_membership(&set.root(), &k, &before).is_err());
                    (k, true)
                }
            };
            let _ = changed;
            prop_assert_eq!(set.len(), model.len());
            prop_assert_eq!(set.is_empty(), model.is_empty());
            prop_assert_eq!(set.root(), model_root(&model));
            prop_assert_eq!(set.root(), LiveSet::from_keys(model.iter().copied()).root());
            prop_assert_eq!(set.contains(&key), model.contains(&key));
            check_proofs(&set, &model, &key);
        }
        let got: Vec<Key> = set.iter().copied().collect();
        let want: Vec<Key> = model.iter().copied().collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(set.iter().len(), model.len());
        for p in &probes {
            prop_assert_eq!(set.contains(p), model.contains(p));
            check_proofs(&set, &model, p);
        }
        for k in model.iter().take(8) {
            check_proofs(&set, &model, k);
        }
    }

    #[test]
    fn stale_proofs_fail_after_status_change(keys in prop::collection::btree_set(key_strategy(), 0..40),
                                             k in key_strategy()) {
        let mut set = LiveSet::from_keys(keys.iter().copied());
        let r0 = set.root();
        let p0 = set.prove(&k);
        if keys.contains(&k) {
            prop_assert!(set.remove(&k));
        } else {
            prop_assert!(set.insert(k));
        }
        let r1 = set.root();
        prop_assert_ne!(r0, r1);
        prop_assert!(verify_membership(&r1, &k, &p0).is_err());
        prop_assert!(verify_non_membership(&r1, &k, &p0).is_err());
        let p1 = set.prove(&k);
        prop_assert!(verify_membership(&r0, &k, &p1).is_err());
        prop_assert!(verify_non_membership(&r0, &k, &p1).is_err());
        // And back again: the root is a function of the set only.
        if keys.contains(&k) { set.insert(k); } else { set.remove(&k); }
        prop_assert_eq!(set.root(), r0);
    }
}

#[test]
fn small_sets_by_hand() {
    let mut s = LiveSet::new();
    assert_eq!(s.root(), PLACEHOLDER);
    assert!(s.is_empty());
    let a = k128(0); // 000...
    let b = k128(1 << 127); // 100...
    let c = k128(1 << 126); // 010...
    assert!(s.insert(a));
    assert!(!s.insert(a));
    assert_eq!(s.root(), leaf_hash(&a));
    assert!(s.insert(b));
    assert_eq!(s.root(), internal_hash(&leaf_hash(&a), &leaf_hash(&b)));
    assert!(s.insert(c));
    let left = internal_hash(&leaf_hash(&a), &leaf_hash(&c));
    assert_eq!(s.root(), internal_hash(&left, &leaf_hash(&b)));
    assert!(s.remove(&b));
    assert!(!s.remove(&b));
    // {a, c}: both start with 0 → a chain level above the branch at bit 1.
    assert_eq!(s.root(), internal_hash(&left, &PLACEHOLDER));
    let p = s.prove(&b);
    assert_eq!(
        p,
        SmtProof {
            siblings: vec![left],
            terminal: Terminal::Empty
        }
    );
    assert_eq!(verify_non_membership(&s.root(), &b, &p), Ok(()));
    let pa = s.prove(&a);
    assert_eq!(pa.siblings, vec![PLACEHOLDER, leaf_hash(&c)]);
    assert_eq!(verify_membership(&s.root(), &a, &pa), Ok(()));
    assert!(s.remove(&a));
    assert_eq!(s.root(), leaf_hash(&c));
    assert!(s.remove(&c));
    assert_eq!(s.root(), PLACEHOLDER);
    assert_eq!(
        s.prove(&a),
        SmtProof {
            siblings: vec![],
            terminal: Terminal::Empty
        }
    );
    assert_eq!(
        verify_non_membership(&PLACEHOLDER, &a, &s.prove(&a)),
        Ok(())
    );
    assert_eq!(
        verify_membership(&PLACEHOLDER, &a, &s.prove(&a)),
        Err(ProofError::KeyAbsent)
    );
}

#[test]
fn deepest_possible_keys() {
    // Two keys differing only in the last bit: leaves at depth 128.
    let x = k128(0xdead_beef << 64);
    let y = k128((0xdead_beef << 64) | 1);
    let z = k128((0xdead_beef << 64) | 2);
    let s = LiveSet::from_keys([x, y]);
    let model: BTreeSet<Key> = [x, y].into_iter().collect();
    assert_eq!(s.root(), model_root(&model));
    let p = s.prove(&x);
    assert_eq!(p.siblings.len(), 128);
    assert_eq!(verify_membership(&s.root(), &x, &p), Ok(()));
    let pz = s.prove(&z);
    assert_eq!(pz.siblings.len(), 127);
    assert_eq!(verify_non_membership(&s.root(), &z, &pz), Ok(()));
    check_proofs(&s, &model, &x);
    check_proofs(&s, &model, &z);
    // 129 siblings are rejected outright.
    let mut long = p.clone();
    long.siblings.insert(0, PLACEHOLDER);
    assert_eq!(
        verify_membership(&s.root(), &x, &long),
        Err(ProofError::WrongLength)
    );
    assert_eq!(
        verify_non_membership(&s.root(), &x, &long),
        Err(ProofError::WrongLength)
    );
    // An empty terminal at depth 128 is never canonical.
    let mut deep_empty = p;
    deep_empty.terminal = Terminal::Empty;
    assert_eq!(
        verify_non_membership(&s.root(), &x, &deep_empty),
        Err(ProofError::NotCanonical)
    );
}

#[test]
fn from_keys_dedups_and_matches_incremental() {
    let keys: Vec<Key> = (0..500u128)
        .map(|i| k128(i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)))
        .collect();
    let mut dup = keys.clone();
    dup.extend_from_slice(&keys[..100]);
    let bulk = LiveSet::from_keys(dup);
    let mut inc = LiveSet::new();
    for k in keys.iter().rev() {
        inc.insert(*k);
    }
    assert_eq!(bulk.len(), 500);
    assert_eq!(bulk.root(), inc.root());
    let model: BTreeSet<Key> = keys.iter().copied().collect();
    assert_eq!(bulk.root(), model_root(&model));
    assert!(bulk.iter().copied().eq(model.iter().copied()));
    let collected: LiveSet = keys.iter().copied().collect();
    assert_eq!(collected.root(), bulk.root());
    // Remove everything in a scrambled order, checking against the model.
    let mut model = model;
    for (i, k) in keys.iter().enumerate() {
        if i % 3 != 1 {
            assert!(inc.remove(k));
            model.remove(k);
        }
    }
    assert_eq!(inc.root(), model_root(&model));
    for (i, k) in keys.iter().enumerate() {
        if i % 3 == 1 {
            assert!(inc.remove(k));
        }
    }
    assert!(inc.is_empty());
    assert_eq!(inc.root(), PLACEHOLDER);
    // Arena slots are reused.
    for k in &keys {
        inc.insert(*k);
    }
    assert_eq!(inc.root(), bulk.root());
}

/// Every "obvious" way to claim a present key is absent must fail.
#[test]
fn cannot_forge_non_membership_for_present_key() {
    let keys: Vec<Key> = (0..64u128)
        .map(|i| k128(i.wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15)))
        .chain([k128(7), k128(6), k128(5)])
        .collect();
    let set = LiveSet::from_keys(keys.iter().copied());
    let root = set.root();
    let sorted: Vec<Key> = set.iter().copied().collect();
    for (pos, key) in sorted.iter().enumerate() {
        let genuine = set.prove(key);
        assert_eq!(verify_membership(&root, key, &genuine), Ok(()));
        let d = genuine.siblings.len();
        let mut neighbours: Vec<Key> = Vec::new();
        if pos > 0 {
            neighbours.push(sorted[pos - 1]);
        }
        if pos + 1 < sorted.len() {
            neighbours.push(sorted[pos + 1]);
        }
        // Keys that share a long prefix with `key` but are not in the set.
        for i in 0..128 {
            let mut k = *key;
            k[i / 8] ^= 0x80 >> (i % 8);
            neighbours.push(k);
        }
        let mut forgeries: Vec<SmtProof> = Vec::new();
        for cut in 0..=d {
            let sibs = genuine.siblings[..cut].to_vec();
            forgeries.push(SmtProof {
                siblings: sibs.clone(),
                terminal: Terminal::Empty,
            });
            for n in &neighbours {
                forgeries.push(SmtProof {
                    siblings: sibs.clone(),
                    terminal: Terminal::Leaf(*n),
                });
            }
        }
        // Extend past the leaf with placeholders / the leaf itself.
        for extra in [PLACEHOLDER, leaf_hash(key), root] {
            let mut sibs = genuine.siblings.clone();
            sibs.push(extra);
            forgeries.push(SmtProof {
                siblings: sibs.clone(),
                terminal: Terminal::Empty,
            });
            for n in &neighbours {
                forgeries.push(SmtProof {
                    siblings: sibs.clone(),
                    terminal: Terminal::Leaf(*n),
                });
            }
        }
        // A neighbour's genuine proof (membership or not) relabelled.
        for n in &neighbours {
            let mut p = set.prove(n);
            forgeries.push(p.clone());
            p.terminal = Terminal::Empty;
            forgeries.push(p);
        }
        for f in &forgeries {
            assert!(
                verify_non_membership(&root, key, f).is_err(),
                "forged non-membership accepted: {f:?}"
            );
        }
    }
}

/// A tree that is not in canonical form (single key not collapsed) yields
/// proofs the verifier refuses.
#[test]
fn non_canonical_proofs_rejected() {
    let k = k128(0x1234 << 100); // first bit 0
                                 // root = internal(leaf(k), empty): a one-key subtree that was not collapsed.
    let bad_root = internal_hash(&leaf_hash(&k), &PLACEHOLDER);
    let p = SmtProof {
        siblings: vec![PLACEHOLDER],
        terminal: Terminal::Leaf(k),
    };
    assert_eq!(
        verify_membership(&bad_root, &k, &p),
        Err(ProofError::NotCanonical)
    );
    // Both children empty.
    let empty_pair = internal_hash(&PLACEHOLDER, &PLACEHOLDER);
    let p = SmtProof {
        siblings: vec![PLACEHOLDER],
        terminal: Terminal::Empty,
    };
    assert_eq!(
        verify_non_membership(&empty_pair, &k, &p),
        Err(ProofError::NotCanonical)
    );
    // A leaf that is not on the key's path.
    let other = k128(1 << 127); // first bit 1
    let x = k128(1); // first bit 0
    let s = LiveSet::from_keys([other, x]);
    let p = SmtProof {
        siblings: vec![leaf_hash(&other)],
        terminal: Terminal::Leaf(x),
    };
    // Folding along `k`'s path (bit 0 = 0) gives the real root, but the
    // terminal is fine here (x shares bit 0 with k) — a genuine proof:
    assert_eq!(verify_non_membership(&s.root(), &k, &p), Ok(()));
    // A malformed tree with `other` (bit 0 = 1) in the left (bit 0 = 0)
    // slot: the fold matches this root, but the leaf is off `k`'s path.
    let misplaced_root = internal_hash(&leaf_hash(&other), &leaf_hash(&x));
    let p = SmtProof {
        siblings: vec![leaf_hash(&x)],
        terminal: Terminal::Leaf(other),
    };
    assert_eq!(
        verify_non_membership(&misplaced_root, &k, &p),
        Err(ProofError::NotCanonical)
    );
}

#[test]
fn membership_and_non_membership_are_exclusive_for_random_sets() {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let keys: Vec<Key> = (0..2000)
        .map(|_| k128((u128::from(next()) << 64) | u128::from(next())))
        .collect();
    let set = LiveSet::from_keys(keys.iter().copied());
    let root = set.root();
    for k in keys.iter().take(300) {
        let p = set.prove(k);
        assert!(verify_membership(&root, k, &p).is_ok());
        assert_eq!(
            verify_non_membership(&root, k, &p),
            Err(ProofError::KeyPresent)
        );
    }
    for _ in 0..300 {
        let k = k128((u128::from(next()) << 64) | u128::from(next()));
        let p = set.prove(&k);
        assert!(verify_non_membership(&root, &k, &p).is_ok());
        assert_eq!(verify_membership(&root, &k, &p), Err(ProofError::KeyAbsent));
    }
}

#[test]
fn proof_serde_roundtrip() {
    let s = LiveSet::from_keys([k128(1), k128(2), k128(u128::MAX)]);
    for k in [k128(1), k128(3), k128(1 << 100)] {
        let p = s.prove(&k);
        let json = serde_json::to_string(&p).unwrap();
        let back: SmtProof = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}

#[test]
#[ignore = "timing print; run with --ignored --nocapture (release recommended)"]
fn timing_live_set_1m() {
    use std::time::Instant;
    let n = 1_000_000usize;
    let mut state = 42u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let keys: Vec<Key> = (0..n)
        .map(|_| {
            let mut k = k128((u128::from(next()) << 64) | u128::from(next()));
            k[6] = (k[6] & 0x0f) | 0x40; // UUID v4 version nibble
            k[8] = (k[8] & 0x3f) | 0x80; // variant
            k
        })
        .collect();
    let rss0 = rss_kib();
    let t = Instant::now();
    let mut set = LiveSet::new();
    for k in &keys {
        set.insert(*k);
    }
    let ins = t.elapsed();
    let rss1 = rss_kib();
    let t = Instant::now();
    let mut depth = 0usize;
    for k in keys.iter().take(10_000) {
        let p = set.prove(k);
        depth += p.siblings.len();
        verify_membership(&set.root(), k, &p).unwrap();
    }
    let prove = t.elapsed();
    let t = Instant::now();
    let bulk = LiveSet::from_keys(keys.iter().copied());
    let build = t.elapsed();
    assert_eq!(bulk.root(), set.root());
    drop(bulk);
    let t = Instant::now();
    for k in keys.iter().take(100_000) {
        set.remove(k);
    }
    let rem = t.elapsed();
    println!(
        "LiveSet: {n} inserts in {ins:?} ({:.2} us/insert), RSS +{} MiB; 10k prove+verify in {prove:?} (avg depth {:.1}); from_keys(1M) in {build:?}; 100k removes in {rem:?}",
        ins.as_secs_f64() * 1e6 / n as f64,
        rss1.saturating_sub(rss0) / 1024,
        depth as f64 / 10_000.0
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
