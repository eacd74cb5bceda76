"""Authentication: the RS256 JWTs the API accepts (the two provider keys, chosen by kid), the
forgeries it refuses (alg none, key confusion with the public key's text, a key carried in the
token, an unknown kid), and a 401 that changes nothing for every other request under /v1."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from docs_api import (
    ADMIN,
    AUDIENCE,
    ISSUER,
    KID_A,
    KID_B,
    MARGIN,
    PUBLIC_KEYS,
    assert_error,
    b64url,
    bearer,
    claims_for,
    compact,
    documents_titled,
    forge,
    hs_sign,
    people,  # noqa: F401 - a fixture
    private_key,
    rs_sign,
    same,
    stored_document,
    stored_shares,
    stranger,
    token,
)

# every operation under /v1; {doc} and {sub} are filled with a user's own
OPERATIONS = [
    ("GET", "/v1/documents", None),
    ("POST", "/v1/documents", {"title": "anonymous document"}),
    ("GET", "/v1/documents/{doc}", None),
    ("PATCH", "/v1/documents/{doc}", {"title": "changed anonymously", "shared_with": ["x"]}),
    ("DELETE", "/v1/documents/{doc}", None),
    ("GET", "/v1/admin/users/{sub}", None),
]


def accepted(people, value):
    """The token is served: its user's list of documents answers 200."""
    response = people.client(value).get("/v1/documents")
    assert response.status_code == 200, response.text[:300]


def assert_refused(people, db, value, scheme="Bearer"):
    """The token is refused with 401 on a read and on a write, and the write stores nothing."""
    client = people.client(value, scheme)
    assert_error(client.get("/v1/documents"), 401, "unauthorized")
    title = f"refused {uuid.uuid4().hex}"
    assert_error(client.post("/v1/documents", json={"title": title}), 401, "unauthorized")
    assert documents_titled(db, title) == 0


def rs256(kid_or_key):
    """A signer with a provider key (by kid) or any RSA private key."""
    key = private_key(kid_or_key) if isinstance(kid_or_key, str) else kid_or_key
    return lambda signing_input: rs_sign(signing_input, key)


@pytest.mark.rules("health")
def test_health_needs_no_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("token-valid", "document-get", "document-patch")
def test_a_token_that_keeps_every_rule_reaches_every_operation(people, db):
    alice, admin = people.user("alice"), people.admin("root")
    document = alice.document(body="Hello")
    listed = alice.client.get("/v1/documents")
    assert listed.status_code == 200, listed.text
    assert document in [same(d) for d in listed.json()["items"]], listed.text
    assert alice.read(document["id"]) == document
    patched = alice.client.patch(f"/v1/documents/{document['id']}", json={"body": "Bye"})
    assert patched.status_code == 200 and patched.json()["body"] == "Bye", patched.text
    summary = admin.client.get(f"/v1/admin/users/{alice.sub}")
    assert summary.status_code == 200, summary.text
    assert {k: summary.json()[k] for k in ("user_id", "documents", "shared")} == {
        "user_id": alice.sub,
        "documents": 1,
        "shared": 0,
    }
    deleted = alice.client.delete(f"/v1/documents/{document['id']}")
    assert deleted.status_code == 204, deleted.text
    assert stored_document(db, document["id"]) is None


@pytest.mark.rules("kid", "public-keys", "document-owner")
def test_tokens_of_either_provider_key_under_its_own_kid_are_accepted(people, db):
    sub = people.unique("rotating")
    made = []
    for kid in (KID_A, KID_B):
        client = people.client(token(claims_for(sub), kid))
        created = client.post("/v1/documents", json={"title": f"by {kid}"})
        assert created.status_code == 201, (kid, created.text)
        assert created.json()["owner_id"] == sub
        made.append(created.json()["id"])
    # the same user, whichever key signed the token
    for kid in (KID_A, KID_B):
        client = people.client(token(claims_for(sub), kid))
        for ident in made:
            assert client.get(f"/v1/documents/{ident}").status_code == 200
    assert [stored_document(db, i)[0] for i in made] == [sub, sub]


