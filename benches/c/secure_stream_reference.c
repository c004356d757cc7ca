/*
 * C reference for benches/secure_stream.rs: the GSSAPI security layer at
 * SSF 256, calling libsasl2 directly.
 *
 * Usage: secure_stream_reference BYTES
 *
 * Initialises libsasl2, warms up (the whole run below, untimed, with at most
 * 4 MiB), then authenticates a client to a server in this process with
 * GSSAPI (service mesos, host localhost; the Kerberos environment comes from
 * KRB5_CONFIG, KRB5_KTNAME, KRB5CCNAME and KRB5RCACHETYPE), with min_ssf 0,
 * max_ssf 256 and maxbufsize 65536 on both sides, and requires SSF 256. None of
 * that is timed. Then, timed:
 *
 *   encode  the client encodes BYTES of data, SASL_MAXOUTBUF bytes per
 *           sasl_encode call, appending each packet to an in-memory wire buffer;
 *   decode  the server walks the wire buffer one frame at a time: it reads the
 *           4-byte big-endian length, checks it against its maxbufsize, copies
 *           header and body into a frame buffer, passes the whole frame to
 *           sasl_decode, and copies the plaintext to the receive buffer.
 *
 * That is the work cyrus_sasl::SecureStream does writing into a Vec<u8> and
 * reading from a &[u8] (the Rust side of the benchmark). The received data must
 * equal what was sent, or the program exits with 1.
 *
 * Prints "ENCODE_NS DECODE_NS WIRE_BYTES" on stdout.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>

#include "reference.h"

#define SERVICE "mesos"
#define HOST "localhost"
#define MAXBUFSIZE 65536u
/* Untimed bytes through a first pair of connections. */
#define WARMUP_BYTES (4u << 20)

static const struct option options[] = {
    {"mech_list", "GSSAPI"},
    {"client_mech_list", "GSSAPI"},
    {NULL, NULL},
};

