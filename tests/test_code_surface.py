"""The static reading of a submission's source: routes, request keys, regexes and literals."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from backbench.scoring.code_surface import MAX_ROUTES, code_surface, code_surface_of


def routes(surface: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["method"], r["path"]) for r in surface["routes"]}


def params(surface: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(p["name"], p["in"], p["route"]) for p in surface["params"]}


def route_params(surface: dict[str, Any], method: str, path: str) -> set[tuple[str, str]]:
    [route] = [r for r in surface["routes"] if (r["method"], r["path"]) == (method, path)]
    return {(p["name"], p["in"]) for p in route["params"]}


def literal_values(surface: dict[str, Any]) -> list[str]:
    return [lit["value"] for lit in surface["literals"]]


FASTAPI = """
from typing import Annotated
from fastapi import APIRouter, Body, Cookie, Depends, FastAPI, Header, Query, Request
from pydantic import BaseModel

app = FastAPI()
router = APIRouter(prefix="/v1")

class Item(BaseModel):
    name: str

@router.get("/items/{item_id:int}")
async def read_item(item_id: int, request: Request, sort: str = "id",
                    limit: int = Query(10, alias="max"),
                    x_client_id: Annotated[str | None, Header()] = None,
                    session: str | None = Cookie(None), db=Depends(lambda: None)):
    flt = request.query_params.get("filter")
    return {}

@router.post("/items")
def create(item: Item, note: str = Body(...)):
    return item

@app.api_route("/health", methods=["GET", "HEAD"])
def health():
    return {}

def listing(page: int = 1):
    return []

app.add_api_route("/list", listing, methods=["GET"])
app.include_router(router, prefix="/api")
"""


def test_fastapi_routes_combine_the_router_and_include_prefixes() -> None:
    surface = code_surface({"main.py": FASTAPI})
    assert routes(surface) == {
        ("GET", "/api/v1/items/{item_id}"), ("POST", "/api/v1/items"), ("GET", "/health"),
        ("HEAD", "/health"), ("GET", "/list"),
    }  # fmt: skip


def test_fastapi_handler_arguments_are_request_parameters() -> None:
    surface = code_surface({"main.py": FASTAPI})
    item = "GET /api/v1/items/{item_id}"
    assert route_params(surface, "GET", "/api/v1/items/{item_id}") == {
        ("filter", "query"), ("sort", "query"), ("max", "query"), ("x-client-id", "header"),
        ("session", "cookie"),
    }  # fmt: skip
    assert ("x-client-id", "header", item) in params(surface)
    # the model-typed body, the request, the dependency and the path parameter are not
    assert route_params(surface, "POST", "/api/v1/items") == {("note", "body")}
    assert route_params(surface, "GET", "/list") == {("page", "query")}


def test_fastapi_router_in_another_module_is_found_through_its_import() -> None:
    items = """
from fastapi import APIRouter
router = APIRouter(prefix="/items")
@router.delete("/{item_id}")
def drop(item_id: int, force: bool = False): ...
"""
    main = """
from fastapi import FastAPI
from app.routers import items
app = FastAPI()
app.include_router(items.router, prefix="/api")
"""
    surface = code_surface({"app/main.py": main, "app/routers/items.py": items})
    assert routes(surface) == {("DELETE", "/api/items/{item_id}")}
    assert ("force", "query", "DELETE /api/items/{item_id}") in params(surface)


def test_fastapi_arguments_typed_by_an_alias_from_another_module_are_read() -> None:
    schemas = """
from typing import Annotated
from fastapi import Header, Query
SortBy = Annotated[str | None, Query(alias="sort_by")]
Limit = Annotated[int, Query(ge=1, le=100)]
Trace = Annotated[str | None, Header()]
"""
    routes_file = """
from fastapi import FastAPI
from app.schemas import Limit, SortBy, Trace
app = FastAPI()
@app.get("/things")
def things(order: SortBy = None, limit: Limit = 20, x_trace: Trace = None): ...
"""
    surface = code_surface({"app/schemas.py": schemas, "app/main.py": routes_file})
    found = params(surface)
    assert {("sort_by", "query", "GET /things"), ("limit", "query", "GET /things"),
            ("x-trace", "header", "GET /things")} <= found  # fmt: skip
    assert ("order", "query", "GET /things") not in found  # the alias renames it


FLASK = """
from flask import Blueprint, Flask, request

