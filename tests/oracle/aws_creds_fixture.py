#!/usr/bin/python3
"""aws_creds_fixture.py: the AWS credential endpoints for tests/integration/aws_credentials.sh,
on loopback (or on addresses of a network namespace the test made), answering kesm and botocore
alike. Run with Debian's /usr/bin/python3 + python3-botocore.

  STS (POST /, query protocol):
    AssumeRole                 must be SigV4-signed; the signature is checked with botocore's own
                               signer (SigV4Auth) and the secret of the signing key (--key)
    AssumeRoleWithWebIdentity  must not be signed; WebIdentityToken must equal --web-token
  container (GET /container...): Authorization must equal --container-token when given
  EC2 instance metadata (IMDSv2): PUT /latest/api/token (403 with --imds-v1), then
    /latest/meta-data/iam/security-credentials/ and .../<role> (the token required unless v1)

Credentials are derived from what asked for them (the role ARN, "container", "imds"), so kesm and
botocore get the same ones; with --rotate, each answer has a new access key (generation n). They
expire --lifetime seconds after the request (default 900: 15 minutes), timed by the request's
X-Amz-Date when it has one (so a test clock moves them along), else the wall clock plus the
offset in --clock-file (which tests/tools/creds_probe writes as it moves its clock). After
--fail-after credential answers, every further one is a 500.

Log: one JSON line per request {"method", "path", "action", "signed", "verified", "auth",
"status"} to --log. It exits by itself after --lifetime-s seconds.

usage: aws_creds_fixture.py --port-file F --log F [--listen ADDR:PORT ...] [--key AKID=SECRET ...]
           [--web-token T] [--container-token T] [--imds-v1] [--rotate] [--fail-after N]
           [--lifetime S] [--clock-file F] [--lifetime-s S]
"""
import argparse
import datetime
import hashlib
import http.server
import json
import os
import socket
import threading
import urllib.parse

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

STATE = {"answers": 0, "gen": 0, "issued": {}}
LOCK = threading.Lock()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def creds_for(args, who, now):
    with LOCK:
        STATE["answers"] += 1
        if args.rotate:
            STATE["gen"] += 1
        gen = STATE["gen"]
        failing = args.fail_after is not None and STATE["answers"] > args.fail_after
    h = hashlib.sha256(("%s/%d" % (who, gen)).encode()).hexdigest()
    c = {
        "AccessKeyId": "ASIA" + h[:16].upper(),
        "SecretAccessKey": "s/" + h[16:48],
        "SessionToken": "IQoJb3JpZ2luX2VjE" + h[48:] + "==",
        "Expiration": iso(now + datetime.timedelta(seconds=args.lifetime)),
    }
    with LOCK:
        STATE["issued"][c["AccessKeyId"]] = c["SecretAccessKey"]  # chained roles sign with them
    return failing, c


