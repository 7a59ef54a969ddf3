// Code generated from fidex_constants_json() of libfidex 0.2.0 by internal/constgen
// (`go generate`); DO NOT EDIT. TestConstantsGenerated checks it against the linked library.

package fidex

// generatedVersion is the library version this file was generated from.
const generatedVersion = "0.2.0"

// Status codes of the C ABI (fidex_status). Codes never change meaning.
const (
	// FIDEX_OK (family ok): ok.
	CodeOK Code = 0
	// FIDEX_INVALID_ARGUMENT (family invalid_input): invalid argument.
	CodeInvalidArgument Code = 1001
	// FIDEX_DIMENSION_MISMATCH (family invalid_input): vector dimension does not match the vault.
	CodeDimensionMismatch Code = 1002
	// FIDEX_NON_FINITE_VALUE (family invalid_input): vector contains NaN or infinity.
	CodeNonFiniteValue Code = 1003
	// FIDEX_ZERO_VECTOR (family invalid_input): zero vector cannot be used as a template or probe.
	CodeZeroVector Code = 1004
	// FIDEX_NO_CONSENT (family consent): no consent record supplied.
	CodeNoConsent Code = 1005
	// FIDEX_CONSENT_EXPIRED (family consent): consent has expired.
	CodeConsentExpired Code = 1006
	// FIDEX_PURPOSE_NOT_COVERED (family purpose_not_covered): consent does not cover the requested purpose.
	CodePurposeNotCovered Code = 1007
	// FIDEX_DUPLICATE (family duplicate): template duplicates an enrolled one.
	CodeDuplicate Code = 1008
	// FIDEX_NOT_FOUND (family not_found): facial id not found.
	CodeNotFound Code = 1009
	// FIDEX_WRONG_KEY (family wrong_key): wrong key for this vault.
	CodeWrongKey Code = 1010
	// FIDEX_CORRUPT (family corrupt): vault data is corrupt or was tampered with.
	CodeCorrupt Code = 1011
	// FIDEX_IO (family io): I/O error.
	CodeIO Code = 1012
	// FIDEX_QUOTA_EXCEEDED (family quota): template quota exceeded.
	CodeQuotaExceeded Code = 1013
	// FIDEX_PAYLOAD_TOO_LARGE (family invalid_input): payload too large.
	CodePayloadTooLarge Code = 1014
	// FIDEX_INVALID_CONSENT (family consent): consent record is invalid.
	CodeInvalidConsent Code = 1015
	// FIDEX_INVALID_KEY_TEXT (family invalid_input): key text is invalid.
	CodeInvalidKeyText Code = 1016
	// FIDEX_INVALID_CONFIG (family invalid_input): vault configuration is invalid.
	CodeInvalidConfig Code = 1017
	// FIDEX_ALREADY_EXISTS (family already_exists): a vault already exists at that path.
	CodeAlreadyExists Code = 1018
	// FIDEX_UNSUPPORTED_VERSION (family corrupt): unsupported format version.
	CodeUnsupportedVersion Code = 1019
	// FIDEX_LOCKED (family locked): vault is locked by another handle or process.
	CodeLocked Code = 1020
	// FIDEX_VERIFICATION_FAILED (family verification_failed): verification failed.
	CodeVerificationFailed Code = 1021
	// FIDEX_NOT_A_VAULT (family not_found): not a fidex vault.
	CodeNotAVault Code = 1022
	// FIDEX_INVALID_JSON (family invalid_input): invalid JSON.
	CodeInvalidJSON Code = 1023
	// FIDEX_CLOSED (family closed): vault is closed.
	CodeClosed Code = 1024
	// FIDEX_UNKNOWN_PURPOSE (family invalid_input): unknown purpose.
	CodeUnknownPurpose Code = 1025
	// FIDEX_NOT_COMMITTED (family not_committed): not committed yet.
	CodeNotCommitted Code = 1026
	// FIDEX_VAULT_FAILED (family internal): the vault handle failed and refuses further use (reopen the vault).
	CodeVaultFailed Code = 1027
	// FIDEX_READ_ONLY (family locked): the vault handle is read-only.
	CodeReadOnly Code = 1028
	// FIDEX_NULL_PARAMETER (family invalid_input): a required pointer parameter was NULL.
	CodeNullParameter Code = 1100
	// FIDEX_PANIC (family internal): internal error: a Rust panic was caught at the C boundary (please report).
	CodePanic Code = 1101
	// FIDEX_INVALID_UTF8 (family invalid_input): text parameter is not valid UTF-8.
	CodeInvalidUTF8 Code = 1102
	// FIDEX_INVALID_ENUM (family invalid_input): enum or flag parameter has an unknown value.
	CodeInvalidEnum Code = 1103
	// FIDEX_BUFFER_TOO_LARGE (family invalid_input): input length exceeds its documented maximum.
	CodeBufferTooLarge Code = 1104
	// FIDEX_BUFFER_TOO_SMALL (family invalid_input): output array is too small for the request.
	CodeBufferTooSmall Code = 1105
	// FIDEX_MISALIGNED_POINTER (family invalid_input): pointer is not aligned for its type.
	CodeMisalignedPointer Code = 1106
)

