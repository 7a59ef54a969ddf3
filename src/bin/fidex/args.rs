//! Command-line syntax (clap derive).

use crate::fail::EXIT_CODES_HELP;
use crate::vectors::Format;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fidex::search::{Metric, Storage};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "fidex",
    version,
    about = "Consent-gated, encrypted facial-template vaults with verifiable deletion",
    long_about = "fidex keeps facial templates (face-embedding vectors) in an encrypted vault, \
                  admits a template only with the subject's explicit consent (a Kantara consent \
                  receipt), matches it only for the purposes that consent covers, and deletes it \
                  with a signed receipt anyone can verify offline.\n\n\
                  Start with `fidex demo` to see the whole lifecycle.",
    after_long_help = EXIT_CODES_HELP,
    after_help = "Run `fidex demo` for a narrated tour. See `fidex --help` for exit codes and key handling."
)]
pub struct Cli {
    /// Print results as JSON on stdout (and errors as JSON on stderr)
    #[arg(long, global = true)]
    pub json: bool,

    /// Directory for receipts that have no other destination (deletion receipts from purges,
    /// from automatic retention purges at commit, bulk enrollment receipts). Default for
    /// deletion receipts: the current directory. Also read from FIDEX_RECEIPT_DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub receipt_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Create a key file, show a key's fingerprint or a vault's verification key
    #[command(subcommand)]
    Key(KeyCmd),
    /// Create a new, empty vault
    Create(CreateArgs),
    /// Show a vault's plaintext header (no key needed)
    Info(InfoArgs),
    /// Counts and sizes, without any biometric data
    Stats(VaultArgs),
    /// Full integrity check: re-read and authenticate every vault file
    Check(CheckArgs),
    /// Enroll templates with consent (one subject, or many from a manifest)
    #[command(after_long_help = ENROLL_HELP)]
    Enroll(EnrollArgs),
    /// 1:N identification: who is this face, among subjects who consented to the purpose?
    Identify(IdentifyArgs),
    /// 1:1 verification: is this face the enrolled Facial ID? (exit 10 if not)
    Verify(VerifyArgs),
    /// Delete templates and save signed deletion receipts
    Delete(DeleteArgs),
    /// Delete every template past its retention deadline, with receipts
    Purge(PurgeArgs),
    /// Record a subject's withdrawal of consent and erase their template, with a receipt
    Withdraw(WithdrawArgs),
    /// Receipts and published tree heads: verify and monitor offline, issue and publish from the vault
    #[command(subcommand)]
    Receipt(ReceiptCmd),
    /// Audit log entries, a signed tree head, and a consistency proof
    Audit(AuditArgs),
    /// Export one subject's record (access / portability request)
    ExportSubject(ExportArgs),
    /// Record of processing activities (JSON)
    ProcessingRecord(VaultArgs),
    /// Re-encrypt the vault under a new key (and a new signing key)
    RotateKey(RotateArgs),
    /// Merge small files of the vault
    Compact(VaultArgs),
    /// Narrated tour of the whole lifecycle on synthetic faces
    Demo(DemoArgs),
}

const ENROLL_HELP: &str = "\
Single subject:
  fidex enroll VAULT --consent alice-consent.json --vectors alice.npy [--payload alice]
  The vector file must hold one vector (or pick one with --row N).

