package fidex

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/fidex/fidex/bindings/go/internal/constgen"
)

var updateConstants = flag.Bool("update-constants", false, "rewrite constants_gen.go from the linked library (go generate)")

// The generated file is exactly what the linked library's fidex_constants_json() renders
// to: a library whose codes, families, messages or constants changed fails here until
// `go generate` is run.
func TestConstantsGenerated(t *testing.T) {
	want, err := constgen.Render([]byte(constantsJSON()))
	if err != nil {
		t.Fatal(err)
	}
	if *updateConstants {
		if err := os.WriteFile("constants_gen.go", want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("constants_gen.go rewritten from libfidex %s", Version())
		return
	}
	got, err := os.ReadFile("constants_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("constants_gen.go is stale for libfidex %s: run `go generate` in bindings/go", Version())
	}
}

// The compiled tables agree with the library at run time, row by row (this also catches
// a constants_gen.go edited by hand and a package built against another library).
func TestStatusTableMatchesLibrary(t *testing.T) {
	abi, err := constgen.Parse([]byte(constantsJSON()))
	if err != nil {
		t.Fatal(err)
	}
	if abi.Version != Version() || generatedVersion != Version() {
		t.Fatalf("versions: JSON %s, library %s, generated from %s", abi.Version, Version(), generatedVersion)
	}
	if got := fmt.Sprintf("%d.%d.%d", VersionMajor, VersionMinor, VersionPatch); got != Version() {
		t.Fatalf("header version %s, library %s", got, Version())
	}
	if VersionNumber != VersionMajor*1000000+VersionMinor*1000+VersionPatch {
		t.Fatalf("VersionNumber %d", VersionNumber)
	}
	if len(statusTable) != len(abi.Status) {
		t.Fatalf("%d codes compiled in, the library has %d", len(statusTable), len(abi.Status))
	}
	families := map[Family]bool{}
	for _, s := range abi.Status {
		c := Code(s.Code)
		if c.String() != s.Name || string(c.Family()) != s.Family || c.Message() != s.Message {
			t.Errorf("code %d: compiled (%s, %s, %q), library (%s, %s, %q)", s.Code, c, c.Family(), c.Message(), s.Name, s.Family, s.Message)
		}
		families[c.Family()] = true
	}
	// The families the C API documents, each with a sentinel that its codes match.
	for f, sentinel := range map[Family]error{
		FamilyInvalidInput: ErrInvalidInput, FamilyConsent: ErrConsent, FamilyPurposeNotCovered: ErrPurposeNotCovered,
		FamilyDuplicate: ErrDuplicate, FamilyNotFound: ErrNotFound, FamilyWrongKey: ErrWrongKey, FamilyCorrupt: ErrCorrupt,
		FamilyIO: ErrIO, FamilyQuota: ErrQuota, FamilyAlreadyExists: ErrAlreadyExists, FamilyLocked: ErrLocked,
		FamilyVerificationFailed: ErrVerificationFailed, FamilyClosed: ErrClosed, FamilyNotCommitted: ErrNotCommitted,
		FamilyInternal: ErrInternal,
	} {
		if !families[f] {
			t.Errorf("family %s has no code in the library", f)
		}
		for _, s := range abi.Status {
			e := &Error{Code: Code(s.Code), Item: -1}
			if got, want := errors.Is(e, sentinel), s.Family == string(f); got != want {
				t.Errorf("errors.Is(%s, Err<%s>) = %v", e.Code, f, got)
			}
		}
	}
}

func TestSentinelsOfCodesAndFamilies(t *testing.T) {
	notAVault := &Error{Op: "Open", Code: CodeNotAVault, Message: "no vault at /x", Item: -1}
	if !errors.Is(notAVault, ErrNotAVault) || !errors.Is(notAVault, ErrNotFound) || errors.Is(notAVault, ErrNoConsent) {
		t.Fatal("CodeNotAVault must match ErrNotAVault and its family ErrNotFound only")
	}
	expired := fmt.Errorf("login: %w", &Error{Code: CodeConsentExpired, Item: -1})
	if !errors.Is(expired, ErrConsentExpired) || !errors.Is(expired, ErrConsent) || errors.Is(expired, ErrNoConsent) ||
		errors.Is(expired, ErrPurposeNotCovered) {
		t.Fatal("a wrapped CodeConsentExpired must match ErrConsentExpired and ErrConsent only")
	}
	if errors.Is(errors.New("other"), ErrConsent) {
		t.Fatal("a foreign error matched a sentinel")
	}
	if got := (&Error{Op: "Vault.EnrollMany", Code: CodeDuplicate, Message: "too similar", Item: 3}).Error(); got !=
		"fidex: Vault.EnrollMany: too similar (FIDEX_DUPLICATE, item 3)" {
		t.Fatalf("Error() = %q", got)
	}
	if Code(4242).String() != "FIDEX_STATUS_4242" || Code(4242).Message() != "unknown status code" {
		t.Fatal("unknown codes must still print")
	}
}
