"""The schema of scenario.yaml: pydantic models, and its errors as one line per problem.

Every model forbids keys it does not define, so a misspelled key is an error, not a silently
ignored setting. Names of services, peers and probe kinds are checked against
backbench.registry. `field_errors()` turns pydantic's errors into (field, message) pairs such as
("probes.exclude[0].family", "unknown probe family 'sqli'; expected one of ...").
The JSON Schema (`json_schema()`) is committed as docs/scenario.schema.json for editors.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from backbench.jwt_mint import JWT_PLACEHOLDER, private_key
from backbench.registry import DELIVERABLE_KINDS, KIND_CHECKS, PEERS, PROBE_KINDS, SERVICES, one_of

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _registered(registry: Mapping[str, object], what: str) -> Any:
    """A validator that accepts only the names of `registry`, naming them when it refuses."""

    def check(name: str) -> str:
        if name not in registry:
            raise ValueError(f"unknown {what} {name!r}; expected one of {one_of(registry)}")
        return name

    return AfterValidator(check)


def _enum(registry: Mapping[str, object], what: str) -> WithJsonSchema:
    """The JSON Schema of a registry name: an enum, so editors can complete it."""
    return WithJsonSchema({"type": "string", "enum": sorted(registry), "description": what})


def _one_line(text: str) -> str:
    if not text.strip() or "\n" in text.strip():
        raise ValueError("must be one non-empty line")
    return text.strip()


Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]
OneLine = Annotated[str, AfterValidator(_one_line)]
# how hard a scenario is for an agent (docs/scenarios.md#difficulty says how it is judged)
Difficulty = Literal["easy", "medium", "hard"]
ServiceName = Annotated[str, _registered(SERVICES, "service"), _enum(SERVICES, "a service")]
PeerName = Annotated[str, _registered(PEERS, "peer"), _enum(PEERS, "a peer")]
ProbeKindName = Annotated[
    str, _registered(PROBE_KINDS, "probe family"), _enum(PROBE_KINDS, "a probe family")
]
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
Headers = dict[str, str]


class Strict(BaseModel):
    """Base of every model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class LoadRequest(Strict):
    """One request of the load mix; {uuid}, {secret} and {jwt} (a fresh token of probes.jwt)
    are substituted in every string."""

    name: OneLine = Field(description="label of the request in locust's statistics")
    method: Method = Field("GET", description="HTTP method")
    path: str = Field(description="path and query, e.g. /v1/items?limit=20")
    weight: int = Field(1, ge=1, description="relative frequency in the mix")
    headers: Headers = Field(default_factory=dict, description="request headers")
    body: Any = Field(None, alias="json", description="JSON body (omitted when null)")


class Load(Strict):
    """The load profile: locust users sending the weighted request mix back to back."""

    users: int = Field(8, ge=1, description="concurrent locust users")
    spawn_rate: float | None = Field(
        None, gt=0, description="users started per second (default: all at once)"
    )
    requests: list[LoadRequest] = Field(min_length=1, description="the weighted request mix")


class Slo(Strict):
    """What the reference's load figures must meet; a mutant may be caught by missing one."""

    p95_ms: float | None = Field(
        None, gt=0,
        description="95th percentile latency at most, ms: only with -T load_baseline=none",
    )  # fmt: skip
    error_rate: float | None = Field(
        None, ge=0, le=1, description="fraction of load requests that fail, at most"
    )
    p95_ratio: float | None = Field(
        None, gt=0, description="p95 at most this multiple of the reference's, measured beside it"
    )
    rps_ratio: float | None = Field(
        None, gt=0,
        description="requests/s at least this share of the reference's, measured beside it",
    )  # fmt: skip

    @model_validator(mode="after")
    def _sets_a_metric(self) -> Slo:
        if not self.metrics():
            raise ValueError(f"set at least one of {one_of(Slo.model_fields)}")
        return self

    def metrics(self) -> dict[str, float]:
        """The metrics this SLO sets."""
        return {k: float(v) for k, v in self.model_dump(exclude_none=True).items()}