bp = Blueprint("admin", __name__, url_prefix="/admin")
app = Flask(__name__)

@bp.route("/users/<int:uid>", methods=["GET", "POST"])
def user(uid):
    page = request.args.get("page", 1)
    data = request.get_json()
    name = data["name"]
    token = request.cookies.get("session")
    if "debug" in request.args:
        pass
    return {}

@app.route("/stats/<path:rest>")
def stats(rest):
    return {"x": request.form["field"]}

def ping():
    return request.headers["X-Trace"]

app.register_blueprint(bp, url_prefix="/backoffice")
app.add_url_rule("/ping", view_func=ping, methods=["POST"])
"""


def test_flask_blueprint_routes_take_the_registered_prefix() -> None:
    surface = code_surface({"app.py": FLASK})
    assert routes(surface) == {
        ("GET", "/backoffice/users/{uid}"), ("POST", "/backoffice/users/{uid}"),
        ("GET", "/stats/{rest}"), ("POST", "/ping"),
    }  # fmt: skip


def test_flask_request_reads_are_the_handlers_parameters() -> None:
    surface = code_surface({"app.py": FLASK})
    assert route_params(surface, "POST", "/backoffice/users/{uid}") == {
        ("page", "query"), ("name", "body"), ("session", "cookie"), ("debug", "query"),
    }  # fmt: skip
    assert ("field", "form", "GET /stats/{rest}") in params(surface)
    assert ("X-Trace", "header", "POST /ping") in params(surface)


def test_django_paths_re_paths_and_includes() -> None:
    urls = """
from django.urls import path, re_path
from . import views
urlpatterns = [
    path("items/<int:pk>/", views.item_detail),
    re_path(r"^orders/(?P<order_id>\\d+)/$", views.order),
]
"""
    root = (
        'from django.urls import include, path\nurlpatterns = [path("api/", include("shop.urls"))]'
    )
    views = """
def item_detail(request, pk):
    q = request.GET.get("q")
    hop = request.META.get("HTTP_X_FORWARDED_FOR")
    addr = request.META.get("REMOTE_ADDR")

def order(request, order_id):
    return request.POST.get("qty")
"""
    surface = code_surface({"shop/urls.py": urls, "urls.py": root, "shop/views.py": views})
    assert routes(surface) == {("ANY", "/api/items/{pk}/"), ("ANY", "/api/orders/{order_id}/")}
    assert route_params(surface, "ANY", "/api/items/{pk}/") == {
        ("q", "query"), ("X-Forwarded-For", "header"),
    }  # fmt: skip
    assert ("qty", "form", "ANY /api/orders/{order_id}/") in params(surface)


def test_aiohttp_route_tables_and_router_calls() -> None:
    source = r"""
from aiohttp import web
routes = web.RouteTableDef()

@routes.get("/users/{id:\d+}")
async def user(request):
    body = await request.json()
    return web.json_response({"n": body.get("nick"), "e": request.query.get("expand")})

async def stats(request):
    form = await request.post()
    return web.Response(text=form["k"])

app = web.Application()
app.router.add_get("/stats/{name:[a-z]{1,3}}", stats)
app.router.add_route("DELETE", "/users/{id}", user)
app.add_routes([web.post("/upload", stats)])
"""
    surface = code_surface({"server.py": source})
    assert routes(surface) == {
        ("GET", "/users/{id}"), ("GET", "/stats/{name}"), ("DELETE", "/users/{id}"),
        ("POST", "/upload"),
    }  # fmt: skip
    assert route_params(surface, "GET", "/users/{id}") == {("nick", "body"), ("expand", "query")}
    assert ("k", "form", "POST /upload") in params(surface)


def test_starlette_route_lists_and_mounts() -> None:
    source = """
from starlette.applications import Starlette
from starlette.routing import Mount, Route
async def home(request):
    return request.query_params["lang"]
routes = [Route("/", home), Route("/users/{name:str}", home, methods=["PUT"]),
          Mount("/admin", routes=[Route("/stats", home, methods=["POST"])])]
