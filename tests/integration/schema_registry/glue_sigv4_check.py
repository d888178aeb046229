#!/usr/bin/env python3
"""glue_sigv4_check.py LOG REGION: every Glue request kesm sent (one JSON line each, as
tests/node/sr_fixture.mjs logs them) must carry the SigV4 signature botocore computes for the
same request with the credentials of the environment, and be the GetSchemaVersion call botocore's
Glue model describes. Prints TAP lines; exits 1 on a mismatch or when there is no request."""
import json
import os
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

log, region = sys.argv[1], sys.argv[2]
creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                    os.environ.get("AWS_SESSION_TOKEN"))
n = bad = 0
for line in open(log):
    req = json.loads(line)
    n += 1
    h = req["headers"]
    ok = (req["method"] == "POST" and h.get("x-amz-target") == "AWSGlue.GetSchemaVersion"
          and h.get("content-type") == "application/x-amz-json-1.1"
          and list(json.loads(req["body"]).keys()) == ["SchemaVersionId"])
    signed = {k: v for k, v in h.items() if k in ("host", "content-type", "x-amz-target")}
    aws = AWSRequest(method="POST", url="http://" + h["host"] + req["path"], data=req["body"],
                     headers=signed)
    # SigV4Auth.add_auth with the request's own X-Amz-Date instead of the clock
    auth = SigV4Auth(creds, "glue", region)
    aws.context["timestamp"] = h["x-amz-date"]
    auth._modify_request_before_signing(aws)
    canonical = auth.canonical_request(aws)
    auth._inject_signature_to_request(
        aws, auth.signature(auth.string_to_sign(aws, canonical), aws))
    if not ok or aws.headers["Authorization"] != h.get("authorization"):
        bad += 1
        print("not ok - Glue request %d is the GetSchemaVersion call botocore signs alike" % n)
        print("#   kesm:     %s" % h.get("authorization"))
        print("#   botocore: %s" % aws.headers["Authorization"])
if n and not bad:
    print("ok - %d Glue GetSchemaVersion request(s) carry botocore's SigV4 signature" % n)
sys.exit(0 if n and not bad else 1)
