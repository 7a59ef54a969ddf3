//! No plaintext template or payload is left in freed memory (issue 17, items 4–6).
//!
//! A global allocator inspects every block the moment it is freed (and the old block of
//! every `realloc` that moves): if the block still holds a recognisable piece of the test's
//! template or its payload marker, that is plaintext biometric data left behind in freed
//! heap memory, where a later allocation, a core dump or a heap-reading bug can find it.
//! The test walks one subject through the whole lifecycle — enroll (also a refused duplicate
//! and a cancelable vault), commit, identify, verify, export with the template, reopen,
//! key rotation, deletion, commit, drop with uncommitted enrollments — and requires that
//! no freed block ever held either marker.
//!
//! The template, probe and payload given to fidex live in leaked (never freed) memory, so
//! every hit is a copy fidex made and freed unwiped.

use fidex::{ConsentReceipt, DeletionReason, Metric, Vault, VaultConfig, VaultKey};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use zeroize::Zeroize;

const DIM: usize = 64;
const PAYLOAD: &[u8] = b"PAYLOAD-MARKER-9c1e-5a77";

/// Bytes the allocator looks for (set once before arming; never freed).
static mut TEMPLATE_WINDOW: [u8; 16] = [0; 16];
static ARMED: AtomicBool = AtomicBool::new(false);
static PHASE: AtomicUsize = AtomicUsize::new(0);
/// Hits per phase (template, payload).
static HITS: [[AtomicUsize; 2]; 16] = [const { [const { AtomicUsize::new(0) }, const { AtomicUsize::new(0) }] }; 16];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Records a freed block that still holds a marker.
///
/// # Safety
/// `p` must be valid for reading `len` bytes.
unsafe fn inspect(p: *const u8, len: usize) {
    if !ARMED.load(Ordering::Relaxed) || p.is_null() || len < 16 {
        return;
    }
    // SAFETY: the caller guarantees the block is readable; it is about to be freed, so no
    // one writes it concurrently.
    let block = unsafe { std::slice::from_raw_parts(p, len) };
    // SAFETY: TEMPLATE_WINDOW is written once before ARMED is set and never again.
    let window = unsafe { &*std::ptr::addr_of!(TEMPLATE_WINDOW) };
    let phase = PHASE.load(Ordering::Relaxed).min(15);
    if contains(block, window) {
        HITS[phase][0].fetch_add(1, Ordering::Relaxed);
    }
    if contains(block, PAYLOAD) {
        HITS[phase][1].fetch_add(1, Ordering::Relaxed);
    }
}

struct Inspecting;

// SAFETY: forwards every call to the system allocator; only reads blocks being freed.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: forwarded.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` is a live block of `l.size()` bytes until the dealloc below.
        unsafe {
            inspect(p, l.size());
            System.dealloc(p, l)
        }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        // A block that moves leaves its old contents behind: inspect it before, count only
        // if it moved (the inspection result is kept aside).
        let before: [usize; 2] = {
            let phase = PHASE.load(Ordering::Relaxed).min(15);
            [HITS[phase][0].load(Ordering::Relaxed), HITS[phase][1].load(Ordering::Relaxed)]
        };
        // SAFETY: `p` is live for `l.size()` bytes.
        unsafe { inspect(p, l.size()) };
        // SAFETY: forwarded.
        let q = unsafe { System.realloc(p, l, n) };
        if q == p {
            // Grown or shrunk in place: nothing was left behind; undo the count.
            let phase = PHASE.load(Ordering::Relaxed).min(15);
            HITS[phase][0].store(before[0], Ordering::Relaxed);
            HITS[phase][1].store(before[1], Ordering::Relaxed);
        }
        q
    }
}

#[global_allocator]
static A: Inspecting = Inspecting;

const PHASES: [&str; 15] = [
    "setup",
    "enroll + refused duplicate",
    "commit",
    "identify + verify + batch",
    "export with template",
    "close + reopen",
    "rotate key",
    "delete (commit + receipt)",
    "commit after delete",
    "drop with uncommitted enrollments",
    "cancelable vault: enroll + search + delete",
    "done",
    "verify",
    "identify_batch",
    "(after the batch)",
];

fn phase(i: usize) {
    PHASE.store(i, Ordering::SeqCst);
}