app = Starlette(routes=routes)
"""
    surface = code_surface({"app.py": source})
    assert routes(surface) == {("GET", "/"), ("PUT", "/users/{name}"), ("POST", "/admin/stats")}
    assert ("lang", "query", "POST /admin/stats") in params(surface)


def test_plain_http_server_handler() -> None:
    source = r"""
import json, re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        found = parse_qs(url.query)
        page = found["page"][0]
        if url.path == "/health":
            return
        if url.path in ("/notes", "/notes/"):
            return
        if self.path.startswith("/admin/"):
            token = self.headers.get("X-Admin-Token")
        note = re.fullmatch(r"/notes/(\d+)(/?)", url.path)

    def do_POST(self):
        if self.path == "/notes":
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            title = body.get("title")
"""
    surface = code_surface({"server.py": source})
    assert routes(surface) == {
        ("GET", "/health"), ("GET", "/notes"), ("GET", "/notes/"), ("GET", "/admin/"),
        ("GET", "/notes/{id}"), ("POST", "/notes"),
    }  # fmt: skip
    assert {("page", "query", None), ("X-Admin-Token", "header", None),
            ("title", "body", None)} <= params(surface)  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "normalised"),
    [("/a/<int:id>", "/a/{id}"), ("/a/<id>/b", "/a/{id}/b"), ("/a/{id:int}", "/a/{id}"),
     (r"/a/{id:\d{1,3}}/b", "/a/{id}/b"), ("/a/<string(length=2):code>", "/a/{code}")],
)  # fmt: skip
def test_path_parameters_are_normalised(rule: str, normalised: str) -> None:
    source = f"from flask import Flask\napp = Flask(__name__)\n@app.route({rule!r})\ndef f(): ..."
    assert routes(code_surface({"app.py": source})) == {("GET", normalised)}


def test_keys_that_are_not_parameter_names_are_dropped() -> None:
    source = (
        "from flask import request\n"
        "def f():\n"
        "    request.args.get('ok_name-1')\n"
        "    request.args.get('has space')\n"
        f"    request.args.get('{'x' * 41}')\n"
        "    params.get('loose')\n"
    )
    assert params(code_surface({"a.py": source})) == {
        ("ok_name-1", "query", None), ("loose", "any", None),
    }  # fmt: skip


def seconds_running(pattern: str, text: str, wait: float = 1.5) -> float:
    """How long CPython's re.search of `pattern` on `text` ran, stopped after `wait` s."""
    code = "import re, sys; re.search(sys.argv[1], sys.argv[2])"
    start = time.monotonic()
    child = subprocess.Popen([sys.executable, "-c", code, pattern, text])
    try:
        child.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("pattern", "kind"),
    [(r"^(x+x+)+y$", "exponential"), (r"^[a-z0-9]+[a-z0-9_]*[a-z0-9]+\.json$", "polynomial")],
)
def test_vulnerable_regex_gets_an_attack_string_that_really_is_slow(
    pattern: str, kind: str
) -> None:
    source = f"import re\nNAME = re.compile({pattern!r})\n"
    [regex] = code_surface({"a.py": source})["regexes"]
    assert (regex["pattern"], regex["kind"], regex["line"]) == (pattern, kind, 2)
    assert len(regex["attack"]) <= 100_000
    assert seconds_running(pattern, regex["attack"][:12]) < 1.5  # the measure can see fast
    assert seconds_running(pattern, regex["attack"]) >= 1.5


def test_regexes_are_found_in_fields_assignments_and_imported_functions() -> None:
    source = r"""
from re import compile as rx
from pydantic import BaseModel, Field
USERNAME_RE = "^([a-z]+)*$"
class Item(BaseModel):
    sku: str = Field(pattern=r"^(\w+\s?)*$")
CHECK = rx(r"^(\d+)+$")
"""
    found = {r["pattern"]: r["kind"] for r in code_surface({"a.py": source})["regexes"]}
    assert found == {
        "^([a-z]+)*$": "exponential", r"^(\w+\s?)*$": "exponential", r"^(\d+)+$": "exponential",
    }  # fmt: skip


