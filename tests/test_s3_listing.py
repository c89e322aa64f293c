"""The fast S3 listing (shanty/storage/s3_listing.py) against moto's real HTTP server: timestamps kept as
text and sliced into the same ISO form botocore's parser gives, the column-built batches equal to the
ObjectInfos, and the adaptive fan-out (one worker while the store answers fast, more on key ranges
when it is slow) listing exactly what a plain listing finds.
"""

from __future__ import annotations

import json
import time
from datetime import UTC

import pyarrow as pa
import pytest
from botocore.utils import parse_timestamp

from shanty.storage import s3, s3_listing
from shanty.storage.s3 import S3Storage
from tests.kits.s3 import S3Kit
from tests.kits.s3_helpers import bucket_of, fill, plain_listing, record_calls

STAMPS = [
    "2026-01-01T00:00:00.000Z",
    "2026-01-01T00:00:37.007Z",
    "1999-12-31T23:59:59.999Z",
    "2026-06-30T12:00:00.100Z",
    "2026-06-30T12:00:00Z",  # no fraction: not S3's listing form, parsed as botocore does
    "Sat, 28 Nov 2026 03:29:26 GMT",  # a HEAD's header
]


@pytest.fixture
def kit(s3_kit: S3Kit) -> S3Kit:
    return s3_kit


@pytest.mark.parametrize("text", STAMPS)
def test_timestamps_come_out_as_botocore_would_make_them(text: str) -> None:
    expected = parse_timestamp(text).astimezone(UTC).isoformat()
    kept = s3_listing.listing_timestamp(text)
    assert isinstance(kept, str) == (len(text) == 24 and text.endswith("Z"))  # S3's listing form stays text
    assert s3_listing.iso_utc(kept) == expected
    entry = {"Key": "p/a.wav", "ETag": '"abc"', "Size": 1, "LastModified": kept}
    column = s3_listing.entries_batch("b", "p/", [entry]).column("extra")[0].as_py()
    assert json.loads(column)["last_modified"] == expected


def test_column_batches_equal_the_object_infos() -> None:
    entries = [
        {"Key": "root/a.wav", "ETag": '"0123abcd"', "Size": 5, "LastModified": "2026-01-01T00:00:00.000Z"},
        {"Key": "root/dé/é.wav", "ETag": '"9f-2"', "Size": 0, "LastModified": "2026-01-01T00:00:00.250Z"},
        {"Key": "root/q.wav", "ETag": '"we\\"ird"', "Size": 7, "LastModified": "2026-01-01T00:00:01.000Z"},
    ]
    versioned = [dict(e, VersionId=v) for e, v in zip(entries, ["v1", "null", "v3"], strict=True)]
    for listed in (entries, versioned):
        infos = s3_listing.object_infos("bkt", "root/", listed)
        rows = pa.Table.from_batches([s3_listing.entries_batch("bkt", "root/", listed)]).to_pylist()
        assert rows == [
            {
                "relpath": i.relpath,
                "digest": i.digest,
                "size": i.size,
                "uri": i.uri,
                "object_version": i.object_version,
                "extra": json.dumps(dict(i.extra), sort_keys=True),
            }
            for i in infos
        ]
    assert [i.object_version for i in s3_listing.object_infos("bkt", "root/", versioned)] == ["v1", None, "v3"]


def folders_bucket(kit: S3Kit, versioned: bool) -> str:
    bucket = kit.new_bucket(versioned=versioned)
    keys = ["set/top.wav", "set/zz.txt", "set/a.b/x.wav", "set/f03/"]
    keys += [f"set/f{i:02d}/{j}.wav" for i in range(8) for j in range(i % 4 + 1)]
    fill(kit, bucket, {key: b"" if key.endswith("/") else key.encode() for key in keys})
    return bucket


def folder_threads(calls: list[tuple[str, dict, int]]) -> list[int]:
    """The thread of each folder listing request among ``calls`` (delimiter listings aside)."""
    return [thread for name, params, thread in calls if name.startswith("ListObject") and not params.get("Delimiter")]


