package fidex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// 16 goroutines search while one enrolls and deletes. Every search goroutine also makes
// failing calls whose error is its own (a dimension, a NaN position, a k, a purpose that
// only it uses; and an unknown id), at the same time as the others: each must get back exactly its own
// code and message (the per-call error object; a thread-local "last error" fails this
// because goroutines move between OS threads). Results must stay consistent: a stable
// identity is always found first, a churned identity never matches a stable one.
func TestConcurrentSearchesWhileEnrollingAndDeleting(t *testing.T) {
	const (
		searchers = 16
		stable    = 120
		churn     = 40
		minRounds = 60
	)
	ctx := context.Background()
	v, _, _ := newTestVault(t, Config{Dim: dim})
	f := newFaces(41, dim)

	centres := make([][]float32, stable)
	consents := make([][]byte, stable)
	payloads := make([][]byte, stable)
	for i := range centres {
		centres[i] = f.identity()
		consents[i] = consentFor(t, fmt.Sprintf("stable-%d", i))
		payloads[i] = []byte(fmt.Sprintf("stable-%d", i))
	}
	stableIDs, err := v.EnrollMany(ctx, rows(centres...), consents, payloads)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Commit(); err != nil {
		t.Fatal(err)
	}
	isStable := map[FacialID]int{}
	for i, id := range stableIDs {
		isStable[id] = i
	}
	churnCentres := make([][]float32, churn)
	for i := range churnCentres {
		churnCentres[i] = f.identity()
	}
	vk, _ := v.VerificationKey()

	var writerDone atomic.Bool
	var failures, roundsDuringWrites, calls atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 20 {
			t.Errorf(format, args...)
		}
	}
	var wg sync.WaitGroup

	// The writer: enroll a churned identity, find it, delete it with a receipt; now and
	// then a batch of two deleted together; and a failing call of its own each round.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer writerDone.Store(true)
		wf := newFaces(1000, dim)
		for i, c := range churnCentres {
			id, err := v.Enroll(wf.capture(c), consentFor(t, fmt.Sprintf("churn-%d", i)), nil)
			if err != nil {
				fail("writer enroll %d: %v", i, err)
				return
			}
			ms, err := v.Identify(ctx, wf.capture(c), SearchOptions{Purpose: "identification", K: 1})
			if err != nil || len(ms) != 1 || ms[0].ID != id {
				fail("writer: enrolled %s not found: %+v %v", id, ms, err)
			}
			_, err = v.Enroll(wf.capture(c), nil, nil)
			if fe := (*Error)(nil); !errors.As(err, &fe) || fe.Code != CodeNoConsent {
				fail("writer: no-consent enroll returned %v", err)
			}
			if i%4 == 3 {
				pair, err := v.EnrollMany(ctx, rows(wf.identity(), wf.identity()), [][]byte{consentFor(t, "p1"), consentFor(t, "p2")}, nil)
				if err != nil {
					fail("writer EnrollMany: %v", err)
					continue
				}
				if rs, err := v.DeleteMany(ctx, pair, DeletionAdmin); err != nil || len(rs) != 2 {
					fail("writer DeleteMany: %v", err)
				}
			}
			receipt, err := v.Delete(id, DeletionSubjectRequest)
			if err != nil {
				fail("writer delete %d: %v", i, err)
				continue
			}
			if kind, err := VerifyReceipt(receipt, vk); err != nil || kind != ReceiptDeletion {
				fail("writer: receipt %v %v", kind, err)
			}
		}
	}()

	for g := 0; g < searchers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			sf := newFaces(uint64(100+g), dim)
			unknown := FacialID{0xee, byte(g + 1)} // an id that is never enrolled
			purpose := fmt.Sprintf("purpose-of-goroutine-%d", g)
			for round := 0; round < minRounds || !writerDone.Load(); round++ {
				if failures.Load() > 20 {
					return
				}
				if !writerDone.Load() {
					roundsDuringWrites.Add(1)
				}
				calls.Add(6)
				s := (g*37 + round) % stable
				probe := sf.capture(centres[s])

				// Successes: the stable identity comes first, with its payload.
				ms, err := v.Identify(ctx, probe, SearchOptions{Purpose: "identification", K: 3, Payloads: true})
				if err != nil || len(ms) == 0 || ms[0].ID != stableIDs[s] || string(ms[0].Payload) != string(payloads[s]) {
					fail("goroutine %d: identify stable %d: %+v %v", g, s, ms, err)
				}
				for _, m := range ms {
					if _, ok := isStable[m.ID]; !ok {
						fail("goroutine %d: a stable probe matched non-stable %s (%.2f)", g, m.ID, m.Score)
					}
				}
				// A churned identity (present or not at this instant) never matches a stable one.
				cp := sf.capture(churnCentres[(g+round)%churn])
				cm, err := v.Identify(ctx, cp, SearchOptions{Purpose: "identification", K: 1})
				if err != nil {
					fail("goroutine %d: identify churn: %v", g, err)
				} else if len(cm) == 1 {
					if si, ok := isStable[cm[0].ID]; ok {
						fail("goroutine %d: a churn probe matched stable %d %s with score %.3f; its cosine with that identity's centre is %.3f",
							g, si, cm[0].ID, cm[0].Score, cosine(cp, centres[si]))
					}
				}

				// Failures, each with an error only this goroutine produces.
				var err2 error
				var want Code
				var mark string
				switch round % 6 {
				case 0: // a probe of dimension dim-1-g
					_, err2 = v.Identify(ctx, probe[:dim-1-g], SearchOptions{Purpose: "identification", K: 1})
					want, mark = CodeDimensionMismatch, fmt.Sprintf("has %d components", dim-1-g)
				case 1: // NaN at component g
					bad := append([]float32(nil), probe...)
					bad[g] = float32(math.NaN())
					_, err2 = v.Verify(stableIDs[s], bad, "authentication", nil)
					want, mark = CodeNonFiniteValue, fmt.Sprintf("component %d is", g)
				case 2: // k = MaxK + 1 + g
					_, err2 = v.IdentifyBatch(ctx, rows(probe, probe), SearchOptions{Purpose: "identification", K: MaxK + 1 + g})
					want, mark = CodeInvalidArgument, fmt.Sprintf("got %d", MaxK+1+g)
				case 3: // a purpose named after this goroutine
					_, err2 = v.Identify(ctx, probe, SearchOptions{Purpose: purpose, K: 1})
					want, mark = CodeUnknownPurpose, purpose
				case 4: // an id that is not enrolled (the message does not name the id)
					_, err2 = v.Verify(unknown, probe, "authentication", nil)
					want, mark = CodeNotFound, "no live template"
				case 5: // a 1:1 probe of dimension dim+1+g
					long := append(append([]float32(nil), probe...), make([]float32, 1+g)...)
					_, err2 = v.Verify(stableIDs[s], long, "authentication", nil)
					want, mark = CodeDimensionMismatch, fmt.Sprintf("has %d components", dim+1+g)
				}
				var fe *Error
				if !errors.As(err2, &fe) || fe.Code != want || !strings.Contains(fe.Message, mark) || fe.Item != -1 {
					fail("goroutine %d round %d: want %s with %q, got %v", g, round, want, mark, err2)
				}

				if round%10 == 0 { // a batch: probe i is identity s+i
					var ps [][]float32
					for i := 0; i < 4; i++ {
						ps = append(ps, sf.capture(centres[(s+i)%stable]))
					}
					res, err := v.IdentifyBatch(ctx, rows(ps...), SearchOptions{Purpose: "identification", K: 2})
					if err != nil || len(res) != 4 {
						fail("goroutine %d: batch %v", g, err)
						continue
					}
					for i := range res {
						if len(res[i]) == 0 || res[i][0].ID != stableIDs[(s+i)%stable] {
							fail("goroutine %d: batch probe %d: %+v", g, i, res[i])
						}
					}
				}
				if ver, err := v.Verify(stableIDs[s], sf.capture(centres[s]), "authentication", nil); err != nil || !ver.Matched {
					fail("goroutine %d: verify stable %d: %+v %v", g, s, ver, err)
				}
			}
		}(g)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("%d search rounds (about %d calls, a sixth failing on purpose), %d of them while the writer ran", calls.Load()/6, calls.Load(), roundsDuringWrites.Load())
	if roundsDuringWrites.Load() < searchers*10 {
		t.Fatalf("only %d search rounds overlapped the writes", roundsDuringWrites.Load())
	}
	if n, err := v.Len(); err != nil || n != stable {
		t.Fatalf("Len after churn = %d, %v; want %d", n, err, stable)
	}
	if err := v.Check(ctx); err != nil {
		t.Fatalf("Check after churn: %v", err)
	}
}

