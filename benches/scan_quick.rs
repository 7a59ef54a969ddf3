//! Quick scan benchmark (prints, never asserts).
//!
//! N = 100k identity-clustered unit vectors, d = 512, k = 10. For every storage type and
//! kernel path: single-probe median latency with 1 and 2 threads, batch throughput,
//! and the effective scan bandwidth, next to this machine's measured streaming
//! bandwidth (the floor a single-probe scan cannot beat).
//!
//! Run: `cargo bench --bench scan_quick` (in the fidex crate) or
//! `cargo run --release --example bench_scan -- --bench` (scratch crate); options:
//! `--paths all|best` (default best = the dispatched path), `--n N` or `FIDEX_BENCH_N=N`.
//! `FIDEX_FORCE_PORTABLE=1` makes "best" the portable path.
//!
//! Without `--bench` (i.e. when `cargo test --all-targets` runs this program) and without
//! an explicit N it does a quick smoke run (N = 2000) so the test suite stays fast.

use fidex::search::kernels::{self, Kernels};
use fidex::search::{synth, Index, Metric, SearchOptions, Storage};
use rayon::prelude::*;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// On-CPU time of the calling thread (Linux `schedstat`, ns), to separate the cost of
/// the scan from time spent waiting for a core on a busy machine.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Streaming read bandwidth of `data` with `threads` threads (best of 5), GB/s.
fn stream_gbs(data: &[f32], threads: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let s: f32 = pool.install(|| {
            data.par_chunks(data.len().div_ceil(threads))
                .map(|c| {
                    // 8 independent lanes so the sum is load-bound, not add-latency-bound.
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

struct Row {
    path: &'static str,
    storage: String,
    bytes_per_probe: f64,
    lat1_ms: f64,
    cpu1_ms: f64,
    lat2_ms: f64,
    batch_probes: usize,
    batch_threads: usize,
    batch_qps: f64,
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let n: usize = arg("--n")
        .or_else(|| std::env::var("FIDEX_BENCH_N").ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(if bench_mode { 100_000 } else { 2_000 });
    if !bench_mode {
        println!("(smoke run; pass --bench, or run `cargo bench`, for the real figures)");
    }
    let dim = 512;
    let k = 10;
    let ids = n.div_ceil(4);
    let paths: Vec<&'static Kernels> = match arg("--paths").as_deref() {
        Some("all") => kernels::available(),
        _ => vec![kernels::kernels()],
    };
    println!(
        "fidex scan benchmark: N={n}, d={dim}, k={k}, dispatched path: {}, rayon threads: {}, \
         load average: {}",
        kernels::detected(),
        rayon::current_num_threads(),
        load_avg()
    );
    let t = Instant::now();
    let rows = synth::clustered(ids, 4, dim, 1);
    let (probes, _) = synth::probes(ids, dim, 1, 1000, 2);
    println!("generated data in {:.1} s", t.elapsed().as_secs_f64());

    let floor1 = stream_gbs(&rows, 1);
    let floor2 = stream_gbs(&rows, 2);
    let f32_bytes = (n * dim * 4) as f64;
    println!(
        "measured streaming read: {floor1:.1} GB/s (1 thread), {floor2:.1} GB/s (2 threads) \
         -> f32 matrix ({:.0} MB) floor {:.2} ms / {:.2} ms",
        f32_bytes / 1e6,
        f32_bytes / floor1 / 1e6,
        f32_bytes / floor2 / 1e6
    );

    let mut results = Vec::new();
    for storage in [
        Storage::F32,
        Storage::F16,
        Storage::Int8 { rerank: true },
        Storage::Int8 { rerank: false },
    ] {
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        idx.reserve(n);
        for r in rows.chunks_exact(dim) {
            idx.push(r, 1);
        }
        // Bytes a scan streams per probe: the representation scanned (+ rerank reads).
        let scan_b = match storage {
            Storage::F32 => 4,
            Storage::F16 => 2,
            Storage::Int8 { .. } => 1,
        };
        let bytes_per_probe = (n * dim * scan_b) as f64;
        for &path in &paths {
            idx.set_kernels(path);
            let portable = path.name() == "portable";
            let reps = if portable { 15 } else { 101 };
            let mut lat = [0.0f64; 2];
            let mut cpu1 = f64::NAN;
            for (slot, threads) in [1usize, 2].into_iter().enumerate() {
                let opts = SearchOptions { threads };
                for p in probes.chunks_exact(dim).take(3) {
                    std::hint::black_box(idx.search(p, k, f32::NEG_INFINITY, 0, &opts));
                }
                let cpu_start = thread_cpu_ns();
                let times: Vec<Duration> = probes
                    .chunks_exact(dim)
                    .take(reps)
                    .map(|p| {
                        let t = Instant::now();
                        std::hint::black_box(idx.search(p, k, f32::NEG_INFINITY, 0, &opts));
                        t.elapsed()
                    })
                    .collect();
                // schedstat advances in scheduler ticks: only the total over all probes is
                // precise, so this is a mean, not a median.
                if let (1, Some(a), Some(b)) = (threads, cpu_start, thread_cpu_ns()) {
                    cpu1 = b.saturating_sub(a) as f64 / 1e6 / reps as f64;
                }
                lat[slot] = ms(median(times));
            }
            let batch_probes = if portable { 64 } else { 1000 };
            let opts = SearchOptions { threads: 2 };
            let batch = &probes[..batch_probes * dim];
            std::hint::black_box(idx.search_batch(
                &batch[..8 * dim],
                k,
                f32::NEG_INFINITY,
                0,
                &opts,
            ));
            let t = Instant::now();
            std::hint::black_box(idx.search_batch(batch, k, f32::NEG_INFINITY, 0, &opts));
            let batch_qps = batch_probes as f64 / t.elapsed().as_secs_f64();
            results.push(Row {
                path: path.name(),
                storage: format!("{storage:?}"),
                bytes_per_probe,
                lat1_ms: lat[0],
                cpu1_ms: cpu1,
                lat2_ms: lat[1],
                batch_probes,
                batch_threads: 2,
                batch_qps,
            });
        }
    }

    println!();
    println!(
        "{:<20} {:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "path",
        "storage",
        "1T ms",
        "1T GB/s",
        "1T cpu",
        "cpu GB/s",
        "2T ms",
        "2T GB/s",
        "batch q/s",
        "batch GB/s"
    );
    for r in &results {
        println!(
            "{:<20} {:<24} {:>8.2} {:>8.1} {:>8.2} {:>8.1} {:>8.2} {:>8.1} {:>10.0} {:>10.0}",
            r.path,
            r.storage,
            r.lat1_ms,
            r.bytes_per_probe / r.lat1_ms / 1e6,
            r.cpu1_ms,
            r.bytes_per_probe / r.cpu1_ms / 1e6,
            r.lat2_ms,
            r.bytes_per_probe / r.lat2_ms / 1e6,
            r.batch_qps,
            r.bytes_per_probe * r.batch_qps / 1e9,
        );
    }
    println!(
        "(ms = median wall latency; cpu = mean on-CPU time of the 1-thread search (differs \
         from wall when the machine is busy); GB/s = bytes of the scanned representation / \
         time; batch GB/s = probes/s × matrix bytes, the bandwidth a probe-at-a-time scan \
         would need; batch uses 2 threads)"
    );
    println!("load average at end: {}", load_avg());
    let json: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{{\"path\":\"{}\",\"storage\":\"{}\",\"lat_ms_1t\":{:.4},\"cpu_ms_1t\":{:.4},\"lat_ms_2t\":{:.4},\
                 \"gbs_1t\":{:.2},\"gbs_2t\":{:.2},\"batch_probes\":{},\"batch_threads\":{},\
                 \"batch_qps\":{:.1},\"floor_ratio_2t\":{:.3}}}",
                r.path,
                r.storage,
                r.lat1_ms,
                r.cpu1_ms,
                r.lat2_ms,
                r.bytes_per_probe / r.lat1_ms / 1e6,
                r.bytes_per_probe / r.lat2_ms / 1e6,
                r.batch_probes,
                r.batch_threads,
                r.batch_qps,
                (r.bytes_per_probe / floor2 / 1e6) / r.lat2_ms,
            )
        })
        .collect();
    println!(
        "{{\"bench\":\"scan_quick\",\"n\":{n},\"dim\":{dim},\"k\":{k},\"dispatched\":\"{}\",\
         \"stream_gbs_1t\":{floor1:.2},\"stream_gbs_2t\":{floor2:.2},\"results\":[{}]}}",
        kernels::detected(),
        json.join(",")
    );
}
