"""Which process listens where: only the orders service on $PORT, the pricing service on
127.0.0.1 only, its address handed over in PRICING_URL, and its routes not served on $PORT."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from orders_kit import (
    PRICING,
    WORKER,
    assert_error,
    is_loopback,
    listeners,
    new_sku,
    pricing_port,
)


def environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        raw = f.read().split(b"\0")
    return dict(v.decode(errors="replace").partition("=")[::2] for v in raw if b"=" in v)


@pytest.mark.rules("pricing-loopback", "pricing-port", "pricing-url", "process-words")
def test_only_the_orders_service_listens_on_port_and_pricing_on_loopback(server, base_url):
    public = urlparse(base_url).port
    internal = pricing_port(server)
    assert internal != public
    found = listeners(server)
    held = {(a, p, PRICING in x["cmdline"]) for x in found for a, p in x["listening"]}
    for address, port, of_pricing in held:
        assert port in (public, internal), f"a process listens on {address}:{port}: {found}"
        assert is_loopback(address), f"{address}:{port} is not a loopback address"
        assert of_pricing == (port == internal), (address, port, found)
    for x in found:
        assert not (PRICING in x["cmdline"] and WORKER in x["cmdline"]), x["cmdline"]
    orders = [x for x in found if any(p == public for _, p in x["listening"])]
    assert orders, f"no process of the submission listens on {public}: {found}"
    for x in orders:
        assert PRICING not in x["cmdline"] and WORKER not in x["cmdline"], x["cmdline"]
        url = urlparse(environ(int(x["pid"])).get("PRICING_URL", ""))
        assert url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost"), url
        assert url.port == internal, (url.geturl(), internal)
    assert any(WORKER in x["cmdline"] for x in found), [x["cmdline"] for x in found]


@pytest.mark.rules("internal-not-public")
def test_the_pricing_routes_are_not_served_on_the_public_port(api, db):
    sku = new_sku()
    r = api.put(f"/prices/{sku}", json={"unit_price_cents": 1, "stock": 5})
    assert_error(r, 404, "not_found")
    assert db.scalar("SELECT count(*) FROM products WHERE sku = %s", (sku,)) == 0
    assert_error(api.get("/quote", params={"sku": "WIDGET-1", "quantity": "1"}), 404, "not_found")


@pytest.mark.rules("method-405")
def test_a_method_a_public_path_lacks_is_405(api):
    assert_error(api.delete("/v1/orders/1"), 405, "method_not_allowed")
    assert_error(api.put("/v1/orders", json={}), 405, "method_not_allowed")
