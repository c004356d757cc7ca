/*
 * C reference for benches/cram_md5.rs: CRAM-MD5 handshakes calling libsasl2
 * directly, against a sasldb or against a minimal in-memory auxprop plugin.
 *
 * Usage: cram_md5_reference sasldb SASLDB_PATH N [WARMUP]
 *        cram_md5_reference memory N [WARMUP]
 *
 * Initialises libsasl2 once (outside the timed region), runs WARMUP untimed
 * handshakes, then N timed ones, each on a fresh server and client connection.
 * Per handshake it makes the same libsasl2 calls, in the same order and with the
 * same arguments, as cyrus_sasl::Server/Client do, and registers the same
 * callbacks (GETOPT and LOG on both connections; AUTHNAME, USER and PASS on the
 * client). Every handshake must end with the server authenticating
 * alice@EXAMPLE.TEST, or the program exits with 1. Prints the elapsed
 * nanoseconds of the N timed handshakes on stdout.
 *
 * In "memory" mode the secret comes from the auxprop plugin below, registered
 * with sasl_auxprop_add_plugin after sasl_server_init and selected per
 * connection with auxprop_plugin, as the crate's own Rust plugin
 * (src/auxprop.rs) is: it answers userPassword with prop_set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>
#include <sasl/prop.h>

#include "reference.h"

#define SERVICE "bench"
#define FQDN "localhost"
#define REALM "EXAMPLE.TEST"
#define USER "alice"
#define PASSWORD "secret"
#define EXPECTED_USER USER "@" REALM

static const char *sasldb_path;

/* ---- the in-memory auxprop plugin: one table, answers userPassword ---- */

#define MEMORY_PLUGIN "in-memory"

struct credential {
    const char *principal;
    const char *secret;
};

/* The store: principals without a realm, as the Rust CredentialStore holds them. */
static const struct credential store[] = {
    {USER, PASSWORD},
    {NULL, NULL},
};

static const struct credential *find_credential(const char *name, size_t len) {
    for (const struct credential *c = store; c->principal != NULL; c++)
        if (strlen(c->principal) == len && memcmp(c->principal, name, len) == 0) return c;
    return NULL;
}

/* The length of user without the "@realm" libsasl2 appended: the user realm
   exactly, or the FQDN without regard to case when there is no user realm. */
static size_t strip_realm(const char *user, size_t len, const char *realm, const char *fqdn) {
    const char *at = NULL;
    for (size_t i = len; i > 0; i--)
        if (user[i - 1] == '@') { at = user + i - 1; break; }
    if (at == NULL) return len;
    const char *suffix = at + 1;
    size_t suffix_len = len - (size_t)(suffix - user);
    int appended;
    if (realm != NULL && realm[0] != '\0')
        appended = strlen(realm) == suffix_len && memcmp(realm, suffix, suffix_len) == 0;
    else
        appended = fqdn != NULL && strlen(fqdn) == suffix_len && strncasecmp(fqdn, suffix, suffix_len) == 0;
    return appended ? (size_t)(at - user) : len;
}

static int memory_lookup(void *glob_context, sasl_server_params_t *sparams, unsigned flags, const char *user,
                         unsigned ulen) {
    (void)glob_context;
    if (sparams == NULL || user == NULL) return SASL_BADPARAM;
    int authzid_pass = (flags & SASL_AUXPROP_AUTHZID) != 0;
    int overwrite = (flags & SASL_AUXPROP_OVERRIDE) != 0;
    size_t name_len = strip_realm(user, ulen, sparams->user_realm, sparams->serverFQDN);
    int result = SASL_OK;
    for (const struct propval *p = prop_get(sparams->propctx); p != NULL && p->name != NULL; p++) {
        /* The authid pass asks for "*userPassword", the authzid pass for "userPassword". */
        const char *name = p->name;
        int wanted = name[0] == '*' ? !authzid_pass && strcmp(name + 1, SASL_AUX_PASSWORD_PROP) == 0
                                    : authzid_pass && strcmp(name, SASL_AUX_PASSWORD_PROP) == 0;
        if (!wanted || (p->values != NULL && !overwrite)) continue;
        if (p->values != NULL) prop_erase(sparams->propctx, p->name);
        const struct credential *c = find_credential(user, name_len);
        if (c == NULL) {
            sparams->utils->seterror(sparams->utils->conn, SASL_NOLOG, "no credentials for user '%.*s'", (int)ulen,
                                     user);
            result = SASL_NOUSER;
            break;
        }
        result = prop_set(sparams->propctx, p->name, c->secret, (int)strlen(c->secret));
        if (result != SASL_OK) break;
    }
    return result;
}

