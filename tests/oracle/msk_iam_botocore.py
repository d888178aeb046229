#!/usr/bin/python3
"""msk_iam_botocore.py: checks kesm's MSK IAM tokens with botocore's SigV4QueryAuth (the signer
aws-msk-iam-sasl-signer-python builds its token with), for tests/integration/sasl_msk_iam.sh.

usage: msk_iam_botocore.py CASES.jsonl TOKENS.jsonl
  CASES: one JSON object per line {"region", "accessKeyId", "secretAccessKey", "sessionToken"?,
         "now", "credentialsExpiry"?, "userAgent"?} (as tests/tools/msk_iam_token reads them);
  TOKENS: kesm's answers, line by line {"token", "expiryTime"}.
For each pair botocore presigns GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect
(service kafka-cluster, the case's time and lifetime) and the line printed is
"ok <n>" when kesm's decoded URL has the same scheme, host, path and query parameters (User-Agent
aside, which is not signed), else "mismatch <n>: <what>".
"""
import base64
import datetime
import json
import os
import sys
from urllib.parse import parse_qsl, urlsplit

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


def presign(case):
    now = datetime.datetime.fromtimestamp(case["now"], datetime.timezone.utc).replace(tzinfo=None)
    botocore.auth.get_current_datetime = lambda *a, **k: now
    ttl = 900
    if case.get("credentialsExpiry"):
        ttl = min(ttl, case["credentialsExpiry"] - case["now"])
    creds = Credentials(case["accessKeyId"], case["secretAccessKey"], case.get("sessionToken"))
    host = "kafka.%s.amazonaws.com" % case["region"]
    req = AWSRequest(method="GET", url="https://%s/" % host,
                     params={"Action": "kafka-cluster:Connect"}, headers={"host": host})
    botocore.auth.SigV4QueryAuth(creds, "kafka-cluster", case["region"], expires=ttl).add_auth(req)
    return req.prepare().url


def compare(ours, theirs):
    a, b = urlsplit(ours), urlsplit(theirs)
    if (a.scheme, a.netloc, a.path) != (b.scheme, b.netloc, b.path):
        return "URL %s://%s%s, botocore %s://%s%s" % (a.scheme, a.netloc, a.path, b.scheme,
                                                      b.netloc, b.path)
    qa = dict(parse_qsl(a.query, strict_parsing=True))
    qb = dict(parse_qsl(b.query, strict_parsing=True))
    qa.pop("User-Agent", None)
    for k in sorted(set(qa) | set(qb)):
        if qa.get(k) != qb.get(k):
            return "%s: kesm %r, botocore %r" % (k, qa.get(k), qb.get(k))
    return None


def main():
    cases = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
    tokens = [json.loads(x) for x in open(sys.argv[2]) if x.strip()]
    for n, (case, tok) in enumerate(zip(cases, tokens), 1):
        t = tok.get("token", "")
        url = base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)).decode()
        why = compare(url, presign(case))
        print("ok %d" % n if why is None else "mismatch %d: %s" % (n, why))
    if len(cases) != len(tokens):
        print("mismatch: %d cases, %d tokens" % (len(cases), len(tokens)))


main()