// Error families: every status belongs to one; each has a sentinel error.
const (
	FamilyOK                 Family = "ok"
	FamilyInvalidInput       Family = "invalid_input"
	FamilyConsent            Family = "consent"
	FamilyPurposeNotCovered  Family = "purpose_not_covered"
	FamilyDuplicate          Family = "duplicate"
	FamilyNotFound           Family = "not_found"
	FamilyWrongKey           Family = "wrong_key"
	FamilyCorrupt            Family = "corrupt"
	FamilyIO                 Family = "io"
	FamilyQuota              Family = "quota"
	FamilyAlreadyExists      Family = "already_exists"
	FamilyLocked             Family = "locked"
	FamilyVerificationFailed Family = "verification_failed"
	FamilyClosed             Family = "closed"
	FamilyNotCommitted       Family = "not_committed"
	FamilyInternal           Family = "internal"
)

// Sentinel errors, for errors.Is: one per family (matching every code of the family)
// and one per status code whose name is not already its family's.
var (
	// ErrInvalidInput matches every error of family "invalid_input": CodeInvalidArgument, CodeDimensionMismatch, CodeNonFiniteValue, CodeZeroVector, CodePayloadTooLarge, CodeInvalidKeyText, CodeInvalidConfig, CodeInvalidJSON, CodeUnknownPurpose, CodeNullParameter, CodeInvalidUTF8, CodeInvalidEnum, CodeBufferTooLarge, CodeBufferTooSmall, CodeMisalignedPointer.
	ErrInvalidInput error = &sentinel{family: FamilyInvalidInput}
	// ErrConsent matches every error of family "consent": CodeNoConsent, CodeConsentExpired, CodeInvalidConsent.
	ErrConsent error = &sentinel{family: FamilyConsent}
	// ErrPurposeNotCovered matches every error of family "purpose_not_covered": CodePurposeNotCovered.
	ErrPurposeNotCovered error = &sentinel{family: FamilyPurposeNotCovered}
	// ErrDuplicate matches every error of family "duplicate": CodeDuplicate.
	ErrDuplicate error = &sentinel{family: FamilyDuplicate}
	// ErrNotFound matches every error of family "not_found": CodeNotFound, CodeNotAVault.
	ErrNotFound error = &sentinel{family: FamilyNotFound}
	// ErrWrongKey matches every error of family "wrong_key": CodeWrongKey.
	ErrWrongKey error = &sentinel{family: FamilyWrongKey}
	// ErrCorrupt matches every error of family "corrupt": CodeCorrupt, CodeUnsupportedVersion.
	ErrCorrupt error = &sentinel{family: FamilyCorrupt}
	// ErrIO matches every error of family "io": CodeIO.
	ErrIO error = &sentinel{family: FamilyIO}
	// ErrQuota matches every error of family "quota": CodeQuotaExceeded.
	ErrQuota error = &sentinel{family: FamilyQuota}
	// ErrAlreadyExists matches every error of family "already_exists": CodeAlreadyExists.
	ErrAlreadyExists error = &sentinel{family: FamilyAlreadyExists}
	// ErrLocked matches every error of family "locked": CodeLocked, CodeReadOnly.
	ErrLocked error = &sentinel{family: FamilyLocked}
	// ErrVerificationFailed matches every error of family "verification_failed": CodeVerificationFailed.
	ErrVerificationFailed error = &sentinel{family: FamilyVerificationFailed}
	// ErrClosed matches every error of family "closed": CodeClosed.
	ErrClosed error = &sentinel{family: FamilyClosed}
	// ErrNotCommitted matches every error of family "not_committed": CodeNotCommitted.
	ErrNotCommitted error = &sentinel{family: FamilyNotCommitted}
	// ErrInternal matches every error of family "internal": CodeVaultFailed, CodePanic.
	ErrInternal error = &sentinel{family: FamilyInternal}
	// ErrInvalidArgument matches CodeInvalidArgument (1001): invalid argument.
	ErrInvalidArgument error = &sentinel{code: CodeInvalidArgument}
	// ErrDimensionMismatch matches CodeDimensionMismatch (1002): vector dimension does not match the vault.
	ErrDimensionMismatch error = &sentinel{code: CodeDimensionMismatch}
	// ErrNonFiniteValue matches CodeNonFiniteValue (1003): vector contains NaN or infinity.
	ErrNonFiniteValue error = &sentinel{code: CodeNonFiniteValue}
	// ErrZeroVector matches CodeZeroVector (1004): zero vector cannot be used as a template or probe.
	ErrZeroVector error = &sentinel{code: CodeZeroVector}
	// ErrNoConsent matches CodeNoConsent (1005): no consent record supplied.
	ErrNoConsent error = &sentinel{code: CodeNoConsent}
	// ErrConsentExpired matches CodeConsentExpired (1006): consent has expired.
	ErrConsentExpired error = &sentinel{code: CodeConsentExpired}
	// ErrQuotaExceeded matches CodeQuotaExceeded (1013): template quota exceeded.
	ErrQuotaExceeded error = &sentinel{code: CodeQuotaExceeded}
	// ErrPayloadTooLarge matches CodePayloadTooLarge (1014): payload too large.
	ErrPayloadTooLarge error = &sentinel{code: CodePayloadTooLarge}
	// ErrInvalidConsent matches CodeInvalidConsent (1015): consent record is invalid.
	ErrInvalidConsent error = &sentinel{code: CodeInvalidConsent}
	// ErrInvalidKeyText matches CodeInvalidKeyText (1016): key text is invalid.
	ErrInvalidKeyText error = &sentinel{code: CodeInvalidKeyText}
	// ErrInvalidConfig matches CodeInvalidConfig (1017): vault configuration is invalid.
	ErrInvalidConfig error = &sentinel{code: CodeInvalidConfig}
	// ErrUnsupportedVersion matches CodeUnsupportedVersion (1019): unsupported format version.
	ErrUnsupportedVersion error = &sentinel{code: CodeUnsupportedVersion}
	// ErrNotAVault matches CodeNotAVault (1022): not a fidex vault.
	ErrNotAVault error = &sentinel{code: CodeNotAVault}
	// ErrInvalidJSON matches CodeInvalidJSON (1023): invalid JSON.
	ErrInvalidJSON error = &sentinel{code: CodeInvalidJSON}
	// ErrUnknownPurpose matches CodeUnknownPurpose (1025): unknown purpose.
	ErrUnknownPurpose error = &sentinel{code: CodeUnknownPurpose}
	// ErrVaultFailed matches CodeVaultFailed (1027): the vault handle failed and refuses further use (reopen the vault).
	ErrVaultFailed error = &sentinel{code: CodeVaultFailed}
	// ErrReadOnly matches CodeReadOnly (1028): the vault handle is read-only.
	ErrReadOnly error = &sentinel{code: CodeReadOnly}
	// ErrNullParameter matches CodeNullParameter (1100): a required pointer parameter was NULL.
	ErrNullParameter error = &sentinel{code: CodeNullParameter}
	// ErrPanic matches CodePanic (1101): internal error: a Rust panic was caught at the C boundary (please report).
	ErrPanic error = &sentinel{code: CodePanic}
	// ErrInvalidUTF8 matches CodeInvalidUTF8 (1102): text parameter is not valid UTF-8.
	ErrInvalidUTF8 error = &sentinel{code: CodeInvalidUTF8}
	// ErrInvalidEnum matches CodeInvalidEnum (1103): enum or flag parameter has an unknown value.
	ErrInvalidEnum error = &sentinel{code: CodeInvalidEnum}
	// ErrBufferTooLarge matches CodeBufferTooLarge (1104): input length exceeds its documented maximum.
	ErrBufferTooLarge error = &sentinel{code: CodeBufferTooLarge}
	// ErrBufferTooSmall matches CodeBufferTooSmall (1105): output array is too small for the request.
	ErrBufferTooSmall error = &sentinel{code: CodeBufferTooSmall}
	// ErrMisalignedPointer matches CodeMisalignedPointer (1106): pointer is not aligned for its type.
	ErrMisalignedPointer error = &sentinel{code: CodeMisalignedPointer}
)

