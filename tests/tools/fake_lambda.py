#!/usr/bin/python3
"""A local fake of the Lambda Invoke API (and of the Runtime Interface Emulator) for
tests/integration/invoke_http.sh. Run with Debian's /usr/bin/python3 (python3-botocore).

Listens on 127.0.0.1 (HTTP/1.1, keep-alive, optionally TLS), verifies every Invoke request's SigV4
signature with botocore's own signer, and answers each request with the next action of a script.
Modes: invoke (the Invoke API path, signed), rie (the emulator's path, unsigned), url (a function
URL with AuthType AWS_IAM: any path, signed).
It exits by itself after --lifetime seconds.

usage: fake_lambda.py --port-file F --log F [--mode invoke|rie|url] [--script A,B,...]
                      [--function NAME] [--region R] [--key AKID --secret S [--token T]]
                      [--tls-cert PEM --tls-key PEM] [--lifetime SECONDS]
                      [--rie-timeout SECONDS] [--record-log F] [--port N]

Actions (one per request, in order; the last one repeats):
  ok            200, body {"statusCode":200}
  partial       200, body {"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":7}}]}
  unhandled     invoke mode: 200 + X-Amz-Function-Error: Unhandled + an error document;
                rie mode: 200 with the error document and no header (the emulator's shape)
  rie-timeout   a function that never returns: in rie mode the emulator's own timeout answers
                after --rie-timeout seconds (below)
  exit          the runtime process exits mid-invocation: rie mode 502 with a Runtime.ExitError
                document
  429 500 502 503 413 403 404   that status with a Lambda-style error (x-amzn-ErrorType header,
                JSON body {"Type": ..., "message": ...}); 429 carries Retry-After: 0
  slow:SECS     the function runs SECS seconds, then 200 (rie mode: at most --rie-timeout)
  close         read the request, close the connection without answering
  chunked       200 with a chunked body (the ok body in two chunks)

rie mode behaves as the Lambda Runtime Interface Emulator (aws-lambda-rie) does, as observed with
a custom runtime inside:
  - every answer is HTTP 200 with the function's bytes as the body and the Content-Type Go's
    content sniffing gives them ("text/plain; charset=utf-8" for JSON); a function error is the
    runtime's error document ({"errorType", "errorMessage", ...}) with no X-Amz-Function-Error;
  - the emulator's own timeout (AWS_LAMBDA_FUNCTION_TIMEOUT, --rie-timeout, default 300 s):
    200, plain text "Task timed out after N.00 seconds";
  - a runtime that exits mid-invocation: 502, {"errorType": "Runtime.ExitError", ...};
  - an invocation that arrives while another one is still running (even one whose caller has
    gone away: the function keeps running) crashes the emulator: both connections are closed
    without a reply and the process exits (status 2), logging {"event": "crash"} first. (The
    emulator's source maps this case to 400, but its current builds panic before that.)
Log: one JSON line per request {"conn", "path", "query", "sigv4", "invocation_type",
"body_len", "action"}, a line {"conn": N, "event": "open"} per accepted connection, and in rie
mode {"conn": N, "event": "done", "action": A} when an invocation has finished (answered or not).
--record-log F: every record of every event POSTed, one line "topic-partition offset key value"
(key and value decoded from base64, "None" when absent), in arrival order.
A request whose signature does not verify gets 403 InvalidSignatureException whatever the script.
"""
import argparse
import base64
import datetime
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ["AWS_CONFIG_FILE"] = "/dev/null"
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

