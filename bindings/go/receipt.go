package fidex

/*
#include "fidex.h"

#cgo noescape fidex_receipt_verify
#cgo nocallback fidex_receipt_verify
#cgo noescape fidex_verify_consistency
#cgo nocallback fidex_verify_consistency
#cgo noescape fidex_vault_verification_key
#cgo nocallback fidex_vault_verification_key
#cgo noescape fidex_vault_previous_verification_keys
#cgo nocallback fidex_vault_previous_verification_keys
#cgo noescape fidex_vault_tree_head
#cgo nocallback fidex_vault_tree_head
#cgo noescape fidex_vault_consistency_proof
#cgo nocallback fidex_vault_consistency_proof
*/
import "C"

import (
	"runtime"
	"strconv"
)

// ReceiptKind is the kind of a verified receipt: ReceiptDeletion or ReceiptEnrollment.
type ReceiptKind uint32

// String returns "deletion", "enrollment", or the number of a kind this binding does not name.
func (k ReceiptKind) String() string {
	switch k {
	case ReceiptDeletion:
		return "deletion"
	case ReceiptEnrollment:
		return "enrollment"
	}
	return "ReceiptKind(" + strconv.FormatUint(uint64(k), 10) + ")"
}

// VerifyReceipt checks a receipt (deletion or enrollment: the exact text fidex produced, a
// trailing newline allowed) against a vault's published verification key
// (`fidex-vk-1:...`), offline, and returns its kind. A changed byte, a proof that does not
// check or another vault's key give ErrVerificationFailed; a malformed key
// ErrInvalidKeyText.
func VerifyReceipt(receipt, verificationKey string) (ReceiptKind, error) {
	var kind C.fidex_receipt_kind
	err := statusCall("VerifyReceipt", nil, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_receipt_verify(strPtr(receipt), C.size_t(len(receipt)), strPtr(verificationKey), C.size_t(len(verificationKey)), &kind, e)
	})
	runtime.KeepAlive(receipt)
	runtime.KeepAlive(verificationKey)
	return ReceiptKind(kind), err
}

// VerificationKey returns the public verification key of the vault's current signing key
// (`fidex-vk-1:<vault id>:<Ed25519 key>`). Publish it: anyone can then check the vault's
// receipts with VerifyReceipt, without the vault.
func (v *Vault) VerificationKey() (string, error) {
	b, err := v.bytes("Vault.VerificationKey", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_verification_key(v.ptr, out, e)
	})
	return string(b), err
}

// PreviousVerificationKeys returns the verification keys of earlier (rotated) signing
// keys, oldest first.
func (v *Vault) PreviousVerificationKeys() ([]string, error) {
	var keys []string
	err := jsonCall("Vault.PreviousVerificationKeys", v, &keys, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_previous_verification_keys(v.ptr, out, e)
	})
	return keys, err
}

// TreeHead returns a freshly signed tree head over the committed audit log and live set
// (canonical JSON text). Publish heads periodically; VerifyConsistency proves a later head
// extends an earlier one.
func (v *Vault) TreeHead() (string, error) {
	b, err := v.bytes("Vault.TreeHead", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_tree_head(v.ptr, out, e)
	})
	return string(b), err
}

// ConsistencyProof returns the RFC 9162 consistency proof of the audit log from size
// oldSize to newSize (a JSON array of hex hashes, to pass to VerifyConsistency as is).
func (v *Vault) ConsistencyProof(oldSize, newSize uint64) (string, error) {
	b, err := v.bytes("Vault.ConsistencyProof", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_consistency_proof(v.ptr, C.uint64_t(oldSize), C.uint64_t(newSize), out, e)
	})
	return string(b), err
}

// VerifyConsistency checks, offline, that the signed tree head newer extends older (the
// audit log was only appended to): both verify with verificationKey and proof (from
// ConsistencyProof) is a valid consistency proof between them. ErrVerificationFailed,
// ErrInvalidJSON or ErrInvalidKeyText otherwise.
func VerifyConsistency(older, newer, proof, verificationKey string) error {
	err := statusCall("VerifyConsistency", nil, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_verify_consistency(strPtr(older), C.size_t(len(older)), strPtr(newer), C.size_t(len(newer)),
			strPtr(proof), C.size_t(len(proof)), strPtr(verificationKey), C.size_t(len(verificationKey)), e)
	})
	runtime.KeepAlive(older)
	runtime.KeepAlive(newer)
	runtime.KeepAlive(proof)
	runtime.KeepAlive(verificationKey)
	return err
}