// statusTable holds each code's C name, family and static message.
var statusTable = map[Code]statusInfo{
	CodeOK:                 {name: "FIDEX_OK", family: FamilyOK, message: "ok"},
	CodeInvalidArgument:    {name: "FIDEX_INVALID_ARGUMENT", family: FamilyInvalidInput, message: "invalid argument"},
	CodeDimensionMismatch:  {name: "FIDEX_DIMENSION_MISMATCH", family: FamilyInvalidInput, message: "vector dimension does not match the vault"},
	CodeNonFiniteValue:     {name: "FIDEX_NON_FINITE_VALUE", family: FamilyInvalidInput, message: "vector contains NaN or infinity"},
	CodeZeroVector:         {name: "FIDEX_ZERO_VECTOR", family: FamilyInvalidInput, message: "zero vector cannot be used as a template or probe"},
	CodeNoConsent:          {name: "FIDEX_NO_CONSENT", family: FamilyConsent, message: "no consent record supplied"},
	CodeConsentExpired:     {name: "FIDEX_CONSENT_EXPIRED", family: FamilyConsent, message: "consent has expired"},
	CodePurposeNotCovered:  {name: "FIDEX_PURPOSE_NOT_COVERED", family: FamilyPurposeNotCovered, message: "consent does not cover the requested purpose"},
	CodeDuplicate:          {name: "FIDEX_DUPLICATE", family: FamilyDuplicate, message: "template duplicates an enrolled one"},
	CodeNotFound:           {name: "FIDEX_NOT_FOUND", family: FamilyNotFound, message: "facial id not found"},
	CodeWrongKey:           {name: "FIDEX_WRONG_KEY", family: FamilyWrongKey, message: "wrong key for this vault"},
	CodeCorrupt:            {name: "FIDEX_CORRUPT", family: FamilyCorrupt, message: "vault data is corrupt or was tampered with"},
	CodeIO:                 {name: "FIDEX_IO", family: FamilyIO, message: "I/O error"},
	CodeQuotaExceeded:      {name: "FIDEX_QUOTA_EXCEEDED", family: FamilyQuota, message: "template quota exceeded"},
	CodePayloadTooLarge:    {name: "FIDEX_PAYLOAD_TOO_LARGE", family: FamilyInvalidInput, message: "payload too large"},
	CodeInvalidConsent:     {name: "FIDEX_INVALID_CONSENT", family: FamilyConsent, message: "consent record is invalid"},
	CodeInvalidKeyText:     {name: "FIDEX_INVALID_KEY_TEXT", family: FamilyInvalidInput, message: "key text is invalid"},
	CodeInvalidConfig:      {name: "FIDEX_INVALID_CONFIG", family: FamilyInvalidInput, message: "vault configuration is invalid"},
	CodeAlreadyExists:      {name: "FIDEX_ALREADY_EXISTS", family: FamilyAlreadyExists, message: "a vault already exists at that path"},
	CodeUnsupportedVersion: {name: "FIDEX_UNSUPPORTED_VERSION", family: FamilyCorrupt, message: "unsupported format version"},
	CodeLocked:             {name: "FIDEX_LOCKED", family: FamilyLocked, message: "vault is locked by another handle or process"},
	CodeVerificationFailed: {name: "FIDEX_VERIFICATION_FAILED", family: FamilyVerificationFailed, message: "verification failed"},
	CodeNotAVault:          {name: "FIDEX_NOT_A_VAULT", family: FamilyNotFound, message: "not a fidex vault"},
	CodeInvalidJSON:        {name: "FIDEX_INVALID_JSON", family: FamilyInvalidInput, message: "invalid JSON"},
	CodeClosed:             {name: "FIDEX_CLOSED", family: FamilyClosed, message: "vault is closed"},
	CodeUnknownPurpose:     {name: "FIDEX_UNKNOWN_PURPOSE", family: FamilyInvalidInput, message: "unknown purpose"},
	CodeNotCommitted:       {name: "FIDEX_NOT_COMMITTED", family: FamilyNotCommitted, message: "not committed yet"},
	CodeVaultFailed:        {name: "FIDEX_VAULT_FAILED", family: FamilyInternal, message: "the vault handle failed and refuses further use (reopen the vault)"},
	CodeReadOnly:           {name: "FIDEX_READ_ONLY", family: FamilyLocked, message: "the vault handle is read-only"},
	CodeNullParameter:      {name: "FIDEX_NULL_PARAMETER", family: FamilyInvalidInput, message: "a required pointer parameter was NULL"},
	CodePanic:              {name: "FIDEX_PANIC", family: FamilyInternal, message: "internal error: a Rust panic was caught at the C boundary (please report)"},
	CodeInvalidUTF8:        {name: "FIDEX_INVALID_UTF8", family: FamilyInvalidInput, message: "text parameter is not valid UTF-8"},
	CodeInvalidEnum:        {name: "FIDEX_INVALID_ENUM", family: FamilyInvalidInput, message: "enum or flag parameter has an unknown value"},
	CodeBufferTooLarge:     {name: "FIDEX_BUFFER_TOO_LARGE", family: FamilyInvalidInput, message: "input length exceeds its documented maximum"},
	CodeBufferTooSmall:     {name: "FIDEX_BUFFER_TOO_SMALL", family: FamilyInvalidInput, message: "output array is too small for the request"},
	CodeMisalignedPointer:  {name: "FIDEX_MISALIGNED_POINTER", family: FamilyInvalidInput, message: "pointer is not aligned for its type"},
}

