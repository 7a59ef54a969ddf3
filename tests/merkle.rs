//! RFC 6962 / RFC 9162 Merkle log: reference vectors, exhaustive small-tree
//! checks and mangled-proof rejection.

use fidex::log::merkle::{
    empty_root, leaf_hash, node_hash, root_of, verify_consistency, verify_inclusion, Frontier,
    Hash, MerkleLog, ProofError,
};

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn h(s: &str) -> Hash {
    unhex(s).try_into().expect("32-byte hash")
}

/// Leaf inputs of the certificate-transparency / transparency-dev test suite.
const REF_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Tree heads for sizes 1..=8.
const REF_ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn ref_leaf_hashes() -> Vec<Hash> {
    REF_LEAVES.iter().map(|s| leaf_hash(&unhex(s))).collect()
}

fn ref_root(size: u64) -> Hash {
    h(REF_ROOTS[size as usize - 1])
}

/// (leaf index (0-based), tree size, proof) — transparency-dev/merkle
/// proof/verify_test.go `inclusionProofs` (which lists 1-based leaf numbers).
fn ref_inclusion() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof) — transparency-dev/merkle `consistencyProofs`.
fn ref_consistency() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

#[test]
fn hash_primitives() {
    assert_eq!(
        empty_root(),
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    // Leaf of the empty entry = SHA-256(0x00) = the size-1 tree head.
    assert_eq!(leaf_hash(b""), ref_root(1));
    assert_eq!(root_of(&[]), empty_root());
    assert_eq!(MerkleLog::new().root(), empty_root());
}

#[test]
fn reference_tree_heads() {
    let leaves = ref_leaf_hashes();
    let mut log = MerkleLog::new();
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(log.append(*l), i as u64);
        let size = i as u64 + 1;
        assert_eq!(log.root(), ref_root(size), "incremental root, size {size}");
        assert_eq!(
            root_of(&leaves[..=i]),
            ref_root(size),
            "root_of, size {size}"
        );
    }
    let bulk = MerkleLog::from_leaves(leaves.clone());
    assert_eq!(bulk, log);
    for size in 1..=8u64 {
        assert_eq!(log.root_at(size), Some(ref_root(size)));
        assert_eq!(bulk.root_at(size), Some(ref_root(size)));
    }
    assert_eq!(log.root_at(0), Some(empty_root()));
    assert_eq!(log.root_at(9), None);
}

#[test]
fn reference_inclusion_proofs() {
    let leaves = ref_leaf_hashes();
    let log = MerkleLog::from_leaves(leaves.clone());
    for (index, size, proof) in ref_inclusion() {
        assert_eq!(
            log.inclusion_proof(index, size).unwrap(),
            proof,
            "generated inclusion proof ({index}, {size})"
        );
        verify_inclusion(
            &leaves[index as usize],
            index,
            size,
            &proof,
            &ref_root(size),
        )
        .unwrap_or_else(|e| panic!("reference inclusion ({index},{size}): {e}"));
        assert_inclusion_mangles_rejected(
            &leaves[index as usize],
            index,
            size,
            &proof,
            &ref_root(size),
            true,
        );
    }
}

#[test]
fn reference_consistency_proofs() {
    let log = MerkleLog::from_leaves(ref_leaf_hashes());
    for (old, new, proof) in ref_consistency() {
        assert_eq!(
            log.consistency_proof(old, new).unwrap(),
            proof,
            "generated consistency proof ({old}, {new})"
        );
        verify_consistency(old, new, &ref_root(old), &ref_root(new), &proof)
            .unwrap_or_else(|e| panic!("reference consistency ({old},{new}): {e}"));
        if !proof.is_empty() {
            assert_consistency_mangles_rejected(&log, old, new, &proof);
        }
    }
}

