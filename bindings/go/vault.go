package fidex

/*
#include "fidex.h"

#cgo noescape fidex_vault_create
#cgo nocallback fidex_vault_create
#cgo noescape fidex_vault_open
#cgo nocallback fidex_vault_open
#cgo noescape fidex_vault_close
#cgo nocallback fidex_vault_close
#cgo nocallback fidex_vault_free
#cgo noescape fidex_vault_uncommitted
#cgo nocallback fidex_vault_uncommitted
#cgo noescape fidex_vault_commit
#cgo nocallback fidex_vault_commit
#cgo noescape fidex_vault_compact
#cgo nocallback fidex_vault_compact
#cgo noescape fidex_vault_check
#cgo nocallback fidex_vault_check
#cgo noescape fidex_vault_rotate_key
#cgo nocallback fidex_vault_rotate_key
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"sync/atomic"
)

// Vault is an open vault. All its methods are safe for concurrent use by any number of
// goroutines with no locking of your own: the library synchronizes the handle (searches
// run in parallel, writes are serialized). Close it when done (defer v.Close()).
//
// Enrollments are durable after Commit or Close. A Vault that is garbage-collected
// without Close is freed by a cleanup that never commits: it logs a warning (log/slog)
// when that discards uncommitted enrollments.
type Vault struct {
	// ptr is freed only by the cleanup registered in newVault, when no goroutine can use
	// the Vault any more, so every method may use it at any time, even after or during
	// Close (the library then answers ErrClosed).
	ptr      *C.fidex_vault
	path     string
	dim      int  // the vault's dimension, to size batch-search results
	readOnly bool // opened with OpenOptions.ReadOnly
	closed   atomic.Bool
}

// vaultRef is what the cleanup of a Vault needs (no pointer to the Vault itself).
type vaultRef struct {
	ptr  *C.fidex_vault
	path string
}

func newVault(path string, ptr *C.fidex_vault, readOnly bool) (*Vault, error) {
	v := &Vault{ptr: ptr, path: path, readOnly: readOnly}
	runtime.AddCleanup(v, releaseVault, vaultRef{ptr, path})
	cfg, err := v.Config()
	if err != nil {
		_ = v.Close()
		return nil, err
	}
	v.dim = cfg.Dim
	return v, nil
}

// releaseVault frees a Vault's handle once the Vault is unreachable (runtime.AddCleanup).
// fidex_vault_free never commits; enrollments not committed yet are lost, so say so.
func releaseVault(r vaultRef) {
	var n C.uint64_t
	var cerr *C.fidex_error
	if st := C.fidex_vault_uncommitted(r.ptr, &n, &cerr); st == C.FIDEX_OK && n > 0 {
		slog.Warn("fidex: a Vault was garbage-collected without Close; its uncommitted enrollments are discarded (call Close or Commit)",
			"path", r.path, "uncommitted", uint64(n))
	}
	C.fidex_error_free(cerr) // FIDEX_CLOSED for a closed vault: nothing to report
	C.fidex_vault_free(r.ptr)
}

// Create makes a new vault in directory path (created if missing, must be empty) under
// key, and opens it. Errors: ErrInvalidConfig, ErrInvalidJSON, ErrAlreadyExists,
// ErrLocked, ErrIO, ErrInvalidArgument (empty path).
func Create(path string, key *Key, cfg Config) (*Vault, error) {
	config, err := jsonText("Create", cfg, append([]string{cfg.Metric, cfg.Storage, cfg.Backend}, cfg.Purposes...)...)
	if err != nil {
		return nil, err
	}
	var ptr *C.fidex_vault
	key.use(func(k *C.fidex_key) {
		err = statusCall("Create", key, func(e **C.fidex_error) C.fidex_status {
			return C.fidex_vault_create(strPtr(path), C.size_t(len(path)), k, strPtr(config), C.size_t(len(config)), &ptr, e)
		})
	})
	runtime.KeepAlive(path)
	runtime.KeepAlive(config)
	if err != nil {
		return nil, err
	}
	return newVault(path, ptr, false)
}

// Open opens the vault in directory path with key. Errors: ErrNotAVault (no vault there),
// ErrWrongKey, ErrLocked (open for writing in another Vault or process), ErrCorrupt,
// ErrUnsupportedVersion, ErrIO. OpenWith opens read-only or waits for the lock.
//
// Open takes no context: loading cannot be interrupted midway, and it is one C call.
func Open(path string, key *Key) (*Vault, error) {
	var ptr *C.fidex_vault
	var err error
	key.use(func(k *C.fidex_key) {
		err = statusCall("Open", key, func(e **C.fidex_error) C.fidex_status {
			return C.fidex_vault_open(strPtr(path), C.size_t(len(path)), k, &ptr, e)
		})
	})
	runtime.KeepAlive(path)
	if err != nil {
		return nil, err
	}
	return newVault(path, ptr, false)
}

// Path returns the directory the vault was created or opened in.
func (v *Vault) Path() string { return v.path }

// Close commits pending changes and closes the vault, releasing its directory lock and
// memory. It waits for calls in progress on other goroutines; calls made afterwards fail
// with ErrClosed. Close is idempotent: closing a closed vault returns nil.
//
// If the commit fails the vault stays open with its pending enrollments and the error is
// returned: fix the cause and Close again.
func (v *Vault) Close() error {
	if v.closed.Load() {
		return nil
	}
	err := statusCall("Vault.Close", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_close(v.ptr, e)
	})
	var fe *Error
	if err != nil && !(errors.As(err, &fe) && fe.Code == CodeClosed) { // CodeClosed: another goroutine closed it
		return err
	}
	v.closed.Store(true)
	return nil
}

// CommitInfo describes one commit (Commit, Compact).
type CommitInfo struct {
	Generation   uint64   `json:"generation"`
	FilesWritten uint64   `json:"files_written"`
	BytesWritten uint64   `json:"bytes_written"`
	Purged       []string `json:"purged"` // deletion receipts of templates purged (retention) first; keep them
}

// Commit makes all changes durable atomically. With auto-purge (the default) templates
// past their retention deadline are purged first; their deletion receipts are in Purged.
func (v *Vault) Commit() (CommitInfo, error) {
	var info CommitInfo
	err := jsonCall("Vault.Commit", v, &info, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_commit(v.ptr, out, e)
	})
	return info, err
}

// Uncommitted returns the number of enrollments made through this Vault and not committed
// yet (what a Vault dropped without Close would lose).
func (v *Vault) Uncommitted() (int, error) {
	var n C.uint64_t
	err := statusCall("Vault.Uncommitted", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_uncommitted(v.ptr, &n, e)
	})
	return int(n), err
}

// Compact rewrites small segments and log chunks into as few files as possible, and
// commits. ctx is checked before the call; a running compaction is not interrupted.
func (v *Vault) Compact(ctx context.Context) (CommitInfo, error) {
	var info CommitInfo
	if err := ctx.Err(); err != nil {
		return info, err
	}
	err := jsonCall("Vault.Compact", v, &info, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_compact(v.ptr, out, e)
	})
	return info, err
}

// Check re-reads and authenticates every file of the vault and compares it with memory:
// nil, ErrCorrupt or ErrIO. ctx is checked before the call.
func (v *Vault) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return statusCall("Vault.Check", v, func(e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_check(v.ptr, e)
	})
}

// RotateKey re-encrypts the whole vault under newKey with a new signing key, commits, and
// removes every file written under the old key. Keep the old key until it returns, then
// publish the new VerificationKey (the old one stays in PreviousVerificationKeys). ctx is
// checked before the call; a running rotation is not interrupted (it is atomic).
func (v *Vault) RotateKey(ctx context.Context, newKey *Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	newKey.use(func(k *C.fidex_key) {
		err = statusCall("Vault.RotateKey", v, func(e **C.fidex_error) C.fidex_status {
			return C.fidex_vault_rotate_key(v.ptr, k, e)
		})
	})
	return err
}

// configJSON is the vault's configuration as the library reports it.
func (v *Vault) configJSON() (json.RawMessage, error) {
	return v.bytes("Vault.Config", func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_vault_config(v.ptr, out, e)
	})
}

// bytes runs a C function of this vault that writes a new fidex_bytes.
func (v *Vault) bytes(op string, f func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status) ([]byte, error) {
	return bytesCall(op, v, f)
}
