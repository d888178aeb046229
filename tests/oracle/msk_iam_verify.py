#!/usr/bin/python3
"""msk_iam_verify.py: checks one Amazon MSK IAM token as an MSK broker would, for the secured test
front (tests/broker/sasl_front.pl --oauth-verifier). The token arrives on stdin (never in argv).

The token is base64url (no padding) of a SigV4 presigned URL. It is accepted when: the URL is
https://kafka.<--region>.amazonaws.com/?Action=kafka-cluster%3AConnect&..., the credential scope
is <date>/<region>/kafka-cluster/aws4_request for a key of --keys-file (lines AKID:SECRET), the
signature equals the one botocore's SigV4QueryAuth computes for the same request at the token's
X-Amz-Date and X-Amz-Expires (session token included when present), and it has not expired (now,
moved by KESM_VERIFY_CLOCK_OFFSET seconds, is before X-Amz-Date + X-Amz-Expires).

Reads one token per line until end of input and answers each with one line (flushed):
"OK <principal AKID> <expiry unix seconds>" or "FAIL <reason>" (no secret). The front keeps one
verifier running, so botocore is imported once.
"""
import base64
import calendar
import datetime
import os
import sys
import time
from urllib.parse import parse_qsl, urlsplit

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"

import botocore.auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


def check(token, region, keys):
    try:
        url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return "FAIL not base64url of a URL"
    u = urlsplit(url)
    host = "kafka.%s.amazonaws.com" % region
    if u.scheme != "https" or u.netloc != host or u.path != "/":
        return "FAIL URL is not https://%s/" % host
    try:
        q = dict(parse_qsl(u.query, strict_parsing=True))
    except ValueError:
        return "FAIL malformed query"
    if q.get("Action") != "kafka-cluster:Connect":
        return "FAIL Action is not kafka-cluster:Connect"
    try:
        akid, date, reg, service, term = q["X-Amz-Credential"].split("/")
        signed_at = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expires = int(q["X-Amz-Expires"])
    except (KeyError, ValueError):
        return "FAIL missing or malformed X-Amz-Credential, X-Amz-Date or X-Amz-Expires"
    if (reg, service, term) != (region, "kafka-cluster", "aws4_request"):
        return "FAIL credential scope %s/%s/%s" % (reg, service, term)
    if akid not in keys:
        return "FAIL unknown access key"
    if not 1 <= expires <= 900:
        return "FAIL X-Amz-Expires out of range"
    expiry = calendar.timegm(signed_at.timetuple()) + expires
    now = time.time() + float(os.environ.get("KESM_VERIFY_CLOCK_OFFSET", "0"))
    if now >= expiry:
        return "FAIL token expired"
    botocore.auth.get_current_datetime = lambda *a, **k: signed_at
    creds = Credentials(akid, keys[akid], q.get("X-Amz-Security-Token"))
    req = AWSRequest(method="GET", url="https://%s/" % host,
                     params={"Action": "kafka-cluster:Connect"}, headers={"host": host})
    botocore.auth.SigV4QueryAuth(creds, "kafka-cluster", region, expires=expires).add_auth(req)
    want = dict(parse_qsl(urlsplit(req.prepare().url).query))
    if want.get("X-Amz-Signature") != q.get("X-Amz-Signature"):
        return "FAIL signature mismatch"
    return "OK %s %d" % (akid, expiry)


def main():
    region = sys.argv[1]
    keys = {}
    with open(sys.argv[2]) as f:
        for line in f:
            if ":" in line:
                k, v = line.strip().split(":", 1)
                keys[k] = v
    for line in sys.stdin:
        print(check(line.strip()[:70000], region, keys), flush=True)


main()
