//! Helpers shared by the search benches (`search.rs`, `scan_quick.rs`): the machine's
//! streaming read bandwidth, measured in the same run as the scans it is compared with.

use rayon::prelude::*;
use std::time::Instant;

/// The 1-minute, 5-minute and 15-minute load averages (Linux), or "n/a".
pub fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

/// A copy of `data` in memory advised for transparent huge pages before it is written,
/// like the index's row buffers, so the streaming figure is the floor of the same kind
/// of memory the scans read.
pub fn huge_page_copy(data: &[f32]) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(data.len());
    fidex::search::kernels::memory::advise_huge_pages(v.spare_capacity_mut());
    v.extend_from_slice(data);
    v
}

/// Streaming read bandwidth of `data` with `threads` threads (best of 5), GB/s: the floor
/// of a memory-bound single-probe scan. Each thread sums its contiguous share with 16
/// independent lanes (load-bound).
pub fn stream_gbs(data: &[f32], threads: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let s: f32 = pool.install(|| {
            data.par_chunks(data.len().div_ceil(threads))
                .map(|c| {
                    let mut acc = [0.0f32; 16];
                    for ch in c.chunks_exact(16) {
                        for (a, &x) in acc.iter_mut().zip(ch) {
                            *a += x;
                        }
                    }
                    acc.iter().sum::<f32>()
                })
                .sum()
        });
        std::hint::black_box(s);
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::mem::size_of_val(data) as f64 / best / 1e9
}
