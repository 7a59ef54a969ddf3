package fidex

/*
#include "fidex.h"

#cgo noescape fidex_key_generate
#cgo nocallback fidex_key_generate
#cgo noescape fidex_key_import_text
#cgo nocallback fidex_key_import_text
#cgo noescape fidex_key_from_bytes
#cgo nocallback fidex_key_from_bytes
#cgo noescape fidex_key_export_text
#cgo nocallback fidex_key_export_text
#cgo noescape fidex_key_expose_secret
#cgo nocallback fidex_key_expose_secret
#cgo noescape fidex_key_fingerprint
#cgo nocallback fidex_key_fingerprint
#cgo nocallback fidex_key_free
*/
import "C"

import (
	"runtime"
	"sync"
)

// Key is a vault's 256-bit secret key. It is immutable and safe for concurrent use; a vault
// keeps its own copy, so a key may be closed as soon as Create / Open / RotateKey returned.
//
// Close zeroizes and frees it; a key that is garbage-collected unclosed is zeroized then.
type Key struct {
	mu      sync.RWMutex // Close (write) must not free the key under a call using it (read)
	ptr     *C.fidex_key // nil after Close
	cleanup runtime.Cleanup
}

func newKey(op string, f func(out **C.fidex_key, e **C.fidex_error) C.fidex_status) (*Key, error) {
	var ptr *C.fidex_key
	var cerr *C.fidex_error
	if err := newError(op, f(&ptr, &cerr), cerr); err != nil {
		return nil, err
	}
	k := &Key{ptr: ptr}
	k.cleanup = runtime.AddCleanup(k, func(p *C.fidex_key) { C.fidex_key_free(p) }, ptr)
	return k, nil
}

// GenerateKey draws a new key from the operating system's CSPRNG.
func GenerateKey() (*Key, error) {
	return newKey("GenerateKey", func(out **C.fidex_key, e **C.fidex_error) C.fidex_status {
		return C.fidex_key_generate(out, e)
	})
}

// ImportKey parses key text from Key.ExportText (surrounding whitespace ignored). A
// mistyped character is caught by the checksum: ErrInvalidKeyText.
func ImportKey(text string) (*Key, error) {
	k, err := newKey("ImportKey", func(out **C.fidex_key, e **C.fidex_error) C.fidex_status {
		return C.fidex_key_import_text(strPtr(text), C.size_t(len(text)), out, e)
	})
	runtime.KeepAlive(text)
	return k, err
}

// KeyFromBytes builds a key from exactly 32 raw bytes (e.g. unwrapped from a KMS);
// ErrInvalidArgument otherwise. Wipe your copy afterwards.
func KeyFromBytes(raw []byte) (*Key, error) {
	k, err := newKey("KeyFromBytes", func(out **C.fidex_key, e **C.fidex_error) C.fidex_status {
		return C.fidex_key_from_bytes(bytePtr(raw), C.size_t(len(raw)), out, e)
	})
	runtime.KeepAlive(raw)
	return k, err
}

// use runs f with the key's C handle under the read lock (nil after Close, which the
// library reports as ErrNullParameter naming the key).
func (k *Key) use(f func(p *C.fidex_key)) {
	if k == nil {
		f(nil)
		return
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	f(k.ptr)
}

// ExportText returns the key as one line of text (`fidex-key-1:...`) for ImportKey. The
// text is the secret: store it like a password. (The library wipes its own copy; a Go
// string cannot be wiped, so keep it short-lived.)
func (k *Key) ExportText() (string, error) {
	var b []byte
	var err error
	k.use(func(p *C.fidex_key) {
		b, err = bytesCall("Key.ExportText", k, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
			return C.fidex_key_export_text(p, out, e)
		})
	})
	return string(b), err
}

// ExposeSecret returns the 32 raw key bytes (e.g. to wrap them with a KMS). Handle with
// care and wipe the copy; prefer ExportText for storage.
func (k *Key) ExposeSecret() ([32]byte, error) {
	var raw [32]byte
	var err error
	k.use(func(p *C.fidex_key) {
		err = statusCall("Key.ExposeSecret", k, func(e **C.fidex_error) C.fidex_status {
			return C.fidex_key_expose_secret(p, (*C.uint8_t)(&raw[0]), C.size_t(len(raw)), e)
		})
	})
	return raw, err
}

// Fingerprint returns the key's public 16-hex-digit fingerprint (safe to log).
func (k *Key) Fingerprint() (string, error) {
	var b []byte
	var err error
	k.use(func(p *C.fidex_key) {
		b, err = bytesCall("Key.Fingerprint", k, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
			return C.fidex_key_fingerprint(p, out, e)
		})
	})
	return string(b), err
}

// Close zeroizes and frees the key. Idempotent; safe while other goroutines use the key
// (it waits for their calls). Later uses fail with ErrNullParameter.
func (k *Key) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ptr != nil {
		k.cleanup.Stop()
		C.fidex_key_free(k.ptr)
		k.ptr = nil
	}
}
