//! End-to-end tests of the `fidex` binary: every command's happy path, `--json` output, and
//! the error paths with their exit codes.

use assert_cmd::Command;
use fidex::ConsentReceipt;
use predicates::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const DIM: usize = 8;

/// A scratch directory with a key file and helpers to run `fidex` in it.
struct T {
    dir: tempfile::TempDir,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl T {
    fn new() -> T {
        T {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `fidex` with a clean environment, run in the scratch directory.
    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fidex"));
        c.current_dir(self.dir.path())
            .env_remove("FIDEX_KEY")
            .env_remove("FIDEX_KEY_FILE")
            .env_remove("FIDEX_RECEIPT_DIR");
        c
    }

    /// `fidex` with FIDEX_KEY_FILE=key.
    fn k(&self) -> Command {
        let mut c = self.cmd();
        c.env("FIDEX_KEY_FILE", self.p("key"));
        c
    }

    fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.p(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, data).unwrap();
        p
    }

    /// Key file `key` and an 8-d vault `v`.
    fn setup() -> T {
        let t = T::new();
        t.cmd().args(["key", "new", "key"]).assert().success();
        t.k().args(["create", "v", "--dim", "8"]).assert().success();
        t
    }

    fn consent(&self, name: &str, subject: &str, purposes: &[&str]) -> PathBuf {
        let c = ConsentReceipt::explicit(
            subject,
            "Acme",
            "https://acme.example/privacy",
            purposes,
            now() - 60,
        )
        .unwrap();
        self.write(name, c.to_json())
    }

    /// Enrolls `face(i)` under consent for `purposes`; returns the Facial ID.
    fn enroll(&self, i: usize, purposes: &[&str]) -> String {
        let c = self.consent(&format!("c{i}.json"), &format!("s{i}"), purposes);
        let v = self.write(&format!("f{i}.json"), vec_json(&face(i, 0.0)));
        let out = self
            .k()
            .args(["--json", "enroll", "v", "--consent"])
            .arg(c)
            .arg("--vectors")
            .arg(v)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: Value = serde_json::from_slice(&out.stdout).unwrap();
        j["enrolled"][0]["facial_id"].as_str().unwrap().to_string()
    }

    fn json(&self, mut c: Command) -> Value {
        let out = c.arg("--json").output().unwrap();
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn vk(&self) -> String {
        let out = self.k().args(["key", "public", "v"]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// Identity `i` (a basis direction) seen with a small perturbation `noise`.
fn face(i: usize, noise: f32) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    v[i % DIM] = 1.0;
    v[(i + 1) % DIM] += noise;
    v
}

fn vec_json(v: &[f32]) -> String {
    serde_json::to_string(v).unwrap()
}

fn npy(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(payload);
    out
}

fn npy_f32(rows: &[Vec<f32>]) -> Vec<u8> {
    let data: Vec<u8> = rows
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    npy(
        "<f4",
        &format!("({}, {})", rows.len(), rows[0].len()),
        &data,
    )
}

fn stderr_json(out: &std::process::Output) -> Value {
    let s = String::from_utf8_lossy(&out.stderr);
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {s}"))
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exited")
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

// ------------------------------------------------------------------ help

#[test]
fn help_documents_commands_exit_codes_and_formats() {
    let t = T::new();
    let out = t.cmd().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for c in [
        "key",
        "create",
        "info",
        "stats",
        "check",
        "enroll",
        "identify",
        "verify",
        "delete",
        "purge",
        "withdraw",
        "receipt",
        "audit",
        "export-subject",
        "processing-record",
        "rotate-key",
        "compact",
        "demo",
        "Exit codes",
        "FIDEX_KEY_FILE",
    ] {
        assert!(help.contains(c), "--help lacks {c}");
    }
    t.cmd()
        .args(["enroll", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("manifest").and(predicate::str::contains("payload_hex")));
    t.cmd()
        .args(["receipt", "verify", "--help"])
        .assert()
        .success();
    t.cmd().arg("no-such-command").assert().code(2);
    t.cmd()
        .args(["create", "v"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--dim"));
}

// ------------------------------------------------------------------ keys

#[test]
fn key_new_is_0600_and_never_overwritten() {
    let t = T::new();
    t.cmd()
        .args(["key", "new", "key"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fingerprint"));
    let text = std::fs::read_to_string(t.p("key")).unwrap();
    assert!(text.starts_with("fidex-key-1:"));
    #[cfg(unix)]
    assert_eq!(mode(&t.p("key")), 0o600);
    let out = t
        .cmd()
        .args(["--json", "key", "new", "key"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 12);
    assert_eq!(stderr_json(&out)["error"]["exit_code"], 12);
    assert_eq!(
        std::fs::read_to_string(t.p("key")).unwrap(),
        text,
        "key file must not change"
    );
    let j = t.json({
        let mut c = t.cmd();
        c.args(["key", "new", "key2"]);
        c
    });
    assert_eq!(j["mode"], "0600");
    // Directory of the key file missing: I/O error.
    t.cmd()
        .args(["key", "new", "missing-dir/key"])
        .assert()
        .code(9);
}

#[test]
fn key_sources_file_env_text_and_refusals() {
    let t = T::new();
    t.cmd().args(["key", "new", "key"]).assert().success();
    let fp = |c: Command| -> String { t.json(c)["fingerprint"].as_str().unwrap().to_string() };
    let a = fp({
        let mut c = t.cmd();
        c.args(["key", "fingerprint", "--key-file", "key"]);
        c
    });
    let b = fp({
        let mut c = t.k();
        c.args(["key", "fingerprint"]);
        c
    });
    let text = std::fs::read_to_string(t.p("key")).unwrap();
    let c = fp({
        let mut c = t.cmd();
        c.env("FIDEX_KEY", text.trim()).args(["key", "fingerprint"]);
        c
    });
    assert_eq!(a, b);
    assert_eq!(b, c);
    // No key at all.
    let out = t
        .cmd()
        .args(["--json", "key", "fingerprint"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 6);
    let e = stderr_json(&out);
    assert_eq!(e["error"]["code"], 1016);
    assert!(e["error"]["hint"].as_str().unwrap().contains("--key-file"));
    // Malformed key text, missing key file, key on the command line.
    t.cmd()
        .env("FIDEX_KEY", "fidex-key-1:00")
        .args(["key", "fingerprint"])
        .assert()
        .code(6);
    t.cmd()
        .args(["key", "fingerprint", "--key-file", "nope"])
        .assert()
        .code(6);
    t.cmd()
        .args(["key", "fingerprint", "--key"])
        .arg(text.trim())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("command line"));
    // A group-readable key file works but warns.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(t.p("key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        t.k()
            .args(["key", "fingerprint"])
            .assert()
            .success()
            .stderr(predicate::str::contains("chmod 600"));
    }
}

// ------------------------------------------------------------------ create / info / stats / check

#[test]
fn create_info_stats_check() {
    let t = T::setup();
    // info needs no key.
    let info = t.json({
        let mut c = t.cmd();
        c.args(["info", "v"]);
        c
    });
    assert_eq!(info["dimension"], 8);
    assert_eq!(info["metric"], "cosine");
    assert_eq!(info["storage"], "f32");
    assert_eq!(info["cancelable"], false);
    t.cmd()
        .args(["info", "v"])
        .assert()
        .success()
        .stdout(predicate::str::contains("dimension:      8"));
    let s = t.json({
        let mut c = t.k();
        c.args(["stats", "v"]);
        c
    });
    assert_eq!(s["stats"]["templates"], 0);
    assert_eq!(
        s["config"]["purposes"],
        serde_json::json!(["authentication", "identification"])
    );
    assert_eq!(s["config"]["retention_secs"], 3 * 365 * 86400);
    t.k()
        .args(["stats", "v"])
        .assert()
        .success()
        .stdout(predicate::str::contains("templates:"));
    let c = t.json({
        let mut c = t.k();
        c.args(["check", "v"]);
        c
    });
    assert_eq!(c["ok"], true);
    t.k()
        .args(["check", "v"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("OK"));
    // Creating over an existing vault is refused.
    t.k().args(["create", "v", "--dim", "8"]).assert().code(12);
}

#[test]
fn create_options_and_invalid_config() {
    let t = T::new();
    t.cmd().args(["key", "new", "key"]).assert().success();
    let j = t.json({
        let mut c = t.k();
        c.args([
            "create",
            "w",
            "--dim",
            "16",
            "--metric",
            "ip",
            "--storage",
            "int8-exact",
            "--retention",
            "2y",
            "--purposes",
            "login,search",
            "--cancelable",
            "--threshold",
            "0.7",
            "--duplicate-threshold",
            "off",
            "--max-templates",
            "5",
            "--vk-out",
            "vk.txt",
        ]);
        c
    });
    // The library's names (VaultConfig::to_json); `ip` and `int8-exact` are CLI aliases.
    assert_eq!(j["config"]["metric"], "inner_product");
    assert_eq!(j["config"]["storage"], "int8");
    assert_eq!(j["config"]["cancelable"], true);
    assert_eq!(j["config"]["retention_secs"], 2 * 365 * 86400);
    assert_eq!(
        j["config"]["purposes"],
        serde_json::json!(["login", "search"])
    );
    assert_eq!(j["config"]["duplicate_threshold"], Value::Null);
    let vk = std::fs::read_to_string(t.p("vk.txt")).unwrap();
    assert_eq!(vk.trim(), j["verification_key"].as_str().unwrap());
    let info = t.json({
        let mut c = t.cmd();
        c.args(["info", "w"]);
        c
    });
    assert_eq!(info["storage"], "int8");
    assert_eq!(info["cancelable"], true);
    // `--storage int8` means what "int8" means everywhere else: int8 with exact re-rank;
    // int8 without re-rank is int8_no_rerank (or int8-only).
    for (option, given, shown) in [
        ("storage", "int8", "int8"),
        ("storage", "int8_no_rerank", "int8_no_rerank"),
        ("storage", "int8-only", "int8_no_rerank"),
        ("storage", "f16", "f16"),
        ("metric", "inner_product", "inner_product"),
        ("metric", "ip", "inner_product"),
        ("metric", "l2", "l2"),
    ] {
        let dir = format!("{option}-{given}");
        t.k().args(["create", &dir, "--dim", "8", &format!("--{option}"), given]).assert().success();
        let info = t.json({
            let mut c = t.cmd();
            c.args(["info", &dir]);
            c
        });
        assert_eq!(info[option], shown, "--{option} {given}");
    }
    for (args, what) in [
        (vec!["--retention", "4y"], "retention over 3 years"),
        (vec!["--retention", "soon"], "bad duration"),
        (vec!["--purposes", "a b"], "bad purpose"),
        (vec!["--duplicate-threshold", "x"], "bad threshold"),
    ] {
        t.k()
            .args(["create", "x", "--dim", "8"])
            .args(&args)
            .assert()
            .code(2);
        assert!(
            !t.p("x").join("fidex.vault").exists(),
            "{what} created a vault"
        );
    }
    t.k()
        .args(["create", "x", "--dim", "8", "--nlist", "16"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--backend ivf"));
    t.k()
        .args(["create", "x", "--dim", "8", "--backend", "ivf", "--nlist", "4", "--nprobe", "5"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("nprobe"));
    let ivf = t
        .k()
        .args(["--json", "create", "ivf", "--dim", "8", "--backend", "ivf", "--nlist", "4", "--nprobe", "2", "--sq8"])
        .output()
        .unwrap();
    if cfg!(feature = "faiss") {
        assert!(ivf.status.success(), "{}", String::from_utf8_lossy(&ivf.stderr));
        let j: Value = serde_json::from_slice(&ivf.stdout).unwrap();
        assert_eq!(j["config"]["backend"], "faiss_ivf");
        assert_eq!(
            (j["config"]["ivf_nlist"].as_u64(), j["config"]["ivf_nprobe"].as_u64(), j["config"]["ivf_sq8"].as_bool()),
            (Some(4), Some(2), Some(true))
        );
        let stats = t.json({
            let mut c = t.k();
            c.args(["stats", "ivf"]);
            c
        });
        assert_eq!(stats["stats"]["backend"], "faiss-ivf(nlist=4,nprobe=2,sq8)");
        assert_eq!(stats["config"]["backend"], "faiss_ivf");
        assert_eq!(stats["config"]["ivf_nlist"], 4);
    } else {
        assert_eq!(ivf.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&ivf.stderr).contains("feature `faiss`"));
        assert!(!t.p("ivf").join("fidex.vault").exists());
    }
    t.k().args(["create", "x", "--dim", "0"]).assert().code(2);
    t.k()
        .args(["create", "x", "--dim", "8", "--metric", "hamming"])
        .assert()
        .code(2);
}

// ------------------------------------------------------------------ enroll / identify / verify

#[test]
fn enroll_identify_verify() {
    let t = T::setup();
    let c = t.consent("alice.json", "alice", &["authentication", "identification"]);
    t.write("alice.npy", npy_f32(&[face(0, 0.0)]));
    let out = t
        .k()
        .args([
            "--json",
            "enroll",
            "v",
            "--vectors",
            "alice.npy",
            "--payload",
            "user-1",
            "--receipt",
            "alice-receipt.json",
            "--consent",
        ])
        .arg(&c)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let alice = j["enrolled"][0]["facial_id"].as_str().unwrap().to_string();
    assert_eq!(j["committed"], true);
    // Human output of a single enrollment.
    let bob_c = t.consent("bob.json", "bob", &["authentication"]);
    t.write("bob.csv", "# bob\n0,1,0,0,0,0,0,0\n");
    t.k()
        .args(["enroll", "v", "--vectors", "bob.csv", "--consent"])
        .arg(&bob_c)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Enrolled Facial ID").and(predicate::str::contains("bob")),
        );
    // The enrollment receipt verifies offline.
    let vk = t.vk();
    t.cmd()
        .args(["receipt", "verify", "alice-receipt.json", "--key", &vk])
        .assert()
        .success()
        .stdout(predicate::str::contains("OK"));
    // Identify alice.
    t.write("probe.json", vec_json(&face(0, 0.1)));
    let id = t.json({
        let mut c = t.k();
        c.args(["identify", "v", "--vectors", "probe.json", "-k", "2"]);
        c
    });
    assert_eq!(id["results"][0]["matches"][0]["facial_id"], alice.as_str());
    assert!(id["results"][0]["matches"][0]["score"].as_f64().unwrap() > 0.9);
    assert_eq!(id["purpose"], "identification");
    t.k()
        .args(["identify", "v", "--vectors", "probe.json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(alice.as_str()));
    // Bob consented to authentication only: not identified, but verified.
    t.write("bob-probe.json", vec_json(&face(1, 0.1)));
    t.k()
        .args(["identify", "v", "--vectors", "bob-probe.json"])
        .assert()
        .code(10)
        .stdout(predicate::str::contains("no match"));
    let bob = {
        let s = t.json({
            let mut c = t.k();
            c.args(["audit", "v"]);
            c
        });
        s["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "enrolled")
            .nth(1)
            .unwrap()["facial_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    t.k()
        .args(["verify", "v", &bob, "--vectors", "bob-probe.json"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("MATCH"));
    // Bob's consent does not cover identification: verify for it is refused (consent, exit 4).
    t.k()
        .args([
            "verify",
            "v",
            &bob,
            "--vectors",
            "bob-probe.json",
            "--purpose",
            "identification",
        ])
        .assert()
        .code(4);
    // Impostor: exit 10, JSON says matched false.
    let out = t
        .k()
        .args([
            "--json",
            "verify",
            "v",
            &alice,
            "--vectors",
            "bob-probe.json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 10);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["matched"], false);
    // Batch identify (two probes, one unmatched → exit 10), with per-probe results.
    t.write(
        "two.json",
        format!("[{}, {}]", vec_json(&face(0, 0.1)), vec_json(&face(5, 0.0))),
    );
    let out = t
        .k()
        .args(["--json", "identify", "v", "--vectors", "two.json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 10);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["results"].as_array().unwrap().len(), 2);
    assert_eq!(j["unmatched_probes"], 1);
    // --row picks one.
    t.k()
        .args(["identify", "v", "--vectors", "two.json", "--row", "0"])
        .assert()
        .success();
    t.k()
        .args(["identify", "v", "--vectors", "two.json", "--row", "2"])
        .assert()
        .code(2);
    // Export shows the payload.
    let ex = t.json({
        let mut c = t.k();
        c.args(["export-subject", "v", &alice]);
        c
    });
    assert_eq!(ex["payload_hex"], "757365722d31");
}

#[test]
fn vector_formats() {
    let t = T::setup();
    // float64 1-D npy.
    let raw: Vec<u8> = face(2, 0.0)
        .iter()
        .flat_map(|x| (*x as f64).to_le_bytes())
        .collect();
    t.write("f64.npy", npy("<f8", "(8,)", &raw));
    let c = t.consent("c.json", "s", &["authentication", "identification"]);
    t.k()
        .args(["enroll", "v", "--vectors", "f64.npy", "--consent"])
        .arg(&c)
        .assert()
        .success();
    // Multi-row file without --row → usage; with --row → ok.
    t.write("rows.npy", npy_f32(&[face(3, 0.0), face(4, 0.0)]));
    t.k()
        .args(["enroll", "v", "--vectors", "rows.npy", "--consent"])
        .arg(&c)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--row"));
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "rows.npy",
            "--row",
            "1",
            "--consent",
        ])
        .arg(&c)
        .assert()
        .success();
    // Explicit --format for an unknown extension.
    t.write("probe.vec", "0,0,1,0,0,0,0,0\n");
    t.k()
        .args(["identify", "v", "--vectors", "probe.vec"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--format"));
    t.k()
        .args(["identify", "v", "--vectors", "probe.vec", "--format", "csv"])
        .assert()
        .success();
}

#[test]
fn bad_vector_files_are_rejected_with_exit_2() {
    let t = T::setup();
    let c = t.consent("c.json", "s", &["authentication"]);
    let good = npy_f32(&[face(0, 0.0)]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated.npy", good[..good.len() - 3].to_vec()),
        ("trailing.npy", [good.clone(), vec![0]].concat()),
        ("bigendian.npy", npy(">f4", "(1, 8)", &good[64..])),
        ("int.npy", npy("<i4", "(1, 8)", &good[64..])),
        ("3d.npy", npy("<f4", "(1, 2, 4)", &good[64..])),
        ("notnpy.npy", b"hello world, not numpy".to_vec()),
        ("wrongdim.npy", npy_f32(&[vec![1.0; 4]])),
        ("nan.csv", b"1,0,0,0,0,0,0,nan\n".to_vec()),
        ("ragged.csv", b"1,0,0,0,0,0,0,0\n1,0\n".to_vec()),
        ("text.csv", b"a,b,c\n".to_vec()),
        ("bad.json", b"{\"not\": \"a vector\"}".to_vec()),
        ("strings.json", b"[\"1\", 0, 0, 0, 0, 0, 0, 0]".to_vec()),
        ("zero.json", b"[0,0,0,0,0,0,0,0]".to_vec()),
        ("empty.json", b"[]".to_vec()),
    ];
    for (name, bytes) in cases {
        t.write(name, &bytes);
        let out = t
            .k()
            .args(["--json", "enroll", "v", "--vectors", name, "--consent"])
            .arg(&c)
            .output()
            .unwrap();
        assert_eq!(
            code(&out),
            2,
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let e = stderr_json(&out);
        assert!(!e["error"]["message"].as_str().unwrap().is_empty());
    }
    // Missing file: I/O.
    t.k()
        .args(["enroll", "v", "--vectors", "nope.npy", "--consent"])
        .arg(&c)
        .assert()
        .code(9);
    // Nothing was enrolled.
    let s = t.json({
        let mut c = t.k();
        c.args(["stats", "v"]);
        c
    });
    assert_eq!(s["stats"]["templates"], 0);
}

#[test]
fn consent_is_required_valid_and_current() {
    let t = T::setup();
    t.write("f.json", vec_json(&face(0, 0.0)));
    // No --consent at all.
    let out = t
        .k()
        .args(["--json", "enroll", "v", "--vectors", "f.json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4);
    assert_eq!(stderr_json(&out)["error"]["code"], 1005);
    // Empty consent file.
    t.write("empty.json", "");
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "empty.json",
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("consent"));
    // Expired consent.
    let mut c = ConsentReceipt::explicit(
        "s",
        "Acme",
        "https://acme.example/p",
        &["authentication"],
        now() - 1000,
    )
    .unwrap();
    c.expires_at = Some(now() - 10);
    t.write("expired.json", c.to_json());
    let out = t
        .k()
        .args([
            "--json",
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "expired.json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4);
    assert_eq!(stderr_json(&out)["error"]["code"], 1006);
    // Implicit consent is not enough for biometrics.
    let mut c = ConsentReceipt::explicit(
        "s",
        "Acme",
        "https://acme.example/p",
        &["authentication"],
        now() - 10,
    )
    .unwrap();
    c.services[0].purposes[0].consent_type = "IMPLICIT".into();
    t.write("implicit.json", c.to_json());
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "implicit.json",
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("EXPLICIT"));
    // Consent for a purpose the vault does not serve.
    t.consent("other.json", "s", &["marketing"]);
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "other.json",
        ])
        .assert()
        .code(4);
    // Malformed JSON consent, missing consent file.
    t.write("garbage.json", "{");
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "garbage.json",
        ])
        .assert()
        .code(4);
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "missing.json",
        ])
        .assert()
        .code(9);
    // Duplicate.
    t.consent("ok.json", "s", &["authentication"]);
    t.k()
        .args(["enroll", "v", "--vectors", "f.json", "--consent", "ok.json"])
        .assert()
        .success();
    t.write("f2.json", vec_json(&face(0, 0.05)));
    let out = t
        .k()
        .args([
            "--json",
            "enroll",
            "v",
            "--vectors",
            "f2.json",
            "--consent",
            "ok.json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 5);
    assert_eq!(stderr_json(&out)["error"]["code"], 1008);
    // Payload too large.
    t.write("big.bin", vec![7u8; 17 * 1024]);
    t.write("f3.json", vec_json(&face(3, 0.0)));
    t.k()
        .args([
            "enroll",
            "v",
            "--vectors",
            "f3.json",
            "--consent",
            "ok.json",
            "--payload-file",
            "big.bin",
        ])
        .assert()
        .code(2);
}

#[test]
fn bulk_enrollment_from_a_manifest() {
    let t = T::setup();
    t.consent(
        "consents/a.json",
        "a",
        &["authentication", "identification"],
    );
    t.consent("consents/b.json", "b", &["authentication"]);
    let inline = serde_json::to_string(
        &ConsentReceipt::explicit("c", "Acme", "https://acme.example/p", &["identification"], now() - 5).unwrap(),
    )
    .unwrap();
    t.write(
        "faces.npy",
        npy_f32(&[face(0, 0.0), face(1, 0.0), face(2, 0.0), face(3, 0.0)]),
    );
    let manifest = format!(
        "{}\n{}\n\n{}\n{}\n{}\n",
        r#"{"consent": "consents/a.json", "row": 0, "payload": "a"}"#,
        r#"{"consent": "consents/b.json", "row": 1, "payload_hex": "0b"}"#,
        format_args!(
            r#"{{"consent": {inline}, "vector": {}}}"#,
            vec_json(&face(5, 0.0))
        ),
        r#"{"row": 2}"#,
        r#"{"consent": "consents/a.json", "row": 0}"#
    );
    t.write("m/enroll.jsonl", &manifest);
    // Consent paths are relative to the manifest.
    t.consent(
        "m/consents/a.json",
        "a",
        &["authentication", "identification"],
    );
    t.consent("m/consents/b.json", "b", &["authentication"]);
    // All-or-nothing: the missing consent (line 5) and the duplicate (line 6) refuse everything.
    let out = t
        .k()
        .args([
            "--json",
            "enroll",
            "v",
            "--manifest",
            "m/enroll.jsonl",
            "--vectors",
            "faces.npy",
            "--all-or-nothing",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["committed"], false);
    let s = t.json({
        let mut c = t.k();
        c.args(["stats", "v"]);
        c
    });
    assert_eq!(s["stats"]["templates"], 0);
    // Without it: three enrolled, two refused; exit code of the first refusal (no consent: 4).
    let out = t
        .k()
        .args([
            "--json",
            "--receipt-dir",
            "rc",
            "enroll",
            "v",
            "--manifest",
            "m/enroll.jsonl",
            "--vectors",
            "faces.npy",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["enrolled"].as_array().unwrap().len(), 3, "{j}");
    let refused = j["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0]["entry"], "line 5");
    assert_eq!(refused[0]["code"], 1005);
    assert_eq!(refused[1]["entry"], "line 6");
    assert_eq!(refused[1]["code"], 1008);
    // Enrollment receipts were saved and verify.
    let receipts: Vec<_> = std::fs::read_dir(t.p("rc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(receipts.len(), 3);
    let vk = t.vk();
    t.cmd()
        .args(["receipt", "verify", "--key", &vk])
        .args(&receipts)
        .assert()
        .success();
    // Positional rows need equal counts; malformed manifests change nothing.
    t.write("pos.jsonl", r#"{"consent": "consents/a.json"}"#);
    t.k()
        .args([
            "enroll",
            "v",
            "--manifest",
            "pos.jsonl",
            "--vectors",
            "faces.npy",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("row"));
    t.write("bad.jsonl", "{\"consent\": \"x\", \"colour\": 1}\n");
    t.k()
        .args([
            "enroll",
            "v",
            "--manifest",
            "bad.jsonl",
            "--vectors",
            "faces.npy",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 1"));
    t.write(
        "arr.json",
        format!(
            r#"[{{"consent": "consents/b.json", "vector": {}}}]"#,
            vec_json(&face(6, 0.0))
        ),
    );
    t.k()
        .args(["enroll", "v", "--manifest", "arr.json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Enrolled 1 of 1"));
}

// ------------------------------------------------------------------ deletion and receipts

#[test]
fn delete_withdraw_purge_and_offline_receipt_verification() {
    let t = T::setup();
    let a = t.enroll(0, &["authentication", "identification"]);
    let b = t.enroll(1, &["authentication"]);
    let c = t.enroll(2, &["authentication"]);
    let vk = t.vk();
    t.write("vk.txt", format!("{vk}\n"));
    // Delete with a receipt file.
    t.k()
        .args([
            "delete",
            "v",
            &a,
            "--reason",
            "request",
            "--receipt",
            "a-receipt.json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Deleted"));
    // Deleting again: not found; malformed id: usage; unknown reason: usage.
    t.k()
        .args(["delete", "v", &a, "--receipt", "again.json"])
        .assert()
        .code(3);
    t.k()
        .args(["delete", "v", "not-a-uuid", "--receipt", "x.json"])
        .assert()
        .code(2);
    t.k()
        .args([
            "delete",
            "v",
            &b,
            "--reason",
            "boredom",
            "--receipt",
            "x.json",
        ])
        .assert()
        .code(2);
    // A receipt path that exists is refused before anything is deleted.
    t.k()
        .args(["delete", "v", &b, "--receipt", "a-receipt.json"])
        .assert()
        .code(12);
    // Withdraw, receipt into a directory (default name).
    let out = t
        .k()
        .args(["--json", "--receipt-dir", "rc", "withdraw", "v", &b])
        .output()
        .unwrap();
    assert!(out.status.success());
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["reason"], "consent_withdrawn");
    let wpath = t.p("rc").join(format!("{b}-withdrawal-receipt.json"));
    assert!(wpath.exists());
    // Offline verification: by key text or key file, several receipts at once.
    let j = t.json({
        let mut c = t.cmd();
        c.args(["receipt", "verify", "a-receipt.json", "--key", "vk.txt"])
            .arg(&wpath);
        c
    });
    assert_eq!(j["valid"], 2);
    assert_eq!(j["results"][0]["receipt"]["type"], "deletion");
    t.cmd()
        .args(["receipt", "verify", "a-receipt.json", "--key", &vk])
        .assert()
        .success()
        .stdout(predicate::str::contains(a.as_str()));
    // Tampered receipt: one changed character.
    let text = std::fs::read_to_string(t.p("a-receipt.json")).unwrap();
    let tampered = text.replacen("subject_request", "admin", 1);
    assert_ne!(tampered, text);
    t.write("tampered.json", &tampered);
    let out = t
        .cmd()
        .args([
            "--json",
            "receipt",
            "verify",
            "tampered.json",
            "a-receipt.json",
            "--key",
            "vk.txt",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 8);
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (j["valid"].as_u64(), j["invalid"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(j["results"][0]["error"]["code"], 1021);
    t.write("flipped.json", text.replacen(&a, &c, 1));
    t.cmd()
        .args(["receipt", "verify", "flipped.json", "--key", "vk.txt"])
        .assert()
        .code(8)
        .stdout(predicate::str::contains("FAILED"));
    // Another vault's key does not verify it; a malformed key is a key error.
    let other = T::setup();
    let other_vk = other.vk();
    t.cmd()
        .args(["receipt", "verify", "a-receipt.json", "--key", &other_vk])
        .assert()
        .code(8);
    t.cmd()
        .args([
            "receipt",
            "verify",
            "a-receipt.json",
            "--key",
            "fidex-vk-1:zz",
        ])
        .assert()
        .code(6);
    t.cmd()
        .args(["receipt", "verify", "missing.json", "--key", &vk])
        .assert()
        .code(9);
    // Purge: nothing today; everything as of a date past the retention period.
    t.k()
        .args(["purge", "v"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Nothing to purge"));
    let j = t.json({
        let mut c = t.k();
        c.args([
            "--receipt-dir",
            "purged",
            "purge",
            "v",
            "--now",
            "2100-01-01",
        ]);
        c
    });
    assert_eq!(j["purged"].as_array().unwrap().len(), 1);
    let p = t.p("purged").join(format!("{c}-retention-receipt.json"));
    t.cmd()
        .args(["receipt", "verify", "--key", "vk.txt"])
        .arg(&p)
        .assert()
        .success()
        .stdout(predicate::str::contains("retention_expired"));
    t.k()
        .args(["purge", "v", "--now", "next tuesday"])
        .assert()
        .code(2);
    let s = t.json({
        let mut c = t.k();
        c.args(["stats", "v"]);
        c
    });
    assert_eq!(s["stats"]["templates"], 0);
    assert_eq!(s["stats"]["deletions_by_reason"]["subject_request"], 1);
    assert_eq!(s["stats"]["deletions_by_reason"]["consent_withdrawn"], 1);
    assert_eq!(s["stats"]["deletions_by_reason"]["retention_expired"], 1);
}

#[test]
fn delete_default_receipt_location_and_several_ids() {
    let t = T::setup();
    let ids: Vec<String> = (0..3).map(|i| t.enroll(i, &["authentication"])).collect();
    // No --receipt: saved in the current directory under the standard name.
    t.k().args(["delete", "v", &ids[0]]).assert().success();
    assert!(t.p(&format!("{}-deletion-receipt.json", ids[0])).exists());
    // Several IDs need a directory, not a file.
    t.k()
        .args(["delete", "v", &ids[1], &ids[2], "--receipt", "one.json"])
        .assert()
        .code(2);
    // All or nothing: one unknown ID deletes none.
    t.k()
        .args(["delete", "v", &ids[1], &ids[0]])
        .assert()
        .code(3);
    t.k()
        .args([
            "--receipt-dir",
            "out",
            "delete",
            "v",
            &ids[1],
            &ids[2],
            "--reason",
            "admin",
        ])
        .assert()
        .success();
    assert_eq!(std::fs::read_dir(t.p("out")).unwrap().count(), 2);
    // A deletion for withdrawal also logs the withdrawal itself.
    let w = t.enroll(5, &["authentication"]);
    t.k()
        .args([
            "delete",
            "v",
            &w,
            "--reason",
            "withdrawal",
            "--receipt",
            "w.json",
        ])
        .assert()
        .success();
    let j = t.json({
        let mut c = t.k();
        c.args(["audit", "v"]);
        c
    });
    let events: Vec<&str> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["facial_id"] == w.as_str())
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "consent_recorded",
            "enrolled",
            "consent_withdrawn",
            "deleted"
        ]
    );
    // '-' prints the receipt on stdout, and it verifies from there.
    let d = t.enroll(4, &["authentication"]);
    let out = t
        .k()
        .args(["delete", "v", &d, "--receipt", "-"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let receipt: String = text
        .lines()
        .take_while(|l| !l.starts_with("Deleted"))
        .collect::<Vec<_>>()
        .join("\n");
    t.write("from-stdout.json", format!("{receipt}\n"));
    t.cmd()
        .args(["receipt", "verify", "from-stdout.json", "--key", &t.vk()])
        .assert()
        .success();
}

// ------------------------------------------------------------------ audit / export / record

#[test]
fn audit_tree_head_and_consistency() {
    let t = T::setup();
    t.enroll(0, &["authentication"]);
    let j = t.json({
        let mut c = t.k();
        c.args(["audit", "v", "--head-out", "head.json"]);
        c
    });
    let n = j["entries"].as_array().unwrap().len() as u64;
    assert_eq!(j["entries"][0]["event"], "vault_created");
    assert_eq!(j["tree_head"]["log_size"], n);
    assert_eq!(j["consistency"], Value::Null);
    t.enroll(1, &["authentication"]);
    // From a size: entries since, and a consistency proof.
    let j = t.json({
        let mut c = t.k();
        c.args(["audit", "v", "--from", &n.to_string()]);
        c
    });
    assert_eq!(j["entries"].as_array().unwrap().len(), 2);
    assert_eq!(j["consistency"]["from_size"], n);
    assert!(!j["consistency"]["proof"].as_array().unwrap().is_empty());
    // Since a saved head: verified append-only.
    t.k()
        .args(["audit", "v", "--since", "head.json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("only grew"));
    let j = t.json({
        let mut c = t.k();
        c.args(["audit", "v", "--since", "head.json", "--limit", "1"]);
        c
    });
    assert_eq!(j["since_verified"], true);
    assert_eq!(j["entries"].as_array().unwrap().len(), 1);
    // A forged saved head (different root) fails verification.
    let head = std::fs::read_to_string(t.p("head.json")).unwrap();
    let mut h: Value = serde_json::from_str(&head).unwrap();
    h["log_root"] = Value::String("00".repeat(32));
    t.write("forged.json", h.to_string());
    t.k()
        .args(["audit", "v", "--since", "forged.json"])
        .assert()
        .code(8);
    t.k().args(["audit", "v", "--from", "999"]).assert().code(2);
    t.write("notahead.json", "[]");
    t.k()
        .args(["audit", "v", "--since", "notahead.json"])
        .assert()
        .code(2);
    // Human output lists entries and the tree head.
    t.k().args(["audit", "v"]).assert().success().stdout(
        predicate::str::contains("vault_created").and(predicate::str::contains("tree head")),
    );
}

#[test]
fn export_subject_and_processing_record() {
    let t = T::setup();
    let a = t.enroll(0, &["authentication"]);
    t.k()
        .args([
            "export-subject",
            "v",
            &a,
            "--include-template",
            "--out",
            "export.json",
        ])
        .assert()
        .success();
    #[cfg(unix)]
    assert_eq!(mode(&t.p("export.json")), 0o600);
    let ex: Value =
        serde_json::from_str(&std::fs::read_to_string(t.p("export.json")).unwrap()).unwrap();
    assert_eq!(ex["facial_id"], a.as_str());
    assert_eq!(ex["template"].as_array().unwrap().len(), DIM);
    assert_eq!(ex["consent"]["piiPrincipalId"], "s0");
    // The export is logged.
    let j = t.json({
        let mut c = t.k();
        c.args(["audit", "v"]);
        c
    });
    assert!(j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "record_exported"));
    t.k()
        .args(["export-subject", "v", &a, "--out", "export.json"])
        .assert()
        .code(12);
    t.k()
        .args([
            "export-subject",
            "v",
            "00000000-0000-4000-8000-000000000000",
        ])
        .assert()
        .code(3);
    let r = t.json({
        let mut c = t.k();
        c.args(["processing-record", "v"]);
        c
    });
    assert_eq!(
        r["purposes"],
        serde_json::json!(["authentication", "identification"])
    );
    assert_eq!(r["security"]["verification_key"], t.vk().as_str());
}

// ------------------------------------------------------------------ maintenance

#[test]
fn rotate_key_and_compact() {
    let t = T::setup();
    let a = t.enroll(0, &["authentication"]);
    t.k()
        .args(["delete", "v", &a, "--receipt", "old-receipt.json"])
        .assert()
        .success();
    t.enroll(1, &["authentication", "identification"]);
    let old_vk = t.vk();
    t.cmd().args(["key", "new", "key2"]).assert().success();
    // The same key is refused; a missing new key file is a key error.
    t.k()
        .args(["rotate-key", "v", "--new-key", "key"])
        .assert()
        .code(2);
    t.k()
        .args(["rotate-key", "v", "--new-key", "nope"])
        .assert()
        .code(6);
    let j = t.json({
        let mut c = t.k();
        c.args([
            "rotate-key",
            "v",
            "--new-key",
            "key2",
            "--vk-out",
            "vk2.txt",
        ]);
        c
    });
    assert_eq!(j["previous_verification_key"], old_vk.as_str());
    let new_vk = j["verification_key"].as_str().unwrap().to_string();
    assert_ne!(new_vk, old_vk);
    // The old key no longer opens the vault.
    let out = t.k().args(["--json", "stats", "v"]).output().unwrap();
    assert_eq!(code(&out), 6);
    assert_eq!(stderr_json(&out)["error"]["code"], 1010);
    let k2 = || {
        let mut c = t.cmd();
        c.env("FIDEX_KEY_FILE", t.p("key2"));
        c
    };
    k2().args(["check", "v"]).assert().success();
    let out = k2().args(["key", "public", "v", "--all"]).output().unwrap();
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines, vec![new_vk.clone(), old_vk.clone()]);
    // Old receipts verify with the old key (given alongside the new one).
    t.cmd()
        .args([
            "receipt",
            "verify",
            "old-receipt.json",
            "--key",
            &new_vk,
            "--key",
            &old_vk,
        ])
        .assert()
        .success();
    t.cmd()
        .args(["receipt", "verify", "old-receipt.json", "--key", &new_vk])
        .assert()
        .code(8);
    let j = t.json({
        let mut c = k2();
        c.args(["compact", "v"]);
        c
    });
    assert!(j["generation"].as_u64().unwrap() > 0);
    k2().args(["compact", "v"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Compacted"));
    k2().args(["stats", "v"]).assert().success();
}

// ------------------------------------------------------------------ vault-level errors

#[test]
fn vault_errors_not_found_wrong_key_locked_corrupt() {
    let t = T::setup();
    t.enroll(0, &["authentication"]);
    // Nonexistent vault, with and without the key.
    let out = t.k().args(["--json", "stats", "nothere"]).output().unwrap();
    assert_eq!(code(&out), 3);
    assert_eq!(stderr_json(&out)["error"]["code"], 1022);
    t.cmd().args(["info", "nothere"]).assert().code(3);
    // Missing key.
    t.cmd()
        .args(["stats", "v"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("no vault key"));
    // Wrong key.
    t.cmd().args(["key", "new", "other"]).assert().success();
    t.cmd()
        .args(["stats", "v", "--key-file", "other"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("wrong key"));
    // Unknown purpose.
    t.write("p.json", vec_json(&face(0, 0.0)));
    t.k()
        .args([
            "identify",
            "v",
            "--vectors",
            "p.json",
            "--purpose",
            "marketing",
        ])
        .assert()
        .code(2);
    // Locked: another process (this test) holds the vault open.
    {
        let key =
            fidex::VaultKey::import_text(&std::fs::read_to_string(t.p("key")).unwrap()).unwrap();
        let _open = fidex::Vault::open(t.p("v"), &key).unwrap();
        t.k().args(["compact", "v"]).assert().code(11);
        // Read-only commands run beside the writer.
        t.k().args(["stats", "v"]).assert().code(0);
    }
    // Corrupt: flip a byte in the middle of every segment file.
    for e in std::fs::read_dir(t.p("v")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name != "fidex.vault" && name != "LOCK" {
            let mut b = std::fs::read(&p).unwrap();
            let i = b.len() / 2;
            b[i] ^= 0x40;
            std::fs::write(&p, b).unwrap();
        }
    }
    let out = t.k().args(["--json", "check", "v"]).output().unwrap();
    assert_eq!(code(&out), 7, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stderr_json(&out)["error"]["code"], 1011);
    // A file that is not a vault manifest.
    std::fs::create_dir(t.p("fake")).unwrap();
    t.write("fake/fidex.vault", "hello");
    t.cmd().args(["info", "fake"]).assert().code(3);
}

// ------------------------------------------------------------------ demo

#[test]
fn demo_leaves_verifiable_receipts() {
    let t = T::new();
    let out = t.cmd().args(["demo", "out"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for s in [
        "Step 1",
        "no consent record",
        "consent expired",
        "duplicates",
        "that is subject-002",
        "authentication only → no match",
        "MATCH",
        "OK:",
        "verification failed",
        "identical",
        "Step 14",
    ] {
        assert!(text.contains(s), "demo output lacks {s:?}:\n{text}");
    }
    let dir = t.p("out");
    #[cfg(unix)]
    assert_eq!(mode(&dir.join("vault.key")), 0o600);
    let vk = dir.join("verification-key.txt");
    assert!(std::fs::read_to_string(&vk)
        .unwrap()
        .starts_with("fidex-vk-1:"));
    let receipts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-receipt.json"))
        .collect();
    assert!(receipts.len() >= 5, "{receipts:?}");
    for kind in ["enrollment", "deletion", "withdrawal"] {
        assert!(
            receipts.iter().any(|p| p.to_string_lossy().contains(kind)),
            "no {kind} receipt"
        );
    }
    let j = t.json({
        let mut c = t.cmd();
        c.args(["receipt", "verify", "--key"])
            .arg(&vk)
            .args(&receipts);
        c
    });
    assert_eq!(j["valid"].as_u64().unwrap() as usize, receipts.len());
    t.cmd()
        .args(["receipt", "verify", "out/tampered-deletion.json", "--key"])
        .arg(&vk)
        .assert()
        .code(8);
    // The vault and the try/ files work with the other commands.
    let key = || {
        let mut c = t.cmd();
        c.env("FIDEX_KEY_FILE", dir.join("vault.key"));
        c
    };
    let s = t.json({
        let mut c = key();
        c.args(["stats", "out/vault"]);
        c
    });
    assert_eq!(s["stats"]["templates"], 198);
    key().args(["check", "out/vault"]).assert().success();
    key()
        .args(["identify", "out/vault", "--vectors", "out/try/probe.npy"])
        .assert()
        .success();
    key()
        .args([
            "enroll",
            "out/vault",
            "--consent",
            "out/try/consent.json",
            "--vectors",
            "out/try/new-face.npy",
        ])
        .assert()
        .success();
    key()
        .args([
            "enroll",
            "out/vault",
            "--manifest",
            "out/try/bulk.jsonl",
            "--vectors",
            "out/try/bulk-faces.npy",
        ])
        .assert()
        .success();
    // Re-running replaces the earlier demo; a foreign non-empty directory is refused.
    let j = t.json({
        let mut c = t.cmd();
        c.args(["demo", "out", "--subjects", "20"]);
        c
    });
    assert_eq!(j["enrolled"], 20);
    assert_eq!(j["tampered_rejected"], true);
    assert_eq!(j["reopen"]["identical_results"], true);
    t.write("foreign/file.txt", "mine");
    t.cmd().args(["demo", "foreign"]).assert().code(12);
    assert!(t.p("foreign/file.txt").exists());
}

#[test]
fn automatic_retention_purge_at_commit_keeps_its_receipts() {
    let t = T::setup();
    let mut c = ConsentReceipt::explicit(
        "s",
        "Acme",
        "https://acme.example/p",
        &["identification"],
        now() - 60,
    )
    .unwrap();
    c.expires_at = Some(now() + 2);
    t.write("short.json", c.to_json());
    t.write("f.json", vec_json(&face(0, 0.0)));
    let out = t
        .k()
        .args([
            "--json",
            "enroll",
            "v",
            "--vectors",
            "f.json",
            "--consent",
            "short.json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["enrolled"][0]["facial_id"]
        .as_str()
        .unwrap()
        .to_string();
    std::thread::sleep(std::time::Duration::from_millis(3100));
    // The consent has expired: the search skips the template, and the commit after it
    // (recording last interactions) purges it; the receipt must not be lost.
    let out = t
        .k()
        .args([
            "--json",
            "--receipt-dir",
            "auto",
            "identify",
            "v",
            "--vectors",
            "f.json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 10, "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["purged"][0]["facial_id"], id.as_str());
    let p = t.p("auto").join(format!("{id}-retention-receipt.json"));
    t.cmd()
        .args(["receipt", "verify", "--key", &t.vk()])
        .arg(&p)
        .assert()
        .success();
}
