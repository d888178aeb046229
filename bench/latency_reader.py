#!/usr/bin/env python3
"""bench/latency_reader.py MODE OUT: timestamp what arrives on stdin (used by bench/latency.sh).

MODE kesm: each line is one Lambda Kafka event (kesm's stdout transport writes one event per
line, unbuffered); MODE kcat: each line is one record's timestamp (kcat -u -f '%T\\n').
For every record, writes "ARRIVAL_MS TIMESTAMP_MS" to OUT (ARRIVAL_MS: wall clock when the line
was read, the same clock the producer's CreateTime comes from) and flushes it.
"""
import json
import sys
import time


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("kesm", "kcat"):
        sys.stderr.write("usage: latency_reader.py kesm|kcat OUT\n")
        return 2
    mode = sys.argv[1]
    with open(sys.argv[2], "w", encoding="ascii") as out:
        stdin = sys.stdin.buffer
        while True:
            line = stdin.readline()
            if not line:
                return 0
            now = time.time_ns() / 1e6
            line = line.strip()
            if not line:
                continue
            if mode == "kcat":
                out.write("%.3f %s\n" % (now, int(line)))
            else:
                event = json.loads(line)
                for recs in event.get("records", {}).values():
                    for r in recs:
                        out.write("%.3f %d\n" % (now, r["timestamp"]))
            out.flush()


if __name__ == "__main__":
    sys.exit(main())
