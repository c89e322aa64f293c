"""Inventory reports: a bucket's object list read from the report the store already wrote, not by listing.

Two layouts are understood, exactly as the stores write them:

* **S3 Inventory**: ``<dest-prefix>/<source-bucket>/<config-id>/<YYYY-MM-DDTHH-MMZ>/manifest.json``
  (``sourceBucket``, ``fileFormat`` CSV | Parquet, ``fileSchema``, ``files[].key`` in the destination
  bucket), data files under ``<config-id>/data/``. CSV files are gzipped, have no header (columns in
  ``fileSchema`` order) and URL-encode the key; Parquet columns are snake_case (``key``, ``version_id``,
  ``is_latest``, ``is_delete_marker``, ``size``, ``last_modified_date``, ``e_tag``).
* **GCS Storage Insights**: ``<dest>/<config-id>_<snapshot>_manifest.json`` (``report_shards_file_names``,
  ``records_processed``, ``snapshot_time``) beside the shards, CSV with a header row or Parquet, columns
  named after the object resource (``bucket``, ``name``, ``size``, ``md5Hash``, ``crc32c``,
  ``generation``, ``updated``, ``etag``, ``contentType``).

The data files are copied to a temporary folder (DuckDB reads buckets only through an extension that
cannot be downloaded offline) and read by DuckDB, sorted and streamed as Arrow batches with the columns
of :data:`OBJECT_COLUMNS` (one per :class:`~shanty.storage.base.ObjectInfo` field, ``extra`` as JSON):
the same objects, digests, sizes and versions a listing of that prefix returns, never a Python object
per row. The report's folder may be a bucket or a local copy (``aws s3 sync`` of the destination).
"""

from __future__ import annotations

import json
import posixpath
import re
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidInputError, MalformedError, NotFoundError
from . import local_path, storage_for
from .location import parse_location

__all__ = ["OBJECT_COLUMNS", "InventoryReport", "inventory_batches", "open_report"]

OBJECT_COLUMNS = ("relpath", "uri", "size", "digest", "object_version", "extra")
BATCH_ROWS = 256 * 1024
MEMORY_LIMIT = "1GB"  # DuckDB spills its sort to disk past this: a 10M-object report stays well under 2 GB
_S3_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z$")
# S3's CSV field names -> its Parquet column names (what the query uses for both).
_S3_FIELDS = {
    "Bucket": "bucket",
    "Key": "key",
    "VersionId": "version_id",
    "IsLatest": "is_latest",
    "IsDeleteMarker": "is_delete_marker",
    "Size": "size",
    "LastModifiedDate": "last_modified_date",
    "ETag": "e_tag",
}
_S3_NEEDED = {"bucket", "key", "size", "e_tag"}
_GCS_NEEDED = {"bucket", "name", "size", "md5Hash", "crc32c", "generation"}


@dataclass(frozen=True)
class InventoryReport:
    """One inventory report: which store wrote it (``"s3"`` | ``"gs"``), for which bucket (None when the
    manifest does not say; then the rows do), in which format (``"csv"`` | ``"parquet"``), its data files
    (URIs), and for S3 CSV the column names in order."""

    uri: str
    store: str
    bucket: str | None
    format: str
    files: tuple[str, ...]
    csv_columns: tuple[str, ...] = ()


def _bad(report: str, what: str) -> MalformedError:
    return MalformedError(f"The inventory report {report} {what}; pass the manifest.json of a complete report.")


def _read_json(uri: str) -> Any:
    try:
        return json.loads(storage_for(uri).read_bytes(uri))
    except NotFoundError:
        raise NotFoundError(f"No inventory report manifest at {uri}; check the report's URI.") from None
    except (ValueError, UnicodeDecodeError):
        raise _bad(uri, "is not JSON") from None


