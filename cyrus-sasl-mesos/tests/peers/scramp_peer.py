"""A SCRAM peer built on scramp (an independent SCRAM implementation) over
Python's ssl, for tests/scramp_interop.rs. Run with /usr/bin/python3 and
scramp on PYTHONPATH (ci/install-deps puts it in /opt/cyrus-sasl-rs/python).

Framing on the TLS stream, one line each, ASCII, ending in "\n":
  client -> server   MECHANISM          the mechanism the client chose
  client -> server   BASE64             client-first, later client-final
  server -> client   + BASE64           a challenge (server-first)
  server -> client   ok BASE64          success, with server-final (or empty)
  client -> server   (empty line)       the answer to server-final sent as "+ ..."
  server -> client   no BASE64          refused, with SCRAM's e=... (may be empty)

  client --port P --ca CA.pem --user U --mech M [--capable]
      Connects to 127.0.0.1:P, trusting CA.pem (host name checked against the
      certificate's IP SAN). For a -PLUS mechanism scramp computes the
      tls-server-end-point binding itself from the server's certificate on the
      ssl socket. --capable with a plain mechanism: bind-capable all the same,
      so the gs2 flag is "y". Password: environment SCRAMP_PASSWORD.
  server --cert C.pem --key K.pem --user U --mechs "M1 M2" [--capable]
      Listens on 127.0.0.1 (a free port), prints "listening on 127.0.0.1:PORT",
      serves one connection. scramp computes the tls-server-end-point binding
      from C.pem (with --capable also for a plain mechanism). Password (for U's
      auth info, made with scramp): SCRAMP_PASSWORD.

The last stdout line is the verdict: "authenticated" (exit 0), "refused: ..."
(exit 1) or "error: ..." (exit 2).
"""

import argparse
import base64
import os
import socket
import ssl
import sys

import scramp

CB_TYPE = "tls-server-end-point"


def send(stream, line):
    stream.write(line.encode("ascii") + b"\n")
    stream.flush()


def recv(stream):
    line = stream.readline()
    if not line.endswith(b"\n"):
        raise EOFError("the peer closed the connection")
    return line[:-1].decode("ascii")


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def unb64(text):
    return base64.b64decode(text, validate=True).decode("utf-8")


def verdict(code, line):
    print(line, flush=True)
    sys.exit(code)


def run_client(args, password):
    context = ssl.create_default_context(cafile=args.ca)
    raw = socket.create_connection(("127.0.0.1", args.port), timeout=20)
    tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
    print(f"tls: {tls.version()}", flush=True)
    # --capable: bind-capable client choosing the plain mechanism, which then
    # sends gs2 flag "y" (RFC 5802: it supports binding, thinks the server does not).
    use_binding = args.mech.endswith("-PLUS") or args.capable
    binding = (CB_TYPE, tls) if use_binding else None
    client = scramp.ScramClient([args.mech], args.user, password, channel_binding=binding)
    stream = tls.makefile("rwb")
    send(stream, args.mech)
    send(stream, b64(client.get_client_first()))
    kind, _, data = recv(stream).partition(" ")
    if kind == "no":
        verdict(1, f"refused: {unb64(data)!r}")
    if kind != "+":
        verdict(2, f"error: expected a challenge, got {kind!r}")
    client.set_server_first(unb64(data))
    send(stream, b64(client.get_client_final()))
    kind, _, data = recv(stream).partition(" ")
    if kind == "no":
        verdict(1, f"refused: {unb64(data)!r}")
    if kind not in ("+", "ok"):
        verdict(2, f"error: expected server-final, got {kind!r}")
    try:
        # Checks the server's signature (or raises on e=...).
        client.set_server_final(unb64(data))
    except scramp.ScramException as e:
        verdict(1, f"refused: the server's final message: {e}")
    if kind == "+":
        # A server that cannot send data with its success (libsasl2 without
        # SASL_SUCCESS_DATA) sends server-final as a last challenge; the
        # client answers with an empty response and waits for the outcome.
        send(stream, "")
        kind, _, data = recv(stream).partition(" ")
        if kind != "ok" or data:
            verdict(1, f"refused: after server-final: {kind!r}")
    verdict(0, "authenticated")


def run_server(args, password):
    mechanism = scramp.ScramMechanism("SCRAM-SHA-256")
    auth_info = mechanism.make_auth_info(password, iteration_count=4096)

    def auth_fn(username):
        return auth_info if username == args.user else None

    with open(args.cert) as f:
        cert_pem = f.read()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    print(f"listening on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    raw, _ = listener.accept()
    raw.settimeout(20)
    tls = context.wrap_socket(raw, server_side=True)
    print(f"tls: {tls.version()}", flush=True)
    stream = tls.makefile("rwb")
    mech = recv(stream)
    if mech not in args.mechs.split():
        send(stream, "no ")
        verdict(1, f"refused: mechanism {mech!r} not offered")
    # --capable: bind all the same when the client chose the plain mechanism
    # (a server that offered PLUS and was downgraded by a machine in the middle).
    use_binding = mech.endswith("-PLUS") or args.capable
    binding = (CB_TYPE, cert_pem) if use_binding else None
    server = scramp.ScramMechanism(mech).make_server(auth_fn, channel_binding=binding)
    try:
        server.set_client_first(unb64(recv(stream)))
        send(stream, "+ " + b64(server.get_server_first()))
        server.set_client_final(unb64(recv(stream)))
    except scramp.ScramException as e:
        final = server.get_server_final() if server.error is not None else ""
        send(stream, "no " + b64(final))
        verdict(1, f"refused: {e}")
    send(stream, "ok " + b64(server.get_server_final()))
    verdict(0, "authenticated")


def main():
    parser = argparse.ArgumentParser()
    roles = parser.add_subparsers(dest="role", required=True)
    client = roles.add_parser("client")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--ca", required=True)
    client.add_argument("--user", required=True)
    client.add_argument("--mech", required=True)
    client.add_argument("--capable", action="store_true")
    server = roles.add_parser("server")
    server.add_argument("--cert", required=True)
    server.add_argument("--key", required=True)
    server.add_argument("--user", required=True)
    server.add_argument("--mechs", required=True)
    server.add_argument("--capable", action="store_true")
    args = parser.parse_args()
    password = os.environ["SCRAMP_PASSWORD"]
    print(f"scramp {scramp.__version__}", flush=True)
    try:
        if args.role == "client":
            run_client(args, password)
        else:
            run_server(args, password)
    except (OSError, EOFError, ValueError, scramp.ScramException) as e:
        verdict(2, f"error: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
