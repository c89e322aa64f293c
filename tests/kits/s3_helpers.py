"""Helpers shared by the S3-specific test modules (not a pytest plugin)."""

from __future__ import annotations

import hashlib
import threading

import pytest

from shanty.storage.s3 import S3Storage
from tests.kits.s3 import S3Kit, free_port

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
