package fidex

/*
#include <stdbool.h>
#include "fidex.h"

#cgo noescape fidex_vault_open_with
#cgo nocallback fidex_vault_open_with
#cgo noescape fidex_vault_refresh
#cgo nocallback fidex_vault_refresh
#cgo noescape fidex_vault_remove_stray_files
#cgo nocallback fidex_vault_remove_stray_files
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"
)

// DefaultRefreshInterval is how stale a read-only Vault may get before a search moves it
// to the writer's newest commit, when OpenOptions.RefreshInterval is nil.
const DefaultRefreshInterval = time.Second

// OpenOptions are OpenWith's options; the zero value opens like Open.
//
// Many processes: one Vault per vault directory holds the writer lock; any number of
// read-only Vaults, in this and other processes (worker processes, several Go services),
// open it beside that writer. See README.md, "Many processes".
type OpenOptions struct {
	// ReadOnly opens without the writer lock, beside the one writer. Every change
	// (Enroll, Delete, Commit, Compact, RotateKey, PurgeExpired, RemoveStrayFiles, ...)
	// then fails with ErrReadOnly (which also matches the family sentinel ErrLocked).
	// A read-only Vault never writes or removes a vault file, except that it appends the
	// matches it saw, sealed, to interactions.fxi for the writer's retention deadlines.
	ReadOnly bool

	// LockWait: a writer waits up to this long for another Vault's or process's lock
	// instead of failing at once with ErrLocked. 0: do not wait. Rounded up to whole
	// milliseconds; negative: ErrInvalidArgument.
	LockWait time.Duration

	// RefreshInterval: a read-only Vault moves to the writer's newest commit before a
	// search once its last check is older than this. So a search that starts more than
	// one interval after a deletion's commit returned in the writer never matches the
	// deleted template. nil: DefaultRefreshInterval (1 s); Ptr(time.Duration(0)): check
	// before every search. Rounded down to whole milliseconds; negative:
	// ErrInvalidArgument. Ignored by writers (always current).
	RefreshInterval *time.Duration

	// ManualRefresh: a read-only Vault moves to newer commits only when Refresh is
	// called (no automatic check before searches). RefreshInterval must then be nil.
	ManualRefresh bool
}

// json returns the options as the ABI's JSON object, or ErrInvalidArgument.
func (o OpenOptions) json(op string) (string, error) {
	invalid := func(msg string) (string, error) {
		return "", &Error{Op: op, Code: CodeInvalidArgument, Item: -1,
			Message: msg + " (checked by the Go binding)"}
	}
	// The ABI's options object (fidex_vault_open_with): a field left out takes the
	// library's default; "refresh_interval_ms": null means manual refresh only.
	opts := map[string]any{"read_only": o.ReadOnly}
	if o.LockWait < 0 {
		return invalid(fmt.Sprintf("OpenOptions.LockWait is negative (%v): use 0 not to wait", o.LockWait))
	}
	if o.LockWait > 0 {
		ms := int64(o.LockWait / time.Millisecond)
		if o.LockWait%time.Millisecond != 0 {
			ms++ // round up: wait at least LockWait
		}
		opts["lock_wait_ms"] = ms
	}
	switch {
	case o.ManualRefresh && o.RefreshInterval != nil:
		return invalid("OpenOptions.ManualRefresh and RefreshInterval are both set: choose one")
	case o.ManualRefresh:
		opts["refresh_interval_ms"] = nil
	case o.RefreshInterval == nil: // the library's default, DefaultRefreshInterval
	case *o.RefreshInterval < 0:
		return invalid(fmt.Sprintf("OpenOptions.RefreshInterval is negative (%v)", *o.RefreshInterval))
	default:
		opts["refresh_interval_ms"] = int64(*o.RefreshInterval / time.Millisecond) // round down: refresh at least that often
	}
	b, err := json.Marshal(opts)
	if err != nil { // cannot happen: a bool, integers and null only
		return "", &Error{Op: op, Code: CodeInvalidJSON, Item: -1, Message: err.Error()}
	}
	return string(b), nil
}

// OpenWith opens the vault in directory path with key as opts say: read-only beside the
// writer (ReadOnly), or as the writer waiting up to LockWait for the lock. Errors: those
// of Open, ErrLocked also after LockWait has passed, and ErrInvalidArgument for invalid
// options (negative durations, ManualRefresh with RefreshInterval).
func OpenWith(path string, key *Key, opts OpenOptions) (*Vault, error) {
	options, err := opts.json("OpenWith")
	if err != nil {
		return nil, err
	}
	var ptr *C.fidex_vault
	key.use(func(k *C.fidex_key) {
		err = statusCall("OpenWith", key, func(e **C.fidex_error) C.fidex_status {
			return C.fidex_vault_open_with(strPtr(path), C.size_t(len(path)), k, strPtr(options), C.size_t(len(options)), &ptr, e)
		})
	})
	runtime.KeepAlive(path)
	runtime.KeepAlive(options)
	if err != nil {
		return nil, err
	}
	return newVault(path, ptr, opts.ReadOnly)
}

// ReadOnly reports whether the Vault was opened read-only (OpenOptions.ReadOnly).
func (v *Vault) ReadOnly() bool { return v.readOnly }

// Refresh moves a read-only Vault to the writer's newest commit now, so that what the
// writer committed since (enrollments, deletions) shows in its searches, and reports
// whether anything changed. A writer is always current: false. After the writer rotated
// the key, a read-only Vault gets ErrWrongKey: open it again with the new key.
func (v *Vault) Refresh() (bool, error) {
	var changed C.bool
	err := statusCall("Vault.Refresh", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_refresh(v.ptr, &changed, e)
	})
	return err == nil && bool(changed), err
}

// RemoveStrayFiles removes the vault's stray files — files newer than its manifest that
// no interrupted commit explains (Stats lists them in StrayFiles; while there are any, a
// writer refuses every change with ErrCorrupt) — and returns their names. Call it only
// once you established they are debris: no newer manifest was lost (e.g. a backup
// restored over a newer vault), no key rotation is to be finished. Writers only
// (ErrReadOnly otherwise).
func (v *Vault) RemoveStrayFiles() ([]string, error) {
	var names []string
	err := jsonCall("Vault.RemoveStrayFiles", v, &names, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_remove_stray_files(v.ptr, out, e)
	})
	if err == nil && names == nil {
		names = []string{}
	}
	return names, err
}