fn test_leaves(n: usize) -> Vec<Hash> {
    (0..n as u32).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

#[test]
fn exhaustive_small_trees() {
    const N: usize = 64;
    let leaves = test_leaves(N);
    let full = MerkleLog::from_leaves(leaves.clone());
    let mut log = MerkleLog::new();
    let roots: Vec<Hash> = (0..=N).map(|n| root_of(&leaves[..n])).collect();
    for (i, l) in leaves.iter().enumerate() {
        log.append(*l);
        let size = i as u64 + 1;
        assert_eq!(log.len(), size);
        assert_eq!(log.root(), roots[i + 1]);
        assert_eq!(MerkleLog::from_leaves(leaves[..=i].to_vec()), log);
        for s in 0..=size {
            assert_eq!(log.root_at(s), Some(roots[s as usize]));
            assert_eq!(full.root_at(s), Some(roots[s as usize]));
        }
        for index in 0..size {
            let p = log.inclusion_proof(index, size).unwrap();
            assert_eq!(p, full.inclusion_proof(index, size).unwrap());
            verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &p,
                &roots[size as usize],
            )
            .unwrap_or_else(|e| panic!("inclusion {index}/{size}: {e}"));
        }
        for old in 0..=size {
            let p = log.consistency_proof(old, size).unwrap();
            assert_eq!(p, full.consistency_proof(old, size).unwrap());
            verify_consistency(old, size, &roots[old as usize], &roots[size as usize], &p)
                .unwrap_or_else(|e| panic!("consistency {old}->{size}: {e}"));
        }
    }
    assert_eq!(log.leaves(), &leaves[..]);
    assert_eq!(log.leaf(3), Some(leaves[3]));
    assert_eq!(log.leaf(N as u64), None);
    assert_eq!(log.leaf(u64::MAX), None);
}

#[test]
fn out_of_range_arguments_are_errors_not_panics() {
    let log = MerkleLog::from_leaves(test_leaves(5));
    assert_eq!(log.inclusion_proof(5, 5), Err(ProofError::IndexOutOfRange));
    assert_eq!(log.inclusion_proof(0, 0), Err(ProofError::IndexOutOfRange));
    assert_eq!(log.inclusion_proof(0, 6), Err(ProofError::InvalidSizes));
    assert_eq!(
        log.inclusion_proof(u64::MAX, u64::MAX),
        Err(ProofError::InvalidSizes)
    );
    assert_eq!(log.consistency_proof(3, 2), Err(ProofError::InvalidSizes));
    assert_eq!(log.consistency_proof(3, 6), Err(ProofError::InvalidSizes));
    assert_eq!(
        log.consistency_proof(u64::MAX, u64::MAX),
        Err(ProofError::InvalidSizes)
    );
    assert_eq!(log.root_at(u64::MAX), None);
    let empty = MerkleLog::new();
    assert!(empty.is_empty());
    assert_eq!(empty.leaves(), &[] as &[Hash]);
    assert_eq!(
        empty.inclusion_proof(0, 0),
        Err(ProofError::IndexOutOfRange)
    );
    assert_eq!(empty.consistency_proof(0, 0), Ok(vec![]));
    assert_eq!(MerkleLog::from_leaves(vec![]), empty);

    let r = empty_root();
    let x = leaf_hash(b"x");
    assert_eq!(
        verify_inclusion(&x, 0, 0, &[], &r),
        Err(ProofError::IndexOutOfRange)
    );
    assert_eq!(
        verify_inclusion(&x, 1, 1, &[], &x),
        Err(ProofError::IndexOutOfRange)
    );
    assert_eq!(
        verify_inclusion(&x, u64::MAX, u64::MAX, &[x; 64], &x),
        Err(ProofError::IndexOutOfRange)
    );
    assert!(verify_inclusion(&x, u64::MAX - 1, u64::MAX, &[x; 64], &x).is_err());
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &x, &x, &[x; 70]).is_err());
    assert_eq!(
        verify_consistency(2, 1, &x, &x, &[]),
        Err(ProofError::InvalidSizes)
    );
}

