#!/usr/bin/env python3
"""examples/handler.py: a sample function for kesm's exec transport.

kesm runs it once per batch with the Lambda Kafka event JSON on stdin. It prints, on stderr
(stdout is the function's response), one line per record: topic-partition, offset, the decoded key
and value, and the headers. It answers with an empty response: the whole batch succeeded.

Environment knobs used by the tests:
  HANDLER_LOG=path     also append "<topic-partition> <offset> <key> <value>" lines to path
  HANDLER_FAIL_VALUE=s exit 1 (a function error) when any record's value equals s
  HANDLER_PARTIAL_VALUE=s report the first record whose value equals s in batchItemFailures
"""
import base64
import json
import os
import sys


def dec(rec, name):
    if name not in rec:
        return None
    return base64.b64decode(rec[name]).decode("utf-8", "replace")


def main():
    event = json.load(sys.stdin)
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
            if partial is not None and value == partial and not failures:
                failures.append({"itemIdentifier": {"partition": tp, "offset": r["offset"]}})
    if failed:
        print("handler: failing the batch (value %s)" % fail, file=sys.stderr)
        sys.exit(1)
    if log:
        with open(log, "a") as f:
            f.writelines(lines)
    print(json.dumps({"batchItemFailures": failures}))


if __name__ == "__main__":
    main()