Bulk (one consent receipt per subject, so a manifest pairs them):
  fidex enroll VAULT --manifest enroll.jsonl [--vectors faces.npy] [--receipt-dir DIR]
  The manifest is JSON lines (one object per line) or a JSON array of objects:
    {\"consent\": \"consents/alice.json\", \"row\": 0, \"payload\": \"alice\"}
    {\"consent\": {…inline Kantara receipt…}, \"vector\": [0.12, -0.03, …]}
  Fields: consent (path relative to the manifest, or the receipt object; required),
          vector (inline numbers) or row (index into --vectors; default: the entry's
          position, which then requires as many rows as entries),
          payload (UTF-8 text) or payload_hex (optional, at most 16 KiB).
  Each entry is enrolled or refused on its own (refusals are listed, and the exit code is
  that of the first refusal); successful ones are committed together. With
  --all-or-nothing nothing is committed unless every entry succeeds.

Consent receipts are Kantara Consent Receipt v1.1 JSON with explicit consent, sensitive:
true and spiCat including \"biometric\"; see `fidex demo` output (try/consent.json).";

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Generate a vault key into a new file (mode 0600; never overwrites)
    New {
        /// Key file to create
        file: PathBuf,
    },
    /// Print the verification key of a vault (publish it: it verifies receipts)
    Public {
        #[command(flatten)]
        vault: VaultArgs,
        /// Also write it to FILE (must not exist)
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also list the verification keys of earlier (rotated) keys
        #[arg(long)]
        all: bool,
    },
    /// Print the public fingerprint of a key (safe to log)
    Fingerprint {
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ReceiptCmd {
    /// Verify deletion or enrollment receipts with the vault's published verification key
    Verify(ReceiptVerifyArgs),
    /// Check published tree heads and receipts offline: links, anchoring, equivocation
    Monitor(crate::transparency::MonitorArgs),
    /// Issue again, from the audit log, the receipt of a deletion, withdrawal or enrollment
    Issue(crate::transparency::ReceiptIssueArgs),
    /// Sign a tree head to publish, linked to the previously published one
    PublishHead(crate::transparency::PublishHeadArgs),
}

/// How the vault key is given.
#[derive(Args, Debug, Clone)]
pub struct KeyArgs {
    /// Vault key file (from `fidex key new`). Default: $FIDEX_KEY_FILE, then $FIDEX_KEY (key text).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Refused: a key on the command line shows in `ps` and shell history
    #[arg(long = "key", hide = true, value_name = "KEY")]
    pub key_on_command_line: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VaultArgs {
    /// Vault directory
    pub vault: PathBuf,
    #[command(flatten)]
    pub key: KeyArgs,
    /// Commands that change the vault: wait up to SECONDS for another process's lock
    /// instead of failing after a 250 ms grace (exit 11). Read-only commands never wait
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<f64>,
}

/// `fidex check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Remove stray files (newer than the manifest, explained by no interrupted commit),
    /// after you have made sure they are debris: no newer manifest was lost and no key
    /// rotation is to be finished. Opens the vault for writing
    #[arg(long)]
    pub remove_stray: bool,
}

/// `--metric` and `--storage` take the library's names ([`Metric::name`], [`Storage::name`]:
/// those of the JSON configuration and the C ABI). Earlier CLI spellings stay accepted
/// where they mean the same thing.
const METRIC_ALIASES: &[(&str, Metric)] = &[("ip", Metric::InnerProduct)];
const STORAGE_ALIASES: &[(&str, Storage)] =
    &[("int8-exact", Storage::Int8 { rerank: true }), ("int8-only", Storage::Int8 { rerank: false })];

fn metric_help(m: Metric) -> &'static str {
    match m {
        Metric::Cosine => "Cosine similarity (templates and probes are normalised)",
        Metric::InnerProduct => "Inner product (alias: ip)",
        Metric::L2 => "Euclidean distance",
    }
}

fn storage_help(s: Storage) -> &'static str {
    match s {
        Storage::F32 => "Exact float32 in memory",
        Storage::F16 => "Half precision in memory",
        Storage::Int8 { rerank: true } => "8-bit quantised search with exact float32 re-ranking (alias: int8-exact)",
        Storage::Int8 { rerank: false } => "8-bit quantised only: fastest, approximate scores (alias: int8-only)",
    }
}

/// A parser accepting the names of `all` and the `aliases`, giving the value named.
fn vocabulary<T: Copy + PartialEq + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
    help: fn(T) -> &'static str,
    aliases: &'static [(&'static str, T)],
) -> impl TypedValueParser<Value = T> {
    let values = all.iter().map(move |t| {
        PossibleValue::new(name(*t))
            .help(help(*t))
            .aliases(aliases.iter().filter(|(_, a)| a == t).map(|(alias, _)| *alias))
    });
    PossibleValuesParser::new(values).map(move |given| {
        let by_alias = aliases.iter().find(|(alias, _)| *alias == given).map(|(_, t)| *t);
        by_alias
            .or_else(|| all.iter().copied().find(|t| name(*t) == given))
            .expect("clap accepts only listed names and aliases")
    })
}

