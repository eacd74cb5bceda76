"""Listen on many ports (5432/6379 and their neighbours among them); serve nothing useful."""

import os
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORTS = [
    *range(5430, 5440),
    *range(6375, 6385),
    80,
    443,
    3000,
    5000,
    8001,
    8080,
    8443,
    9000,
    *range(20000, 20050),
]

held = []
bound, refused = [], []
for port in PORTS:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        held.append(sock)
        bound.append(str(port))
    except OSError as ex:
        sock.close()
        refused.append(f"{port} ({ex.strerror})")
print(f"squatter: bound {' '.join(bound)}", flush=True)
print(f"squatter: refused {' '.join(refused)}", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
