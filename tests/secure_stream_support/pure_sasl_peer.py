# An independent SASL GSSAPI client for tests/secure_stream.rs: pure-sasl
# (Debian python3-pure-sasl, over python3-kerberos), which frames nothing
# itself. Run as: /usr/bin/python3 -c SCRIPT PORT QOP (QOP: auth-conf or auth-int).
#
# 1. Connects to 127.0.0.1:PORT and authenticates as alice; each handshake token
#    travels as a 4-byte big-endian length and the token.
# 2. Sends MESSAGES through the security layer, each wrapped by GSS-API and
#    framed as RFC 4422 section 3.7 says: a 4-byte big-endian length, then the
#    wrapped token. One message is empty. (pure-sasl 0.5.1's own wrap() hands
#    python3-kerberos bytes where it wants str and fails on Python 3, so wrap()
#    below makes the same call with the right type.)
# 3. Reads frames back until it has unwrapped as many bytes as it sent, checks
#    they are the same, and prints "echo-ok BYTES".
import base64
import socket
import struct
import sys

import kerberos
from puresasl import QOP
from puresasl.client import SASLClient

MESSAGES = [b"hello from pure-sasl", b"", b"0123456789" * 6000, b"!"]


def send(sock, data):
    sock.sendall(struct.pack(">I", len(data)) + data)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("end of stream after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def recv(sock):
    (n,) = struct.unpack(">I", recv_exact(sock, 4))
    return recv_exact(sock, n)


def wrap(client, data):
    mech = client._chosen_mech
    protect = 1 if mech.qop == QOP.AUTH_CONF else 0
    kerberos.authGSSClientWrap(mech.context, base64.b64encode(data).decode("ascii"), None, protect)
    return base64.b64decode(kerberos.authGSSClientResponse(mech.context))


port, qop = int(sys.argv[1]), sys.argv[2].encode()
sock = socket.create_connection(("127.0.0.1", port), timeout=30)
client = SASLClient("localhost", "mesos", mechanism="GSSAPI", authorization_id="alice", qops=[qop])
send(sock, client.process())
while not client.complete:
    send(sock, client.process(recv(sock)))

for message in MESSAGES:
    send(sock, wrap(client, message))

expected = b"".join(MESSAGES)
echoed = b""
while len(echoed) < len(expected):
    echoed += client.unwrap(recv(sock))
if echoed != expected:
    sys.exit("the echo differs from what was sent")
print("echo-ok", len(echoed))
