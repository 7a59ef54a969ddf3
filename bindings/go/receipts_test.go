package fidex

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tamperDeletedAt changes the last digit of a deletion receipt's deleted_at (one second).
func tamperDeletedAt(t *testing.T, receipt string) string {
	t.Helper()
	re := regexp.MustCompile(`"deleted_at": (\d+)`)
	m := re.FindStringSubmatchIndex(receipt)
	if m == nil {
		t.Fatalf("no deleted_at in %s", receipt)
	}
	n, _ := strconv.ParseInt(receipt[m[2]:m[3]], 10, 64)
	return receipt[:m[2]] + strconv.FormatInt(n+1, 10) + receipt[m[3]:]
}

// The binding's receipts verify with the binding and, independently, with the fidex CLI;
// a one-second change is rejected by both.
func TestDeletionReceiptsVerifyOfflineAndWithTheCLI(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newTestVault(t, Config{Dim: dim})
	f := newFaces(19, dim)
	people := enrollPeople(t, v, f, 5)
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}
	vk, err := v.VerificationKey()
	if err != nil || !strings.HasPrefix(vk, "fidex-vk-1:") {
		t.Fatalf("VerificationKey = %q, %v", vk, err)
	}
	enrolled, err := v.EnrollmentReceipt(people[4].id)
	if err != nil {
		t.Fatal(err)
	}

	deleted, err := v.Delete(people[0].id, DeletionSubjectRequest)
	if err != nil {
		t.Fatal(err)
	}
	withdrawn, err := v.WithdrawConsent(people[1].id)
	if err != nil {
		t.Fatal(err)
	}
	many, err := v.DeleteMany(ctx, []FacialID{people[2].id, people[3].id}, DeletionAdmin)
	if err != nil || len(many) != 2 {
		t.Fatalf("DeleteMany: %d receipts, %v", len(many), err)
	}
	// Each receipt names its template and reason.
	for _, tc := range []struct {
		receipt string
		id      FacialID
		reason  string
	}{
		{deleted, people[0].id, "subject_request"}, {withdrawn, people[1].id, "consent_withdrawn"},
		{many[0], people[2].id, "admin"}, {many[1], people[3].id, "admin"},
	} {
		var r struct {
			Type     string   `json:"type"`
			FacialID FacialID `json:"facial_id"`
			Reason   string   `json:"reason"`
		}
		if err := json.Unmarshal([]byte(tc.receipt), &r); err != nil || r.Type != "fidex-deletion-receipt" || r.FacialID != tc.id || r.Reason != tc.reason {
			t.Fatalf("receipt %+v (%v), want %s for %s", r, err, tc.reason, tc.id)
		}
		if kind, err := VerifyReceipt(tc.receipt, vk); err != nil || kind != ReceiptDeletion {
			t.Fatalf("VerifyReceipt = %v, %v", kind, err)
		}
	}
	// Deleted templates are gone from searches and queries.
	for _, p := range people[:4] {
		if ok, _ := v.Contains(p.id); ok {
			t.Fatalf("%s still live", p.id)
		}
		ms, err := v.Identify(ctx, f.capture(p.centre), SearchOptions{Purpose: "identification", K: 5, Threshold: Ptr[float32](-1)})
		if err != nil || slices.ContainsFunc(ms, func(m Match) bool { return m.ID == p.id }) {
			t.Fatalf("deleted %s still found: %+v %v", p.id, ms, err)
		}
	}
	_, err = v.Delete(people[0].id, DeletionSubjectRequest)
	wantCode(t, err, CodeNotFound, ErrNotFound)

	// Tampering, wrong key, malformed key.
	tampered := tamperDeletedAt(t, deleted)
	_, err = VerifyReceipt(tampered, vk)
	wantCode(t, err, CodeVerificationFailed, ErrVerificationFailed)
	other, _, _ := newTestVault(t, Config{Dim: 4})
	otherVK, _ := other.VerificationKey()
	_, err = VerifyReceipt(deleted, otherVK)
	wantCode(t, err, CodeVerificationFailed, ErrVerificationFailed)
	_, err = VerifyReceipt(deleted, "fidex-vk-1:nonsense")
	wantCode(t, err, CodeInvalidKeyText, ErrInvalidKeyText)

	// The CLI agrees (exit 0 = verified, 8 = verification failed; docs/CLI.md).
	keyFile := writeFile(t, "vault.vk", vk+"\n")
	for _, r := range []string{deleted, withdrawn, many[0], many[1], enrolled} {
		if code, out := runCLI(t, "receipt", "verify", writeFile(t, "r.json", r), "--key", keyFile); code != 0 {
			t.Fatalf("CLI rejected a receipt the binding verified (exit %d): %s", code, out)
		}
	}
	if code, out := runCLI(t, "receipt", "verify", writeFile(t, "t.json", tampered), "--key", keyFile); code != 8 {
		t.Fatalf("CLI accepted a tampered receipt (exit %d): %s", code, out)
	}
}

