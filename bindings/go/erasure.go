package fidex

/*
#include "fidex.h"

#cgo noescape fidex_vault_delete
#cgo nocallback fidex_vault_delete
#cgo noescape fidex_vault_delete_many
#cgo nocallback fidex_vault_delete_many
#cgo noescape fidex_vault_withdraw_consent
#cgo nocallback fidex_vault_withdraw_consent
#cgo noescape fidex_vault_purge_expired
#cgo nocallback fidex_vault_purge_expired
#cgo noescape fidex_vault_expired
#cgo nocallback fidex_vault_expired
#cgo noescape fidex_vault_retention_deadline
#cgo nocallback fidex_vault_retention_deadline
*/
import "C"

import (
	"context"
	"runtime"
	"time"
)

// DeletionReason says why a template is deleted; it is recorded in the audit log and the
// receipt. Values are generated from the ABI (DeletionSubjectRequest, ...).
type DeletionReason uint32

// Delete erases the template, payload and consent of id for reason, commits, and returns
// the signed deletion receipt (canonical JSON text; give it to the subject, check it with
// VerifyReceipt). When Delete returns, no vault file holds any encryption of them.
// ErrNotFound if id is not live; ErrInvalidEnum for an unknown reason.
func (v *Vault) Delete(id FacialID, reason DeletionReason) (string, error) {
	b, err := v.bytes("Vault.Delete", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_delete(v.ptr, idPtr(&id), C.fidex_deletion_reason(reason), out, e)
	})
	return string(b), err
}

// DeleteMany erases ids (at most MaxBatch) with one commit, all or nothing (ErrNotFound if
// any is not live, ErrInvalidArgument if one is listed twice), and returns their deletion
// receipts in the order of ids. ctx is checked before the call (one atomic C call).
func (v *Vault) DeleteMany(ctx context.Context, ids []FacialID, reason DeletionReason) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var receipts []string
	err := jsonCall("Vault.DeleteMany", v, &receipts, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_delete_many(v.ptr, idsPtr(ids), C.size_t(len(ids)), C.fidex_deletion_reason(reason), out, e)
	})
	runtime.KeepAlive(ids)
	return receipts, err
}

// WithdrawConsent records that the subject withdrew consent, then erases id like Delete,
// and returns the deletion receipt.
func (v *Vault) WithdrawConsent(id FacialID) (string, error) {
	b, err := v.bytes("Vault.WithdrawConsent", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_withdraw_consent(v.ptr, idPtr(&id), out, e)
	})
	return string(b), err
}

// clockArgs maps an optional time to the ABI's explicit clock mode.
func clockArgs(at *time.Time) (C.fidex_clock, C.int64_t) {
	if at == nil {
		return clockDefault, 0
	}
	return clockFixed, C.int64_t(at.Unix())
}

// PurgeExpired deletes every template past its deadline (the earlier of consent expiry
// and last interaction + retention) now, commits, and returns the deletion receipts
// (possibly none). ctx is checked before the call (one atomic C call).
func (v *Vault) PurgeExpired(ctx context.Context) ([]string, error) { return v.purge(ctx, nil) }

// PurgeExpiredAt is PurgeExpired as of time at (whole seconds), e.g. to purge ahead of a
// scheduled run or to test retention.
func (v *Vault) PurgeExpiredAt(ctx context.Context, at time.Time) ([]string, error) {
	return v.purge(ctx, &at)
}

func (v *Vault) purge(ctx context.Context, at *time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mode, now := clockArgs(at)
	var receipts []string
	err := jsonCall("Vault.PurgeExpired", v, &receipts, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_purge_expired(v.ptr, mode, now, out, e)
	})
	return receipts, err
}

// Expiry is a template past its deadline (Expired, ExpiredAt).
type Expiry struct {
	ID       FacialID `json:"facial_id"`
	Deadline int64    `json:"deadline"` // unix seconds
}

// Expired is the dry run of PurgeExpired: the templates past their deadline now.
func (v *Vault) Expired() ([]Expiry, error) { return v.expired(nil) }

// ExpiredAt is the dry run of PurgeExpiredAt.
func (v *Vault) ExpiredAt(at time.Time) ([]Expiry, error) { return v.expired(&at) }

func (v *Vault) expired(at *time.Time) ([]Expiry, error) {
	mode, now := clockArgs(at)
	var list []Expiry
	err := jsonCall("Vault.Expired", v, &list, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_expired(v.ptr, mode, now, out, e)
	})
	return list, err
}

// RetentionDeadline returns when id will be purged unless used again (the earlier of
// consent expiry and last interaction + retention).
func (v *Vault) RetentionDeadline(id FacialID) (time.Time, error) {
	var d C.int64_t
	err := statusCall("Vault.RetentionDeadline", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_retention_deadline(v.ptr, idPtr(&id), &d, e)
	})
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(d), 0), nil
}
