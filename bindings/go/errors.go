package fidex

import (
	"fmt"
	"strconv"
)

// Code is a status code of the C ABI (fidex_status): CodeOK (0) or an error, 1001–1099
// for the core's errors (the same numbers as fidex::Error::code() in Rust) and 1100 up for
// errors only the C boundary can have. The constants are generated (constants_gen.go).
type Code uint32

// statusInfo is one row of the generated statusTable.
type statusInfo struct {
	name    string // C name, e.g. FIDEX_NO_CONSENT
	family  Family
	message string // static English description (fidex_status_message)
}

// String returns the C name of the code, e.g. "FIDEX_NO_CONSENT".
func (c Code) String() string {
	if s, ok := statusTable[c]; ok {
		return s.name
	}
	return "FIDEX_STATUS_" + strconv.FormatUint(uint64(c), 10)
}

// Family returns the error family of the code ("" for a code this binding does not know).
func (c Code) Family() Family { return statusTable[c].family }

// Message returns the static description of the code (fidex_status_message).
func (c Code) Message() string {
	if s, ok := statusTable[c]; ok {
		return s.message
	}
	return "unknown status code"
}

// Family groups status codes that callers handle alike (e.g. FamilyConsent: no consent,
// invalid consent, expired consent). Each family has a sentinel error (ErrConsent, ...).
type Family string

// Error is the error of one failed fidex call: its status code, the detailed message the
// library wrote for that very call (what was wrong and what to do), and for a batch call
// the index of the refused item. Every error a fidex function returns is an *Error.
//
// Match it with errors.Is against a family sentinel (ErrConsent, ErrNotFound, ErrLocked,
// ...) or a code sentinel (ErrNoConsent, ErrDimensionMismatch, ...), or get the details
// with errors.As:
//
//	var fe *fidex.Error
//	if errors.As(err, &fe) && fe.Code == fidex.CodeDuplicate { ... fe.Item ... }
type Error struct {
	Op      string // the binding call that failed, e.g. "Vault.Enroll"
	Code    Code   // the status code
	Message string // the detailed message of this call (fidex_error_message)
	Item    int    // batch calls: index of the refused item (fidex_error_item); otherwise -1
}

// Error formats the error as "fidex: Op: detailed message (NAME)", with ", item N" for
// a batch call; the static description of the code replaces an empty detail.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message()
	}
	s := "fidex: " + e.Op + ": " + msg + " (" + e.Code.String()
	if e.Item >= 0 {
		s += ", item " + strconv.Itoa(e.Item)
	}
	return s + ")"
}

// Family returns the error family of e.Code.
func (e *Error) Family() Family { return e.Code.Family() }

// Is reports whether target is the sentinel of e's family or of e's code, so that
// errors.Is(err, fidex.ErrConsent) and errors.Is(err, fidex.ErrNoConsent) both work.
func (e *Error) Is(target error) bool {
	s, ok := target.(*sentinel)
	if !ok {
		return false
	}
	if s.code != 0 {
		return s.code == e.Code
	}
	return s.family == e.Code.Family()
}

// sentinel is the type of the Err* variables: a family (code 0) or one code.
type sentinel struct {
	family Family
	code   Code
}

func (s *sentinel) Error() string {
	if s.code != 0 {
		return fmt.Sprintf("fidex: %s (%s)", s.code.Message(), s.code)
	}
	return "fidex: " + string(s.family) + " error"
}
