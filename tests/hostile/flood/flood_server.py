"""A server that answers /health and nothing else, and floods its output on every request."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.answer()

    def answer(self) -> None:
        sys.stdout.write("flood " * 20000 + "\n")
        sys.stderr.write("flood " * 20000 + "\n")
        ok = self.path == "/health"
        body = json.dumps({"status": "ok"} if ok else {"error": {"code": "not_found"}}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
