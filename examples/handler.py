#!/usr/bin/env python3
"""examples/handler.py: a sample function for kesm's exec transport.

kesm runs it once per batch with the Lambda Kafka event JSON on stdin. It prints, on stderr
(stdout is the function's response), one line per record: topic-partition, offset, the decoded key
and value, and the headers. It answers with an empty response: the whole batch succeeded.

Environment knobs used by the tests (tests/integration/esm_run*.sh):
  HANDLER_LOG=path        append "<topic-partition> <offset> <key> <value>" per record on success
  HANDLER_FAIL_VALUE=s    exit 1 (a function error) when any record's value equals s
  HANDLER_FAIL_TIMES=n    fail the first n invocations (counted in HANDLER_STATE=path)
  HANDLER_PARTIAL_VALUE=s report the first record whose value equals s in batchItemFailures
                          (only on the first such invocation when HANDLER_STATE is set)
  HANDLER_SLEEP_S=x       sleep x seconds before answering (a slow function)
  HANDLER_HANG_VALUE=s    when a record's value equals s: write our pid to HANDLER_HANG_MARK and
                          sleep 60 s (the test kills kesm meanwhile)
"""
import base64
import json
import os
import sys
import time


def dec(rec, name):
    if name not in rec:
        return None
    return base64.b64decode(rec[name]).decode("utf-8", "replace")


def bump(state):
    """Counts invocations in the file |state|; returns the new count."""
    n = 0
    if os.path.exists(state):
        with open(state) as f:
            n = int(f.read() or "0")
    with open(state, "w") as f:
        f.write(str(n + 1))
    return n + 1


def main():
    event = json.load(sys.stdin)
    state = os.environ.get("HANDLER_STATE")
    if os.environ.get("HANDLER_FAIL_TIMES") and state:
        if bump(state) <= int(os.environ["HANDLER_FAIL_TIMES"]):
            print("handler: failing this invocation on purpose", file=sys.stderr)
            sys.exit(1)
    hang = os.environ.get("HANDLER_HANG_VALUE")
    log = os.environ.get("HANDLER_LOG")
    fail = os.environ.get("HANDLER_FAIL_VALUE")
    partial = os.environ.get("HANDLER_PARTIAL_VALUE")
    lines, failed, failures = [], False, []
    for tp, recs in event["records"].items():
        for r in recs:
            key, value = dec(r, "key"), dec(r, "value")
            headers = ",".join(
                "%s=%s" % (k, bytes(b & 0xFF for b in v).decode("utf-8", "replace"))
                for h in r["headers"] for k, v in h.items())
            print("handler: %s offset %d key=%s value=%s headers=[%s]"
                  % (tp, r["offset"], key, value, headers), file=sys.stderr)
            lines.append("%s %d %s %s\n" % (tp, r["offset"], key, value))
            if fail is not None and value == fail:
                failed = True
            if hang is not None and value == hang:
                with open(os.environ["HANDLER_HANG_MARK"], "w") as f:
                    f.write(str(os.getpid()))
                time.sleep(60)
            if partial is not None and value == partial and not failures:
                failures.append({"itemIdentifier": {"partition": tp, "offset": r["offset"]}})
    if failures and state and os.environ.get("HANDLER_PARTIAL_VALUE"):
        if bump(state) > 1:
            failures = []
    if os.environ.get("HANDLER_SLEEP_S"):
        time.sleep(float(os.environ["HANDLER_SLEEP_S"]))
    if failed:
        print("handler: failing the batch (value %s)" % fail, file=sys.stderr)
        sys.exit(1)
    if log:
        with open(log, "a") as f:
            f.writelines(lines)
    print(json.dumps({"batchItemFailures": failures}))


if __name__ == "__main__":
    main()
