//! Search figures (issue 4, part 6): fidex `search::Index` (F32, F16, Int8 with and without
//! exact re-rank) against faiss `IndexFlatIP` and faiss SQ8 (`IndexScalarQuantizer`,
//! QT_8bit, inner product) on the same data in the same run, plus fidex's own faiss IVF
//! backend.
//!
//! ```text
//! cargo bench --features faiss --bench search       # everything (needs scripts/install-faiss-deps.sh)
//! cargo bench --bench search                         # fidex only (no faiss columns/ratios)
//! ```
//!
//! Environment:
//! * `FIDEX_BENCH_SIZES=100000,1000000` (default) — N per run; d = 512, k = 10.
//! * `FIDEX_BENCH_METHODS=all` — or a comma list of `f32,f16,int8r,int8,bits,faiss-flat,faiss-sq8,ivf`
//!   (`bits`: F32 with 1-bit sign codes and exact re-rank, `Index::enable_sign_codes`).
//! * `FIDEX_BENCH_SIGN_CANDIDATES=16,64,256,1024` — re-ranked candidates measured for `bits`.
//! * `FIDEX_BENCH_FAISS_THREADS=1,2` — OpenMP/OpenBLAS thread counts tried for faiss; its best
//!   figure (lowest latency, highest throughput, each on its own) is the denominator.
//!
//! Data: `synth::clustered` — N/4 identities × 4 captures, seeded identity-clustered unit
//! vectors; 1000 probes are fresh captures (`synth::probes`). Latency: median (and p90) of
//! single-probe searches over the first 200 probes, after 10 warm-up searches. Batch: one
//! `search_batch` call of all 1000 probes → probes/s. Recall@1/@10: over the 1000 batch results,
//! against an exact f32 brute force computed here independently (f32 dot products, rayon).
//! Memory: `index` = the structure's own bytes (fidex: `memory_bytes()`; faiss Flat/SQ8:
//! `ntotal × code_size` + SQ8's 2 × d trained floats); `rss Δ` = growth of the process RSS
//! while building it (each index is dropped before the next is built).
//!
//! fidex searches use `SearchOptions::default()` (all cores). faiss threads are set in-process
//! with `omp_set_num_threads` and `openblas_set_num_threads` (faiss's batch search of ≥ 20
//! probes goes through BLAS sgemm, whose threads OpenMP does not control).
//!
//! Output: a table per N and ONE JSON line (`{"bench":"search",...}`) with raw figures and
//! ratios fidex/faiss: `single_speedup` = faiss_latency / fidex_latency, `batch_speedup` =
//! fidex_qps / faiss_qps, against faiss's best thread setting. No assertion on timings.
//! Without `--bench` in the arguments (e.g. run by `cargo test --all-targets`) it does a
//! small smoke run (N = 2000).
use fidex::search::kernels::dispatch;
use fidex::search::synth;

use fidex::search::{Hit, Index, Metric, SearchOptions, Storage};
mod common;

use common::{huge_page_copy, load_avg, stream_gbs};
use rayon::prelude::*;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const DIM: usize = 512;
const K: usize = 10;
const SINGLE: usize = 200;
const BATCH: usize = 1000;
const CAPTURES: usize = 4;

#[derive(Clone, Debug, Default)]
struct Figures {
    method: String,
    threads: String,
    build_s: f64,
    lat_median_ms: f64,
    lat_p90_ms: f64,
    batch_qps: f64,
    recall1: f64,
    recall10: f64,
    index_bytes: usize,
    raw_bytes: usize,
    rss_delta_bytes: i64,
}

/// The dispatched path per scanned representation, e.g. `f32=x86_64-avx512-vnni,f16=...`.
fn kernel_names() -> String {
    [("f32", Storage::F32), ("f16", Storage::F16), ("int8", Storage::Int8 { rerank: true })]
        .iter()
        .map(|(n, s)| format!("{n}={}", fidex::search::kernels::chosen(*s).name()))
        .collect::<Vec<_>>()
        .join(",")
}



fn rss_bytes() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: i64 = s.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn median_p90(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[(v.len() * 9 / 10).min(v.len() - 1)]))
}

