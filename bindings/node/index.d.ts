// TypeScript declarations of the fidex Node binding. The error classes, Status and
// Constants are generated from the library (errors.generated.d.ts); the object shapes
// below are the core's documented JSON (docs/C_API.md, docs/RECEIPTS.md), field names as
// the core writes them.

import type { Family, StatusName, Constants } from './errors.generated';
export * from './errors.generated';

/** A Facial ID in text form: lower-case hyphenated UUID. */
export type FacialId = string;
/** A Facial ID as text (any UUID form) or its 16 bytes. */
export type FacialIdInput = string | Uint8Array;
/** Bytes stored with a template: a Buffer / Uint8Array, or a string stored as UTF-8. */
export type PayloadInput = Uint8Array | string;

export type Metric = 'cosine' | 'inner_product' | 'l2';
export type Storage = 'f32' | 'f16' | 'int8' | 'int8_no_rerank';
export type DeletionReason = 'subject_request' | 'consent_withdrawn' | 'retention_expired' | 'admin';
export type ReceiptKind = 'deletion' | 'enrollment';

/** Base class of every error reported by the fidex core. */
export declare class FidexError extends Error {
  /** Status code (e.g. 1009), equal to the Rust `Error::code()` and the C `fidex_status`. */
  readonly code: number;
  /** Status name without the FIDEX_ prefix (e.g. "NOT_FOUND"). */
  readonly status: StatusName;
  /** Status family: the subclass this error is an instance of. */
  readonly family: Family;
  /** Batch calls (enrollMany): index of the refused item. */
  readonly item: number | undefined;
}

/** Options of Vault.create, camelCase (snake_case, as config() returns them, works too). */
export interface VaultConfigInput {
  /** Template dimension (required; `dim` is a short alias). */
  dimension?: number;
  dim?: number;
  metric?: Metric;
  storage?: Storage;
  matchThreshold?: number;
  /** null: no duplicate check at enrollment. */
  duplicateThreshold?: number | null;
  retentionSecs?: number;
  maxTemplates?: number;
  purposes?: string[];
  cancelable?: boolean;
  /** 0: all cores. */
  searchThreads?: number;
  autoPurge?: boolean;
  backend?: 'flat' | 'faiss_ivf';
  ivfNlist?: number;
  ivfNprobe?: number;
  ivfSq8?: boolean;
}

/** A vault's configuration as the core returns it (Vault#config). */
export interface VaultConfig {
  dimension: number;
  metric: Metric;
  storage: Storage;
  match_threshold: number;
  duplicate_threshold: number | null;
  retention_secs: number;
  max_templates: number;
  purposes: string[];
  cancelable: boolean;
  search_threads: number;
  auto_purge: boolean;
  backend: string;
  ivf_nlist?: number;
  ivf_nprobe?: number;
  ivf_sq8?: boolean;
}

/** A consent receipt as an object, its JSON text, or the UTF-8 bytes of that text. */
export type ConsentInput = ConsentReceipt | string | Uint8Array;

/** A Kantara Consent Receipt v1.1 (only the fields fidex reads are typed). */
export interface ConsentReceipt {
  version: string;
  consentTimestamp: number;
  consentReceiptID: string;
  piiPrincipalId: string;
  policyUrl: string;
  services: Array<{ service: string; purposes: Array<{ purpose: string; purposeCategory?: string[]; consentType: string; [field: string]: unknown }>; [field: string]: unknown }>;
  sensitive?: boolean;
  /** fidex's own field: end of consent, unix seconds. */
  expiresAt?: number;
  [field: string]: unknown;
}

export interface ExplicitConsentOptions {
  /** The subject's pseudonymous id in your system. */
  subject: string;
  /** Controller name. */
  controller: string;
  /** Privacy policy URL (http or https). */
  policyUrl: string;
  /** Purposes consented to, e.g. ["authentication"]. */
  purposes: string[];
  /** When consent was given (unix seconds or Date, not in the future); default now. */
  timestamp?: number | Date;
}

export interface SignedTreeHead {
  vault_id: string;
  log_size: number;
  log_root: string;
  live_root: string;
  live_count: number;
  timestamp: number;
  signature: string;
}

export interface DeletionReceipt {
  type: 'fidex-deletion-receipt';
  version: number;
  vault_id: string;
  facial_id: FacialId;
  deleted_at: number;
  reason: DeletionReason;
  log_entry: string;
  log_index: number;
  inclusion_proof: string[];
  tree_head: SignedTreeHead;
  non_membership_proof: unknown;
}

