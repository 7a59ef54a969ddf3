//! Test vectors for docs/RECEIPTS.md (issue 16, item 5): receipts, signed and published tree
//! heads, consistency proofs, key files and monitor runs, each with its expected verdict.
//!
//! `generate()` builds every vector from the specification's primitives — entries written as
//! compact JSON, RFC 6962 trees, the sparse Merkle tree, and Ed25519 signatures over the
//! signed messages laid out here byte by byte (not by fidex's signer) — and sets each
//! verdict by construction: a valid vector follows every rule, an invalid one breaks exactly
//! the rule its `why` names (heads are re-signed after an edit, so the signature is not what
//! fails). Then:
//! - `committed_vectors_are_what_the_generator_writes`: the files in tests/vectors/receipts
//!   are exactly these (`FIDEX_BLESS=1` rewrites them);
//! - `the_reference_verifier_agrees_with_every_expected_verdict`: fidex's verifier, monitor
//!   and key parser give every expected verdict;
//! - `the_independent_python_verifier_agrees`: `verify.py` (written from docs/RECEIPTS.md,
//!   Python standard library only) gives them too, when `python3` is installed.
#![allow(clippy::type_complexity)] // test scaffolding

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use fidex::key::to_hex;
use fidex::log::audit::{DeletionReason, Event, LogEntry};
use fidex::log::merkle::{leaf_hash, node_hash, Hash, MerkleLog};
use fidex::log::smt::{self, LiveSet, SmtProof, Terminal};
use fidex::receipt::{self, DeletionReceipt, EnrollmentReceipt, HeadRef, LiveSetProof, PublishedHead, SignedTreeHead, WithdrawalProof};
use fidex::{FacialId, VerificationKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha512};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const T: i64 = 1_750_000_000;
const VID: [u8; 16] = *b"fidex-test-vault";
const OTHER_VID: [u8; 16] = *b"another-vault-id";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/receipts")
}

fn sha256(b: &[u8]) -> Hash {
    Sha256::digest(b).into()
}

fn fid(s: &str) -> FacialId {
    s.parse().unwrap()
}

fn f1() -> FacialId {
    fid("11111111-1111-4111-8111-111111111110")
}
fn f2() -> FacialId {
    fid("22222222-2222-4222-8222-222222222222")
}
fn f3() -> FacialId {
    fid("3333abcd-3333-4333-8333-333333333333")
}
/// Differs from F1 in the last bit only: their live-set proofs have depth 128.
fn f4() -> FacialId {
    fid("11111111-1111-4111-8111-111111111111")
}
fn f5() -> FacialId {
    fid("55555555-5555-4555-8555-555555555555")
}

/// A consent receipt id that needs every escape, and non-ASCII text.
const ESCAPED_ID: &str = "cr-\u{e9}\u{ff} \"quoted\" back\\slash /slash \t\n\u{1}\u{1f}\u{7f} \u{2013} \u{1f600} \u{2028}";

// ---------------------------------------------------------------------------- keys and heads

struct Key {
    sk: SigningKey,
}

impl Key {
    fn new(seed: u8) -> Key {
        Key { sk: SigningKey::from_bytes(&[seed; 32]) }
    }
    fn pk(&self) -> [u8; 32] {
        self.sk.verifying_key().to_bytes()
    }
    fn key_id(&self) -> [u8; 8] {
        sha256(&self.pk())[..8].try_into().unwrap()
    }
    fn vk(&self, vid: [u8; 16]) -> String {
        format!("fidex-vk-1:{}:{}", to_hex(&vid), to_hex(&self.pk()))
    }
    /// The secret scalar a of RFC 8032 §5.1.5 (clamped first half of SHA-512(seed)).
    fn scalar(&self) -> Scalar {
        let h = Sha512::digest(self.sk.to_bytes());
        let mut a: [u8; 32] = h[..32].try_into().unwrap();
        a[0] &= 248;
        a[31] &= 127;
        a[31] |= 64;
        Scalar::from_bytes_mod_order(a)
    }
}

/// The version-2 signed message, laid out as docs/RECEIPTS.md says.
fn msg_v2(vid: &[u8; 16], key_id: &[u8; 8], size: u64, root: &Hash, live: &Hash, ts: i64) -> Vec<u8> {
    [b"fidex/v2/tree-head\0".as_slice(), vid, key_id, &size.to_le_bytes(), root, live, &ts.to_le_bytes()].concat()
}

fn msg_v1(vid: &[u8; 16], size: u64, root: &Hash, live: &Hash, count: u64, ts: i64) -> Vec<u8> {
    [b"fidex/v1/tree-head\0".as_slice(), vid, &size.to_le_bytes(), root, live, &count.to_le_bytes(), &ts.to_le_bytes()].concat()
}

fn head_v2(k: &Key, vid: [u8; 16], size: u64, root: Hash, live: Hash, ts: i64) -> SignedTreeHead {
    let sig = k.sk.sign(&msg_v2(&vid, &k.key_id(), size, &root, &live, ts));
    SignedTreeHead {
        version: Some(2),
        vault_id: to_hex(&vid),
        key_id: Some(to_hex(&k.key_id())),
        log_size: size,
        log_root: to_hex(&root),
        live_root: to_hex(&live),
        live_count: None,
        timestamp: ts,
        signature: to_hex(&sig.to_bytes()),
    }
}

fn head_v1(k: &Key, vid: [u8; 16], size: u64, root: Hash, live: Hash, count: u64, ts: i64) -> SignedTreeHead {
    let sig = k.sk.sign(&msg_v1(&vid, size, &root, &live, count, ts));
    SignedTreeHead {
        version: None,
        vault_id: to_hex(&vid),
        key_id: None,
        log_size: size,
        log_root: to_hex(&root),
        live_root: to_hex(&live),
        live_count: Some(count),
        timestamp: ts,
        signature: to_hex(&sig.to_bytes()),
    }
}

fn unhex32(s: &str) -> Hash {
    fidex::key::from_hex(s).unwrap().try_into().unwrap()
}

/// Re-signs a version-2 head after an edit of its fields (so only the edit is wrong).
fn resign(k: &Key, h: &SignedTreeHead) -> SignedTreeHead {
    let vid: [u8; 16] = fidex::key::from_hex(&h.vault_id).unwrap().try_into().unwrap();
    let kid: [u8; 8] = fidex::key::from_hex(h.key_id.as_deref().unwrap()).unwrap().try_into().unwrap();
    let sig = k.sk.sign(&msg_v2(&vid, &kid, h.log_size, &unhex32(&h.log_root), &unhex32(&h.live_root), h.timestamp));
    SignedTreeHead { signature: to_hex(&sig.to_bytes()), ..h.clone() }
}

// ---------------------------------------------------------------------------- logs

#[derive(Clone)]
struct Log {
    vid: [u8; 16],
    entries: Vec<String>,
}

