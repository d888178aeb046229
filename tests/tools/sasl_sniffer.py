#!/usr/bin/env python3
"""sasl_sniffer.py: a listener that poses as a Kafka broker just far enough to be offered SASL
credentials, for tests/integration/serve_attacks.sh (the cleartext-relay attempt).

Usage: sasl_sniffer.py PORTFILE CAPTUREFILE LIFETIME_S

It listens on 127.0.0.1 (port written to PORTFILE), answers ApiVersions (error 35 to v3+, so
the client falls back to v0, then a v0 list offering every API kesm needs), SaslHandshake v1
(PLAIN and SCRAM offered) and records every byte each client sends to CAPTUREFILE, so a test can
tell whether a password arrived. It never answers SaslAuthenticate. Loopback only; exits after
LIFETIME_S seconds."""
import socket
import struct
import sys
import threading
import time

portfile, capture, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])
lock = threading.Lock()


def record(data):
    with lock, open(capture, "ab") as f:
        f.write(data)


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def frame(corr, body):
    payload = struct.pack(">i", corr) + body
    return struct.pack(">i", len(payload)) + payload


def api_versions(version):
    if version >= 3:
        return struct.pack(">hi", 35, 1) + struct.pack(">hhh", 18, 0, 2)
    keys = list(range(0, 37))
    body = struct.pack(">hi", 0, len(keys))
    for k in keys:
        top = {17: 1, 36: 0, 18: 2}.get(k, 12)
        body += struct.pack(">hhh", k, 0, top)
    if version >= 1:
        body += struct.pack(">i", 0)
    return body


def handshake():
    mechs = [b"PLAIN", b"SCRAM-SHA-256", b"SCRAM-SHA-512"]
    body = struct.pack(">hi", 0, len(mechs))
    for m in mechs:
        body += struct.pack(">h", len(m)) + m
    return body


def serve(conn):
    try:
        while True:
            size = struct.unpack(">i", read_exact(conn, 4))[0]
            req = read_exact(conn, size)
            record(req)
            key, version, corr = struct.unpack(">hhi", req[:8])
            if key == 18:
                conn.sendall(frame(corr, api_versions(version)))
            elif key == 17:
                conn.sendall(frame(corr, handshake()))
            # anything else (SaslAuthenticate included) is recorded and left unanswered
    except (EOFError, OSError):
        pass
    finally:
        conn.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
srv.settimeout(0.2)
open(capture, "wb").close()
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
end = time.time() + lifetime
while time.time() < end:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
