//! The `fidex` commands of issue 16 and issue 14 item 2: `receipt issue`, `receipt
//! publish-head`, `receipt monitor`, key files, and a receipt whose file cannot be written
//! after its deletion committed (issued again, and verifying).

use assert_cmd::Command;
use fidex::ConsentReceipt;
use serde_json::Value;
use std::path::PathBuf;

struct T {
    dir: tempfile::TempDir,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

impl T {
    /// A key file `key` and a 4-d vault `v` with four subjects enrolled and committed.
    fn setup() -> (T, Vec<String>) {
        let t = T { dir: tempfile::tempdir().unwrap() };
        t.cmd().args(["key", "new", "key"]).assert().success();
        t.k().args(["create", "v", "--dim", "4"]).assert().success();
        let mut ids = Vec::new();
        for i in 0..4 {
            let c = ConsentReceipt::explicit(&format!("s{i}"), "Acme", "https://acme.example/p", &["identification"], now() - 60).unwrap();
            std::fs::write(t.p(&format!("c{i}.json")), c.to_json()).unwrap();
            let mut f = [0.0f32; 4];
            f[i] = 1.0;
            std::fs::write(t.p(&format!("f{i}.json")), serde_json::to_string(&f).unwrap()).unwrap();
            let j = t.json(t.k().args(["enroll", "v", "--consent", &format!("c{i}.json"), "--vectors", &format!("f{i}.json")]));
            ids.push(j["enrolled"][0]["facial_id"].as_str().unwrap().to_string());
        }
        (t, ids)
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fidex"));
        c.current_dir(self.dir.path()).env_remove("FIDEX_KEY").env_remove("FIDEX_KEY_FILE").env_remove("FIDEX_RECEIPT_DIR");
        c
    }

    fn k(&self) -> Command {
        let mut c = self.cmd();
        c.env("FIDEX_KEY_FILE", self.p("key"));
        c
    }