/// Exact top-k by f32 inner product (independent of the code under test).
fn ground_truth(rows: &[f32], probes: &[f32], k: usize) -> Vec<Vec<u32>> {
    const PT: usize = 8;
    const RB: usize = 64;
    let n = rows.len() / DIM;
    probes
        .par_chunks(PT * DIM)
        .flat_map_iter(|tile| {
            let np = tile.len() / DIM;
            let mut tops: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(k + 1); np];
            for start in (0..n).step_by(RB) {
                let end = (start + RB).min(n);
                for (p, top) in tile.chunks_exact(DIM).zip(tops.iter_mut()) {
                    for r in start..end {
                        let row = &rows[r * DIM..(r + 1) * DIM];
                        let mut acc = [0f32; 8];
                        for (a, b) in p.chunks_exact(8).zip(row.chunks_exact(8)) {
                            for l in 0..8 {
                                acc[l] += a[l] * b[l];
                            }
                        }
                        let s: f32 = acc.iter().sum();
                        if top.len() < k || s > top[top.len() - 1].0 {
                            let pos = top.partition_point(|&(t, _)| t >= s);
                            top.insert(pos, (s, r as u32));
                            top.truncate(k);
                        }
                    }
                }
            }
            tops.into_iter().map(|t| t.into_iter().map(|(_, r)| r).collect::<Vec<u32>>())
        })
        .collect()
}

fn recalls(results: &[Vec<u32>], truth: &[Vec<u32>]) -> (f64, f64) {
    let mut r1 = 0.0;
    let mut r10 = 0.0;
    for (got, want) in results.iter().zip(truth) {
        if got.first() == want.first() {
            r1 += 1.0;
        }
        let w: HashSet<u32> = want.iter().take(K).copied().collect();
        r10 += got.iter().take(K).filter(|r| w.contains(r)).count() as f64 / w.len().max(1) as f64;
    }
    (r1 / truth.len() as f64, r10 / truth.len() as f64)
}

/// Times a single-probe search function and a batch search function on the same probes.
fn measure(
    method: &str,
    threads: &str,
    probes: &[f32],
    truth: &[Vec<u32>],
    single: &mut dyn FnMut(&[f32]) -> Vec<u32>,
    batch: &mut dyn FnMut(&[f32]) -> Vec<Vec<u32>>,
) -> Figures {
    let n_single = SINGLE.min(probes.len() / DIM);
    for p in probes.chunks_exact(DIM).take(10) {
        std::hint::black_box(single(p));
    }
    let mut lat = Vec::with_capacity(n_single);
    for p in probes.chunks_exact(DIM).take(n_single) {
        let t = Instant::now();
        std::hint::black_box(single(p));
        lat.push(t.elapsed());
    }
    let (lat_median_ms, lat_p90_ms) = median_p90(lat);
    let t = Instant::now();
    let res = batch(probes);
    let secs = t.elapsed().as_secs_f64();
    let (recall1, recall10) = recalls(&res, truth);
    Figures {
        method: method.into(),
        threads: threads.into(),
        lat_median_ms,
        lat_p90_ms,
        batch_qps: (probes.len() / DIM) as f64 / secs,
        recall1,
        recall10,
        ..Default::default()
    }
}

fn rows_of(hits: Vec<Hit>) -> Vec<u32> {
    hits.into_iter().map(|h| h.row).collect()
}

fn fidex_index(name: &str, storage: Storage, rows: &[f32], probes: &[f32], truth: &[Vec<u32>]) -> Figures {
    let rss0 = rss_bytes();
    let t = Instant::now();
    let mut idx = Index::new(DIM, Metric::Cosine, storage);
    idx.reserve(rows.len() / DIM); // as the vault does when it loads
    if matches!(storage, Storage::Int8 { .. }) {
        // As the vault does at its first commit: the int8 scale calibrated from the data.
        idx.set_int8_scale(fidex::search::quant::calibrate(rows).scale());
    }
    for r in rows.chunks_exact(DIM) {
        idx.push(r, 1);
    }
    let build_s = t.elapsed().as_secs_f64();
    let rss_delta_bytes = rss_bytes() - rss0;
    let o = SearchOptions::default();
    let idx_ref = &idx;
    let mut f = measure(
        name,
        "all",
        probes,
        truth,
        &mut |p| rows_of(idx_ref.search(p, K, f32::NEG_INFINITY, 0, &o)),
        &mut |ps| idx_ref.search_batch(ps, K, f32::NEG_INFINITY, 0, &o).into_iter().map(rows_of).collect(),
    );
    let bpc = match storage {
        Storage::F32 => 4,
        Storage::F16 => 2,
        Storage::Int8 { rerank: true } => 5,
        Storage::Int8 { rerank: false } => 1,
    };
    f.build_s = build_s;
    f.index_bytes = idx.memory_bytes();
    f.raw_bytes = idx.len() * DIM * bpc;
    f.rss_delta_bytes = rss_delta_bytes;
    f
}