class Credentials(Strict):
    """How a client authenticates: the token of the document's security scheme."""

    scheme: str = Field(
        "", description="the securityScheme of openapi.yaml (default: its first one)"
    )
    token: str = Field(
        description="the credential's value; {secret} is APP_SECRET, {jwt} a fresh token of "
        "probes.jwt"
    )


# claims the harness sets itself on every token it mints (backbench.scoring.exploits.tokens)
REGISTERED_CLAIMS = ("aud", "iss", "iat", "nbf", "exp")


class Jwt(Strict):
    """JWT bearer authentication: the tokens the harness mints, which the submission must accept
    (valid ones) or refuse (forged, expired, for another audience or issuer)."""

    key: str = Field(
        "{secret}",
        min_length=1,
        description="the HMAC signing key ({secret} is APP_SECRET), or for RS256 the PEM private "
        "key whose public key the prompt gives",
    )
    algorithm: Literal["HS256", "HS384", "HS512", "RS256"] = Field(
        "HS256", description="the signing algorithm"
    )
    key_id: str | None = Field(
        None, description="the kid header of every token minted (a server may hold several keys)"
    )
    audience: str | None = Field(None, description="the aud claim the submission must require")
    issuer: str | None = Field(None, description="the iss claim the submission must require")
    claims: dict[str, Any] = Field(
        default_factory=dict, description="further claims of every token, e.g. {sub: alice}"
    )
    lifetime_seconds: int = Field(
        300, ge=30, le=86400, description="seconds from a valid token's iat to its exp"
    )
    revoke: str | None = Field(
        None,
        description="the operation that revokes the token it is sent with (a logout; "
        "operationId or 'METHOD /path'): a revoked token must be refused",
    )

    @model_validator(mode="after")
    def _rsa_key_is_a_private_pem(self) -> Jwt:
        if self.algorithm.startswith("RS"):
            try:
                private_key(self.key)
            except ValueError as ex:
                raise ValueError(
                    f"an {self.algorithm} key must be a PEM RSA private key: {ex}"
                ) from ex
        return self

    @model_validator(mode="after")
    def _no_registered_claims(self) -> Jwt:
        # the harness sets these per token: a fixed value would defeat the forged variants
        clash = sorted(set(self.claims) & set(REGISTERED_CLAIMS))
        if clash:
            raise ValueError(
                f"claims may not set {', '.join(clash)}: audience, issuer and lifetime_seconds "
                "say them"
            )
        return self


class Principal(Strict):
    """A user the authorization probes act as: a literal token, or claims of a minted JWT."""

    token: str | None = Field(None, description="the user's credential; {secret} is APP_SECRET")
    claims: dict[str, Any] | None = Field(
        None, description="claims of the user's JWT, minted like probes.jwt's (needs jwt)"
    )
    admin: bool = Field(False, description="whether the user may call the admin_only operations")

    @model_validator(mode="after")
    def _one_credential(self) -> Principal:
        if (self.token is None) == (self.claims is None):
            raise ValueError("set exactly one of token, claims")
        return self


class Owned(Strict):
    """A kind of object a user owns: the operations (operationId or 'METHOD /path') on it."""

    create: str = Field(description="the operation that creates one, as its owner")
    read: str = Field(description="the operation that reads one by its id")
    update: str | None = Field(None, description="the operation that changes one")
    delete: str | None = Field(None, description="the operation that deletes one")
    id_field: str = Field("id", description="the field of create's answer holding the id")
    owner_fields: list[str] = Field(
        default_factory=list,
        description="body fields that would name the owner, which the submission must not honour "
        "(default: owner, owner_id, user_id, user, created_by, author, author_id)",
    )


class Login(Strict):
    """An account a client registers and logs into, and how many wrong passwords the contract
    lets it try before the account refuses every login for a while (the right one too)."""

    signup: str = Field(
        description="the operation that creates an account (operationId or 'METHOD /path')"
    )
    login: str = Field(description="the operation that logs in with a name and a password")
    username_field: str = Field("username", description="the body field of the account's name")
    password_field: str = Field("password", description="the body field of the password")
    attempts: int = Field(
        ge=1,
        le=20,
        description="wrong passwords an account may be sent before its logins are refused",
    )


