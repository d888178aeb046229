#!/usr/bin/python3
"""aws_creds_botocore.py: the oracle of tests/integration/aws_credentials.sh. Runs botocore's own
credential chain (botocore.session / create_credential_resolver) in the environment it is given
and prints what it found as creds_probe does, never a secret itself:
  creds <method> <access key id> <sha256(secret)> <sha256(token)|->
or "none" when botocore finds no credentials, or "error <ExceptionName>: <message>".

Debian's botocore (1.29) predates AWS_ENDPOINT_URL_STS, so when that variable is set the STS
client it creates for assume role and web identity is pointed at it explicitly (what newer
botocore does by itself).
"""
import hashlib
import os
import sys

import botocore.session


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest() if s else "-"


def main():
    session = botocore.session.get_session()
    sts_url = os.environ.get("AWS_ENDPOINT_URL_STS")
    if sts_url:
        create = session.create_client

        def create_client(name, *a, **kw):
            if name == "sts":
                kw.setdefault("endpoint_url", sts_url)
            return create(name, *a, **kw)
        session.create_client = create_client
    try:
        c = session.get_credentials()
        if c is None:
            print("none")
            return 0
        f = c.get_frozen_credentials()
        print("creds %s %s %s %s" % (c.method, f.access_key, sha(f.secret_key), sha(f.token)))
    except Exception as e:  # botocore's errors are what the test compares
        print("error %s: %s" % (type(e).__name__, str(e).replace("\n", " ")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