ERRORS = {
    429: ("TooManyRequestsException", "Rate Exceeded."),
    500: ("ServiceException", "Internal failure."),
    502: ("ResourceNotReadyException", "The function is not ready."),
    503: ("ServiceUnavailableException", "Service unavailable."),
    413: ("RequestEntityTooLargeException",
          "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
    403: ("AccessDeniedException", "User is not authorized to perform: lambda:InvokeFunction"),
    404: ("ResourceNotFoundException", "Function not found"),
}
ERROR_DOC = {"errorMessage": "boom: record 3 is poison", "errorType": "PoisonError",
             "stackTrace": ["handler.py line 3"]}


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


def verify_sigv4(handler, body, args):
    """Return "ok" or the reason the request's signature is not botocore's."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "no AWS4-HMAC-SHA256 Authorization header"
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    cred = parts.get("Credential", "").split("/")
    if len(cred) != 5 or cred[0] != args.key:
        return "unknown access key or malformed Credential"
    date_s, region, service = cred[1], cred[2], cred[3]
    if region != args.region or service != "lambda" or cred[4] != "aws4_request":
        return "wrong credential scope %s/%s" % (region, service)
    amz_date = handler.headers.get("X-Amz-Date", "")
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return "bad X-Amz-Date"
    skew = abs((datetime.datetime.utcnow() - t).total_seconds())
    if skew > 300 or amz_date[:8] != date_s:
        return "X-Amz-Date out of range (skew %d s)" % skew
    signed = parts.get("SignedHeaders", "").split(";")
    for need in ("host", "x-amz-date"):
        if need not in signed:
            return "%s not signed" % need
    token = handler.headers.get("X-Amz-Security-Token")
    if (token is not None) != (args.token is not None) or (token and token != args.token):
        return "session token missing or wrong"
    if token is not None and "x-amz-security-token" not in signed:
        return "x-amz-security-token not signed"
    url = "http://%s%s" % (handler.headers.get("Host", ""), handler.path)
    req = AWSRequest(method=handler.command, url=url, data=body)
    for name in signed:
        if name in ("x-amz-date", "x-amz-security-token", "authorization"):
            continue  # botocore's signer adds them itself
        values = handler.headers.get_all(name)
        if values is None:
            return "signed header %s missing" % name
        for v in values:
            req.headers[name] = v
    signer = FixedDateSigV4Auth(Credentials(args.key, args.secret, args.token), "lambda",
                                args.region, amz_date)
    signer.add_auth(req)
    if signer.last_sig != parts.get("Signature"):
        return "signature mismatch"
    return "ok"


class State:
    def __init__(self, script):
        self.script = script
        self.next = 0
        self.conns = 0
        self.lock = threading.Lock()
        self.busy = threading.Lock()  # rie mode: one invocation at a time
        self.running = None  # rie mode: the handler whose invocation is running
        self.crash_lock = threading.Lock()  # rie mode: taken once, by the crash

    def action(self):
        with self.lock:
            a = self.script[min(self.next, len(self.script) - 1)]
            self.next += 1
            return a

    def new_conn(self):
        with self.lock:
            self.conns += 1
            return self.conns


def make_handler(args, state, log):
    def write_log(obj):
        with state.lock:
            log.write(json.dumps(obj) + "\n")
            log.flush()

    def write_records(body):
        if not args.record_log:
            return
        try:
            ev = json.loads(body)
            lines = []
            for tp, recs in ev["records"].items():
                for r in recs:
                    k = base64.b64decode(r["key"]).decode() if "key" in r else None
                    v = base64.b64decode(r["value"]).decode() if "value" in r else None
                    lines.append("%s %d %s %s\n" % (tp, r["offset"], k, v))
        except (ValueError, KeyError, AttributeError, TypeError):
            lines = ["unparsable event\n"]
        with state.lock, open(args.record_log, "a") as f:
            f.write("".join(lines))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes
        server_version = "fake-lambda"
        sys_version = ""

        def setup(self):
            super().setup()
            self.conn_id = state.new_conn()
            write_log({"conn": self.conn_id, "event": "open"})

        def log_message(self, fmt, *a):
            pass

        def reply(self, status, body, headers=()):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error_reply(self, status, etype=None, msg=None):
            et, em = ERRORS.get(status, ("ServiceException", "error"))
            et, em = etype or et, msg or em
            hdrs = [("Content-Type", "application/json"), ("x-amzn-ErrorType", et)]
            if status == 429:
                hdrs.append(("Retry-After", "0"))
            self.reply(status, json.dumps({"Type": "User", "message": em}), hdrs)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            u = urllib.parse.urlsplit(self.path)
            entry = {"conn": self.conn_id, "path": u.path, "query": u.query, "body_len": n,
                     "invocation_type": self.headers.get("X-Amz-Invocation-Type"),
                     "content_type": self.headers.get("Content-Type")}
            if args.mode == "invoke":
                entry["sigv4"] = verify_sigv4(self, body, args)
                want = "/2015-03-31/functions/%s/invocations" % urllib.parse.quote(
                    args.function, safe="")
                if entry["sigv4"] != "ok":
                    entry["action"] = "403-signature"
                    write_log(entry)
                    return self.error_reply(
                        403, "InvalidSignatureException",
                        "The request signature we calculated does not match the signature you "
                        "provided.")
                if u.path != want:
                    entry["action"] = "404-path"
                    write_log(entry)
                    return self.error_reply(404)
            elif args.mode == "url":
                entry["sigv4"] = verify_sigv4(self, body, args)
                if entry["sigv4"] != "ok":
                    entry["action"] = "403-signature"
                    write_log(entry)
                    return self.error_reply(403, "AccessDeniedException", "Forbidden")
            elif u.path != "/2015-03-31/functions/function/invocations":
                entry["action"] = "404-path"
                write_log(entry)
                return self.reply(404, "404 page not found\n")
            if args.mode == "rie" and not state.busy.acquire(blocking=False):
                return self.crash(entry)
            try:
                if args.mode == "rie":
                    state.running = self
                a = state.action()
                entry["action"] = a
                write_log(entry)
                write_records(body)
                self.perform(a)
            finally:
                if args.mode == "rie":
                    write_log({"conn": self.conn_id, "event": "done", "action": entry["action"]})
                    state.running = None
                    state.busy.release()

        def crash(self, entry):
            # The emulator panics (ReserveFailed: AlreadyReserved, then a nil pointer): no reply
            # on either connection, and the process is gone. A third request racing in waits
            # here for the exit.
            state.crash_lock.acquire()
            entry["action"] = "crash"
            write_log(entry)
            write_log({"conn": self.conn_id, "event": "crash"})
            for h in (self, state.running):
                if h is not None:
                    try:
                        h.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            os._exit(2)

        def function_reply(self, status, body, headers=()):
            # The emulator sets no Content-Type: Go's sniffing calls JSON text/plain. The caller
            # may be gone (it gave up waiting): the function ran anyway, nobody reads the answer.
            if args.mode == "rie":
                headers = [("Content-Type", "text/plain; charset=utf-8")]
            try:
                self.reply(status, body, headers)
            except OSError:
                self.close_connection = True

        def run_function(self, secs):
            # Returns False when the emulator's own timeout ended the invocation (answered).
            if args.mode == "rie" and secs > args.rie_timeout:
                time.sleep(args.rie_timeout)
                self.function_reply(200, "Task timed out after %d.00 seconds" % args.rie_timeout)
                return False
            time.sleep(min(secs, args.lifetime))
            return True

        def perform(self, a):
            ok_body = json.dumps({"statusCode": 200})
            if a == "ok":
                self.function_reply(200, ok_body, [("Content-Type", "application/json"),
                                                   ("X-Amz-Executed-Version", "$LATEST")])
            elif a == "partial":
                self.function_reply(200, json.dumps({"batchItemFailures": [
                    {"itemIdentifier": {"partition": "t-0", "offset": 7}}]}))
            elif a == "unhandled":
                hdrs = [("X-Amz-Function-Error", "Unhandled")] if args.mode == "invoke" else []
                self.function_reply(200, json.dumps(ERROR_DOC), hdrs)
            elif a == "rie-timeout":
                self.run_function(float("inf"))
            elif a == "exit":
                self.function_reply(502, json.dumps({
                    "errorType": "Runtime.ExitError",
                    "errorMessage": "RequestId: 8f5e8a1c-0000-4000-8000-000000000000 Error: "
                                    "Runtime exited with error: exit status 1"}))
            elif a.isdigit():
                self.error_reply(int(a))
            elif a.startswith("slow:"):
                if self.run_function(float(a[5:])):
                    self.function_reply(200, ok_body)
            elif a == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif a == "chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                half = len(ok_body) // 2
                for piece in (ok_body[:half], ok_body[half:], ""):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece.encode()))
            else:
                self.reply(500, "unknown action " + a)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", choices=["invoke", "rie", "url"], default="invoke")
    ap.add_argument("--script", default="ok")
    ap.add_argument("--function", default="my-function")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--key", default="AKIDEXAMPLE")
    ap.add_argument("--secret", default="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    ap.add_argument("--token")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--rie-timeout", type=int, default=300)
    ap.add_argument("--record-log")
    ap.add_argument("--port", type=int, default=0)  # 0: any free port
    args = ap.parse_args()
    state = State(args.script.split(","))
    log = open(args.log, "a")
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args, state, log))
    srv.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Timer(args.lifetime, lambda: os._exit(0)).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
