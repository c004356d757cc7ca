/*
 * What the C references of benches/ share: the process-wide set-up that
 * cyrus_sasl does too (real mutexes, a LOG callback that drops everything), a
 * monotonic clock, and the threading mode both sides of a comparison run in.
 */
#ifndef CYRUS_SASL_BENCH_REFERENCE_H
#define CYRUS_SASL_BENCH_REFERENCE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sasl/sasl.h>

static void *mutex_alloc(void) {
    pthread_mutex_t *m = malloc(sizeof *m);
    if (m != NULL) pthread_mutex_init(m, NULL);
    return m;
}
static int mutex_lock(void *m) { return pthread_mutex_lock(m) == 0 ? SASL_OK : SASL_FAIL; }
static int mutex_unlock(void *m) { return pthread_mutex_unlock(m) == 0 ? SASL_OK : SASL_FAIL; }
static void mutex_free(void *m) {
    pthread_mutex_destroy(m);
    free(m);
}

static int log_cb(void *context, int level, const char *message) {
    (void)context;
    (void)level;
    (void)message;
    return SASL_OK;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A `sasl_callback_t` procedure: libsasl2 stores every callback as int (*)(void). */
typedef int (*cb_fn)(void);
#define CB(f) ((cb_fn)(void (*)(void))(f))

/* Per-connection options, served by getopt_cb from a table ended by {NULL, NULL}. */
struct option {
    const char *key;
    const char *value;
};

/* SASL_CB_GETOPT over the table in `context`, as the crate's Config serves it. */
static inline int getopt_cb(void *context, const char *plugin_name, const char *option, const char **result,
                            unsigned *len) {
    (void)plugin_name;
    if (option == NULL || result == NULL) return SASL_BADPARAM;
    for (const struct option *o = context; o->key != NULL; o++) {
        if (strcmp(o->key, option) == 0) {
            *result = o->value;
            if (len != NULL) *len = (unsigned)strlen(o->value);
            return SASL_OK;
        }
    }
    return SASL_FAIL; /* fall back to libsasl2's process-wide options */
}

/* SASL_CB_AUTHNAME and SASL_CB_USER for Kerberos: no name of our own, the
   ticket in KRB5CCNAME is the credential. */
static inline int kerberos_name_cb(void *context, int id, const char **result, unsigned *len) {
    (void)context;
    if ((id != SASL_CB_AUTHNAME && id != SASL_CB_USER) || result == NULL) return SASL_BADPARAM;
    *result = "";
    if (len != NULL) *len = 0;
    return SASL_OK;
}

static void *idle_thread(void *arg) { return arg; }

/*
 * Starts and joins one thread, so this process runs the way every Rust side
 * does (the benches' harness and the two-thread measurement start threads,
 * and so does any server): glibc's malloc switches for good to its
 * multi-threaded paths (arena locks, atomic operations) once a process has had
 * a second thread. Measured under callgrind, that switch alone costs the
 * GSSAPI reference about 39,000 instructions per handshake (2.3%), more than
 * the whole remaining difference between the two sides. benches/support/mod.rs
 * does the same on the Rust side.
 */
static void enter_threaded_mode(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, idle_thread, NULL) != 0 || pthread_join(thread, NULL) != 0) {
        fprintf(stderr, "cannot start a thread\n");
        exit(1);
    }
}

#endif