class SessionForm(Strict):
    """A state-changing form post of a logged-in user, and a page that shows what it stored."""

    action: str = Field(description="the form post (operationId or 'METHOD /path')")
    shows: str = Field(
        description="a GET page (operationId or 'METHOD /path') on which what the post stored "
        "appears to the same user"
    )


class Session(Strict):
    """Browser sessions: form posts that sign up and log in and set a session cookie, and the
    form posts a logged-in user makes, each protected by a token field (the sessions family)."""

    signup: str | None = Field(
        None,
        description="the form post that creates an account and logs it in (operationId or "
        "'METHOD /path'); without it the probe cannot get an account",
    )
    login: str = Field(description="the form post that logs in and sets the session cookie")
    username_field: str = Field("username", description="the form field of the account's name")
    password_field: str = Field("password", description="the form field of the password")
    cookie: str | None = Field(
        None, description="the session cookie's name (default: every cookie the login sets)"
    )
    token_field: str = Field(
        "csrf_token", description="the hidden form field carrying the anti-CSRF token"
    )
    forms: list[SessionForm] = Field(
        default_factory=list, description="state-changing form posts of a logged-in user"
    )


class RedisKey(Strict):
    """An input that the submission turns into a Redis key."""

    name: str = Field(description="the parameter's name, as in openapi.yaml")
    located: Literal["header", "query"] = Field(
        alias="in", description="where the parameter is sent"
    )


class Exclusion(Strict):
    """A probe family, CWE or operation left out, with why."""

    family: ProbeKindName | None = Field(None, description="a probe family")
    cwe: int | None = Field(None, description="one CWE of the scenario's families")
    operation: str | None = Field(
        None, description="an operation, e.g. 'GET /v1/items' (with family: only that family's)"
    )
    reason: OneLine = Field(description="why, in one line")

    @model_validator(mode="after")
    def _names_something(self) -> Exclusion:
        if self.family is None and self.cwe is None and self.operation is None:
            raise ValueError("name a family, a cwe or an operation")
        return self


class ProbeSurface(Strict):
    """What the security probes need that openapi.yaml cannot say; the probes come from both."""

    credentials: Credentials | None = Field(
        None, description="the credential of the operations that require one"
    )
    jwt: Jwt | None = Field(
        None, description="JWT bearer tokens the submission must verify (the tokens family)"
    )
    redis_keys: list[RedisKey] = Field(
        default_factory=list, description="inputs that become Redis keys"
    )
    url_fields: list[str] = Field(default_factory=list, description="fields holding URLs")
    cors_origins: list[str] = Field(
        default_factory=list,
        description="the origins the contract trusts with credentials: the cors family also "
        "sends near misses of each (another scheme or port, a longer host, a host under it)",
    )
    file_fields: list[str] = Field(default_factory=list, description="fields holding file names")
    html_fields: list[str] = Field(default_factory=list, description="fields served back as HTML")
    exclude: list[Exclusion] = Field(
        default_factory=list, description="probes left out, each with a reason"
    )
    principals: dict[str, Principal] = Field(
        default_factory=dict, description="users the authorization probes act as, by name"
    )
    owned: list[Owned] = Field(
        default_factory=list, description="objects each user owns, which others may not touch"
    )
    admin_only: list[str] = Field(
        default_factory=list,
        description="operations only an admin principal may call (operationId or 'METHOD /path')",
    )
    login: Login | None = Field(
        None, description="an account's login and its throttle (the login_throttling family)"
    )

    session: Session | None = Field(
        None,
        description="browser sessions and their forms (the sessions family: CSRF, the cookie's "
        "HttpOnly)",
    )

    @model_validator(mode="after")
    def _claims_need_jwt(self) -> ProbeSurface:
        minted = sorted(n for n, p in self.principals.items() if p.claims is not None)
        if minted and self.jwt is None:
            raise ValueError(f"principals {', '.join(minted)} set claims: declare jwt too")
        if self.credentials and JWT_PLACEHOLDER in self.credentials.token and self.jwt is None:
            raise ValueError("credentials.token says {jwt}: declare jwt too")
        return self


