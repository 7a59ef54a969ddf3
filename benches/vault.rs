//! Vault lifecycle figures (issue 2): enrollments per second in memory, commit time for one
//! more template into an N×512 vault, open time, and bytes on disk vs raw template bytes.
//! Prints a table and one JSON line. Run: `cargo bench --bench vault` (N=100000 by default;
//! FIDEX_BENCH_N to change).
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
    let t = Instant::now();
    let info = vault.commit().unwrap();
    let plus_one = t.elapsed().as_secs_f64();
    // One deletion (rewrites one segment) including receipt.
    let victim = vault.facial_ids()[n / 2];
    let t = Instant::now();
    vault.delete(&victim, fidex::DeletionReason::SubjectRequest).unwrap();
    let delete_secs = t.elapsed().as_secs_f64();
    let stats = vault.stats().unwrap();
    drop(vault);
    let t = Instant::now();
    let vault = Vault::open(&path, &key).unwrap();
    let open_secs = t.elapsed().as_secs_f64();
    // Enrollment with the duplicate check on (a 1:N search per enrollment), on a 10k sample.
    let raw = stats.template_bytes as f64;
    println!("fidex vault figures (N={n}, d={dim}, f32, kernel {})", stats.kernel);
    println!("  enroll in memory         {:>10.0} templates/s (no duplicate check)", n as f64 / enroll_secs);
    println!("  first commit (N new)     {:>10.3} s", first_commit);
    println!("  commit +1 template       {:>10.2} ms ({} files, {} bytes written)", plus_one * 1e3, info.files_written, info.bytes_written);
    println!("  delete 1 (+commit+receipt){:>9.2} ms", delete_secs * 1e3);
    println!("  open                     {:>10.3} s", open_secs);
    println!("  bytes on disk            {:>10} ({:.3}× raw template bytes {})", stats.bytes_on_disk, stats.bytes_on_disk as f64 / raw, stats.template_bytes);
    println!(
        "{{\"bench\":\"vault\",\"n\":{n},\"dim\":{dim},\"enroll_per_sec\":{:.1},\"first_commit_s\":{:.4},\"commit_plus_one_ms\":{:.3},\"commit_plus_one_bytes\":{},\"delete_ms\":{:.3},\"open_s\":{:.4},\"bytes_on_disk\":{},\"raw_template_bytes\":{},\"disk_over_raw\":{:.4}}}",
        n as f64 / enroll_secs, first_commit, plus_one * 1e3, info.bytes_written, delete_secs * 1e3, open_secs, stats.bytes_on_disk, stats.template_bytes, stats.bytes_on_disk as f64 / raw
    );
    drop(vault);
}
