"""S3-specific behaviour the shared backend suite cannot express, against moto's real HTTP server.

Denials are real 403s from the server: a bucket policy with Deny (enforced by
moto on object reads and writes) and, for listings, moto's IAM enforcement
switched on for one block through its ``/moto-api/reset-auth`` endpoint.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

import shanty
from shanty.errors import ConflictError, InvalidInputError, NotFoundError, StorageError
from shanty.storage import reset_storage_cache, s3
from shanty.storage.s3 import S3Storage
from tests.kits.s3 import S3Kit, free_port, start_moto

DEAD_ENDPOINT = f"http://127.0.0.1:{free_port()}"  # nothing listens there


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def bucket_of(uri: str) -> str:
    return uri.removeprefix("s3://")


def assert_one_sentence_naming(error: Exception, bucket: str) -> None:
    text = str(error)
    assert bucket in text, text
    assert text.endswith(".") and ". " not in text.rstrip("."), text


def record_calls(storage: S3Storage) -> list[tuple[str, dict, int]]:
    """Every S3 operation the storage's client makes: (name, params, thread id)."""
    calls: list[tuple[str, dict, int]] = []

    def hook(model, params, **_):
        calls.append((model.name, dict(params), threading.get_ident()))

    storage.client.meta.events.register("before-parameter-build.s3", hook)
    return calls


def fresh_storage(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> S3Storage:
    """An S3Storage whose client is built from the current environment plus ``env`` (None removes a variable)."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return S3Storage()


@pytest.fixture
def kit(s3_kit: S3Kit) -> S3Kit:
    """This module is S3-only: ``kit`` is the S3 kit, not the shared suite's kit of every backend."""
    return s3_kit


def fill(kit: S3Kit, bucket: str, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        kit.put(f"{bucket}/{key}", data)


def plain_listing(kit: S3Kit, bucket: str, prefix: str) -> set[tuple[str, str, int]]:
    """What a single sequential listing finds: (relpath, etag, size) of non-marker objects below ``prefix``."""
    found = set()
    for page in kit.client.get_paginator("list_objects_v2").paginate(Bucket=bucket_of(bucket), Prefix=prefix):
        for obj in page.get("Contents", []):
            if not (obj["Key"].endswith("/") and obj["Size"] == 0):
                found.add((obj["Key"][len(prefix) :], obj["ETag"].strip('"'), obj["Size"]))
    return found


# --- listing -------------------------------------------------------------------------


def test_listing_uses_only_list_calls_and_records_etag_metadata(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"songs/a.wav": b"alpha", "songs/deep/b.wav": b"beta!"})
    storage = S3Storage()
    calls = record_calls(storage)
    infos = storage.list_objects(f"{bucket}/songs")
    assert {name for name, _, _ in calls} <= {"GetBucketVersioning", "ListObjectsV2"}
    assert [(i.relpath, i.digest, i.size, i.version) for i in infos] == [
        ("a.wav", md5_hex(b"alpha"), 5, None),
        ("deep/b.wav", md5_hex(b"beta!"), 5, None),
    ]
    assert infos[0].uri == f"{bucket}/songs/a.wav"
    assert infos[0].extra["etag"] == md5_hex(b"alpha")
    assert infos[0].extra["last_modified"].endswith("+00:00")
    assert "content_type" not in infos[0].extra  # listings lack it, and no HEAD is made for it
    stat = storage.stat(f"{bucket}/songs/a.wav")
    assert stat is not None and (stat.digest, stat.version, stat.relpath) == (md5_hex(b"alpha"), None, "a.wav")


def test_folder_markers_are_skipped(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"media/": b"", "media/sub/": b"", "media/sub/a.wav": b"a", "media/b.wav": b"b", "empty/x/": b""})
    assert [i.relpath for i in kit.storage.list_objects(f"{bucket}/media")] == ["b.wav", "sub/a.wav"]
    with pytest.raises(NotFoundError) as info:
        kit.storage.list_objects(f"{bucket}/empty")
    assert_one_sentence_naming(info.value, bucket_of(bucket))


def test_whole_bucket_is_listed_with_keys_as_paths(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"top.wav": b"t", "x/y.wav": b"y"})
    for uri in (bucket, bucket + "/"):
        assert [i.relpath for i in kit.storage.list_objects(uri)] == ["top.wav", "x/y.wav"]


