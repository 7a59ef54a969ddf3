/*
 * login.c — a face-login flow through the fidex C ABI.
 *
 *   create a vault → enroll two users with explicit consent → identify (1:N) →
 *   verify (1:1) → delete one user with a signed receipt → verify that receipt offline
 *   with the published verification key → show that a tampered receipt is rejected.
 *
 * Face embeddings come from a face model in a real app; here they are synthetic,
 * seeded "identity-clustered" unit vectors (each person a random centre, each capture the
 * centre plus a little noise).
 *
 * Build (see examples/run.sh):  cc -std=c99 -Wall -Wextra -Werror -pedantic \
 *   -Iinclude examples/c/login.c -Ltarget/release -lfidex -o login
 * Run:  ./login [vault-directory]   (default: a fresh temporary directory)
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */

#include "fidex.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIM 128

/* ---- error reporting ------------------------------------------------------------- */

/* Prints the failed call, its status and the detailed message of that call's error object
 * (every fallible fidex function takes `fidex_error **` last), then frees the error. */
static void report(const char *what, fidex_status st, fidex_error *err) {
    fprintf(stderr, "%s failed: %u (%s)\n", what, (unsigned)st, fidex_status_message(st));
    if (err != NULL) fprintf(stderr, "  detail: %s\n", fidex_error_message(err));
    fidex_error_free(err);
}

/* Every fidex call in this file goes through CHECK, with `&err` as its last argument: on
 * failure, report and clean up. `err` is NULL after a successful call. */
#define CHECK(call)                     \
    do {                                \
        fidex_status st_ = (call);      \
        if (st_ != FIDEX_OK) {          \
            report(#call, st_, err);    \
            err = NULL;                 \
            goto cleanup;               \
        }                               \
    } while (0)

#define EXPECT(cond)                                                         \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: expectation failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                        \
            goto cleanup;                                                    \
        }                                                                    \
    } while (0)

/* ---- synthetic faces --------------------------------------------------------------- */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static double uniform(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static float gauss(void) {
    return (float)(sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform()));
}

static void normalise(float *v) {
    double n = 0;
    int i;
    for (i = 0; i < DIM; i++) n += (double)v[i] * v[i];
    n = sqrt(n);
    for (i = 0; i < DIM; i++) v[i] = (float)(v[i] / n);
}

static void identity(float *centre) {
    int i;
    for (i = 0; i < DIM; i++) centre[i] = gauss();
    normalise(centre);
}

static void capture(const float *centre, float *out) {
    int i;
    const float noise = 0.5f / sqrtf((float)DIM);
    for (i = 0; i < DIM; i++) out[i] = centre[i] + noise * gauss();
    normalise(out);
}

/* ---- temporary directory ----------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- the login flow ---------------------------------------------------------------- */

static fidex_status enroll(const fidex_vault *vault, const float *template_, const char *subject,
                           fidex_facial_id *out_id, fidex_error **err) {
    static const char purposes[] = "[\"authentication\", \"identification\"]";
    static const char controller[] = "Acme Corp";
    static const char policy[] = "https://acme.example/privacy";
    fidex_bytes *consent = NULL;
    fidex_status st = fidex_consent_explicit_json(subject, strlen(subject), controller, strlen(controller),
                                                  policy, strlen(policy), purposes, strlen(purposes),
                                                  (int64_t)time(NULL) - 60, &consent, err);
    if (st != FIDEX_OK) return st;
    /* The payload is the app's own user reference, stored encrypted with the template. */
    st = fidex_vault_enroll(vault, template_, DIM, fidex_bytes_cstr(consent), fidex_bytes_len(consent),
                            (const uint8_t *)subject, strlen(subject), out_id, err);
    fidex_bytes_free(consent);
    return st;
}

