/*
 * C reference for benches/cram_md5.rs: CRAM-MD5 handshakes against a sasldb,
 * calling libsasl2 directly.
 *
 * Usage: cram_md5_reference SASLDB_PATH N [WARMUP]
 *
 * Initialises libsasl2 once (outside the timed region), runs WARMUP untimed
 * handshakes, then N timed ones, each on a fresh server and client connection.
 * Per handshake it makes the same libsasl2 calls, in the same order and with the
 * same arguments, as cyrus_sasl::Server/Client do. Every handshake must end with
 * the server authenticating alice@EXAMPLE.TEST, or the program exits with 1.
 * Prints the elapsed nanoseconds of the N timed handshakes on stdout.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sasl/sasl.h>

#define SERVICE "bench"
#define FQDN "localhost"
#define REALM "EXAMPLE.TEST"
#define USER "alice"
#define PASSWORD "secret"
#define EXPECTED_USER USER "@" REALM

static const char *sasldb_path;

/* ---- process-wide: real mutexes and a LOG callback that drops everything ---- */

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

/* ---- per connection: options served through SASL_CB_GETOPT ---- */

struct option {
    const char *key;
    const char *value;
};

/* The server's options: CRAM-MD5 only, secrets from the sasldb. */
static struct option server_options[5];
/* The client's options: mech_list, also served as client_mech_list. */
static const struct option client_options[] = {
    {"client_mech_list", "CRAM-MD5"},
    {"mech_list", "CRAM-MD5"},
    {NULL, NULL},
};

