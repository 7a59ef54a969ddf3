//! Quick scan benchmark (prints, never asserts).
//!
//! N identity-clustered unit vectors (default 100k; `--n 1000000` for a memory-bound
//! run on any CPU), d = 512, k = 10. For every storage type and kernel path: single-probe
//! median latency with 1 and 2 threads, batch throughput (2 threads), ns per row and the
//! effective scan bandwidth, next to this machine's measured streaming read bandwidth
//! (the floor a memory-bound single-probe scan cannot beat). Then, per storage, the
//! dispatched path (the one `Index::new` picks, by measurement) next to the fastest path
//! this run measured, with their ratio, so a dispatch regression on any CPU shows.
//!
//! Run: `cargo bench --bench scan_quick -- --paths all` (options: `--paths all|best`,
//! default best = only the dispatched path per storage; `--n N` or `FIDEX_BENCH_N=N`;
//! `--storages f32,f16,int8r,int8,bits`, where `bits` is F32 with 1-bit sign codes and an
//! exact re-rank of `--sign-candidates 64`). The environment variables of the kernel dispatch
//! apply: `FIDEX_KERNELS=portable,x86_64-avx2 ... --paths all` compares (and dispatches
//! among) exactly the paths of an AVX2-only CPU.
//!
//! Sizes: a figure is memory-bound only if the scanned bytes are well above the last-level
//! cache; rows whose scanned bytes are under 4 × L3 are marked `~cache` (e.g. int8 at
//! N = 100k: 51 MB against a 32 MiB L3; everything at 100k on a 260 MiB-L3 Xeon).
//!
//! Without `--bench` (i.e. when `cargo test --all-targets` runs this program) and without
//! an explicit N it does a quick smoke run (N = 2000) so the test suite stays fast.

use fidex::search::kernels::{self, dispatch, Kernels};
use fidex::search::{synth, Index, Metric, SearchOptions, Storage};
mod common;

use common::{huge_page_copy, load_avg, stream_gbs};
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


/// Size of the last-level cache in bytes (Linux sysfs), if known.
fn llc_bytes() -> Option<usize> {
    (0..8)
        .rev()
        .find_map(|i| std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu0/cache/index{i}/size")).ok())
        .and_then(|s| {
            let s = s.trim();
            let (num, mult) = match s.chars().last()? {
                'K' => (&s[..s.len() - 1], 1 << 10),
                'M' => (&s[..s.len() - 1], 1 << 20),
                _ => (s, 1),
            };
            num.parse::<usize>().ok().map(|n| n * mult)
        })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_default()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}


/// What is scanned: a storage, or F32 with sign codes (`bits`, re-ranking `candidates`).
#[derive(Clone, Copy, PartialEq)]
struct Kind {
    storage: Storage,
    sign: Option<usize>,
}

impl Kind {
    fn key(self) -> &'static str {
        if self.sign.is_some() {
            return "bits";
        }
        match self.storage {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Int8 { rerank: true } => "int8r",
            Storage::Int8 { rerank: false } => "int8",
        }
    }

    fn label(self) -> String {
        match self.sign {
            Some(c) => format!("Bits rerank {c}"),
            None => format!("{:?}", self.storage),
        }
    }

    /// Bytes a single-probe scan streams per component.
    fn scan_bytes(self) -> f64 {
        if self.sign.is_some() {
            return 0.125;
        }
        match self.storage {
            Storage::F32 => 4.0,
            Storage::F16 => 2.0,
            Storage::Int8 { .. } => 1.0,
        }
    }
}

