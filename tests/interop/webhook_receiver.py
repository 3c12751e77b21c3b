#!/usr/bin/env python3
"""A webhook receiver for keygate's tests, verifying with the official Standard Webhooks
package (`standardwebhooks`, tests/requirements.txt) — code nobody here wrote.

    webhook_receiver.py

Listens on 127.0.0.1 (a free port) and prints one JSON line: {"port": ..., "secret": "whsec_..."}
(a new random secret). Then:

    POST /hook      a delivery: verified with Webhook(secret).verify(body, headers); answered
                    500 while failures are asked for, 400 when the signature does not verify,
                    else 204. Every delivery is recorded.
    GET  /received  the deliveries so far, in order: id, timestamp, signature, verified, error,
                    status answered, body (parsed JSON, or null).
    POST /control   {"fail_next": N} answers the next N deliveries 500;
                    {"fail_all": true|false} answers every delivery 500 until turned off.

Stops when its standard input closes (the test ended).
"""
import base64
import json
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
LOCK = threading.Lock()
STATE = {"fail_next": 0, "fail_all": False, "received": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        if body:
            self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        return self.rfile.read(int(self.headers.get("content-length", "0")))

    def do_GET(self):
        if self.path != "/received":
            return self.answer(404)
        with LOCK:
            body = json.dumps(STATE["received"]).encode()
        self.answer(200, body)

    def do_POST(self):
        body = self.read_body()
        if self.path == "/control":
            asked = json.loads(body)
            with LOCK:
                STATE.update(asked)
            return self.answer(204)
        headers = {k: v for k, v in self.headers.items()}
        record = {
            "path": self.path,
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "content_type": headers.get("content-type"),
            "verified": False,
            "error": None,
            "body": None,
        }
        try:
            record["body"] = Webhook(SECRET).verify(body, headers)
            record["verified"] = True
        except WebhookVerificationError as e:
            record["error"] = str(e)
            try:
                record["body"] = json.loads(body)
            except ValueError:
                pass
        with LOCK:
            if not record["verified"]:
                status = 400
            elif STATE["fail_all"]:
                status = 500
            elif STATE["fail_next"] > 0:
                STATE["fail_next"] -= 1
                status = 500
            else:
                status = 204
            record["status"] = status
            STATE["received"].append(record)
        self.answer(status)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1], "secret": SECRET}), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the test closes it or ends
    server.shutdown()


if __name__ == "__main__":
    main()