def _find_manifest(uri: str) -> str:
    """``uri`` itself when it names a manifest file, else the newest report manifest in that folder."""
    base = uri.rstrip("/")
    if base.endswith(".json"):
        return base
    names = storage_for(base).list_names(base)
    if "manifest.json" in names:
        return f"{base}/manifest.json"
    gcs = sorted(n for n in names if n.endswith("_manifest.json"))  # <config>_<snapshot>_manifest.json
    if gcs:
        return f"{base}/{gcs[-1]}"
    stamped = sorted(n for n in names if _S3_TIMESTAMP.match(n))  # <config-id>/<timestamp>/manifest.json
    if stamped:
        return f"{base}/{stamped[-1]}/manifest.json"
    raise NotFoundError(
        f"No inventory report manifest in {base}; pass an S3 report's manifest.json or a GCS report's "
        "<config>_<snapshot>_manifest.json (or the folder holding it)."
    )


def _s3_data_uri(manifest_uri: str, data: dict[str, Any], key: str) -> str:
    """Where a data file named by ``files[].key`` is: in the destination bucket when the manifest is
    read from it, else at the same place relative to the manifest (a copied report folder)."""
    destination = str(data.get("destinationBucket", "")).rsplit(":", 1)[-1]
    location = parse_location(manifest_uri)
    if location.scheme == "s3" and location.bucket == destination:
        return f"s3://{destination}/{key}"
    # <config-id>/<timestamp>/manifest.json and <config-id>/data/<file>: the key's tail from "data/".
    tail = key[key.rfind("/data/") + 1 :] if "/data/" in key else posixpath.basename(key)
    return f"{manifest_uri.rsplit('/', 2)[0]}/{tail}"


def open_report(uri: str) -> InventoryReport:
    """Read the report manifest at ``uri`` (a ``manifest.json``, a GCS ``*_manifest.json`` or the folder
    holding one). MalformedError (one sentence) when it is not a report shanty can read, NotFoundError
    when there is none."""
    manifest_uri = _find_manifest(uri)
    data = _read_json(manifest_uri)
    if not isinstance(data, dict):
        raise _bad(manifest_uri, "is not a JSON object")
    if "report_shards_file_names" in data:  # GCS Storage Insights
        shards = data["report_shards_file_names"]
        if not isinstance(shards, list) or not all(isinstance(s, str) for s in shards):
            raise _bad(manifest_uri, "has no list of shard files")
        folder = manifest_uri.rsplit("/", 1)[0]
        config = data.get("report_config") or {}
        options = config.get("objectMetadataReportOptions") or config.get("object_metadata_report_options") or {}
        filters = options.get("storageFilters") or options.get("storage_filters") or {}
        formats = {s.rsplit(".", 1)[-1].lower() for s in shards}
        if formats - {"csv", "parquet"}:
            raise _bad(manifest_uri, f"has shard files of an unknown format ({sorted(formats)})")
        return InventoryReport(
            manifest_uri,
            "gs",
            filters.get("bucket"),
            formats.pop() if formats else "csv",
            tuple(f"{folder}/{posixpath.basename(s)}" for s in shards),
        )
    if "files" in data and "fileFormat" in data:  # S3 Inventory
        fmt = str(data["fileFormat"]).lower()
        if fmt not in {"csv", "parquet"}:
            raise InvalidInputError(
                f"The inventory report {manifest_uri} is in {data['fileFormat']} format; configure the "
                "inventory to write CSV or Parquet."
            )
        files = data["files"]
        if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("key"), str) for f in files):
            raise _bad(manifest_uri, "has no list of data files")
        columns: tuple[str, ...] = ()
        if fmt == "csv":
            fields = [f.strip() for f in str(data.get("fileSchema", "")).split(",")]
            columns = tuple(_S3_FIELDS.get(f, f) for f in fields)
            missing = _S3_NEEDED - set(columns)
            if missing:
                raise _bad(manifest_uri, f"lacks the field(s) {sorted(missing)} in its fileSchema")
        return InventoryReport(
            manifest_uri,
            "s3",
            data.get("sourceBucket"),
            fmt,
            tuple(_s3_data_uri(manifest_uri, data, f["key"]) for f in files),
            columns,
        )
    raise _bad(manifest_uri, "is neither an S3 Inventory manifest.json nor a GCS inventory manifest")