func TestTreeHeadsAreConsistent(t *testing.T) {
	v, _, _ := newTestVault(t, Config{Dim: dim})
	f := newFaces(23, dim)
	enrollPeople(t, v, f, 2)
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}
	size := func(head string) uint64 {
		var h struct {
			LogSize uint64 `json:"log_size"`
		}
		if err := json.Unmarshal([]byte(head), &h); err != nil || h.LogSize == 0 {
			t.Fatalf("tree head %s: %v", head, err)
		}
		return h.LogSize
	}
	older, err := v.TreeHead()
	if err != nil {
		t.Fatal(err)
	}
	enrollPeople(t, v, f, 3)
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}
	newer, _ := v.TreeHead()
	if size(newer) <= size(older) {
		t.Fatalf("log did not grow: %d → %d", size(older), size(newer))
	}
	proof, err := v.ConsistencyProof(size(older), size(newer))
	if err != nil {
		t.Fatal(err)
	}
	vk, _ := v.VerificationKey()
	if err := VerifyConsistency(older, newer, proof, vk); err != nil {
		t.Fatalf("VerifyConsistency: %v", err)
	}
	err = VerifyConsistency(newer, older, proof, vk)
	wantCode(t, err, CodeVerificationFailed, ErrVerificationFailed)
	_, err = v.ConsistencyProof(size(newer), size(older))
	wantCode(t, err, CodeInvalidArgument, ErrInvalidArgument)
	entries, err := v.AuditEntries(0, AuditEnd)
	var list []map[string]any
	if err != nil || json.Unmarshal(entries, &list) != nil || uint64(len(list)) < size(newer)-1 {
		t.Fatalf("AuditEntries: %d entries, %v", len(list), err)
	}
}

// Retention without a test clock: purge as of a future time (docs: production builds
// cannot freeze a vault's clock).
func TestRetentionPurgeAtAFutureTime(t *testing.T) {
	ctx := context.Background()
	v, _, _ := newTestVault(t, Config{Dim: dim, Retention: 24 * time.Hour})
	f := newFaces(29, dim)
	people := enrollPeople(t, v, f, 3)
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	for _, p := range people {
		d, err := v.RetentionDeadline(p.id)
		if err != nil || d.Before(before.Add(24*time.Hour-time.Minute)) || d.After(before.Add(24*time.Hour+time.Minute)) {
			t.Fatalf("RetentionDeadline = %v, %v; want about a day from now", d, err)
		}
	}
	if list, err := v.Expired(); err != nil || len(list) != 0 {
		t.Fatalf("Expired now = %v, %v", list, err)
	}
	if r, err := v.PurgeExpired(ctx); err != nil || len(r) != 0 {
		t.Fatalf("PurgeExpired now = %d receipts, %v", len(r), err)
	}
	later := time.Now().Add(25 * time.Hour)
	list, err := v.ExpiredAt(later)
	if err != nil || len(list) != 3 {
		t.Fatalf("ExpiredAt(+25h) = %v, %v", list, err)
	}
	receipts, err := v.PurgeExpiredAt(ctx, later)
	if err != nil || len(receipts) != 3 {
		t.Fatalf("PurgeExpiredAt = %d receipts, %v", len(receipts), err)
	}
	vk, _ := v.VerificationKey()
	for _, r := range receipts {
		if !strings.Contains(r, `"retention_expired"`) {
			t.Fatalf("purge receipt reason: %s", r)
		}
		if kind, err := VerifyReceipt(r, vk); err != nil || kind != ReceiptDeletion {
			t.Fatalf("purge receipt: %v %v", kind, err)
		}
	}
	if n, _ := v.Len(); n != 0 {
		t.Fatalf("Len after purge = %d", n)
	}
	stats, _ := v.Stats()
	if stats.DeletionsByReason["retention_expired"] != 3 {
		t.Fatalf("DeletionsByReason = %v", stats.DeletionsByReason)
	}
}

