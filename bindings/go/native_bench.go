//go:build fidex_bench

package fidex

// The native side of the benchmarks (go test -tags fidex_bench -bench .): the same
// identify call timed in a C loop, without cgo, so that the benchmarks can report the
// binding's overhead per call next to the native figure. Not built into the package
// otherwise. (cgo cannot be used in _test.go files, hence a build-tagged file.)

/*
#include <time.h>
#include "fidex.h"

// Runs identify `iters` times and returns the elapsed nanoseconds, or minus the status of
// the first failing call.
static int64_t fidex_go_bench_identify(const fidex_vault *v, const float *probe, size_t len, size_t k,
                                       const char *purpose, size_t purpose_len, int64_t iters) {
    fidex_match m[16];
    size_t n = 0;
    struct timespec a, b;
    if (k > 16) return -1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int64_t i = 0; i < iters; i++) {
        fidex_status st = fidex_vault_identify(v, probe, len, k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, purpose,
                                               purpose_len, FIDEX_PAYLOADS_NONE, m, 16, &n, NULL, NULL);
        if (st != FIDEX_OK) return -(int64_t)st;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}

// The same for identify_batch (results into a caller buffer of n * k matches).
static int64_t fidex_go_bench_identify_batch(const fidex_vault *v, const float *probes, size_t len, size_t n_probes,
                                             size_t k, const char *purpose, size_t purpose_len, fidex_match *out,
                                             size_t *counts, int64_t iters) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int64_t i = 0; i < iters; i++) {
        fidex_status st = fidex_vault_identify_batch(v, probes, len, k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, purpose,
                                                     purpose_len, FIDEX_PAYLOADS_NONE, out, n_probes * k, counts,
                                                     n_probes, NULL, NULL);
        if (st != FIDEX_OK) return -(int64_t)st;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
}
*/
import "C"

import (
	"runtime"
	"time"
)

func init() {
	nativeIdentify = func(v *Vault, probe []float32, purpose string, k, iters int) (time.Duration, error) {
		ns := C.fidex_go_bench_identify(v.ptr, floatPtr(probe), C.size_t(len(probe)), C.size_t(k), strPtr(purpose),
			C.size_t(len(purpose)), C.int64_t(iters))
		runtime.KeepAlive(probe)
		runtime.KeepAlive(purpose)
		runtime.KeepAlive(v)
		if ns < 0 {
			return 0, &Error{Op: "native identify loop", Code: Code(-ns), Item: -1}
		}
		return time.Duration(ns), nil
	}
	nativeIdentifyBatch = func(v *Vault, probes []float32, purpose string, k, iters int) (time.Duration, error) {
		n := len(probes) / v.dim
		out := make([]C.fidex_match, n*k)
		counts := make([]C.size_t, n)
		ns := C.fidex_go_bench_identify_batch(v.ptr, floatPtr(probes), C.size_t(len(probes)), C.size_t(n), C.size_t(k),
			strPtr(purpose), C.size_t(len(purpose)), &out[0], &counts[0], C.int64_t(iters))
		runtime.KeepAlive(probes)
		runtime.KeepAlive(purpose)
		runtime.KeepAlive(out)
		runtime.KeepAlive(counts)
		runtime.KeepAlive(v)
		if ns < 0 {
			return 0, &Error{Op: "native identify_batch loop", Code: Code(-ns), Item: -1}
		}
		return time.Duration(ns), nil
	}
}
