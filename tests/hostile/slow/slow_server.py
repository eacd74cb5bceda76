"""Every answer takes 3 s: /health 200, everything else 404."""

import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY = 3.0


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY)
        ok = self.path == "/health"
        body = b'{"status": "ok"}' if ok else b'{"error": {"code": "not_found", "message": "no"}}'
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
