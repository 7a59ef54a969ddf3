package fidex

/*
#include "fidex.h"

#cgo noescape fidex_vault_enroll
#cgo nocallback fidex_vault_enroll
#cgo noescape fidex_vault_enroll_many
#cgo nocallback fidex_vault_enroll_many
#cgo noescape fidex_vault_check_consent
#cgo nocallback fidex_vault_check_consent
#cgo noescape fidex_vault_enrollment_receipt
#cgo nocallback fidex_vault_enrollment_receipt
*/
import "C"

import (
	"context"
	"runtime"
)

// Enroll stores a template under the subject's consent and returns its Facial ID.
//
//   - template: the face embedding, exactly the vault's dimension, finite and non-zero
//     (ErrDimensionMismatch, ErrNonFiniteValue, ErrZeroVector); read in place, not copied.
//   - consent: a Kantara CR v1.1 consent receipt (JSON; see ExplicitConsent) recording
//     explicit consent for at least one of the vault's purposes. Empty: ErrNoConsent;
//     otherwise ErrInvalidConsent, ErrConsentExpired or ErrPurposeNotCovered
//     (Vault.CheckConsent tells beforehand). Every one of these matches ErrConsent
//     except ErrPurposeNotCovered, a family of its own.
//   - payload: application bytes stored encrypted with the template (e.g. your user id),
//     at most MaxPayloadBytes; nil stores none.
//
// The template is searchable at once and durable after the next Commit or Close; its
// receipt is available from EnrollmentReceipt after that commit. ErrDuplicate when the
// face is already enrolled (duplicate check on by default).
func (v *Vault) Enroll(template []float32, consent []byte, payload []byte) (FacialID, error) {
	var id FacialID
	var cerr *C.fidex_error
	st := C.fidex_vault_enroll(v.ptr, floatPtr(template), C.size_t(len(template)), charPtr(consent), C.size_t(len(consent)),
		bytePtr(payload), C.size_t(len(payload)), idPtr(&id), &cerr)
	runtime.KeepAlive(template)
	runtime.KeepAlive(consent)
	runtime.KeepAlive(payload)
	runtime.KeepAlive(v)
	if err := newError("Vault.Enroll", st, cerr); err != nil {
		return FacialID{}, err
	}
	return id, nil
}

// ragged packs byte strings into one buffer plus len(items)+1 offsets, the ABI's form for
// variable-length batch inputs (Go memory without Go pointers, which cgo may pass to C).
func ragged(items [][]byte) ([]byte, []C.size_t) {
	total := 0
	for _, it := range items {
		total += len(it)
	}
	buf := make([]byte, 0, total)
	offsets := make([]C.size_t, len(items)+1)
	for i, it := range items {
		buf = append(buf, it...)
		offsets[i+1] = C.size_t(len(buf))
	}
	return buf, offsets
}

// EnrollMany enrolls len(consents) templates in one call, all or nothing: either all are
// enrolled and their Facial IDs returned in item order, or none is and the *Error names
// the first refused item in Item (its Code is the cause, e.g. CodeInvalidConsent or
// CodeDuplicate). The duplicate check covers the vault and the other items of the batch.
//
//   - templates: n × dimension floats, row-major, in one slice (read in place, not copied);
//   - consents: item i's Kantara receipt;
//   - payloads: nil (none), or item i's payload (may be empty).
//
// ctx is checked before the call; the batch is one atomic C call and is not interrupted
// (splitting it here would break all-or-nothing).
func (v *Vault) EnrollMany(ctx context.Context, templates []float32, consents [][]byte, payloads [][]byte) ([]FacialID, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cbuf, coffs := ragged(consents)
	var pbuf []byte
	var poffs []C.size_t
	var poffsPtr *C.size_t
	if payloads != nil {
		pbuf, poffs = ragged(payloads)
		poffsPtr = &poffs[0]
	}
	ids := make([]FacialID, len(consents))
	var noID FacialID
	idsOut := idPtr(&noID) // never NULL, even for an empty batch (the library refuses that itself)
	if len(ids) > 0 {
		idsOut = idsPtr(ids)
	}
	var cerr *C.fidex_error
	st := C.fidex_vault_enroll_many(v.ptr, floatPtr(templates), C.size_t(len(templates)),
		charPtr(cbuf), C.size_t(len(cbuf)), &coffs[0], C.size_t(len(coffs)),
		bytePtr(pbuf), C.size_t(len(pbuf)), poffsPtr, C.size_t(len(poffs)),
		idsOut, C.size_t(len(ids)), &cerr)
	runtime.KeepAlive(templates)
	runtime.KeepAlive(cbuf)
	runtime.KeepAlive(coffs)
	runtime.KeepAlive(pbuf)
	runtime.KeepAlive(poffs)
	runtime.KeepAlive(ids)
	runtime.KeepAlive(v)
	if err := newError("Vault.EnrollMany", st, cerr); err != nil {
		return nil, err
	}
	return ids, nil
}

// CheckConsent runs every check Enroll makes of a consent receipt (against this vault's
// purposes, at its clock) without enrolling anything, and returns the vault purposes the
// receipt covers; otherwise exactly the error Enroll would return.
func (v *Vault) CheckConsent(consent []byte) ([]string, error) {
	var covered []string
	err := jsonCall("Vault.CheckConsent", v, &covered, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_check_consent(v.ptr, charPtr(consent), C.size_t(len(consent)), out, e)
	})
	runtime.KeepAlive(consent)
	return covered, err
}

// EnrollmentReceipt returns the signed enrollment receipt of id (canonical JSON text
// proving its consent record and enrollment are in the audit log; check it with
// VerifyReceipt). ErrNotCommitted until the enrollment is committed, ErrNotFound if id is
// not live.
func (v *Vault) EnrollmentReceipt(id FacialID) (string, error) {
	b, err := v.bytes("Vault.EnrollmentReceipt", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_enrollment_receipt(v.ptr, idPtr(&id), out, e)
	})
	return string(b), err
}
