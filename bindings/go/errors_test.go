package fidex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// consentExpiringAt rewrites an explicit-consent receipt given two hours ago so that it
// carries expiresAt (fidex's own Kantara extension field, unix seconds).
func consentExpiringAt(t *testing.T, subject string, expires time.Time) []byte {
	t.Helper()
	c, err := ExplicitConsent(subject, "Acme Test Corp", "https://acme.example/privacy", allPurposes, time.Now().Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(c, &m); err != nil {
		t.Fatal(err)
	}
	m["expiresAt"] = expires.Unix()
	out, _ := json.Marshal(m)
	return out
}

func TestConsentErrors(t *testing.T) {
	v, _, _ := newTestVault(t, Config{Dim: dim})
	f := newFaces(11, dim)
	face := f.identity()

	_, err := v.Enroll(face, nil, nil)
	wantCode(t, err, CodeNoConsent, ErrNoConsent, ErrConsent)

	_, err = v.Enroll(face, consentExpiringAt(t, "expired", time.Now().Add(-time.Hour)), nil)
	fe := wantCode(t, err, CodeConsentExpired, ErrConsentExpired, ErrConsent)
	if errors.Is(err, ErrNoConsent) || errors.Is(err, ErrPurposeNotCovered) {
		t.Fatalf("expired consent matched another sentinel: %v", err)
	}
	if !strings.Contains(fe.Message, "expire") {
		t.Fatalf("message: %s", fe.Message)
	}

	_, err = v.Enroll(face, []byte(`{"hello": "world"}`), nil)
	wantCode(t, err, CodeInvalidConsent, ErrInvalidConsent, ErrConsent)

	// A receipt covering none of the vault's purposes.
	_, err = v.Enroll(face, consentFor(t, "marketing-only", "marketing"), nil)
	wantCode(t, err, CodePurposeNotCovered, ErrPurposeNotCovered)
	if errors.Is(err, ErrConsent) {
		t.Fatal("purpose_not_covered is its own family")
	}
	if n, _ := v.Len(); n != 0 {
		t.Fatalf("refused enrollments left %d templates", n)
	}

	// Consent to authentication only: enrolled, verifiable for authentication, invisible
	// to identification, and verify for identification names the purpose.
	id, err := v.Enroll(face, consentFor(t, "auth-only", "authentication"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ver, err := v.Verify(id, f.capture(face), "authentication", nil); err != nil || !ver.Matched {
		t.Fatalf("verify for authentication: %+v %v", ver, err)
	}
	_, err = v.Verify(id, f.capture(face), "identification", nil)
	wantCode(t, err, CodePurposeNotCovered, ErrPurposeNotCovered)
	if ms, err := v.Identify(context.Background(), f.capture(face), SearchOptions{Purpose: "identification", K: 1}); err != nil || len(ms) != 0 {
		t.Fatalf("identify for identification found %+v, %v", ms, err)
	}
	if ms, err := v.Identify(context.Background(), f.capture(face), SearchOptions{Purpose: "authentication", K: 1}); err != nil || len(ms) != 1 || ms[0].ID != id {
		t.Fatalf("identify for authentication: %+v, %v", ms, err)
	}
	if covered, err := v.CheckConsent(consentFor(t, "auth-only", "authentication")); err != nil || !slices.Equal(covered, []string{"authentication"}) {
		t.Fatalf("CheckConsent = %v, %v", covered, err)
	}
	_, err = v.CheckConsent(consentExpiringAt(t, "expired", time.Now().Add(-time.Minute)))
	wantCode(t, err, CodeConsentExpired, ErrConsent)
	// A consent that expires in the future is accepted, and its expiry bounds retention.
	exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	id2, err := v.Enroll(f.identity(), consentExpiringAt(t, "expiring", exp), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := v.RetentionDeadline(id2); err != nil || !d.Equal(exp) {
		t.Fatalf("RetentionDeadline = %v, %v; want %v", d, err, exp)
	}
}

// The shared Kantara fixtures (tests/fixtures/kantara/README.md) get the verdicts every
// suite checks: the prediction without a vault, the vault's prediction and enrollment agree.
func TestKantaraFixtures(t *testing.T) {
	v, _, _ := newTestVault(t, Config{Dim: 4})
	at := time.Unix(1750000000, 0)
	for i, tc := range []struct {
		file    string
		want    Code
		covered []string
	}{
		{"v1.1-spec-shape.json", CodeOK, []string{"authentication"}},
		{"v1.1-wso2-biometric.json", CodeOK, []string{"identification"}},
		{"v1.1-wso2-documented-not-biometric.json", CodeInvalidConsent, nil},
		{"v1.0-wso2-era.json", CodeInvalidConsent, nil},
		{"v0.8-draft.json", CodeInvalidConsent, nil},
	} {
		receipt := fixture(t, tc.file)
		covered, err := ValidateConsentAt(receipt, allPurposes, at)
		checkVerdict := func(what string, covered []string, err error) {
			t.Helper()
			if tc.want == CodeOK {
				if err != nil || !slices.Equal(covered, tc.covered) {
					t.Fatalf("%s %s: covered %v, %v; want %v", tc.file, what, covered, err, tc.covered)
				}
				return
			}
			fe := wantCode(t, err, tc.want, ErrInvalidConsent, ErrConsent)
			if strings.HasPrefix(tc.file, "v1.0") && !(strings.Contains(fe.Message, "1.0") && strings.Contains(fe.Message, "v1.1")) {
				t.Fatalf("%s: the message should name v1.0 and ask for v1.1: %s", tc.file, fe.Message)
			}
		}
		checkVerdict("ValidateConsentAt", covered, err)
		covered, err = v.CheckConsent(receipt)
		checkVerdict("CheckConsent", covered, err)

		template := []float32{1, 0.5, 0.25, float32(i + 1)}
		id, err := v.Enroll(template, receipt, nil)
		if tc.want != CodeOK {
			wantCode(t, err, tc.want, ErrConsent)
			continue
		}
		if err != nil {
			t.Fatalf("%s: Enroll: %v", tc.file, err)
		}
		// Searchable for exactly the purpose it covers.
		ms, err := v.Identify(context.Background(), template, SearchOptions{Purpose: tc.covered[0], K: 1})
		if err != nil || len(ms) != 1 || ms[0].ID != id {
			t.Fatalf("%s: identify for %s: %+v %v", tc.file, tc.covered[0], ms, err)
		}
		other := "identification"
		if tc.covered[0] == other {
			other = "authentication"
		}
		if ms, err := v.Identify(context.Background(), template, SearchOptions{Purpose: other, K: 1}); err != nil || len(ms) != 0 {
			t.Fatalf("%s: identify for %s found %+v %v", tc.file, other, ms, err)
		}
		// Stored as given: the v1.1 address object is kept.
		var stored map[string]any
		c, _ := v.Consent(id)
		if json.Unmarshal(c, &stored) != nil {
			t.Fatalf("stored consent %s", c)
		}
		ctrl := stored["piiControllers"].([]any)[0].(map[string]any)
		if _, ok := ctrl["address"].(map[string]any); !ok {
			t.Fatalf("%s: address not kept: %v", tc.file, ctrl)
		}
		if _, err := v.Delete(id, DeletionAdmin); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBadInputIsRefusedByTheLibrary(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newTestVault(t, Config{Dim: dim})
	f := newFaces(13, dim)
	alice := f.identity()
	aliceID, err := v.Enroll(f.capture(alice), consentFor(t, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	consent := consentFor(t, "bob")
	search := SearchOptions{Purpose: "identification", K: 1}

	nan := f.capture(alice)
	nan[7] = float32(math.NaN())
	inf := f.capture(alice)
	inf[9] = float32(math.Inf(-1))
	for _, tc := range []struct {
		name    string
		vec     []float32
		code    Code
		sent    error
		message string
	}{
		{"short", alice[:dim-1], CodeDimensionMismatch, ErrDimensionMismatch, fmt.Sprint(dim - 1)},
		{"long", append(slices.Clone(alice), 0.1), CodeDimensionMismatch, ErrDimensionMismatch, fmt.Sprint(dim + 1)},
		{"empty", nil, CodeDimensionMismatch, ErrDimensionMismatch, ""},
		{"NaN", nan, CodeNonFiniteValue, ErrNonFiniteValue, "component 7"},
		{"-Inf", inf, CodeNonFiniteValue, ErrNonFiniteValue, "component 9"},
		{"zero", make([]float32, dim), CodeZeroVector, ErrZeroVector, ""},
	} {
		_, err := v.Enroll(tc.vec, consent, nil)
		fe := wantCode(t, err, tc.code, tc.sent, ErrInvalidInput)
		if !strings.Contains(fe.Message, tc.message) {
			t.Fatalf("%s: enroll message %q lacks %q", tc.name, fe.Message, tc.message)
		}
		_, err = v.Identify(ctx, tc.vec, search)
		wantCode(t, err, tc.code, tc.sent)
		_, err = v.Verify(aliceID, tc.vec, "authentication", nil)
		wantCode(t, err, tc.code, tc.sent)
	}
	if n, _ := v.Len(); n != 1 {
		t.Fatalf("refused templates were enrolled: Len %d", n)
	}

	probe := f.capture(alice)
	for _, tc := range []struct {
		name string
		opts SearchOptions
		code Code
		sent error
	}{
		{"k=0", SearchOptions{Purpose: "identification"}, CodeInvalidArgument, ErrInvalidArgument},
		{"k<0", SearchOptions{Purpose: "identification", K: -1}, CodeInvalidArgument, ErrInvalidArgument},
		{"k>MaxK", SearchOptions{Purpose: "identification", K: MaxK + 1}, CodeInvalidArgument, ErrInvalidArgument},
		{"unknown purpose", SearchOptions{Purpose: "payroll", K: 1}, CodeUnknownPurpose, ErrUnknownPurpose},
		{"no purpose", SearchOptions{K: 1}, CodeUnknownPurpose, ErrUnknownPurpose},
		{"invalid UTF-8 purpose", SearchOptions{Purpose: "identific\xffation", K: 1}, CodeInvalidUTF8, ErrInvalidUTF8},
		{"NaN threshold", SearchOptions{Purpose: "identification", K: 1, Threshold: Ptr(float32(math.NaN()))}, CodeInvalidArgument, ErrInvalidArgument},
	} {
		_, err := v.Identify(ctx, probe, tc.opts)
		wantCode(t, err, tc.code, tc.sent, ErrInvalidInput)
		_, err = v.IdentifyBatch(ctx, rows(probe, probe), tc.opts)
		wantCode(t, err, tc.code, tc.sent, ErrInvalidInput)
	}
	// Batch shapes: not a whole number of rows; a bad probe is named by its batch index.
	_, err = v.IdentifyBatch(ctx, rows(probe, probe)[:2*dim-3], search)
	wantCode(t, err, CodeDimensionMismatch, ErrDimensionMismatch)
	_, err = v.IdentifyBatch(ctx, nil, search)
	fe := wantCode(t, err, CodeInvalidArgument, ErrInvalidArgument)
	if !strings.Contains(fe.Message, "no probes") {
		t.Fatalf("empty batch message: %s", fe.Message)
	}
	_, err = v.IdentifyBatch(ctx, rows(probe, probe, nan, probe), search)
	fe = wantCode(t, err, CodeNonFiniteValue, ErrNonFiniteValue)
	// The library names the component; it does not say which probe (fidex_error_item is
	// documented for enroll_many only). Should it start to, it must be probe 2.
	if !strings.Contains(fe.Message, "component 7") || (fe.Item != -1 && fe.Item != 2) {
		t.Fatalf("batch NaN: %v", fe)
	}

	_, err = v.Enroll(f.identity(), consent, make([]byte, MaxPayloadBytes+1))
	wantCode(t, err, CodePayloadTooLarge, ErrPayloadTooLarge, ErrInvalidInput)
	_, err = v.Delete(FacialID{1, 2, 3}, DeletionSubjectRequest)
	wantCode(t, err, CodeNotFound, ErrNotFound)
	_, err = v.Delete(aliceID, DeletionReason(99))
	wantCode(t, err, CodeInvalidEnum, ErrInvalidEnum)
	_, err = v.Verify(FacialID{9}, probe, "authentication", nil)
	wantCode(t, err, CodeNotFound, ErrNotFound)

	_, err = ImportKey("fidex-key-1:not-a-key")
	wantCode(t, err, CodeInvalidKeyText, ErrInvalidKeyText, ErrInvalidInput)
	_, err = KeyFromBytes(make([]byte, 31))
	wantCode(t, err, CodeInvalidArgument, ErrInvalidArgument)
	_, err = Create(filepath.Join(t.TempDir(), "v"), mustKey(t), Config{})
	wantCode(t, err, CodeInvalidConfig, ErrInvalidConfig)
	_, err = Create("", mustKey(t), Config{Dim: 4})
	wantCode(t, err, CodeInvalidArgument, ErrInvalidArgument)
	_, err = Create(filepath.Join(t.TempDir(), "v"), nil, Config{Dim: 4})
	wantCode(t, err, CodeNullParameter, ErrNullParameter)
	closed := mustKey(t)
	closed.Close()
	_, err = Create(filepath.Join(t.TempDir(), "v"), closed, Config{Dim: 4})
	wantCode(t, err, CodeNullParameter, ErrNullParameter)
	if _, err := closed.ExportText(); err == nil {
		t.Fatal("a closed key exported")
	}
}

func TestEnrollManyAllOrNothing(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newTestVault(t, Config{Dim: dim})
	f := newFaces(17, dim)
	var centres [][]float32
	var consents, payloads [][]byte
	for i := 0; i < 6; i++ {
		centres = append(centres, f.identity())
		consents = append(consents, consentFor(t, "batch-"+string(rune('a'+i))))
		payloads = append(payloads, []byte{byte(i)})
	}
	payloads[3] = nil // an empty payload is allowed

	// Item 4 without consent: nothing enrolled, item 4 named.
	bad := slices.Clone(consents)
	bad[4] = nil
	_, err := v.EnrollMany(ctx, rows(centres...), bad, payloads)
	fe := wantCode(t, err, CodeNoConsent, ErrNoConsent, ErrConsent)
	if fe.Item != 4 || !strings.Contains(fe.Error(), "item 4") {
		t.Fatalf("Item = %d (%v), want 4", fe.Item, err)
	}
	// Item 5 a capture of item 1: duplicate within the batch.
	dup := rows(append(slices.Clone(centres[:5]), centres[1])...)
	_, err = v.EnrollMany(ctx, dup, consents, payloads)
	fe = wantCode(t, err, CodeDuplicate, ErrDuplicate)
	if fe.Item != 5 {
		t.Fatalf("duplicate Item = %d, want 5", fe.Item)
	}
	// Payload count differs from the item count.
	_, err = v.EnrollMany(ctx, rows(centres...), consents, payloads[:5])
	wantCode(t, err, CodeInvalidArgument, ErrInvalidInput)
	// Templates for 5 items but 6 consents: the batch's shape is wrong (the core names the
	// floats it needed and got, as a dimension mismatch of the whole batch).
	_, err = v.EnrollMany(ctx, rows(centres[:5]...), consents, nil)
	fe = wantCode(t, err, CodeDimensionMismatch, ErrInvalidInput)
	if !strings.Contains(fe.Message, fmt.Sprintf("6 × %d = %d floats, got %d", dim, 6*dim, 5*dim)) || fe.Item != -1 {
		t.Fatalf("shape message: %v", fe)
	}
	_, err = v.EnrollMany(ctx, nil, nil, nil)
	wantCode(t, err, CodeInvalidArgument, ErrInvalidInput)
	if n, _ := v.Len(); n != 0 {
		t.Fatalf("refused batches enrolled %d", n)
	}

	ids, err := v.EnrollMany(ctx, rows(centres...), consents, payloads)
	if err != nil || len(ids) != 6 {
		t.Fatalf("EnrollMany: %v %v", ids, err)
	}
	for i, c := range centres {
		ms, err := v.Identify(ctx, f.capture(c), SearchOptions{Purpose: "identification", K: 1, Payloads: true})
		if err != nil || len(ms) != 1 || ms[0].ID != ids[i] || !slices.Equal(ms[0].Payload, payloads[i]) || ms[0].Payload == nil {
			t.Fatalf("item %d: %+v %v (want payload %v)", i, ms, err, payloads[i])
		}
	}
	// Each item is a duplicate of the vault now.
	_, err = v.EnrollMany(ctx, rows(f.identity(), centres[2]), consents[:2], nil)
	fe = wantCode(t, err, CodeDuplicate, ErrDuplicate)
	if fe.Item != 1 {
		t.Fatalf("vault duplicate Item = %d, want 1", fe.Item)
	}
	if _, err := v.Enroll(f.capture(centres[0]), consents[0], nil); err != nil {
		t.Fatalf("a second capture (similarity ~0.8) is not a duplicate: %v", err)
	}
	_, err = v.Enroll(centres[0], consents[0], nil)
	wantCode(t, err, CodeDuplicate, ErrDuplicate)
}

// What only the binding can check, because it does the conversion.
func TestBindingSideConversionErrors(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "v"), mustKey(t), Config{Dim: 4, Purposes: []string{"auth\xc3"}})
	wantCode(t, err, CodeInvalidUTF8, ErrInvalidUTF8, ErrInvalidInput)
	_, err = ExplicitConsent("s", "c", "https://c.example", []string{"\xff"}, time.Now())
	wantCode(t, err, CodeInvalidUTF8, ErrInvalidUTF8)
	_, err = ValidateConsent(consentFor(t, "s"), []string{"identification", "\xfe"})
	wantCode(t, err, CodeInvalidUTF8, ErrInvalidUTF8)
	_, err = Create(filepath.Join(t.TempDir(), "v"), mustKey(t), Config{Dim: 4, Extra: map[string]any{"x": make(chan int)}})
	wantCode(t, err, CodeInvalidJSON, ErrInvalidJSON)
}

func TestKeyBytesRoundTrip(t *testing.T) {
	k := mustKey(t)
	raw, err := k.ExposeSecret()
	if err != nil || raw == [32]byte{} {
		t.Fatalf("ExposeSecret: %v", err)
	}
	k2, err := KeyFromBytes(raw[:])
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	a, _ := k.Fingerprint()
	b, _ := k2.Fingerprint()
	if a != b {
		t.Fatalf("fingerprints %s and %s", a, b)
	}
	text, _ := k.ExportText()
	if !strings.HasPrefix(text, "fidex-key-1:") {
		t.Fatalf("key text %q", text[:12])
	}
	// One mistyped character is caught by the checksum.
	bad := []byte(text)
	if bad[20] == 'a' {
		bad[20] = 'b'
	} else {
		bad[20] = 'a'
	}
	_, err = ImportKey(string(bad))
	wantCode(t, err, CodeInvalidKeyText, ErrInvalidKeyText)
}
