"""S3-specific behaviour the shared backend suite cannot express, against moto's real HTTP server:
listing, signed URLs, registry primitives. Errors and configuration: ``test_s3_errors.py``; what every
backend does alike (pins, folder markers, create-if-absent races, ranged reads): ``test_backend_contract.py``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest

from shanty.errors import ConflictError, InvalidInputError, NotFoundError, StorageError
from shanty.storage import s3, s3_listing
from shanty.storage.s3 import S3Storage
from tests.kits.s3 import S3Kit
from tests.kits.s3_helpers import (
    assert_one_sentence_naming,
    bucket_of,
    fill,
    md5_hex,
    plain_listing,
    record_calls,
)


@pytest.fixture
def kit(s3_kit: S3Kit) -> S3Kit:
    """This module is S3-only: ``kit`` is the S3 kit, not the shared suite's kit of every backend."""
    return s3_kit


# --- listing -------------------------------------------------------------------------


def test_listing_uses_only_list_calls_and_records_etag_metadata(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"songs/a.wav": b"alpha", "songs/deep/b.wav": b"beta!"})
    storage = S3Storage()
    calls = record_calls(storage)
    infos = storage.list_objects(f"{bucket}/songs")
    assert {name for name, _, _ in calls} <= {"GetBucketVersioning", "ListObjectsV2"}
    assert [(i.relpath, i.digest, i.size, i.object_version) for i in infos] == [
        ("a.wav", md5_hex(b"alpha"), 5, None),
        ("deep/b.wav", md5_hex(b"beta!"), 5, None),
    ]
    assert infos[0].uri == f"{bucket}/songs/a.wav"
    assert infos[0].extra["etag"] == md5_hex(b"alpha")
    assert infos[0].extra["last_modified"].endswith("+00:00")
    assert "content_type" not in infos[0].extra  # listings lack it, and no HEAD is made for it
    stat = storage.stat(f"{bucket}/songs/a.wav")
    assert stat is not None and (stat.digest, stat.object_version, stat.relpath) == (md5_hex(b"alpha"), None, "a.wav")


def test_versioned_listing_keeps_latest_and_skips_deleted(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    fill(kit, bucket, {"d/a.wav": b"old a", "d/gone.wav": b"gone", "d/sub/c.wav": b"c"})
    kit.put(f"{bucket}/d/a.wav", b"new a")
    kit.delete(f"{bucket}/d/gone.wav")
    versions = kit.client.list_object_versions(Bucket=bucket_of(bucket))["Versions"]
    latest = {v["Key"]: v["VersionId"] for v in versions if v["IsLatest"]}
    infos = kit.storage.list_objects(f"{bucket}/d")
    assert [(i.relpath, i.digest, i.object_version) for i in infos] == [
        ("a.wav", md5_hex(b"new a"), latest["d/a.wav"]),
        ("sub/c.wav", md5_hex(b"c"), latest["d/sub/c.wav"]),
    ]


def test_a_pinned_version_is_read_with_head_which_has_the_content_type(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.client.put_object(Bucket=bucket_of(bucket), Key="clips/a.wav", Body=b"first take", ContentType="audio/wav")
    old = kit.current_version(f"{bucket}/clips/a.wav")
    kit.put(f"{bucket}/clips/a.wav", b"second take")
    [info] = kit.storage.list_objects(f"{bucket}/clips/a.wav?versionId={old}")
    assert (info.object_version, info.digest) == (old, md5_hex(b"first take"))
    assert info.extra["content_type"] == "audio/wav"  # a listing lacks it; the pin's HEAD has it


def test_deleted_object_comes_back_at_its_version_and_is_missing_without(kit: S3Kit, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.put(f"{bucket}/k.bin", b"kept in history")
    [info] = kit.storage.list_objects(f"{bucket}/k.bin")
    kit.delete(f"{bucket}/k.bin")
    kit.storage.download(info.uri, info.object_version, tmp_path / "old")
    assert (tmp_path / "old").read_bytes() == b"kept in history"
    with pytest.raises(NotFoundError) as missing:
        kit.storage.download(info.uri, None, tmp_path / "latest")
    assert_one_sentence_naming(missing.value, bucket_of(bucket))
    assert kit.storage.stat(info.uri) is None and kit.storage.stat(info.uri, info.object_version) is not None


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
    # Tiny pages and few ranges: groups of several folders, pages cut inside ranges; every folder
    # fanned out at once, whatever the server's speed (the adaptive start has tests of its own).
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    monkeypatch.setattr(s3_listing, "MAX_RANGES", 3)
    monkeypatch.setattr(s3_listing, "PROBE_PAGES", 0)
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


# --- signed URLs --------------------------------------------------------------------------


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


def test_a_failing_sub_listing_stops_the_others(kit: S3Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {f"tree/{i}/{j:02d}.wav": b"x" for i in range(4) for j in range(30)})
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    monkeypatch.setattr(s3_listing, "PROBE_PAGES", 0)  # each folder its own listing, so one can fail alone
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
