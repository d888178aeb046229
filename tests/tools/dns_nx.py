#!/usr/bin/python3
"""A loopback DNS stub that answers every query NXDOMAIN (name does not exist).

Tests point kesm at it (kesm serve --nameserver 127.0.0.1:PORT) so that documentation names such
as abc3.xyz.com fail to resolve without any query leaving the machine.

usage: dns_nx.py --port-file F [--lifetime SECONDS]
Writes the UDP port it listens on (127.0.0.1) to F; logs one line per query on stderr.
"""
import argparse
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        s.settimeout(max(0.1, end - time.monotonic()))
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            break
        if len(q) < 12:
            continue
        # header: same id, QR=1, opcode copied, RD copied, RA=1, RCODE=3; the question echoed
        flags = 0x8000 | (q[2] & 0x79) << 8 | 0x80 | 3
        qd = int.from_bytes(q[4:6], "big")
        # the question section ends after the first name + 4 bytes (qtype, qclass)
        i = 12
        while i < len(q) and q[i] != 0:
            i += q[i] + 1
        i += 5
        r = q[0:2] + flags.to_bytes(2, "big") + qd.to_bytes(2, "big") + b"\0\0\0\0\0\0" + q[12:i]
        s.sendto(r, peer)
        print("NXDOMAIN %r" % q[13:i - 5], file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