static const sasl_callback_t global_callbacks[] = {
    {SASL_CB_LOG, CB(log_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static const sasl_callback_t server_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), (void *)options},
    {SASL_CB_LIST_END, NULL, NULL},
};
static const sasl_callback_t client_callbacks[] = {
    {SASL_CB_GETOPT, CB(getopt_cb), (void *)options},
    {SASL_CB_AUTHNAME, CB(kerberos_name_cb), NULL},
    {SASL_CB_USER, CB(kerberos_name_cb), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static const sasl_security_properties_t sec_props = {
    .min_ssf = 0, .max_ssf = 256, .maxbufsize = MAXBUFSIZE, .security_flags = 0,
    .property_names = NULL, .property_values = NULL,
};

static int fail(const char *what, sasl_conn_t *conn, int rc) {
    fprintf(stderr, "secure_stream_reference: %s failed with %d: %s\n", what, rc,
            conn != NULL ? sasl_errdetail(conn) : sasl_errstring(rc, NULL, NULL));
    return 1;
}

/* Authenticates client to server in process. Returns 0 on success. */
static int handshake(sasl_conn_t *client, sasl_conn_t *server) {
    sasl_interact_t *prompts = NULL;
    const char *out, *mech, *challenge;
    unsigned out_len, challenge_len;
    int crc = sasl_client_start(client, "GSSAPI", &prompts, &out, &out_len, &mech);
    if (crc != SASL_OK && crc != SASL_CONTINUE) return fail("sasl_client_start", client, crc);
    int src = sasl_server_start(server, mech, out, out == NULL ? 0 : out_len, &challenge, &challenge_len);
    while (src == SASL_CONTINUE) {
        crc = sasl_client_step(client, challenge, challenge_len, &prompts, &out, &out_len);
        if (crc != SASL_OK && crc != SASL_CONTINUE) return fail("sasl_client_step", client, crc);
        src = sasl_server_step(server, out, out_len, &challenge, &challenge_len);
    }
    if (src != SASL_OK) return fail("sasl_server_step", server, src);
    return 0;
}

struct result {
    long long encode_ns, decode_ns;
    size_t wire_len;
};

/* One handshake on fresh connections, then encode and decode of data[..total].
   Returns 0 on success. */
static int run(const unsigned char *data, size_t total, struct result *result) {
    sasl_conn_t *server = NULL, *client = NULL;
    int rc = sasl_server_new(SERVICE, HOST, NULL, NULL, NULL, server_callbacks, 0, &server);
    if (rc != SASL_OK) return fail("sasl_server_new", server, rc);
    if ((rc = sasl_setprop(server, SASL_SEC_PROPS, &sec_props)) != SASL_OK) return fail("sasl_setprop", server, rc);
    rc = sasl_client_new(SERVICE, HOST, NULL, NULL, client_callbacks, 0, &client);
    if (rc != SASL_OK) return fail("sasl_client_new", client, rc);
    if ((rc = sasl_setprop(client, SASL_SEC_PROPS, &sec_props)) != SASL_OK) return fail("sasl_setprop", client, rc);
    if (handshake(client, server) != 0) return 1;

    const void *value;
    if ((rc = sasl_getprop(client, SASL_SSF, &value)) != SASL_OK) return fail("sasl_getprop", client, rc);
    if (*(const unsigned *)value != 256) return fprintf(stderr, "SSF %u, not 256\n", *(const unsigned *)value), 1;
    if ((rc = sasl_getprop(client, SASL_MAXOUTBUF, &value)) != SASL_OK) return fail("sasl_getprop", client, rc);
    unsigned maxoutbuf = *(const unsigned *)value;

    unsigned char *received = malloc(total);
    size_t wire_cap = total + (total / maxoutbuf + 1) * 256;
    unsigned char *wire = malloc(wire_cap), *frame = malloc(4 + MAXBUFSIZE);
    if (!received || !wire || !frame) return fprintf(stderr, "out of memory\n"), 1;
    /* Touch every page first, as the Rust side's buffers are, outside the clock. */
    memset(wire, 0, wire_cap);
    memset(received, 0, total);

    long long t0 = now_ns();
    size_t wire_len = 0;
    for (size_t at = 0; at < total;) {
        size_t n = total - at < maxoutbuf ? total - at : maxoutbuf;
        const char *out;
        unsigned out_len;
        rc = sasl_encode(client, (const char *)data + at, (unsigned)n, &out, &out_len);
        if (rc != SASL_OK) return fail("sasl_encode", client, rc);
        if (wire_len + out_len > wire_cap) return fprintf(stderr, "wire buffer too small\n"), 1;
        memcpy(wire + wire_len, out, out_len);
        wire_len += out_len;
        at += n;
    }
    long long t1 = now_ns();
    size_t got = 0;
    for (size_t at = 0; at < wire_len;) {
        if (wire_len - at < 4) return fprintf(stderr, "truncated header\n"), 1;
        uint32_t len;
        memcpy(&len, wire + at, 4);
        len = ntohl(len);
        if (len == 0 || len > MAXBUFSIZE) return fprintf(stderr, "bad frame length %u\n", len), 1;
        if (wire_len - at < 4 + (size_t)len) return fprintf(stderr, "truncated frame\n"), 1;
        memcpy(frame, wire + at, 4 + (size_t)len);
        at += 4 + (size_t)len;
        const char *out;
        unsigned out_len;
        rc = sasl_decode(server, (const char *)frame, 4 + len, &out, &out_len);
        if (rc != SASL_OK) return fail("sasl_decode", server, rc);
        if (got + out_len > total) return fprintf(stderr, "too much plaintext\n"), 1;
        memcpy(received + got, out, out_len);
        got += out_len;
    }
    long long t2 = now_ns();

    if (got != total || memcmp(received, data, total) != 0) {
        fprintf(stderr, "secure_stream_reference: the decoded data differs from the data sent\n");
        return 1;
    }
    *result = (struct result){.encode_ns = t1 - t0, .decode_ns = t2 - t1, .wire_len = wire_len};
    sasl_dispose(&client);
    sasl_dispose(&server);
    free(received);
    free(wire);
    free(frame);
    return 0;
}

int main(int argc, char **argv) {
    enter_threaded_mode();
    if (argc != 2) {
        fprintf(stderr, "usage: %s BYTES\n", argv[0]);
        return 2;
    }
    size_t total = strtoul(argv[1], NULL, 10);
    if (total == 0) return fprintf(stderr, "BYTES must be positive\n"), 2;

    sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
    int rc = sasl_server_init(global_callbacks, "cyrus-sasl-rs");
    if (rc != SASL_OK) return fail("sasl_server_init", NULL, rc);
    rc = sasl_client_init(global_callbacks);
    if (rc != SASL_OK) return fail("sasl_client_init", NULL, rc);

    /* The same data as the Rust side: byte i is (i * 31 + i / 65536) mod 256. */
    unsigned char *data = malloc(total);
    if (data == NULL) return fprintf(stderr, "out of memory\n"), 1;
    for (size_t i = 0; i < total; i++) data[i] = (unsigned char)(i * 31 + i / 65536);

    /* Warm up on a first pair of connections (libsasl2, krb5, the allocator),
       as the Rust side does with an untimed round; then time a fresh pair. */
    struct result warm, timed;
    if (run(data, total < WARMUP_BYTES ? total : WARMUP_BYTES, &warm) != 0) return 1;
    if (run(data, total, &timed) != 0) return 1;
    printf("%lld %lld %zu\n", timed.encode_ns, timed.decode_ns, timed.wire_len);
    free(data);
    return 0;
}
