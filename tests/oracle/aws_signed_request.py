#!/usr/bin/python3
"""aws_signed_request.py: one Lambda API request signed by botocore's SigV4Auth (service
"lambda") with the credentials of the environment, for members Debian's AWS CLI (botocore 1.29)
does not know yet (MetricsConfig, LoggingConfig, ProvisionedPollerConfig, KMSKeyArn,
ConsumptionMode). Prints the HTTP status on the first line, then the body.

usage: aws_signed_request.py METHOD URL [BODY_FILE]
"""
import os
import sys
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    method, url = sys.argv[1], sys.argv[2]
    body = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else b""
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                        os.environ.get("AWS_SESSION_TOKEN"))
    req = AWSRequest(method=method, url=url, data=body,
                     headers={"Content-Type": "application/json"} if body else {})
    SigV4Auth(creds, "lambda", os.environ.get("AWS_DEFAULT_REGION", "us-east-1")).add_auth(req)
    prepared = req.prepare()
    r = urllib.request.Request(prepared.url, data=body or None, method=method,
                               headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(r, timeout=20) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    print(status)
    print(text)


if __name__ == "__main__":
    main()