fn metric_parser() -> impl TypedValueParser<Value = Metric> {
    vocabulary(&Metric::ALL, Metric::name, metric_help, METRIC_ALIASES)
}

fn storage_parser() -> impl TypedValueParser<Value = Storage> {
    vocabulary(&Storage::ALL, Storage::name, storage_help, STORAGE_ALIASES)
}

/// `--backend` values (the names of the JSON configuration's `backend`).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendArg {
    /// Exact brute-force SIMD scan
    Flat,
    /// faiss inverted-file index (approximate; for very large vaults; alias: ivf)
    #[value(name = "faiss_ivf", alias = "ivf")]
    FaissIvf,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Template dimension (the face model's embedding size)
    #[arg(long, value_name = "N")]
    pub dim: u32,
    /// Similarity measure
    #[arg(long, default_value = "cosine", value_parser = metric_parser())]
    pub metric: Metric,
    /// In-memory representation for search (the vault always stores exact float32)
    #[arg(long, default_value = "f32", value_parser = storage_parser())]
    pub storage: Storage,
    /// Retention after the last interaction, e.g. 3y, 540d, 12w, 3600 (seconds); at most 3y
    #[arg(long, value_name = "DURATION", default_value = "3y")]
    pub retention: String,
    /// Purposes the vault serves (comma-separated); searches must name one of them
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "authentication,identification"
    )]
    pub purposes: Vec<String>,
    /// Store templates under a secret key-derived transform (cancelable templates)
    #[arg(long)]
    pub cancelable: bool,
    /// Default match threshold (similarity ≥ it, or L2 distance ≤ it). Default 0.5
    #[arg(long, value_name = "T")]
    pub threshold: Option<f32>,
    /// Refuse enrollments this similar to an enrolled template ('off' disables). Default 0.9
    #[arg(long, value_name = "T|off")]
    pub duplicate_threshold: Option<String>,
    /// Template quota
    #[arg(long, value_name = "N")]
    pub max_templates: Option<u64>,
    /// Do not purge expired templates automatically at each commit
    #[arg(long)]
    pub no_auto_purge: bool,
    /// Search backend: exact SIMD scan, or a faiss IVF index (builds with feature `faiss`)
    #[arg(long, value_enum, default_value = "flat")]
    pub backend: BackendArg,
    /// faiss IVF: number of inverted lists (about 4 × sqrt(templates)). Default 1024
    #[arg(long, value_name = "N")]
    pub nlist: Option<u32>,
    /// faiss IVF: lists scanned per search (1..=nlist; more = better recall). Default 32
    #[arg(long, value_name = "N")]
    pub nprobe: Option<u32>,
    /// faiss IVF: 8-bit scalar-quantised codes inside faiss (a quarter of the memory)
    #[arg(long)]
    pub sq8: bool,
    /// Also write the verification key to FILE (must not exist)
    #[arg(long, value_name = "FILE")]
    pub vk_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Vault directory
    pub vault: PathBuf,
}

/// Where vectors come from.
#[derive(Args, Debug, Clone)]
pub struct VectorArgs {
    /// Vector file: .npy (little-endian float32/float64, 1-D or 2-D), .json (array, or array
    /// of arrays), .csv (one vector per line)
    #[arg(long, value_name = "FILE")]
    pub vectors: Option<PathBuf>,
    /// File format (default: from the extension)
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Use only row N (0-based) of the vector file
    #[arg(long, value_name = "N")]
    pub row: Option<usize>,
}

