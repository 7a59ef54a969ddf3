// Package fidex is the Go binding of fidex: consent-gated, encrypted, verifiably
// deletable vaults of facial templates (face embeddings), for apps that log people in by
// face. It wraps the library's C ABI (include/fidex.h) with cgo and re-implements no
// logic: every check, message and search runs in the Rust core.
//
//	key, _ := fidex.GenerateKey()                      // keep key.ExportText() secret
//	v, err := fidex.Create(dir, key, fidex.Config{Dim: 512})
//	if err != nil { ... }
//	defer v.Close()                                    // commits, releases the lock
//	consent, _ := fidex.ExplicitConsent("user-42", "Acme", "https://acme.example/privacy",
//		[]string{"authentication", "identification"}, time.Now())
//	id, err := v.Enroll(embedding, consent, []byte("user-42"))
//	matches, err := v.Identify(ctx, probe, fidex.SearchOptions{Purpose: "identification", K: 1, Payloads: true})
//	receipt, err := v.Delete(id, fidex.DeletionSubjectRequest) // signed; fidex.VerifyReceipt checks it
//
// Errors are *Error values with the status Code, the detailed Message of that very call
// and, for batch calls, the refused Item; match them with errors.Is against a family
// sentinel (ErrConsent, ErrPurposeNotCovered, ErrNotFound, ErrWrongKey, ErrLocked, ...)
// or a code sentinel (ErrNoConsent, ErrDimensionMismatch, ...). Codes, families and
// sentinels are generated from the library's fidex_constants_json().
//
// A Vault is safe for concurrent use by any number of goroutines without locking of your
// own. Slices of float32 are passed to the library in place, never copied.
//
// Building: run `cargo build --release --lib` at the repository root once; the package
// links target/release/libfidex.a statically. See README.md for installed libraries
// (-tags fidex_pkgconfig) and other set-ups (-tags fidex_external).
package fidex

// Regenerate constants_gen.go from the linked library's fidex_constants_json():
//go:generate go test -run ^TestConstantsGenerated$ -update-constants .