#[test]
fn consistency_edge_cases() {
    let a = leaf_hash(b"a");
    let b = leaf_hash(b"b");
    let e = empty_root();
    // Equal sizes: empty proof and equal roots.
    assert_eq!(verify_consistency(0, 0, &e, &e, &[]), Ok(()));
    assert_eq!(verify_consistency(3, 3, &a, &a, &[]), Ok(()));
    assert_eq!(
        verify_consistency(3, 3, &a, &b, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(3, 3, &a, &a, &[a]),
        Err(ProofError::WrongLength)
    );
    // Old size 0: empty proof, old root must be the empty root.
    assert_eq!(verify_consistency(0, 5, &e, &b, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 5, &a, &b, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 5, &e, &b, &[e]),
        Err(ProofError::WrongLength)
    );
    // Non-trivial sizes need a non-empty proof.
    assert_eq!(
        verify_consistency(1, 2, &a, &b, &[]),
        Err(ProofError::WrongLength)
    );
    // The genuine 1 -> 2 proof.
    let ab = node_hash(&a, &b);
    assert_eq!(verify_consistency(1, 2, &a, &ab, &[b]), Ok(()));
    assert_eq!(
        verify_consistency(1, 2, &a, &ab, &[b, b]),
        Err(ProofError::WrongLength)
    );
}

/// Every mangling of a valid inclusion proof must be rejected.
/// `every_bit`: flip all 256 bits of each proof hash (else a sample).
fn assert_inclusion_mangles_rejected(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
    every_bit: bool,
) {
    let bad = |l: &Hash, i: u64, s: u64, p: &[Hash], r: &Hash, what: &str| {
        assert!(
            verify_inclusion(l, i, s, p, r).is_err(),
            "mangled inclusion proof accepted ({what}); index {index} size {size}"
        );
    };
    // Bit flips in every proof hash.
    let (bytes, bits): (Vec<usize>, Vec<u8>) = if every_bit {
        ((0..32).collect(), (0..8).collect())
    } else {
        (vec![0, 13, 31], vec![0, 5])
    };
    for i in 0..proof.len() {
        for &byte in &bytes {
            for &b in &bits {
                let mut p = proof.to_vec();
                p[i][byte] ^= 1 << b;
                bad(leaf, index, size, &p, root, "flipped bit");
            }
        }
    }
    // Swapped hashes.
    for i in 0..proof.len() {
        for j in i + 1..proof.len() {
            if proof[i] != proof[j] {
                let mut p = proof.to_vec();
                p.swap(i, j);
                bad(leaf, index, size, &p, root, "swapped");
            }
        }
    }
    // Truncated, extended, prepended.
    if !proof.is_empty() {
        bad(
            leaf,
            index,
            size,
            &proof[..proof.len() - 1],
            root,
            "truncated",
        );
        bad(leaf, index, size, &proof[1..], root, "dropped first");
    }
    for extra in [*root, *leaf, [0u8; 32], empty_root()] {
        let mut p = proof.to_vec();
        p.push(extra);
        bad(leaf, index, size, &p, root, "extended");
        let mut p = vec![extra];
        p.extend_from_slice(proof);
        bad(leaf, index, size, &p, root, "prepended");
    }
    // Wrong index (every other index in the tree, plus out of range).
    for i in (0..size).filter(|&i| i != index) {
        bad(leaf, i, size, proof, root, "wrong index");
    }
    bad(leaf, size, size, proof, root, "index = size");
    // Wrong leaf and wrong root.
    let mut l = *leaf;
    l[0] ^= 1;
    bad(&l, index, size, proof, root, "wrong leaf");
    let mut r = *root;
    r[31] ^= 0x80;
    bad(leaf, index, size, proof, &r, "wrong root");
    bad(leaf, index, size, proof, &empty_root(), "empty root");
    // Leaf hash of the leaf hash (pre-image confusion) is a different leaf.
    bad(
        &leaf_hash(leaf),
        index,
        size,
        proof,
        root,
        "double-hashed leaf",
    );
}

#[test]
fn mangled_inclusion_proofs_rejected_all_small_trees() {
    const N: usize = 20;
    let leaves = test_leaves(N);
    let log = MerkleLog::from_leaves(leaves.clone());
    for size in 1..=N as u64 {
        let root = log.root_at(size).unwrap();
        for index in 0..size {
            let p = log.inclusion_proof(index, size).unwrap();
            assert_inclusion_mangles_rejected(
                &leaves[index as usize],
                index,
                size,
                &p,
                &root,
                false,
            );
            // Wrong size: checked against the root *of that size*, the proof
            // must fail. (Against the original root a shape-equivalent size
            // can pass — RFC 6962 binds the size only via the signed head.)
            for s in (index + 1..=N as u64).filter(|&s| s != size) {
                let r = log.root_at(s).unwrap();
                assert!(
                    verify_inclusion(&leaves[index as usize], index, s, &p, &r).is_err(),
                    "proof ({index},{size}) accepted for size {s}"
                );
            }
        }
    }
}

fn assert_consistency_mangles_rejected(log: &MerkleLog, old: u64, new: u64, proof: &[Hash]) {
    let r1 = log.root_at(old).unwrap();
    let r2 = log.root_at(new).unwrap();
    let bad = |o: u64, n: u64, a: &Hash, b: &Hash, p: &[Hash], what: &str| {
        assert!(
            verify_consistency(o, n, a, b, p).is_err(),
            "mangled consistency proof accepted ({what}); {old} -> {new}"
        );
    };
    for i in 0..proof.len() {
        for byte in 0..32 {
            for b in [0u8, 3, 7] {
                let mut p = proof.to_vec();
                p[i][byte] ^= 1 << b;
                bad(old, new, &r1, &r2, &p, "flipped bit");
            }
        }
    }
    for i in 0..proof.len() {
        for j in i + 1..proof.len() {
            if proof[i] != proof[j] {
                let mut p = proof.to_vec();
                p.swap(i, j);
                bad(old, new, &r1, &r2, &p, "swapped");
            }
        }
    }
    bad(old, new, &r1, &r2, &proof[..proof.len() - 1], "truncated");
    bad(old, new, &r1, &r2, &proof[1..], "dropped first");
    bad(old, new, &r1, &r2, &[], "empty");
    for extra in [r1, r2, proof[0], [0u8; 32]] {
        let mut p = proof.to_vec();
        p.push(extra);
        bad(old, new, &r1, &r2, &p, "extended");
        let mut p = vec![extra];
        p.extend_from_slice(proof);
        bad(old, new, &r1, &r2, &p, "prepended");
    }
    bad(old, new, &r2, &r1, proof, "swapped roots");
    let mut x = r1;
    x[0] ^= 1;
    bad(old, new, &x, &r2, proof, "wrong old root");
    let mut y = r2;
    y[0] ^= 1;
    bad(old, new, &r1, &y, proof, "wrong new root");
    // Wrong sizes, each checked with the genuine root of the size claimed.
    for o in 1..=log.len() {
        for n in o..=log.len() {
            if (o, n) == (old, new) {
                continue;
            }
            let (ro, rn) = (log.root_at(o).unwrap(), log.root_at(n).unwrap());
            bad(o, n, &ro, &rn, proof, "wrong sizes");
        }
    }
    bad(new, old, &r2, &r1, proof, "reversed sizes");
}

#[test]
fn mangled_consistency_proofs_rejected_all_small_trees() {
    const N: u64 = 12;
    let log = MerkleLog::from_leaves(test_leaves(N as usize));
    for new in 2..=N {
        for old in 1..new {
            let p = log.consistency_proof(old, new).unwrap();
            assert!(!p.is_empty());
            assert_consistency_mangles_rejected(&log, old, new, &p);
        }
    }
}

#[test]
fn proofs_for_historical_sizes_in_a_large_log() {
    // A few thousand leaves; spot-check proofs of historical sizes against
    // the reference root_of.
    let leaves = test_leaves(5000);
    let mut log = MerkleLog::new();
    for l in &leaves {
        log.append(*l);
    }
    assert_eq!(MerkleLog::from_leaves(leaves.clone()), log);
    for &size in &[1u64, 2, 3, 1023, 1024, 1025, 4095, 4096, 4097, 4999, 5000] {
        let root = root_of(&leaves[..size as usize]);
        assert_eq!(log.root_at(size), Some(root));
        for &index in &[0, size / 3, size / 2, size - 1] {
            let p = log.inclusion_proof(index, size).unwrap();
            verify_inclusion(&leaves[index as usize], index, size, &p, &root).unwrap();
        }
        for &old in &[1u64, 7, 512, 1000, 1024, 2047, 3333] {
            if old <= size {
                let p = log.consistency_proof(old, size).unwrap();
                let old_root = root_of(&leaves[..old as usize]);
                verify_consistency(old, size, &old_root, &root, &p).unwrap();
            }
        }
    }
}

/// The frontier (compact range) of published tree heads: its hashes are the RFC 6962 roots of
/// the maximal complete subtrees (checked against the plain recursive definition), it folds
/// to the root, and appending leaves to it gives the root of every later size.
#[test]
fn frontiers_give_the_root_of_every_later_size() {
    let leaves = test_leaves(70);
    let log = MerkleLog::from_leaves(leaves.clone());
    for a in 0..=70u64 {
        let hashes = log.frontier(a).unwrap();
        // Blocks of 2^k leaves for each set bit k of a, largest first, left to right.
        let mut start = 0usize;
        let mut expected = Vec::new();
        for b in (0..7).rev() {
            if a >> b & 1 == 1 {
                expected.push(root_of(&leaves[start..start + (1 << b)]));
                start += 1 << b;
            }
        }
        assert_eq!(hashes, expected, "frontier of {a}");
        let mut f = Frontier::from_hashes(a, hashes).unwrap();
        assert_eq!(f.root(), root_of(&leaves[..a as usize]), "fold of the frontier of {a}");
        for m in a..70 {
            f.append(leaves[m as usize]);
            assert_eq!(f.root(), root_of(&leaves[..m as usize + 1]), "frontier of {a} + leaves up to {}", m + 1);
            assert_eq!(f.size(), m + 1);
        }
    }
    assert_eq!(Frontier::empty().root(), empty_root());
    assert_eq!(Frontier::from_hashes(6, vec![leaves[0]]), Err(ProofError::WrongLength));
    assert!(log.frontier(71).is_none());
}

#[test]
fn proof_error_display() {
    let all = [
        ProofError::IndexOutOfRange,
        ProofError::InvalidSizes,
        ProofError::WrongLength,
        ProofError::RootMismatch,
        ProofError::KeyPresent,
        ProofError::KeyAbsent,
        ProofError::NotCanonical,
    ];
    let texts: std::collections::BTreeSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(texts.len(), all.len());
    let _: &dyn std::error::Error = &ProofError::RootMismatch;
}

#[test]
#[ignore = "timing print; run with --ignored --nocapture (release recommended)"]
fn timing_merkle_log_1m_appends() {
    use std::time::Instant;
    let n = 1_000_000u32;
    let rss0 = rss_kib();
    let t = Instant::now();
    let mut log = MerkleLog::new();
    for i in 0..n {
        log.append(leaf_hash(&i.to_be_bytes()));
    }
    let append = t.elapsed();
    let t = Instant::now();
    let root = log.root();
    let mut total = 0usize;
    for k in 0..1000u64 {
        let size = 1 + (k * 7919) % u64::from(n);
        let idx = (k * 104_729) % size;
        total += log.inclusion_proof(idx, size).unwrap().len();
        total += log.consistency_proof(size / 2 + 1, size).unwrap().len();
    }
    let proofs = t.elapsed();
    println!(
        "MerkleLog: {n} appends in {append:?} ({:.0} ns/append); 1000 inclusion+consistency proof pairs in {proofs:?} ({total} hashes); RSS +{} MiB; root {:02x?}",
        append.as_nanos() as f64 / f64::from(n),
        rss_kib().saturating_sub(rss0) / 1024,
        &root[..4]
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
