"""The hostile submissions' stand-in server: GET /health answers 200, everything else 404.

The test copies this file into every hostile submission before it is submitted.
    --all-ok     answer 200 with a JSON body to every request, not only /health
    --delay S    wait S seconds before every answer
    --dribble S  send every answer's body one byte each S seconds
    --flood      write 120 KB to stdout and stderr on every request
    --alarm S    end the process after S seconds
    --banner T   print T (with the start time) once serving
"""

import argparse
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--all-ok", action="store_true")
parser.add_argument("--delay", type=float, default=0.0)
parser.add_argument("--dribble", type=float, default=0.0)
parser.add_argument("--flood", action="store_true")
parser.add_argument("--alarm", type=int, default=0)
parser.add_argument("--banner", default="")
ARGS = parser.parse_args()

OK = b'{"status": "ok"}'
NOT_FOUND = b'{"error": {"code": "not_found", "message": "no"}}'


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(ARGS.delay)
        if ARGS.flood:
            sys.stdout.write("flood " * 20000 + "\n")
            sys.stderr.write("flood " * 20000 + "\n")
        ok = ARGS.all_ok or self.path == "/health"
        body = OK if ok else NOT_FOUND
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not ARGS.dribble:
            self.wfile.write(body)
            return
        for i in range(len(body)):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            time.sleep(ARGS.dribble)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


if ARGS.alarm:
    signal.alarm(ARGS.alarm)
if ARGS.banner:
    print(f"{ARGS.banner} {time.time():.1f}", flush=True)
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