// Why a template is deleted (Vault.Delete, Vault.DeleteMany).
const (
	DeletionSubjectRequest   DeletionReason = 1 // FIDEX_DELETION_SUBJECT_REQUEST
	DeletionConsentWithdrawn DeletionReason = 2 // FIDEX_DELETION_CONSENT_WITHDRAWN
	DeletionRetentionExpired DeletionReason = 3 // FIDEX_DELETION_RETENTION_EXPIRED
	DeletionAdmin            DeletionReason = 4 // FIDEX_DELETION_ADMIN
)

// The kind of a verified receipt (VerifyReceipt).
const (
	ReceiptDeletion   ReceiptKind = 1 // FIDEX_RECEIPT_DELETION
	ReceiptEnrollment ReceiptKind = 2 // FIDEX_RECEIPT_ENROLLMENT
)

// Threshold modes (SearchOptions.Threshold chooses).
const (
	thresholdVaultDefault = 0 // FIDEX_THRESHOLD_VAULT_DEFAULT
	thresholdExplicit     = 1 // FIDEX_THRESHOLD_EXPLICIT
)

// Clock modes (the *At variants pass a fixed time).
const (
	clockDefault = 0 // FIDEX_CLOCK_DEFAULT
	clockFixed   = 1 // FIDEX_CLOCK_FIXED
)