/// fidex F32 with 1-bit sign codes, one build, measured at each number of re-ranked
/// candidates (`FIDEX_BENCH_SIGN_CANDIDATES`): recall against the candidates.
fn fidex_bits(rows: &[f32], probes: &[f32], truth: &[Vec<u32>], candidates: &[usize]) -> Vec<Figures> {
    let rss0 = rss_bytes();
    let t = Instant::now();
    let mut idx = Index::new(DIM, Metric::Cosine, Storage::F32);
    idx.reserve(rows.len() / DIM);
    idx.enable_sign_codes(candidates.first().copied().unwrap_or(64));
    for r in rows.chunks_exact(DIM) {
        idx.push(r, 1);
    }
    let build_s = t.elapsed().as_secs_f64();
    let rss_delta_bytes = rss_bytes() - rss0;
    let o = SearchOptions::default();
    let mut out = Vec::new();
    for &c in candidates {
        idx.enable_sign_codes(c);
        let idx_ref = &idx;
        let mut f = measure(
            &format!("fidex Bits rerank {c}"),
            "all",
            probes,
            truth,
            &mut |p| rows_of(idx_ref.search(p, K, f32::NEG_INFINITY, 0, &o)),
            &mut |ps| idx_ref.search_batch(ps, K, f32::NEG_INFINITY, 0, &o).into_iter().map(rows_of).collect(),
        );
        f.build_s = build_s;
        f.index_bytes = idx.memory_bytes();
        f.raw_bytes = idx.len() * (DIM * 4 + DIM / 8);
        f.rss_delta_bytes = rss_delta_bytes;
        out.push(f);
    }
    out
}

#[cfg(feature = "faiss")]
mod faiss_side {
    use super::*;
    use faiss::index::IndexImpl;
    use faiss::{Index as _, MetricType};
    use fidex::search::faiss::{omp_threads, set_omp_threads, FaissIvf};

    /// Sets OpenMP and (if present in the process) OpenBLAS thread counts.
    pub fn set_threads(n: usize) {
        set_omp_threads(n);
        extern "C" {
            fn dlsym(handle: *mut std::ffi::c_void, symbol: *const std::os::raw::c_char) -> *mut std::ffi::c_void;
        }
        // SAFETY: RTLD_DEFAULT (null) lookup of a C symbol; called only if found, with the
        // signature OpenBLAS documents: void openblas_set_num_threads(int).
        unsafe {
            let f = dlsym(std::ptr::null_mut(), c"openblas_set_num_threads".as_ptr());
            if !f.is_null() {
                let f: extern "C" fn(std::os::raw::c_int) = std::mem::transmute(f);
                f(n as std::os::raw::c_int);
            }
        }
    }

    pub fn default_threads() -> usize {
        omp_threads()
    }

    fn labels_to_rows(labels: &[i64], k: usize) -> Vec<Vec<u32>> {
        labels.chunks(k).map(|c| c.iter().filter(|&&l| l >= 0).map(|&l| l as u32).collect()).collect()
    }

    /// faiss IndexFlatIP ("Flat") or IndexScalarQuantizer QT_8bit ("SQ8"), inner product.
    pub fn faiss_index(desc: &str, rows: &[f32], probes: &[f32], truth: &[Vec<u32>], threads: &[usize]) -> Vec<Figures> {
        let rss0 = rss_bytes();
        let t = Instant::now();
        let mut idx: IndexImpl = faiss::index_factory(DIM as u32, desc, MetricType::InnerProduct).unwrap();
        if !idx.is_trained() {
            idx.train(rows).unwrap();
        }
        idx.add(rows).unwrap();
        let build_s = t.elapsed().as_secs_f64();
        let rss_delta_bytes = rss_bytes() - rss0;
        let n = idx.ntotal() as usize;
        let (code, extra) = if desc == "Flat" { (4 * DIM, 0) } else { (DIM, 2 * DIM * 4) };
        let name = if desc == "Flat" { "faiss IndexFlatIP" } else { "faiss SQ8" };
        let mut out = Vec::new();
        for &th in threads {
            set_threads(th);
            let ptr = idx.inner_ptr();
            let search = |q: &[f32]| -> Vec<Vec<u32>> {
                let nq = q.len() / DIM;
                let mut d = vec![0f32; nq * K];
                let mut l = vec![-1i64; nq * K];
                // SAFETY: the index outlives the call; buffers hold nq × K entries; faiss
                // search is const (concurrent-safe) on Flat and SQ indexes.
                let rc = unsafe {
                    faiss_sys::faiss_Index_search(ptr, nq as i64, q.as_ptr(), K as i64, d.as_mut_ptr(), l.as_mut_ptr())
                };
                assert_eq!(rc, 0, "faiss search failed");
                labels_to_rows(&l, K)
            };
            let mut f = measure(name, &th.to_string(), probes, truth, &mut |p| search(p).pop().unwrap(), &mut |ps| search(ps));
            f.build_s = build_s;
            f.index_bytes = n * code + extra;
            f.raw_bytes = n * code;
            f.rss_delta_bytes = rss_delta_bytes;
            out.push(f);
        }
        out
    }

