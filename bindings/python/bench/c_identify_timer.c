/* c_identify_timer.c: times fidex_vault_identify called directly from C on a 1-template
 * vault, the baseline for the Python per-call overhead in compare.py (same library, same
 * header as the Python package: the bundled fidex_cdef.h).
 *
 * Usage: c_identify_timer VAULT_DIR DIM CALLS K   -> prints "median_ns p90_ns" */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fidex_cdef.h"

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

#define CHECK(call) do { fidex_error *e_ = NULL; (void)e_; if ((call) != FIDEX_OK) { \
    fprintf(stderr, "%s failed\n", #call); return 1; } } while (0)

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s VAULT_DIR DIM CALLS K\n", argv[0]); return 2; }
    const char *dir = argv[1];
    size_t dim = (size_t)atol(argv[2]), calls = (size_t)atol(argv[3]), k = (size_t)atol(argv[4]);
    char config[128];
    snprintf(config, sizeof config, "{\"dimension\": %zu, \"duplicate_threshold\": null}", dim);
    fidex_key *key = NULL; fidex_vault *vault = NULL; fidex_bytes *consent = NULL;
    CHECK(fidex_key_generate(&key, NULL));
    CHECK(fidex_vault_create(dir, strlen(dir), key, config, strlen(config), &vault, NULL));
    const char *subj = "s", *ctl = "Acme", *url = "https://acme.example/p", *purp = "[\"identification\"]";
    CHECK(fidex_consent_explicit_json(subj, 1, ctl, 4, url, strlen(url), purp, strlen(purp),
                                      (int64_t)time(NULL) - 60, &consent, NULL));
    float *v = calloc(dim, sizeof *v);
    v[0] = 1.0f;
    fidex_facial_id id;
    CHECK(fidex_vault_enroll(vault, v, dim, fidex_bytes_cstr(consent), fidex_bytes_len(consent), NULL, 0, &id, NULL));
    fidex_match *m = calloc(k, sizeof *m);
    long long *t = calloc(calls, sizeof *t);
    size_t n = 0;
    for (size_t i = 0; i < calls / 10 + 10; i++) /* warm-up */
        CHECK(fidex_vault_identify(vault, v, dim, k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, "identification", 14,
                                   FIDEX_PAYLOADS_NONE, m, k, &n, NULL, NULL));
    for (size_t i = 0; i < calls; i++) {
        fidex_error *err = NULL; /* as the binding does: an error out-parameter on every call */
        long long t0 = now_ns();
        fidex_status st = fidex_vault_identify(vault, v, dim, k, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, "identification",
                                               14, FIDEX_PAYLOADS_NONE, m, k, &n, NULL, &err);
        t[i] = now_ns() - t0;
        if (st != FIDEX_OK || n != 1) { fprintf(stderr, "identify failed\n"); return 1; }
    }
    qsort(t, calls, sizeof *t, cmp);
    printf("%lld %lld\n", t[calls / 2], t[calls * 9 / 10]);
    fidex_vault_free(vault); /* nothing to commit: a scratch vault */
    fidex_bytes_free(consent); fidex_key_free(key); free(v); free(m); free(t);
    return 0;
}
