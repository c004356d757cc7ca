/*
 * C reference for benches/gssapi_handshake.rs: GSSAPI handshakes as alice to
 * mesos/localhost, calling libsasl2 directly.
 *
 * Usage: gssapi_reference N [WARMUP]
 * Environment: KRB5_CONFIG, KRB5_KTNAME, KRB5CCNAME and KRB5RCACHETYPE naming
 * the test KDC's files (the bench passes them on).
 *
 * Initialises libsasl2 once (outside the timed region), runs WARMUP untimed
 * handshakes, then N timed ones, each on a fresh server and client connection,
 * with the service ticket already in the credential cache after the first. Per
 * handshake it makes the same libsasl2 calls as cyrus_sasl::Server/Client do,
 * with max_ssf 256. Every handshake must end with the server authenticating
 * alice at SSF 256, or the program exits with 1. Prints the elapsed nanoseconds
 * of the N timed handshakes on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

#include "reference.h"

#define SERVICE "mesos"
#define FQDN "localhost"
#define EXPECTED_USER "alice"
#define EXPECTED_SSF 256

/* ---- per connection: options served through SASL_CB_GETOPT ---- */

static const struct option server_options[] = {
    {"mech_list", "GSSAPI"},
    {NULL, NULL},
};
static const struct option client_options[] = {
    {"client_mech_list", "GSSAPI"},
    {"mech_list", "GSSAPI"},
    {NULL, NULL},
};

static const sasl_callback_t global_callbacks[] = {
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
/* Like the Rust side, each connection has its own GETOPT and LOG. */
static const sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), (void *)server_options},
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static const sasl_callback_t client_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), (void *)client_options},
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_AUTHNAME, CB(kerberos_name_cb), NULL},
    {SASL_CB_USER, CB(kerberos_name_cb), NULL},
    {SASL_CB_PASS, NULL, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static const sasl_security_properties_t sec_props = {
    .min_ssf = 0, .max_ssf = 256, .maxbufsize = 65536, .security_flags = 0,
    .property_names = NULL, .property_values = NULL,
};

static int fail(const char *what, sasl_conn_t *conn, int rc) {
    fprintf(stderr, "gssapi_reference: %s failed with %d: %s\n", what, rc,
            conn != NULL ? sasl_errdetail(conn) : sasl_errstring(rc, NULL, NULL));
    return 0;
}

/* One complete handshake on fresh connections. Returns 1 on success. */
static int handshake(void) {
    sasl_conn_t *server = NULL, *client = NULL;
    int ok = 0, rc;

    rc = sasl_server_new(SERVICE, FQDN, NULL, NULL, NULL, server_callbacks, 0, &server);
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

    const char *challenge;
    unsigned challenge_len;
    rc = sasl_server_start(server, mech, out, out == NULL ? 0 : out_len, &challenge, &challenge_len);
    /* GSSAPI: AP-REP, then the security layer offer, then the verdict. */
    while (rc == SASL_CONTINUE) {
        rc = sasl_client_step(client, challenge, challenge_len, &prompts, &out, &out_len);
        if (rc != SASL_OK && rc != SASL_CONTINUE) { fail("sasl_client_step", client, rc); goto out; }
        rc = sasl_server_step(server, out, out_len, &challenge, &challenge_len);
    }
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
        strcmp(mechname, "GSSAPI") != 0 || ssf == NULL || *(const unsigned *)ssf != EXPECTED_SSF) {
        fprintf(stderr, "gssapi_reference: unexpected identity %s (authuser %s) mech %s\n",
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

int main(int argc, char **argv) {
    enter_threaded_mode();
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s N [WARMUP]\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    long warmup = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (n <= 0 || warmup < 0) {
        fprintf(stderr, "N must be positive and WARMUP not negative\n");
        return 2;
    }

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
