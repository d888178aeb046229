#!/usr/bin/python3
"""SigV4 oracle for tests/unit/test_sigv4.c, run with Debian's /usr/bin/python3 + python3-botocore.

usage:
  sigv4_botocore.py sign REQUEST.json
      REQUEST.json: {"method", "url", "headers": [[name, value], ...], "body_hex", "service",
                     "region", "amz_date", "key", "secret", "token" (or null)}
      Signs the request with botocore's SigV4Auth at the fixed amz_date and prints JSON
      {"canonical_request", "string_to_sign", "signature", "authorization", "headers"}.
  sigv4_botocore.py client OPERATION.json
      OPERATION.json: {"operation": "Invoke" | "ListEventSourceMappings" | ..., "params": {...},
                       "region", "key", "secret", "token"}
      Builds the request with botocore's real Lambda client (its own URL serialization and
      signing, current time), captures it before sending (nothing leaves the process) and prints
      JSON {"method", "url", "headers": [[name, value], ...], "body_hex"}.
"""
import json
import os
import sys

# Never read the user's AWS config or credentials, never touch the network.
os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(var, None)

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


class FixedDateSigV4Auth(SigV4Auth):
    """SigV4Auth with a caller-chosen timestamp instead of utcnow()."""

    def __init__(self, creds, service, region, amz_date):
        super().__init__(creds, service, region)
        self.amz_date = amz_date

    def add_auth(self, request):
        request.context["timestamp"] = self.amz_date
        self._modify_request_before_signing(request)
        self.last_canonical = self.canonical_request(request)
        self.last_sts = self.string_to_sign(request, self.last_canonical)
        self.last_sig = self.signature(self.last_sts, request)
        self._inject_signature_to_request(request, self.last_sig)


def sign(spec):
    req = AWSRequest(method=spec["method"], url=spec["url"],
                     data=bytes.fromhex(spec.get("body_hex", "")))
    for name, value in spec["headers"]:
        req.headers[name] = value  # HTTPHeaders appends, so repeated names stay repeated
    creds = Credentials(spec["key"], spec["secret"], spec.get("token"))
    auth = FixedDateSigV4Auth(creds, spec["service"], spec["region"], spec["amz_date"])
    auth.add_auth(req)
    return {
        "canonical_request": auth.last_canonical,
        "string_to_sign": auth.last_sts,
        "signature": auth.last_sig,
        "authorization": req.headers["Authorization"],
        "headers": [[k, v] for k, v in req.headers.items()],
    }


class Captured(Exception):
    pass


def client(spec):
    import botocore.session
    session = botocore.session.get_session()
    cl = session.create_client(
        "lambda", region_name=spec["region"], aws_access_key_id=spec["key"],
        aws_secret_access_key=spec["secret"], aws_session_token=spec.get("token"),
        endpoint_url="https://lambda.%s.amazonaws.com" % spec["region"])
    seen = {}

    def before_send(request, **kwargs):
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, (bytes, bytearray)):
            body = body.read()
        seen.update(method=request.method, url=request.url,
                    headers=[[k, v.decode() if isinstance(v, bytes) else v]
                             for k, v in request.headers.items()],
                    body_hex=bytes(body).hex())
        raise Captured()

    cl.meta.events.register("before-send", before_send)
    params = dict(spec.get("params", {}))
    if "Payload" in params:
        params["Payload"] = params["Payload"].encode()
    try:
        getattr(cl, {"Invoke": "invoke",
                     "ListEventSourceMappings": "list_event_source_mappings",
                     "GetEventSourceMapping": "get_event_source_mapping"}[spec["operation"]])(**params)
    except Captured:
        pass
    return seen


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        spec = json.load(f)
    out = sign(spec) if mode == "sign" else client(spec)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