// Close may race with searches: every call returns a result or ErrClosed, never crashes,
// and once Close returned every call says ErrClosed.
func TestCloseWhileSearching(t *testing.T) {
	ctx := context.Background()
	key := mustKey(t)
	v, err := Create(filepath.Join(t.TempDir(), "v"), key, Config{Dim: dim})
	if err != nil {
		t.Fatal(err)
	}
	f := newFaces(43, dim)
	c := f.identity()
	id, err := v.Enroll(f.capture(c), consentFor(t, "x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	probe := f.capture(c)
	var wg sync.WaitGroup
	var found, closed atomic.Int64
	start := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				ms, err := v.Identify(ctx, probe, SearchOptions{Purpose: "identification", K: 1})
				switch {
				case err == nil && len(ms) == 1 && ms[0].ID == id:
					found.Add(1)
				case errors.Is(err, ErrClosed):
					closed.Add(1)
					return
				default:
					t.Errorf("during Close: %+v, %v", ms, err)
					return
				}
			}
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if found.Load() == 0 || closed.Load() != 8 {
		t.Fatalf("found %d, closed %d", found.Load(), closed.Load())
	}
	// Committed by Close.
	v2, err := Open(v.Path(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer v2.Close()
	if ok, _ := v2.Contains(id); !ok {
		t.Fatal("Close did not commit")
	}
}

// syncBuffer is a bytes.Buffer safe for the cleanup goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A Vault dropped without Close is freed by its cleanup, which never commits: the lock is
// released, the uncommitted enrollments are gone, and a warning says how many.
func TestCleanupWarnsAboutDiscardedEnrollmentsAndNeverCommits(t *testing.T) {
	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)

	key := mustKey(t)
	dropped := filepath.Join(t.TempDir(), "dropped")
	closedDir := filepath.Join(t.TempDir(), "closed")
	f := newFaces(47, dim)
	func() {
		v, err := Create(dropped, key, Config{Dim: dim})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if _, err := v.Enroll(f.identity(), consentFor(t, "x"), nil); err != nil {
				t.Fatal(err)
			}
		}
		c, err := Create(closedDir, key, Config{Dim: dim})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Enroll(f.identity(), consentFor(t, "y"), nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "uncommitted=2") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning after GC; logs: %q", logs.String())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 3; i++ { // let the closed vault's cleanup run too
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, dropped) || strings.Contains(out, closedDir) {
		t.Fatalf("want one warning naming %s only, got: %s", dropped, out)
	}
	// The cleanup released the lock and did not commit.
	v, err := Open(dropped, key)
	if err != nil {
		t.Fatalf("reopen after cleanup: %v", err)
	}
	defer v.Close()
	if n, _ := v.Len(); n != 0 {
		t.Fatalf("the cleanup committed %d enrollments", n)
	}
	c, err := Open(closedDir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, _ := c.Len(); n != 1 {
		t.Fatalf("closed vault holds %d", n)
	}
}

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
