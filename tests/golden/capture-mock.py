#!/usr/bin/python3
# capture-mock.py OUTDIR: records librdkafka 2.0.2 mock responses for tests/golden/.
# Starts build/kmock (1 broker, topic cap:1, 3 records in partition 0), sends hand-built
# requests (written here from the Kafka JSON schemas, client id "kesm-capture") over one
# connection, and writes each request and response frame (size prefix included) as
# OUTDIR/<api>_<req|resp>_v<N>[_suffix].bin. Needs `make build/kmock`. The kmock is bounded by
# -l 60 and stopped with `quit`.
import socket, struct, subprocess, sys, os
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
km = subprocess.Popen([os.path.join(ROOT, 'build', 'kmock'), '-b', '1', '-t', 'cap:1', '-l', '60'],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
boot = km.stdout.readline().split()[1]
host, port = boot.split(',')[0].split(':')
def cmd(c):
    km.stdin.write(c + '\n'); km.stdin.flush(); return km.stdout.readline().strip()
print(cmd('produce cap 3 partition=0 value=hello'), file=sys.stderr)
s = socket.create_connection((host, int(port)), timeout=10)
corr = [100]
def s16(x): return struct.pack('>h', len(x)) + x
def req(key, ver, body):
    corr[0] += 1
    hdr = struct.pack('>hhi', key, ver, corr[0]) + s16(b'kesm-capture')
    f = hdr + body
    s.sendall(struct.pack('>i', len(f)) + f)
    n = struct.unpack('>i', recvn(4))[0]
    resp = recvn(n)
    assert struct.unpack('>i', resp[:4])[0] == corr[0]
    return struct.pack('>i', len(f)) + f, struct.pack('>i', n) + resp
def recvn(n):
    b = b''
    while len(b) < n:
        x = s.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
names = {18: 'api_versions', 3: 'metadata', 10: 'find_coordinator', 2: 'list_offsets', 0: 'produce'}
def save(key, ver, body, suffix=''):
    q, r = req(key, ver, body)
    base = '%s/%s_%%s_v%d%s.bin' % (OUT, names[key], ver, suffix)
    open(base % 'req', 'wb').write(q); open(base % 'resp', 'wb').write(r)
    print(names[key], ver, suffix, r[8:].hex(), file=sys.stderr)
for v in (0, 1, 2):
    save(18, v, b'')
save(3, 1, struct.pack('>i', -1), '_all')
save(3, 1, struct.pack('>i', 1) + s16(b'cap'))
for v in (0, 1, 2):
    save(10, v, s16(b'capgroup') + (b'\x00' if v >= 1 else b''))
for v in (1, 2, 3, 4, 5):
    b = struct.pack('>i', -1) + (b'\x00' if v >= 2 else b'') + struct.pack('>i', 1) + s16(b'cap') + struct.pack('>ii', 1, 0)
    if v >= 4: b += struct.pack('>i', -1)
    b += struct.pack('>q', -1)
    save(2, v, b)
batch = open(os.path.join(ROOT, 'tests', 'golden', 'produce_req_v7.bin'), 'rb').read()[-85:]
for v in (3, 4, 5, 6, 7):
    b = struct.pack('>h', -1) + struct.pack('>hi', 1, 5000) + struct.pack('>i', 1) + s16(b'cap') + struct.pack('>i', 1) + struct.pack('>i', 0) + struct.pack('>i', len(batch)) + batch
    save(0, v, b)
s.close()
km.stdin.write('quit\n')
km.stdin.flush()
km.wait(timeout=10)
print('PORT', port, file=sys.stderr)
