#!/usr/bin/python3
"""msk_fixture.py: a loopback stand-in for the Amazon MSK (Kafka) API's GetBootstrapBrokers, for
tests/integration/msk_iam.sh. Every request's SigV4 signature is checked with botocore's own
signer (SigV4Auth, service "kafka", the region of --region) against the keys given with --key.

  GET /v1/clusters/<cluster ARN, percent-encoded>/bootstrap-brokers
    -> 200 {"bootstrapBrokerStringSaslIam": ..., ...} built from --member NAME=VALUE (repeatable)
    -> 403 (x-amzn-ErrorType ForbiddenException) on a bad or missing signature
    -> 404 (NotFoundException) for another cluster ARN than --arn
    --reply-file FILE: answer with the bytes of FILE instead (attacks on the client's parser)

usage: msk_fixture.py --port-file F --log F --region R --arn ARN --key AKID=SECRET ...
Writes its port to --port-file, one JSON line per request to --log (method, path, status, sig).
"""
import argparse
import http.server
import json
import os
import threading
from urllib.parse import unquote

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

LOCK = threading.Lock()


def verify_sigv4(args, method, url, headers):
    auth = headers.get("Authorization", "")
    try:
        cred = auth.split("Credential=")[1].split(",")[0]
        akid, _date, region, service, _ = cred.split("/")
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        sig = auth.split("Signature=")[1].strip()
    except (IndexError, ValueError):
        return "no SigV4 Authorization header"
    if service != "kafka" or region != args.region:
        return "scope %s/%s, want kafka/%s" % (service, region, args.region)
    secret = dict(k.split("=", 1) for k in args.key).get(akid)
    if secret is None:
        return "unknown access key"
    hs = {k: v for k, v in headers.items() if k.lower() in signed}
    req = AWSRequest(method=method, url=url, headers=hs, data=b"")
    req.context["timestamp"] = headers.get("X-Amz-Date")
    signer = SigV4Auth(Credentials(akid, secret, headers.get("X-Amz-Security-Token")),
                       service, region)
    sts = signer.string_to_sign(req, signer.canonical_request(req))
    return None if signer.signature(sts, req) == sig else "signature mismatch"


def make_handler(args):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body, etype=None, why=None):
            data = body if isinstance(body, bytes) else body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if etype:
                self.send_header("x-amzn-ErrorType", etype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            with LOCK, open(args.log, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path, "status": status,
                                    "sig": why or "ok"}) + "\n")

        def log_message(self, *a):
            pass

        def do_GET(self):
            url = "http://%s%s" % (self.headers.get("Host", ""), self.path)
            why = verify_sigv4(args, "GET", url, dict(self.headers.items()))
            if why:
                self.answer(403, json.dumps({"message": "The request signature we calculated "
                                             "does not match the signature you provided."}),
                            "ForbiddenException", why)
                return
            parts = self.path.split("/")
            if (len(parts) != 5 or parts[1:3] != ["v1", "clusters"]
                    or parts[4] != "bootstrap-brokers"):
                self.answer(404, '{"message":"no such route"}', "NotFoundException", "ok")
                return
            if unquote(parts[3]) != args.arn:
                self.answer(404, json.dumps({"message": "Cluster %s not found" % unquote(parts[3])}),
                            "NotFoundException", "ok")
                return
            if args.reply_file:
                with open(args.reply_file, "rb") as f:
                    self.answer(200, f.read())
                return
            body = {}
            for m in args.member:
                k, v = m.split("=", 1)
                body[k] = v
            self.answer(200, json.dumps(body))

    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--arn", required=True)
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--member", action="append", default=[])
    ap.add_argument("--reply-file")
    ap.add_argument("--lifetime-s", type=float, default=300)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Event().wait(args.lifetime_s)


if __name__ == "__main__":
    main()