#[test]
fn no_template_or_payload_is_left_in_freed_memory() {
    // A distinctive template in leaked memory (a unit vector; inner-product vaults store it
    // as given, so its bytes are what fidex holds).
    let template: &'static mut [f32] = Box::leak(vec![0.0f32; DIM].into_boxed_slice());
    let mut x = 0x1234_5678u32;
    for v in template.iter_mut() {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *v = (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
    }
    let n = template.iter().map(|v| v * v).sum::<f32>().sqrt();
    template.iter_mut().for_each(|v| *v /= n);
    let template: &'static [f32] = template;
    // SAFETY: written once, before the allocator reads it (ARMED is set after).
    unsafe {
        let bytes: Vec<u8> = template[8..12].iter().flat_map(|f| f.to_le_bytes()).collect();
        (*std::ptr::addr_of_mut!(TEMPLATE_WINDOW)).copy_from_slice(&bytes);
    }
    let dir = tempfile::tempdir().unwrap();
    let key = VaultKey::generate();
    let consent = ConsentReceipt::explicit("subject-1", "Acme", "https://acme.example/p", &["identification", "authentication"], 1_700_000_000).unwrap();
    let other = |i: usize| -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|j| ((i * 31 + j * 7) % 13) as f32 - 6.0).collect();
        v[i % DIM] += 10.0;
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    };
    let mut cfg = VaultConfig::new(DIM as u32);
    cfg.metric = Metric::InnerProduct;
    cfg.match_threshold = 0.5;

    phase(0);
    ARMED.store(true, Ordering::SeqCst);
    let path = dir.path().join("v");
    let v = Vault::create(&path, &key, cfg.clone()).unwrap();
    phase(1);
    for i in 0..10 {
        v.enroll(&other(i), &consent, Some(b"someone-else")).unwrap();
    }
    let victim = v.enroll(template, &consent, Some(PAYLOAD)).unwrap().facial_id;
    assert!(v.enroll(template, &consent, Some(PAYLOAD)).is_err(), "the duplicate is refused");
    phase(2);
    v.commit().unwrap();
    phase(3);
    assert_eq!(v.identify(template, 3, None, "identification").unwrap()[0].facial_id, victim);
    phase(12);
    assert!(v.verify(&victim, template, "authentication").unwrap().matched);
    phase(13);
    let mut probes = Vec::with_capacity(4 * DIM); // sized: growth would leave copies (ours, not fidex's)
    for _ in 0..4 {
        probes.extend_from_slice(template);
    }
    let batch = v.identify_batch(&probes, 1, None, "identification").unwrap();
    probes.zeroize();
    drop(probes);
    phase(14);
    assert_eq!(batch[0][0].facial_id, victim);
    phase(4);
    let mut export = v.export_subject(&victim, true).unwrap();
    // What is handed to the caller is the caller's to wipe.
    if let Some(t) = export.template.as_mut() {
        t.zeroize();
    }
    export.payload_hex.zeroize();
    drop(export);
    phase(5);
    v.close().unwrap();
    let v = Vault::open(&path, &key).unwrap();
    phase(6);
    let key2 = VaultKey::generate();
    v.rotate_key(&key2).unwrap();
    phase(7);
    let receipt = v.delete(&victim, DeletionReason::SubjectRequest).unwrap();
    drop(receipt);
    phase(8);
    v.commit().unwrap();
    drop(v);
    phase(9);
    {
        // The same face enrolled again and dropped uncommitted.
        let v = Vault::open(&path, &key2).unwrap();
        let _ = v.enroll(template, &consent, Some(PAYLOAD)).unwrap();
        drop(v);
    }
    phase(10);
    {
        let mut c = cfg.clone();
        c.cancelable = true;
        let v = Vault::create(dir.path().join("cancelable"), &key, c).unwrap();
        let id = v.enroll(template, &consent, Some(PAYLOAD)).unwrap().facial_id;
        v.commit().unwrap();
        assert_eq!(v.identify(template, 1, None, "identification").unwrap()[0].facial_id, id);
        v.delete(&id, DeletionReason::SubjectRequest).unwrap();
    }
    phase(11);
    ARMED.store(false, Ordering::SeqCst);

    let mut report = Vec::new();
    for (i, name) in PHASES.iter().enumerate() {
        let (t, p) = (HITS[i][0].load(Ordering::SeqCst), HITS[i][1].load(Ordering::SeqCst));
        if t + p > 0 {
            report.push(format!("{name}: {t} freed block(s) with template bytes, {p} with the payload"));
        }
    }
    assert!(report.is_empty(), "plaintext left in freed memory:\n  {}", report.join("\n  "));
}
