"""The `payments` peer: a payment provider's charges API with idempotency keys, for scenarios
where a double charge is the failure that matters.

    POST /v1/charges   {"amount": int > 0, "currency": "eur", "reference": "..."}, with
                       `Authorization: Bearer <PAYMENTS_API_KEY>` and optionally `Idempotency-Key`
    GET  /v1/charges/{id}
    GET  /v1/charges?reference=...   the charges of one reference, oldest first

An idempotency key makes a retry safe, as at the providers it imitates: the same key and body
answer the first charge again (with `Idempotent-Replayed: true`); the same key with another body
is refused (422); a key whose first request is still in flight is refused (409). Tests program
faults per route (`POST /fault`): slow, failing or dropped calls, and with `commit` the charge is
made before the failure, which is the case that tempts a client to charge twice: it timed out,
but the money moved. The admin API lists every charge made (`GET /charges`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from backbench.peers._http import Request, Response
from backbench.peers.limits import Limits
from backbench.peers.store import Store, request_record
from backbench.peers.upstream import Program, parse_fault

# the sample's own: the provider is reachable only inside the sample's network
API_KEY = "pk_backbench_3b9f0c71"
ROUTES = ("create", "get", "list")
MAX_CHARGES = 10_000


@dataclass
class Charge:
    """A charge the provider made."""

    id: str
    amount: int
    currency: str
    reference: str | None
    idempotency_key: str | None
    created: float = field(default_factory=time.time)
    status: str = "succeeded"

    def public(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "idempotency_key"}


@dataclass
class Fault:
    """A route's programmed fault; with `commit`, failing create calls still make the charge."""

    program: Program
    commit: bool = False


@dataclass
class Keyed:
    """What one idempotency key has made: its request's digest and its charge."""

    digest: str
    charge: Charge


def _route(request: Request) -> str | None:
    if request.path == "/v1/charges":
        return {"POST": "create", "GET": "list"}.get(request.method)
    if request.path.startswith("/v1/charges/") and request.method == "GET":
        return "get"
    return None


def _error(status: int, code: str, message: str) -> Response:
    return Response.of_json(status, {"error": {"code": code, "message": message}})


def _parse_charge(body: bytes) -> tuple[dict[str, Any] | None, str]:
    """The charge a create asks for, or None and why not."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return None, "the body must be JSON"
    if not isinstance(data, dict):
        return None, "the body must be a JSON object"
    amount, currency, reference = data.get("amount"), data.get("currency"), data.get("reference")
    if type(amount) is not int or amount <= 0:
        return None, "amount must be a positive integer (minor units)"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        return None, "currency must be a three-letter code"
    if reference is not None and (not isinstance(reference, str) or len(reference) > 200):
        return None, "reference must be a string of at most 200 characters"
    return {"amount": amount, "currency": currency.lower(), "reference": reference}, ""


class PaymentsPeer:
    """Charges with idempotency keys, programmable faults, and a record of every call."""

    kind = "payments"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.store = Store(limits.max_records)
        self.charges: dict[str, Charge] = {}
        self.keys: dict[str, Keyed] = {}
        self.faults: dict[str, Fault] = {}
        self.in_flight: set[str] = set()

    def reset(self) -> None:
        self.store.clear()
        self.charges.clear()
        self.keys.clear()
        self.faults.clear()

    async def handle(self, request: Request) -> Response | None:
        route = _route(request)
        fault = self.faults.get(route or "") or self.faults.get("*")
        record = request_record(request)
        authorized = hmac.compare_digest(
            (request.header("authorization") or "").encode(), f"Bearer {API_KEY}".encode()
        )
        key = request.header("idempotency-key") if route == "create" else None
        if route is None:
            answer: Response | None = _error(404, "not_found", "no such route")
        elif not authorized:
            answer = _error(401, "unauthorized", "a valid API key is required")
        elif key is not None and key in self.in_flight:
            answer = _error(409, "idempotency_key_in_use", "the key's first request is running")
        else:
            if key is not None:
                self.in_flight.add(key)
            try:
                answer = await self.serve(route, request, fault)
            finally:
                self.in_flight.discard(key or "")
        self.store.add(
            {**record, "route": route, "outcome": answer.status if answer else "dropped"}
        )
        return answer

    async def serve(self, route: str, request: Request, fault: Fault | None) -> Response | None:
        """After the programmed delay: the fault, or the answer."""
        call = fault.program.next_call() if fault else "ok"
        if fault is not None:
            await asyncio.sleep(fault.program.delay_ms / 1000)
        if call == "ok" or fault is None:
            return self.answer(route, request)
        if route == "create" and fault.commit:
            self.create(request)  # the money moves; the client never hears of it
        if call == "drop":
            return None
        return _error(fault.program.fail_status, "provider_error", "try again later")

    def answer(self, route: str, request: Request) -> Response:
        if route == "create":
            return self.create(request)
        if route == "get":
            charge = self.charges.get(request.path.rsplit("/", 1)[1])
            if charge is None:
                return _error(404, "not_found", "no such charge")
            return Response.of_json(200, charge.public())
        reference = request.params().get("reference")
        found = [c.public() for c in self.charges.values() if c.reference == reference]
        return Response.of_json(200, {"data": found})

    def create(self, request: Request) -> Response:
        """Make a charge, or answer the one this idempotency key made."""
        wanted, why = _parse_charge(request.body)
        if wanted is None:
            return _error(400, "invalid_request", why)
        key = request.header("idempotency-key")
        digest = hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()
        if key is not None:
            seen = self.keys.get(key)
            if seen is not None and seen.digest != digest:
                return _error(422, "idempotency_key_reused", "the key was used with another body")
            if seen is not None:
                return Response.of_json(
                    200, seen.charge.public(), [("Idempotent-Replayed", "true")]
                )
        if len(self.charges) >= MAX_CHARGES:
            return _error(429, "rate_limited", "too many charges in this sample")
        charge = Charge(f"ch_{secrets.token_hex(8)}", idempotency_key=key, **wanted)
        self.charges[charge.id] = charge
        if key is not None:
            self.keys[key] = Keyed(digest, charge)
        return Response.of_json(201, charge.public())

    def admin(self, request: Request) -> Response | None:
        """GET /charges (every charge, with its idempotency key); POST /fault."""
        if (request.method, request.path) == ("GET", "/charges"):
            return Response.of_json(200, {"items": [asdict(c) for c in self.charges.values()]})
        if (request.method, request.path) != ("POST", "/fault"):
            return None
        body = request.json()
        route = str(body.get("route", "*"))
        try:
            if route not in (*ROUTES, "*"):
                raise ValueError(f"route must be one of {ROUTES} or *")
            program = parse_fault(body, self.limits)
        except ValueError as ex:
            return Response.of_json(422, {"error": str(ex)})
        self.faults[route] = Fault(program, bool(body.get("commit", False)))
        return Response.of_json(200, {"route": route})
