#!/usr/bin/env python3
"""event_stamp.py: run `kesm run` with the stdout transport and time-stamp what it delivers.

Usage: event_stamp.py LOG -- KESM_ARGV...

Every line kesm writes on stdout is one Lambda Kafka event; for each topic-partition in it one
line goes to LOG:  "<topic-partition> <first offset> <last offset> <milliseconds since epoch>".
SIGTERM or SIGINT is passed on to kesm as SIGINT (a graceful stop); the exit status is kesm's.
"""
import json
import signal
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: event_stamp.py LOG -- KESM_ARGV...")
    log = open(sys.argv[1], "a", buffering=1)
    child = subprocess.Popen(sys.argv[3:], stdout=subprocess.PIPE)

    def forward(signum, frame):
        child.send_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for line in child.stdout:
        now = int(time.time() * 1000)
        try:
            event = json.loads(line)
        except ValueError:
            print("event_stamp: not JSON: %r" % line[:80], file=sys.stderr)
            continue
        for tp, recs in event.get("records", {}).items():
            if recs:
                log.write("%s %d %d %d\n" % (tp, recs[0]["offset"], recs[-1]["offset"], now))
    sys.exit(child.wait())


main()
