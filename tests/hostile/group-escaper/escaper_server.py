"""GET /health answers 200, everything else 404; the process ends itself after 120 s."""

import os
import signal
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

signal.alarm(120)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
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


print(f"escaper: serving in a session of its own since {time.time():.1f}", flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
