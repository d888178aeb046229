#!/usr/bin/python3
"""hostile_peer.py: a misbehaving "broker" on 127.0.0.1 for the net/ integration tests.

usage: hostile_peer.py MODE PORTFILE [LIFETIME_S]
Binds 127.0.0.1 on a free port, writes the port to PORTFILE, and serves every connection in
MODE until LIFETIME_S (default 30) pass. It prints one line per connection ("conn N") on stdout.
Modes:
  huge       read one request frame, answer with a 2 GB frame size prefix and a few bytes
  halfstall  read one request frame, answer with half a frame, then say nothing more
  midclose   read one request frame, answer with half a frame, then close
  garbage    answer whatever arrives (a TLS ClientHello) with an HTTP error page, then close
  silent     accept and never answer
  bigframe   read one request frame, answer with a whole frame of HOSTILE_FRAME_MB MiB (default
             40; zeros after the correlation id, sent as fast as the client reads), then wait
             for the client to close; many such connections at once test a memory budget
"""
import os
import socket
import struct
import sys
import threading
import time

mode, portfile = sys.argv[1], sys.argv[2]
lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 30.0
deadline = time.time() + lifetime


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_frame(conn):
    hdr = read_exact(conn, 4)
    if hdr is None:
        return None
    (size,) = struct.unpack(">i", hdr)
    return read_exact(conn, size)


def answer_half(conn, frame):
    corr = frame[4:8]  # api key, version, then the correlation id
    body = corr + b"\x00\x00" + b"\x00" * 200
    whole = struct.pack(">i", len(body)) + body
    conn.sendall(whole[: len(whole) // 2])


ZEROS = b"\x00" * (1 << 20)


def answer_big(conn, frame):
    size = int(os.environ.get("HOSTILE_FRAME_MB", "40")) << 20
    conn.sendall(struct.pack(">i", size) + frame[4:8])
    left = size - 4
    while left > 0:
        n = min(left, len(ZEROS))
        conn.sendall(ZEROS[:n])
        left -= n


def serve(conn):
    conn.settimeout(max(1.0, deadline - time.time()))
    try:
        if mode == "garbage":
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif mode == "silent":
            while time.time() < deadline and conn.recv(4096):
                pass
        else:
            frame = read_frame(conn)
            if frame is None:
                return
            if mode == "huge":
                conn.sendall(struct.pack(">i", 0x7FFFFFFF) + frame[4:8] + b"\x00" * 16)
                while time.time() < deadline and conn.recv(4096):
                    pass
            elif mode == "halfstall":
                answer_half(conn, frame)
                while time.time() < deadline and conn.recv(4096):
                    pass
            elif mode == "midclose":
                answer_half(conn, frame)
            elif mode == "bigframe":
                answer_big(conn, frame)
                while time.time() < deadline and conn.recv(4096):
                    pass
    except OSError:
        pass
    finally:
        conn.close()


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
srv.settimeout(0.2)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
n = 0
while time.time() < deadline:
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        continue
    n += 1
    print("conn", n, flush=True)
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
srv.close()