impl Log {
    fn new(vid: [u8; 16]) -> Log {
        Log { vid, entries: Vec::new() }
    }
    fn push(&mut self, time: i64, event: Event) -> u64 {
        let index = self.entries.len() as u64;
        let e = LogEntry { index, time, vault_id: to_hex(&self.vid), event };
        self.entries.push(String::from_utf8(e.to_bytes()).unwrap());
        index
    }
    /// An entry written as given (for entries that are deliberately not canonical).
    fn push_raw(&mut self, text: String) -> u64 {
        self.entries.push(text);
        self.entries.len() as u64 - 1
    }
    fn tree(&self) -> MerkleLog {
        MerkleLog::from_leaves(self.entries.iter().map(|e| leaf_hash(e.as_bytes())).collect())
    }
    fn root(&self, size: u64) -> Hash {
        self.tree().root_at(size).unwrap()
    }
    fn proof(&self, index: u64, size: u64) -> Vec<String> {
        self.tree().inclusion_proof(index, size).unwrap().iter().map(|h| to_hex(h)).collect()
    }
    fn time(&self, index: u64) -> i64 {
        LogEntry::from_bytes(self.entries[index as usize].as_bytes()).map(|e| e.time).unwrap_or(0)
    }
}

fn live(ids: &[FacialId]) -> LiveSet {
    LiveSet::from_keys(ids.iter().map(|i| *i.as_bytes()))
}

fn proof_json(p: &SmtProof) -> LiveSetProof {
    LiveSetProof {
        siblings: p.siblings.iter().map(|h| to_hex(h)).collect(),
        terminal_leaf: match &p.terminal {
            Terminal::Empty => None,
            Terminal::Leaf(k) => Some(to_hex(k)),
        },
    }
}

/// The SMT fold of docs/RECEIPTS.md (to give a hand-made proof a root a head then signs).
fn smt_fold(key: &[u8; 16], siblings: &[Hash], terminal: Option<[u8; 16]>) -> Hash {
    let mut h = match terminal {
        None => [0u8; 32],
        Some(k) => smt::leaf_hash(&k),
    };
    for i in (0..siblings.len()).rev() {
        // (Beyond bit 127 there is no bit: such a proof is refused before folding anyway.)
        let bit = if i < 128 { (key[i / 8] >> (7 - i % 8)) & 1 } else { 0 };
        h = if bit == 0 { smt::internal_hash(&h, &siblings[i]) } else { smt::internal_hash(&siblings[i], &h) };
    }
    h
}

fn consent_event(id: FacialId, cid: &str, purposes: &[&str]) -> Event {
    Event::ConsentRecorded {
        facial_id: id,
        consent_receipt_id: cid.into(),
        consent_sha256: to_hex(&sha256(format!("consent of {id}").as_bytes())),
        purposes: purposes.iter().map(|s| s.to_string()).collect(),
    }
}

fn deletion(log: &Log, index: u64, head: SignedTreeHead, set: &LiveSet) -> DeletionReceipt {
    let e = LogEntry::from_bytes(log.entries[index as usize].as_bytes()).unwrap();
    let Event::Deleted { facial_id, reason } = e.event else { panic!("entry {index} is a deletion") };
    DeletionReceipt {
        kind: "fidex-deletion-receipt".into(),
        version: if head.version == Some(2) { 2 } else { 1 },
        vault_id: head.vault_id.clone(),
        facial_id,
        deleted_at: e.time,
        reason,
        log_entry: log.entries[index as usize].clone(),
        log_index: index,
        inclusion_proof: log.proof(index, head.log_size),
        withdrawal: None,
        non_membership_proof: proof_json(&set.prove(facial_id.as_bytes())),
        tree_head: head,
        erasure_pending: Vec::new(),
    }
}

fn withdrawal(log: &Log, index: u64, size: u64) -> WithdrawalProof {
    WithdrawalProof { withdrawn_at: log.time(index), log_entry: log.entries[index as usize].clone(), log_index: index, inclusion_proof: log.proof(index, size) }
}

fn enrollment(log: &Log, id: FacialId, consent: u64, enrolled: u64, head: SignedTreeHead, set: &LiveSet) -> EnrollmentReceipt {
    let c = LogEntry::from_bytes(log.entries[consent as usize].as_bytes()).unwrap();
    let Event::ConsentRecorded { consent_receipt_id, consent_sha256, .. } = c.event else { panic!("a consent entry") };
    EnrollmentReceipt {
        kind: "fidex-enrollment-receipt".into(),
        version: if head.version == Some(2) { 2 } else { 1 },
        vault_id: head.vault_id.clone(),
        facial_id: id,
        enrolled_at: log.time(enrolled),
        consent_receipt_id,
        consent_sha256,
        consent_entry: log.entries[consent as usize].clone(),
        consent_index: consent,
        consent_inclusion_proof: log.proof(consent, head.log_size),
        enrollment_entry: log.entries[enrolled as usize].clone(),
        enrollment_index: enrolled,
        enrollment_inclusion_proof: log.proof(enrolled, head.log_size),
        membership_proof: proof_json(&set.prove(id.as_bytes())),
        tree_head: head,
    }
}

fn published(k: &Key, log: &Log, prev: Option<(u64, Hash)>, size: u64, live_root: Hash, ts: i64) -> PublishedHead {
    let tree = log.tree();
    let head = head_v2(k, VID, size, tree.root_at(size).unwrap(), live_root, ts);
    let hex = |v: &[Hash]| v.iter().map(|h| to_hex(h)).collect::<Vec<_>>();
    match prev {
        None => PublishedHead {
            kind: "fidex-published-head".into(),
            version: 2,
            tree_head: head,
            previous: None,
            consistency_proof: vec![],
            previous_frontier: vec![],
            leaf_hashes: vec![],
        },
        Some((a, root_a)) => PublishedHead {
            kind: "fidex-published-head".into(),
            version: 2,
            tree_head: head,
            previous: Some(HeadRef { log_size: a, log_root: to_hex(&root_a) }),
            consistency_proof: hex(&tree.consistency_proof(a, size).unwrap()),
            previous_frontier: hex(&tree.frontier(a).unwrap()),
            leaf_hashes: hex(&tree.leaves()[a as usize..size as usize]),
        },
    }
}

// ---------------------------------------------------------------------------- the vectors

struct Vectors {
    files: BTreeMap<String, String>,
    cases: Vec<Value>,
}

impl Vectors {
    fn file(&mut self, path: &str, text: String) -> String {
        let text = if text.ends_with('\n') || text.is_empty() { text } else { format!("{text}\n") };
        assert!(self.files.insert(path.to_string(), text).is_none(), "{path} written twice");
        path.to_string()
    }
    /// A receipt file and its case.
    fn receipt(&mut self, name: &str, keys: &str, text: String, valid: bool, why: &str) {
        let dirn = if valid { "valid" } else { "invalid" };
        let path = self.file(&format!("receipts/{dirn}/{name}.json"), text);
        let mut c = json!({"name": name, "kind": "receipt", "keys": keys, "file": path, "valid": valid});
        if !why.is_empty() {
            c["why"] = why.into();
        }
        self.cases.push(c);
    }
    fn receipt_raw(&mut self, name: &str, keys: &str, text: String, why: &str) {
        // Text-level edits keep their exact bytes (no trailing line feed added).
        let path = format!("receipts/invalid/{name}.json");
        assert!(self.files.insert(path.clone(), text).is_none());
        self.cases.push(json!({"name": name, "kind": "receipt", "keys": keys, "file": path, "valid": false, "why": why}));
    }
}

fn j<T: serde::Serialize>(v: &T) -> String {
    receipt::to_json(v)
}

/// The order L of the Ed25519 base point, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    out
}