@pytest.mark.parametrize("versioned", [False, True])
def test_a_store_that_answers_fast_is_listed_by_one_worker(
    kit: S3Kit, monkeypatch: pytest.MonkeyPatch, versioned: bool
) -> None:
    bucket = folders_bucket(kit, versioned)
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    monkeypatch.setattr(s3_listing, "FAN_OUT_RATIO", 1e9)  # however slow moto is here: never worth it
    storage = S3Storage()
    calls = record_calls(storage)
    infos = storage.list_objects(f"{bucket}/set/")
    assert {(i.relpath, i.digest, i.size) for i in infos} == plain_listing(kit, bucket, "set/")
    assert len(infos) == len({i.relpath for i in infos})
    threads = folder_threads(calls)
    assert len(set(threads)) == 1  # every folder on the one worker, in key order
    assert len(threads) <= -(-len(infos) // 2) + 1  # one pass, no page listed twice


@pytest.mark.parametrize("versioned", [False, True])
def test_a_store_slow_per_request_gets_more_workers_on_the_folders_not_reached(
    kit: S3Kit, monkeypatch: pytest.MonkeyPatch, versioned: bool
) -> None:
    bucket = folders_bucket(kit, versioned)
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    monkeypatch.setattr(s3_listing, "MAX_RANGES", 3)
    storage = S3Storage()
    calls = record_calls(storage)

    def slow_store(**_) -> None:  # a store 50 ms away per request, as S3 is a few hundred
        time.sleep(0.05)

    # as a remote store: the machine's load (other tests, moto itself) never enters the decision
    monkeypatch.setattr(s3_listing, "_host_cpu_seconds", lambda: None)

    for operation in ("ListObjectsV2", "ListObjectVersions"):
        storage.client.meta.events.register(f"before-send.s3.{operation}", slow_store)
    infos = storage.list_objects(f"{bucket}/set/")
    assert {(i.relpath, i.digest, i.size) for i in infos} == plain_listing(kit, bucket, "set/")
    assert len(infos) == len({i.relpath for i in infos})
    assert len(set(folder_threads(calls))) > 1  # the first worker was joined by others
    batches = list(storage.list_object_columns(f"{bucket}/set/"))  # the column listing: the same rows
    rows = pa.Table.from_batches(batches).to_pylist()
    assert sorted((r["relpath"], r["digest"], r["size"], r["object_version"]) for r in rows) == [
        (i.relpath, i.digest, i.size, i.object_version) for i in infos
    ]


def test_the_column_listing_keeps_pins_and_single_objects(kit: S3Kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    kit.client.put_object(Bucket=bucket_of(bucket), Key="c/a.wav", Body=b"first", ContentType="audio/wav")
    old = kit.current_version(f"{bucket}/c/a.wav")
    kit.put(f"{bucket}/c/a.wav", b"second")
    [pinned] = pa.Table.from_batches(
        list(kit.storage.list_object_columns(f"{bucket}/c/a.wav?versionId={old}"))
    ).to_pylist()
    assert (pinned["relpath"], pinned["object_version"]) == ("a.wav", old)
    assert json.loads(pinned["extra"])["content_type"] == "audio/wav"
    [single] = pa.Table.from_batches(list(kit.storage.list_object_columns(f"{bucket}/c/a.wav"))).to_pylist()
    assert (single["relpath"], single["object_version"]) == ("a.wav", kit.current_version(f"{bucket}/c/a.wav"))


@pytest.mark.parametrize(
    ("waited", "worked", "host_busy", "workers"),
    [
        (0.010, 0.050, None, 1),  # the client's own work dominates: one worker
        (0.500, 0.050, None, 11),  # the store's wait dominates: about (wait + work) / work
        (5.000, 0.010, None, 16),  # at most LIST_WORKERS
        (0.500, 0.050, 0.400, 1),  # a store on this machine spending its cores meanwhile: more would compete
        (0.500, 0.050, 0.100, 11),  # a store on this machine that mostly waits (a sleep, a disk): more help
    ],
)
def test_how_many_workers_a_listing_gets(waited: float, worked: float, host_busy: float | None, workers: int) -> None:
    assert s3_listing._workers(waited, worked, host_busy) == workers
