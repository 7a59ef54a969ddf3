/* native_loop.c — the benchmark's native reference: the same C ABI calls the binding
 * makes, on the same vault handle and the same probes, timed in a C loop inside the same
 * process (loaded with koffi by bench/bench.mjs, compiled with the system cc at bench
 * time). The fidex functions are reached through the addresses the binding resolved, so
 * both sides call the very same loaded library.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "fidex_cdef.h"

typedef fidex_status (*identify_fn)(const fidex_vault *, const float *, size_t, size_t, fidex_threshold_mode, float,
                                    const char *, size_t, fidex_payloads, fidex_match *, size_t, size_t *, fidex_bytes **,
                                    fidex_error **);
typedef fidex_status (*identify_batch_fn)(const fidex_vault *, const float *, size_t, size_t, fidex_threshold_mode, float,
                                          const char *, size_t, fidex_payloads, fidex_match *, size_t, size_t *, size_t,
                                          fidex_bytes **, fidex_error **);

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Identifies each of the n probes once, writing each call's duration (ns) to out_ns[i].
 * Returns the first non-OK status, or FIDEX_OK. */
uint32_t bench_identify_each(void *fn, const fidex_vault *v, const float *probes, size_t n, size_t dim, size_t k,
                             const char *purpose, size_t purpose_len, fidex_match *scratch, double *out_ns) {
    identify_fn identify = (identify_fn)fn;
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        double t0 = now_ns();
        fidex_status st = identify(v, probes + i * dim, dim, k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, purpose, purpose_len,
                                   FIDEX_PAYLOADS_NONE, scratch, k, &count, NULL, NULL);
        out_ns[i] = now_ns() - t0;
        if (st != FIDEX_OK) return st;
    }
    return FIDEX_OK;
}

/* One batch search of n probes; returns its duration in ns (negative status on failure). */
double bench_identify_batch(void *fn, const fidex_vault *v, const float *probes, size_t n, size_t dim, size_t k,
                            const char *purpose, size_t purpose_len, fidex_match *matches, size_t *counts) {
    identify_batch_fn batch = (identify_batch_fn)fn;
    double t0 = now_ns();
    fidex_status st = batch(v, probes, n * dim, k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, purpose, purpose_len,
                            FIDEX_PAYLOADS_NONE, matches, n * k, counts, n, NULL, NULL);
    double t = now_ns() - t0;
    return st == FIDEX_OK ? t : -(double)st;
}