def _local_copies(report: InventoryReport, folder: Path) -> list[str]:
    """Local paths of the report's data files, copying bucket ones into ``folder`` (in parallel)."""

    def fetch(item: tuple[int, str]) -> str:
        index, uri = item
        local = local_path(uri)
        if local is not None:
            if not local.is_file():
                raise NotFoundError(
                    f"The inventory report {report.uri} names {uri}, which is missing; use a complete report."
                )
            return str(local)
        dest = folder / f"{index:06d}{''.join(Path(parse_location(uri).key).suffixes)}"
        try:
            storage_for(uri).download(uri, None, dest)
        except NotFoundError:
            raise NotFoundError(
                f"The inventory report {report.uri} names {uri}, which is missing; use a complete report."
            ) from None
        return str(dest)

    if not report.files:
        raise NotFoundError(f"The inventory report {report.uri} has no data files; the bucket was empty when it ran.")
    with ThreadPoolExecutor(min(8, len(report.files))) as pool:
        return list(pool.map(fetch, enumerate(report.files)))


def _as_parquet(con: Any, source: str, dest: Path) -> str:
    """``source`` (CSV) copied into one Parquet file, streamed, unordered; the relation reading it back.

    Sorting CSV text directly ran out of memory under :data:`MEMORY_LIMIT` at 10M rows (DuckDB's CSV
    reader holds large buffers per thread while the sort fills up); a streamed copy needs little memory,
    and the sort then reads Parquet as for a Parquet report.
    """
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"COPY (SELECT * FROM {source}) TO '{_sql_text(dest)}' (FORMAT parquet)")
    return f"read_parquet('{_sql_text(dest)}')"


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def _source(report: InventoryReport, files: list[str]) -> str:
    """The SQL relation of every row of the report, columns as named by the store."""
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    if report.format == "parquet":
        return f"read_parquet({listed}, union_by_name = true)"
    if report.store == "s3":  # no header: the names come from fileSchema
        names = ", ".join(f"'{c}': 'VARCHAR'" for c in report.csv_columns)
        return f"read_csv({listed}, header = false, columns = {{{names}}}, quote = '\"', escape = '\"')"
    return f"read_csv({listed}, header = true, all_varchar = true)"


def _s3_query(report: InventoryReport, source: str, columns: set[str]) -> str:
    versions = "version_id" in columns
    csv = report.format == "csv"
    # CSV keys are URL-encoded, a space as '+'; Parquet keys are not encoded.
    key = "url_decode(replace(key, '+', '%20'))" if csv else "key"
    latest = "AND CAST(is_latest AS BOOLEAN)" if "is_latest" in columns else ""
    live = "AND NOT coalesce(CAST(is_delete_marker AS BOOLEAN), false)" if "is_delete_marker" in columns else ""
    # Microseconds since the epoch in UTC: 8 bytes through the sort, not 25 of text, formatted after it
    # by _extra_sql as a plain timestamp (no time zone rules per row, which cost twice as much).
    modified = (
        "epoch_us(CAST(last_modified_date AS TIMESTAMPTZ))" if "last_modified_date" in columns else "NULL::BIGINT"
    )
    version = "nullif(nullif(version_id, 'null'), '')" if versions else "NULL"
    return f"""
        SELECT bucket, {key} AS k, CAST(size AS BIGINT) AS size, replace(e_tag, '"', '') AS digest,
               {version} AS object_version, {modified} AS modified
        FROM {source} WHERE true {latest} {live}"""