func TestWrongKeyLockedAndMissingVault(t *testing.T) {
	v, key, dir := newTestVault(t, Config{Dim: dim})
	f := newFaces(31, dim)
	enrollPeople(t, v, f, 1)
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}

	// Locked while open: by another Vault of this process, and for another process (CLI exit 11).
	_, err := Open(dir, key)
	wantCode(t, err, CodeLocked, ErrLocked)
	text, _ := key.ExportText()
	keyFile := writeFile(t, "vault.key", text+"\n")
	// A change needs the writer lock (exit 11); inspection opens read-only beside the writer.
	if code, out := runCLI(t, "compact", dir, "--key-file", keyFile); code != 11 {
		t.Fatalf("CLI compact on a locked vault: exit %d: %s", code, out)
	}
	if code, out := runCLI(t, "stats", dir, "--key-file", keyFile); code != 0 {
		t.Fatalf("CLI stats beside the writer: exit %d: %s", code, out)
	}
	_, err = Create(dir, key, Config{Dim: dim})
	if !(errorIs(err, ErrAlreadyExists) || errorIs(err, ErrLocked)) {
		t.Fatalf("Create over an open vault: %v", err)
	}

	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Create(dir, key, Config{Dim: dim})
	wantCode(t, err, CodeAlreadyExists, ErrAlreadyExists)
	_, err = Open(dir, mustKey(t))
	wantCode(t, err, CodeWrongKey, ErrWrongKey)
	_, err = Open(filepath.Join(t.TempDir(), "nothing"), key)
	wantCode(t, err, CodeNotAVault, ErrNotAVault, ErrNotFound)
	_, err = ReadHeader(t.TempDir())
	wantCode(t, err, CodeNotAVault, ErrNotFound)

	// Released: the CLI and the binding open it again.
	if code, out := runCLI(t, "stats", dir, "--key-file", keyFile); code != 0 || !strings.Contains(out, "1") {
		t.Fatalf("CLI after Close: exit %d: %s", code, out)
	}
	v2, err := Open(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if n, _ := v2.Len(); n != 1 {
		t.Fatalf("Len = %d", n)
	}
}

func TestRotateKeyAndExportSubject(t *testing.T) {
	ctx := context.Background()
	v, oldKey, dir := newTestVault(t, Config{Dim: dim})
	f := newFaces(37, dim)
	people := enrollPeople(t, v, f, 2)
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}
	oldVK, _ := v.VerificationKey()
	oldReceipt, err := v.EnrollmentReceipt(people[0].id)
	if err != nil {
		t.Fatal(err)
	}

	// Export: the subject's own record, template included on request.
	x, err := v.ExportSubject(people[1].id, true)
	if err != nil {
		t.Fatal(err)
	}
	var cos float64
	for i := range x.Template {
		cos += float64(x.Template[i]) * float64(people[1].centre[i])
	}
	if x.FacialID != people[1].id || len(x.Template) != dim || cos < 0.8 || x.PayloadHex != "757365722d62" || // "user-b"
		!strings.Contains(string(x.Consent), `"piiPrincipalId":"user-b"`) || len(x.LogEntries) < 2 || !json.Valid(x.Raw) {
		t.Fatalf("export: %+v (cos %.2f)", x, cos)
	}
	if x, err := v.ExportSubject(people[1].id, false); err != nil || x.Template != nil {
		t.Fatalf("export without template: %v %v", x.Template, err)
	}

	newKey := mustKey(t)
	if err := v.RotateKey(ctx, newKey); err != nil {
		t.Fatal(err)
	}
	newVK, _ := v.VerificationKey()
	prev, err := v.PreviousVerificationKeys()
	if err != nil || newVK == oldVK || !slices.Equal(prev, []string{oldVK}) {
		t.Fatalf("keys after rotation: new %s, previous %v (%v)", newVK, prev, err)
	}
	if kind, err := VerifyReceipt(oldReceipt, oldVK); err != nil || kind != ReceiptEnrollment {
		t.Fatalf("old receipt with the old key: %v %v", kind, err)
	}
	nfp, _ := newKey.Fingerprint()
	if fp, _ := v.KeyFingerprint(); fp != nfp {
		t.Fatalf("vault fingerprint %s, new key %s", fp, nfp)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, oldKey)
	wantCode(t, err, CodeWrongKey, ErrWrongKey)
	v2, err := Open(dir, newKey)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	ms, err := v2.Identify(ctx, f.capture(people[0].centre), SearchOptions{Purpose: "identification", K: 1})
	if err != nil || len(ms) != 1 || ms[0].ID != people[0].id {
		t.Fatalf("identify after rotation: %+v %v", ms, err)
	}
	if err := v2.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if info, err := v2.Compact(ctx); err != nil || info.Generation == 0 {
		t.Fatalf("Compact: %+v %v", info, err)
	}
	if rec, err := v2.ProcessingRecord(); err != nil || !strings.Contains(string(rec), newVK) {
		t.Fatalf("ProcessingRecord: %s %v", rec, err)
	}
	if pr, err := v2.PendingRemovals(); err != nil || len(pr) != 0 {
		t.Fatalf("PendingRemovals: %v %v", pr, err)
	}
}
