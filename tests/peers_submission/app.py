"""A tiny submission that talks to every peer (standard library only).

POST /notify posts its body to the webhook sink and mails it; GET /quote relays the upstream's
/rates; GET /store reads the object store unsigned; GET /pay charges twice with one idempotency
key; GET /login and /callback log in at the OpenID provider (the ID token's payload read, not
verified: the provider is what is under test). With a file NO_MAIL in the workspace it skips the
mail: the broken variant.
"""

import base64
import json
import os
import smtplib
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CALLBACK = f"http://127.0.0.1:{os.environ['PORT']}/callback"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self.answer(200, {"ok": True})
        elif self.path == "/login":
            params = {
                "response_type": "code", "client_id": os.environ["OIDC_CLIENT_ID"],
                "redirect_uri": CALLBACK, "scope": "openid", "state": "s1", "nonce": "n1",
            }  # fmt: skip
            self.send_response(302)
            location = os.environ["OIDC_ISSUER"] + "/authorize?" + urllib.parse.urlencode(params)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/callback?"):
            self.answer(200, self.exchange(urllib.parse.parse_qs(self.path.split("?", 1)[1])))
        elif self.path == "/store":  # unsigned: the store's front must refuse it
            url = f"{os.environ['AWS_ENDPOINT_URL_S3']}/{os.environ['S3_BUCKET']}/note.txt"
            try:
                urllib.request.urlopen(url, timeout=5).close()
                self.answer(200, {"store": 200})
            except urllib.error.HTTPError as ex:
                self.answer(200, {"store": ex.code})
        elif self.path == "/pay":  # one charge, keyed so that a retry cannot charge twice
            charge = urllib.request.Request(
                os.environ["PAYMENTS_URL"] + "/v1/charges", method="POST",
                data=json.dumps({"amount": 500, "currency": "eur", "reference": "e2e"}).encode(),
                headers={"Authorization": f"Bearer {os.environ['PAYMENTS_API_KEY']}",
                         "Idempotency-Key": "e2e-1", "Content-Type": "application/json"},
            )  # fmt: skip
            for _ in range(2):
                with urllib.request.urlopen(charge, timeout=5) as answer:
                    made = json.load(answer)
            self.answer(200, {"charge": made["id"]})
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

    def exchange(self, query: dict[str, list[str]]) -> dict[str, object]:
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": CALLBACK,
            "client_id": os.environ["OIDC_CLIENT_ID"],
            "client_secret": os.environ["OIDC_CLIENT_SECRET"],
        }).encode()  # fmt: skip
        request = urllib.request.Request(os.environ["OIDC_ISSUER"] + "/token", data=form)
        with urllib.request.urlopen(request, timeout=5) as answer:
            payload = json.load(answer)["id_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return {"sub": claims["sub"], "nonce": claims["nonce"], "state": query["state"][0]}

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
