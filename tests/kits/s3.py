"""The ``s3://`` kit: buckets on moto's S3 server, reached over real HTTP on 127.0.0.1.

The server runs for the whole session. Its endpoint and test credentials are
put into ``os.environ`` (not a monkeypatch), so subprocesses spawned by tests
inherit them; anything that could point boto3 elsewhere (profiles, config
files, instance metadata) is switched off for the session.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from shanty.storage import reset_storage_cache, storage_for
from shanty.storage.location import parse_location

SESSION_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
CLEARED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_S3_ENDPOINT_URL", "AWS_MAX_ATTEMPTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto() -> tuple[ThreadedMotoServer, str]:
    """A moto server on a free local port and its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The session's moto endpoint; the environment points boto3 (and shanty) at it."""
    server, endpoint = start_moto()
    saved = {name: os.environ.get(name) for name in [*SESSION_ENV, *CLEARED_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(SESSION_ENV, AWS_ENDPOINT_URL=endpoint)
    for name in CLEARED_ENV:
        os.environ.pop(name, None)
    reset_storage_cache()
    try:
        yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_storage_cache()
        server.stop()


@functools.cache
def admin_client(endpoint: str):
    """A plain boto3 client for the kit's own changes (one per endpoint: clients are slow to build)."""
    return boto3.client("s3", endpoint_url=endpoint)


class S3Kit:
    """Makes buckets and changes objects with plain boto3, never through shanty."""

    name = "s3"

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.client = admin_client(endpoint)
        self.storage = storage_for("s3://x")

    def new_bucket(self, versioned: bool = True) -> str:
        bucket = f"shanty-{uuid.uuid4().hex[:16]}"
        self.client.create_bucket(Bucket=bucket)
        if versioned:
            self.client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        return f"s3://{bucket}"

    def put(self, uri: str, data: bytes) -> None:
        parsed = parse_location(uri)
        self.client.put_object(Bucket=parsed.bucket, Key=parsed.key, Body=data)

    def current_version(self, uri: str) -> str | None:
        location = parse_location(uri)
        version = self.client.head_object(Bucket=location.bucket, Key=location.key).get("VersionId")
        return None if version in (None, "null") else version

    def pinned(self, uri: str, version: str) -> str:
        return f"{uri}?versionId={version}"  # as the AWS CLI and W&B write it

    def delete(self, uri: str) -> None:
        parsed = parse_location(uri)
        self.client.delete_object(Bucket=parsed.bucket, Key=parsed.key)

    def supports_versions(self, bucket_uri: str) -> bool:
        status = self.client.get_bucket_versioning(Bucket=parse_location(bucket_uri).bucket).get("Status")
        return status == "Enabled"


@pytest.fixture
def s3_kit(s3_endpoint: str) -> S3Kit:
    return S3Kit(s3_endpoint)
