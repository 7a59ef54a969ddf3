package fidex

// Benchmarks: single-probe and batch identify at N = 100,000 templates, d = 512, and the
// binding's overhead per call. Run (see README.md, "Benchmarks"):
//
//	go test -tags fidex_bench -run '^$' -bench . -benchtime 3s
//
// With the fidex_bench tag each benchmark also times the very same C call in a C loop
// (native_bench.go) and reports native-ns/op and overhead-ns/op (binding − native). At
// N = 100k a call takes milliseconds and machine noise dwarfs the overhead, so
// BenchmarkCallOverhead measures it on a one-template vault, where the search costs
// little, alternating blocks of binding and native calls so that load drift cancels.
// FIDEX_BENCH_N changes N (test.sh runs a small smoke pass).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

const benchDim = 512

func benchN() int {
	if s := os.Getenv("FIDEX_BENCH_N"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 100_000
}

// benchVault is a vault of n identity-clustered templates (one per identity) with probes:
// new captures of the first identities.
type benchVault struct {
	v      *Vault
	n      int
	probes [][]float32
	ids    []FacialID // ids of the identities the probes are captures of
}

var (
	benchMu     sync.Mutex
	benchVaults = map[int]*benchVault{}
	benchDir    string
)

// TestMain removes the benchmark vaults, which outlive a single benchmark function.
func TestMain(m *testing.M) {
	code := m.Run()
	benchMu.Lock()
	for _, bv := range benchVaults {
		_ = bv.v.Close()
	}
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	benchMu.Unlock()
	os.Exit(code)
}

// getBenchVault builds (once per process) a vault of n templates, enrolled in batches of
// 10,000 with EnrollMany (no duplicate check: the synthetic identities are distinct).
func getBenchVault(b *testing.B, n int) *benchVault {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if bv := benchVaults[n]; bv != nil {
		return bv
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "fidex-go-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	key, err := GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	defer key.Close()
	cfg := Config{Dim: benchDim, NoDuplicateCheck: true}
	if n == 1 {
		// The overhead vault: searched on the calling thread, so that a call's time is not
		// dominated by handing a tiny search to the pool's threads on a loaded machine.
		cfg.SearchThreads = 1
	}
	v, err := Create(filepath.Join(benchDir, fmt.Sprintf("n%d", n)), key, cfg)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	f := newFaces(2024, benchDim)
	bv := &benchVault{v: v, n: n}
	const chunk = 10_000
	var keep [][]float32
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		centres := make([][]float32, m)
		consents := make([][]byte, m)
		for i := range centres {
			centres[i] = f.identity()
			c, err := ExplicitConsent(fmt.Sprintf("bench-%d", done+i), "Bench Corp", "https://bench.example/privacy", allPurposes, start.Add(-time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			consents[i] = c
		}
		ids, err := v.EnrollMany(context.Background(), rows(centres...), consents, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < m && len(keep) < 256; i++ {
			keep = append(keep, centres[i])
			bv.ids = append(bv.ids, ids[i])
		}
	}
	if _, err := v.Commit(); err != nil {
		b.Fatal(err)
	}
	for _, c := range keep {
		bv.probes = append(bv.probes, f.capture(c))
	}
	b.Logf("built a vault of %d × %d templates in %v", n, benchDim, time.Since(start).Round(time.Millisecond))
	benchVaults[n] = bv
	return bv
}

// reportNative times the same work natively (fn runs it `iters` times in C) and reports
// native-ns/op and overhead-ns/op next to the binding's own time per op.
func reportNative(b *testing.B, goPerOp time.Duration, iters int, fn func(iters int) (time.Duration, error)) {
	b.Helper()
	if fn == nil {
		return // built without -tags fidex_bench: the binding's figure only
	}
	total, err := fn(iters)
	if err != nil {
		b.Fatal(err)
	}
	native := float64(total.Nanoseconds()) / float64(iters)
	b.ReportMetric(native, "native-ns/op")
	b.ReportMetric(float64(goPerOp.Nanoseconds())-native, "overhead-ns/op")
}

func BenchmarkIdentify(b *testing.B) {
	for _, n := range []int{benchN()} {
		b.Run(fmt.Sprintf("N=%d/d=%d/k=1", n, benchDim), func(b *testing.B) {
			bv := getBenchVault(b, n)
			ctx := context.Background()
			opts := SearchOptions{Purpose: "identification", K: 1}
			probe := bv.probes[0]
			// The probe is a capture of identity 0: check once that it is found.
			if ms, err := bv.v.Identify(ctx, probe, opts); err != nil || len(ms) != 1 || ms[0].ID != bv.ids[0] {
				b.Fatalf("probe not identified: %+v %v", ms, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := bv.v.Identify(ctx, probe, opts); err != nil {
					b.Fatal(err)
				}
			}
			perOp := time.Since(start) / time.Duration(b.N)
			b.StopTimer()
			reportNative(b, perOp, b.N, func(iters int) (time.Duration, error) {
				if nativeIdentify == nil {
					return 0, nil
				}
				return nativeIdentify(bv.v, probe, opts.Purpose, opts.K, iters)
			})
		})
	}
	if nativeIdentify == nil {
		b.Log("built without -tags fidex_bench: no native figures")
	}
}

func BenchmarkIdentifyBatch(b *testing.B) {
	const batch, k = 100, 10
	for _, n := range []int{benchN()} {
		b.Run(fmt.Sprintf("N=%d/d=%d/batch=%d/k=%d", n, benchDim, batch, k), func(b *testing.B) {
			bv := getBenchVault(b, n)
			ctx := context.Background()
			var ps [][]float32
			for i := 0; i < batch; i++ {
				ps = append(ps, bv.probes[i%len(bv.probes)])
			}
			probes := rows(ps...)
			opts := SearchOptions{Purpose: "identification", K: k}
			res, err := bv.v.IdentifyBatch(ctx, probes, opts)
			if err != nil || len(res) != batch || len(res[0]) == 0 || res[0][0].ID != bv.ids[0] {
				b.Fatalf("batch not identified: %v", err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := bv.v.IdentifyBatch(ctx, probes, opts); err != nil {
					b.Fatal(err)
				}
			}
			perOp := time.Since(start) / time.Duration(b.N)
			b.StopTimer()
			b.ReportMetric(float64(perOp.Nanoseconds())/batch, "ns/probe")
			reportNative(b, perOp, b.N, func(iters int) (time.Duration, error) {
				if nativeIdentifyBatch == nil {
					return 0, nil
				}
				return nativeIdentifyBatch(bv.v, probes, opts.Purpose, k, iters)
			})
		})
	}
}

// BenchmarkCallOverhead is the binding's cost per call: the same identify (single probe,
// and a batch of 100) on a one-template vault, through the binding and in a C loop, in
// 20 alternating blocks; overhead-ns/call is the median of the per-block differences.
// Needs -tags fidex_bench.
func BenchmarkCallOverhead(b *testing.B) {
	if nativeIdentify == nil {
		b.Skip("needs -tags fidex_bench (the native C loop)")
	}
	bv := getBenchVault(b, 1)
	ctx := context.Background()
	probe := bv.probes[0]
	var ps [][]float32
	for i := 0; i < 100; i++ {
		ps = append(ps, probe)
	}
	batch := rows(ps...)
	for _, tc := range []struct {
		name   string
		goCall func() error
		native func(iters int) (time.Duration, error)
	}{
		{"identify/k=1", func() error {
			_, err := bv.v.Identify(ctx, probe, SearchOptions{Purpose: "identification", K: 1})
			return err
		}, func(iters int) (time.Duration, error) { return nativeIdentify(bv.v, probe, "identification", 1, iters) }},
		{"identify_batch/batch=100/k=10", func() error {
			_, err := bv.v.IdentifyBatch(ctx, batch, SearchOptions{Purpose: "identification", K: 10})
			return err
		}, func(iters int) (time.Duration, error) {
			return nativeIdentifyBatch(bv.v, batch, "identification", 10, iters)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const blocks = 20
			per := max(1, b.N/blocks)
			var goNs, nativeNs, diffs []float64
			b.ResetTimer()
			for r := 0; r < blocks; r++ {
				start := time.Now()
				for i := 0; i < per; i++ {
					if err := tc.goCall(); err != nil {
						b.Fatal(err)
					}
				}
				g := float64(time.Since(start).Nanoseconds()) / float64(per)
				d, err := tc.native(per)
				if err != nil {
					b.Fatal(err)
				}
				n := float64(d.Nanoseconds()) / float64(per)
				goNs, nativeNs, diffs = append(goNs, g), append(nativeNs, n), append(diffs, g-n)
			}
			b.StopTimer()
			b.ReportMetric(median(goNs), "ns/op") // the binding's call, not go + native
			b.ReportMetric(median(goNs), "go-ns/call")
			b.ReportMetric(median(nativeNs), "native-ns/call")
			b.ReportMetric(median(diffs), "overhead-ns/call")
		})
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