def _gcs_query(source: str, columns: set[str]) -> str:
    def col(name: str) -> str:
        return f"nullif(CAST({name} AS VARCHAR), '')" if name in columns else "NULL"

    return f"""
        SELECT bucket, name AS k, CAST(size AS BIGINT) AS size,
               coalesce({col("md5Hash")}, 'crc32c:' || {col("crc32c")}) AS digest,
               CAST(generation AS VARCHAR) AS object_version, {col("md5Hash")} AS md5, {col("crc32c")} AS crc32c,
               {col("etag")} AS etag, {col("contentType")} AS content_type,
               epoch_us(CAST({col("updated")} AS TIMESTAMPTZ)) AS updated
        FROM {source}"""


# What each store's rows carry through the sort besides the path: only what the entry needs, so
# the sort moves as few bytes as it can (uri and extra are built from them after it).
_SORTED = {
    "s3": ("size", "digest", "object_version", "modified"),
    "gs": ("size", "digest", "object_version", "md5", "crc32c", "etag", "content_type", "updated"),
}


def _extra_sql(store: str) -> str:
    """``extra`` as the JSON a listing records (keys sorted, absent values left out)."""
    if store == "s3":
        modified = "strftime(make_timestamp(modified), '%Y-%m-%dT%H:%M:%S+00:00')"
        return (
            "'{' || concat_ws(', ', '\"etag\": ' || to_json(digest), "
            f"'\"last_modified\": ' || to_json({modified})) || '}}'"
        )
    at = "make_timestamp(updated)"  # microseconds since the epoch in UTC (see _gcs_query)
    updated = (  # as datetime.isoformat(): microseconds only when there are some
        f"CASE WHEN updated % 1000000 = 0 THEN strftime({at}, '%Y-%m-%dT%H:%M:%S+00:00') "
        f"ELSE strftime({at}, '%Y-%m-%dT%H:%M:%S.%f+00:00') END"
    )
    parts = [
        "'\"content_type\": ' || to_json(content_type)",
        "'\"crc32c\": ' || to_json(crc32c)",
        "'\"etag\": ' || to_json(etag)",
        f"'\"last_modified\": ' || to_json({updated})",
        "'\"md5\": ' || to_json(md5)",
    ]
    return "'{' || concat_ws(', ', " + ", ".join(parts) + ") || '}'"


