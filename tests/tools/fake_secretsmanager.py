#!/usr/bin/python3
"""A local fake of AWS Secrets Manager's GetSecretValue for tests/integration/esm_secrets_manager.sh.
Run with Debian's /usr/bin/python3 (python3-botocore).

Listens on 127.0.0.1 (HTTP/1.1, or HTTPS with --tls-cert/--tls-key). For every request it builds, with botocore itself, the request
the AWS SDK would send for the same call (get_secret_value(SecretId=...) in the region the
request's credential scope names, against this endpoint) and checks that kesm's request matches:
method, path, body bytes, Content-Type, X-Amz-Target and the list of signed headers; then it
recomputes the signature over kesm's request with botocore's SigV4 signer at kesm's X-Amz-Date.
A request that does not match gets 400 InvalidSignatureException.

usage: fake_secretsmanager.py --port-file F --log F --secrets FILE --key AKID --secret S
                              [--token T] [--deny NAME]... [--tls-cert PEM --tls-key PEM]
                              [--lifetime SECONDS]

FILE is a JSON object: secret name -> SecretString, or -> a list of SecretStrings served in turn
(the last one repeats; a rotated secret). Unknown names get ResourceNotFoundException, --deny
names AccessDeniedException (AWS's JSON 1.1 error shape: HTTP 400, {"__type", "Message"}).
Log: one JSON line per request {"secret_id", "region", "check", "answer"}; no secret values.
"""
import argparse
import datetime
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

import botocore.session  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


class Captured(Exception):
    pass


def capture(request, **kwargs):
    raise Captured(request)


class FixedDateSigV4Auth(SigV4Auth):
    def __init__(self, creds, service, region, amz_date):
        super().__init__(creds, service, region)
        self.amz_date = amz_date

    def add_auth(self, request):
        request.context["timestamp"] = self.amz_date
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        sts = self.string_to_sign(request, canonical)
        self.last_sig = self.signature(sts, request)


def botocore_request(args, host, region, secret_id):
    """The request botocore sends for get_secret_value(SecretId=secret_id)."""
    s = botocore.session.get_session()
    c = s.create_client("secretsmanager", region_name=region, endpoint_url="http://" + host,
                        aws_access_key_id=args.key, aws_secret_access_key=args.secret,
                        aws_session_token=args.token)
    c.meta.events.register("before-send.secrets-manager.GetSecretValue", capture)
    try:
        c.get_secret_value(SecretId=secret_id)
    except Captured as e:
        return e.args[0]
    raise RuntimeError("botocore sent nothing")


def hval(v):
    return v.decode() if isinstance(v, bytes) else v


def check(handler, body, args):
    """Return (reason or "ok", region, secret_id)."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no AWS4-HMAC-SHA256 Authorization header", "", ""
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = parts.get("Credential", "").split("/")
    if len(cred) != 5 or cred[0] != args.key or cred[3] != "secretsmanager":
        return "unknown access key or wrong Credential scope", "", ""
    region = cred[2]
    try:
        secret_id = json.loads(body)["SecretId"]
    except (ValueError, KeyError, TypeError):
        return "body is not {\"SecretId\": ...}", region, ""
    amz_date = handler.headers.get("X-Amz-Date", "")
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return "bad X-Amz-Date", region, secret_id
    if abs((datetime.datetime.utcnow() - t).total_seconds()) > 300 or amz_date[:8] != cred[1]:
        return "X-Amz-Date out of range", region, secret_id
    host = handler.headers.get("Host", "")
    ref = botocore_request(args, host, region, secret_id)
    ref_auth = hval(ref.headers["Authorization"])
    ref_signed = ref_auth.split("SignedHeaders=")[1].split(",")[0]
    if parts.get("SignedHeaders") != ref_signed:
        return "signed headers %s, botocore signs %s" % (parts.get("SignedHeaders"),
                                                          ref_signed), region, secret_id
    if handler.command != ref.method or handler.path != "/":
        return "method/path differ from botocore's", region, secret_id
    if body != ref.body:
        return "body differs from botocore's: %r vs %r" % (body, ref.body), region, secret_id
    for name in ("Content-Type", "X-Amz-Target"):
        if handler.headers.get(name) != hval(ref.headers[name]):
            return "%s differs from botocore's" % name, region, secret_id
    req = AWSRequest(method="POST", url="http://%s/" % host, data=body)
    for name in ref_signed.split(";"):
        if name in ("x-amz-date", "x-amz-security-token"):
            continue
        req.headers[name] = handler.headers.get(name)
    signer = FixedDateSigV4Auth(Credentials(args.key, args.secret, args.token),
                                "secretsmanager", region, amz_date)
    signer.add_auth(req)
    if signer.last_sig != parts.get("Signature"):
        return "signature differs from botocore's", region, secret_id
    return "ok", region, secret_id


class State:
    def __init__(self, secrets):
        self.secrets = secrets
        self.served = {}
        self.lock = threading.Lock()

    def value(self, name):
        with self.lock:
            v = self.secrets.get(name)
            if isinstance(v, list):
                i = self.served.get(name, 0)
                self.served[name] = i + 1
                return v[min(i, len(v) - 1)]
            return v


def make_handler(args, state, log):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def answer(self, code, doc):
            data = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            why, region, sid = check(self, body, args)
            name = sid.split(":secret:", 1)[1] if ":secret:" in sid else sid
            arn_region = sid.split(":")[3] if sid.startswith("arn:") and sid.count(":") >= 6 else ""
            value = state.value(name) if why == "ok" and name not in args.deny else None
            if why == "ok" and arn_region and arn_region != region:
                why = "signed for region %s, the ARN names %s" % (region, arn_region)
            if why != "ok":
                answer = "InvalidSignatureException"
                self.answer(400, {"__type": answer, "message": why})
            elif name in args.deny:
                answer = "AccessDeniedException"
                self.answer(400, {"__type": answer, "Message":
                                  "User: arn:aws:iam::01234567890:user/kesm is not authorized to "
                                  "perform: secretsmanager:GetSecretValue on resource: " + name})
            elif value is None:
                answer = "ResourceNotFoundException"
                self.answer(400, {"__type": answer,
                                  "Message": "Secrets Manager can't find the specified secret."})
            else:
                answer = "ok"
                self.answer(200, {"ARN": sid if sid.startswith("arn:") else
                                  "arn:aws:secretsmanager:%s:01234567890:secret:%s-AbCdEf"
                                  % (region, name),
                                  "Name": name, "SecretString": value,
                                  "VersionId": "00000000-0000-4000-8000-000000000001",
                                  "VersionStages": ["AWSCURRENT"], "CreatedDate": 1.7e9})
            with open(log, "a") as f:
                f.write(json.dumps({"secret_id": sid, "region": region, "check": why,
                                    "answer": answer}) + "\n")

    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--secrets", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--token")
    ap.add_argument("--deny", action="append", default=[])
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    with open(args.secrets) as f:
        state = State(json.load(f))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args, state, args.log))
    srv.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    time.sleep(args.lifetime)
    srv.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