struct Row {
    path: &'static str,
    kind: Kind,
    dispatched: bool,
    bytes_per_probe: f64,
    lat1_ms: f64,
    cpu1_ms: f64,
    lat2_ms: f64,
    batch_probes: usize,
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
    let all_paths = arg("--paths").as_deref() == Some("all");
    let want: Vec<String> = arg("--storages")
        .unwrap_or_else(|| "f32,f16,int8r,int8,bits".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let sign_c: usize = arg("--sign-candidates").and_then(|s| s.parse().ok()).unwrap_or(64);
    let kinds: Vec<Kind> = [Storage::F32, Storage::F16, Storage::Int8 { rerank: true }, Storage::Int8 { rerank: false }]
        .into_iter()
        .map(|storage| Kind { storage, sign: None })
        .chain([Kind { storage: Storage::F32, sign: Some(sign_c) }])
        .filter(|k| want.iter().any(|w| w == k.key()))
        .collect();
    let llc = llc_bytes();
    println!(
        "fidex scan benchmark: N={n}, d={dim}, k={k}, cpu = {}, LLC = {}, paths measured: {}, load average: {}",
        cpu_model(),
        llc.map_or("?".into(), |b| format!("{} MiB", b >> 20)),
        if all_paths { "all the dispatch may choose from" } else { "dispatched only" },
        load_avg()
    );
    for k in kinds.iter().filter(|k| k.sign.is_none()) {
        println!("  dispatch {:?} -> {}", k.storage, dispatch::choice(dispatch::ScanType::of(k.storage)));
    }
    let t = Instant::now();
    let rows = synth::clustered(ids, 4, dim, 1);
    let (probes, _) = synth::probes(ids, dim, 1, 1000, 2);
    println!("generated data in {:.1} s", t.elapsed().as_secs_f64());

    let f32_bytes = (n * dim * 4) as f64;
    let (plain1, plain2) = (stream_gbs(&rows, 1), stream_gbs(&rows, 2));
    let huge = huge_page_copy(&rows);
    let (floor1, floor2) = (stream_gbs(&huge, 1), stream_gbs(&huge, 2));
    drop(huge);
    println!(
        "measured streaming read over the f32 matrix ({:.0} MB): {floor1:.1} GB/s (1 thread), {floor2:.1} GB/s (2 threads) \
         on huge pages as the index uses (see kernels::memory); {plain1:.1} / {plain2:.1} GB/s on 4 KiB pages",
        f32_bytes / 1e6,
    );

    let mut results = Vec::new();
    for &kind in &kinds {
        let storage = kind.storage;
        let mut idx = Index::new(dim, Metric::Cosine, storage);
        let dispatched = idx.kernels();
        idx.reserve(n);
        if let Some(c) = kind.sign {
            idx.enable_sign_codes(c);
        }
        if matches!(storage, Storage::Int8 { .. }) {
            // As the vault does at its first commit: the int8 scale calibrated from the data.
            idx.set_int8_scale(fidex::search::quant::calibrate(&rows).scale());
        }
        for r in rows.chunks_exact(dim) {
            idx.push(r, 1);
        }
        let bytes_per_probe = (n * dim) as f64 * kind.scan_bytes();
        let paths: Vec<&'static Kernels> = if all_paths { dispatch::candidates() } else { vec![dispatched] };
        // Paths are measured in rounds (one probe each per round, then the next probe),
        // so that a change of load on a shared machine hits every path alike.
        let first = {
            let t = Instant::now();
            std::hint::black_box(idx.search(&probes[..dim], k, f32::NEG_INFINITY, 0, &SearchOptions { threads: 1 }));
            t.elapsed().as_secs_f64()
        };
        // Enough probes for a stable median, about 2 s per thread setting for all paths.
        let reps = ((2.0 / (first.max(1e-6) * paths.len() as f64)) as usize).clamp(11, 101);
        let np = paths.len();
        let mut lat = vec![[Vec::with_capacity(reps), Vec::with_capacity(reps)]; np];
        let mut cpu1 = vec![0u64; np];
        for (slot, threads) in [1usize, 2].into_iter().enumerate() {
            let opts = SearchOptions { threads };
            for &path in &paths {
                idx.set_kernels(path);
                for p in probes.chunks_exact(dim).take(2) {
                    std::hint::black_box(idx.search(p, k, f32::NEG_INFINITY, 0, &opts));
                }
            }
            for p in probes.chunks_exact(dim).take(reps) {
                for (pi, &path) in paths.iter().enumerate() {
                    idx.set_kernels(path);
                    let c0 = thread_cpu_ns();
                    let t = Instant::now();
                    std::hint::black_box(idx.search(p, k, f32::NEG_INFINITY, 0, &opts));
                    lat[pi][slot].push(t.elapsed());
                    // schedstat advances in scheduler ticks: only the total over all
                    // probes is precise, so the CPU figure is a mean, not a median.
                    if let (0, Some(a), Some(b)) = (slot, c0, thread_cpu_ns()) {
                        cpu1[pi] += b.saturating_sub(a);
                    }
                }
            }
        }
        // Batch: 1000 probes, fewer when a probe-at-a-time scan takes long (≥ 128); two
        // alternating rounds, the better one kept.
        let batch_probes = (((4.0 / (first.max(1e-6) * np as f64)) as usize).clamp(128, 1000) / 64) * 64;
        let opts = SearchOptions { threads: 2 };
        let batch = &probes[..batch_probes * dim];
        let mut qps = vec![0.0f64; np];
        for _round in 0..2 {
            for (pi, &path) in paths.iter().enumerate() {
                idx.set_kernels(path);
                std::hint::black_box(idx.search_batch(&batch[..8 * dim], k, f32::NEG_INFINITY, 0, &opts));
                let t = Instant::now();
                std::hint::black_box(idx.search_batch(batch, k, f32::NEG_INFINITY, 0, &opts));
                qps[pi] = qps[pi].max(batch_probes as f64 / t.elapsed().as_secs_f64());
            }
        }
        for (pi, &path) in paths.iter().enumerate() {
            let [l1, l2] = std::mem::take(&mut lat[pi]);
            results.push(Row {
                path: path.name(),
                kind,
                dispatched: std::ptr::eq(path, dispatched),
                bytes_per_probe,
                lat1_ms: ms(median(l1)),
                cpu1_ms: cpu1[pi] as f64 / 1e6 / reps as f64,
                lat2_ms: ms(median(l2)),
                batch_probes,
                batch_qps: qps[pi],
            });
        }
    }

    println!();
    println!(
        "{:<20} {:<24} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>8}",
        "path", "storage", "1T ms", "1T GB/s", "1T cpu", "ns/row", "2T ms", "2T GB/s", "2T/str", "batch q/s", "note"
    );
    for r in &results {
        let cache = llc.is_some_and(|l| r.bytes_per_probe < 4.0 * l as f64);
        println!(
            "{:<20} {:<24} {:>8.2} {:>8.1} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>7.2} {:>10.0} {:>8}",
            r.path,
            r.kind.label(),
            r.lat1_ms,
            r.bytes_per_probe / r.lat1_ms / 1e6,
            r.cpu1_ms,
            r.cpu1_ms * 1e6 / n as f64,
            r.lat2_ms,
            r.bytes_per_probe / r.lat2_ms / 1e6,
            r.bytes_per_probe / r.lat2_ms / 1e6 / floor2,
            r.batch_qps,
            format!("{}{}", if r.dispatched { "disp" } else { "" }, if cache { " ~cache" } else { "" }),
        );
    }
    println!(
        "(ms = median wall latency; cpu = mean on-CPU time of the 1-thread search (differs \
         from wall when the machine is busy); ns/row = cpu / N; GB/s = bytes of the scanned \
         representation / time; 2T/str = 2-thread scan bandwidth / 2-thread streaming read; \
         batch uses 2 threads; disp = the path Index::new dispatched to; ~cache = scanned \
         bytes < 4 × LLC, not a memory-bound figure)"
    );

    // Dispatched vs fastest measured, per storage and task.
    let mut summary = Vec::new();
    if all_paths {
        println!("\ndispatched vs fastest path measured in this run (ratio = dispatched time / fastest time; 1.00 = dispatch right):");
        for &kind in &kinds {
            let storage = kind.storage;
            let of: Vec<&Row> = results.iter().filter(|r| r.kind == kind).collect();
            let Some(d) = of.iter().find(|r| r.dispatched) else { continue };
            let best_by = |f: &dyn Fn(&Row) -> f64| -> &Row { of.iter().min_by(|a, b| f(a).total_cmp(&f(b))).copied().unwrap() };
            let tasks: [(&str, f64, &Row, f64); 3] = {
                let b1 = best_by(&|r| r.lat1_ms);
                let b2 = best_by(&|r| r.lat2_ms);
                let bb = best_by(&|r| -r.batch_qps);
                [
                    ("single 1T", d.lat1_ms, b1, b1.lat1_ms),
                    ("single 2T", d.lat2_ms, b2, b2.lat2_ms),
                    ("batch", 1.0 / d.batch_qps, bb, 1.0 / bb.batch_qps),
                ]
            };
            let scan = dispatch::ScanType::of(storage);
            let code_of = |name: &str| kernels::available().into_iter().find(|k| k.name() == name);
            let same = |a: &str, b: &str| match (code_of(a), code_of(b)) {
                (Some(x), Some(y)) => x.same_code(y, scan),
                _ => a == b,
            };
            let mut line = format!("  {:<24} dispatched {:<20}", kind.label(), d.path);
            for (task, dt, b, bt) in tasks {
                // A path running the same code as the dispatched one differs only by noise.
                let (b_path, ratio) = if same(b.path, d.path) { (d.path, 1.0) } else { (b.path, dt / bt) };
                line += &format!(" | {task}: fastest {} ({:.2}x)", b_path, ratio);
                summary.push(format!(
                    "{{\"storage\":\"{}\",\"task\":\"{task}\",\"dispatched\":\"{}\",\"fastest\":\"{}\",\"ratio\":{:.3}}}",
                    kind.key(),
                    d.path,
                    b_path,
                    ratio
                ));
            }
            println!("{line}");
        }
        println!(
            "  (a path that runs the same code as the dispatched one counts as the dispatched one; between different \
             code paths, timing noise of a few % is expected: the dispatch measures once, in cache)"
        );
    }
    println!("load average at end: {}", load_avg());
    let json: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "{{\"path\":\"{}\",\"storage\":\"{}\",\"dispatched\":{},\"lat_ms_1t\":{:.4},\"cpu_ms_1t\":{:.4},\"lat_ms_2t\":{:.4},\
                 \"gbs_1t\":{:.2},\"gbs_2t\":{:.2},\"batch_probes\":{},\"batch_threads\":2,\
                 \"batch_qps\":{:.1},\"floor_ratio_2t\":{:.3}}}",
                r.path,
                r.kind.key(),
                r.dispatched,
                r.lat1_ms,
                r.cpu1_ms,
                r.lat2_ms,
                r.bytes_per_probe / r.lat1_ms / 1e6,
                r.bytes_per_probe / r.lat2_ms / 1e6,
                r.batch_probes,
                r.batch_qps,
                (r.bytes_per_probe / floor2 / 1e6) / r.lat2_ms,
            )
        })
        .collect();
    println!(
        "{{\"bench\":\"scan_quick\",\"n\":{n},\"dim\":{dim},\"k\":{k},\"cpu\":\"{}\",\"llc_bytes\":{},\"dispatched\":{{{}}},\
         \"stream_gbs_1t\":{floor1:.2},\"stream_gbs_2t\":{floor2:.2},\"stream_gbs_4k_pages_1t\":{plain1:.2},\"stream_gbs_4k_pages_2t\":{plain2:.2},\"results\":[{}],\"dispatch_vs_fastest\":[{}]}}",
        cpu_model().replace('"', "'"),
        llc.map_or("null".into(), |b| b.to_string()),
        kinds
            .iter()
            .map(|k| format!("\"{}\":\"{}\"", k.key(), kernels::chosen(k.storage).name()))
            .collect::<Vec<_>>()
            .join(","),
        json.join(","),
        summary.join(",")
    );
}