    /// fidex's IVF backend (faiss IVF-Flat behind the fidex API), F32 row store; one build,
    /// measured at nprobe = nlist/16 and nlist/4.
    pub fn fidex_ivf(rows: &[f32], probes: &[f32], truth: &[Vec<u32>], threads: usize) -> Vec<Figures> {
        let n = rows.len() / DIM;
        let nlist: u32 = if n >= 50_000 { 1024 } else { 32 };
        set_threads(threads);
        let rss0 = rss_bytes();
        let t = Instant::now();
        let mut ivf = FaissIvf::new(DIM, Metric::Cosine, Storage::F32, nlist, 1, false).unwrap();
        for r in rows.chunks_exact(DIM) {
            ivf.push(r, 1);
        }
        let build_s = t.elapsed().as_secs_f64();
        let rss_delta_bytes = rss_bytes() - rss0;
        let o = SearchOptions::default();
        let mut out = Vec::new();
        for nprobe in [nlist / 16, nlist / 4] {
            ivf.set_nprobe(nprobe);
            let ivf_ref = &ivf;
            let mut f = measure(
                &format!("fidex IVF{nlist},Flat np={nprobe}"),
                &threads.to_string(),
                probes,
                truth,
                &mut |p| rows_of(ivf_ref.search(p, K, f32::NEG_INFINITY, 0, &o)),
                &mut |ps| ivf_ref.search_batch(ps, K, f32::NEG_INFINITY, 0, &o).into_iter().map(rows_of).collect(),
            );
            f.build_s = build_s;
            f.index_bytes = ivf.memory_bytes();
            f.raw_bytes = n * DIM * 4;
            f.rss_delta_bytes = rss_delta_bytes;
            out.push(f);
        }
        out
    }
}

fn env_list(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn jnum(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        "null".into()
    }
}

/// Bytes per component a fidex method's single-probe scan streams.
fn scanned_bytes_per_component(method: &str) -> f64 {
    match method {
        "fidex F32" => 4.0,
        "fidex F16" => 2.0,
        m if m.starts_with("fidex Bits") => 0.125,
        _ => 1.0,
    }
}

fn fig_json(f: &Figures) -> String {
    format!(
        "{{\"method\":\"{}\",\"threads\":\"{}\",\"build_s\":{},\"single_median_ms\":{},\"single_p90_ms\":{},\"batch_probes_per_s\":{},\"recall_at_1\":{},\"recall_at_10\":{},\"index_bytes\":{},\"raw_bytes\":{},\"index_over_raw\":{},\"rss_delta_bytes\":{}}}",
        f.method,
        f.threads,
        jnum(f.build_s),
        jnum(f.lat_median_ms),
        jnum(f.lat_p90_ms),
        jnum(f.batch_qps),
        jnum(f.recall1),
        jnum(f.recall10),
        f.index_bytes,
        f.raw_bytes,
        jnum(f.index_bytes as f64 / f.raw_bytes.max(1) as f64),
        f.rss_delta_bytes
    )
}

