#!/usr/bin/python3
# One-shot raw Fetch v4 (non-flexible) against a broker; writes the Records bytes of one
# partition to a file. usage: fetch.py HOST:PORT TOPIC PARTITION OFFSET OUTFILE
import socket, struct, sys
hp, topic, part, off, outf = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
host, port = hp.rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=10)
def kstr(x): b = x.encode(); return struct.pack('>h', len(b)) + b
body = struct.pack('>iiiib', -1, 100, 1, 1 << 20, 0)
body += struct.pack('>i', 1) + kstr(topic) + struct.pack('>i', 1) + struct.pack('>iqi', part, off, 1 << 20)
hdr = struct.pack('>hhi', 1, 4, 7) + kstr('h2cap')
req = hdr + body
s.sendall(struct.pack('>i', len(req)) + req)
def recvn(n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise SystemExit('eof')
        b += c
    return b
n, = struct.unpack('>i', recvn(4))
r = recvn(n)
pos = 0
def take(fmt):
    global pos
    v = struct.unpack_from(fmt, r, pos); pos += struct.calcsize(fmt); return v
corr, thr = take('>ii')
nt, = take('>i')
assert nt == 1
tl, = take('>h'); pos += tl
np_, = take('>i')
pid, err, hw, lso = take('>ihqq')
na, = take('>i')
pos += max(na, 0) * 16
rl, = take('>i')
recs = r[pos:pos + rl]
assert err == 0, err
open(outf, 'wb').write(recs)
print('partition', pid, 'err', err, 'hw', hw, 'records', rl)