int main(int argc, char **argv) {
    static const char config[] = "{\"dimension\": 128, \"match_threshold\": 0.6}";
    static const char ident[] = "identification";
    static const char auth[] = "authentication";
    char tmpdir[] = "/tmp/fidex-login-XXXXXX";
    char path[4096];
    int ok = 0, made_tmp = 0;
    fidex_key *key = NULL;
    fidex_vault *vault = NULL;
    fidex_error *err = NULL;
    fidex_bytes *receipt = NULL, *vk = NULL, *text = NULL, *consent = NULL;
    char *tampered = NULL;
    float alice[DIM], bob[DIM], probe[DIM], bad[DIM];
    fidex_facial_id alice_id, bob_id;
    fidex_match matches[3];
    size_t n = 0, i;
    fidex_verification v;
    fidex_receipt_kind kind = 0;
    char id_text[FIDEX_FACIAL_ID_TEXT_LEN + 1];
    fidex_status st;

    /* Header and library must agree. */
    {
        char want[32];
        snprintf(want, sizeof want, "%d.%d.%d", FIDEX_VERSION_MAJOR, FIDEX_VERSION_MINOR, FIDEX_VERSION_PATCH);
        EXPECT(strcmp(want, fidex_version()) == 0);
        EXPECT(FIDEX_VERSION_NUMBER == FIDEX_VERSION_MAJOR * 1000000 + FIDEX_VERSION_MINOR * 1000 + FIDEX_VERSION_PATCH);
        printf("fidex %s\n", fidex_version());
    }

    if (argc > 1) {
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        if (mkdtemp(tmpdir) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        made_tmp = 1;
        snprintf(path, sizeof path, "%s/vault", tmpdir);
    }

    /* 1. A key only the app holds, and a vault under it. */
    CHECK(fidex_key_generate(&key, &err));
    CHECK(fidex_key_fingerprint(key, &text, &err));
    printf("key fingerprint: %s\n", fidex_bytes_cstr(text));
    fidex_bytes_free(text);
    text = NULL;
    CHECK(fidex_vault_create(path, strlen(path), key, config, strlen(config), &vault, &err));

    /* 2. Enroll two users, each with explicit consent. */
    identity(alice);
    identity(bob);
    capture(alice, probe);
    CHECK(enroll(vault, probe, "alice", &alice_id, &err));
    CHECK(fidex_facial_id_to_text(&alice_id, id_text, sizeof id_text, &err));
    printf("enrolled alice as %s\n", id_text);
    CHECK(fidex_vault_verification_key(vault, &vk, &err));
    printf("published verification key: %s\n", fidex_bytes_cstr(vk));
    capture(bob, probe);
    CHECK(enroll(vault, probe, "bob", &bob_id, &err));
    /* Receipts sign committed state only: none before the commit. */
    EXPECT(fidex_vault_enrollment_receipt(vault, &alice_id, &receipt, NULL) == FIDEX_NOT_COMMITTED);
    EXPECT(receipt == NULL);
    CHECK(fidex_vault_commit(vault, &text, &err));
    printf("commit: %s\n", fidex_bytes_cstr(text));
    fidex_bytes_free(text);
    text = NULL;
    CHECK(fidex_vault_enrollment_receipt(vault, &alice_id, &receipt, &err));
    CHECK(fidex_receipt_verify(fidex_bytes_cstr(receipt), fidex_bytes_len(receipt), fidex_bytes_cstr(vk),
                               fidex_bytes_len(vk), &kind, &err));
    EXPECT(kind == FIDEX_RECEIPT_ENROLLMENT);
    printf("alice's enrollment receipt verifies: her consent is provably on record\n");
    fidex_bytes_free(receipt);
    receipt = NULL;

    /* 3. 1:N identification: who is this? */
    capture(alice, probe);
    CHECK(fidex_vault_identify(vault, probe, DIM, 3, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, ident, strlen(ident),
                               FIDEX_PAYLOADS_NONE, matches, 3, &n, NULL, &err));
    EXPECT(n >= 1 && memcmp(&matches[0].facial_id, &alice_id, sizeof alice_id) == 0);
    printf("identify: %zu match(es), best score %.3f (alice)\n", n, matches[0].score);
    for (i = 1; i < n; i++) EXPECT(matches[i].score <= matches[0].score);

    /* 4. 1:1 verification: is this alice? and is bob alice? */
    CHECK(fidex_vault_verify(vault, &alice_id, probe, DIM, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, auth, strlen(auth), &v, &err));
    EXPECT(v.matched);
    printf("verify alice as alice: score %.3f ≥ %.2f → matched\n", v.score, v.threshold);
    capture(bob, probe);
    CHECK(fidex_vault_verify(vault, &alice_id, probe, DIM, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, auth, strlen(auth), &v, &err));
    EXPECT(!v.matched);
    printf("verify bob as alice: score %.3f → rejected\n", v.score);

    /* 5. Errors carry a code and a detailed message; out-params stay untouched. */
    memcpy(bad, probe, sizeof bad);
    bad[7] = nanf("");
    n = 12345;
    st = fidex_vault_identify(vault, bad, DIM, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, ident, strlen(ident),
                              FIDEX_PAYLOADS_NONE, matches, 3, &n, NULL, &err);
    EXPECT(st == FIDEX_NON_FINITE_VALUE && n == 12345);
    EXPECT(err != NULL && fidex_error_code(err) == FIDEX_NON_FINITE_VALUE);
    EXPECT(strstr(fidex_error_message(err), "component 7") != NULL);
    printf("NaN probe refused: %s\n", fidex_error_message(err));
    fidex_error_free(err);
    err = NULL;
    EXPECT(fidex_vault_enroll(vault, probe, DIM, NULL, 0, NULL, 0, &bob_id, NULL) == FIDEX_NO_CONSENT);

    /* 5b. A login in one call: identify returns the matches' payloads (the app's user
     *     reference) read under the same lock as the search. */
    {
        fidex_bytes *payloads = NULL;
        capture(bob, probe);
        CHECK(fidex_vault_identify(vault, probe, DIM, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, ident, strlen(ident),
                                   FIDEX_PAYLOADS_INCLUDE, matches, 3, &n, &payloads, &err));
        EXPECT(n == 1 && matches[0].payload_len == 3);
        EXPECT(memcmp(fidex_bytes_data(payloads) + matches[0].payload_offset, "bob", 3) == 0);
        printf("login: matched user \"%.*s\" in one call\n", (int)matches[0].payload_len,
               (const char *)fidex_bytes_data(payloads) + matches[0].payload_offset);
        fidex_bytes_free(payloads);
    }

    /* 6. Alice asks to be forgotten: delete with a signed receipt. */
    CHECK(fidex_vault_delete(vault, &alice_id, FIDEX_DELETION_SUBJECT_REQUEST, &receipt, &err));
    printf("deletion receipt: %zu bytes of JSON\n", fidex_bytes_len(receipt));
    capture(alice, probe);
    CHECK(fidex_vault_identify(vault, probe, DIM, 3, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, ident, strlen(ident),
                               FIDEX_PAYLOADS_NONE, matches, 3, &n, NULL, &err));
    for (i = 0; i < n; i++) EXPECT(memcmp(&matches[i].facial_id, &alice_id, sizeof alice_id) != 0);

    /* 7. Anyone holding the published key verifies the receipt offline (no vault needed). */
    kind = 0;
    CHECK(fidex_receipt_verify(fidex_bytes_cstr(receipt), fidex_bytes_len(receipt), fidex_bytes_cstr(vk),
                               fidex_bytes_len(vk), &kind, &err));
    EXPECT(kind == FIDEX_RECEIPT_DELETION);
    printf("deletion receipt verifies with the published key\n");

    /* 8. A tampered receipt (the deletion time changed by one second) is rejected. */
    {
        const char *at;
        size_t len = fidex_bytes_len(receipt);
        tampered = malloc(len + 1);
        EXPECT(tampered != NULL);
        memcpy(tampered, fidex_bytes_cstr(receipt), len + 1);
        at = strstr(tampered, "\"deleted_at\": ");
        EXPECT(at != NULL);
        at += strlen("\"deleted_at\": ");
        {
            char *digit = tampered + (at - tampered) + strcspn(at, ",") - 1;
            *digit = (char)(*digit == '9' ? '8' : *digit + 1);
        }
        st = fidex_receipt_verify(tampered, len, fidex_bytes_cstr(vk), fidex_bytes_len(vk), &kind, NULL);
        EXPECT(st == FIDEX_VERIFICATION_FAILED);
        printf("tampered receipt rejected: %s\n", fidex_status_message(st));
    }

    /* 9. Close (commits), then the handle only answers FIDEX_CLOSED. */
    CHECK(fidex_vault_close(vault, &err));
    EXPECT(fidex_vault_close(vault, NULL) == FIDEX_CLOSED);
    EXPECT(fidex_vault_identify(vault, probe, DIM, 1, FIDEX_THRESHOLD_VAULT_DEFAULT, 0.0f, ident, strlen(ident),
                                FIDEX_PAYLOADS_NONE, matches, 3, &n, NULL, NULL) == FIDEX_CLOSED);
    ok = 1;
    printf("login example: OK\n");

cleanup:
    fidex_error_free(err);
    free(tampered);
    fidex_bytes_free(consent);
    fidex_bytes_free(text);
    fidex_bytes_free(receipt);
    fidex_bytes_free(vk);
    fidex_vault_free(vault);
    fidex_key_free(key);
    if (made_tmp) nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return ok ? 0 : 1;
}
