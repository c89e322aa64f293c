"""S3 errors and configuration, against moto's real HTTP server.

Denials are real 403s from the server: a bucket policy with Deny (enforced by
moto on object reads and writes) and, for listings, moto's IAM enforcement
switched on for one block through its ``/moto-api/reset-auth`` endpoint.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

import shanty
from shanty.errors import InvalidInputError, NotFoundError, StorageError
from shanty.storage import reset_storage_cache, s3
from shanty.storage.s3 import S3Storage
from tests.kits.s3 import S3Kit, start_moto
from tests.kits.s3_helpers import (
    DEAD_ENDPOINT,
    assert_one_sentence_naming,
    bucket_of,
    fresh_storage,
)


@pytest.fixture
def kit(s3_kit: S3Kit) -> S3Kit:
    """This module is S3-only: ``kit`` is the S3 kit, not the shared suite's kit of every backend."""
    return s3_kit


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
    assert (info.relpath, info.object_version is not None) == ("a.wav", has_version)


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
        assert shanty.Api().artifact_collections("songs") == []
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