export interface EnrollmentReceipt {
  type: 'fidex-enrollment-receipt';
  version: number;
  vault_id: string;
  facial_id: FacialId;
  enrolled_at: number;
  consent_receipt_id: string;
  consent_sha256: string;
  consent_entry: string;
  consent_index: number;
  consent_inclusion_proof: string[];
  enrollment_entry: string;
  enrollment_index: number;
  enrollment_inclusion_proof: string[];
  tree_head: SignedTreeHead;
  membership_proof: unknown;
}

export interface CommitInfo {
  generation: number;
  files_written: number;
  bytes_written: number;
  /** Receipts of templates purged automatically (retention) by this commit. */
  purged: DeletionReceipt[];
}

export interface Match {
  facialId: FacialId;
  /** Similarity (cosine / inner product: higher is closer) or distance (L2: lower is closer). */
  score: number;
  /** With `payloads: true`: the bytes stored with the template. */
  payload?: Buffer;
}

export interface Verification {
  score: number;
  threshold: number;
  matched: boolean;
}

export interface SearchOptions {
  /** A purpose of the vault, e.g. "identification": only templates whose consent covers it can match. */
  purpose: string;
  /** At most this many matches (default 1). */
  k?: number;
  /** Default: the vault's match threshold. */
  threshold?: number;
  /** Also return each match's payload, read under the same lock as the search. */
  payloads?: boolean;
}

export interface VerifyOptions {
  purpose: string;
  threshold?: number;
}

export interface Stats {
  templates: number;
  uncommitted: number;
  enrollments_total: number;
  deletions_by_reason: Record<string, number>;
  consents_by_purpose: Record<string, number>;
  oldest_enrollment: number | null;
  newest_enrollment: number | null;
  bytes_on_disk: number;
  template_bytes: number;
  index_memory_bytes: number;
  segments: number;
  log_entries: number;
  generation: number;
  kernel: string;
  backend: string;
  int8_scale: number | null;
  int8_calibrated_rows: number;
  /** Whether the handle is read-only. */
  read_only: boolean;
  /** Files no manifest explains (a writer refuses changes until removeStrayFiles()). */
  stray_files: string[];
}

export interface SubjectExport {
  vault_id: string;
  facial_id: FacialId;
  consent: ConsentReceipt;
  payload_hex: string;
  enrolled_at: number;
  last_interaction: number;
  retention_deadline: number;
  log_entries: Array<Record<string, unknown>>;
  template: number[] | null;
}

export interface VaultHeader {
  version: number;
  flags: number;
  vault_id: string;
  dimension: number;
  metric: Metric;
  storage: Storage;
  cancelable: boolean;
  generation: number;
  key_check: string;
}

/** Options of Vault.open. Durations in milliseconds: finite and >= 0 (RangeError otherwise), rounded up. */
export interface OpenOptions {
  /** Open without the lock beside the one writer (any process); every change rejects with ReadOnlyError. Default false. */
  readOnly?: boolean;
  /** A writer waits up to this long for another handle's lock instead of rejecting at once with LockedError. */
  lockWaitMs?: number;
  /** Read-only handles move to the newest commit before a search once the last check is older than this. Default 1000; null: only on refresh(). */
  refreshIntervalMs?: number | null;
}

/** A vault's 256-bit secret key. Zeroized when disposed or garbage-collected. */
export declare class VaultKey {
  private constructor();
  /** A new key from the OS CSPRNG. */
  static generate(): VaultKey;
  /** Parses key text from exportText(); a typo fails the checksum (InvalidInputError). */
  static importText(text: string): VaultKey;
  /** A key from exactly 32 raw bytes. */
  static fromBytes(bytes: Uint8Array): VaultKey;
  /** The key as one line of text: the secret itself. */
  exportText(): string;
  /** The 32 raw key bytes. */
  exposeSecret(): Uint8Array;
  /** Public fingerprint (16 hex digits). */
  fingerprint(): string;
  /** Zeroizes and frees the key (after async calls using it complete). */
  dispose(): void;
  [Symbol.dispose](): void;
}

/** An open vault. Methods returning a Promise run on a libuv worker thread. */
export declare class Vault {
  private constructor();
  static create(path: string, key: VaultKey, config: VaultConfigInput | VaultConfig | string): Promise<Vault>;
  /** Without options: fidex_vault_open (a writer, LockedError if another handle holds the lock). */
  static open(path: string, key: VaultKey, options?: OpenOptions): Promise<Vault>;
  static readHeader(path: string): Promise<VaultHeader>;

  readonly path: string;
  readonly dimension: number;
  /** Whether this handle was opened with {readOnly: true}. */
  readonly readOnly: boolean;
  /** Number of live templates. */
  readonly size: number;
  /** Vault id (32 hex digits). */
  readonly id: string;

