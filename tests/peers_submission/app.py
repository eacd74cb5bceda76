"""A tiny submission that talks to every peer (standard library only).

POST /notify posts its body to the webhook sink and mails it; GET /quote relays the upstream's
/rates. With a file NO_MAIL in the workspace it skips the mail: the broken variant.
"""

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(200, {"ok": True})
        elif self.path == "/quote":
            with urllib.request.urlopen(os.environ["UPSTREAM_URL"] + "/rates", timeout=5) as r:
                self.answer(200, json.load(r))
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        hook = urllib.request.Request(
            os.environ["WEBHOOK_SINK_URL"] + "/hooks",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(hook, timeout=5).close()
        if not os.path.exists("NO_MAIL"):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = (
                "app@example.test",
                "user@example.test",
                "notified",
            )
            message.set_content(body.decode())
            with smtplib.SMTP(
                os.environ["SMTP_HOST"], int(os.environ["SMTP_PORT"]), timeout=5
            ) as s:
                s.send_message(message)
        self.answer(202, {"sent": True})

    def answer(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
