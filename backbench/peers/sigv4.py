"""Checks an S3 request's AWS signature: SigV4 in the Authorization header, SigV4 or SigV2 in a
presigned URL's query, with the presigned URL's expiry.

moto, the store behind the `s3` peer, accepts any signature and never expires a presigned URL;
a submission that signs with the wrong secret, or hands out a link that never expires, would
pass against it. Standard library only: the peers process verifies what botocore (or any other
client) signed, with the one key pair the sample's store has.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

V4 = "AWS4-HMAC-SHA256"
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600  # what S3 itself allows
# the sub-resources a SigV2 string to sign includes (the ones a download link may carry)
V2_SUBRESOURCES = (
    "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires", "versionId",
)  # fmt: skip


@dataclass(frozen=True)
class Denied:
    """Why a request is refused: an S3 error code and its message."""

    code: str
    message: str


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote(name.replace("+", " ")), unquote(value.replace("+", " "))))
    return pairs


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header_values(headers: list[tuple[str, str]], name: str) -> str:
    values = [" ".join(v.split()) for k, v in headers if k.lower() == name]
    return ",".join(values)


def _v4_signature(
    secret: str, method: str, path: str, query: str, headers: list[tuple[str, str]],
    signed: list[str], payload: str, amz_date: str, scope: str,
) -> str:  # fmt: skip
    canonical = "\n".join([
        method, path or "/", query,
        "".join(f"{name}:{_header_values(headers, name)}\n" for name in signed),
        ";".join(signed), payload,
    ])  # fmt: skip
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"{V4}\n{amz_date}\n{scope}\n{digest}"
    date, region, service, terminal = scope.split("/")
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, terminal):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _credential(credential: str, access_key: str) -> tuple[str, Denied | None]:
    """The scope of a SigV4 credential (`AKID/date/region/s3/aws4_request`), or why not."""
    key_id, _, scope = credential.partition("/")
    if key_id != access_key:
        return "", Denied("InvalidAccessKeyId", "The AWS access key Id you provided does not exist")
    if len(scope.split("/")) != 4 or not scope.endswith("/aws4_request"):
        return "", Denied("AuthorizationQueryParametersError", "malformed credential scope")
    return scope, None


def _epoch(amz_date: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


MISMATCH = Denied(
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided",
)
EXPIRED = Denied("AccessDenied", "Request has expired")


def check_header_v4(
    method: str, target: str, headers: list[tuple[str, str]], access_key: str, secret: str
) -> Denied | None:
    """A request signed in its Authorization header: None when the signature holds."""
    authorization = _header_values(headers, "authorization")
    if not authorization.startswith(V4 + " "):
        return Denied("AccessDenied", "Access Denied: sign requests with AWS Signature Version 4")
    fields = {}
    for part in authorization[len(V4) :].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    scope, denied = _credential(fields.get("Credential", ""), access_key)
    if denied is not None:
        return denied
    amz_date = _header_values(headers, "x-amz-date")
    payload = _header_values(headers, "x-amz-content-sha256") or "UNSIGNED-PAYLOAD"
    signed = fields.get("SignedHeaders", "").split(";")
    if "host" not in signed or not amz_date:
        return Denied("AccessDenied", "the host header and x-amz-date must be signed")
    split = urlsplit(target)
    expected = _v4_signature(
        secret, method, split.path, _canonical_query(_query_pairs(split.query)), headers,
        signed, payload, amz_date, scope,
    )  # fmt: skip
    if not hmac.compare_digest(expected, fields.get("Signature", "")):
        return MISMATCH
    return None


def check_presigned(
    method: str, target: str, headers: list[tuple[str, str]], access_key: str, secret: str,
    now: float | None = None,
) -> Denied | None:  # fmt: skip
    """A presigned URL (SigV4 or SigV2 query): None when its signature holds and it is live."""
    split = urlsplit(target)
    pairs = _query_pairs(split.query)
    params = dict(pairs)
    now = time.time() if now is None else now
    if "X-Amz-Signature" in params:
        return _presigned_v4(method, split.path, pairs, params, headers, access_key, secret, now)
    return _presigned_v2(method, split.path, params, access_key, secret, now)


def _presigned_v4(
    method: str, path: str, pairs: list[tuple[str, str]], params: dict[str, str],
    headers: list[tuple[str, str]], access_key: str, secret: str, now: float,
) -> Denied | None:  # fmt: skip
    if params.get("X-Amz-Algorithm") != V4:
        return Denied("AuthorizationQueryParametersError", "X-Amz-Algorithm must be " + V4)
    scope, denied = _credential(params.get("X-Amz-Credential", ""), access_key)
    if denied is not None:
        return denied
    amz_date, expires = params.get("X-Amz-Date", ""), params.get("X-Amz-Expires", "")
    start = _epoch(amz_date)
    if start is None or not expires.isdigit() or int(expires) > MAX_PRESIGNED_SECONDS:
        return Denied("AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires invalid")
    signed = params.get("X-Amz-SignedHeaders", "").split(";")
    unsigned = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    expected = _v4_signature(
        secret, method, path, _canonical_query(unsigned), headers, signed, "UNSIGNED-PAYLOAD",
        amz_date, scope,
    )  # fmt: skip
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        return MISMATCH
    if now > start + int(expires):
        return EXPIRED
    return None


def _presigned_v2(
    method: str, path: str, params: dict[str, str], access_key: str, secret: str, now: float
) -> Denied | None:
    if params.get("AWSAccessKeyId") != access_key:
        return Denied("InvalidAccessKeyId", "The AWS access key Id you provided does not exist")
    expires = params.get("Expires", "")
    if not expires.isdigit() or "Signature" not in params:
        return Denied("AccessDenied", "Query-string authentication requires Signature and Expires")
    subresources = sorted((k, params[k]) for k in V2_SUBRESOURCES if k in params)
    resource = path
    if subresources:
        resource += "?" + "&".join(f"{k}={v}" for k, v in subresources)
    to_sign = f"{method}\n\n\n{expires}\n{resource}"
    digest = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), params["Signature"]):
        return MISMATCH
    if now > int(expires):
        return EXPIRED
    return None
