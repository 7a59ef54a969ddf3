/*
 * fork.c — a pre-fork server's pattern: the parent opens a vault, searches, then forks
 * workers that keep searching with the inherited handle (Python multiprocessing with the
 * fork start method, gunicorn --preload, celery prefork and Node cluster all do this).
 *
 * Checks, with a real fork():
 *   - the child's first large searches (single probe split across threads, and a batch)
 *     return, and return exactly what the parent got for the same probes;
 *   - the child cannot change the vault through the inherited handle (FIDEX_LOCKED, with a
 *     message that names fork), while the parent still can afterwards;
 *   - a hang would be caught: the child runs under alarm(), the parent waits with a limit.
 *
 * Build:  cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples/c/fork.c \
 *           -Ltarget/release -lfidex -lm -o fork
 * Run:    ./fork [templates]   (default 20000: enough rows to split one scan over threads)
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw, fork */

#include "fidex.h"

#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIM 128
#define K 5
#define BATCH 16

static const char purpose[] = "identification";

static unsigned long long rng_state = 0x2545f4914f6cdd1dULL;

static double uniform(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static void random_unit(float *v) {
    double n = 0;
    int i;
    for (i = 0; i < DIM; i++) {
        v[i] = (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform()));
        n += (double)v[i] * v[i];
    }
    n = sqrt(n);
    for (i = 0; i < DIM; i++) v[i] = (float)(v[i] / n);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* One single-probe search and one batch search; results into `single` and `batch`. */
static fidex_status search(const fidex_vault *v, const float *probes, fidex_match *single, size_t *n_single,
                           fidex_match *batch, size_t *counts, fidex_error **err) {
    fidex_status st = fidex_vault_identify(v, probes, DIM, K, FIDEX_THRESHOLD_EXPLICIT, -1.0f, purpose, strlen(purpose),
                                           FIDEX_PAYLOADS_NONE, single, K, n_single, NULL, err);
    if (st != FIDEX_OK) return st;
    return fidex_vault_identify_batch(v, probes, (size_t)BATCH * DIM, K, FIDEX_THRESHOLD_EXPLICIT, -1.0f, purpose,
                                      strlen(purpose), FIDEX_PAYLOADS_NONE, batch, (size_t)BATCH * K, counts, BATCH,
                                      NULL, err);
}

static void print_error(const char *what, fidex_status st, fidex_error *err) {
    fprintf(stderr, "%s: %u (%s): %s\n", what, (unsigned)st, fidex_status_message(st), fidex_error_message(err));
}

int main(int argc, char **argv) {
    static const char config[] = "{\"dimension\": 128, \"duplicate_threshold\": null}";
    static const char purposes[] = "[\"identification\"]";
    size_t n_templates = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 20000;
    char dir[] = "/tmp/fidex-fork-XXXXXX";
    char path[256];
    fidex_key *key = NULL;
    fidex_vault *vault = NULL;
    fidex_bytes *consent = NULL, *receipt = NULL;
    fidex_error *err = NULL;
    float *templates = NULL, probes[BATCH * DIM];
    char *consents = NULL;
    size_t *offsets = NULL;
    fidex_facial_id *ids = NULL;
    fidex_match single[K], batch[BATCH * K], child_single[K], child_batch[BATCH * K];
    size_t n_single = 0, counts[BATCH], child_n = 0, child_counts[BATCH];
    int pipefd[2] = {-1, -1};
    int ok = 0;
    size_t i, clen;
    fidex_status st;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/vault", dir);
    templates = malloc(n_templates * DIM * sizeof *templates);
    ids = malloc(n_templates * sizeof *ids);
    offsets = malloc((n_templates + 1) * sizeof *offsets);
    if (!templates || !ids || !offsets) goto cleanup;
    for (i = 0; i < n_templates; i++) random_unit(templates + i * DIM);
    for (i = 0; i < BATCH; i++) random_unit(probes + i * DIM);

    if ((st = fidex_key_generate(&key, &err)) != FIDEX_OK ||
        (st = fidex_vault_create(path, strlen(path), key, config, strlen(config), &vault, &err)) != FIDEX_OK ||
        (st = fidex_consent_explicit_json("subject", 7, "Acme", 4, "https://acme.example/p", 22, purposes,
                                          strlen(purposes), (int64_t)time(NULL) - 60, &consent, &err)) != FIDEX_OK) {
        print_error("setup", st, err);
        goto cleanup;
    }
    /* One enroll_many call for every template (each item has its consent; here all the same text). */
    clen = fidex_bytes_len(consent);
    consents = malloc(n_templates * clen + 1);
    if (!consents) goto cleanup;
    for (i = 0; i < n_templates; i++) {
        memcpy(consents + i * clen, fidex_bytes_cstr(consent), clen);
        offsets[i] = i * clen;
    }
    offsets[n_templates] = n_templates * clen;
    st = fidex_vault_enroll_many(vault, templates, n_templates * DIM, consents, n_templates * clen, offsets,
                                 n_templates + 1, NULL, 0, NULL, 0, ids, n_templates, &err);
    if (st == FIDEX_OK) st = fidex_vault_commit(vault, &receipt, &err);
    if (st != FIDEX_OK) {
        print_error("enroll_many + commit", st, err);
        goto cleanup;
    }
    fidex_bytes_free(receipt);
    receipt = NULL;

    /* The parent searches first: this is what used to leave a dead thread pool behind. */
    if ((st = search(vault, probes, single, &n_single, batch, counts, &err)) != FIDEX_OK) {
        print_error("parent search", st, err);
        goto cleanup;
    }
    if (pipe(pipefd) != 0) {
        perror("pipe");
        goto cleanup;
    }
    fflush(NULL);
    {
        pid_t child = fork();
        if (child < 0) {
            perror("fork");
            goto cleanup;
        }
        if (child == 0) {
            /* The child: search with the inherited handle, send the results, try a write. */
            fidex_error *cerr = NULL;
            fidex_facial_id new_id;
            int code = 0;
            alarm(120); /* a hang kills the child instead of the test run */
            close(pipefd[0]);
            st = search(vault, probes, child_single, &child_n, child_batch, child_counts, &cerr);
            if (st != FIDEX_OK) {
                print_error("child search", st, cerr);
                code = 2;
            } else if (write(pipefd[1], &child_n, sizeof child_n) != (ssize_t)sizeof child_n ||
                       write(pipefd[1], child_single, sizeof child_single) != (ssize_t)sizeof child_single ||
                       write(pipefd[1], child_counts, sizeof child_counts) != (ssize_t)sizeof child_counts ||
                       write(pipefd[1], child_batch, sizeof child_batch) != (ssize_t)sizeof child_batch) {
                code = 3;
            }
            fidex_error_free(cerr);
            cerr = NULL;
            st = fidex_vault_enroll(vault, probes, DIM, fidex_bytes_cstr(consent), fidex_bytes_len(consent), NULL, 0,
                                    &new_id, &cerr);
            if (st != FIDEX_LOCKED || strstr(fidex_error_message(cerr), "fork") == NULL) {
                print_error("child enroll (expected FIDEX_LOCKED)", st, cerr);
                code = 4;
            }
            fidex_error_free(cerr);
            close(pipefd[1]);
            /* Leave without running the parent's cleanup (the vault is the parent's). */
            _exit(code);
        }
        close(pipefd[1]);
        pipefd[1] = -1;
        {
            int status = 0;
            int good = read(pipefd[0], &child_n, sizeof child_n) == (ssize_t)sizeof child_n &&
                       read(pipefd[0], child_single, sizeof child_single) == (ssize_t)sizeof child_single &&
                       read(pipefd[0], child_counts, sizeof child_counts) == (ssize_t)sizeof child_counts &&
                       read(pipefd[0], child_batch, sizeof child_batch) == (ssize_t)sizeof child_batch;
            while (waitpid(child, &status, 0) < 0 && errno == EINTR) continue;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "child failed: %s %d\n", WIFSIGNALED(status) ? "signal" : "exit",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                goto cleanup;
            }
            if (!good || child_n != n_single || child_n != K) {
                fprintf(stderr, "child returned %zu matches, parent %zu\n", child_n, n_single);
                goto cleanup;
            }
            if (memcmp(child_single, single, sizeof single) != 0 || memcmp(child_counts, counts, sizeof counts) != 0 ||
                memcmp(child_batch, batch, sizeof batch) != 0) {
                fprintf(stderr, "the child's results differ from the parent's\n");
                goto cleanup;
            }
        }
    }
    /* The parent still owns the vault: it can change it. */
    {
        fidex_facial_id new_id;
        float t[DIM];
        random_unit(t);
        st = fidex_vault_enroll(vault, t, DIM, fidex_bytes_cstr(consent), fidex_bytes_len(consent), NULL, 0, &new_id,
                                &err);
        if (st == FIDEX_OK) st = fidex_vault_close(vault, &err);
        if (st != FIDEX_OK) {
            print_error("parent enroll after fork", st, err);
            goto cleanup;
        }
    }
    printf("fork: child searched %zu templates with the inherited handle (single + batch of %d), same results as "
           "the parent; child writes refused\n",
           n_templates, BATCH);
    ok = 1;

cleanup:
    if (pipefd[0] >= 0) close(pipefd[0]);
    if (pipefd[1] >= 0) close(pipefd[1]);
    fidex_error_free(err);
    fidex_bytes_free(receipt);
    fidex_bytes_free(consent);
    fidex_vault_free(vault);
    fidex_key_free(key);
    free(templates);
    free(consents);
    free(offsets);
    free(ids);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("fork example: %s\n", ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
