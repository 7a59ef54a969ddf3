package fidex

// Many processes on one vault: read-only Vaults beside the writer (in this process and in
// another one), lock waits, stray files, and the validation of OpenOptions.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// matchIDs returns the ids v identifies probe as (purpose identification, default threshold).
func matchIDs(t testing.TB, v *Vault, probe []float32) []FacialID {
	t.Helper()
	ms, err := v.Identify(context.Background(), probe, SearchOptions{Purpose: "identification", K: 5})
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	ids := make([]FacialID, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func wantMatches(t testing.TB, what string, got []FacialID, want ...FacialID) {
	t.Helper()
	if want == nil {
		want = []FacialID{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: matched %v, want %v", what, got, want)
	}
}

func commit(t testing.TB, v *Vault) {
	t.Helper()
	if _, err := v.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func TestReadOnlyBesideTheWriterInProcess(t *testing.T) {
	w, key, dir := newTestVault(t, Config{Dim: dim})
	f := newFaces(41, dim)
	ps := enrollPeople(t, w, f, 2)
	commit(t, w)

	// The writer holds the lock: a second writer is refused, a reader opens beside it.
	_, err := Open(dir, key)
	wantCode(t, err, CodeLocked, ErrLocked)
	r, err := OpenWith(dir, key, OpenOptions{ReadOnly: true, ManualRefresh: true})
	if err != nil {
		t.Fatalf("OpenWith read-only beside the writer: %v", err)
	}
	defer r.Close()
	// eager checks for newer commits before every search (RefreshInterval 0).
	eager, err := OpenWith(dir, key, OpenOptions{ReadOnly: true, RefreshInterval: Ptr(time.Duration(0))})
	if err != nil {
		t.Fatal(err)
	}
	defer eager.Close()

	if !r.ReadOnly() || w.ReadOnly() {
		t.Fatalf("ReadOnly: reader %v, writer %v", r.ReadOnly(), w.ReadOnly())
	}
	rs, err := r.Stats()
	if err != nil || !rs.ReadOnly || rs.Templates != 2 || len(rs.StrayFiles) != 0 {
		t.Fatalf("reader Stats = %+v, %v", rs, err)
	}
	if ws, err := w.Stats(); err != nil || ws.ReadOnly || ws.StrayFiles == nil || len(ws.StrayFiles) != 0 {
		t.Fatalf("writer Stats = %+v, %v", ws, err)
	}
	wantMatches(t, "reader, person 0", matchIDs(t, r, f.capture(ps[0].centre)), ps[0].id)

	// Every change through the reader fails with the read-only error.
	newcomer := f.identity()
	_, err = r.Enroll(f.capture(newcomer), consentFor(t, "user-new"), nil)
	wantCode(t, err, CodeReadOnly, ErrReadOnly, ErrLocked)
	_, err = r.Delete(ps[0].id, DeletionSubjectRequest)
	wantCode(t, err, CodeReadOnly, ErrReadOnly)
	_, err = r.Commit()
	wantCode(t, err, CodeReadOnly, ErrReadOnly)
	_, err = r.RemoveStrayFiles()
	wantCode(t, err, CodeReadOnly, ErrReadOnly)
	if n, _ := w.Len(); n != 2 {
		t.Fatalf("writer Len after the reader's refused changes = %d", n)
	}

	// Nothing new: Refresh says so; a writer is always current.
	if changed, err := r.Refresh(); err != nil || changed {
		t.Fatalf("Refresh with nothing new = %v, %v", changed, err)
	}
	if changed, err := w.Refresh(); err != nil || changed {
		t.Fatalf("writer Refresh = %v, %v", changed, err)
	}

	// The writer enrolls: not visible before its commit, nor to a manual reader before Refresh.
	nid, err := w.Enroll(f.capture(newcomer), consentFor(t, "user-new"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMatches(t, "eager reader before the commit", matchIDs(t, eager, f.capture(newcomer)))
	commit(t, w)
	wantMatches(t, "manual reader before Refresh", matchIDs(t, r, f.capture(newcomer)))
	wantMatches(t, "eager reader after the commit", matchIDs(t, eager, f.capture(newcomer)), nid)
	if changed, err := r.Refresh(); err != nil || !changed {
		t.Fatalf("Refresh after an enrollment's commit = %v, %v", changed, err)
	}
	wantMatches(t, "manual reader after Refresh", matchIDs(t, r, f.capture(newcomer)), nid)
	if changed, err := r.Refresh(); err != nil || changed {
		t.Fatalf("second Refresh = %v, %v", changed, err)
	}

	// The writer deletes (Delete commits): after Refresh the reader no longer matches it.
	if _, err := w.Delete(ps[0].id, DeletionSubjectRequest); err != nil {
		t.Fatal(err)
	}
	if changed, err := r.Refresh(); err != nil || !changed {
		t.Fatalf("Refresh after a deletion = %v, %v", changed, err)
	}
	wantMatches(t, "reader, deleted person 0", matchIDs(t, r, f.capture(ps[0].centre)))
	wantMatches(t, "eager reader, deleted person 0", matchIDs(t, eager, f.capture(ps[0].centre)))
	wantMatches(t, "reader, person 1", matchIDs(t, r, f.capture(ps[1].centre)), ps[1].id)
	if n, err := r.Len(); err != nil || n != 2 {
		t.Fatalf("reader Len = %d, %v; want 2", n, err)
	}
	if changed, err := r.Refresh(); err != nil || changed {
		t.Fatalf("Refresh with nothing new = %v, %v", changed, err)
	}
	if names, err := w.RemoveStrayFiles(); err != nil || len(names) != 0 {
		t.Fatalf("RemoveStrayFiles without strays = %v, %v", names, err)
	}
}

// The reader process: TestReadOnlyInAnotherProcess runs this test binary again with
// FIDEX_GO_READER_DIR set. It opens the vault read-only (refresh interval 100 ms), prints
// "READY", then answers each probe line of stdin (a JSON array of floats) with
// "MATCHES <JSON array of ids>" until stdin ends.
func TestReaderProcess(t *testing.T) {
	dir := os.Getenv("FIDEX_GO_READER_DIR")
	if dir == "" {
		t.Skip("the reader process of TestReadOnlyInAnotherProcess (run by it)")
	}
	key, err := ImportKey(os.Getenv("FIDEX_GO_READER_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenWith(dir, key, OpenOptions{ReadOnly: true, RefreshInterval: Ptr(100 * time.Millisecond)})
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		t.Fatal(err)
	}
	defer r.Close()
	fmt.Println("READY")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(nil, 1<<20)
	for in.Scan() {
		var probe []float32
		if err := json.Unmarshal(in.Bytes(), &probe); err != nil {
			t.Fatal(err)
		}
		ms, err := r.Identify(context.Background(), probe, SearchOptions{Purpose: "identification", K: 5})
		if err != nil {
			fmt.Printf("ERROR %v\n", err)
			t.Fatal(err)
		}
		ids := make([]FacialID, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		out, _ := json.Marshal(ids)
		fmt.Printf("MATCHES %s\n", out)
	}
}

func TestReadOnlyInAnotherProcess(t *testing.T) {
	w, key, dir := newTestVault(t, Config{Dim: dim})
	f := newFaces(43, dim)
	ps := enrollPeople(t, w, f, 2)
	commit(t, w)
	keyText, err := key.ExportText()
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestReaderProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FIDEX_GO_READER_DIR="+dir, "FIDEX_GO_READER_KEY="+keyText)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "READY") || strings.HasPrefix(l, "MATCHES ") || strings.HasPrefix(l, "ERROR ") {
				lines <- l
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	next := func() string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the reader process ended early")
			}
			if strings.HasPrefix(l, "ERROR ") {
				t.Fatalf("reader process: %s", l)
			}
			return l
		case <-time.After(60 * time.Second):
			t.Fatal("no answer from the reader process in 60 s")
		}
		return ""
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("reader process: %v", err)
		}
	}()
	search := func(probe []float32) []FacialID {
		t.Helper()
		b, _ := json.Marshal(probe)
		if _, err := fmt.Fprintf(stdin, "%s\n", b); err != nil {
			t.Fatal(err)
		}
		var ids []FacialID
		if err := json.Unmarshal([]byte(strings.TrimPrefix(next(), "MATCHES ")), &ids); err != nil {
			t.Fatal(err)
		}
		return ids
	}

	if l := next(); l != "READY" {
		t.Fatalf("reader process: %q", l)
	}
	// The reader opened while this process's writer holds the vault, and searches it.
	wantMatches(t, "other process, person 0", search(f.capture(ps[0].centre)), ps[0].id)
	wantMatches(t, "other process, person 1", search(f.capture(ps[1].centre)), ps[1].id)

	// A deletion: once its commit returned and more than one refresh interval passed, the
	// reader's searches no longer match it (no explicit refresh in the reader).
	if _, err := w.Delete(ps[0].id, DeletionSubjectRequest); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	wantMatches(t, "other process, deleted person 0", search(f.capture(ps[0].centre)))
	wantMatches(t, "other process, person 1 after the deletion", search(f.capture(ps[1].centre)), ps[1].id)

	// An enrollment committed by the writer shows up in the reader the same way.
	newcomer := f.identity()
	nid, err := w.Enroll(f.capture(newcomer), consentFor(t, "user-new"), nil)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, w)
	time.Sleep(150 * time.Millisecond)
	wantMatches(t, "other process, new enrollment", search(f.capture(newcomer)), nid)
}

func TestLockWait(t *testing.T) {
	w, key, dir := newTestVault(t, Config{Dim: dim})
	f := newFaces(47, dim)
	enrollPeople(t, w, f, 1)
	commit(t, w)

	// Without LockWait a second writer fails with the locked error.
	_, err := OpenWith(dir, key, OpenOptions{})
	wantCode(t, err, CodeLocked, ErrLocked)
	// A wait shorter than the holder's: still locked, after at least the wait.
	start := time.Now()
	_, err = OpenWith(dir, key, OpenOptions{LockWait: 100 * time.Millisecond})
	wantCode(t, err, CodeLocked, ErrLocked)
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("LockWait 100ms gave up after %v", d)
	}

	// With LockWait 2 s: succeeds once the first writer closes, ~300 ms later.
	closed := make(chan error, 1)
	start = time.Now()
	time.AfterFunc(300*time.Millisecond, func() { closed <- w.Close() })
	w2, err := OpenWith(dir, key, OpenOptions{LockWait: 2 * time.Second})
	waited := time.Since(start)
	if err != nil {
		t.Fatalf("OpenWith LockWait 2s after %v: %v", waited, err)
	}
	defer w2.Close()
	if err := <-closed; err != nil {
		t.Fatalf("first writer's Close: %v", err)
	}
	if waited < 250*time.Millisecond || waited > 2*time.Second {
		t.Fatalf("the second writer opened after %v; the first closed after 300ms", waited)
	}
	if w2.ReadOnly() {
		t.Fatal("a writer opened with LockWait is read-only")
	}
	if _, err := w2.Enroll(f.capture(f.identity()), consentFor(t, "user-b"), nil); err != nil {
		t.Fatalf("Enroll in the second writer: %v", err)
	}
	if n, _ := w2.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
}

func TestOpenOptionsRefused(t *testing.T) {
	w, key, dir := newTestVault(t, Config{Dim: dim})
	_ = w
	for _, tc := range []struct {
		name string
		opts OpenOptions
	}{
		{"negative LockWait", OpenOptions{LockWait: -time.Second}},
		{"negative LockWait, read-only", OpenOptions{ReadOnly: true, LockWait: -1}},
		{"negative RefreshInterval", OpenOptions{ReadOnly: true, RefreshInterval: Ptr(-time.Millisecond)}},
		{"ManualRefresh with RefreshInterval", OpenOptions{ReadOnly: true, ManualRefresh: true, RefreshInterval: Ptr(time.Second)}},
	} {
		v, err := OpenWith(dir, key, tc.opts)
		if v != nil {
			v.Close()
		}
		fe := wantCode(t, err, CodeInvalidArgument, ErrInvalidArgument)
		if fe.Op != "OpenWith" {
			t.Fatalf("%s: Op = %q", tc.name, fe.Op)
		}
	}
	// Valid options reach the library as its JSON object (durations in milliseconds).
	for _, tc := range []struct {
		opts OpenOptions
		want string
	}{
		{OpenOptions{}, `{"read_only":false}`},
		{OpenOptions{ReadOnly: true, ManualRefresh: true}, `{"read_only":true,"refresh_interval_ms":null}`},
		{OpenOptions{ReadOnly: true, RefreshInterval: Ptr(1500 * time.Microsecond)}, `{"read_only":true,"refresh_interval_ms":1}`},
		{OpenOptions{LockWait: 1500 * time.Microsecond}, `{"lock_wait_ms":2,"read_only":false}`},
		{OpenOptions{LockWait: 2 * time.Second}, `{"lock_wait_ms":2000,"read_only":false}`},
	} {
		if got, err := tc.opts.json("OpenWith"); err != nil || got != tc.want {
			t.Fatalf("%+v: %s, %v; want %s", tc.opts, got, err, tc.want)
		}
	}
	// Errors of Open still apply.
	_, err := OpenWith(filepath.Join(t.TempDir(), "nothing"), key, OpenOptions{ReadOnly: true})
	wantCode(t, err, CodeNotAVault, ErrNotAVault)
	_, err = OpenWith(dir, mustKey(t), OpenOptions{ReadOnly: true})
	wantCode(t, err, CodeWrongKey, ErrWrongKey)
}

// A manifest rolled back on its own leaves newer files no manifest explains: the writer
// lists them, refuses changes (ErrCorrupt) until RemoveStrayFiles removes them.
func TestStrayFilesAfterARolledBackManifest(t *testing.T) {
	w, key, dir := newTestVault(t, Config{Dim: dim})
	f := newFaces(53, dim)
	enrollPeople(t, w, f, 1)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "fidex.vault")
	old, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	w, err = Open(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Enroll(f.capture(f.identity()), consentFor(t, "user-b"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, old, 0o600); err != nil {
		t.Fatal(err)
	}

	w, err = Open(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	stats, err := w.Stats()
	if err != nil || len(stats.StrayFiles) == 0 {
		t.Fatalf("Stats after the rollback = %+v, %v; want stray files", stats, err)
	}
	for _, name := range stats.StrayFiles {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("stray %s: %v", name, err)
		}
	}
	_, err = w.Enroll(f.capture(f.identity()), consentFor(t, "user-c"), nil)
	wantCode(t, err, CodeCorrupt, ErrCorrupt)

	r, err := OpenWith(dir, key, OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.RemoveStrayFiles()
	wantCode(t, err, CodeReadOnly, ErrReadOnly)
	r.Close()

	removed, err := w.RemoveStrayFiles()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := slices.Sorted(slices.Values(stats.StrayFiles))
	if !slices.Equal(removed, want) {
		t.Fatalf("RemoveStrayFiles = %v, want %v", removed, want)
	}
	for _, name := range removed {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("stray %s still there: %v", name, err)
		}
	}
	if _, err := w.Enroll(f.capture(f.identity()), consentFor(t, "user-c"), nil); err != nil {
		t.Fatalf("Enroll after RemoveStrayFiles: %v", err)
	}
	if stats, _ := w.Stats(); len(stats.StrayFiles) != 0 || stats.Templates != 2 {
		t.Fatalf("Stats after RemoveStrayFiles = %+v", stats)
	}
}
