"""The `smtp` peer: an aiosmtpd server that keeps every message it accepts in an inbox.

No TLS; AUTH PLAIN and LOGIN are offered and any credentials are accepted (the login is
recorded), so a submission may log in or not. Sizes are bounded: the message by `max_message`
(552 beyond), the recipients by `max_recipients` (452 beyond), the inbox by `max_records`.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import logging
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from backbench.peers._http import Request, Response
from backbench.peers.limits import Limits
from backbench.peers.store import Store

HOSTNAME = "peers.backbench.test"


def _text_of(message: EmailMessage, subtype: str, cap: int) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        content = part.get_payload(decode=True) or b""
    text = content.decode(errors="replace") if isinstance(content, bytes) else str(content)
    # SMTP carries CRLF line ends; tests compare with Python strings
    return text.replace("\r\n", "\n")[:cap]


def message_record(envelope: Envelope, session: Session, limits: Limits) -> dict[str, Any]:
    """The JSON form of a received message: envelope, headers, plain and HTML text."""
    raw = envelope.original_content or envelope.content or b""
    raw_bytes = raw if isinstance(raw, bytes) else raw.encode()
    message = email.message_from_bytes(raw_bytes, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
    return {
        "time": time.time(),
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "auth_login": login.decode(errors="replace") if login else None,
        "headers": [[k, str(v)] for k, v in list(message.items())[: limits.max_headers]],
        "subject": str(message.get("Subject", "")),
        "text": _text_of(message, "plain", limits.body_cap),
        "html": _text_of(message, "html", limits.body_cap),
        "size": len(raw_bytes),
        "raw_b64": base64.b64encode(raw_bytes[: limits.body_cap]).decode(),
    }


class _Inbox:
    """aiosmtpd handler: refuses excess recipients, files each message in the store."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self.store = store
        self.limits = limits

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:  # fmt: skip
        if len(envelope.rcpt_tos) >= self.limits.max_recipients:
            return "452 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.store.add(message_record(envelope, session, self.limits))
        return "250 Message accepted for delivery"


def _accept_any(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    return AuthResult(success=True, auth_data=auth_data)


class SmtpPeer:
    """An SMTP inbox with the same admin API as the other peers."""

    kind = "smtp"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.store = Store(limits.max_records)
        self.inbox = _Inbox(self.store, limits)
        # aiosmtpd warns on every connection that AUTH without TLS is unsafe: it is on loopback
        logging.getLogger("mail.log").setLevel(logging.ERROR)

    def protocol(self) -> SMTP:
        """One SMTP session (the protocol factory of the listening socket)."""
        return SMTP(
            self.inbox, data_size_limit=self.limits.max_message, enable_SMTPUTF8=True,
            hostname=HOSTNAME, timeout=self.limits.smtp_timeout, auth_require_tls=False,
            authenticator=_accept_any,
        )  # fmt: skip

    async def start(self, host: str, port: int) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        return await loop.create_server(self.protocol, host, port)

    def reset(self) -> None:
        self.store.clear()

    def admin(self, request: Request) -> Response | None:
        return None
