//! Issue 4, part 3: "no allocation per probe in steady state". A counting global allocator
//! checks that `Index::search_into` allocates nothing once its per-thread scratch space
//! and the caller's result buffer are warm — on the calling thread only (threads = 1) and
//! split across the rayon pool — for every storage type, with and without tag filters.
//! One test per binary: the counter is process-wide.

use fidex::search::{synth, Hit, Index, Metric, SearchOptions, Storage};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static ON: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if ON.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn steady_state_search_allocates_nothing() {
    let (dim, n) = (64, 40_000); // ≥ 2 × 8192 rows per chunk: the scan is split on 2+ cores
    let rows = synth::clustered(n / 4, 4, dim, 3);
    let (probes, _) = synth::probes(n / 4, dim, 3, 50, 4);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    // (storage, sign codes): the F32 index also with the 1-bit sign-code scan.
    for (storage, sign) in [
        (Storage::F32, false),
        (Storage::F16, false),
        (Storage::Int8 { rerank: true }, false),
        (Storage::Int8 { rerank: false }, false),
        (Storage::F32, true),
    ] {
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        if sign {
            assert!(idx.enable_sign_codes(100));
        }
        for (i, r) in rows.chunks_exact(dim).enumerate() {
            idx.push(r, 1 | u64::from(i.is_multiple_of(3)) << 1);
        }
        for threads in [1, 2] {
            let o = SearchOptions { threads };
            let mut out: Vec<Hit> = Vec::with_capacity(16);
            pool.install(|| {
                // Warm-up: every thread's scratch reaches its working size.
                for _ in 0..4 {
                    for p in probes.chunks_exact(dim) {
                        for tags in [0, 2] {
                            idx.search_into(p, 10, f32::NEG_INFINITY, tags, &o, &mut out);
                        }
                    }
                }
                ALLOCS.store(0, Ordering::SeqCst);
                ON.store(true, Ordering::SeqCst);
                let mut found = 0;
                for p in probes.chunks_exact(dim) {
                    for tags in [0, 2] {
                        idx.search_into(p, 10, f32::NEG_INFINITY, tags, &o, &mut out);
                        found += out.len();
                    }
                }
                ON.store(false, Ordering::SeqCst);
                assert_eq!(found, 50 * 2 * 10, "{storage:?} sign codes {sign}");
                let a = ALLOCS.load(Ordering::SeqCst);
                assert_eq!(a, 0, "{storage:?} (sign codes {sign}), {threads} thread(s): {a} allocations in 100 searches");
            });
            // Same results as the allocating API.
            let p = &probes[..dim];
            idx.search_into(p, 10, f32::NEG_INFINITY, 2, &o, &mut out);
            assert_eq!(out, idx.search(p, 10, f32::NEG_INFINITY, 2, &o));
        }
    }
}