def verify_sigv4(args, method, url, headers, body):
    """Recomputes the request's signature with botocore's SigV4Auth."""
    auth = headers.get("Authorization", "")
    try:
        cred = auth.split("Credential=")[1].split(",")[0]
        akid, date, region, service, _ = cred.split("/")
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        sig = auth.split("Signature=")[1].strip()
    except (IndexError, ValueError):
        return False
    secret = dict(k.split("=", 1) for k in args.key).get(akid) or STATE["issued"].get(akid)
    if secret is None:
        return False
    hs = {k: v for k, v in headers.items() if k.lower() in signed}
    req = AWSRequest(method=method, url=url, headers=hs, data=body)
    req.context["timestamp"] = headers.get("X-Amz-Date")
    token = headers.get("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(akid, secret, token), service, region)
    canonical = signer.canonical_request(req)
    sts = signer.string_to_sign(req, canonical)
    return signer.signature(sts, req) == sig


def request_time(args, headers):
    """The client's time: its X-Amz-Date, else the wall clock moved by --clock-file's offset."""
    d = headers.get("X-Amz-Date")
    if d:
        return datetime.datetime.strptime(d, "%Y%m%dT%H%M%SZ")
    off = 0
    if args.clock_file:
        try:
            with open(args.clock_file) as f:
                off = int(f.read().strip() or "0")
        except (OSError, ValueError):
            off = 0
    return datetime.datetime.utcnow() + datetime.timedelta(seconds=off)


def make_handler(args, log):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body, ctype="text/xml", entry=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            e = dict(entry or {})
            e.update({"method": self.command, "path": self.path, "status": status})
            with LOCK, open(log, "a") as f:
                f.write(json.dumps(e) + "\n")

        def log_message(self, *a):
            pass

        def do_PUT(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            if self.path == "/latest/api/token":
                if args.imds_v1 or "x-aws-ec2-metadata-token-ttl-seconds" not in self.headers:
                    return self.answer(403, "", "text/plain")
                return self.answer(200, "imds-session-token", "text/plain")
            self.answer(404, "", "text/plain")

        def do_GET(self):
            base = "/latest/meta-data/iam/security-credentials/"
            if self.path.startswith(base):
                if not args.imds_v1 and self.headers.get("x-aws-ec2-metadata-token") != \
                        "imds-session-token":
                    return self.answer(401, "", "text/plain")
                if self.path == base:
                    return self.answer(200, "kesm-role", "text/plain")
                if self.path != base + "kesm-role":
                    return self.answer(404, "", "text/plain")
                failing, c = creds_for(args, "imds", request_time(args, self.headers))
                if failing:
                    return self.answer(500, "", "text/plain")
                c.update({"Code": "Success", "Type": "AWS-HMAC",
                          "LastUpdated": iso(datetime.datetime.utcnow())})
                c["Token"] = c.pop("SessionToken")
                return self.answer(200, json.dumps(c), "application/json")
            if self.path.startswith("/container"):
                auth = self.headers.get("Authorization")
                entry = {"auth": auth}
                if args.container_token is not None and auth != args.container_token:
                    return self.answer(401, "", "text/plain", entry)
                failing, c = creds_for(args, "container", request_time(args, self.headers))
                if failing:
                    return self.answer(500, "", "text/plain", entry)
                c["Token"] = c.pop("SessionToken")
                c["RoleArn"] = "arn:aws:iam::123456789012:role/kesm-task"
                return self.answer(200, json.dumps(c), "application/json", entry)
            self.answer(404, "", "text/plain")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            form = dict(urllib.parse.parse_qsl(body.decode()))
            action = form.get("Action")
            signed = "Authorization" in self.headers
            url = "http://%s%s" % (self.headers.get("Host"), self.path)
            entry = {"action": action, "signed": signed, "form": {
                k: v for k, v in form.items() if k != "WebIdentityToken"}}
            if action == "AssumeRole":
                entry["verified"] = signed and verify_sigv4(args, "POST", url,
                                                            dict(self.headers), body)
                if not entry["verified"]:
                    return self.answer(403, error_xml("SignatureDoesNotMatch",
                                                      "signature does not verify"), entry=entry)
            elif action == "AssumeRoleWithWebIdentity":
                entry["verified"] = not signed and form.get("WebIdentityToken") == args.web_token
                if not entry["verified"]:
                    return self.answer(403, error_xml("InvalidIdentityToken",
                                                      "the token is not the expected one"),
                                       entry=entry)
            else:
                return self.answer(400, error_xml("InvalidAction", "unknown action"), entry=entry)
            failing, c = creds_for(args, form.get("RoleArn", ""), request_time(args, self.headers))
            if failing:
                return self.answer(500, error_xml("ServiceUnavailable", "try again"), entry=entry)
            xml = ("<{a}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<{a}Result><Credentials><AccessKeyId>{AccessKeyId}</AccessKeyId>"
                   "<SecretAccessKey>{SecretAccessKey}</SecretAccessKey>"
                   "<SessionToken>{SessionToken}</SessionToken>"
                   "<Expiration>{Expiration}</Expiration></Credentials>"
                   "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn>"
                   "<AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>"
                   "</{a}Result><ResponseMetadata><RequestId>0</RequestId></ResponseMetadata>"
                   "</{a}Response>").format(a=action, **c)
            self.answer(200, xml, entry=entry)
    return H


def error_xml(code, message):
    return ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
            "<Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>0</RequestId></ErrorResponse>" % (code, message))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--web-token")
    ap.add_argument("--container-token")
    ap.add_argument("--imds-v1", action="store_true")
    ap.add_argument("--rotate", action="store_true")
    ap.add_argument("--fail-after", type=int)
    ap.add_argument("--lifetime", type=int, default=900)
    ap.add_argument("--clock-file")
    ap.add_argument("--lifetime-s", type=float, default=300)
    args = ap.parse_args()
    handler = make_handler(args, args.log)
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)]
    class Server6(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    for spec in args.listen:
        host, port = spec.rsplit(":", 1)
        if host.startswith("["):
            servers.append(Server6((host.strip("[]"), int(port)), handler))
        else:
            servers.append(http.server.ThreadingHTTPServer((host, int(port)), handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(servers[0].server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    threading.Event().wait(args.lifetime_s)


if __name__ == "__main__":
    main()
