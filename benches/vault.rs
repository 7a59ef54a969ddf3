//! Vault lifecycle figures (issue 2): enrollments per second in memory, commit time for one
//! more template into an N×512 vault, open time, and bytes on disk vs raw template bytes;
//! then enrollment through the C ABI, one `fidex_vault_enroll` call per template against one
//! `fidex_vault_enroll_many` call (each template with its own consent receipt, as a bulk
//! import has), with and without the duplicate check.
//! Prints tables and one JSON line each. Run: `cargo bench --bench vault` (N=100000 by
//! default, FIDEX_BENCH_N to change; the C ABI part uses FIDEX_BENCH_ENROLL_N, 20000;
//! `FIDEX_BENCH_ONLY=recalibration` runs the recalibration part alone,
//! `FIDEX_BENCH_ONLY=enroll_beside` the bulk enrollment beside searches).
use fidex::{ConsentReceipt, Vault, VaultConfig, VaultKey};
use std::time::Instant;

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is a smoke run.
    let real = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("FIDEX_BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(if real { 100_000 } else { 2_000 });
    if !real {
        println!("(smoke run; `cargo bench --bench vault` for the real figures)");
    }
    let dim = 512usize;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench-vault");
    let key = VaultKey::generate();
    let mut cfg = VaultConfig::new(dim as u32);
    cfg.duplicate_threshold = None; // measured separately below: it is one search per enrollment
    cfg.max_templates = n as u64 + 10;
    let vault = Vault::create(&path, &key, cfg).unwrap();
    let consent = ConsentReceipt::explicit("bench", "Bench Corp", "https://bench.example/privacy", &["authentication", "identification"], 1_700_000_000).unwrap();
    // Seeded identity-clustered unit vectors (splitmix64 + Box-Muller).
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut gauss = move || ((-2.0 * next().max(1e-300).ln()).sqrt() * (std::f64::consts::TAU * next()).cos()) as f32;
    let mut vectors = Vec::with_capacity(n * dim);
    for _ in 0..n {
        let v: Vec<f32> = (0..dim).map(|_| gauss()).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        vectors.extend(v.iter().map(|x| x / norm));
    }
    if std::env::var("FIDEX_BENCH_ONLY").is_ok_and(|v| v == "recalibration") {
        recalibration_stall(&vectors, dim, &consent, &key);
        return;
    }
    if std::env::var("FIDEX_BENCH_ONLY").is_ok_and(|v| v == "enroll_beside") {
        enroll_beside_searches(&vectors, dim, &consent, &key);
        return;
    }
    let t = Instant::now();
    for row in vectors.chunks_exact(dim) {
        vault.enroll(row, &consent, None).unwrap();
    }
    let enroll_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    vault.commit().unwrap();
    let first_commit = t.elapsed().as_secs_f64();
    // +1 template into the N-template vault.
    let extra: Vec<f32> = { let v: Vec<f32> = (0..dim).map(|_| gauss()).collect(); let n2 = v.iter().map(|x| x * x).sum::<f32>().sqrt(); v.iter().map(|x| x / n2).collect() };
    vault.enroll(&extra, &consent, None).unwrap();
    let f0 = fidex::storage::fsync_nanos();
    let t = Instant::now();
    let info = vault.commit().unwrap();
    let plus_one = t.elapsed().as_secs_f64();
    let plus_one_fsync = (fidex::storage::fsync_nanos() - f0) as f64 * 1e-9;
    // Deletions one at a time, each in another segment (each rewrites its segment): the
    // first (cold allocator, as in a fresh process), the median and the slowest.
    const DELETES: usize = 9;
    let ids = vault.facial_ids();
    let mut deletes: Vec<(f64, f64)> = (0..DELETES)
        .map(|i| {
            let victim = ids[i * ids.len() / DELETES];
            let f0 = fidex::storage::fsync_nanos();
            let t = Instant::now();
            vault.delete(&victim, fidex::DeletionReason::SubjectRequest).unwrap();
            (t.elapsed().as_secs_f64(), (fidex::storage::fsync_nanos() - f0) as f64 * 1e-9)
        })
        .collect();
    let delete_first = deletes[0];
    deletes.sort_by(|a, b| (a.0 - a.1).total_cmp(&(b.0 - b.1)));
    let (delete_secs, delete_fsync) = deletes[DELETES / 2];
    let delete_worst = deletes[DELETES - 1];
    let stats = vault.stats().unwrap();
    drop(vault);
    // Opened twice: the first open's 2 GB (at 1M) of rows may land on memory the process
    // never touched (slow first touches on some VMs); the second reuses what the first freed.
    let mut opens = [0.0f64; 2];
    for o in &mut opens {
        let t = Instant::now();
        let vault = Vault::open(&path, &key).unwrap();
        *o = t.elapsed().as_secs_f64();
        assert_eq!(vault.len(), n + 1 - DELETES);
    }
    let [open_secs, open_again_secs] = opens;
    let faiss_read = faiss_read_index_secs(&vectors, dim, dir.path());
    let raw = stats.template_bytes as f64;
    println!("fidex vault figures (N={n}, d={dim}, f32, kernel {}, {} threads)", stats.kernel, rayon::current_num_threads());
    println!("  enroll in memory         {:>10.0} templates/s (no duplicate check)", n as f64 / enroll_secs);
    println!("  first commit (N new)     {:>10.3} s", first_commit);
    println!(
        "  commit +1 template       {:>10.2} ms ({} files, {} bytes written; fsync {:.2} ms, without fsync {:.2} ms)",
        plus_one * 1e3, info.files_written, info.bytes_written, plus_one_fsync * 1e3, (plus_one - plus_one_fsync) * 1e3
    );
    println!(
        "  delete 1 (+commit+receipt){:>9.2} ms median of {DELETES} (fsync {:.2} ms = {:.0}%, without fsync {:.2} ms); without fsync: first {:.2} ms, slowest {:.2} ms",
        delete_secs * 1e3,
        delete_fsync * 1e3,
        100.0 * delete_fsync / delete_secs,
        (delete_secs - delete_fsync) * 1e3,
        (delete_first.0 - delete_first.1) * 1e3,
        (delete_worst.0 - delete_worst.1) * 1e3
    );
    let aead = aead_gb_per_s();
    println!(
        "  AES-256-GCM-SIV, one core {:>6.2} GB/s: decrypting the {:.2} GB on disk alone takes {:.3} s on {} threads",
        aead,
        stats.bytes_on_disk as f64 / 1e9,
        stats.bytes_on_disk as f64 / 1e9 / aead / rayon::current_num_threads() as f64,
        rayon::current_num_threads()
    );
    match faiss_read {
        Some((f, f2)) => println!(
            "  open                     {:>10.3} s, again {:.3} s (faiss read_index of the same rows, unencrypted: {:.3} s, again {:.3} s; ratios {:.2} / {:.2}; warm page cache both)",
            open_secs, open_again_secs, f, f2, open_secs / f, open_again_secs / f2
        ),
        None => println!("  open                     {:>10.3} s, again {:.3} s (faiss not built: `--features faiss` for read_index next to it)", open_secs, open_again_secs),
    }
    println!("  bytes on disk            {:>10} ({:.3}× raw template bytes {})", stats.bytes_on_disk, stats.bytes_on_disk as f64 / raw, stats.template_bytes);
    println!(
        "{{\"bench\":\"vault\",\"n\":{n},\"dim\":{dim},\"enroll_per_sec\":{:.1},\"first_commit_s\":{:.4},\"commit_plus_one_ms\":{:.3},\"commit_plus_one_fsync_ms\":{:.3},\"commit_plus_one_bytes\":{},\"delete_ms\":{:.3},\"delete_fsync_ms\":{:.3},\"delete_first_no_fsync_ms\":{:.3},\"delete_slowest_no_fsync_ms\":{:.3},\"open_s\":{:.4},\"open_again_s\":{:.4},\"faiss_read_index_s\":{},\"faiss_read_index_again_s\":{},\"aead_one_core_gb_s\":{:.3},\"bytes_on_disk\":{},\"raw_template_bytes\":{},\"disk_over_raw\":{:.4}}}",
        n as f64 / enroll_secs, first_commit, plus_one * 1e3, plus_one_fsync * 1e3, info.bytes_written, delete_secs * 1e3, delete_fsync * 1e3,
        (delete_first.0 - delete_first.1) * 1e3, (delete_worst.0 - delete_worst.1) * 1e3, open_secs, open_again_secs,
        faiss_read.map_or("null".to_string(), |f| format!("{:.4}", f.0)), faiss_read.map_or("null".to_string(), |f| format!("{:.4}", f.1)), aead, stats.bytes_on_disk, stats.template_bytes, stats.bytes_on_disk as f64 / raw
    );
    recalibration_stall(&vectors, dim, &consent, &key);
    enroll_beside_searches(&vectors, dim, &consent, &key);
    enroll_through_the_abi(real, &vectors, dim);
}