@pytest.mark.rules("auth-required", "error-401", "auth-first", "refused-changes-nothing")
@pytest.mark.parametrize("method,path,body", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_without_a_valid_bearer_token_is_401_and_changes_nothing(
    people, db, method, path, body
):
    owner = people.user("owner")
    document = owner.document("Guarded", "Keep", [people.unique("reader")])
    target = path.format(doc=document["id"], sub=owner.sub)
    value = owner.token
    wrong = [
        {},
        {"Authorization": f"Basic {value}"},
        {"Authorization": f"Token {value}"},
        {"Authorization": value},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {value}x"},
        {"Authorization": f"Bearer {value[:-2]}"},
    ]
    for headers in wrong:
        client = people.factory(headers=headers)
        # an invalid body does not change the answer: the token comes first
        for content in (body, {"title": 5, "body": None, "shared_with": "x"}):
            response = client.request(method, target, json=content)
            assert_error(response, 401, "unauthorized")
    assert stored_document(db, document["id"]) == (owner.sub, "Guarded", "Keep")
    assert stored_shares(db, document["id"]) == document["shared_with"]
    assert documents_titled(db, "anonymous document") == 0


@pytest.mark.rules("bearer-scheme")
def test_the_bearer_scheme_word_is_matched_in_any_case(people):
    alice = people.user("alice")
    document = alice.document()
    for scheme in ("bearer", "BEARER", "bEaReR"):
        response = people.client(alice.token, scheme).get(f"/v1/documents/{document['id']}")
        assert response.status_code == 200, (scheme, response.text[:300])
        assert same(response.json()) == document


@pytest.mark.rules("alg-rs256", "refused-changes-nothing")
def test_alg_none_in_any_spelling_is_refused(people, db):
    claims = claims_for(people.unique("nobody"))
    for alg in ("none", "None", "NONE", "nOnE"):
        header = {"alg": alg, "typ": "JWT", "kid": KID_A}
        assert_refused(people, db, forge(header, claims, None))
        # the same header with the signature key a would give: still not RS256
        assert_refused(people, db, forge(header, claims, rs256(KID_A)))


@pytest.mark.rules("alg-rs256", "key-confusion")
def test_hs256_keyed_with_a_public_keys_pem_text_is_refused(people, db):
    """The classic key confusion: the public key's PEM, which anyone may read, as an HMAC
    secret. Each exact text of the prompt, with and without its last newline, and its DER."""
    claims = claims_for(people.unique("confused"), scope=ADMIN)
    for kid, pem in PUBLIC_KEYS.items():
        assert pem.endswith("-----END PUBLIC KEY-----\n")
        secrets = [pem.encode(), pem.rstrip("\n").encode(), pem.replace("\n", "\r\n").encode()]
        der = (
            private_key(kid)
            .public_key()
            .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
        secrets.append(der)
        for secret in secrets:
            for alg in ("HS256", "HS384", "HS512"):
                for header in ({"alg": alg, "typ": "JWT", "kid": kid}, {"alg": alg}):
                    assert_refused(
                        people,
                        db,
                        forge(header, claims, lambda s, k=secret, a=alg: hs_sign(s, k, a)),
                    )
    # the baseline: the same claims under RS256 are served
    accepted(people, token(claims, KID_B))


@pytest.mark.rules("alg-rs256")
def test_other_asymmetric_algorithms_are_refused_even_when_signed_with_the_key(people, db):
    claims = claims_for(people.unique("alg"))
    key = private_key(KID_A)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signers = {
        "RS384": lambda s: b64url(key.sign(s.encode(), padding.PKCS1v15(), hashes.SHA384())),
        "RS512": lambda s: b64url(key.sign(s.encode(), padding.PKCS1v15(), hashes.SHA512())),
        "PS256": lambda s: b64url(key.sign(s.encode(), pss, hashes.SHA256())),
    }
    for alg, signer in signers.items():
        assert_refused(people, db, forge({"alg": alg, "typ": "JWT", "kid": KID_A}, claims, signer))
    curve = ec.generate_private_key(ec.SECP256R1())
    es256 = lambda s: b64url(curve.sign(s.encode(), ec.ECDSA(hashes.SHA256())))  # noqa: E731
    assert_refused(people, db, forge({"alg": "ES256", "kid": KID_A}, claims, es256))
    # RS256's signature under a header whose alg is not exactly RS256
    for alg in ("rs256", "RS256 ", ..., None, ["RS256"]):
        header = {"kid": KID_A} if alg is ... else {"alg": alg, "kid": KID_A}
        assert_refused(people, db, forge(header, claims, rs256(KID_A)))
    accepted(people, forge({"alg": "RS256", "kid": KID_A}, claims, rs256(KID_A)))


@pytest.mark.rules("kid")
def test_a_token_without_a_kid_or_with_an_unknown_kid_is_refused(people, db):
    claims = claims_for(people.unique("kid"))
    for kid in (..., None, "", "docs-2026-c", "DOCS-2026-A", "docs-2026-a ", "docs-2026", 1,
                ["docs-2026-a"], {"kid": KID_A}):  # fmt: skip
        header = {"alg": "RS256", "typ": "JWT"}
        if kid is not ...:
            header["kid"] = kid
        # signed by key a, then by key b: a kid the API does not know selects neither
        assert_refused(people, db, forge(header, claims, rs256(KID_A)))
        assert_refused(people, db, forge(header, claims, rs256(KID_B)))
    accepted(people, forge({"alg": "RS256", "kid": KID_A}, claims, rs256(KID_A)))


@pytest.mark.rules("kid", "signature")
def test_a_token_signed_by_the_other_provider_key_is_refused(people, db):
    claims = claims_for(people.unique("swapped"))
    assert_refused(people, db, token(claims, KID_A, signer=KID_B))
    assert_refused(people, db, token(claims, KID_B, signer=KID_A))
    accepted(people, token(claims, KID_A))
    accepted(people, token(claims, KID_B))


@pytest.mark.rules("no-token-keys", "signature")
def test_a_key_carried_in_the_token_is_never_used(people, db):
    """A token that brings its own public key (jwk) or points to one (jku, x5u), signed with
    that key's private half, is a stranger's token."""
    mine = stranger()
    numbers = mine.public_key().public_numbers()

    def number(value):
        return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    jwk = {"kty": "RSA", "n": number(numbers.n), "e": number(numbers.e), "alg": "RS256",
           "use": "sig"}  # fmt: skip
    claims = claims_for(people.unique("carried"), scope=ADMIN)
    for kid in (KID_A, KID_B, "attacker", ...):
        extra = {} if kid is ... else {"kid": kid}
        for carried in ({"jwk": {**jwk, **extra}}, {"jku": "http://127.0.0.1:9/jwks.json"},
                        {"x5u": "http://127.0.0.1:9/cert.pem"}):  # fmt: skip
            header = {"alg": "RS256", "typ": "JWT", **extra, **carried}
            assert_refused(people, db, forge(header, claims, rs256(mine)))
    # the provider's own token is served whatever it carries: those fields are ignored
    accepted(people, forge({"alg": "RS256", "kid": KID_A, "jwk": jwk}, claims, rs256(KID_A)))


@pytest.mark.rules("signature")
def test_a_signature_that_is_not_the_providers_is_refused(people, db):
    alice = people.user("alice")
    claims = claims_for(alice.sub)
    good = token(claims, KID_A)
    accepted(people, good)
    head, body, signature = good.split(".")
    assert_refused(people, db, forge({"alg": "RS256", "kid": KID_A}, claims, rs256(stranger())))
    assert_refused(people, db, f"{head}.{body}.")
    assert_refused(people, db, f"{head}.{body}")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert_refused(people, db, f"{head}.{body}.{flipped}")
    assert_refused(people, db, f"{head}.{body}.{signature[:-4]}")
    # another user's claims under this token's signature
    other = b64url(compact(claims_for(people.unique("mallory"), scope=ADMIN)))
    assert_refused(people, db, f"{head}.{other}.{signature}")


@pytest.mark.rules("token-form")
def test_a_token_that_is_not_a_compact_jwt_is_refused(people, db):
    claims = claims_for(people.unique("form"))
    good = token(claims, KID_A)
    head, body, signature = good.split(".")

    def signed(header_part: str, payload_part: str) -> str:
        signing_input = f"{header_part}.{payload_part}"
        return f"{signing_input}.{rs_sign(signing_input, private_key(KID_A))}"

    for value in (
        "abc",
        "a.b.c",
        "..",
        f"{good}.{signature}",
        signed(b64url(b"not json"), body),
        signed(head, b64url(b"not json")),
        signed(head, b64url(compact([claims]))),
        signed(b64url(compact(["RS256", KID_A])), body),
        signed(head, b64url(b"\xff\xfe")),
    ):
        assert_refused(people, db, value)
    # bytes that are not ASCII before the token
    client = people.factory(headers={"Authorization": ("Bearer \u00e9" + good).encode()})
    assert_error(client.get("/v1/documents"), 401, "unauthorized")


@pytest.mark.rules("exp")
def test_an_expired_token_is_refused(people, db):
    sub = people.unique("late")
    accepted(people, token(claims_for(sub), KID_A))
    for exp in (claims_for(sub)["iat"] - MARGIN, 1_000_000_000, 0):
        for kid in (KID_A, KID_B):
            assert_refused(people, db, token(claims_for(sub, iat=exp - 300, exp=exp), kid))


@pytest.mark.rules("exp", "nbf")
def test_a_token_without_exp_is_refused(people, db):
    sub = people.unique("forever")
    assert_refused(people, db, token(claims_for(sub, exp=...), KID_A))
    assert_refused(people, db, token(claims_for(sub, exp=None), KID_B))
    # a number, not a string of digits: a string exp or nbf is refused, even one in range
    now = claims_for(sub)["iat"]
    assert_refused(people, db, token(claims_for(sub, exp=str(now + MARGIN)), KID_A))
    assert_refused(people, db, token(claims_for(sub, nbf=str(now - MARGIN)), KID_A))


@pytest.mark.rules("nbf")
def test_a_token_is_refused_before_its_nbf_and_accepted_after(people, db):
    sub = people.unique("early")
    now = claims_for(sub)["iat"]
    assert_refused(people, db, token(claims_for(sub, nbf=now + MARGIN), KID_A))
    assert_refused(
        people, db, token(claims_for(sub, nbf=now + 2 * MARGIN, exp=now + 3 * MARGIN), KID_B)
    )
    accepted(people, token(claims_for(sub, nbf=now - MARGIN), KID_A))


@pytest.mark.rules("aud")
def test_a_token_for_another_audience_is_refused(people, db):
    sub = people.unique("aud")
    for aud in ("other-api", ..., None, "", ["other-api"], [], AUDIENCE.upper(), AUDIENCE + " ",
                {"aud": AUDIENCE}):  # fmt: skip
        assert_refused(people, db, token(claims_for(sub, aud=aud), KID_A))
    accepted(people, token(claims_for(sub, aud=["other-api", AUDIENCE]), KID_A))
    accepted(people, token(claims_for(sub, aud=[AUDIENCE]), KID_B))


@pytest.mark.rules("iss")
def test_a_token_from_another_issuer_is_refused(people, db):
    sub = people.unique("iss")
    for iss in ("https://evil.test", ..., None, "", ISSUER + "/", ISSUER.upper(),
                "http://login.docs.test", [ISSUER]):  # fmt: skip
        # signed by hand: PyJWT will not encode an iss that is not a string
        assert_refused(
            people,
            db,
            forge({"alg": "RS256", "kid": KID_A}, claims_for(sub, iss=iss), rs256(KID_A)),
        )


@pytest.mark.rules("sub", "document-owner")
def test_the_subject_is_a_string_of_1_to_64_characters(people, db):
    for sub in (..., None, "", 42, ["alice"], "x" * 65, "a\u0000b"):
        assert_refused(people, db, forge({"alg": "RS256", "kid": KID_A}, claims_for(sub),
                                         rs256(KID_A)))  # fmt: skip
    longest = ("\u00e9" + uuid.uuid4().hex * 2)[:64]  # 64 characters, 65 bytes in UTF-8
    client = people.client(token(claims_for(longest), KID_B))
    created = client.post("/v1/documents", json={"title": "longest sub"})
    assert created.status_code == 201, created.text
    assert created.json()["owner_id"] == longest
    assert stored_document(db, created.json()["id"]) == (longest, "longest sub", "")


@pytest.mark.rules("scope", "admin-only")
def test_the_admin_scope_is_the_exact_docs_admin_name_among_space_separated_ones(people, db):
    sub = people.unique("scope")
    path = f"/v1/admin/users/{sub}"
    for scope in (ADMIN, f"docs:read {ADMIN}", f"{ADMIN} docs:write", f"a  {ADMIN}  b"):
        response = people.client(token(claims_for(sub, scope=scope), KID_A)).get(path)
        assert response.status_code == 200, (scope, response.text[:300])
    plain = (..., "", "docs:read", "docs:admins", "DOCS:ADMIN", "Docs:Admin",
             "docs:read,docs:admin", f"docs:read\t{ADMIN}", "docs:admin:x", "admin")  # fmt: skip
    for scope in plain:
        value = token(claims_for(sub, scope=scope, role="admin", admin=True), KID_B)
        assert_error(people.client(value).get(path), 403, "forbidden")
        accepted(people, value)  # a plain user, served elsewhere
    for scope in ([ADMIN], None, 1, {"docs:admin": True}, True):
        assert_refused(people, db, token(claims_for(sub, scope=scope), KID_A))


@pytest.mark.rules("other-claims")
def test_other_claims_and_a_header_without_typ_are_accepted(people):
    sub = people.unique("extra")
    claims = claims_for(sub, role="member", jti=uuid.uuid4().hex, name="Extra")
    accepted(people, token(claims, KID_A))
    accepted(people, forge({"alg": "RS256", "kid": KID_B}, claims_for(sub), rs256(KID_B)))
    accepted(people, token(claims_for(sub, iat=...), KID_A))


@pytest.mark.rules("refused-changes-nothing", "auth-first")
def test_a_refused_token_changes_nothing_on_its_users_documents(people, db):
    alice = people.user("alice")
    document = alice.document("Keep me", "Body")
    # alice's own claims, expired: nothing of hers may change
    expired = token(claims_for(alice.sub, exp=claims_for(alice.sub)["iat"] - MARGIN), KID_A)
    client = people.factory(headers=bearer(expired))
    path = f"/v1/documents/{document['id']}"
    assert_error(client.patch(path, json={"title": "Taken", "shared_with": ["x"]}), 401,
                 "unauthorized")  # fmt: skip
    assert_error(client.delete(path), 401, "unauthorized")
    assert stored_document(db, document["id"]) == (alice.sub, "Keep me", "Body")
    assert stored_shares(db, document["id"]) == []