fn generate() -> Vectors {
    let mut v = Vectors { files: BTreeMap::new(), cases: Vec::new() };
    let (a, b, other) = (Key::new(1), Key::new(2), Key::new(3));
    assert_eq!(Scalar::from_bytes_mod_order(L), Scalar::ZERO, "L is the group order");

    // ----- key files
    let ka = v.file("keys/a.txt", a.vk(VID));
    let kb = v.file("keys/b.txt", format!("# the key after the rotation\n{}\n", b.vk(VID)));
    let kab = v.file(
        "keys/ab.txt",
        format!("# fidex test vault: every verification key it used\r\n\r\n  {}\t\r\n# rotated at {}:\n{}\n", a.vk(VID), T + 300, b.vk(VID)),
    );
    let ko = v.file("keys/other-vault.txt", other.vk(OTHER_VID));
    for (name, path) in [("key file: one key", &ka), ("key file: one key and a comment", &kb), ("key file: comments, CRLF, blank lines, spaces and tabs", &kab), ("key file: another vault", &ko)] {
        v.cases.push(json!({"name": name, "kind": "key_file", "file": path, "valid": true}));
    }
    let identity = {
        let mut x = [0u8; 32];
        x[0] = 1;
        x
    };
    // A non-canonical encoding (y = p + c) of a point that is not of small order.
    let noncanonical = (2u8..19)
        .find_map(|c| {
            let mut y = [0xffu8; 32];
            y[0] = 0xed + c;
            y[31] = 0x7f;
            let p = CompressedEdwardsY(y).decompress()?;
            (!p.is_small_order() && p.compress().to_bytes() != y).then_some(y)
        })
        .expect("some y = p + c is on the curve");
    // y = p - 1: the point (0, -1) of order 2, canonically encoded.
    let order_two = {
        let mut y = [0xffu8; 32];
        y[0] = 0xec;
        y[31] = 0x7f;
        let p = CompressedEdwardsY(y).decompress().unwrap();
        assert!(p.is_small_order() && p != EdwardsPoint::default() && p.compress().to_bytes() == y);
        y
    };
    let not_on_curve = (0u8..=255)
        .find_map(|c| {
            let mut y = a.pk();
            y[0] = c;
            CompressedEdwardsY(y).decompress().is_none().then_some(y)
        })
        .unwrap();
    let bad_keys: Vec<(&str, String, &str)> = vec![
        ("key-empty", "# nothing but a comment\n\n".into(), "a key file holds at least one key"),
        ("key-upper-case", a.vk(VID).to_uppercase().replace("FIDEX-VK-1", "fidex-vk-1"), "hex is lower-case only"),
        ("key-identity", format!("fidex-vk-1:{}:{}", to_hex(&VID), to_hex(&identity)), "the identity point is of small order"),
        ("key-small-order", format!("fidex-vk-1:{}:{}", to_hex(&VID), to_hex(&order_two)), "(0, -1), a point of order 2"),
        ("key-non-canonical", format!("fidex-vk-1:{}:{}", to_hex(&VID), to_hex(&noncanonical)), "y = p + c: a non-canonical encoding of a valid point"),
        ("key-not-on-curve", format!("fidex-vk-1:{}:{}", to_hex(&VID), to_hex(&not_on_curve)), "does not decode to a curve point"),
        ("key-wrong-prefix", a.vk(VID).replace("fidex-vk-1:", "fidex-vk-2:"), "the prefix is fidex-vk-1:"),
        ("key-short", a.vk(VID)[..a.vk(VID).len() - 2].to_string(), "the public key is 64 hex digits"),
        ("key-trailing-text", format!("{} # a comment after the key", a.vk(VID)), "comments are whole lines"),
    ];
    let mut key_files = BTreeMap::new();
    for (name, text, why) in bad_keys {
        let p = v.file(&format!("keys/invalid/{name}.txt"), text);
        v.cases.push(json!({"name": name, "kind": "key_file", "file": p.clone(), "valid": false, "why": why}));
        key_files.insert(name, p);
    }

    // ----- the vault's log
    let mut log = Log::new(VID);
    log.push(T, Event::VaultCreated { dimension: 512, metric: "cosine".into() });
    log.push(T + 10, consent_event(f1(), ESCAPED_ID, &["identification", "Zugang \u{2013} Geb\u{e4}ude \u{1f3e2}"]));
    log.push(T + 10, Event::Enrolled { facial_id: f1() });
    log.push(T + 20, consent_event(f2(), "cr-2", &["identification"]));
    log.push(T + 20, Event::Enrolled { facial_id: f2() });
    log.push(T + 30, consent_event(f3(), "cr-3", &["authentication"]));
    log.push(T + 30, Event::Enrolled { facial_id: f3() });
    let fork_base = log.clone();
    log.push(T + 100, Event::ConsentWithdrawn { facial_id: f2() });
    log.push(T + 100, Event::Deleted { facial_id: f2(), reason: DeletionReason::ConsentWithdrawn });
    log.push(T + 200, Event::Deleted { facial_id: f3(), reason: DeletionReason::SubjectRequest });
    log.push(T + 300, Event::KeyRotated { new_verification_key: to_hex(&b.pk()), old_verification_key: to_hex(&a.pk()) });
    log.push(T + 400, consent_event(f4(), "cr-4", &["identification"]));
    log.push(T + 400, Event::Enrolled { facial_id: f4() });
    log.push(T + 500, Event::Deleted { facial_id: f1(), reason: DeletionReason::RetentionExpired });
    let set7 = live(&[f1(), f2(), f3()]);
    let set9 = live(&[f1(), f3()]);
    let set10 = live(&[f1()]);
    let set13 = live(&[f1(), f4()]);
    let set14 = live(&[f4()]);

    // ----- valid version-2 receipts
    let enr_f1 = enrollment(&log, f1(), 1, 2, head_v2(&a, VID, 7, log.root(7), set7.root(), T + 40), &set7);
    let mut wd_f2 = deletion(&log, 8, head_v2(&a, VID, 9, log.root(9), set9.root(), T + 101), &set9);
    wd_f2.withdrawal = Some(withdrawal(&log, 7, 9));
    let mut del_f3 = deletion(&log, 9, head_v2(&a, VID, 10, log.root(10), set10.root(), T + 201), &set10);
    del_f3.erasure_pending = vec!["seg-00000000000000a1-0000000000000007.fxs".into()];
    let enr_f4 = enrollment(&log, f4(), 11, 12, head_v2(&b, VID, 13, log.root(13), set13.root(), T + 401), &set13);
    assert_eq!(enr_f4.membership_proof.siblings.len(), 128, "a depth-128 proof");
    let ret_f1 = deletion(&log, 13, head_v2(&b, VID, 14, log.root(14), set14.root(), T + 501), &set14);
    let mut wd_plain = wd_f2.clone();
    wd_plain.withdrawal = None;
    for (name, keys, r) in [
        ("enrollment-escapes-and-non-ascii", &ka, j(&enr_f1)),
        ("withdrawal", &ka, j(&wd_f2)),
        ("withdrawal-without-its-withdrawal-part", &ka, j(&wd_plain)),
        ("deletion-with-erasure-pending", &ka, j(&del_f3)),
        ("enrollment-depth-128-after-rotation", &kab, j(&enr_f4)),
        ("retention-after-rotation", &kb, j(&ret_f1)),
    ] {
        v.receipt(name, keys, r, true, "");
    }
    // Integer extremes: a log of 2^64 - 1 entries (proof hashes made up, the root folded
    // from them per RFC 9162), an entry at time -2^63, a head at 2^63 - 1.
    {
        let (index, size) = (u64::MAX - 1, u64::MAX);
        let e = LogEntry { index, time: i64::MIN, vault_id: to_hex(&VID), event: Event::Deleted { facial_id: f5(), reason: DeletionReason::Admin } };
        let text = String::from_utf8(e.to_bytes()).unwrap();
        let (mut fnn, mut sn, mut r) = (index, size - 1, leaf_hash(text.as_bytes()));
        let mut proof = Vec::new();
        while sn != 0 {
            let p = sha256(format!("extreme {}", proof.len()).as_bytes());
            proof.push(p);
            if fnn & 1 == 1 || fnn == sn {
                r = node_hash(&p, &r);
                if fnn & 1 == 0 {
                    while fnn & 1 == 0 && fnn != 0 {
                        fnn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = node_hash(&r, &p);
            }
            fnn >>= 1;
            sn >>= 1;
        }
        let head = head_v2(&a, VID, size, r, [0; 32], i64::MAX);
        let rc = DeletionReceipt {
            kind: "fidex-deletion-receipt".into(),
            version: 2,
            vault_id: to_hex(&VID),
            facial_id: f5(),
            deleted_at: i64::MIN,
            reason: DeletionReason::Admin,
            log_entry: text,
            log_index: index,
            inclusion_proof: proof.iter().map(|h| to_hex(h)).collect(),
            withdrawal: None,
            tree_head: head,
            non_membership_proof: LiveSetProof { siblings: vec![], terminal_leaf: None },
            erasure_pending: vec![],
        };
        v.receipt("integer-extremes", &ka, j(&rc), true, "");
    }

    // ----- version 1 (as issued before issue 16) and its unbound live_count
    for name in ["enrollment", "deletion", "withdrawal"] {
        v.cases.push(json!({"name": format!("version 1 {name}, issued by fidex before issue 16"), "kind": "receipt", "keys": "v1/key.txt", "file": format!("v1/{name}.json"), "valid": true}));
    }
    let enr_v1 = enrollment(&log, f1(), 1, 2, head_v1(&a, VID, 7, log.root(7), set7.root(), 0, T + 40), &set7);
    v.receipt("v1-enrollment-live-count-0-with-a-member", &ka, j(&enr_v1), true, "");
    let del_v1 = deletion(&log, 9, head_v1(&a, VID, 10, log.root(10), set10.root(), 5, T + 201), &set10);
    v.receipt("v1-deletion-live-count-unbound", &ka, j(&del_v1), true, "");

    // ----- text-level edits (canonical form)
    let del_text = j(&del_f3);
    let enr_text = j(&enr_f1);
    let wd_text = j(&wd_f2);
    let swap_lines = |t: &str, x: &str, y: &str| {
        let lines: Vec<&str> = t.lines().collect();
        let (i, k) = (lines.iter().position(|l| l.starts_with(x)).unwrap(), lines.iter().position(|l| l.starts_with(y)).unwrap());
        let mut l2: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        l2.swap(i, k);
        l2.join("\n")
    };
    let upper_root = {
        let i = del_text.find("\"log_root\": \"").unwrap() + 13;
        let k = i + del_text[i..].find(|c: char| c.is_ascii_lowercase()).unwrap();
        let mut s = del_text.clone();
        s.replace_range(k..k + 1, &del_text[k..k + 1].to_uppercase());
        s
    };
    let text_edits: Vec<(&str, String, &str)> = vec![
        ("c-indent", del_text.replacen("\n  \"version\"", "\n   \"version\"", 1), "three spaces of indentation"),
        ("c-two-line-feeds", format!("{del_text}\n\n"), "at most one line feed after the text"),
        ("c-crlf", del_text.replace('\n', "\r\n"), "lines end in LF only"),
        ("c-bom", format!("\u{feff}{del_text}"), "no byte-order mark"),
        ("c-space-before-colon", del_text.replacen("\"version\": 2", "\"version\" : 2", 1), "exactly \": \" between key and value"),
        ("c-upper-case-hex", upper_root, "hex is lower-case"),
        ("c-member-order", swap_lines(&del_text, "  \"vault_id\"", "  \"facial_id\""), "members in the specified order"),
        ("c-escaped-non-ascii", enr_text.replacen('\u{e9}', "\\u00e9", 1), "non-ASCII characters are not escaped"),
        ("c-escaped-slash", enr_text.replacen(" /slash", " \\/slash", 1), "/ is not escaped"),
        ("c-escaped-del", enr_text.replacen('\u{7f}', "\\u007f", 1), "U+007F is not escaped"),
        ("c-upper-case-unicode-escape", enr_text.replacen("\\u001f", "\\u001F", 1), "\\u escapes use lower-case hex"),
        ("c-long-escape-for-tab", enr_text.replacen("\\t", "\\u0009", 1), "tab is written \\t"),
        ("c-escaped-quote-as-unicode", wd_text.replacen("\\\"", "\\u0022", 1), "\" is written \\\""),
        ("c-empty-erasure-pending-deletion", j(&wd_plain).replacen("\n}", ",\n  \"erasure_pending\": []\n}", 1), "an empty erasure_pending is left out"),
        ("c-null-withdrawal", j(&wd_plain).replacen("\n  \"tree_head\"", "\n  \"withdrawal\": null,\n  \"tree_head\"", 1), "an absent optional member is left out, not null"),
        ("c-unknown-member", del_text.replacen("\n}", ",\n  \"note\": \"hello\"\n}", 1), "no other members"),
        ("c-duplicate-member", del_text.replacen("\n  \"reason\"", "\n  \"version\": 2,\n  \"reason\"", 1), "each member once"),
        ("c-float", del_text.replacen(&format!("\"deleted_at\": {}", T + 200), &format!("\"deleted_at\": {}.0", T + 200), 1), "integers only"),
        ("c-exponent", del_text.replacen("\"version\": 2", "\"version\": 2e0", 1), "no exponent"),
        ("c-leading-zero", del_text.replacen("\"log_index\": 9", "\"log_index\": 09", 1), "no leading zero"),
        ("c-negative-zero", del_text.replacen("\"log_index\": 9", "\"log_index\": -0", 1), "-0 is not canonical (nor a u64)"),
        ("c-hyphenless-facial-id", del_text.replacen(&f3().to_string(), &f3().to_string().replace('-', ""), 1), "Facial IDs are 8-4-4-4-12 with hyphens"),
        ("c-upper-case-facial-id", del_text.replacen(&f3().to_string(), &f3().to_string().to_uppercase(), 1), "Facial IDs are lower-case"),
    ];
    for (name, text, why) in text_edits {
        v.receipt_raw(name, &ka, text, why);
    }

    // ----- signatures and keys
    let sig_edit = |r: &DeletionReceipt, f: &dyn Fn(&mut [u8; 64])| {
        let mut c = r.clone();
        let mut s: [u8; 64] = fidex::key::from_hex(&c.tree_head.signature).unwrap().try_into().unwrap();
        f(&mut s);
        c.tree_head.signature = to_hex(&s);
        j(&c)
    };
    v.receipt("sig-bit-flipped", &ka, sig_edit(&del_f3, &|s| s[10] ^= 1), false, "the signature does not verify");
    v.receipt(
        "sig-s-plus-l",
        &ka,
        sig_edit(&del_f3, &|s| {
            let s2 = add_le(&s[32..].try_into().unwrap(), &L);
            s[32..].copy_from_slice(&s2);
        }),
        false,
        "S must be below L (S + L is the same scalar: accepted by lenient verifiers)",
    );
    {
        // R = the identity (small order), S = k·a: [S]B - [k]A = identity = R, so the
        // cofactorless equation holds; rejected because R is of small order.
        let h = &del_f3.tree_head;
        let msg = msg_v2(&VID, &a.key_id(), h.log_size, &unhex32(&h.log_root), &unhex32(&h.live_root), h.timestamp);
        let r_bytes = identity;
        let k = Scalar::from_hash(Sha512::new().chain_update(r_bytes).chain_update(a.pk()).chain_update(&msg));
        let s = k * a.scalar();
        let check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-CompressedEdwardsY(a.pk()).decompress().unwrap(), &s);
        assert_eq!(check.compress().to_bytes(), r_bytes, "the equation holds");
        let text = sig_edit(&del_f3, &|sig| {
            sig[..32].copy_from_slice(&r_bytes);
            sig[32..].copy_from_slice(s.as_bytes());
        });
        v.receipt("sig-small-order-r", &ka, text, false, "R is of small order (the equation holds: OpenSSL-based verifiers accept it)");
    }
    {
        // A receipt "signed" by the identity key: R = [r]B, S = r satisfies the equation for
        // every message. The key is refused.
        let mut c = del_f3.clone();
        let r = Scalar::from_bytes_mod_order(sha256(b"any r"));
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&EdwardsPoint::mul_base(&r).compress().to_bytes());
        s[32..].copy_from_slice(r.as_bytes());
        c.tree_head.key_id = Some(to_hex(&sha256(&identity)[..8]));
        c.tree_head.signature = to_hex(&s);
        v.receipt("sig-by-the-identity-key", &key_files["key-identity"], j(&c), false, "the key is of small order (and its key file is refused)");
    }
    {
        let mut c = del_f3.clone();
        c.tree_head.key_id = Some(to_hex(&b.key_id()));
        v.receipt("key-id-of-another-key", &kab, j(&c), false, "key_id names key B; A signed (key_id is signed)");
        let mut c = del_f3.clone();
        let h = &c.tree_head;
        let sig = b.sk.sign(&msg_v2(&VID, &a.key_id(), h.log_size, &unhex32(&h.log_root), &unhex32(&h.live_root), h.timestamp));
        c.tree_head.signature = to_hex(&sig.to_bytes());
        v.receipt("signed-by-another-key", &kab, j(&c), false, "key_id names key A; B signed");
        v.receipt("verified-with-only-the-old-key", &ka, j(&ret_f1), false, "signed by B, which the key file does not list");
        v.receipt("another-vaults-key", &ko, j(&del_f3), false, "the key is another vault's");
    }

    // ----- versions and head members
    let mut c = del_f3.clone();
    c.version = 3;
    v.receipt("version-3", &ka, j(&c), false, "versions 1 and 2 only");
    let mut c = del_f3.clone();
    c.tree_head = head_v1(&a, VID, 10, log.root(10), set10.root(), 1, T + 201);
    v.receipt("v2-receipt-with-v1-head", &ka, j(&c), false, "a version-2 receipt carries a version-2 head");
    let mut c = del_v1.clone();
    c.tree_head = del_f3.tree_head.clone();
    v.receipt("v1-receipt-with-v2-head", &ka, j(&c), false, "a version-1 receipt carries a version-1 head");
    let mut c = del_f3.clone();
    c.tree_head.live_count = Some(1);
    v.receipt("v2-head-with-live-count", &ka, j(&c), false, "version-2 heads have no live_count");
    let mut c = del_v1.clone();
    c.tree_head.key_id = Some(to_hex(&a.key_id()));
    v.receipt("v1-head-with-key-id", &ka, j(&c), false, "version-1 heads have no key_id");
    let mut c = del_f3.clone();
    c.vault_id = to_hex(&OTHER_VID);
    v.receipt("receipt-vault-id-differs", &ka, j(&c), false, "vault_id differs from the key's and the head's");

    // ----- entries and proofs (heads re-signed where an edit touches them)
    let edits: Vec<(&str, DeletionReceipt, &str)> = vec![
        ("index-mismatch", DeletionReceipt { log_index: 8, ..del_f3.clone() }, "the entry's index is 9"),
        ("deleted-at-mismatch", DeletionReceipt { deleted_at: T + 199, ..del_f3.clone() }, "deleted_at differs from the entry's time"),
        ("reason-mismatch", DeletionReceipt { reason: DeletionReason::Admin, ..del_f3.clone() }, "the entry's reason is subject_request"),
        ("facial-id-mismatch", DeletionReceipt { facial_id: f2(), ..del_f3.clone() }, "the entry deletes F3"),
        (
            "head-before-deletion",
            DeletionReceipt { tree_head: resign(&a, &SignedTreeHead { timestamp: T + 199, ..del_f3.tree_head.clone() }), ..del_f3.clone() },
            "the head's timestamp is before deleted_at",
        ),
        ("proof-extra-hash", { let mut c = del_f3.clone(); c.inclusion_proof.push(c.inclusion_proof[0].clone()); c }, "one hash too many"),
        ("proof-missing-hash", { let mut c = del_f3.clone(); c.inclusion_proof.pop(); c }, "one hash too few"),
        ("proof-wrong-hash", { let mut c = del_f3.clone(); c.inclusion_proof[0] = to_hex(&sha256(b"x")); c }, "the proof does not give log_root"),
        (
            "proof-under-another-size",
            DeletionReceipt { tree_head: resign(&a, &SignedTreeHead { log_size: 11, log_root: to_hex(&log.root(11)), ..del_f3.tree_head.clone() }), ..del_f3.clone() },
            "a proof for size 10 checked in a head of size 11",
        ),
        (
            "index-not-below-size",
            DeletionReceipt { tree_head: resign(&a, &SignedTreeHead { log_size: 9, log_root: to_hex(&log.root(9)), ..del_f3.tree_head.clone() }), inclusion_proof: vec![], ..del_f3.clone() },
            "log_index 9 in a log of 9 entries",
        ),
        (
            "present-id",
            DeletionReceipt {
                non_membership_proof: proof_json(&live(&[f1(), f3()]).prove(f3().as_bytes())),
                tree_head: resign(&a, &SignedTreeHead { live_root: to_hex(&live(&[f1(), f3()]).root()), ..del_f3.tree_head.clone() }),
                ..del_f3.clone()
            },
            "the live set still holds F3 (a membership proof)",
        ),
    ];
    for (name, r, why) in edits {
        v.receipt(name, &ka, j(&r), false, why);
    }
    // Live-set proofs that fold to the signed root but break a canonical-tree rule.
    let key3 = *f3().as_bytes();
    let smt_case = |v: &mut Vectors, name: &str, siblings: Vec<Hash>, terminal: Option<[u8; 16]>, why: &str| {
        let root = smt_fold(&key3, &siblings, terminal);
        let mut c = del_f3.clone();
        c.tree_head = resign(&a, &SignedTreeHead { live_root: to_hex(&root), ..c.tree_head.clone() });
        c.non_membership_proof = LiveSetProof { siblings: siblings.iter().map(|h| to_hex(h)).collect(), terminal_leaf: terminal.map(|t| to_hex(&t)) };
        v.receipt(name, &ka, j(&c), false, why);
    };
    smt_case(&mut v, "smt-last-sibling-empty", vec![sha256(b"s0"), [0; 32]], None, "the last sibling is the empty hash (not collapsed)");
    smt_case(&mut v, "smt-terminal-off-path", (0..4).map(|i| sha256(&[i])).collect(), Some(*f2().as_bytes()), "F2 does not share F3's first 4 bits");
    smt_case(&mut v, "smt-depth-129", (0..129u8).map(|i| sha256(&[i, 1])).collect(), None, "deeper than 128");
    smt_case(&mut v, "smt-empty-terminal-at-128", (0..128u8).map(|i| sha256(&[i, 2])).collect(), None, "an empty terminal at depth 128");
    {
        // A terminal leaf of another ID on F3's path proves F3 absent: valid.
        let mut other = key3;
        other[15] ^= 1;
        let siblings: Vec<Hash> = (0..127u8).map(|i| sha256(&[i, 3])).collect();
        let root = smt_fold(&key3, &siblings, Some(other));
        let mut c = del_f3.clone();
        c.tree_head = resign(&a, &SignedTreeHead { live_root: to_hex(&root), ..c.tree_head.clone() });
        c.non_membership_proof = LiveSetProof { siblings: siblings.iter().map(|h| to_hex(h)).collect(), terminal_leaf: Some(to_hex(&other)) };
        v.receipt("smt-non-membership-by-a-neighbour-leaf", &ka, j(&c), true, "");
    }
    // Entries that are signed into the log but break a rule.
    {
        let mut l = fork_base.clone();
        l.push_raw(format!("{{\"index\": 7,\"time\":{},\"vault_id\":\"{}\",\"event\":\"deleted\",\"facial_id\":\"{}\",\"reason\":\"admin\"}}", T + 50, to_hex(&VID), f3()));
        let set = live(&[f1(), f2()]);
        let h = head_v2(&a, VID, 8, l.root(8), set.root(), T + 60);
        let r = DeletionReceipt {
            kind: "fidex-deletion-receipt".into(),
            version: 2,
            vault_id: to_hex(&VID),
            facial_id: f3(),
            deleted_at: T + 50,
            reason: DeletionReason::Admin,
            log_entry: l.entries[7].clone(),
            log_index: 7,
            inclusion_proof: l.proof(7, 8),
            withdrawal: None,
            non_membership_proof: proof_json(&set.prove(f3().as_bytes())),
            tree_head: h,
            erasure_pending: vec![],
        };
        v.receipt("entry-not-compact", &ka, j(&r), false, "the entry has a space: not its compact form");
        let mut l = fork_base.clone();
        let mut e = Log::new(OTHER_VID);
        e.push(T + 50, Event::Deleted { facial_id: f3(), reason: DeletionReason::Admin });
        l.push_raw(e.entries[0].replacen("\"index\":0", "\"index\":7", 1));
        let h = head_v2(&a, VID, 8, l.root(8), set.root(), T + 60);
        let r2 = DeletionReceipt { log_entry: l.entries[7].clone(), inclusion_proof: l.proof(7, 8), tree_head: h, ..r.clone() };
        v.receipt("entry-of-another-vault", &ka, j(&r2), false, "the entry's vault_id is another vault's");
    }

    // ----- withdrawals
    {
        // The withdrawal logged after the deletion.
        let mut l = fork_base.clone();
        l.push(T + 100, Event::Deleted { facial_id: f2(), reason: DeletionReason::ConsentWithdrawn });
        l.push(T + 100, Event::ConsentWithdrawn { facial_id: f2() });
        let set = live(&[f1(), f3()]);
        let mut r = deletion(&l, 7, head_v2(&a, VID, 9, l.root(9), set.root(), T + 101), &set);
        r.withdrawal = Some(withdrawal(&l, 8, 9));
        v.receipt("withdrawal-after-the-deletion", &ka, j(&r), false, "the withdrawal's index is after the deletion's");
        // The withdrawal timestamped after the deletion (in index order).
        let mut l = fork_base.clone();
        l.push(T + 101, Event::ConsentWithdrawn { facial_id: f2() });
        l.push(T + 100, Event::Deleted { facial_id: f2(), reason: DeletionReason::ConsentWithdrawn });
        let mut r = deletion(&l, 8, head_v2(&a, VID, 9, l.root(9), set.root(), T + 102), &set);
        r.withdrawal = Some(withdrawal(&l, 7, 9));
        v.receipt("withdrawal-timed-after-the-deletion", &ka, j(&r), false, "withdrawn_at is after deleted_at");
        // Another subject's withdrawal.
        let mut l = fork_base.clone();
        l.push(T + 100, Event::ConsentWithdrawn { facial_id: f2() });
        l.push(T + 100, Event::Deleted { facial_id: f3(), reason: DeletionReason::ConsentWithdrawn });
        let set = live(&[f1(), f2()]);
        let mut r = deletion(&l, 8, head_v2(&a, VID, 9, l.root(9), set.root(), T + 101), &set);
        r.withdrawal = Some(withdrawal(&l, 7, 9));
        v.receipt("withdrawal-of-another-subject", &ka, j(&r), false, "the withdrawal entry is F2's, the deletion F3's");
    }
    let mut c = wd_f2.clone();
    c.withdrawal.as_mut().unwrap().withdrawn_at = T + 99;
    v.receipt("withdrawal-time-mismatch", &ka, j(&c), false, "withdrawn_at differs from the entry's time");
    let mut c = wd_f2.clone();
    c.withdrawal.as_mut().unwrap().inclusion_proof.pop();
    v.receipt("withdrawal-proof-short", &ka, j(&c), false, "the withdrawal's inclusion proof lacks a hash");
    let mut c = deletion(&log, 9, head_v2(&a, VID, 10, log.root(10), set10.root(), T + 201), &set10);
    c.withdrawal = Some(withdrawal(&log, 7, 10));
    v.receipt("withdrawal-on-a-subject-request", &ka, j(&c), false, "only reason consent_withdrawn has a withdrawal");
    let mut c = deletion(&log, 8, head_v1(&a, VID, 9, log.root(9), set9.root(), 2, T + 101), &set9);
    c.withdrawal = Some(withdrawal(&log, 7, 9));
    v.receipt("withdrawal-in-version-1", &ka, j(&c), false, "version 1 has no withdrawal part");

    // ----- enrollments
    {
        let mut l = Log::new(VID);
        l.push(T, Event::VaultCreated { dimension: 512, metric: "cosine".into() });
        l.push(T + 11, consent_event(f1(), "cr-late", &["identification"]));
        l.push(T + 10, Event::Enrolled { facial_id: f1() });
        let set = live(&[f1()]);
        let r2 = enrollment(&l, f1(), 1, 2, head_v2(&a, VID, 3, l.root(3), set.root(), T + 20), &set);
        v.receipt("enrollment-consent-timed-after", &ka, j(&r2), false, "the consent entry's time is after enrolled_at");
        let r1 = enrollment(&l, f1(), 1, 2, head_v1(&a, VID, 3, l.root(3), set.root(), 1, T + 20), &set);
        v.receipt("v1-enrollment-consent-timed-after", &ka, j(&r1), true, "");
        let mut l = Log::new(VID);
        l.push(T, Event::VaultCreated { dimension: 512, metric: "cosine".into() });
        l.push(T + 10, Event::Enrolled { facial_id: f1() });
        l.push(T + 10, consent_event(f1(), "cr-after", &["identification"]));
        let r = enrollment(&l, f1(), 2, 1, head_v2(&a, VID, 3, l.root(3), set.root(), T + 20), &set);
        v.receipt("enrollment-consent-after-by-index", &ka, j(&r), false, "consent_index is after enrollment_index");
    }
    let c = EnrollmentReceipt { tree_head: resign(&a, &SignedTreeHead { timestamp: T + 9, ..enr_f1.tree_head.clone() }), ..enr_f1.clone() };
    v.receipt("enrollment-head-before", &ka, j(&c), false, "the head's timestamp is before enrolled_at");
    let c = enrollment(&log, f1(), 1, 2, head_v1(&a, VID, 7, log.root(7), set7.root(), 3, T + 9), &set7);
    v.receipt("v1-enrollment-head-before", &ka, j(&c), true, "");
    let c = EnrollmentReceipt { consent_receipt_id: "cr-other".into(), ..enr_f1.clone() };
    v.receipt("enrollment-consent-id-mismatch", &ka, j(&c), false, "consent_receipt_id differs from the entry's");
    let c = enrollment(&log, f1(), 1, 2, head_v2(&b, VID, 14, log.root(14), set14.root(), T + 501), &set14);
    v.receipt("enrollment-of-a-deleted-id", &kab, j(&c), false, "the live set no longer holds F1 (a non-membership proof)");

    // ----- published heads
    let p1 = published(&a, &log, None, 7, set7.root(), T + 40);
    let p2 = published(&a, &log, Some((7, log.root(7))), 10, set10.root(), T + 250);
    let p3 = published(&b, &log, Some((10, log.root(10))), 14, set14.root(), T + 600);
    let mut fork = fork_base.clone();
    fork.push(T + 150, Event::Deleted { facial_id: f3(), reason: DeletionReason::Admin });
    fork.push(T + 150, Event::Deleted { facial_id: f1(), reason: DeletionReason::Admin });
    fork.push(T + 160, Event::Deleted { facial_id: f2(), reason: DeletionReason::Admin });
    assert_eq!(fork.root(7), log.root(7));
    let pf = published(&a, &fork, Some((7, fork.root(7))), 10, live(&[]).root(), T + 250);
    let fork_receipt = deletion(&fork, 8, head_v2(&a, VID, 9, fork.root(9), live(&[f2()]).root(), T + 151), &live(&[f2()]));
    let mut p3_broken = p3.clone();
    p3_broken.leaf_hashes[1] = to_hex(&sha256(b"another entry"));
    let mut p3_frontier = p3.clone();
    p3_frontier.previous_frontier.push(p3_frontier.previous_frontier[0].clone());
    let mut p2_prev = p2.clone();
    p2_prev.previous.as_mut().unwrap().log_root = to_hex(&fork.root(8));
    let mut p1_leaves = p1.clone();
    p1_leaves.leaf_hashes = vec![to_hex(&leaf_hash(log.entries[0].as_bytes()))];
    let mut p2_v1 = p2.clone();
    p2_v1.tree_head = head_v1(&a, VID, 10, log.root(10), set10.root(), 1, T + 250);
    let heads: Vec<(&str, &PublishedHead, &str, bool, &str)> = vec![
        ("p1", &p1, &ka, true, ""),
        ("p2", &p2, &ka, true, ""),
        ("p3", &p3, &kab, true, ""),
        ("p2-fork", &pf, &ka, true, ""),
        ("p3-broken-leaf", &p3_broken, &kab, false, "a leaf hash changed: the leaves do not give the head's root"),
        ("p3-frontier-too-long", &p3_frontier, &kab, false, "one hash per bit set in the previous size"),
        ("p2-previous-root-changed", &p2_prev, &ka, false, "the consistency proof does not start from that root"),
        ("p1-with-leaves", &p1_leaves, &ka, false, "the first published head has no link"),
        ("p2-version-1-head", &p2_v1, &ka, false, "published heads carry version-2 heads"),
    ];
    let mut head_files = BTreeMap::new();
    for (name, p, keys, valid, why) in heads {
        let path = v.file(&format!("heads/{name}.json"), j(p));
        let mut c = json!({"name": format!("published head {name}"), "kind": "published_head", "keys": keys, "file": path.clone(), "valid": valid});
        if !why.is_empty() {
            c["why"] = why.into();
        }
        v.cases.push(c);
        head_files.insert(name, path);
    }
    v.receipt("forked-deletion", &ka, j(&fork_receipt), true, "");

    // ----- consistency between two signed heads
    let plain = |v: &mut Vectors, name: &str, h: &SignedTreeHead| v.file(&format!("heads/plain/{name}.json"), j(h));
    let h7 = plain(&mut v, "size-7", &p1.tree_head);
    let h10 = plain(&mut v, "size-10", &p2.tree_head);
    let h14 = plain(&mut v, "size-14-key-b", &p3.tree_head);
    let h9v1 = plain(&mut v, "size-9-version-1", &head_v1(&a, VID, 9, log.root(9), set9.root(), 2, T + 101));
    let hf10 = plain(&mut v, "size-10-fork", &pf.tree_head);
    let tree = log.tree();
    let cp = |x: u64, y: u64| tree.consistency_proof(x, y).unwrap().iter().map(|h| to_hex(h)).collect::<Vec<_>>();
    let mut mangled = cp(7, 10);
    mangled[0] = to_hex(&sha256(b"m"));
    let fork_proof: Vec<String> = fork.tree().consistency_proof(7, 10).unwrap().iter().map(|h| to_hex(h)).collect();
    let consistency: Vec<(&str, &str, &str, &str, Vec<String>, bool, &str)> = vec![
        ("7 to 10", &ka, &h7, &h10, cp(7, 10), true, ""),
        ("7 to 14 across the rotation", &kab, &h7, &h14, cp(7, 14), true, ""),
        ("version-1 head (9) to version-2 head (14)", &kab, &h9v1, &h14, cp(9, 14), true, ""),
        ("7 to the fork's 10 (a fork extends the common prefix)", &ka, &h7, &hf10, fork_proof, true, ""),
        ("10 to 10", &ka, &h10, &h10, vec![], true, ""),
        ("10 to the fork's 10", &ka, &h10, &hf10, vec![], false, "two heads of one size with different roots"),
        ("10 to 7", &ka, &h10, &h7, vec![], false, "the newer head is smaller"),
        ("7 to 10, mangled proof", &ka, &h7, &h10, mangled, false, "the proof does not give both roots"),
        ("7 to 10, proof for 7 to 14", &ka, &h7, &h10, cp(7, 14), false, "the proof is for other sizes"),
        ("7 to 14 with key A only", &ka, &h7, &h14, cp(7, 14), false, "the newer head is signed by B"),
    ];
    for (name, keys, older, newer, proof, valid, why) in consistency {
        let mut c = json!({"name": name, "kind": "consistency", "keys": keys, "older": older, "newer": newer, "proof": proof, "valid": valid});
        if !why.is_empty() {
            c["why"] = why.into();
        }
        v.cases.push(c);
    }

    // ----- monitor runs
    let r = |name: &str| format!("receipts/valid/{name}.json");
    let monitors: Vec<(&str, &str, Vec<&str>, Vec<String>, bool, Vec<&str>, Vec<Option<u64>>)> = vec![
        (
            "every head and receipt: anchored, no problem",
            &kab,
            vec!["p3", "p1", "p2"],
            vec![r("enrollment-escapes-and-non-ascii"), r("withdrawal"), r("deletion-with-erasure-pending"), r("enrollment-depth-128-after-rotation"), r("retention-after-rotation")],
            true,
            vec![],
            vec![Some(7), Some(10), Some(10), Some(14), Some(14)],
        ),
        ("a receipt newer than the last published head is not anchored yet", &kab, vec!["p1", "p2"], vec![r("retention-after-rotation")], true, vec![], vec![None]),
        ("a fork: two heads of size 10", &kab, vec!["p1", "p2", "p3", "p2-fork"], vec![], false, vec!["equivocation"], vec![]),
        ("a receipt of the fork against the genuine heads", &kab, vec!["p1", "p2"], vec![r("forked-deletion")], false, vec!["equivocation"], vec![None]),
        ("a missing link", &kab, vec!["p1", "p3"], vec![r("withdrawal")], false, vec!["missing_link"], vec![None]),
        ("a broken link", &kab, vec!["p1", "p2", "p3-broken-leaf"], vec![], false, vec!["not_an_extension"], vec![]),
        ("the rotated key missing", &ka, vec!["p1", "p2", "p3"], vec![r("retention-after-rotation")], false, vec!["invalid_head", "invalid_receipt"], vec![None]),
        (
            "an edited receipt and an invalid head",
            &kab,
            vec!["p1", "p2", "p1-with-leaves"],
            vec!["receipts/invalid/reason-mismatch.json".into(), r("withdrawal")],
            false,
            vec!["invalid_receipt", "not_an_extension"],
            vec![None, Some(10)],
        ),
    ];
    for (name, keys, heads, receipts, ok, problems, anchored) in monitors {
        let heads: Vec<String> = heads.iter().map(|h| head_files[h].clone()).collect();
        let mut problems: Vec<&str> = problems;
        problems.sort();
        v.cases.push(json!({"name": name, "kind": "monitor", "keys": keys, "heads": heads, "receipts": receipts, "ok": ok, "problems": problems, "anchored_at": anchored}));
    }

    let manifest = json!({
        "about": "Test vectors of docs/RECEIPTS.md with expected verdicts; file paths are relative to this directory. Written by tests/receipt_vectors.rs (FIDEX_BLESS=1 cargo test --test receipt_vectors); checked by fidex's verifier and by verify.py.",
        "cases": v.cases,
    });
    let text = serde_json::to_string_pretty(&manifest).unwrap();
    v.file("manifest.json", text);
    v
}