    fn json(&self, c: &mut Command) -> Value {
        let out = c.arg("--json").output().unwrap();
        assert!(out.status.success(), "exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn vk(&self) -> String {
        let out = self.k().args(["key", "public", "v"]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// Issue 14, item 2: the deletion commits, then its receipt file cannot be written. The CLI
/// prints the receipt, fails naming the command that issues it again, and that command gives
/// a receipt that verifies.
#[test]
fn a_receipt_that_could_not_be_saved_is_issued_again() {
    let (t, ids) = T::setup();
    // A directory where the receipt file should go: the write fails after the deletion.
    std::fs::create_dir_all(t.p(&format!("rc/{}-deletion-receipt.json", ids[0]))).unwrap();
    let out = t.k().args(["--receipt-dir", "rc", "delete", "v", &ids[0]]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("fidex receipt issue v {}", ids[0])), "{err}");
    assert!(err.contains("committed"), "{err}");
    // The receipt was printed rather than lost, and it verifies.
    let printed = String::from_utf8(out.stdout).unwrap();
    let start = printed.find('{').unwrap();
    std::fs::write(t.p("printed.json"), format!("{}\n", printed[start..].trim_end())).unwrap();
    t.cmd().args(["receipt", "verify", "printed.json", "--key", &t.vk()]).assert().success();
    // The deletion happened.
    let s = t.json(t.k().args(["stats", "v"]));
    assert_eq!(s["stats"]["templates"], 3);
    // Issued again, into a file of its own, it verifies too.
    let j = t.json(t.k().args(["receipt", "issue", "v", &ids[0], "--receipt", "again.json"]));
    assert_eq!(j["issued"]["type"], "deletion");
    assert_eq!(j["issued"]["reason"], "subject_request");
    let v = t.json(t.cmd().args(["receipt", "verify", "again.json", "--key", &t.vk()]));
    assert_eq!(v["valid"], 1);
    // No temporary file is left behind by the atomic writes.
    let leftovers: Vec<String> = std::fs::read_dir(t.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).filter(|n| n.contains(".tmp-")).collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn receipt_issue_gives_withdrawals_and_enrollments_and_refuses_the_unknown() {
    let (t, ids) = T::setup();
    t.k().args(["withdraw", "v", &ids[1], "--receipt", "w.json"]).assert().success();
    let w: Value = serde_json::from_str(&std::fs::read_to_string(t.p("w.json")).unwrap()).unwrap();
    assert_eq!(w["version"], 2);
    assert!(w["withdrawal"]["log_index"].as_u64().unwrap() < w["log_index"].as_u64().unwrap());
    let j = t.json(t.k().args(["--receipt-dir", "again", "receipt", "issue", "v", &ids[1]]));
    assert_eq!(j["issued"]["withdrawal"]["log_index"], w["withdrawal"]["log_index"]);
    assert!(t.p(&format!("again/{}-withdrawal-receipt.json", ids[1])).exists());
    // '-' prints the receipt itself on stdout (then a line saying what was issued).
    let out = t.k().args(["receipt", "issue", "v", &ids[2], "--receipt", "-"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let receipt = &text[..text.find("\n}\n").unwrap() + 2];
    let (r, _) = fidex::receipt::verify_json_with_keys(receipt, &[fidex::VerificationKey::from_text(&t.vk()).unwrap()]).unwrap();
    assert!(matches!(r, fidex::receipt::Receipt::Enrollment(_)));
    // Nothing is overwritten: the same name again is refused (exit 12).
    t.k().args(["--receipt-dir", "again", "receipt", "issue", "v", &ids[1]]).assert().code(12);
    t.k().args(["receipt", "issue", "v", "00000000-0000-4000-8000-000000000000"]).assert().code(3);
}

#[test]
fn published_heads_and_the_monitor_from_the_command_line() {
    let (t, ids) = T::setup();
    let vk = t.vk();
    std::fs::write(t.p("keys.txt"), format!("# the test vault's keys\n\n{vk}\n")).unwrap();
    let j = t.json(t.k().args(["receipt", "publish-head", "v", "--out", "h1.json"]));
    assert_eq!(j["previous_size"], Value::Null);
    t.k().args(["delete", "v", &ids[0], "--receipt", "d0.json"]).assert().success();
    t.k().args(["withdraw", "v", &ids[1], "--receipt", "w1.json"]).assert().success();
    let j = t.json(t.k().args(["receipt", "publish-head", "v", "--previous", "h1.json", "--out", "h2.json"]));
    let size2 = j["log_size"].as_u64().unwrap();
    assert!(j["previous_size"].as_u64().unwrap() < size2);
    // Passing: every head linked, both receipts anchored.
    let m = t.json(t.cmd().args(["receipt", "monitor", "h2.json", "d0.json", "h1.json", "w1.json", "--key", "keys.txt"]));
    assert_eq!(m["ok"], true);
    assert_eq!(m["heads"].as_array().unwrap().len(), 2);
    for r in m["receipts"].as_array().unwrap() {
        assert_eq!(r["anchored_at"], size2, "{r}");
        assert!(r["file"].as_str().unwrap().ends_with(".json"));
    }
    // A later receipt is verified but not covered by a published head yet.
    t.k().args(["delete", "v", &ids[2], "--receipt", "d2.json"]).assert().success();
    let m = t.json(t.cmd().args(["receipt", "monitor", "h1.json", "h2.json", "d2.json", "--key", &vk]));
    assert_eq!(m["ok"], true);
    assert_eq!(m["receipts"][0]["anchored_at"], Value::Null);
    // An edited head: exit 8, the file named in the problem.
    let h2 = std::fs::read_to_string(t.p("h2.json")).unwrap();
    let edited: Value = serde_json::from_str(&h2).unwrap();
    let first_leaf = edited["leaf_hashes"][0].as_str().unwrap();
    let flipped = format!("{}{}", if first_leaf.starts_with('0') { "1" } else { "0" }, &first_leaf[1..]);
    std::fs::write(t.p("bad.json"), h2.replacen(first_leaf, &flipped, 1)).unwrap();
    let out = t.cmd().args(["--json", "receipt", "monitor", "h1.json", "bad.json", "--key", "keys.txt"]).output().unwrap();
    assert_eq!(out.status.code(), Some(8));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["problems"][0]["kind"], "not_an_extension");
    assert!(m["problems"][0]["message"].as_str().unwrap().contains("bad.json"), "{m}");
    // The vault refuses to publish after a head that is not its own history.
    t.k().args(["receipt", "publish-head", "v", "--previous", "bad.json", "--out", "h3.json"]).assert().code(8);
    assert!(!t.p("h3.json").exists());
    // A file that is neither a head nor a receipt is a usage error.
    t.cmd().args(["receipt", "monitor", "keys.txt", "--key", "keys.txt"]).assert().code(2);
}

#[test]
fn receipt_verify_reads_a_key_file_of_rotated_keys() {
    let (t, ids) = T::setup();
    let old_vk = t.vk();
    t.k().args(["delete", "v", &ids[0], "--receipt", "old.json"]).assert().success();
    t.cmd().args(["key", "new", "key2"]).assert().success();
    t.k().args(["rotate-key", "v", "--new-key", "key2"]).assert().success();
    let mut c = t.cmd();
    c.env("FIDEX_KEY_FILE", t.p("key2")).args(["delete", "v", &ids[1], "--receipt", "new.json"]).assert().success();
    let out = t.cmd().env("FIDEX_KEY_FILE", t.p("key2")).args(["key", "public", "v", "--all"]).output().unwrap();
    let all = String::from_utf8(out.stdout).unwrap();
    std::fs::write(t.p("keys.txt"), format!("# every key of v\r\n{all}")).unwrap();
    let j = t.json(t.cmd().args(["receipt", "verify", "old.json", "new.json", "--key", "keys.txt"]));
    assert_eq!(j["valid"], 2);
    assert_ne!(j["results"][0]["receipt"]["key_id"], j["results"][1]["receipt"]["key_id"]);
    // With the old key alone, the new receipt fails.
    t.cmd().args(["receipt", "verify", "new.json", "--key", &old_vk]).assert().code(8);
    std::fs::write(t.p("empty.txt"), "# no keys\n").unwrap();
    t.cmd().args(["receipt", "verify", "old.json", "--key", "empty.txt"]).assert().code(6);
}

#[test]
fn purge_as_of_a_future_date_logs_the_deletions_now() {
    let (t, _ids) = T::setup();
    let before = now();
    let j = t.json(t.k().args(["--receipt-dir", "rc", "purge", "v", "--now", "2099-01-01"]));
    let purged = j["purged"].as_array().unwrap();
    assert_eq!(purged.len(), 4);
    for p in purged {
        let r: Value = serde_json::from_str(&std::fs::read_to_string(t.p(p["receipt"].as_str().unwrap())).unwrap()).unwrap();
        let at = r["deleted_at"].as_i64().unwrap();
        assert!(at >= before && at <= now() + 1, "deleted_at {at} is the time of the purge, not 2099");
    }
}

#[test]
fn the_demo_publishes_heads_and_catches_its_fork_even_with_ten_subjects() {
    let t = T { dir: tempfile::tempdir().unwrap() };
    let j = t.json(t.cmd().args(["demo", "out", "--subjects", "10"]));
    assert_eq!(j["monitor_ok"], true);
    assert_eq!(j["fork_detected"], true);
    for f in ["published-head-1.json", "published-head-2.json", "forked-head-2.json"] {
        assert!(t.p(&format!("out/{f}")).exists(), "{f}");
    }
    t.cmd().args(["receipt", "monitor", "out/published-head-1.json", "out/published-head-2.json", "out/forked-head-2.json", "--key", "out/verification-key.txt"]).assert().code(8);
}