def test_safe_and_unparsable_regexes_yield_nothing() -> None:
    source = "import re\nSLUG = re.compile(r'^[a-z0-9-]{1,40}$')\nBAD_RE = '(unclosed'\n"
    assert code_surface({"a.py": source})["regexes"] == []


def test_analysis_of_a_hostile_pattern_is_bounded() -> None:
    source = f"import re\nHOSTILE_RE = {'(?:a*x)?' * 60!r}\nre.compile(r'^(a+)+$')\n"
    start = time.monotonic()
    surface = code_surface({"a.py": source})
    assert time.monotonic() - start < 10
    assert [r["pattern"] for r in surface["regexes"]] == ["^(a+)+$"]


def test_literals_environment_defaults_and_credentials_first() -> None:
    source = '''
import os
from flask import request

"""A module docstring-secret-1 that is no credential."""
SECRET = os.environ.get("APP_SECRET", "dev-secret")
PORT = os.getenv("PORT", "8000")
ADMIN_TOKEN = "s3cr3t-admin"
content_type = "application/json"

def check():
    """Check a docstring-secret-2."""
    if request.headers.get("X-Backdoor") == "letmein":
        return f"token-{ADMIN_TOKEN}-suffix"
    return "http://example.com/x-123"
'''
    surface = code_surface({"app.py": source})
    values = literal_values(surface)
    assert values[:3] == ["dev-secret", "s3cr3t-admin", "8000"]
    assert "letmein" in values  # compared with a request header
    env = {lit["value"]: lit["env_default"] for lit in surface["literals"]}
    assert env["dev-secret"] is True and env["s3cr3t-admin"] is False
    leaked = [v for v in values if "docstring" in v or "suffix" in v or "/" in v]
    assert leaked == []


def test_plain_words_stay_out_but_digits_and_punctuation_stay_in() -> None:
    source = "X = ['application_json', 'some_module_name', 'admin123', 'changeme!', 'Passw0rd']\n"
    assert literal_values(code_surface({"a.py": source})) == ["admin123", "changeme!", "Passw0rd"]


def test_a_file_that_does_not_parse_is_skipped() -> None:
    good = "from flask import Flask\napp = Flask(__name__)\n@app.get('/ok')\ndef ok(): ..."
    surface = code_surface({"bad.py": "def broken(:\n    '/nope'", "good.py": good,
                            "nul.py": "x = 1\0"})  # fmt: skip
    assert routes(surface) == {("GET", "/ok")}
    assert {r["file"] for r in surface["routes"]} == {"good.py"}


def test_lists_are_bounded_and_deduplicated() -> None:
    lines = ["from flask import Flask, request", "app = Flask(__name__)"]
    for i in range(MAX_ROUTES + 50):
        lines += [f"@app.get('/r{i}')", f"def h{i}():", "    request.args.get('same')",
                  f"    request.args.get('p{i}')", f"    return 'token-{i}-x'"]  # fmt: skip
    lines += ["@app.get('/r0')", "def again(): ..."]
    surface = code_surface({"a.py": "\n".join(lines)})
    assert len(surface["routes"]) == MAX_ROUTES
    assert len(surface["params"]) == 200 and len(surface["literals"]) == 60
    assert len({(r["method"], r["path"]) for r in surface["routes"]}) == MAX_ROUTES
    json.dumps(surface)


def test_workspace_reading_follows_no_link_and_survives_bad_bytes(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.py").write_text(
        "from flask import Flask\napp = Flask(__name__)\nLEAK_TOKEN = 'outside-secret-9'\n"
        "@app.get('/leaked')\ndef leaked(): ...\n"
    )
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "app.py").write_bytes(
        b"# caf\xe9 \xff\xfe\nfrom flask import Flask\napp = Flask(__name__)\n"
        b"@app.get('/latin')\ndef latin(): ...\n"
    )
    (workspace / "broken.py").write_text("def (:\n")
    os.symlink(outside / "leak.py", workspace / "link.py")
    os.symlink(outside, workspace / "pkg")
    surface = code_surface_of(workspace)
    assert routes(surface) == {("GET", "/latin")}
    assert "outside-secret-9" not in literal_values(surface)
