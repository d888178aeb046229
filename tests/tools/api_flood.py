#!/usr/bin/env python3
"""api_flood.py: a bounded connection flood against an HTTP listener on loopback, for
tests/integration/serve_flood.sh.

Usage: api_flood.py PORT IDLE SLOW SECONDS REPORT

Keeps up to IDLE connections open that never send a byte, and SLOW slowloris connections that
send a request head one byte per second and never finish it. A connection the server closes is
opened again after 100 ms, so the pressure stays for SECONDS seconds. Loopback only. Writes a
JSON report to REPORT: connections opened, closed by the server, answers seen (e.g. 429) and the
most connections it held open at once."""
import errno
import json
import selectors
import socket
import sys
import time

port, n_idle, n_slow, seconds, report = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                          float(sys.argv[4]), sys.argv[5])
HEAD = b"GET /2015-03-31/event-source-mappings HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Pad: " % port
sel = selectors.DefaultSelector()
stats = {"opened": 0, "closed_by_server": 0, "answers": {}, "connect_errors": 0, "max_open": 0}
slots = [{"slow": i < n_slow, "sock": None, "next": 0.0, "sent": 0} for i in range(n_idle + n_slow)]
open_now = 0


def close(slot, now, by_server):
    global open_now
    s = slot["sock"]
    if s is None:
        return
    try:
        sel.unregister(s)
    except (KeyError, ValueError):
        pass
    s.close()
    slot["sock"] = None
    slot["next"] = now + 0.1
    open_now -= 1
    if by_server:
        stats["closed_by_server"] += 1


def connect(slot, now):
    global open_now
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    except OSError as e:
        s.close()
        stats["connect_errors"] += 1
        slot["next"] = now + 0.1
        return
    slot["sock"] = s
    slot["sent"] = 0
    slot["last_send"] = now
    open_now += 1
    stats["opened"] += 1
    stats["max_open"] = max(stats["max_open"], open_now)
    sel.register(s, selectors.EVENT_READ, slot)


end = time.time() + seconds
while True:
    now = time.time()
    if now >= end:
        break
    for slot in slots:
        if slot["sock"] is None and now >= slot["next"]:
            connect(slot, now)
        elif slot["sock"] is not None and slot["slow"] and now - slot["last_send"] >= 1.0:
            data = HEAD[slot["sent"]:slot["sent"] + 1] or b"x"
            try:
                slot["sock"].send(data)
                slot["sent"] += 1
                slot["last_send"] = now
            except OSError:
                close(slot, now, True)
    for key, _ in sel.select(timeout=0.05):
        slot = key.data
        try:
            data = slot["sock"].recv(4096)
        except OSError:
            data = b""
        if data.startswith(b"HTTP/1.1 "):
            code = data[9:12].decode(errors="replace")
            stats["answers"][code] = stats["answers"].get(code, 0) + 1
        close(slot, time.time(), True)
for slot in slots:
    close(slot, time.time(), False)
with open(report, "w") as f:
    json.dump(stats, f)
