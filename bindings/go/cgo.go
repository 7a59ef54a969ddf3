package fidex

// The boundary helpers every wrapper uses: converting a call's status and error object,
// taking ownership of returned byte strings, and pointing C at Go memory.
//
// Rules kept here and in every wrapper (docs/C_API.md, "For binding authors"):
//   - every fallible call gets its own out_error, converted right after the call on the
//     goroutine that made it (nothing is read in a second call);
//   - Go memory passed to C holds no Go pointers (float32 / byte / size_t / Facial ID
//     arrays only) and is kept alive with runtime.KeepAlive until the call returns; the
//     library keeps no pointer to it afterwards (inputs are borrowed for the call only);
//   - returned fidex_bytes are copied into Go memory and freed at once.
//
// No fidex function retains a pointer it was given or calls back into Go, which the
// noescape / nocallback directives below tell cgo (Go 1.24): out-parameters may then live
// on the goroutine's stack and a call skips the callback bookkeeping.

/*
#include <stdlib.h>
#include "fidex.h"

#cgo noescape fidex_bytes_data
#cgo nocallback fidex_bytes_data
#cgo noescape fidex_bytes_len
#cgo nocallback fidex_bytes_len
#cgo noescape fidex_bytes_free
#cgo nocallback fidex_bytes_free
#cgo noescape fidex_error_message
#cgo nocallback fidex_error_message
#cgo noescape fidex_error_item
#cgo nocallback fidex_error_item
#cgo noescape fidex_error_free
#cgo nocallback fidex_error_free
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"unicode/utf8"
	"unsafe"
)

// newError converts the outcome of one C call. st is the returned status and cerr the
// error object that call wrote (NULL on success); cerr is freed here.
func newError(op string, st C.fidex_status, cerr *C.fidex_error) error {
	if st == C.FIDEX_OK {
		C.fidex_error_free(cerr) // NULL after a success; freeing NULL is a no-op
		return nil
	}
	e := &Error{Op: op, Code: Code(st), Item: -1}
	if cerr != nil {
		e.Message = C.GoString(C.fidex_error_message(cerr))
		e.Item = int(C.fidex_error_item(cerr))
		C.fidex_error_free(cerr)
	}
	return e
}

// takeBytes copies a returned byte string into Go memory and frees it (fidex_bytes_free
// overwrites the C copy, which matters for key text).
func takeBytes(b *C.fidex_bytes) []byte {
	if b == nil {
		return nil
	}
	n := C.fidex_bytes_len(b)
	out := C.GoBytes(unsafe.Pointer(C.fidex_bytes_data(b)), C.int(n))
	C.fidex_bytes_free(b)
	return out
}

// takeString is takeBytes for text results (receipts, keys, ids).
func takeString(b *C.fidex_bytes) string { return string(takeBytes(b)) }

// decodeJSON decodes a JSON result of the library into out.
func decodeJSON(op string, data []byte, out any) error {
	if err := json.Unmarshal(data, out); err != nil {
		// The library promises the documented JSON: this is a binding/library mismatch.
		return &Error{Op: op, Code: CodeInvalidJSON, Item: -1,
			Message: "the Go binding could not decode the library's JSON result (binding and library versions differ?): " + err.Error()}
	}
	return nil
}

// bytesCall runs one C function that writes a new fidex_bytes, converts its outcome and
// returns a Go copy of the bytes. keep is kept alive until the call returned (the handle
// whose pointer f uses). Adding a wrapper for a new text/JSON-returning function of the
// ABI is one bytesCall.
func bytesCall(op string, keep any, f func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status) ([]byte, error) {
	var out *C.fidex_bytes
	var cerr *C.fidex_error
	st := f(&out, &cerr)
	runtime.KeepAlive(keep)
	if err := newError(op, st, cerr); err != nil {
		return nil, err
	}
	return takeBytes(out), nil
}

// jsonCall is bytesCall followed by decoding the JSON result into out.
func jsonCall(op string, keep any, out any, f func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status) error {
	data, err := bytesCall(op, keep, f)
	if err != nil {
		return err
	}
	return decodeJSON(op, data, out)
}

// statusCall runs one C function without a result beyond its status.
func statusCall(op string, keep any, f func(e **C.fidex_error) C.fidex_status) error {
	var cerr *C.fidex_error
	st := f(&cerr)
	runtime.KeepAlive(keep)
	return newError(op, st, cerr)
}

// Pointers into Go memory for the duration of one call. A zero-length input is passed as
// NULL with length 0, which the ABI defines as the empty input. The callers keep the
// slices alive with runtime.KeepAlive after the call.

func floatPtr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(unsafe.SliceData(s)))
}

func bytePtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

func charPtr(b []byte) *C.char {
	if len(b) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b)))
}

// strPtr points C at a Go string's bytes (not NUL-terminated: every text input of the
// ABI is a (pointer, length) pair). Strings are immutable, so C only reads them.
func strPtr(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

func idPtr(id *FacialID) *C.fidex_facial_id { return (*C.fidex_facial_id)(unsafe.Pointer(id)) }

func idsPtr(ids []FacialID) *C.fidex_facial_id {
	if len(ids) == 0 {
		return nil
	}
	return (*C.fidex_facial_id)(unsafe.Pointer(unsafe.SliceData(ids)))
}

// jsonText encodes a JSON input of the ABI (a purpose list, a configuration). Two things
// only the binding can check, since it does the encoding: encoding/json would silently
// replace invalid UTF-8 in a string by U+FFFD (another purpose than the caller's), and
// Config.Extra may hold values JSON cannot encode.
func jsonText(op string, v any, texts ...string) (string, error) {
	for _, t := range texts {
		if !utf8.ValidString(t) {
			return "", &Error{Op: op, Code: CodeInvalidUTF8, Item: -1,
				Message: fmt.Sprintf("text %q is not valid UTF-8 (checked by the Go binding before encoding it as JSON)", t)}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", &Error{Op: op, Code: CodeInvalidJSON, Item: -1,
			Message: "the Go binding could not encode this input as JSON: " + err.Error()}
	}
	return string(b), nil
}