class Catches(Strict):
    """The one check that must catch a mutant (backbench.registry.CHECK_KINDS)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    test: str | None = Field(None, description="a hidden test function that must fail")
    probe: str | None = Field(None, description="a CWE the probes must prove: cwe-<n>")
    slo: str | None = Field(None, description="an SLO metric the load test must miss")
    check: str | None = Field(
        None, description="a check of the deliverable's kind that must fail, e.g. speedup"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Catches:
        if len(self.model_dump(exclude_none=True)) != 1:
            raise ValueError(f"set exactly one of {one_of(Catches.model_fields)}")
        return self

    def kind_target(self) -> tuple[str, str]:
        """(check kind, target), e.g. ('test', 'test_create_item')."""
        [(kind, target)] = self.model_dump(exclude_none=True).items()
        return kind, str(target)


class MutantSpec(Strict):
    """A deliberately broken variant of the reference: mutants/<name>.patch."""

    name: Slug = Field(description="the patch is mutants/<name>.patch")
    catches: Catches = Field(description="the one check that must catch it")


class RuleSource(Strict):
    """Where a rule is stated, quoted: the quote must occur in the file (whitespace-normalised)."""

    file: Literal["prompt.md", "openapi.yaml"] = Field(description="the file that states it")
    quote: str = Field(min_length=1, description="the sentence or OpenAPI text stating it")


class Rule(Strict):
    """One behaviour the prompt or the OpenAPI document asks for, which hidden tests check (or,
    in a kind without hidden tests, one of the kind's checks)."""

    id: RuleId = Field(description="unique in the scenario, e.g. R1 or inv-create-201")
    text: OneLine = Field(description="the rule in one sentence")
    source: RuleSource = Field(description="where the rule is stated")
    check: str | None = Field(
        None, description="the deliverable kind's check that judges it, for kinds without tests"
    )

    @model_validator(mode="after")
    def _known_check(self) -> Rule:
        if self.check is not None and self.check not in KIND_CHECKS:
            raise ValueError(f"unknown check {self.check!r}; expected one of {one_of(KIND_CHECKS)}")
        return self


# -- deliverable kinds (backbench.registry.DELIVERABLE_KINDS) -----------------------------------


class ServiceDeliverable(Strict):
    """A new HTTP service in an empty workspace (the default)."""

    kind: Literal["service"] = Field(description="the deliverable's kind")


class SpeedupDeliverable(Strict):
    """Make the service in files/ fast: it is loaded beside the submission as the baseline."""

    kind: Literal["speedup"] = Field(description="the deliverable's kind")
    required: float = Field(
        gt=1, description="the speed-up asked for: starting code's p95 over the submission's"
    )
    metric: Literal["p95"] = Field("p95", description="the per-cycle figure compared")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="significance level of the test")


class MigrationDeliverable(Strict):
    """Change the schema of a seeded database: checks/upgrade/ and checks/downgrade/ judge it."""

    kind: Literal["migration"] = Field(description="the deliverable's kind")
    downgrade: OneLine = Field(
        description="the command that reverts the migration, e.g. "
        "alembic downgrade 0001, run in the workspace as the submission"
    )


class SuiteDeliverable(Strict):
    """Write the tests of the package in files/."""

    kind: Literal["tests"] = Field(description="the deliverable's kind")
    package: Slug = Field(description="the package under test: files/<package>/")
    tests: Slug = Field("tests", description="the workspace folder of the agent's tests")
    min_coverage: float = Field(ge=0, le=1, description="line+branch coverage needed")
    min_mutation_kill: float = Field(ge=0, le=1, description="share of mutants to kill")
    max_mutants: int = Field(30, ge=1, le=200, description="generated mutants run, at most")


