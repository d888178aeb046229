#!/usr/bin/env python3
# fake_broker_offset_fetch.py: how tests/golden/offset_fetch_{req,resp}_v7.bin were made. Not
# run by the tests.
#
# A tiny fake Kafka broker on 127.0.0.1 (random port, printed on stdout; exits after 30 s) that
# advertises OffsetFetch up to v7 (the librdkafka mock stops at v5), so that librdkafka 2.0.2
# sends its flexible OffsetFetch v7 request. It answers ApiVersions, Metadata v4 (topic t1, one
# partition led by itself), FindCoordinator v2 (itself) and OffsetFetch v7 (t1 partition 0
# committed at offset 5), closes the connection on anything else, and logs every request frame
# it receives as "<api key> <version> <hex>" to the file named by its argument.
#
#   python3 fake_broker_offset_fetch.py req.log > port.txt &
#   kcat -C -b 127.0.0.1:$(cat port.txt) -t t1 -p 0 -o stored -X group.id=g1 \
#       -X client.id=kcat-cap -e -q
#   grep '^9 7 ' req.log | head -1 | cut -d' ' -f3 | xxd -r -p > offset_fetch_req_v7.bin
import socket, struct, sys, threading, time

OUT = sys.argv[1]
LIFETIME = 30
APIS = {18: (0, 3), 3: (0, 4), 10: (0, 2), 9: (0, 7), 2: (0, 2), 1: (0, 4), 8: (0, 7)}

def s16(s):
    b = s.encode(); return struct.pack('>h', len(b)) + b

def cstr(s):
    b = s.encode(); return bytes([len(b) + 1]) + b

def api_versions(ver):
    if ver >= 3:
        body = struct.pack('>h', 0) + bytes([len(APIS) + 1])
        for k, (lo, hi) in sorted(APIS.items()):
            body += struct.pack('>hhh', k, lo, hi) + b'\0'
        return body + struct.pack('>i', 0) + b'\0'
    body = struct.pack('>hi', 0, len(APIS))
    for k, (lo, hi) in sorted(APIS.items()):
        body += struct.pack('>hhh', k, lo, hi)
    if ver >= 1:
        body += struct.pack('>i', 0)
    return body

def metadata(port):
    body = struct.pack('>i', 0)  # throttle (v3+)
    body += struct.pack('>i', 1) + struct.pack('>i', 1) + s16('127.0.0.1') + struct.pack('>i', port) + struct.pack('>h', -1)
    body += s16('fake-cluster') + struct.pack('>i', 1)
    body += struct.pack('>i', 1) + struct.pack('>h', 0) + s16('t1') + b'\0'
    body += struct.pack('>i', 1) + struct.pack('>hii', 0, 0, 1) + struct.pack('>ii', 1, 1) + struct.pack('>ii', 1, 1)
    return body

def find_coordinator(port):
    return struct.pack('>ih', 0, 0) + struct.pack('>h', -1) + struct.pack('>i', 1) + s16('127.0.0.1') + struct.pack('>i', port)

def offset_fetch_v7():
    body = struct.pack('>i', 0) + bytes([2]) + cstr('t1') + bytes([2])
    body += struct.pack('>iqi', 0, 5, -1) + b'\0' + struct.pack('>h', 0) + b'\0'
    return body + b'\0' + struct.pack('>h', 0) + b'\0'

def serve(conn, port, log):
    buf = b''
    while True:
        try:
            d = conn.recv(65536)
        except OSError:
            return
        if not d:
            return
        buf += d
        while len(buf) >= 4:
            n = struct.unpack('>i', buf[:4])[0]
            if len(buf) < 4 + n:
                break
            frame, buf = buf[:4 + n], buf[4 + n:]
            key, ver, corr = struct.unpack('>hhi', frame[4:12])
            log.write('%d %d %s\n' % (key, ver, frame.hex())); log.flush()
            flex_hdr = False
            if key == 18: body = api_versions(ver)
            elif key == 3: body = metadata(port)
            elif key == 10: body = find_coordinator(port)
            elif key == 9 and ver == 7: body = offset_fetch_v7(); flex_hdr = True
            else:
                conn.close(); return
            hdr = struct.pack('>i', corr) + (b'\0' if flex_hdr else b'')
            conn.sendall(struct.pack('>i', len(hdr) + len(body)) + hdr + body)

def main():
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(('127.0.0.1', 0)); ls.listen(8)
    port = ls.getsockname()[1]
    print(port, flush=True)
    ls.settimeout(1)
    deadline = time.time() + LIFETIME
    with open(OUT, 'w') as log:
        while time.time() < deadline:
            try:
                conn, _ = ls.accept()
            except socket.timeout:
                continue
            threading.Thread(target=serve, args=(conn, port, log), daemon=True).start()

main()
