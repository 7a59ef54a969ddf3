/*
 * threads.c — many threads search one vault while another thread enrolls and deletes.
 *
 * A fidex_vault handle is internally synchronized: no locking is needed in the app.
 * READERS threads each run 1:N identifications of known people and check the answer;
 * one writer thread enrolls new people and deletes every other one (each deletion
 * commits and returns a signed receipt). At the end the main thread closes the vault
 * while the readers are still running: they see FIDEX_CLOSED and stop.
 *
 * Errors belong to the call that failed: every round, each reader also makes two calls
 * that fail in a way only that reader and round produce (a NaN at component
 * `reader * 7 + round`, an unknown purpose named after the reader) and checks that the
 * error object it got back names exactly that component and that purpose.
 *
 * Build:  cc -std=c99 -Wall -Wextra -Werror -pedantic -pthread -Iinclude \
 *           examples/c/threads.c -Ltarget/release -lfidex -lm -o threads
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */

#include "fidex.h"

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIM 64
#define KNOWN 16
#define EXTRA 24
#define READERS 8
#define MIN_ROUNDS 25

static const char purpose[] = "identification";

/* ---- synthetic faces (a per-caller generator: threads must not share one) ---------- */

typedef struct {
    unsigned long long s;
} rng;

static double uniform(rng *r) {
    r->s = r->s * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

static float gauss(rng *r) {
    return (float)(sqrt(-2.0 * log(uniform(r))) * cos(6.283185307179586 * uniform(r)));
}

static void normalise(float *v) {
    double n = 0;
    int i;
    for (i = 0; i < DIM; i++) n += (double)v[i] * v[i];
    n = sqrt(n);
    for (i = 0; i < DIM; i++) v[i] = (float)(v[i] / n);
}

static void identity(rng *r, float *c) {
    int i;
    for (i = 0; i < DIM; i++) c[i] = gauss(r);
    normalise(c);
}

static void capture(rng *r, const float *c, float *out) {
    int i;
    for (i = 0; i < DIM; i++) out[i] = c[i] + 0.5f / 8.0f * gauss(r);
    normalise(out);
}

/* ---- shared state: read-only after setup; per-thread results read after join ------- */

static float known[KNOWN][DIM];
static fidex_facial_id known_ids[KNOWN];
static fidex_vault *vault;

typedef struct {
    int index;
    int rounds;       /* identifications that returned FIDEX_OK */
    int wrong;        /* of which the best match was not the right person */
    int saw_closed;   /* ended because the vault was closed */
    int errors_checked; /* deliberate failures whose error object named this call's cause */
    int errors_wrong;   /* deliberate failures that came back with someone else's error */
    fidex_status error;
} reader_result;

/* Makes two calls that fail with a cause only this reader and round produce, and checks
 * that each call's own error object reports that cause. */
static void check_own_errors(reader_result *res, const float *probe) {
    float bad[DIM];
    char want[64], wrong_purpose[32];
    fidex_match m[1];
    size_t n = 0;
    fidex_error *err = NULL;
    int component = (res->index * 7 + res->rounds) % DIM;
    fidex_status st;
    memcpy(bad, probe, sizeof bad);
    bad[component] = nanf("");
    st = fidex_vault_identify(vault, bad, DIM, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, purpose, strlen(purpose),
                              FIDEX_PAYLOADS_NONE, m, 1, &n, NULL, &err);
    snprintf(want, sizeof want, "component %d ", component);
    if (st == FIDEX_NON_FINITE_VALUE && err != NULL && fidex_error_code(err) == st &&
        strstr(fidex_error_message(err), want) != NULL)
        res->errors_checked++;
    else if (st != FIDEX_CLOSED)
        res->errors_wrong++;
    fidex_error_free(err);
    err = NULL;
    snprintf(wrong_purpose, sizeof wrong_purpose, "purpose-of-reader-%d", res->index);
    st = fidex_vault_identify(vault, probe, DIM, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, wrong_purpose,
                              strlen(wrong_purpose), FIDEX_PAYLOADS_NONE, m, 1, &n, NULL, &err);
    if (st == FIDEX_UNKNOWN_PURPOSE && err != NULL && strstr(fidex_error_message(err), wrong_purpose) != NULL)
        res->errors_checked++;
    else if (st != FIDEX_CLOSED)
        res->errors_wrong++;
    fidex_error_free(err);
}

static pthread_mutex_t progress_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress_cond = PTHREAD_COND_INITIALIZER;
static int readers_at_min = 0;
static int writer_done = 0;

/* After its first MIN_ROUNDS, a reader waits up to 2 ms between searches. Without this,
 * eight readers searching back to back starve the writer and the closing main thread where
 * all threads share one core (valgrind runs every thread on one; so do small CI machines):
 * each of the writer's 36 commits, and the close, then wait behind thousands of searches.
 * The readers still search throughout the writer's enrollments and deletions, and keep
 * going until the close. */
static void pace(void) {
    struct timespec pause = {0, 2000000L};
    nanosleep(&pause, NULL);
}

static void *reader(void *arg) {
    reader_result *res = arg;
    rng r;
    float probe[DIM];
    fidex_match m[3];
    size_t n;
    r.s = 1000u + (unsigned)res->index;
    for (;;) {
        int who = (res->index * 5 + res->rounds) % KNOWN;
        fidex_status st;
        capture(&r, known[who], probe);
        st = fidex_vault_identify(vault, probe, DIM, 3, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, purpose,
                                  strlen(purpose), FIDEX_PAYLOADS_NONE, m, 3, &n, NULL, NULL);
        if (st == FIDEX_CLOSED) {
            res->saw_closed = 1;
            break;
        }
        if (st != FIDEX_OK) {
            pthread_mutex_lock(&progress_lock); /* main reads `error` while we run */
            res->error = st;
            pthread_cond_broadcast(&progress_cond);
            pthread_mutex_unlock(&progress_lock);
            break;
        }
        if (n == 0 || memcmp(&m[0].facial_id, &known_ids[who], sizeof m[0].facial_id) != 0) res->wrong++;
        check_own_errors(res, probe);
        if (++res->rounds == MIN_ROUNDS) {
            pthread_mutex_lock(&progress_lock);
            readers_at_min++;
            pthread_cond_broadcast(&progress_cond);
            pthread_mutex_unlock(&progress_lock);
        }
        if (res->rounds >= MIN_ROUNDS) pace(); /* keep searching, but leave the others room */
    }
    return NULL;
}

static fidex_status enroll(const float *t, const char *consent, size_t consent_len, fidex_facial_id *id) {
    return fidex_vault_enroll(vault, t, DIM, consent, consent_len, NULL, 0, id, NULL);
}

typedef struct {
    const char *consent;
    size_t consent_len;
    fidex_status error;
    int enrolled, deleted;
} writer_state;

static void *writer(void *arg) {
    writer_state *w = arg;
    rng r;
    float t[DIM];
    int i;
    r.s = 77;
    for (i = 0; i < EXTRA; i++) {
        fidex_facial_id id;
        fidex_bytes *receipt = NULL;
        identity(&r, t);
        w->error = enroll(t, w->consent, w->consent_len, &id);
        if (w->error != FIDEX_OK) break;
        w->enrolled++;
        if (i % 2 == 0) {
            w->error = fidex_vault_delete(vault, &id, FIDEX_DELETION_ADMIN, &receipt, NULL);
            fidex_bytes_free(receipt);
            if (w->error != FIDEX_OK) break;
            w->deleted++;
        }
    }
    pthread_mutex_lock(&progress_lock);
    writer_done = 1;
    pthread_cond_broadcast(&progress_cond);
    pthread_mutex_unlock(&progress_lock);
    return NULL;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void report(const char *what, fidex_status st) {
    fprintf(stderr, "%s: %u (%s)\n", what, (unsigned)st, fidex_status_message(st));
}

int main(void) {
    static const char config[] = "{\"dimension\": 64, \"duplicate_threshold\": null}";
    static const char purposes[] = "[\"identification\"]";
    char dir[] = "/tmp/fidex-threads-XXXXXX";
    char path[256];
    fidex_key *key = NULL;
    fidex_bytes *consent = NULL, *stats = NULL;
    pthread_t readers[READERS], wthread;
    reader_result res[READERS];
    writer_state w;
    rng r;
    uint64_t len = 0;
    int i, ok = 1, started = 0, wstarted = 0;
    fidex_status st;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/vault", dir);
    if ((st = fidex_key_generate(&key, NULL)) != FIDEX_OK ||
        (st = fidex_vault_create(path, strlen(path), key, config, strlen(config), &vault, NULL)) != FIDEX_OK ||
        (st = fidex_consent_explicit_json("subject", 7, "Acme", 4, "https://acme.example/p", 22, purposes,
                                          strlen(purposes), (int64_t)time(NULL) - 60, &consent, NULL)) != FIDEX_OK) {
        report("setup", st);
        ok = 0;
        goto cleanup;
    }
    r.s = 1;
    for (i = 0; i < KNOWN; i++) {
        float t[DIM];
        identity(&r, known[i]);
        capture(&r, known[i], t);
        if ((st = enroll(t, fidex_bytes_cstr(consent), fidex_bytes_len(consent), &known_ids[i])) != FIDEX_OK) {
            report("enroll", st);
            ok = 0;
            goto cleanup;
        }
    }

    memset(res, 0, sizeof res);
    memset(&w, 0, sizeof w);
    w.consent = fidex_bytes_cstr(consent);
    w.consent_len = fidex_bytes_len(consent);
    for (i = 0; i < READERS; i++) {
        res[i].index = i;
        if (pthread_create(&readers[i], NULL, reader, &res[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            ok = 0;
            break;
        }
        started++;
    }
    if (ok && pthread_create(&wthread, NULL, writer, &w) == 0) wstarted = 1;

    /* Let the writer finish and every reader do at least MIN_ROUNDS searches, then close
     * the vault under the readers' feet: close waits for searches in progress. */
    pthread_mutex_lock(&progress_lock);
    while (ok && wstarted && (!writer_done || readers_at_min < started)) {
        int stopped = 0;
        for (i = 0; i < started; i++) stopped += res[i].error != FIDEX_OK;
        if (stopped) break;
        pthread_cond_wait(&progress_cond, &progress_lock);
    }
    pthread_mutex_unlock(&progress_lock);

    if (wstarted) pthread_join(wthread, NULL);
    if ((st = fidex_vault_len(vault, &len, NULL)) != FIDEX_OK) report("len", st);
    if ((st = fidex_vault_stats(vault, &stats, NULL)) == FIDEX_OK) printf("stats: %s\n", fidex_bytes_cstr(stats));
    st = fidex_vault_close(vault, NULL);
    if (st != FIDEX_OK) {
        report("close", st);
        ok = 0;
    }
    for (i = 0; i < started; i++) pthread_join(readers[i], NULL);

    if (!wstarted || w.error != FIDEX_OK) {
        report("writer", w.error);
        ok = 0;
    }
    for (i = 0; i < started; i++) {
        printf("reader %d: %d identifications, %d wrong, %d own errors checked, %d foreign, ended by %s\n", i,
               res[i].rounds, res[i].wrong, res[i].errors_checked, res[i].errors_wrong,
               res[i].saw_closed ? "FIDEX_CLOSED" : fidex_status_message(res[i].error));
        if (!res[i].saw_closed || res[i].wrong != 0 || res[i].rounds < MIN_ROUNDS || res[i].errors_wrong != 0 ||
            res[i].errors_checked < 2 * MIN_ROUNDS)
            ok = 0;
    }
    printf("writer: %d enrolled, %d deleted; vault holds %llu templates\n", w.enrolled, w.deleted,
           (unsigned long long)len);
    if (len != (uint64_t)(KNOWN + w.enrolled - w.deleted)) ok = 0;
    printf("threads example: %s\n", ok ? "OK" : "FAILED");

cleanup:
    fidex_bytes_free(stats);
    fidex_bytes_free(consent);
    fidex_vault_free(vault);
    fidex_key_free(key);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ok ? 0 : 1;
}