class ReviewDeliverable(Strict):
    """Review the changes in files/changes/: review.yaml names the planted defects."""

    kind: Literal["review"] = Field(description="the deliverable's kind")
    output: str = Field("review.json", description="the file the agent writes")
    min_recall: float = Field(ge=0, le=1, description="share of planted defects to find")
    min_precision: float = Field(ge=0, le=1, description="found over found + false alarms")


class RepositoryDeliverable(Strict):
    """Extend the codebase in files/, whose own tests (the originals) must still pass."""

    kind: Literal["repository"] = Field(description="the deliverable's kind")
    own_tests: Slug = Field("tests", description="the codebase's test folder: files/<own_tests>/")


class ConfigDeliverable(Strict):
    """A Dockerfile, a compose file and a CI workflow for the service in files/."""

    kind: Literal["config"] = Field(description="the deliverable's kind")
    dockerfile: str = Field("Dockerfile", description="the Dockerfile's path in the workspace")
    compose: str = Field("compose.yaml", description="the compose file's path")
    workflow: str = Field(".github/workflows/ci.yml", description="the workflow's path")
    test_step: Slug = Field("tests", description="the id of the workflow step that runs tests")


Deliverable = Annotated[
    ServiceDeliverable | SpeedupDeliverable | MigrationDeliverable | SuiteDeliverable
    | ReviewDeliverable | RepositoryDeliverable | ConfigDeliverable,
    Field(discriminator="kind"),
]  # fmt: skip


class EquivalentMutant(Strict):
    """A generated mutant no test can catch because it behaves as the reference does."""

    id: str = Field(min_length=1, description="the generated mutant's id")
    reason: OneLine = Field(description="why it is equivalent, in one line")


class ScenarioFile(Strict):
    """scenario.yaml: a scenario's metadata."""

    model_config = ConfigDict(title="backbench scenario.yaml")

    id: Slug = Field(description="equals the folder name; the sample id")
    title: OneLine = Field(description="one line, shown to the agent")
    section: Slug = Field(description="the section: the folder under tasks/ that holds it")
    difficulty: Difficulty = Field(
        description="easy, medium or hard, judged as docs/scenarios.md#difficulty says"
    )
    builds: OneLine = Field(description="what the agent builds, in one line (the README's table)")
    cwes: list[int] = Field(
        description="the CWEs the contract's probes plan, ascending (catalogue --check computes "
        "them); [] for a kind that is not served"
    )
    services: list[ServiceName] = Field(description="services started for the submission")
    deliverable: Deliverable = Field(
        default_factory=lambda: ServiceDeliverable(kind="service"),
        description="what the agent delivers and the checks of its kind (default: a service)",
    )
    load: Load | None = Field(None, description="the load test's profile (server kinds)")
    slo: Slo | None = Field(None, description="service level objectives of the load (server kinds)")
    probes: ProbeSurface | None = Field(
        None,
        description="what the security probes need beyond openapi.yaml (they are drawn from it; "
        "server kinds)",
    )
    mutants: list[MutantSpec] = Field(description="broken variants and the check that catches each")
    peers: list[PeerName] = Field(
        default_factory=list, description="loopback peers the hidden tests stand up"
    )
    rules: list[Rule] = Field(default_factory=list, description="the rules the hidden tests check")
    equivalent_mutants: list[EquivalentMutant] = Field(
        default_factory=list, description="generated mutants accepted as uncatchable, with why"
    )

    @model_validator(mode="after")
    def _server_keys(self) -> ScenarioFile:
        # a service is loaded and probed: its profile, objectives and surface must be stated
        if DELIVERABLE_KINDS[self.deliverable.kind].server:
            missing = [k for k in ("load", "slo", "probes") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"a {self.deliverable.kind} scenario needs {', '.join(missing)}")
        if self.load and JWT_PLACEHOLDER in self.load.model_dump_json(by_alias=True):
            if not (self.probes and self.probes.jwt):
                raise ValueError("a load request says {jwt}: declare probes.jwt too")
        return self


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario.yaml (what docs/scenario.schema.json holds)."""
    return {"$schema": JSON_SCHEMA_DIALECT, **ScenarioFile.model_json_schema(by_alias=True)}


# -- errors as one line each ------------------------------------------------------------------


class FieldError(NamedTuple):
    """One problem of a scenario.yaml: the field's path ('probes[1].kind') and what is wrong."""

    field: str
    message: str