// Subject export modes (ExportSubject's withTemplate).
const (
	exportWithoutTemplate = 0 // FIDEX_EXPORT_WITHOUT_TEMPLATE
	exportWithTemplate    = 1 // FIDEX_EXPORT_WITH_TEMPLATE
)

// Payload modes (SearchOptions.Payloads).
const (
	payloadsNone    = 0 // FIDEX_PAYLOADS_NONE
	payloadsInclude = 1 // FIDEX_PAYLOADS_INCLUDE
)

// The version of fidex.h the constants were generated from.
const (
	VersionMajor  = 0    // FIDEX_VERSION_MAJOR
	VersionMinor  = 2    // FIDEX_VERSION_MINOR
	VersionNumber = 2000 // FIDEX_VERSION_NUMBER
	VersionPatch  = 0    // FIDEX_VERSION_PATCH
)

// Limits and other constants of fidex.h.
const (
	AuditEnd        uint64 = 18446744073709551615 // FIDEX_AUDIT_END
	FacialIDTextLen        = 36                   // FIDEX_FACIAL_ID_TEXT_LEN
	KeyBytes               = 32                   // FIDEX_KEY_BYTES
	MaxBatch               = 100000               // FIDEX_MAX_BATCH
	MaxDimension           = 4096                 // FIDEX_MAX_DIMENSION
	MaxInputBytes          = 67108864             // FIDEX_MAX_INPUT_BYTES
	MaxK                   = 10000                // FIDEX_MAX_K
	MaxPayloadBytes        = 16384                // FIDEX_MAX_PAYLOAD_BYTES
)