fn print_table(n: usize, figs: &[Figures]) {
    println!("\nN = {n}, d = {DIM}, k = {K}  (latency: median/p90 of {SINGLE} single probes; batch: {BATCH} probes in one call)");
    println!(
        "{:<30} {:>4} {:>9} {:>10} {:>10} {:>12} {:>8} {:>9} {:>10} {:>7} {:>10}",
        "method", "thr", "build s", "p50 ms", "p90 ms", "batch q/s", "rec@1", "rec@10", "index MB", "/raw", "rss Δ MB"
    );
    for f in figs {
        println!(
            "{:<30} {:>4} {:>9.2} {:>10.3} {:>10.3} {:>12.1} {:>8.4} {:>9.4} {:>10.1} {:>7.3} {:>10.1}",
            f.method,
            f.threads,
            f.build_s,
            f.lat_median_ms,
            f.lat_p90_ms,
            f.batch_qps,
            f.recall1,
            f.recall10,
            f.index_bytes as f64 / 1e6,
            f.index_bytes as f64 / f.raw_bytes.max(1) as f64,
            f.rss_delta_bytes as f64 / 1e6
        );
    }
}

/// faiss's best figures for one faiss method over its thread settings.
fn best(figs: &[Figures], method: &str) -> Option<(f64, String, f64, String)> {
    let of: Vec<&Figures> = figs.iter().filter(|f| f.method == method).collect();
    let lat = of.iter().min_by(|a, b| a.lat_median_ms.total_cmp(&b.lat_median_ms))?;
    let qps = of.iter().max_by(|a, b| a.batch_qps.total_cmp(&b.batch_qps))?;
    Some((lat.lat_median_ms, lat.threads.clone(), qps.batch_qps, qps.threads.clone()))
}