/// One `enroll_many` of the second half of the rows into a vault holding the first half,
/// while another thread searches in a loop: how long the searches wait. The batch is
/// checked under the shared lock and inserted in turns of the exclusive lock.
fn enroll_beside_searches(vectors: &[f32], dim: usize, consent: &ConsentReceipt, key: &VaultKey) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let n = vectors.len() / dim;
    let half = n / 2;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VaultConfig::new(dim as u32);
    cfg.duplicate_threshold = None;
    cfg.max_templates = n as u64 + 10;
    let vault = Vault::create(dir.path().join("v"), key, cfg).unwrap();
    fn items<'a>(rows: &'a [f32], dim: usize, consent: &'a ConsentReceipt) -> Vec<fidex::NewEnrollment<'a>> {
        rows.chunks_exact(dim).map(|t| fidex::NewEnrollment { template: t, consent, payload: None }).collect()
    }
    vault.enroll_many(&items(&vectors[..half * dim], dim, consent)).unwrap();
    let probe = &vectors[..dim];
    let search = || {
        let t = Instant::now();
        assert!(!vault.identify(probe, 10, Some(0.0), "identification").unwrap().is_empty());
        t.elapsed().as_secs_f64()
    };
    let mut before: Vec<f64> = (0..50).map(|_| search()).collect();
    before.sort_by(f64::total_cmp);
    let done = AtomicBool::new(false);
    let second = items(&vectors[half * dim..], dim, consent);
    let (enroll_secs, mut during) = std::thread::scope(|s| {
        let done = &done;
        let searcher = s.spawn(move || {
            let mut lat = Vec::new();
            while !done.load(Ordering::Relaxed) {
                lat.push(search());
            }
            lat
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        let t = Instant::now();
        vault.enroll_many(&second).unwrap();
        let secs = t.elapsed().as_secs_f64();
        std::thread::sleep(std::time::Duration::from_millis(50));
        done.store(true, Ordering::Relaxed);
        (secs, searcher.join().unwrap())
    });
    assert_eq!(vault.len(), n);
    during.sort_by(f64::total_cmp);
    let ms = |x: f64| x * 1e3;
    let slowest: Vec<String> = during.iter().rev().take(5).map(|&x| format!("{:.1}", ms(x))).collect();
    println!("enroll_many of {} templates into a vault of {half} while one thread searches (N={n}, d={dim}, f32)", n - half);
    println!(
        "  enroll_many {:.3} s; searches meanwhile: {}, median {:.2} ms, slowest {} ms (before it: median {:.2} ms, max {:.2} ms)",
        enroll_secs,
        during.len(),
        ms(during[during.len() / 2]),
        slowest.join(", "),
        ms(before[before.len() / 2]),
        ms(before[before.len() - 1])
    );
    println!(
        "{{\"bench\":\"enroll_beside_searches\",\"n\":{n},\"batch\":{},\"enroll_s\":{enroll_secs:.4},\"searches\":{},\"median_ms\":{:.3},\"longest_ms\":{:.3},\"median_before_ms\":{:.3},\"max_before_ms\":{:.3}}}",
        n - half,
        during.len(),
        ms(during[during.len() / 2]),
        ms(during[during.len() - 1]),
        ms(before[before.len() / 2]),
        ms(before[before.len() - 1])
    );
}

/// Sealing throughput of the vault's cipher (the crate and version fidex uses) on one core,
/// GB/s: best of 5 passes over 16 MiB. Opening cannot beat decrypting every byte at this rate.
fn aead_gb_per_s() -> f64 {
    use aes_gcm_siv::aead::{AeadInOut, KeyInit};
    let cipher = aes_gcm_siv::Aes256GcmSiv::new_from_slice(&[7u8; 32]).unwrap();
    let mut buf = vec![3u8; 16 << 20];
    let mut best = f64::MAX;
    for i in 0..5u8 {
        let t = Instant::now();
        let tag = cipher.encrypt_inout_detached(&aes_gcm_siv::Nonce::from([i; 12]), b"", buf.as_mut_slice().into()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(tag);
    }
    buf.len() as f64 / best / 1e9
}

/// One `fidex_vault_enroll` per template vs one `fidex_vault_enroll_many`, through the C ABI.
fn enroll_through_the_abi(real: bool, vectors: &[f32], dim: usize) {
    use fidex::ffi::*;
    use std::ptr::{null, null_mut};
    let m: usize = std::env::var("FIDEX_BENCH_ENROLL_N").ok().and_then(|s| s.parse().ok()).unwrap_or(if real { 20_000 } else { 500 });
    let m = m.min(vectors.len() / dim);
    // Distinct receipts: a bulk import carries one consent per subject.
    let consents: Vec<String> = (0..m)
        .map(|i| {
            ConsentReceipt::explicit(&format!("subject-{i}"), "Bench Corp", "https://bench.example/privacy", &["authentication", "identification"], 1_700_000_000)
                .unwrap()
                .to_json()
        })
        .collect();
    let mut all = Vec::new();
    let mut offsets = vec![0usize];
    for c in &consents {
        all.extend_from_slice(c.as_bytes());
        offsets.push(all.len());
    }
    let key = VaultKey::generate();
    let mut rows = Vec::new();
    for dup in [None, Some(0.9f32)] {
        let count = if dup.is_some() { m / 2 } else { m };
        let mut times = [0.0f64; 2];
        for (which, t) in times.iter_mut().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let mut cfg = VaultConfig::new(dim as u32);
            cfg.duplicate_threshold = dup;
            // Created through Rust (the configuration), used through the C ABI.
            drop(Vault::create(dir.path().join("v"), &key, cfg).unwrap());
            let path = dir.path().join("v").to_str().unwrap().to_string();
            let mut v = null_mut();
            // SAFETY (bench): every pointer below is a live local or slice for the call.
            let st = unsafe { fidex_vault_open(path.as_ptr().cast(), path.len(), key_handle(&key), &mut v, null_mut()) };
            assert_eq!(st, FIDEX_OK);
            let start = Instant::now();
            if which == 0 {
                for (i, row) in vectors[..count * dim].chunks_exact(dim).enumerate() {
                    let c = &consents[i];
                    let mut id = fidex_facial_id::default();
                    let st = unsafe { fidex_vault_enroll(v, row.as_ptr(), dim, c.as_ptr().cast(), c.len(), null(), 0, &mut id, null_mut()) };
                    assert_eq!(st, FIDEX_OK);
                }
            } else {
                let mut ids = vec![fidex_facial_id::default(); count];
                let st = unsafe {
                    fidex_vault_enroll_many(v, vectors.as_ptr(), count * dim, all.as_ptr().cast(), offsets[count], offsets.as_ptr(), count + 1, null(), 0, null(), 0, ids.as_mut_ptr(), count, null_mut())
                };
                assert_eq!(st, FIDEX_OK);
            }
            *t = start.elapsed().as_secs_f64();
            unsafe { fidex_vault_free(v) };
        }
        rows.push((dup, count, times));
    }
    println!("enrollment through the C ABI (d={dim}, one consent receipt per template, in memory)");
    println!("  {:<22} {:>8} {:>14} {:>14} {:>9}", "duplicate check", "n", "n × enroll", "enroll_many", "speed-up");
    let mut json = Vec::new();
    for (dup, count, [single, many]) in &rows {
        let name = dup.map_or("off".to_string(), |t| format!("on (threshold {t})"));
        println!("  {:<22} {:>8} {:>11.3} s {:>11.3} s {:>8.1}×", name, count, single, many, single / many);
        json.push(format!(
            "{{\"duplicate_check\":{},\"n\":{count},\"single_s\":{single:.4},\"many_s\":{many:.4},\"single_us_per_template\":{:.2},\"many_us_per_template\":{:.2},\"speedup\":{:.2}}}",
            dup.is_some(),
            single * 1e6 / *count as f64,
            many * 1e6 / *count as f64,
            single / many
        ));
    }
    println!("{{\"bench\":\"enroll_abi\",\"dim\":{dim},\"rows\":[{}]}}", json.join(","));
}

/// A `fidex_key` handle for `key`, via its text form (freed at process exit: one per run).
fn key_handle(key: &VaultKey) -> *const fidex::ffi::fidex_key {
    use std::sync::OnceLock;
    static K: OnceLock<usize> = OnceLock::new();
    let p = *K.get_or_init(|| {
        let text = key.export_text();
        let mut k = std::ptr::null_mut();
        // SAFETY (bench): text is a live string; k is a local out-parameter.
        let st = unsafe { fidex::ffi::fidex_key_import_text(text.as_ptr().cast(), text.len(), &mut k, std::ptr::null_mut()) };
        assert_eq!(st, fidex::ffi::FIDEX_OK);
        k as usize
    });
    p as *const fidex::ffi::fidex_key
}

/// faiss `read_index` of an IndexFlatIP holding the same rows, unencrypted (what a user
/// storing templates in a plain faiss file would wait for at start-up).
#[cfg(feature = "faiss")]
fn faiss_read_index_secs(vectors: &[f32], dim: usize, dir: &std::path::Path) -> Option<(f64, f64)> {
    use faiss::Index as _;
    let mut idx = faiss::index::flat::FlatIndexImpl::new_ip(dim as u32).ok()?;
    idx.add(vectors).ok()?;
    let file = dir.join("faiss-flat.index");
    faiss::write_index(&idx, file.to_str()?).ok()?;
    drop(idx);
    // Read twice, as the vault is opened twice: (first, again).
    let mut secs = [0.0f64; 2];
    for s in &mut secs {
        let t = Instant::now();
        let back = faiss::read_index(file.to_str()?).ok()?;
        *s = t.elapsed().as_secs_f64();
        assert_eq!(back.ntotal() as usize, vectors.len() / dim);
    }
    let _ = std::fs::remove_file(&file);
    Some((secs[0], secs[1]))
}

#[cfg(not(feature = "faiss"))]
fn faiss_read_index_secs(_: &[f32], _: usize, _: &std::path::Path) -> Option<(f64, f64)> {
    None
}

/// Searches while an int8 recalibration of the whole vault runs: the longest a search
/// took, next to the same searches before it (issue 15: no stall over 50 ms).
fn recalibration_stall(vectors: &[f32], dim: usize, consent: &ConsentReceipt, key: &VaultKey) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let n = vectors.len() / dim;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = VaultConfig::new(dim as u32);
    cfg.duplicate_threshold = None;
    cfg.max_templates = n as u64 + 10;
    cfg.storage = fidex::StorageType::Int8 { rerank: true };
    let vault = Vault::create(dir.path().join("v"), key, cfg).unwrap();
    for chunk in vectors.chunks(4096 * dim) {
        let items: Vec<fidex::NewEnrollment> = chunk.chunks_exact(dim).map(|t| fidex::NewEnrollment { template: t, consent, payload: None }).collect();
        vault.enroll_many(&items).unwrap();
    }
    let probe = &vectors[..dim];
    let search = || {
        let t = Instant::now();
        let hits = vault.identify(probe, 10, Some(0.0), "identification").unwrap();
        assert!(!hits.is_empty());
        t.elapsed().as_secs_f64()
    };
    let mut before: Vec<f64> = (0..50).map(|_| search()).collect();
    before.sort_by(f64::total_cmp);
    let done = AtomicBool::new(false);
    let (recal_secs, during) = std::thread::scope(|s| {
        let t = Instant::now() + std::time::Duration::from_millis(20);
        let done = &done;
        let searcher = s.spawn(move || {
            let mut lat = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let at = Instant::now().saturating_duration_since(t).as_secs_f64();
                lat.push((at, search()));
            }
            lat
        });
        std::thread::sleep(t.saturating_duration_since(Instant::now()));
        assert!(vault.recalibrate_int8().unwrap());
        let recal = t.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        (recal, searcher.join().unwrap())
    });
    let (worst_at, worst) = during.iter().copied().fold((0.0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let mut lat: Vec<f64> = during.iter().map(|d| d.1).collect();
    lat.sort_by(f64::total_cmp);
    let over = lat.iter().filter(|&&l| l > before[before.len() - 1]).count();
    let mut slowest = during.clone();
    slowest.sort_by(|a, b| b.1.total_cmp(&a.1));
    let slowest: Vec<String> = slowest.iter().take(5).map(|(at, l)| format!("{:.1} ms at {at:.2} s", l * 1e3)).collect();
    println!("int8 recalibration of the whole vault (N={n}, d={dim}, int8 + exact re-rank) while one thread searches");
    println!(
        "  recalibration {:.3} s; searches meanwhile: {}, longest {:.2} ms (started {:.3} s in), median {:.2} ms, {} slower than the slowest before (before it: median {:.2} ms, max {:.2} ms)",
        recal_secs,
        during.len(),
        worst * 1e3,
        worst_at,
        lat.get(lat.len() / 2).copied().unwrap_or(0.0) * 1e3,
        over,
        before[before.len() / 2] * 1e3,
        before[before.len() - 1] * 1e3
    );
    println!("  the five slowest during it: {}", slowest.join(", "));
    println!(
        "{{\"bench\":\"recalibration_stall\",\"n\":{n},\"dim\":{dim},\"recalibration_s\":{recal_secs:.4},\"searches_during\":{},\"longest_search_ms\":{:.3},\"longest_started_s\":{worst_at:.3},\"slower_than_max_before\":{over},\"median_before_ms\":{:.3},\"max_before_ms\":{:.3}}}",
        during.len(), worst * 1e3, before[before.len() / 2] * 1e3, before[before.len() - 1] * 1e3
    );
    // What the vault adds to a search: the same rows in a bare `Index` (same storage,
    // metric and purpose-tag filter), timed alternately with `identify` in this process.
    let cfg = vault.config();
    let mut index = fidex::search::Index::new(dim, cfg.metric, cfg.storage);
    for row in vectors.chunks_exact(dim) {
        index.push(row, 1);
    }
    index.recalibrate();
    let (mut tv, mut ti) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        tv.push(search());
        let t = Instant::now();
        let hits = index.search(probe, 10, 0.0, 1, &Default::default());
        assert!(!hits.is_empty());
        ti.push(t.elapsed().as_secs_f64());
    }
    tv.sort_by(f64::total_cmp);
    ti.sort_by(f64::total_cmp);
    let (v, i) = (tv[tv.len() / 2], ti[ti.len() / 2]);
    let stream = (n * dim) as f64 / i / 1e9;
    println!(
        "  identify through the vault {:.2} ms vs a bare Index of the same rows {:.2} ms (medians of 40, alternating; {:+.1} %); the Index streams the int8 rows at {:.1} GB/s",
        v * 1e3,
        i * 1e3,
        100.0 * (v / i - 1.0),
        stream
    );
    println!("{{\"bench\":\"identify_overhead\",\"n\":{n},\"dim\":{dim},\"vault_identify_ms\":{:.3},\"index_search_ms\":{:.3},\"int8_gb_s\":{stream:.2}}}", v * 1e3, i * 1e3);
}