static sasl_auxprop_plug_t memory_plugin = {
    .features = 0,
    .spare_int1 = 0,
    .glob_context = NULL,
    .auxprop_free = NULL,
    .auxprop_lookup = memory_lookup,
    .name = MEMORY_PLUGIN,
    .auxprop_store = NULL,
};

static int memory_plugin_init(const sasl_utils_t *utils, int max_version, int *out_version,
                              sasl_auxprop_plug_t **plug, const char *plugname) {
    (void)utils;
    (void)plugname;
    if (out_version == NULL || plug == NULL) return SASL_BADPARAM;
    if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
    *out_version = SASL_AUXPROP_PLUG_VERSION;
    *plug = &memory_plugin;
    return SASL_OK;
}

/* ---- per connection: options served through SASL_CB_GETOPT ---- */

/* The server's options, in the order the Rust configs hold them: CRAM-MD5
   only, secrets from the sasldb or from the in-memory plugin. */
static struct option server_options[5];
/* The client's options: mech_list, also served as client_mech_list. */
static const struct option client_options[] = {
    {"client_mech_list", "CRAM-MD5"},
    {"mech_list", "CRAM-MD5"},
    {NULL, NULL},
};

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
static const sasl_callback_t global_callbacks[] = {
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
/* Like the Rust side, each connection has its own GETOPT and LOG. */
static const sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), server_options},
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static const sasl_callback_t client_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), (void *)client_options},
    {SASL_CB_LOG, CB(log_cb), NULL},
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

static int usage(const char *argv0) {
    fprintf(stderr, "usage: %s sasldb SASLDB_PATH N [WARMUP]\n       %s memory N [WARMUP]\n", argv0, argv0);
    return 2;
}

int main(int argc, char **argv) {
    enter_threaded_mode();
    if (argc < 2) return usage(argv[0]);
    int memory = strcmp(argv[1], "memory") == 0;
    if (!memory && strcmp(argv[1], "sasldb") != 0) return usage(argv[0]);
    int first = memory ? 2 : 3; /* index of N */
    if (argc < first + 1 || argc > first + 2) return usage(argv[0]);
    long n = strtol(argv[first], NULL, 10);
    long warmup = argc == first + 2 ? strtol(argv[first + 1], NULL, 10) : 0;
    if (n <= 0 || warmup < 0) {
        fprintf(stderr, "N must be positive and WARMUP not negative\n");
        return 2;
    }

    if (memory) {
        /* The order of Config::new().with("mech_list", ..).with_credential_store(..). */
        server_options[0] = (struct option){"mech_list", "CRAM-MD5"};
        server_options[1] = (struct option){"auxprop_plugin", MEMORY_PLUGIN};
        server_options[2] = (struct option){"pwcheck_method", "auxprop"};
        server_options[3] = (struct option){NULL, NULL};
    } else {
        /* The order of Sasldb::config().with("mech_list", ..). */
        sasldb_path = argv[2];
        server_options[0] = (struct option){"pwcheck_method", "auxprop"};
        server_options[1] = (struct option){"auxprop_plugin", "sasldb"};
        server_options[2] = (struct option){"sasldb_path", sasldb_path};
        server_options[3] = (struct option){"mech_list", "CRAM-MD5"};
        server_options[4] = (struct option){NULL, NULL};
    }

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
    /* The crate registers its plugin at init too, in both modes. */
    rc = sasl_auxprop_add_plugin(MEMORY_PLUGIN, memory_plugin_init);
    if (rc != SASL_OK) return fail("sasl_auxprop_add_plugin", NULL, rc), 1;

    for (long i = 0; i < warmup; i++)
        if (!handshake()) return 1;

    long long start = now_ns();
    for (long i = 0; i < n; i++)
        if (!handshake()) return 1;
    long long elapsed = now_ns() - start;

    printf("%lld\n", elapsed);
    return 0;
}
