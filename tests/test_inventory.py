"""References from inventory reports (S3 Inventory, GCS Storage Insights) equal the listing's.

Each report is written by the fixture in the store's own layout (manifest file plus CSV.gz / CSV /
Parquet data files) from a real listing of a bucket on moto / fake-gcs-server, then the same prefix
is referenced both ways and the manifests compared.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import urllib.parse

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import shanty
from shanty.errors import InvalidInputError, MalformedError, NotFoundError
from shanty.storage.location import parse_location

S3_FIELDS = ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate", "ETag"]


def _fill(kit, base: str) -> None:
    """Objects with awkward names, overwritten and deleted ones, a folder marker and a sibling prefix."""
    for key, data in [
        ("data/a.wav", b"aaa"),
        ("data/sub/b c+d.wav", b"bb"),
        ("data/sub/deep/é.txt", b"c" * 10),
        ("data/over.txt", b"old"),
        ("data/gone.txt", b"gone"),
        ("data/empty/", b""),
        ("database/x.txt", b"not below data/"),
        ("top.txt", b"top"),
    ]:
        kit.put(f"{base}/{key}", data)
    kit.put(f"{base}/data/over.txt", b"new bytes")
    kit.delete(f"{base}/data/gone.txt")


# --- S3 ----------------------------------------------------------------------------------------------
def _s3_rows(client, bucket: str, versions: bool) -> list[dict]:
    """Inventory rows from a real listing: every version and delete marker, or current objects only."""
    rows = []
    if versions:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            for v in page.get("Versions", []):
                rows.append({**v, "IsDeleteMarker": False})
            for m in page.get("DeleteMarkers", []):
                rows.append({**m, "IsDeleteMarker": True, "Size": None, "ETag": None})
    else:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            rows += [
                {**o, "IsLatest": True, "IsDeleteMarker": False, "VersionId": None} for o in page.get("Contents", [])
            ]
    return rows


def _write_s3_report(client, source: str, dest: str, fmt: str, versions: bool, shards: int = 2) -> str:
    """An S3 Inventory report of ``source`` in ``dest`` laid out as AWS does; returns its manifest URI."""
    fields = S3_FIELDS if versions else [f for f in S3_FIELDS if f not in {"VersionId", "IsLatest", "IsDeleteMarker"}]
    rows = _s3_rows(client, source, versions)
    base = f"inv/{source}/daily"
    files = []
    for shard in range(shards):
        part = rows[shard::shards]
        if fmt == "CSV":
            text = io.StringIO()
            writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
            for r in part:
                writer.writerow([_s3_csv_value(f, r, source) for f in fields])
            body, key = gzip.compress(text.getvalue().encode()), f"{base}/data/shard-{shard}.csv.gz"
        else:
            table = pa.table(
                {
                    "bucket": [source] * len(part),
                    "key": [r["Key"] for r in part],
                    **({"version_id": [r["VersionId"] for r in part]} if versions else {}),
                    **({"is_latest": [r["IsLatest"] for r in part]} if versions else {}),
                    **({"is_delete_marker": [r["IsDeleteMarker"] for r in part]} if versions else {}),
                    "size": pa.array([r["Size"] for r in part], pa.int64()),
                    "last_modified_date": pa.array([r["LastModified"] for r in part], pa.timestamp("ms", tz="UTC")),
                    "e_tag": [r["ETag"].strip('"') if r["ETag"] else None for r in part],
                }
            )
            sink = io.BytesIO()
            pq.write_table(table, sink)
            body, key = sink.getvalue(), f"{base}/data/shard-{shard}.parquet"
        client.put_object(Bucket=dest, Key=key, Body=body)
        files.append({"key": key, "size": len(body), "MD5checksum": hashlib.md5(body).hexdigest()})
    manifest = {
        "sourceBucket": source,
        "destinationBucket": f"arn:aws:s3:::{dest}",
        "version": "2016-11-30",
        "creationTimestamp": "1514944800000",
        "fileFormat": fmt,
        "fileSchema": ", ".join(fields) if fmt == "CSV" else "message s3.inventory { ... }",
        "files": files,
    }
    key = f"{base}/2026-11-27T00-00Z/manifest.json"
    client.put_object(Bucket=dest, Key=key, Body=json.dumps(manifest).encode())
    return f"s3://{dest}/{key}"


def _s3_csv_value(field: str, row: dict, bucket: str) -> str:
    if field == "Bucket":
        return bucket
    if field == "Key":
        return urllib.parse.quote_plus(row["Key"], safe="/")  # URL-encoded, as S3 writes CSV keys
    if field == "LastModifiedDate":
        return row["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if field in {"IsLatest", "IsDeleteMarker"}:
        return "true" if row[field] else "false"
    if field == "ETag":
        return (row["ETag"] or "").strip('"')
    value = row.get(field)
    return "" if value is None else str(value)


def _listed_and_inventoried(uri: str, report: str, name: str | None = None):
    listed = shanty.Artifact("listed", "dataset")
    listed.add_reference(uri, name=name)
    inventoried = shanty.Artifact("inventoried", "dataset")
    inventoried.add_reference(uri, name=name, inventory=report)
    return listed.manifest, inventoried.manifest


def _assert_same(listed, inventoried) -> None:
    assert len(inventoried) == len(listed)
    assert inventoried.digest == listed.digest
    assert inventoried.total_size == listed.total_size
    assert inventoried.entries == listed.entries  # paths, digests, sizes, refs, object versions


@pytest.mark.parametrize("fmt", ["CSV", "Parquet"])
@pytest.mark.parametrize("versions", [True, False])
def test_s3_report_equals_listing(s3_kit, fmt: str, versions: bool) -> None:
    source = s3_kit.new_bucket(versioned=versions)
    dest = parse_location(s3_kit.new_bucket(versioned=False)).bucket
    _fill(s3_kit, source)
    bucket = parse_location(source).bucket
    report = _write_s3_report(s3_kit.client, bucket, dest, fmt, versions)
    listed, inventoried = _listed_and_inventoried(f"{source}/data", report)
    _assert_same(listed, inventoried)
    assert "over.txt" in listed.entries and "gone.txt" not in listed.entries and "sub/b c+d.wav" in listed.entries
    assert (listed.entries["over.txt"].object_version is not None) is versions
    # The whole bucket, under a name, from the report's folder, and one object by its name.
    _assert_same(*_listed_and_inventoried(source, report.rsplit("/", 1)[0], name="all"))
    _assert_same(*_listed_and_inventoried(f"{source}/data/over.txt", report, name="renamed.txt"))


def test_odd_keys_in_a_report_are_left_out_as_a_listing_leaves_them(s3_kit) -> None:
    source = s3_kit.new_bucket(versioned=False)
    dest = parse_location(s3_kit.new_bucket(versioned=False)).bucket
    _fill(s3_kit, source)
    for key in ("data//twice.wav", "data/sub/../up.wav"):
        s3_kit.put(f"{source}/{key}", b"odd")
    report = _write_s3_report(s3_kit.client, parse_location(source).bucket, dest, "Parquet", False)
    with pytest.warns(UserWarning, match=r"2 object\(s\) .*'/twice.wav'") as warned:
        listed, inventoried = _listed_and_inventoried(f"{source}/data", report)
    assert len(warned) == 2  # one warning each: the listing's and the report's
    _assert_same(listed, inventoried)
    assert "a.wav" in inventoried.entries and not any("twice" in p or "up.wav" in p for p in inventoried.entries)


def test_s3_inventory_version_is_logged_like_listing(s3_kit, tmp_path) -> None:
    source = s3_kit.new_bucket()
    dest = parse_location(s3_kit.new_bucket(versioned=False)).bucket
    _fill(s3_kit, source)
    report = _write_s3_report(s3_kit.client, parse_location(source).bucket, dest, "Parquet", True)
    with shanty.init(project="p", root=str(tmp_path / "reg")) as run:
        listed = shanty.Artifact("media", "dataset")
        listed.add_reference(f"{source}/data")
        first = run.log_artifact(listed)
        inventoried = shanty.Artifact("media", "dataset")
        inventoried.add_reference(f"{source}/data", inventory=report)
        inventoried.add_reference(f"{source}/top.txt")  # a listed entry beside the report's
        second = run.log_artifact(inventoried)
    assert second.digest != first.digest and second.file_count == first.file_count + 1
    stored = second.manifest.entries
    assert {p: e for p, e in stored.items() if p != "top.txt"} == first.manifest.entries


def test_bad_s3_reports_are_one_sentence(s3_kit, caplog) -> None:
    source = s3_kit.new_bucket()
    other = s3_kit.new_bucket()
    dest = parse_location(s3_kit.new_bucket(versioned=False)).bucket
    _fill(s3_kit, source)
    _fill(s3_kit, other)
    report = _write_s3_report(s3_kit.client, parse_location(source).bucket, dest, "CSV", True)
    with pytest.raises(InvalidInputError, match=r"lists bucket .*; pass a report of") as wrong:
        shanty.Artifact("a", "dataset").add_reference(other, inventory=report)
    manifest = json.loads(s3_kit.client.get_object(Bucket=dest, Key=parse_location(report).key)["Body"].read())
    s3_kit.client.delete_object(Bucket=dest, Key=manifest["files"][0]["key"])
    with pytest.raises(NotFoundError, match="which is missing; use a complete report") as missing:
        shanty.Artifact("a", "dataset").add_reference(source, inventory=report)
    broken = {**manifest, "fileSchema": "Bucket, Size"}
    s3_kit.client.put_object(Bucket=dest, Key="bad/manifest.json", Body=json.dumps(broken).encode())
    with pytest.raises(MalformedError, match=r"lacks the field\(s\) \['e_tag', 'key'\]") as columns:
        shanty.Artifact("a", "dataset").add_reference(source, inventory=f"s3://{dest}/bad/manifest.json")
    with pytest.raises(NotFoundError, match="No inventory report manifest"):
        shanty.Artifact("a", "dataset").add_reference(source, inventory=f"s3://{dest}/nothing-here")
    for exc in (wrong, missing, columns):
        message = str(exc.value)
        assert message.count(". ") == 0 and "\n" not in message and message.endswith(".")
    assert [r for r in caplog.records if r.name.startswith("shanty")] == []


def test_listing_past_max_objects_suggests_a_report(s3_kit) -> None:
    source = s3_kit.new_bucket()
    _fill(s3_kit, source)
    with pytest.raises(InvalidInputError, match="pass inventory= the bucket's inventory report"):
        shanty.Artifact("a", "dataset").add_reference(source, max_objects=2)


# --- GCS ---------------------------------------------------------------------------------------------
GCS_FIELDS = ["project", "bucket", "name", "size", "updated", "etag", "crc32c", "md5Hash", "generation", "contentType"]


def _write_gcs_report(client, source: str, dest: str, fmt: str) -> str:
    """A Storage Insights report of ``source`` into ``dest/reports/`` as GCS lays it out."""
    blobs = list(client.list_blobs(source))
    rows = [
        {
            "project": "shanty-tests",
            "bucket": source,
            "name": b.name,
            "size": b.size,
            "updated": b.updated.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "etag": b.etag,
            "crc32c": b.crc32c,
            "md5Hash": b.md5_hash,
            "generation": b.generation,
            "contentType": b.content_type,
        }
        for b in blobs
    ]
    prefix = "reports/cfg-1234_2026-11-27T00:00:00"
    shards = []
    for shard, part in enumerate([rows[0::2], rows[1::2]]):
        if fmt == "csv":
            text = io.StringIO()
            writer = csv.DictWriter(text, GCS_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(part)
            body = text.getvalue().encode()
        else:
            sink = io.BytesIO()
            pq.write_table(pa.Table.from_pylist(part), sink)
            body = sink.getvalue()
        name = f"{prefix}_{shard}.{fmt}"
        client.bucket(dest).blob(name).upload_from_string(body)
        shards.append(name.rsplit("/", 1)[-1])
    manifest = {
        "report_config": {"objectMetadataReportOptions": {"metadataFields": GCS_FIELDS}},
        "records_processed": len(rows),
        "snapshot_time": "2026-11-27T00:00:00Z",
        "shard_count": len(shards),
        "report_shards_file_names": shards,
    }
    client.bucket(dest).blob(f"{prefix}_manifest.json").upload_from_string(json.dumps(manifest))
    return f"gs://{dest}/{prefix}_manifest.json"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_gcs_report_equals_listing(gcs_kit, fmt: str) -> None:
    source = gcs_kit.new_bucket()
    dest = parse_location(gcs_kit.new_bucket(versioned=False)).bucket
    _fill(gcs_kit, source)
    bucket = parse_location(source).bucket
    report = _write_gcs_report(gcs_kit.client, bucket, dest, fmt)
    listed, inventoried = _listed_and_inventoried(f"{source}/data/", report)
    _assert_same(listed, inventoried)
    assert listed.entries["over.txt"].object_version is not None
    _assert_same(*_listed_and_inventoried(source, f"gs://{dest}/reports", name="all"))
    other = gcs_kit.new_bucket()
    gcs_kit.put(f"{other}/data/a.wav", b"x")
    with pytest.raises(InvalidInputError, match="pass a report of"):
        shanty.Artifact("a", "dataset").add_reference(other, inventory=report)


def test_cli_ref_add_inventory(s3_kit, tmp_path, capsys) -> None:
    from shanty.cli import main

    source = s3_kit.new_bucket()
    dest = parse_location(s3_kit.new_bucket(versioned=False)).bucket
    _fill(s3_kit, source)
    report = _write_s3_report(s3_kit.client, parse_location(source).bucket, dest, "CSV", True)
    root = str(tmp_path / "reg")
    args = ["--registry", root, "ref", "add", f"{source}/data", "--project", "p", "--name", "m", "--type", "dataset"]
    main([*args, "--inventory", report])
    assert "p/m:v0  4 files" in capsys.readouterr().out
    main(args)  # the listing makes the same version
    assert "unchanged, no new version" in capsys.readouterr().out
