//! The audit log's RFC 6962/9162 Merkle tree and the live-set sparse Merkle tree, driven
//! by fuzzer bytes against simple models:
//! * MerkleLog (incremental and from_leaves) agrees with the recursive root_of;
//!   inclusion and consistency proofs it produces verify; a proof with any byte flipped,
//!   or checked at another leaf index, is rejected; verifiers never panic on any
//!   (index, size, proof) triple;
//! * LiveSet insert/remove agrees with a BTreeSet; its root depends only on the set
//!   (equals from_keys of the same keys); membership / non-membership proofs verify for
//!   present / absent keys and never the other way round; tampered proofs are rejected.
#![no_main]
use fidex::log::merkle::{self, MerkleLog};
use fidex::log::smt::{self, LiveSet, SmtProof, Terminal};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, r)) => {
                self.0 = r;
                *b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |a, _| (a << 8) | self.u8() as u64)
    }
}

/// Keys from one byte: few distinct keys with long shared prefixes (deep SMT paths).
fn key_of(b: u8, spread: u8) -> smt::Key {
    let mut k = [0u8; 16];
    let pos = (spread % 16) as usize;
    k[pos] = b;
    k[15] ^= b >> 4;
    k
}

fuzz_target!(|data: &[u8]| {
    let mut r = Bytes(data);
    // --- Merkle log ---
    let n = (r.u8() % 40) as u64 + 1;
    let leaves: Vec<merkle::Hash> = (0..n).map(|i| merkle::leaf_hash(&[i as u8, data.len() as u8])).collect();
    let mut log = MerkleLog::new();
    for l in &leaves {
        log.append(*l);
    }
    assert_eq!(log.root(), merkle::root_of(&leaves));
    assert_eq!(MerkleLog::from_leaves(leaves.clone()).root(), log.root());
    let size = r.u8() as u64 % n + 1;
    let index = r.u8() as u64 % size;
    let root = log.root_at(size).expect("size <= len");
    let proof = log.inclusion_proof(index, size).expect("valid index/size");
    merkle::verify_inclusion(&leaves[index as usize], index, size, &proof, &root).expect("genuine inclusion proof");
    let flip = r.u8() as usize;
    if !proof.is_empty() {
        let mut bad = proof.clone();
        bad[flip / 32 % proof.len()][flip % 32] ^= 1 << (r.u8() % 8);
        assert!(merkle::verify_inclusion(&leaves[index as usize], index, size, &bad, &root).is_err(), "tampered inclusion proof accepted");
    }
    let other = r.u8() as u64 % size;
    if other != index {
        assert!(
            merkle::verify_inclusion(&leaves[index as usize], other, size, &proof, &root).is_err(),
            "inclusion proof for leaf {index} accepted at index {other} (size {size})"
        );
    }
    let old = r.u8() as u64 % (size + 1);
    let cp = log.consistency_proof(old, size).expect("old <= new <= len");
    let old_root = log.root_at(old).expect("old <= len");
    merkle::verify_consistency(old, size, &old_root, &root, &cp).expect("genuine consistency proof");
    if !cp.is_empty() {
        let mut bad = cp.clone();
        bad[flip / 32 % cp.len()][flip % 32] ^= 1 << (r.u8() % 8);
        assert!(merkle::verify_consistency(old, size, &old_root, &root, &bad).is_err(), "tampered consistency proof accepted");
    }
    // Arbitrary triples: never panic.
    let (ai, asz, aold) = (r.u64(), r.u64(), r.u64());
    let _ = merkle::verify_inclusion(&leaves[0], ai, asz, &proof, &root);
    let _ = merkle::verify_consistency(aold, asz, &old_root, &root, &cp);
    let _ = log.inclusion_proof(ai, asz);
    let _ = log.consistency_proof(aold, asz);
    let _ = log.root_at(asz);

    // --- Live set ---
    let spread = r.u8();
    let mut set = LiveSet::new();
    let mut model = BTreeSet::new();
    let ops = (r.u8() % 16) as usize;
    for _ in 0..ops {
        let op = r.u8();
        let key = key_of(r.u8(), spread.wrapping_add(op & 1));
        if op & 0x80 == 0 {
            assert_eq!(set.insert(key), model.insert(key), "insert result");
        } else {
            assert_eq!(set.remove(&key), model.remove(&key), "remove result");
        }
        assert_eq!(set.len(), model.len());
    }
    assert_eq!(set.iter().copied().collect::<BTreeSet<_>>(), model, "iteration disagrees with the model");
    let root = set.root();
    assert_eq!(LiveSet::from_keys(model.iter().copied()).root(), root, "root depends on history");
    for probe in model.iter().copied().take(4).chain([key_of(r.u8(), spread), key_of(r.u8(), spread ^ 1)]) {
        let p = set.prove(&probe);
        let present = model.contains(&probe);
        assert_eq!(set.contains(&probe), present);
        assert_eq!(smt::verify_membership(&root, &probe, &p).is_ok(), present, "membership proof");
        assert_eq!(smt::verify_non_membership(&root, &probe, &p).is_ok(), !present, "non-membership proof");
        // Tampering: flip a sibling bit, or swap the terminal.
        let mut bad = p.clone();
        if !bad.siblings.is_empty() {
            let i = r.u8() as usize % bad.siblings.len();
            bad.siblings[i][r.u8() as usize % 32] ^= 1;
            assert!(smt::verify_membership(&root, &probe, &bad).is_err(), "tampered membership proof accepted");
            assert!(smt::verify_non_membership(&root, &probe, &bad).is_err(), "tampered non-membership proof accepted");
        }
        let swapped = SmtProof {
            siblings: p.siblings.clone(),
            terminal: if present { Terminal::Empty } else { Terminal::Leaf(probe) },
        };
        assert!(smt::verify_membership(&root, &probe, &swapped).is_err(), "forged membership accepted");
        assert!(smt::verify_non_membership(&root, &probe, &swapped).is_err() || !present, "forged non-membership accepted");
    }
});