@contextmanager
def inventory_batches(
    report: InventoryReport, uri: str, *, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatchReader]:
    """The objects at ``uri`` (the object itself when one has exactly that name, else every object below
    ``uri + '/'``, as a listing) according to ``report``, as a reader of Arrow batches with the columns
    :data:`OBJECT_COLUMNS`, sorted by ``relpath``. Latest versions only, delete markers and folder
    markers left out, as a listing. InvalidInputError when the report is of another bucket or ``uri``
    pins a version; MalformedError when its files lack the needed columns; NotFoundError when a data
    file is missing or nothing is at ``uri``. Temporary copies are removed on exit."""
    location = parse_location(uri)
    if location.scheme != report.store:
        raise InvalidInputError(f"The inventory report {report.uri} lists a {report.store}:// bucket, not {uri}.")
    if location.object_version:
        raise InvalidInputError(f"Reference {uri} without a version to read it from an inventory report.")
    if report.bucket and report.bucket != location.bucket:
        raise InvalidInputError(
            f"The inventory report {report.uri} lists bucket {report.bucket}, not {location.bucket}; "
            f"pass a report of {location.bucket}."
        )
    key = location.key
    root = key if not key or key.endswith("/") else key + "/"
    exact = key if key and not key.endswith("/") else None
    with tempfile.TemporaryDirectory(prefix="shanty-inventory-") as tmp:
        files = _local_copies(report, Path(tmp))
        con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(Path(tmp) / "spill")})
        try:
            source = _source(report, files)
            try:
                columns = {c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
                if report.format != "parquet":
                    source = _as_parquet(con, source, Path(tmp) / "report.parquet")
            except duckdb.Error as exc:
                raise _bad(report.uri, f"has data files DuckDB cannot read ({str(exc).splitlines()[0]})") from None
            needed = _S3_NEEDED if report.store == "s3" else _GCS_NEEDED
            if needed - columns:
                raise _bad(report.uri, f"has data files without the column(s) {sorted(needed - columns)}")
            rows = _s3_query(report, source, columns) if report.store == "s3" else _gcs_query(source, columns)
            # Folder markers are not content: S3 skips empty keys ending in '/', GCS any name ending in '/'.
            marker = "(ends_with(k, '/') AND size = 0)" if report.store == "s3" else "ends_with(k, '/')"
            if not report.bucket:  # the manifest does not say which bucket: the rows do
                other = con.execute(
                    f"SELECT any_value(bucket) FROM ({rows}) WHERE bucket <> $bucket", {"bucket": location.bucket}
                ).fetchall()[0]
                if other and other[0] is not None:
                    raise InvalidInputError(
                        f"The inventory report {report.uri} lists bucket {other[0]}, not {location.bucket}; "
                        f"pass a report of {location.bucket}."
                    )
            under = f"{report.store}://{location.bucket}/{root}"
            params: dict[str, Any] = {"bucket": location.bucket, "cut": len(root) + 1, "root": root, "under": under}
            # Every key below root starts with it: relpath's order is the keys' order.
            relpath, where, uri_sql, order = "substr(k, $cut)", "starts_with(k, $root)", "$under || relpath", ""
            carried = ", ".join(_SORTED[report.store])
            exact_uri = f"{report.store}://{location.bucket}/{key}"
            if exact is not None:
                # An object of exactly that name wins over the prefix, as in a listing. Both are read in one
                # scan (a CSV report has no statistics to find that object without a scan of its own), the
                # object sorted first; what follows it is dropped below.
                params.update(exact=key, base=posixpath.basename(key), uri=exact_uri)
                relpath = "CASE WHEN k = $exact THEN $base ELSE substr(k, $cut) END"
                where, carried = f"(k = $exact OR {where})", carried + ", k = $exact AS hit"
                uri_sql, order = "CASE WHEN hit THEN $uri ELSE $under || relpath END", "hit DESC, "
            # Sorted first with only the columns the entries need, then uri and extra built in order (a
            # projection keeps the subquery's order): the sort, which spills, moves half the bytes.
            query = f"""
                SELECT relpath, {uri_sql} AS uri, size, digest, object_version, {_extra_sql(report.store)} AS extra
                FROM (
                    SELECT {relpath} AS relpath, {carried}
                    FROM ({rows}) WHERE bucket = $bucket AND {where} AND NOT {marker}
                    ORDER BY {order}relpath
                )"""
            first: pa.RecordBatch | None = None
            try:
                reader = con.sql(query, params=params).to_arrow_reader(batch_rows)
                first = reader.read_next_batch()
            except StopIteration:
                pass
            except duckdb.Error as exc:
                raise _bad(report.uri, f"has rows DuckDB cannot read ({str(exc).splitlines()[0]})") from None
            if first is None or first.num_rows == 0:
                raise NotFoundError(
                    f"The inventory report {report.uri} lists nothing at {uri}; check the prefix, or the report is older than the objects."
                )
            hits = pc.equal(first.column("uri"), exact_uri) if exact is not None else None
            if hits is not None and hits[0].as_py():  # the object itself: nothing below it counts
                yield pa.RecordBatchReader.from_batches(first.schema, [first.filter(hits)])
            else:
                yield _chained(first, reader)
        finally:
            con.close()


def _chained(first: pa.RecordBatch, rest: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """A reader yielding ``first`` then the rest of ``rest`` (the first batch was read to see it is not empty)."""

    def batches() -> Iterator[pa.RecordBatch]:
        yield first
        yield from rest

    return pa.RecordBatchReader.from_batches(first.schema, batches())
