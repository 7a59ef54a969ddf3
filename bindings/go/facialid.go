package fidex

/*
#include "fidex.h"

#cgo noescape fidex_facial_id_to_text
#cgo nocallback fidex_facial_id_to_text
#cgo noescape fidex_facial_id_parse
#cgo nocallback fidex_facial_id_parse
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// FacialID identifies one enrolled template: the 16 bytes of a random UUID v4 (the C
// ABI's fidex_facial_id, same layout). Compare with ==, use as a map key; String gives
// the 36-character text form used in receipts and exports.
type FacialID [16]byte

// String returns the lower-case hyphenated UUID text (fidex_facial_id_to_text).
func (id FacialID) String() string {
	var buf [FacialIDTextLen + 1]C.char
	var cerr *C.fidex_error
	st := C.fidex_facial_id_to_text(idPtr(&id), &buf[0], C.size_t(len(buf)), &cerr)
	if err := newError("FacialID.String", st, cerr); err != nil {
		return "<" + err.Error() + ">" // cannot happen: the buffer has the documented size
	}
	return C.GoStringN(&buf[0], FacialIDTextLen)
}

// ParseFacialID parses the text form (hyphenated, simple or braced UUID; surrounding
// whitespace ignored). ErrInvalidArgument if it is not a UUID.
func ParseFacialID(text string) (FacialID, error) {
	var id FacialID
	var cerr *C.fidex_error
	st := C.fidex_facial_id_parse(strPtr(text), C.size_t(len(text)), idPtr(&id), &cerr)
	runtime.KeepAlive(text)
	if err := newError("ParseFacialID", st, cerr); err != nil {
		return FacialID{}, err
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler (JSON, logs): the UUID text.
func (id FacialID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseFacialID.
func (id *FacialID) UnmarshalText(text []byte) error {
	parsed, err := ParseFacialID(string(text))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// The Go and C layouts of a Facial ID must agree for idPtr / idsPtr.
var _ = [1]struct{}{}[unsafe.Sizeof(FacialID{})-unsafe.Sizeof(C.fidex_facial_id{})]