static int getopt_cb(void *context, const char *plugin_name, const char *option, const char **result,
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

static int simple_cb(void *context, int id, const char **result, unsigned *len) {
    (void)context;
    const char *value;
    switch (id) {
    case SASL_CB_AUTHNAME: value = USER; break;
    case SASL_CB_USER: value = ""; break; /* no separate authorization id */
    default: return SASL_BADPARAM;
    }
    if (result == NULL) return SASL_BADPARAM;
    *result = value;
    if (len != NULL) *len = (unsigned)strlen(value);
    return SASL_OK;
}

static sasl_secret_t *secret;

static int pass_cb(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret) {
    (void)conn;
    (void)context;
    if (id != SASL_CB_PASS || psecret == NULL) return SASL_BADPARAM;
    *psecret = secret;
    return SASL_OK;
}

/* libsasl2 stores every callback as int (*)(void); going through void (*)(void)
   keeps -Wcast-function-type quiet. */
typedef int (*cb_fn)(void);
#define CB(f) ((cb_fn)(void (*)(void))(f))

static const sasl_callback_t global_callbacks[] = {
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static const sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), server_options},
    {SASL_CB_LIST_END, NULL, NULL},
};
static const sasl_callback_t client_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), (void *)client_options},
    {SASL_CB_AUTHNAME, CB(simple_cb), NULL},
    {SASL_CB_USER, CB(simple_cb), NULL},
    {SASL_CB_PASS, CB(pass_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static const sasl_security_properties_t sec_props = {
    .min_ssf = 0, .max_ssf = 0, .maxbufsize = 65536, .security_flags = 0,
    .property_names = NULL, .property_values = NULL,
};

static int fail(const char *what, sasl_conn_t *conn, int rc) {
    fprintf(stderr, "cram_md5_reference: %s failed with %d: %s\n", what, rc,
            conn != NULL ? sasl_errdetail(conn) : sasl_errstring(rc, NULL, NULL));
    return 0;
}

/* One complete handshake on fresh connections. Returns 1 on success. */
static int handshake(void) {
    sasl_conn_t *server = NULL, *client = NULL;
    int ok = 0, rc;

    rc = sasl_server_new(SERVICE, FQDN, REALM, NULL, NULL, server_callbacks, 0, &server);
    if (rc != SASL_OK) { fail("sasl_server_new", server, rc); goto out; }
    rc = sasl_setprop(server, SASL_SEC_PROPS, &sec_props);
    if (rc != SASL_OK) { fail("sasl_setprop (server)", server, rc); goto out; }

    const char *mechs;
    unsigned mechs_len;
    int count;
    rc = sasl_listmech(server, NULL, "", " ", "", &mechs, &mechs_len, &count);
    if (rc != SASL_OK) { fail("sasl_listmech", server, rc); goto out; }

    rc = sasl_client_new(SERVICE, FQDN, NULL, NULL, client_callbacks, 0, &client);
    if (rc != SASL_OK) { fail("sasl_client_new", client, rc); goto out; }
    rc = sasl_setprop(client, SASL_SEC_PROPS, &sec_props);
    if (rc != SASL_OK) { fail("sasl_setprop (client)", client, rc); goto out; }

    sasl_interact_t *prompts = NULL;
    const char *out, *mech;
    unsigned out_len;
    rc = sasl_client_start(client, mechs, &prompts, &out, &out_len, &mech);
    if (rc != SASL_OK && rc != SASL_CONTINUE) { fail("sasl_client_start", client, rc); goto out; }

    /* CRAM-MD5 has no initial response: out is NULL here. */
    const char *challenge;
    unsigned challenge_len;
    rc = sasl_server_start(server, mech, out, out == NULL ? 0 : out_len, &challenge, &challenge_len);
    if (rc != SASL_CONTINUE) { fail("sasl_server_start", server, rc); goto out; }

    rc = sasl_client_step(client, challenge, challenge_len, &prompts, &out, &out_len);
    if (rc != SASL_OK && rc != SASL_CONTINUE) { fail("sasl_client_step", client, rc); goto out; }

    const char *additional;
    unsigned additional_len;
    rc = sasl_server_step(server, out, out_len, &additional, &additional_len);
    if (rc != SASL_OK) { fail("sasl_server_step", server, rc); goto out; }

    const void *username, *authuser, *mechname, *ssf;
    if ((rc = sasl_getprop(server, SASL_USERNAME, &username)) != SASL_OK ||
        (rc = sasl_getprop(server, SASL_AUTHUSER, &authuser)) != SASL_OK ||
        (rc = sasl_getprop(server, SASL_MECHNAME, &mechname)) != SASL_OK ||
        (rc = sasl_getprop(server, SASL_SSF, &ssf)) != SASL_OK) {
        fail("sasl_getprop", server, rc);
        goto out;
    }
    if (username == NULL || strcmp(username, EXPECTED_USER) != 0 || mechname == NULL ||
        strcmp(mechname, "CRAM-MD5") != 0 || ssf == NULL || *(const unsigned *)ssf != 0) {
        fprintf(stderr, "cram_md5_reference: unexpected identity %s (authuser %s) mech %s\n",
                username ? (const char *)username : "(null)", authuser ? (const char *)authuser : "(null)",
                mechname ? (const char *)mechname : "(null)");
        goto out;
    }
    ok = 1;
out:
    /* The Rust side drops the client first, then the server. */
    sasl_dispose(&client);
    sasl_dispose(&server);
    return ok;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s SASLDB_PATH N [WARMUP]\n", argv[0]);
        return 2;
    }
    sasldb_path = argv[1];
    long n = strtol(argv[2], NULL, 10);
    long warmup = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    if (n <= 0 || warmup < 0) {
        fprintf(stderr, "N must be positive and WARMUP not negative\n");
        return 2;
    }

    server_options[0] = (struct option){"auxprop_plugin", "sasldb"};
    server_options[1] = (struct option){"mech_list", "CRAM-MD5"};
    server_options[2] = (struct option){"pwcheck_method", "auxprop"};
    server_options[3] = (struct option){"sasldb_path", sasldb_path};
    server_options[4] = (struct option){NULL, NULL};

    size_t pass_len = strlen(PASSWORD);
    secret = calloc(1, sizeof(sasl_secret_t) + pass_len + 1);
    if (secret == NULL) return 1;
    secret->len = pass_len;
    memcpy(secret->data, PASSWORD, pass_len);

    sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
    int rc = sasl_server_init(global_callbacks, "cyrus-sasl-rs");
    if (rc != SASL_OK) return fail("sasl_server_init", NULL, rc), 1;
    rc = sasl_client_init(global_callbacks);
    if (rc != SASL_OK) return fail("sasl_client_init", NULL, rc), 1;

    for (long i = 0; i < warmup; i++)
        if (!handshake()) return 1;

    long long start = now_ns();
    for (long i = 0; i < n; i++)
        if (!handshake()) return 1;
    long long elapsed = now_ns() - start;

    printf("%lld\n", elapsed);
    return 0;
}