  commit(): Promise<CommitInfo>;
  compact(): Promise<CommitInfo>;
  /** Commits and closes; later calls reject with ClosedError. */
  close(): Promise<void>;
  check(): Promise<void>;
  rotateKey(newKey: VaultKey): Promise<void>;
  uncommitted(): number;
  /** Read-only handles: load the writer's newest commit now; whether anything changed (writers: false). */
  refresh(): Promise<boolean>;
  /** Writers: removes the stray files (stats().stray_files); the names removed. ReadOnlyError on a read-only handle. */
  removeStrayFiles(): Promise<string[]>;
  [Symbol.asyncDispose](): Promise<void>;

  enroll(template: Float32Array, consent: ConsentInput, options?: { payload?: PayloadInput | null }): Promise<FacialId>;
  enrollSync(template: Float32Array, consent: ConsentInput, options?: { payload?: PayloadInput | null }): FacialId;
  enrollMany(templates: Float32Array, consents: ConsentInput[], options?: { payloads?: Array<PayloadInput | null> | null }): Promise<FacialId[]>;
  checkConsent(consent: ConsentInput): string[];
  enrollmentReceipt(facialId: FacialIdInput): EnrollmentReceipt;

  identify(probe: Float32Array, options: SearchOptions): Promise<Match[]>;
  identifySync(probe: Float32Array, options: SearchOptions): Match[];
  identifyBatch(probes: Float32Array, options: SearchOptions): Promise<Match[][]>;
  identifyBatchSync(probes: Float32Array, options: SearchOptions): Match[][];
  verify(facialId: FacialIdInput, probe: Float32Array, options: VerifyOptions): Promise<Verification>;
  verifySync(facialId: FacialIdInput, probe: Float32Array, options: VerifyOptions): Verification;

  delete(facialId: FacialIdInput, options?: { reason?: DeletionReason }): Promise<DeletionReceipt>;
  deleteMany(facialIds: FacialIdInput[], options?: { reason?: DeletionReason }): Promise<DeletionReceipt[]>;
  withdrawConsent(facialId: FacialIdInput): Promise<DeletionReceipt>;
  purgeExpired(options?: { now?: number | Date }): Promise<DeletionReceipt[]>;
  expired(options?: { now?: number | Date }): Array<{ facial_id: FacialId; deadline: number }>;
  retentionDeadline(facialId: FacialIdInput): number;

  exportSubject(facialId: FacialIdInput, options?: { includeTemplate?: boolean }): Promise<SubjectExport>;
  consent(facialId: FacialIdInput): ConsentReceipt;
  payload(facialId: FacialIdInput): Buffer;
  contains(facialId: FacialIdInput): boolean;
  facialIdsPage(options?: { after?: FacialIdInput | null; limit?: number }): FacialId[];
  facialIds(): FacialId[];
  stats(): Stats;
  config(): VaultConfig;
  header(): VaultHeader;
  keyFingerprint(): string;
  verificationKey(): string;
  previousVerificationKeys(): string[];
  treeHead(): SignedTreeHead;
  consistencyProof(oldSize: number, newSize: number): string[];
  auditEntries(options?: { from?: number; to?: number | null }): Array<Record<string, unknown>>;
  processingRecord(): Record<string, unknown>;
  pendingRemovals(): string[];
}

/** A minimal valid explicit-consent Kantara v1.1 receipt. */
export declare function explicitConsent(options: ExplicitConsentOptions): ConsentReceipt;
/** The purposes (of `purposes`) that `consent` covers at `now`; throws what enrollment would. */
export declare function validateConsent(consent: ConsentInput, purposes: string[], options?: { now?: number | Date }): string[];
/** Offline verification with a published key; throws VerificationFailedError. */
export declare function verifyReceipt(receipt: DeletionReceipt | EnrollmentReceipt | string, verificationKey: string): ReceiptKind;
/** Checks that tree head `newer` extends `older`; throws VerificationFailedError. */
export declare function verifyConsistency(older: SignedTreeHead | string, newer: SignedTreeHead | string, proof: string[] | string, verificationKey: string): void;
/** The canonical text of a receipt or tree head (what `fidex receipt verify` reads). */
export declare function receiptText(receipt: DeletionReceipt | EnrollmentReceipt | SignedTreeHead | string): string;
export declare function facialIdToText(id: FacialIdInput): FacialId;
export declare function parseFacialId(id: FacialIdInput): Uint8Array;

/** Version of the loaded library, e.g. "0.2.0". */
export declare const version: string;
export declare const constants: Constants;
/** Which library and header were loaded, and how they were found. */
export declare const library: { readonly library: string; readonly cdef: string; readonly source: 'FIDEX_LIBRARY' | 'bundled' | 'checkout' };

/** The module object (also the ESM default export). */
declare const fidex: typeof import('./index');
export default fidex;
