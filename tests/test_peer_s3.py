"""The `s3` peer, run for real on loopback and reached by boto3 as a submission would: the store
works; a wrong key, an unsigned request and an expired or altered presigned URL are refused, as
S3 refuses them; faults and records work; moto's control routes stay out of reach.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import httpx
import pytest

from backbench.peers import PEER_KINDS
from backbench.peers.sigv4 import check_presigned
from backbench.testkit.peers import PeerAdminError, Peers, S3Client
from tests.test_peers import running_peers

HTTP = httpx.Client(timeout=10)
LIMITS = {"max_delay_ms": 2000, "max_records": 50}


@pytest.fixture(scope="module")
def environ(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_peers(tmp_path_factory.mktemp("s3"), ["s3"], LIMITS) as env:
        yield env


@pytest.fixture
def store(environ: dict[str, str]) -> Iterator[S3Client]:
    peers = Peers(environ)
    client = peers.s3
    client.reset()
    yield client
    peers.close()


def boto(environ: dict[str, str], secret: str | None = None, signature: str = "s3v4") -> Any:
    """A boto3 client as a submission makes it from its variables (endpoint read by boto3)."""
    config = botocore.config.Config(signature_version=signature, retries={"total_max_attempts": 1})
    return boto3.client(
        "s3", endpoint_url=environ["AWS_ENDPOINT_URL_S3"],
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or environ["AWS_SECRET_ACCESS_KEY"],
        region_name=environ["AWS_DEFAULT_REGION"], config=config,
    )  # fmt: skip


def error_code(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_a_submission_stores_lists_reads_and_deletes(
    environ: dict[str, str], store: S3Client
) -> None:
    s3, bucket = boto(environ), environ["S3_BUCKET"]
    key = "invoices/2026/März report.pdf"
    s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.7 body", ContentType="application/pdf")
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 13
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"%PDF-1.7 body"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="invoices/")
    assert [o["Key"] for o in listed["Contents"]] == [key]
    # the tests read the store past its front
    assert store.objects() == {key: 13}
    stored = store.get(key)
    assert stored.body == b"%PDF-1.7 body" and stored.header("content-type") == "application/pdf"
    s3.delete_object(Bucket=bucket, Key=key)
    assert store.objects() == {}
    assert [r.outcome for r in store.requests()] == [200, 200, 200, 200, 204]


def test_a_multipart_upload_goes_through(environ: dict[str, str], store: S3Client) -> None:
    s3, bucket = boto(environ), environ["S3_BUCKET"]
    part = b"x" * (5 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin")
    etag = s3.upload_part(
        Bucket=bucket, Key="big.bin", UploadId=upload["UploadId"], PartNumber=1, Body=part
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]},
    )  # fmt: skip
    assert store.objects() == {"big.bin": len(part)}
    # records keep the first bytes only
    [uploaded] = [r for r in store.requests() if r.method == "PUT"]
    assert uploaded.truncated and uploaded.body_size == len(part)


@pytest.mark.parametrize("signature", ["s3v4", "s3"], ids=["sigv4", "sigv2"])
def test_a_presigned_download_works_until_it_expires(
    environ: dict[str, str], store: S3Client, signature: str
) -> None:
    store.put("shared/report.txt", b"quarterly", content_type="text/plain")
    s3 = boto(environ, signature=signature)
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": environ["S3_BUCKET"], "Key": "shared/report.txt"},
        ExpiresIn=2,
    )  # fmt: skip
    fresh = HTTP.get(url)
    assert (fresh.status_code, fresh.content) == (200, b"quarterly")
    altered = HTTP.get(url.replace("report.txt", "other.txt"))
    assert altered.status_code == 403 and b"SignatureDoesNotMatch" in altered.content
    time.sleep(3.1)
    expired = HTTP.get(url)
    assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_a_wrong_key_or_no_signature_is_refused(environ: dict[str, str], store: S3Client) -> None:
    store.put("secret.txt", b"private")
    bucket = environ["S3_BUCKET"]
    wrong = boto(environ, secret="not-the-secret")
    assert error_code(lambda: wrong.get_object(Bucket=bucket, Key="secret.txt")) == (
        "SignatureDoesNotMatch"
    )
    anonymous = HTTP.get(f"{environ['AWS_ENDPOINT_URL_S3']}/{bucket}/secret.txt")
    assert anonymous.status_code == 403 and b"AccessDenied" in anonymous.content
    # a link signed with the wrong secret never works, fresh or not
    url = wrong.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "secret.txt"}, ExpiresIn=60
    )
    assert HTTP.get(url).status_code == 403


def test_a_presigned_url_check_is_pure_and_honours_its_clock() -> None:
    s3 = boto3.client(
        "s3", endpoint_url="http://127.0.0.1:8084", aws_access_key_id="AKID",
        aws_secret_access_key="secret", region_name="us-east-1",
        config=botocore.config.Config(signature_version="s3v4"),
    )  # fmt: skip
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "b-1", "Key": "k"}, ExpiresIn=60
    )
    target = url.split("8084", 1)[1]
    host = [("Host", "127.0.0.1:8084")]
    assert check_presigned("GET", target, host, "AKID", "secret") is None
    later = check_presigned("GET", target, host, "AKID", "secret", now=time.time() + 61)
    assert later is not None and later.message == "Request has expired"
    assert check_presigned("PUT", target, host, "AKID", "secret") is not None


def test_faults_fail_then_recover_and_are_recorded(
    environ: dict[str, str], store: S3Client
) -> None:
    s3, bucket = boto(environ), environ["S3_BUCKET"]
    store.fault(method="PUT", prefix=f"/{bucket}/uploads/", fail_times=2, fail_status=503)
    for _ in range(2):
        assert error_code(lambda: s3.put_object(Bucket=bucket, Key="uploads/a", Body=b"1")) in (
            "ServiceUnavailable", "503",
        )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="uploads/a", Body=b"1")
    s3.put_object(Bucket=bucket, Key="elsewhere", Body=b"2")  # outside the prefix: untouched
    assert [r.outcome for r in store.requests()] == [503, 503, 200, 200]
    store.fault(method="GET", delay_ms=600)
    start = time.monotonic()
    s3.get_object(Bucket=bucket, Key="elsewhere")
    assert time.monotonic() - start >= 0.55
    store.fault(method="GET", drop=True)
    with pytest.raises(botocore.exceptions.BotoCoreError):
        s3.get_object(Bucket=bucket, Key="elsewhere")
    assert store.requests()[-1].outcome == "dropped"


def test_reset_empties_the_store_but_keeps_its_bucket(
    environ: dict[str, str], store: S3Client
) -> None:
    store.put("left-over", b"x")
    store.create_bucket("another-bucket")
    store.reset()
    assert store.objects() == {}
    with pytest.raises(PeerAdminError, match="404"):
        store.objects("another-bucket")


def test_moto_control_routes_are_out_of_reach(environ: dict[str, str], store: S3Client) -> None:
    store.put("kept", b"x")
    answer = HTTP.post(f"{environ['AWS_ENDPOINT_URL_S3']}/moto-api/reset")
    assert answer.status_code in (403, 404)
    assert store.objects() == {"kept": 1}


def test_admin_refuses_what_it_cannot_do(store: S3Client) -> None:
    with pytest.raises(PeerAdminError, match="422"):
        store.fault(prefix="no-slash")
    with pytest.raises(PeerAdminError, match="422"):
        store.fault(delay_ms=10_000)


def test_s3_is_a_registered_peer_kind() -> None:
    kind = PEER_KINDS["s3"]
    env = kind.submission_env("127.0.0.1", kind.port)
    assert env["AWS_ENDPOINT_URL_S3"] == f"http://127.0.0.1:{kind.port}"
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_BUCKET"} <= set(env)


def test_the_store_listens_below_a_folder_too_long_for_a_socket_path(tmp_path: Path) -> None:
    # a socket's path holds at most 107 bytes; pytest's and the exec runtime's folders can be
    # longer, and then the peers never became ready (CI: "peers not ready within 60 s")
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    with running_peers(deep, ["s3"], LIMITS) as env:
        store = Peers(env).s3
        store.put("deep.txt", b"ok")
        assert store.objects() == {"deep.txt": 2}
