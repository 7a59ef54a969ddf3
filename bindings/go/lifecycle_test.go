package fidex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// dim is the test vaults' dimension: with 128, two random identities have a cosine similarity of
// about 0 ± 0.09, far below the default match threshold 0.5 (with 64, 4800 pairs give a few
// above 0.45, and a noisy capture then crosses 0.5 now and then).
const dim = 128

// person is an enrolled synthetic identity.
type person struct {
	name   string
	centre []float32
	id     FacialID
}

// enrollPeople enrolls n identities with their names as payloads.
func enrollPeople(t *testing.T, v *Vault, f *faces, n int) []person {
	t.Helper()
	ps := make([]person, n)
	for i := range ps {
		ps[i] = person{name: "user-" + string(rune('a'+i)), centre: f.identity()}
		id, err := v.Enroll(f.capture(ps[i].centre), consentFor(t, ps[i].name), []byte(ps[i].name))
		if err != nil {
			t.Fatalf("Enroll %s: %v", ps[i].name, err)
		}
		ps[i].id = id
	}
	return ps
}

func TestLifecycleCreateEnrollIdentifyCloseReopen(t *testing.T) {
	ctx := context.Background()
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyText, err := key.ExportText()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := Create(dir, key, Config{Dim: dim, MatchThreshold: Ptr[float32](0.6), Retention: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := newFaces(7, dim)
	people := enrollPeople(t, v, f, 5)

	if n, err := v.Len(); err != nil || n != 5 {
		t.Fatalf("Len = %d, %v; want 5", n, err)
	}
	if n, err := v.Uncommitted(); err != nil || n != 5 {
		t.Fatalf("Uncommitted = %d, %v; want 5", n, err)
	}
	// Each person is identified from a new capture, with their payload, in one call.
	for _, p := range people {
		ms, err := v.Identify(ctx, f.capture(p.centre), SearchOptions{Purpose: "identification", K: 3, Payloads: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].ID != p.id || string(ms[0].Payload) != p.name || ms[0].Score < 0.6 {
			t.Fatalf("identify %s: got %+v, want only %s", p.name, ms, p.id)
		}
	}
	// A stranger matches nobody; a low explicit threshold returns several, best first.
	if ms, err := v.Identify(ctx, f.identity(), SearchOptions{Purpose: "identification", K: 3}); err != nil || len(ms) != 0 {
		t.Fatalf("stranger: %+v, %v", ms, err)
	}
	ms, err := v.Identify(ctx, f.capture(people[0].centre), SearchOptions{Purpose: "identification", K: 5, Threshold: Ptr[float32](-1)})
	if err != nil || len(ms) != 5 || ms[0].ID != people[0].id || ms[0].Payload != nil {
		t.Fatalf("threshold -1: %+v, %v", ms, err)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Score > ms[i-1].Score {
			t.Fatalf("matches not best first: %+v", ms)
		}
	}
	// 1:1 verification.
	ver, err := v.Verify(people[1].id, f.capture(people[1].centre), "authentication", nil)
	if err != nil || !ver.Matched || ver.Threshold != 0.6 {
		t.Fatalf("verify same person: %+v, %v", ver, err)
	}
	if ver, err := v.Verify(people[1].id, f.capture(people[2].centre), "authentication", nil); err != nil || ver.Matched {
		t.Fatalf("verify other person: %+v, %v", ver, err)
	}
	// A batch: probe i is person i; result i names person i.
	var probes [][]float32
	for _, p := range people {
		probes = append(probes, f.capture(p.centre))
	}
	batch, err := v.IdentifyBatch(ctx, rows(probes...), SearchOptions{Purpose: "identification", K: 2, Payloads: true})
	if err != nil || len(batch) != len(people) {
		t.Fatalf("IdentifyBatch: %d results, %v", len(batch), err)
	}
	for i, p := range people {
		if len(batch[i]) != 1 || batch[i][0].ID != p.id || string(batch[i][0].Payload) != p.name {
			t.Fatalf("batch probe %d: %+v, want %s", i, batch[i], p.id)
		}
	}

	// Receipts only sign committed state.
	_, err = v.EnrollmentReceipt(people[0].id)
	wantCode(t, err, CodeNotCommitted, ErrNotCommitted)
	info, err := v.Commit()
	if err != nil || info.Generation == 0 || info.FilesWritten == 0 || len(info.Purged) != 0 {
		t.Fatalf("Commit: %+v, %v", info, err)
	}
	if n, _ := v.Uncommitted(); n != 0 {
		t.Fatalf("Uncommitted after Commit = %d", n)
	}
	receipt, err := v.EnrollmentReceipt(people[0].id)
	if err != nil {
		t.Fatal(err)
	}
	vk, err := v.VerificationKey()
	if err != nil {
		t.Fatal(err)
	}
	if kind, err := VerifyReceipt(receipt, vk); err != nil || kind != ReceiptEnrollment {
		t.Fatalf("VerifyReceipt(enrollment) = %v, %v", kind, err)
	}

	// Queries.
	ids, err := v.FacialIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []FacialID
	for _, p := range people {
		want = append(want, p.id)
	}
	slices.SortFunc(want, func(a, b FacialID) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(ids, want) {
		t.Fatalf("FacialIDs = %v, want %v", ids, want)
	}
	page := make([]FacialID, 2)
	n, err := v.FacialIDsPage(&want[1], page)
	if err != nil || n != 2 || page[0] != want[2] || page[1] != want[3] {
		t.Fatalf("FacialIDsPage after want[1]: %d %v %v", n, page, err)
	}
	if ok, err := v.Contains(people[3].id); err != nil || !ok {
		t.Fatalf("Contains = %v, %v", ok, err)
	}
	if p, err := v.Payload(people[3].id); err != nil || string(p) != people[3].name {
		t.Fatalf("Payload = %q, %v", p, err)
	}
	var stored map[string]any
	if c, err := v.Consent(people[3].id); err != nil || json.Unmarshal(c, &stored) != nil || stored["piiPrincipalId"] != people[3].name {
		t.Fatalf("Consent = %s, %v", c, err)
	}
	stats, err := v.Stats()
	if err != nil || stats.Templates != 5 || stats.EnrollmentsTotal != 5 || stats.ConsentsByPurpose["identification"] != 5 ||
		stats.Backend != "flat" || stats.OldestEnrollment == nil {
		t.Fatalf("Stats = %+v, %v", stats, err)
	}
	vaultID, err := v.ID()
	if err != nil || len(vaultID) != 32 {
		t.Fatalf("ID = %q, %v", vaultID, err)
	}
	fp, _ := key.Fingerprint()
	if vfp, err := v.KeyFingerprint(); err != nil || vfp != fp || len(fp) != 16 {
		t.Fatalf("fingerprints: vault %q (%v), key %q", vfp, err, fp)
	}

	// Close is idempotent; afterwards every call says ErrClosed.
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err = v.Identify(ctx, probes[0], SearchOptions{Purpose: "identification", K: 1})
	wantCode(t, err, CodeClosed, ErrClosed)
	_, err = v.Enroll(probes[0], consentFor(t, "late"), nil)
	wantCode(t, err, CodeClosed, ErrClosed)

	// The header is readable without a key; the vault reopens with the imported key text.
	h, err := ReadHeader(dir)
	if err != nil || h.Dimension != dim || h.VaultID != vaultID || h.Metric != "cosine" {
		t.Fatalf("ReadHeader = %+v, %v", h, err)
	}
	key.Close()
	key.Close() // idempotent
	key2, err := ImportKey("  " + keyText + "\n")
	if err != nil {
		t.Fatal(err)
	}
	defer key2.Close()
	if fp2, _ := key2.Fingerprint(); fp2 != fp {
		t.Fatalf("imported key fingerprint %s, want %s", fp2, fp)
	}
	v2, err := Open(dir, key2)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if n, _ := v2.Len(); n != 5 {
		t.Fatalf("reopened Len = %d", n)
	}
	cfg, err := v2.Config()
	if err != nil || cfg.Dim != dim || cfg.MatchThreshold == nil || *cfg.MatchThreshold != 0.6 ||
		cfg.Retention != 30*24*time.Hour || !slices.Equal(cfg.Purposes, allPurposes) || cfg.NoDuplicateCheck || cfg.NoAutoPurge {
		t.Fatalf("reopened Config = %+v, %v", cfg, err)
	}
	for _, p := range people {
		ms, err := v2.Identify(ctx, f.capture(p.centre), SearchOptions{Purpose: "identification", K: 1, Payloads: true})
		if err != nil || len(ms) != 1 || ms[0].ID != p.id || string(ms[0].Payload) != p.name {
			t.Fatalf("reopened identify %s: %+v, %v", p.name, ms, err)
		}
	}
	if kind, err := VerifyReceipt(receipt, vk); err != nil || kind != ReceiptEnrollment {
		t.Fatalf("receipt after reopen: %v %v", kind, err)
	}
}

func TestConfigRoundTripAndExtraFields(t *testing.T) {
	v, _, _ := newTestVault(t, Config{
		Dim: 16, Metric: "inner_product", Storage: "f16", NoDuplicateCheck: true, MaxTemplates: 1000,
		Purposes: []string{"authentication"}, NoAutoPurge: true, SearchThreads: 1,
	})
	cfg, err := v.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dim != 16 || cfg.Metric != "inner_product" || cfg.Storage != "f16" || !cfg.NoDuplicateCheck || cfg.DuplicateThreshold != nil ||
		cfg.MaxTemplates != 1000 || !slices.Equal(cfg.Purposes, []string{"authentication"}) || !cfg.NoAutoPurge || cfg.SearchThreads != 1 {
		t.Fatalf("Config = %+v", cfg)
	}
	// Unknown fields reach the library, which refuses them (a typo is an error there).
	_, err = Create(filepath.Join(t.TempDir(), "v"), mustKey(t), Config{Dim: 16, Extra: map[string]any{"dimensoin": 3}})
	fe := wantCode(t, err, CodeInvalidConfig, ErrInvalidConfig, ErrInvalidInput)
	if !bytes.Contains([]byte(fe.Message), []byte("dimensoin")) {
		t.Fatalf("message does not name the field: %s", fe.Message)
	}
	// Known fields can also be given through Extra (for options newer than this binding).
	v2, err := Create(filepath.Join(t.TempDir(), "v"), mustKey(t), Config{Dim: 16, Extra: map[string]any{"metric": "l2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if cfg, _ := v2.Config(); cfg.Metric != "l2" {
		t.Fatalf("Extra metric: %+v", cfg)
	}
}

func mustKey(t *testing.T) *Key {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

func TestContextCancelledBeforeTheCall(t *testing.T) {
	v, _, _ := newTestVault(t, Config{Dim: 8})
	f := newFaces(3, 8)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	probe := f.identity()
	if _, err := v.Identify(ctx, probe, SearchOptions{Purpose: "identification", K: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Identify: %v", err)
	}
	if _, err := v.IdentifyBatch(ctx, probe, SearchOptions{Purpose: "identification", K: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("IdentifyBatch: %v", err)
	}
	if _, err := v.EnrollMany(ctx, probe, [][]byte{consentFor(t, "x")}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("EnrollMany: %v", err)
	}
	if n, _ := v.Len(); n != 0 {
		t.Fatalf("a cancelled EnrollMany enrolled %d", n)
	}
	if _, err := v.FacialIDs(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("FacialIDs: %v", err)
	}
	if _, err := v.PurgeExpired(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("PurgeExpired: %v", err)
	}
}

func TestFacialIDText(t *testing.T) {
	v, _, _ := newTestVault(t, Config{Dim: 8})
	f := newFaces(5, 8)
	id, err := v.Enroll(f.identity(), consentFor(t, "x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	text := id.String()
	if len(text) != FacialIDTextLen || text[8] != '-' {
		t.Fatalf("String = %q", text)
	}
	for _, form := range []string{text, "{" + text + "}", " " + text + "\n"} {
		if back, err := ParseFacialID(form); err != nil || back != id {
			t.Fatalf("ParseFacialID(%q) = %v, %v", form, back, err)
		}
	}
	_, err = ParseFacialID("not-a-uuid")
	wantCode(t, err, CodeInvalidArgument, ErrInvalidArgument, ErrInvalidInput)
	// JSON uses the text form, as receipts and exports do.
	b, _ := json.Marshal(map[string]FacialID{"id": id})
	if string(b) != `{"id":"`+text+`"}` {
		t.Fatalf("JSON %s", b)
	}
	var back map[string]FacialID
	if err := json.Unmarshal(b, &back); err != nil || back["id"] != id {
		t.Fatalf("JSON back %v %v", back, err)
	}
}