fn main() {
    let is_bench = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = if is_bench {
        env_list("FIDEX_BENCH_SIZES", "100000,1000000").iter().map(|s| s.parse().expect("FIDEX_BENCH_SIZES: numbers")).collect()
    } else {
        vec![2000]
    };
    let methods = env_list("FIDEX_BENCH_METHODS", "all");
    let want = |m: &str| methods.iter().any(|x| x == "all" || x == m);
    #[cfg(feature = "faiss")]
    let faiss_threads: Vec<usize> = env_list("FIDEX_BENCH_FAISS_THREADS", "1,2").iter().map(|s| s.parse().expect("threads")).collect();
    #[cfg(feature = "faiss")]
    let omp_default = faiss_side::default_threads();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "fidex search bench: kernels = {}, cpu = {cpu}, cores = {cores}, rayon threads = {}, faiss = {}, load average {}",
        kernel_names(),
        rayon::current_num_threads(),
        cfg!(feature = "faiss"),
        load_avg()
    );
    for st in [Storage::F32, Storage::F16, Storage::Int8 { rerank: true }] {
        println!("  dispatch {}", dispatch::choice(dispatch::ScanType::of(st)));
    }
    let mut json_sizes = Vec::new();
    for &n in &sizes {
        let ids = n.div_ceil(CAPTURES);
        let t = Instant::now();
        let mut rows = synth::clustered(ids, CAPTURES, DIM, 0xF1DE);
        rows.truncate(n * DIM);
        let (probes, _) = synth::probes(ids, DIM, 0xF1DE, BATCH, 0xBEEF);
        let gen_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let truth = ground_truth(&rows, &probes, K);
        let gt_s = t.elapsed().as_secs_f64();
        eprintln!("N={n}: data {gen_s:.1}s, exact ground truth {gt_s:.1}s");
        let (plain1, plain2) = (stream_gbs(&rows, 1), stream_gbs(&rows, 2));
        let huge = huge_page_copy(&rows);
        let (bw1, bw2) = (stream_gbs(&huge, 1), stream_gbs(&huge, 2));
        drop(huge);
        println!(
            "\nN = {n}: streaming read of the f32 matrix ({:.0} MB): {bw1:.1} GB/s (1 thread), {bw2:.1} GB/s (2 threads) on huge pages \
             as the index uses; {plain1:.1} / {plain2:.1} GB/s on 4 KiB pages; load average {}",
            (rows.len() * 4) as f64 / 1e6,
            load_avg()
        );
        let mut figs = Vec::new();
        for (key, name, st) in [
            ("f32", "fidex F32", Storage::F32),
            ("f16", "fidex F16", Storage::F16),
            ("int8r", "fidex Int8 rerank", Storage::Int8 { rerank: true }),
            ("int8", "fidex Int8", Storage::Int8 { rerank: false }),
        ] {
            if want(key) {
                eprintln!("  {name} ...");
                figs.push(fidex_index(name, st, &rows, &probes, &truth));
            }
        }
        if want("bits") {
            eprintln!("  fidex Bits (sign codes + exact re-rank) ...");
            let c: Vec<usize> = env_list("FIDEX_BENCH_SIGN_CANDIDATES", "16,64,256,1024")
                .iter()
                .map(|s| s.parse().expect("FIDEX_BENCH_SIGN_CANDIDATES: numbers"))
                .collect();
            figs.extend(fidex_bits(&rows, &probes, &truth, &c));
        }
        #[cfg(feature = "faiss")]
        {
            if want("faiss-flat") {
                eprintln!("  faiss IndexFlatIP ...");
                figs.extend(faiss_side::faiss_index("Flat", &rows, &probes, &truth, &faiss_threads));
            }
            if want("faiss-sq8") {
                eprintln!("  faiss SQ8 ...");
                figs.extend(faiss_side::faiss_index("SQ8", &rows, &probes, &truth, &faiss_threads));
            }
            if want("ivf") {
                eprintln!("  fidex IVF ...");
                let th = faiss_threads.iter().copied().max().unwrap_or(omp_default);
                figs.extend(faiss_side::fidex_ivf(&rows, &probes, &truth, th));
            }
            faiss_side::set_threads(omp_default);
        }
        print_table(n, &figs);
        // Scan bandwidth of the fidex single probes against the 2-thread streaming read.
        for f in figs.iter().filter(|f| f.method.starts_with("fidex") && !f.method.starts_with("fidex IVF")) {
            let b = scanned_bytes_per_component(&f.method) * (n * DIM) as f64;
            println!(
                "    {:<30} single probe scans {:.1} GB/s = {:.0} % of the 2-thread streaming read",
                f.method,
                b / f.lat_median_ms / 1e6,
                100.0 * b / f.lat_median_ms / 1e6 / bw2
            );
        }
        println!("  load average after N = {n}: {}", load_avg());
        // Ratios fidex / faiss (best thread setting of faiss).
        let mut ratios = Vec::new();
        let mut best_json = Vec::new();
        for fm in ["faiss IndexFlatIP", "faiss SQ8"] {
            let Some((lat, lat_th, qps, qps_th)) = best(&figs, fm) else { continue };
            best_json.push(format!(
                "\"{fm}\":{{\"single_median_ms\":{},\"single_threads\":{lat_th},\"batch_probes_per_s\":{},\"batch_threads\":{qps_th}}}",
                jnum(lat),
                jnum(qps)
            ));
            println!("  {fm} best: single {lat:.3} ms ({lat_th} thr), batch {qps:.1} probes/s ({qps_th} thr)");
            // Flat (exhaustive) fidex storages only: the IVF rows are approximate, not comparable.
            for f in figs.iter().filter(|f| f.method.starts_with("fidex") && !f.method.starts_with("fidex IVF")) {
                let s = lat / f.lat_median_ms;
                let b = f.batch_qps / qps;
                println!("    {:<30} vs {fm}: single speedup {s:>7.2}x, batch speedup {b:>7.2}x", f.method);
                ratios.push(format!(
                    "{{\"fidex\":\"{}\",\"faiss\":\"{fm}\",\"single_speedup\":{},\"batch_speedup\":{}}}",
                    f.method,
                    jnum(s),
                    jnum(b)
                ));
            }
        }
        json_sizes.push(format!(
            "{{\"n\":{n},\"stream_gbs_1t\":{bw1:.2},\"stream_gbs_2t\":{bw2:.2},\"stream_gbs_4k_pages_1t\":{plain1:.2},\"stream_gbs_4k_pages_2t\":{plain2:.2},\"load_avg\":\"{}\",\"dim\":{DIM},\"k\":{K},\"single_probes\":{SINGLE},\"batch_probes\":{BATCH},\"ground_truth\":\"exact f32 brute force (bench)\",\"figures\":[{}],\"faiss_best\":{{{}}},\"ratios\":[{}]}}",
            load_avg(),
            figs.iter().map(fig_json).collect::<Vec<_>>().join(","),
            best_json.join(","),
            ratios.join(",")
        ));
    }
    println!(
        "{{\"bench\":\"search\",\"kernels\":\"{}\",\"cpu\":\"{}\",\"cores\":{cores},\"faiss\":{},\"faiss_memory\":\"ntotal*code_size (+SQ8 trained 2*d floats)\",\"sizes\":[{}]}}",
        kernel_names(),
        cpu.replace('"', "'"),
        cfg!(feature = "faiss"),
        json_sizes.join(",")
    );
}