// ---------------------------------------------------------------------------- the tests

#[test]
fn committed_vectors_are_what_the_generator_writes() {
    let v = generate();
    let bless = std::env::var_os("FIDEX_BLESS").is_some();
    let root = dir();
    if bless {
        for sub in ["keys", "receipts", "heads"] {
            let _ = std::fs::remove_dir_all(root.join(sub));
        }
    }
    let mut stale = Vec::new();
    for (path, text) in &v.files {
        let p = root.join(path);
        if bless {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        } else if std::fs::read_to_string(&p).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.clone());
        }
    }
    // No committed vector the generator does not write (in the generated folders).
    let mut extra = Vec::new();
    for sub in ["keys", "receipts", "heads"] {
        let mut stack = vec![root.join(sub)];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                    if !v.files.contains_key(&rel) {
                        extra.push(rel);
                    }
                }
            }
        }
    }
    assert!(stale.is_empty() && extra.is_empty(), "vectors differ from the generator: {stale:?}, not generated: {extra:?}; run FIDEX_BLESS=1 cargo test --test receipt_vectors");
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn keys_of(case: &Value) -> Vec<VerificationKey> {
    VerificationKey::parse_key_file(&read(case["keys"].as_str().unwrap())).unwrap_or_default()
}

#[test]
fn the_reference_verifier_agrees_with_every_expected_verdict() {
    let manifest: Value = serde_json::from_str(&read("manifest.json")).unwrap();
    let mut counts = BTreeMap::new();
    for case in manifest["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        *counts.entry(kind.to_string()).or_insert(0) += 1;
        match kind {
            "receipt" => {
                let keys = keys_of(case);
                let got = if keys.is_empty() { Err(fidex::Error::InvalidKeyText("no valid key".into())) } else { receipt::verify_json_with_keys(&read(case["file"].as_str().unwrap()), &keys).map(|_| ()) };
                assert_eq!(got.is_ok(), case["valid"].as_bool().unwrap(), "receipt {name}: {got:?}");
            }
            "key_file" => {
                let got = VerificationKey::parse_key_file(&read(case["file"].as_str().unwrap()));
                assert_eq!(got.is_ok(), case["valid"].as_bool().unwrap(), "key file {name}: {got:?}");
            }
            "published_head" => {
                let got = PublishedHead::from_json(&read(case["file"].as_str().unwrap())).and_then(|p| p.verify(&keys_of(case)));
                assert_eq!(got.is_ok(), case["valid"].as_bool().unwrap(), "published head {name}: {got:?}");
            }
            "consistency" => {
                let head = |k: &str| -> SignedTreeHead { serde_json::from_str(&read(case[k].as_str().unwrap())).unwrap() };
                let proof: Vec<String> = serde_json::from_value(case["proof"].clone()).unwrap();
                let got = receipt::verify_consistency_with_keys(&head("older"), &head("newer"), &proof, &keys_of(case));
                assert_eq!(got.is_ok(), case["valid"].as_bool().unwrap(), "consistency {name}: {got:?}");
            }
            "monitor" => {
                let texts = |k: &str| -> Vec<String> { case[k].as_array().unwrap().iter().map(|p| read(p.as_str().unwrap())).collect() };
                let (h, r) = (texts("heads"), texts("receipts"));
                let report = receipt::monitor(&h.iter().map(String::as_str).collect::<Vec<_>>(), &r.iter().map(String::as_str).collect::<Vec<_>>(), &keys_of(case));
                assert_eq!(report.ok, case["ok"].as_bool().unwrap(), "monitor {name}: {:?}", report.problems);
                let mut kinds: Vec<String> = report.problems.iter().map(|p| serde_json::to_value(p.kind).unwrap().as_str().unwrap().to_string()).collect();
                kinds.sort();
                let want: Vec<String> = serde_json::from_value(case["problems"].clone()).unwrap();
                assert_eq!(kinds, want, "monitor {name}: {:?}", report.problems);
                let anchored: Vec<Option<u64>> = report.receipts.iter().map(|r| r.anchored_at).collect();
                let want: Vec<Option<u64>> = serde_json::from_value(case["anchored_at"].clone()).unwrap();
                assert_eq!(anchored, want, "monitor {name}");
            }
            other => panic!("unknown case kind {other}"),
        }
    }
    println!("{counts:?}");
    assert!(counts["receipt"] >= 80 && counts["monitor"] >= 8 && counts["key_file"] >= 12, "{counts:?}");
}

/// `verify.py` is an independent verifier written from docs/RECEIPTS.md (Python standard
/// library, its own Ed25519): it must give every verdict of the manifest too.
#[test]
fn the_independent_python_verifier_agrees() {
    let py = std::process::Command::new("python3").arg("--version").output();
    if !py.is_ok_and(|o| o.status.success()) {
        println!("python3 not installed: skipping tests/vectors/receipts/verify.py");
        return;
    }
    let out = std::process::Command::new("python3").arg(dir().join("verify.py")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "verify.py disagrees with the expected verdicts");
}