#[derive(Args, Debug)]
pub struct EnrollArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The subject's consent receipt (Kantara JSON) — single-subject mode
    #[arg(long, value_name = "FILE", conflicts_with = "manifest")]
    pub consent: Option<PathBuf>,
    #[command(flatten)]
    pub vectors: VectorArgs,
    /// Payload stored with the template (UTF-8 text, e.g. your user id)
    #[arg(long, value_name = "TEXT", conflicts_with_all = ["payload_file", "payload_hex", "manifest"])]
    pub payload: Option<String>,
    /// Payload read from a file (raw bytes)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["payload_hex", "manifest"])]
    pub payload_file: Option<PathBuf>,
    /// Payload as hex
    #[arg(long, value_name = "HEX", conflicts_with = "manifest")]
    pub payload_hex: Option<String>,
    /// Bulk mode: JSON-lines or JSON-array manifest pairing vectors with consent receipts
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Save the enrollment receipt to FILE ('-' for stdout) — single-subject mode
    #[arg(long, value_name = "FILE", conflicts_with = "manifest")]
    pub receipt: Option<PathBuf>,
    /// Bulk mode: commit nothing unless every entry is enrolled
    #[arg(long)]
    pub all_or_nothing: bool,
}

#[derive(Args, Debug)]
pub struct IdentifyArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    #[command(flatten)]
    pub vectors: VectorArgs,
    /// Purpose of the search; only templates whose consent covers it can match
    #[arg(long, default_value = "identification")]
    pub purpose: String,
    /// Candidates per probe
    #[arg(short, long, default_value_t = 1)]
    pub k: usize,
    /// Match threshold (default: the vault's)
    #[arg(long, value_name = "T")]
    pub threshold: Option<f32>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The enrolled Facial ID to compare against
    pub facial_id: String,
    #[command(flatten)]
    pub vectors: VectorArgs,
    /// Purpose; the subject's consent must cover it
    #[arg(long, default_value = "authentication")]
    pub purpose: String,
    /// Match threshold (default: the vault's)
    #[arg(long, value_name = "T")]
    pub threshold: Option<f32>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Facial IDs to delete (all in one commit; all or nothing)
    #[arg(required = true, value_name = "FACIAL_ID")]
    pub facial_ids: Vec<String>,
    /// Why: request (subject's erasure request), withdrawal, retention, admin
    #[arg(long, default_value = "request")]
    pub reason: String,
    /// Save the receipt to FILE ('-' for stdout; one Facial ID only). Default: --receipt-dir
    /// or the current directory, as <FACIAL_ID>-deletion-receipt.json
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Purge as of this time: unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (default: now)
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(Args, Debug)]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Facial ID of the subject withdrawing consent
    pub facial_id: String,
    /// Save the receipt to FILE ('-' for stdout). Default: --receipt-dir or the current
    /// directory, as <FACIAL_ID>-withdrawal-receipt.json
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReceiptVerifyArgs {
    /// Receipt files (JSON, exactly as fidex wrote them)
    #[arg(required = true, value_name = "RECEIPT")]
    pub receipts: Vec<PathBuf>,
    /// Verification key: text 'fidex-vk-1:…' or a key file (one key per line, '#' comments; repeat for rotated keys)
    #[arg(long = "key", required = true, value_name = "PUBLIC_KEY")]
    pub keys: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Show entries from index N, and prove the log at size N is a prefix of today's
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub from: u64,
    /// Show at most this many entries
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// A tree head saved earlier (--head-out): entries since it, and verify the log only grew
    #[arg(long, value_name = "FILE", conflicts_with = "from")]
    pub since: Option<PathBuf>,
    /// Save the signed tree head to FILE (for a later --since)
    #[arg(long, value_name = "FILE")]
    pub head_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The subject's Facial ID
    pub facial_id: String,
    /// Include the template itself (biometric data!)
    #[arg(long)]
    pub include_template: bool,
    /// Write the export to FILE (mode 0600) instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// File with the new key (create it with `fidex key new`)
    #[arg(long, value_name = "FILE")]
    pub new_key: PathBuf,
    /// Also write the new verification key to FILE (must not exist)
    #[arg(long, value_name = "FILE")]
    pub vk_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Output directory (re-running replaces an earlier demo there)
    #[arg(default_value = "demo-out")]
    pub dir: PathBuf,
    /// Subjects to enroll
    #[arg(long, default_value_t = 200)]
    pub subjects: usize,
    /// Seed of the synthetic faces
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}