def test_versioned_listing_keeps_latest_and_skips_deleted(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    fill(kit, bucket, {"d/a.wav": b"old a", "d/gone.wav": b"gone", "d/sub/c.wav": b"c"})
    kit.put(f"{bucket}/d/a.wav", b"new a")
    kit.delete(f"{bucket}/d/gone.wav")
    versions = kit.client.list_object_versions(Bucket=bucket_of(bucket))["Versions"]
    latest = {v["Key"]: v["VersionId"] for v in versions if v["IsLatest"]}
    infos = kit.storage.list_objects(f"{bucket}/d")
    assert [(i.relpath, i.digest, i.version) for i in infos] == [
        ("a.wav", md5_hex(b"new a"), latest["d/a.wav"]),
        ("sub/c.wav", md5_hex(b"c"), latest["d/sub/c.wav"]),
    ]


def test_version_pin_in_uri_is_honoured(kit: S3Kit, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.client.put_object(Bucket=bucket_of(bucket), Key="clips/a.wav", Body=b"first take", ContentType="audio/wav")
    kit.put(f"{bucket}/clips/a.wav", b"second take")
    old = next(
        v["VersionId"]
        for v in kit.client.list_object_versions(Bucket=bucket_of(bucket))["Versions"]
        if not v["IsLatest"]
    )
    pinned = f"{bucket}/clips/a.wav?versionId={old}"

    [info] = kit.storage.list_objects(pinned)
    assert (info.uri, info.relpath, info.version, info.digest) == (
        f"{bucket}/clips/a.wav",
        "a.wav",
        old,
        md5_hex(b"first take"),
    )
    assert info.extra["content_type"] == "audio/wav"  # a pin is read with HEAD, which has it
    [entry] = shanty.Artifact("take", type="raw_data").add_reference(pinned)
    assert (entry.path, entry.version, entry.ref) == ("a.wav", old, f"{bucket}/clips/a.wav")
    kit.storage.download(pinned, None, tmp_path / "pinned")
    assert (tmp_path / "pinned").read_bytes() == b"first take"
    assert kit.storage.list_objects(f"{bucket}/clips/a.wav")[0].digest == md5_hex(b"second take")
    with pytest.raises(NotFoundError):
        kit.storage.list_objects(f"{bucket}/clips/a.wav?versionId=no-such-version")


def test_deleted_object_comes_back_at_its_version_and_is_missing_without(kit: S3Kit, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.put(f"{bucket}/k.bin", b"kept in history")
    [info] = kit.storage.list_objects(f"{bucket}/k.bin")
    kit.delete(f"{bucket}/k.bin")
    kit.storage.download(info.uri, info.version, tmp_path / "old")
    assert (tmp_path / "old").read_bytes() == b"kept in history"
    with pytest.raises(NotFoundError) as missing:
        kit.storage.download(info.uri, None, tmp_path / "latest")
    assert_one_sentence_naming(missing.value, bucket_of(bucket))
    assert kit.storage.stat(info.uri) is None and kit.storage.stat(info.uri, info.version) is not None


def test_download_streams_in_chunks(kit: S3Kit, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=False)
    data = bytes(range(256)) * (12 * 1024)  # 3 MiB
    kit.put(f"{bucket}/big.bin", data)
    storage = S3Storage()
    reads: list[int | None] = []

    def record_reads(parsed, **_):
        body = parsed["Body"]

        def read(amt: int | None = None) -> bytes:
            reads.append(amt)
            return body.__class__.read(body, amt)

        body.read = read

    storage.client.meta.events.register("after-call.s3.GetObject", record_reads)
    storage.download(f"{bucket}/big.bin", None, tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == data
    assert len(reads) > 3 and all(amt is not None and amt <= 1 << 20 for amt in reads)  # never the whole body at once


@pytest.mark.parametrize("versioned", [False, True])
def test_fan_out_lists_exactly_what_a_plain_listing_finds(
    kit: S3Kit, monkeypatch: pytest.MonkeyPatch, versioned: bool
) -> None:
    bucket = kit.new_bucket(versioned=versioned)
    keys = ["set/a0.txt", "set/zz.txt", "set/a.b/x.wav", "set/b/c/d.wav", "set/f09/", "set/a/", "set/a/1.wav"]
    keys += [f"set/f{i:02d}/{j}.wav" for i in range(12) for j in range(i % 4)]
    keys += ["solo/only/x/1.wav", "solo/only/x/2.wav", "solo/only/y/3.wav", "solo/only/top.wav"]
    fill(kit, bucket, {key: b"" if key.endswith("/") else key.encode() for key in keys})
    # Tiny pages and few ranges: groups of several folders, pages cut inside ranges.
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    monkeypatch.setattr(s3, "MAX_RANGES", 3)
    storage = S3Storage()
    calls = record_calls(storage)
    for prefix in ("set/", "solo/"):
        infos = storage.list_objects(f"{bucket}/{prefix}")
        assert len(infos) == len({i.relpath for i in infos})
        assert {(i.relpath, i.digest, i.size) for i in infos} == plain_listing(kit, bucket, prefix)
    assert len({thread for _, _, thread in calls}) > 1  # the folders really were listed concurrently
    listed = {params.get("Prefix") for _, params, _ in calls}
    assert {"solo/only/x/", "solo/only/y/"} <= listed  # a lone sub-folder is split below it


def test_max_objects_stops_the_listing_early(kit: S3Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {f"flat/{i:02d}.wav": b"x" for i in range(40)})
    fill(kit, bucket, {f"tree/{i}/{j:02d}.wav": b"x" for i in range(6) for j in range(12)})
    monkeypatch.setattr(s3, "PAGE_SIZE", 4)
    storage = S3Storage()
    calls = record_calls(storage)
    with pytest.raises(InvalidInputError, match="max_objects=5") as info:
        storage.list_objects(f"{bucket}/flat", max_objects=5)
    assert_one_sentence_naming(info.value, bucket_of(bucket))
    assert sum(name == "ListObjectsV2" for name, _, _ in calls) <= 3  # probe + two pages, not ten
    calls.clear()
    with pytest.raises(InvalidInputError, match="max_objects=7"):
        storage.list_objects(f"{bucket}/tree", max_objects=7)
    assert sum(name == "ListObjectsV2" for name, _, _ in calls) < 20  # the other folders' workers stopped too
    assert len(storage.list_objects(f"{bucket}/tree", max_objects=72)) == 72


# --- errors ---------------------------------------------------------------------------


def test_missing_bucket_is_not_found_naming_it(tmp_path: Path, s3_endpoint: str) -> None:
    storage = S3Storage()
    missing = f"shanty-missing-{uuid.uuid4().hex[:8]}"
    operations: list[Callable[[], object]] = [
        lambda: storage.list_objects(f"s3://{missing}/x"),
        lambda: storage.read_bytes(f"s3://{missing}/x"),
        lambda: storage.download(f"s3://{missing}/x", None, tmp_path / "x"),
        lambda: storage.list_names(f"s3://{missing}/x"),
        lambda: storage.create_if_absent(f"s3://{missing}/x", b"1"),
    ]
    for operation in operations:
        with pytest.raises(NotFoundError) as info:
            operation()
        assert_one_sentence_naming(info.value, missing)
        assert f"bucket {missing} does not exist" in str(info.value)
    assert storage.stat(f"s3://{missing}/x") is None


def set_policy(kit: S3Kit, bucket: str, effect: str, actions: list[str], keys: str = "*") -> None:
    name = bucket_of(bucket)
    statement = {"Effect": effect, "Principal": "*", "Action": actions, "Resource": f"arn:aws:s3:::{name}/{keys}"}
    kit.client.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))


def test_bucket_policy_deny_is_a_storage_error(kit: S3Kit, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=False)
    kit.put(f"{bucket}/secret.wav", b"s")
    set_policy(kit, bucket, "Deny", ["s3:GetObject", "s3:PutObject"])
    storage = S3Storage()
    for operation in (
        lambda: storage.download(f"{bucket}/secret.wav", None, tmp_path / "s"),
        lambda: storage.write_bytes(f"{bucket}/new.json", b"{}"),
        lambda: storage.create_if_absent(f"{bucket}/new.json", b"{}"),
    ):
        with pytest.raises(StorageError, match="denied") as info:
            operation()
        assert_one_sentence_naming(info.value, bucket_of(bucket))


@contextmanager
def moto_iam_enforced(kit: S3Kit, actions: list[str]) -> Iterator[dict[str, str]]:
    """Credentials of a new IAM user allowed only ``actions``, while moto enforces IAM for every request."""
    iam = boto3.client("iam", endpoint_url=kit.endpoint)
    user = f"user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    # A policy needs some action; an unrelated one stands in for "nothing in S3".
    statement = {"Effect": "Allow", "Action": actions or ["sqs:GetQueueUrl"], "Resource": "*"}
    iam.put_user_policy(
        UserName=user, PolicyName="only", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]

    def enforce_after(count: str) -> None:
        request = urllib.request.Request(
            f"{kit.endpoint}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(request).close()

    enforce_after("0")
    try:
        yield {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        enforce_after("inf")  # back to moto's default: no authorization checks


def test_denied_listing_is_a_storage_error(kit: S3Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.put(f"{bucket}/d/a.wav", b"a")
    with moto_iam_enforced(kit, []) as credentials:
        storage = fresh_storage(monkeypatch, **credentials)
        with pytest.raises(StorageError, match="denied") as info:
            storage.list_objects(f"{bucket}/d")
    assert_one_sentence_naming(info.value, bucket_of(bucket))


@pytest.mark.parametrize(
    ("versioned", "actions", "has_version"),
    [
        (True, ["s3:ListBucket"], False),  # versions cannot be listed: plain listing, no versions
        (True, ["s3:ListBucket", "s3:ListBucketVersions"], True),
        (False, ["s3:ListBucket", "s3:ListBucketVersions"], False),  # "null" version ids are no versions
    ],
)
def test_denied_versioning_check_falls_back(
    kit: S3Kit, monkeypatch: pytest.MonkeyPatch, versioned: bool, actions: list[str], has_version: bool
) -> None:
    bucket = kit.new_bucket(versioned=versioned)
    kit.put(f"{bucket}/d/a.wav", b"a")
    with moto_iam_enforced(kit, actions) as credentials:
        [info] = fresh_storage(monkeypatch, **credentials).list_objects(f"{bucket}/d")
    assert (info.relpath, info.version is not None) == ("a.wav", has_version)


def test_unreachable_endpoint_fails_fast_with_a_storage_error(
    monkeypatch: pytest.MonkeyPatch, s3_endpoint: str
) -> None:
    storage = fresh_storage(monkeypatch, AWS_ENDPOINT_URL=DEAD_ENDPOINT, SHANTY_S3_MAX_ATTEMPTS="2")
    started = time.monotonic()
    with pytest.raises(StorageError, match="Could not reach") as info:
        storage.list_objects("s3://some-bucket/x")
    assert time.monotonic() - started < 10
    assert DEAD_ENDPOINT in str(info.value) and "2 attempts" in str(info.value)
    assert_one_sentence_naming(info.value, "some-bucket")


def test_retry_attempts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> None:
    assert fresh_storage(monkeypatch, SHANTY_S3_MAX_ATTEMPTS="3").client.meta.config.retries == {
        "mode": "standard",
        "total_max_attempts": 3,
    }
    assert (
        fresh_storage(monkeypatch, SHANTY_S3_MAX_ATTEMPTS=None, AWS_MAX_ATTEMPTS="4").client.meta.config.retries[
            "total_max_attempts"
        ]
        == 4
    )
    with pytest.raises(InvalidInputError, match="SHANTY_S3_MAX_ATTEMPTS"):
        fresh_storage(monkeypatch, SHANTY_S3_MAX_ATTEMPTS="zero").list_objects("s3://some-bucket/x")


def test_server_stopped_mid_listing_fails_fast_and_logs_nothing(
    monkeypatch: pytest.MonkeyPatch, s3_endpoint: str
) -> None:
    server, endpoint = start_moto()
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        name = f"shanty-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=name)
        for i in range(30):
            client.put_object(Bucket=name, Key=f"clips/{i:02d}.wav", Body=b"x")
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("SHANTY_S3_MAX_ATTEMPTS", "2")
        monkeypatch.setattr(s3, "PAGE_SIZE", 5)
        reset_storage_cache()
        seen: list[int] = []

        def stop_after_first_page(done: int, total: int | None, label: str) -> None:
            seen.append(done)
            if len(seen) == 1:
                server.stop()

        run = shanty.init(project="songs", job_type="upload")
        artifact = shanty.Artifact("clips", type="raw_data")
        started = time.monotonic()
        with pytest.raises(StorageError) as info:
            artifact.add_reference(f"s3://{name}/clips", progress_sink=stop_after_first_page)
        assert time.monotonic() - started < 10
        assert seen == [5]
        assert_one_sentence_naming(info.value, name)
        assert len(artifact.manifest) == 0
        run.finish()
        assert shanty.Api().artifacts("songs") == []
        with pytest.raises(NotFoundError):
            shanty.Registry().versions("songs", "clips")
    finally:
        reset_storage_cache()  # the cached backend points at the stopped server
        server.stop()


# --- configuration ------------------------------------------------------------------------


def test_endpoint_environment_variables(kit: S3Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = kit.new_bucket(versioned=False)
    kit.put(f"{bucket}/e/a.wav", b"a")
    monkeypatch.setenv("SHANTY_S3_MAX_ATTEMPTS", "1")
    wandb_style = fresh_storage(monkeypatch, AWS_ENDPOINT_URL=DEAD_ENDPOINT, AWS_S3_ENDPOINT_URL=kit.endpoint)
    assert [i.relpath for i in wandb_style.list_objects(f"{bucket}/e")] == ["a.wav"]  # W&B's variable wins
    monkeypatch.delenv("AWS_S3_ENDPOINT_URL")
    service_specific = fresh_storage(monkeypatch, AWS_ENDPOINT_URL_S3=kit.endpoint)
    assert service_specific.client.meta.endpoint_url == kit.endpoint  # read by boto3 itself
    assert [i.relpath for i in service_specific.list_objects(f"{bucket}/e")] == ["a.wav"]
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    with pytest.raises(StorageError, match="Could not reach"):
        fresh_storage(monkeypatch).list_objects(f"{bucket}/e")


def test_no_credentials_means_anonymous_requests(kit: S3Kit, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=False)
    kit.put(f"{bucket}/public/a.wav", b"open to all")
    kit.put(f"{bucket}/private/b.wav", b"closed")
    set_policy(kit, bucket, "Allow", ["s3:GetObject"], "public/*")  # how a public bucket is published
    storage = fresh_storage(monkeypatch, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    sent: list[dict[str, str]] = []
    storage.client.meta.events.register("before-send.s3", lambda request, **_: sent.append(dict(request.headers)))
    assert storage.anonymous
    assert [i.relpath for i in storage.list_objects(f"{bucket}/public")] == ["a.wav"]
    storage.download(f"{bucket}/public/a.wav", None, tmp_path / "a")
    assert (tmp_path / "a").read_bytes() == b"open to all"
    assert sent and not any("Authorization" in headers for headers in sent)
    url = storage.signed_url(f"{bucket}/public/a.wav", None, 60)
    assert url == f"{kit.endpoint}/{bucket_of(bucket)}/public/a.wav"
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"open to all"
    with pytest.raises(StorageError, match="no AWS credentials") as info:
        storage.download(f"{bucket}/private/b.wav", None, tmp_path / "b")
    assert_one_sentence_naming(info.value, bucket_of(bucket))


# --- signed URLs --------------------------------------------------------------------------


def test_signed_url_serves_ranges_of_the_exact_version(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.put(f"{bucket}/song one.wav", b"0123456789 old take")
    old = kit.storage.list_objects(f"{bucket}/song one.wav")[0].version
    kit.put(f"{bucket}/song one.wav", b"abcdefghij new take")

    def first_ten(url: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=0-9"})) as response:
            return response.status, response.read()

    assert first_ten(kit.storage.signed_url(f"{bucket}/song one.wav", old, 300)) == (206, b"0123456789")
    assert first_ten(kit.storage.signed_url(f"{bucket}/song one.wav?versionId={old}", None, 300)) == (
        206,
        b"0123456789",
    )
    assert first_ten(kit.storage.signed_url(f"{bucket}/song one.wav", None, 300)) == (206, b"abcdefghij")


def test_signed_url_is_sigv4_with_the_asked_expiry(kit: S3Kit) -> None:
    url = kit.storage.signed_url("s3://some-bucket/a/b.wav", "v123", 900)
    query = {name: values[0] for name, values in parse_qs(urlparse(url).query).items()}
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "900"
    assert query["versionId"] == "v123"
    assert query["X-Amz-Credential"].startswith("testing/") and query["X-Amz-Signature"]
    assert parse_qs(urlparse(kit.storage.signed_url("s3://some-bucket/a", None, s3.MAX_PRESIGN_SECONDS)).query)[
        "X-Amz-Expires"
    ] == ["604800"]
    for bad in (0, s3.MAX_PRESIGN_SECONDS + 1):
        with pytest.raises(InvalidInputError, match="some-bucket"):
            kit.storage.signed_url("s3://some-bucket/a", None, bad)


# --- registry primitives --------------------------------------------------------------------


def test_create_if_absent_race_has_exactly_one_winner(kit: S3Kit) -> None:
    base = kit.new_bucket(versioned=False)
    for round_ in range(3):
        uri = f"{base}/log/{round_:010d}.json"
        barrier = threading.Barrier(16)

        def claim(index: int, uri: str = uri, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return kit.storage.create_if_absent(uri, f"writer {index}".encode())

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(claim, range(16)))
        assert results.count(True) == 1
        assert kit.storage.read_bytes(uri) == f"writer {results.index(True)}".encode()


def retry_first_successful_put(storage: S3Storage) -> None:
    """Make the client resend a PutObject that succeeded, as if its response had been lost."""

    def retry_once(attempts: int, response, **_) -> int | None:
        ok = response is not None and response[1]["ResponseMetadata"]["HTTPStatusCode"] == 200
        return 0 if attempts == 1 and ok else None

    storage.client.meta.events.register("needs-retry.s3.PutObject", retry_once)


def test_create_if_absent_whose_answer_was_lost_still_wins(kit: S3Kit) -> None:
    base = kit.new_bucket(versioned=False)
    storage = S3Storage()
    retry_first_successful_put(storage)
    assert storage.create_if_absent(f"{base}/claim.json", b"mine") is True
    kit.put(f"{base}/other.json", b"theirs")
    assert storage.create_if_absent(f"{base}/other.json", b"mine") is False


def test_conditional_write_conflicts_are_retried(kit: S3Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    base = kit.new_bucket(versioned=False)
    storage = S3Storage()
    pending = [2]  # PutObject calls still to be answered with 409

    def conflict(**_):
        # S3 answers 409 while another conditional write to the key is in flight; moto never does, so answer for it.
        if pending[0] == 0:
            return None
        pending[0] -= 1
        error = {"Code": "ConditionalRequestConflict", "Message": "A conflicting operation is in progress"}
        return SimpleNamespace(status_code=409), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 409}}

    storage.client.meta.events.register("before-call.s3.PutObject", conflict)
    monkeypatch.setattr(s3, "CONFLICT_ATTEMPTS", 3)
    assert storage.create_if_absent(f"{base}/slot.json", b"x") is True
    assert pending == [0] and storage.read_bytes(f"{base}/slot.json") == b"x"
    pending[0] = 3
    with pytest.raises(ConflictError) as info:
        storage.create_if_absent(f"{base}/slot2.json", b"x")
    assert_one_sentence_naming(info.value, bucket_of(base))
    assert not storage.exists(f"{base}/slot2.json")


def test_list_names_gives_immediate_children(kit: S3Kit) -> None:
    base = kit.new_bucket(versioned=False)
    fill(
        kit,
        base,
        {"r/b.json": b"1", "r/a/x.json": b"2", "r/a/y/z.json": b"3", "r/": b"", "r2/no.json": b"4", "r/c/": b""},
    )
    assert kit.storage.list_names(f"{base}/r") == ["a", "b.json", "c"]
    assert kit.storage.list_names(f"{base}/r/") == ["a", "b.json", "c"]
    assert kit.storage.list_names(base) == ["r", "r2"]


def test_a_failing_sub_listing_stops_the_others(kit: S3Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {f"tree/{i}/{j:02d}.wav": b"x" for i in range(4) for j in range(30)})
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    storage = S3Storage()
    calls = record_calls(storage)

    def fail_one_folder(params, **_):
        # moto cannot fail one prefix on demand, so this one listing is answered with a server error here.
        if params["query_string"].get("prefix") == "tree/0/":
            error = {"Code": "InternalError", "Message": "We encountered an internal error"}
            return SimpleNamespace(status_code=500), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 500}}
        return None

    storage.client.meta.events.register("before-call.s3.ListObjectsV2", fail_one_folder)
    with pytest.raises(StorageError, match="InternalError") as info:
        storage.list_objects(f"{bucket}/tree")
    assert_one_sentence_naming(info.value, bucket_of(bucket))
    assert sum(name == "ListObjectsV2" for name, _, _ in calls) < 30  # not the 60 pages of the other folders
