package fidex

/*
#include "fidex.h"

#cgo noescape fidex_consent_explicit_json
#cgo nocallback fidex_consent_explicit_json
#cgo noescape fidex_consent_validate
#cgo nocallback fidex_consent_validate
#cgo nocallback fidex_version
#cgo nocallback fidex_constants_json
*/
import "C"

import (
	"runtime"
	"time"
)

// ExplicitConsent builds a minimal valid explicit-consent receipt (Kantara CR v1.1 JSON)
// with a random receipt id: subject (the subject's pseudonymous id in your system),
// controller name, privacy-policy URL (http or https), the purposes consented to (e.g.
// "authentication"), and when consent was given (not in the future). Fill in the
// controller's contact details before production use. The receipt is what Enroll takes;
// it is validated first (ErrInvalidConsent otherwise).
func ExplicitConsent(subject, controller, policyURL string, purposes []string, given time.Time) ([]byte, error) {
	list, err := jsonText("ExplicitConsent", purposes, purposes...)
	if err != nil {
		return nil, err
	}
	b, err := bytesCall("ExplicitConsent", nil, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_consent_explicit_json(strPtr(subject), C.size_t(len(subject)), strPtr(controller), C.size_t(len(controller)),
			strPtr(policyURL), C.size_t(len(policyURL)), strPtr(list), C.size_t(len(list)), C.int64_t(given.Unix()), out, e)
	})
	runtime.KeepAlive(subject)
	runtime.KeepAlive(controller)
	runtime.KeepAlive(policyURL)
	runtime.KeepAlive(list)
	return b, err
}

// ValidateConsent predicts whether enrollment into a vault serving purposes accepts the
// consent receipt now, and returns the purposes it covers (in the order of purposes);
// otherwise the error enrollment would return (ErrNoConsent, ErrInvalidConsent,
// ErrConsentExpired, ErrPurposeNotCovered). For a vault at hand use Vault.CheckConsent.
func ValidateConsent(consent []byte, purposes []string) ([]string, error) {
	return validateConsent(consent, purposes, nil)
}

// ValidateConsentAt is ValidateConsent as of time at (whole seconds).
func ValidateConsentAt(consent []byte, purposes []string, at time.Time) ([]string, error) {
	return validateConsent(consent, purposes, &at)
}

func validateConsent(consent []byte, purposes []string, at *time.Time) ([]string, error) {
	list, err := jsonText("ValidateConsent", purposes, purposes...)
	if err != nil {
		return nil, err
	}
	mode, now := clockArgs(at)
	var covered []string
	err = jsonCall("ValidateConsent", nil, &covered, func(out **C.fidex_bytes, e **C.fidex_error) C.fidex_status {
		return C.fidex_consent_validate(charPtr(consent), C.size_t(len(consent)), strPtr(list), C.size_t(len(list)), mode, now, out, e)
	})
	runtime.KeepAlive(consent)
	runtime.KeepAlive(list)
	return covered, err
}

// Version returns the version of the linked library, e.g. "0.2.0".
func Version() string { return C.GoString(C.fidex_version()) }

// constantsJSON returns the library's fidex_constants_json() document (the source of
// constants_gen.go; TestConstantsGenerated compares).
func constantsJSON() string { return C.GoString(C.fidex_constants_json()) }