def field_errors(error: ValidationError) -> list[FieldError]:
    """pydantic's errors as (field path, message) pairs, in the order pydantic found them.

    A misspelled required key is reported once, as the unknown key naming the right one, not
    also as the right one missing.
    """
    errors = error.errors(include_url=False)
    meant = {_walk(tuple(e["loc"][:-1]) + (hint,))[0] for e in errors if (hint := _meant(e))}
    return [
        _field_error(e)
        for e in errors
        if not (e["type"] == "missing" and _walk(tuple(e["loc"]))[0] in meant)
    ]


def _meant(error: Any) -> str:
    """The known key an unknown key is a misspelling of, or ''."""
    if error["type"] != "extra_forbidden":
        return ""
    close = difflib.get_close_matches(str(error["loc"][-1]), _known_keys(error["loc"]), n=1)
    return close[0] if close else ""


def _known_keys(loc: Any) -> list[str]:
    return _keys(_walk(tuple(loc[:-1]))[1])


def _field_error(error: Any) -> FieldError:
    loc, kind, ctx = tuple(error["loc"]), error["type"], error.get("ctx", {})
    path = _walk(loc)[0]
    if kind == "extra_forbidden":
        return FieldError(path, _unknown_key(str(loc[-1]), _known_keys(loc)))
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx.get("discriminator", "kind")).strip("'")
        what = f"{_singular(str(loc[0]))} {discriminator}" if loc else discriminator
        expected = f"expected one of {one_of(PROBE_KINDS)}"
        field = f"{path}.{discriminator}" if path else discriminator
        if kind == "union_tag_not_found":
            return FieldError(field, f"missing; {expected}")
        return FieldError(field, f"unknown {what} {ctx.get('tag')!r}; {expected}")
    if kind == "missing":
        return FieldError(path, "required key is missing")
    message = re.sub(r"^(Value|Assertion) error, ", "", str(error["msg"]))
    if kind not in ("value_error", "assertion_error"):
        message = f"{message[:1].lower()}{message[1:]}, got {_shown(error.get('input'))}"
    return FieldError(path, message)


def _unknown_key(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}; expected one of {', '.join(sorted(known))}{hint}"


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") else name


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _keys(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _walk(loc: tuple[Any, ...]) -> tuple[str, Any]:
    """The readable path of an error location ('load.requests[0].weight') and its type.

    pydantic puts the tag of a discriminated union in the location ('probes', 1,
    'sql_injection', 'param'); the tag is the `kind` key the reader wrote, so it is dropped.
    """
    node: Any = ScenarioFile
    path = ""
    for part in loc:
        node = _plain(node)
        if isinstance(part, int):
            path += f"[{part}]"
            node = get_args(node)[0] if get_origin(node) is list else None
            continue
        members = _union_members(node)
        if members:
            node = next((m for m in members if part in _tags(m)), None)
            continue
        path += f".{part}" if path else str(part)
        node = _field_type(node, str(part))
    return path, _plain(node)


def _plain(node: Any) -> Any:
    """`node` without Annotated and without an Optional's None."""
    while get_origin(node) is Annotated:
        node = get_args(node)[0]
    args = [a for a in get_args(node) if a is not type(None)]
    if _is_union(node) and len(args) == 1:
        return _plain(args[0])
    return node


def _is_union(node: Any) -> bool:
    return get_origin(node) in (Union, types.UnionType)


def _union_members(node: Any) -> list[type[BaseModel]]:
    if not _is_union(node):
        return []
    return [a for a in get_args(node) if isinstance(a, type) and issubclass(a, BaseModel)]


def _tags(model: type[BaseModel]) -> tuple[Any, ...]:
    kind = model.model_fields.get("kind")
    return get_args(kind.annotation) if kind else ()


def _field_type(node: Any, key: str) -> Any:
    if not (isinstance(node, type) and issubclass(node, BaseModel)):
        return None
    for name, info in node.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None
