"""Engine-backed manifest diffs: a table of cases, errors, paging, and equivalence with ``diff_manifests``."""

from __future__ import annotations

import itertools
import json
import pickle
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shanty.diff import manifest_files as versiondiff
from shanty.diff.formatting import diff_to_text
from shanty.diff.manifest_files import ChangePage, ManifestDiff, diff_manifest_files
from shanty.diff.manifests import Change, ChangeKind, Diff, diff_manifests
from shanty.errors import ConflictError, InvalidInputError, MalformedError, NotFoundError
from shanty.manifest import MANIFEST_SCHEMA, Manifest
from shanty.query.database import connection

A, R, M, N, U = ChangeKind.ADDED, ChangeKind.REMOVED, ChangeKind.MODIFIED, ChangeKind.RENAMED, ChangeKind.UNCHANGED
Row = tuple[Any, ...]  # (path, digest, size[, ref, version, extra])
_NAMES = itertools.count()


def write(directory: Path, rows: Sequence[Row], name: str | None = None, schema: pa.Schema = MANIFEST_SCHEMA) -> Path:
    """A manifest file holding ``rows`` as given (any order, repeats allowed); missing fields are null."""
    padded = [tuple(row) + (None,) * (len(schema) - len(row)) for row in rows]
    columns = {f.name: [row[i] for row in padded] for i, f in enumerate(schema)}
    # A fresh name per file: a cached diff is keyed by (path, mtime, size), and rewrites in one tick could collide.
    path = directory / (name or f"manifest_{next(_NAMES)}.parquet")
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


def every_change(diff: ManifestDiff, page_size: int = 1000, **filters: Any) -> list[Change]:
    """All changes, gathered page by page (so paging itself is checked)."""
    first = diff.changes(page_size=page_size, **filters)
    changes = list(first.changes)
    for page in range(2, first.page_count + 1):
        changes += diff.changes(page=page, page_size=page_size, **filters).changes
    assert len(changes) == first.total
    return changes


def shape(changes: Sequence[Change]) -> list[tuple[Any, ...]]:
    """Changes as plain tuples, extra included (ManifestEntry equality ignores it)."""

    def entry(e):
        return None if e is None else (e.path, e.digest, e.size, e.ref, e.object_version, dict(e.extra))

    return [(c.kind, entry(c.old), entry(c.new)) for c in changes]


def kinds_and_paths(changes: Sequence[Change]) -> list[tuple[str, str | None, str | None]]:
    return [(c.kind.value, c.old.path if c.old else None, c.new.path if c.new else None) for c in changes]


@pytest.fixture(autouse=True)
def _cold_cache():
    # Each test starts and ends without cached diffs, so none leans on another's tables.
    versiondiff.clear_caches()
    yield
    versiondiff.clear_caches()


# --- the table of cases ---------------------------------------------------------------------

OLD = [("keep.wav", "k", 10), ("edit.wav", "e1", 10), ("gone.wav", "g", 5), ("old_name.wav", "r", 7)]
NEW = [("keep.wav", "k", 10), ("edit.wav", "e2", 14), ("new.wav", "n", 3), ("new_name.wav", "r", 7)]

CASES = {
    "every kind": (
        OLD,
        NEW,
        [
            ("modified", "edit.wav", "edit.wav"),
            ("removed", "gone.wav", None),
            ("unchanged", "keep.wav", "keep.wav"),
            ("added", None, "new.wav"),
            ("renamed", "old_name.wav", "new_name.wav"),
        ],
    ),
    "identical": (OLD, list(reversed(OLD)), [("unchanged", p, p) for p in sorted(r[0] for r in OLD)]),
    "both empty": ([], [], []),
    "all added": ([], [("b", "x", 1), ("a", "y", 2)], [("added", None, "a"), ("added", None, "b")]),
    "all removed": ([("b", "x", 1), ("a", "y", 2)], [], [("removed", "a", None), ("removed", "b", None)]),
    "copies pair one to one": (
        [("a1", "same", 1), ("a2", "same", 1)],
        [("b1", "same", 1)],
        [("removed", "a2", None), ("renamed", "a1", "b1")],
    ),
    "several candidates pair in path order": (
        [("c", "d", 1), ("a", "d", 1), ("b", "d", 1), ("keep", "d", 1)],
        [("z", "d", 1), ("y", "d", 1), ("keep", "d", 1)],
        [("removed", "c", None), ("unchanged", "keep", "keep"), ("renamed", "a", "y"), ("renamed", "b", "z")],
    ),
    "more new copies than old": (
        [("o", "d", 1)],
        [("n2", "d", 1), ("n1", "d", 1)],
        [("renamed", "o", "n1"), ("added", None, "n2")],
    ),
    "a modified path is no rename candidate": (
        [("a", "x", 1), ("b", "y", 1)],
        [("a", "y", 1), ("c", "x", 1)],
        [("modified", "a", "a"), ("removed", "b", None), ("added", None, "c")],
    ),
    "same digest new size is unchanged": ([("a", "x", 1)], [("a", "x", 2)], [("unchanged", "a", "a")]),
    "null digests pair with each other": (
        [("a", None, 1), ("b", None, 2)],
        [("a", None, 1), ("c", None, 2)],
        [("unchanged", "a", "a"), ("renamed", "b", "c")],
    ),
    "repeated path: the last one wins": (
        [("a", "first", 1), ("a", "last", 2)],
        [("a", "last", 2)],
        [("unchanged", "a", "a")],
    ),
    "unicode paths sort by code point": (
        [("é", "1", 1), ("z", "2", 1), ("日本", "3", 1), ("😀", "4", 1)],
        [("É", "1", 1), ("z", "2", 1), ("日本", "5", 1), ("😀", "4", 1), ("Z", "6", 1)],
        [
            ("added", None, "Z"),
            ("unchanged", "z", "z"),
            ("renamed", "é", "É"),
            ("modified", "日本", "日本"),
            ("unchanged", "😀", "😀"),
        ],
    ),
}


@pytest.mark.parametrize(("old", "new", "expected"), CASES.values(), ids=CASES.keys())
def test_cases_match_the_expected_changes_and_diff_manifests(tmp_path: Path, old, new, expected) -> None:
    old_file, new_file = write(tmp_path, old), write(tmp_path, new)
    diff = diff_manifest_files(old_file, new_file)
    changes = every_change(diff, page_size=2)
    assert kinds_and_paths(changes) == expected
    reference = diff_manifests(*(Manifest.from_parquet_bytes(f.read_bytes()) for f in (old_file, new_file)))
    assert shape(changes) == shape(reference.changes)
    assert diff.summary == reference.summary


def test_summary_counts_and_bytes(tmp_path: Path) -> None:
    s = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW)).summary
    assert (s.added.count, s.added.new_bytes) == (1, 3)
    assert (s.removed.count, s.removed.old_bytes) == (1, 5)
    assert (s.modified.count, s.modified.delta) == (1, 4)
    assert (s.renamed.count, s.renamed.old_bytes, s.unchanged.count) == (1, 7, 1)
    assert (s.old_files, s.new_files, s.old_bytes, s.new_bytes) == (4, 4, 32, 34)
    assert s.changed


def test_identical_manifests_are_unchanged(tmp_path: Path) -> None:
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, OLD))
    assert not diff.summary.changed and diff.count("unchanged") == 4
    assert diff.changes([A, R, M, N]) == ChangePage((), 0, 1, 100, 0)


def test_entries_carry_every_field_with_extra_parsed(tmp_path: Path) -> None:
    extra = json.dumps({"etag": "abc", "last_modified": "2024-01-01T00:00:00Z"})
    old = write(tmp_path, [("a.wav", "d1", 5, "s3://b/a.wav", "v1", extra)])
    new = write(tmp_path, [("a.wav", "d2", 6, "s3://b/a.wav", "v2", "")])
    (change,) = diff_manifest_files(old, new).changes().changes
    assert change.kind is M and change.size_delta == 1
    assert (change.old.ref, change.old.object_version, dict(change.old.extra)) == (
        "s3://b/a.wav",
        "v1",
        {"etag": "abc", "last_modified": "2024-01-01T00:00:00Z"},
    )
    assert (change.new.object_version, dict(change.new.extra)) == ("v2", {})


def test_optional_columns_may_be_missing(tmp_path: Path) -> None:
    narrow = pa.schema([("path", pa.string()), ("digest", pa.string()), ("size", pa.int32())])
    old = write(tmp_path, [("a", "x", 1)], schema=narrow)
    new = write(tmp_path, [("a", "y", 2, "s3://b/a", "v", '{"k": 1}')])
    (change,) = diff_manifest_files(old, new).changes().changes
    assert (change.old.ref, change.old.object_version, dict(change.old.extra)) == (None, None, {})
    assert (change.new.ref, dict(change.new.extra)) == ("s3://b/a", {"k": 1})


def test_a_file_row_number_column_does_not_confuse_the_row_numbers(tmp_path: Path) -> None:
    odd = pa.schema([*MANIFEST_SCHEMA, ("file_row_number", pa.int64())])
    old = write(tmp_path, [("b", "x", 1, None, None, None, 7), ("a", "y", 2, None, None, None, 3)], schema=odd)
    new = write(tmp_path, [("a", "y", 2), ("c", "x", 1)])
    assert kinds_and_paths(diff_manifest_files(old, new).changes().changes) == [
        ("unchanged", "a", "a"),
        ("renamed", "b", "c"),
    ]


def test_paging_and_totals(tmp_path: Path) -> None:
    old = write(tmp_path, [(f"f{i:02d}", f"d{i}", i) for i in range(25)])
    new = write(tmp_path, [(f"f{i:02d}", f"d{i}" if i % 2 else f"e{i}", i) for i in range(25)])
    diff = diff_manifest_files(old, new)
    pages = [diff.changes(page=p, page_size=10) for p in (1, 2, 3, 4)]
    assert [len(p.changes) for p in pages] == [10, 10, 5, 0]
    assert all((p.total, p.page_count) == (25, 3) for p in pages)
    assert [c.path for p in pages for c in p.changes] == [f"f{i:02d}" for i in range(25)]
    modified = diff.changes(M, page=2, page_size=5)
    assert [c.path for c in modified.changes] == ["f10", "f12", "f14", "f16", "f18"]
    assert (modified.total, modified.page_count, diff.count(M), diff.count("unchanged")) == (13, 3, 13, 12)


def test_kind_filters(tmp_path: Path) -> None:
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW))
    assert [c.kind for c in diff.changes(["added", R]).changes] == [R, A]
    assert [c.path for c in diff.changes("renamed").changes] == ["new_name.wav"]
    assert diff.changes(iter([U, U])).total == 1
    assert diff.changes([]).total == 0 and diff.changes([]).changes == ()


SEARCH_NEW = [*NEW, ("songs/été.wav", "s", 1), ("Songs/LOUD.wav", "l", 2)]
SEARCHES = {
    "upper-case needle": ("EDIT", ["edit.wav"]),
    "upper-case path": ("loud", ["Songs/LOUD.wav"]),
    "mixed case on both sides": ("sONGS/", ["Songs/LOUD.wav", "songs/été.wav"]),
    "unicode case folding": ("ÉTÉ", ["songs/été.wav"]),
    "a rename's old path": ("OLD_", ["new_name.wav"]),
    "a rename's new path": ("new_n", ["new_name.wav"]),
    "underscore is literal": ("_", ["new_name.wav"]),
    "percent is literal": ("%", []),
    "quotes are data": ("'; DROP TABLE x; --", []),
    "empty means everything": (
        "",
        ["Songs/LOUD.wav", "edit.wav", "gone.wav", "keep.wav", "new.wav", "new_name.wav", "songs/été.wav"],
    ),
}


@pytest.mark.parametrize(("needle", "expected"), SEARCHES.values(), ids=SEARCHES.keys())
def test_path_search(tmp_path: Path, needle: str, expected: list[str]) -> None:
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, SEARCH_NEW))
    page = diff.changes(path_contains=needle)
    assert [c.path for c in page.changes] == expected and page.total == len(expected)


def test_a_search_pages_and_counts(tmp_path: Path) -> None:
    old = write(tmp_path, [(f"{'keep' if i % 3 else 'drop'}/{i:03d}", str(i), 1) for i in range(100)])
    new = write(tmp_path, [(f"keep/{i:03d}", str(i), 1) for i in range(100) if i % 3])
    diff = diff_manifest_files(old, new)
    # The last page first: its total must not be taken for the whole search's.
    last, first = diff.changes(R, "DROP/", page=4, page_size=10), diff.changes(R, "DROP/", page_size=10)
    assert (last.total, last.page_count, len(last.changes), first.total, len(first.changes)) == (34, 4, 4, 34, 10)
    assert last.changes[-1].path == "drop/099" and diff.changes(R, "drop/0", page=9, page_size=10).changes == ()


def test_file_names_with_glob_characters(tmp_path: Path) -> None:
    write(tmp_path, [("decoy", "x", 1)], name="v1.parquet")  # what 'v[1].parquet' would match as a glob
    old = write(tmp_path, OLD, name="v[1].parquet")
    new = write(tmp_path, NEW, name="v*?.parquet")
    diff = diff_manifest_files(str(old), str(new))
    assert diff.summary.old_files == 4 and diff.count("renamed") == 1
    assert len(diff.changes().changes) == 5


def test_the_summary_formats_like_a_python_diff(tmp_path: Path) -> None:
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW))
    text = diff_to_text(Diff(diff.changes().changes, diff.summary), "v0", "v1")
    assert "v0 (4 files, 32 B) -> v1 (4 files, 34 B)" in text and "> old_name.wav -> new_name.wav" in text


# --- value behaviour and caching -------------------------------------------------------------


def test_a_diff_is_a_value_and_is_computed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = write(tmp_path, OLD), write(tmp_path, NEW)
    first = diff_manifest_files(old, new)
    builds = []
    monkeypatch.setattr(versiondiff, "_build", lambda *a: builds.append(a))
    again = diff_manifest_files(str(old), str(new))
    assert again == first and hash(again) == hash(first) and builds == []
    assert again.changes(A).changes[0].path == "new.wav" and builds == []


def test_a_pickled_diff_pages_after_its_table_is_gone(tmp_path: Path) -> None:
    # The dashboard caches the diff with st.cache_data, which pickles it; the table may be long evicted.
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW))
    copy = pickle.loads(pickle.dumps(diff))
    versiondiff.clear_caches()
    assert copy == diff and shape(copy.changes().changes) == shape(diff.changes().changes)
    assert [c.path for c in copy.changes(["renamed"]).changes] == ["new_name.wav"]


def test_evicted_diffs_are_rebuilt_and_their_tables_dropped(tmp_path: Path) -> None:
    first = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW))
    for i in range(versiondiff._CACHED_DIFFS + 1):
        diff_manifest_files(write(tmp_path, OLD[i:]), write(tmp_path, NEW))
    with connection() as cursor:
        tables = cursor.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = $1", [versiondiff._SCHEMA]
        ).fetchone()[0]
    assert tables <= versiondiff._CACHED_DIFFS
    assert kinds_and_paths(first.changes(N).changes) == [("renamed", "old_name.wav", "new_name.wav")]


def test_threads_diff_and_page_at_once(tmp_path: Path) -> None:
    pairs = [(write(tmp_path, OLD[i:]), write(tmp_path, NEW[: 4 - i])) for i in range(4)]
    expected = [shape(diff_manifest_files(*pair).changes().changes) for pair in pairs]
    versiondiff.clear_caches()  # start cold, so the threads build (and evict) concurrently
    results: dict[int, list] = {}

    def work(i: int) -> None:
        for _ in range(5):
            results.setdefault(i, []).append(shape(diff_manifest_files(*pairs[i % 4]).changes().changes))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(all(r == expected[i % 4] for r in results[i]) for i in range(8))


# --- errors -------------------------------------------------------------------------------


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="No manifest file at"):
        diff_manifest_files(tmp_path / "nope.parquet", write(tmp_path, NEW))


BROKEN = {
    "not parquet": (b"PAR1 this is not parquet", "not a readable manifest Parquet file"),
    "truncated": ("truncated", "not a readable manifest Parquet file"),
    "no digest column": (pa.table({"path": ["a"], "size": [1]}), r"lacks the column\(s\) \['digest'\]"),
    "size is text": (pa.table({"path": ["a"], "digest": ["d"], "size": ["1"]}), "'size' column .* holds VARCHAR"),
    "a null size": (
        pa.table({"path": ["a", "b"], "digest": ["d", "e"], "size": [1, None]}),
        "without a path or a size",
    ),
    "a null path": (pa.table({"path": ["a", None], "digest": ["d", "e"], "size": [1, 2]}), "without a path or a size"),
}


@pytest.mark.parametrize(("content", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_unreadable_manifests_are_malformed(tmp_path: Path, content: Any, message: str) -> None:
    broken = tmp_path / "broken.parquet"
    if isinstance(content, bytes):
        broken.write_bytes(content)
    elif isinstance(content, pa.Table):
        pq.write_table(content, broken)
    else:
        good = write(tmp_path, OLD * 50).read_bytes()
        broken.write_bytes(good[: len(good) // 2])
    for pair in ((broken, write(tmp_path, NEW)), (write(tmp_path, NEW), broken)):
        with pytest.raises(MalformedError, match=message) as caught:
            diff_manifest_files(*pair)
        assert str(caught.value).count(". ") == 0 and str(caught.value).endswith(".")  # one sentence


def test_damaged_extra_is_reported_when_its_page_is_read(tmp_path: Path) -> None:
    old = write(tmp_path, [("a", "x", 1, None, None, "{not json")])
    diff = diff_manifest_files(old, write(tmp_path, [("a", "y", 1)]))
    assert diff.count(M) == 1
    with pytest.raises(MalformedError, match=r"The entry 'a' of the manifest .* has unreadable extra metadata"):
        diff.changes()


def test_a_rewritten_file_is_refused(tmp_path: Path) -> None:
    old, new = write(tmp_path, OLD), write(tmp_path, NEW)
    diff = diff_manifest_files(old, new)
    pq.write_table(pa.table({"path": ["x"] * 3, "digest": ["y"] * 3, "size": [1, 2, 3]}), new)
    with pytest.raises(ConflictError, match="changed after it was diffed"):
        diff.changes()
    assert diff_manifest_files(old, new).summary.new_files == 1  # a fresh diff sees the new content


BAD_ARGUMENTS = {
    "unknown kind": ({"kinds": ["moved"]}, "Unknown change kind 'moved'"),
    "page zero": ({"page": 0}, "page number must be 1 or more"),
    "page as bool": ({"page": True}, "page number must be 1 or more"),
    "page size zero": ({"page_size": 0}, "page size must be from 1"),
    "page size too big": ({"page_size": 10_001}, "page size must be from 1"),
    "search not text": ({"path_contains": 3}, "path_contains must be text"),
}


@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments(tmp_path: Path, arguments: dict[str, Any], message: str) -> None:
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW))
    with pytest.raises(InvalidInputError, match=message):
        diff.changes(**arguments)


def test_count_of_an_unknown_kind(tmp_path: Path) -> None:
    diff = diff_manifest_files(write(tmp_path, OLD), write(tmp_path, NEW))
    assert diff.count(ChangeKind.ADDED) == 1
    with pytest.raises(InvalidInputError, match="Unknown change kind"):
        diff.count("moved")


# --- equivalence with diff_manifests on random manifests --------------------------------------

# Few path parts and digests, so paths collide (modified / unchanged) and digests repeat (rename candidates).
PATHS = st.lists(st.sampled_from(["a", "B", "é", "É", "ß", "日", "😀", "_", "%", "/"]), min_size=1, max_size=3).map(
    "".join
)
DIGESTS = st.one_of(st.none(), st.sampled_from(["d0", "d1", "d2", "d3"]))
EXTRAS = st.one_of(st.none(), st.just(""), st.dictionaries(st.sampled_from(["etag", "md5"]), st.text(max_size=3)))
ENTRIES = st.lists(
    st.tuples(
        PATHS, DIGESTS, st.integers(0, 2**40), st.none() | st.just("s3://b/x"), st.none() | st.just("v1"), EXTRAS
    ),
    max_size=25,
)


def _row(entry: tuple[Any, ...]) -> Row:
    *fields, extra = entry
    return (*fields, json.dumps(extra) if isinstance(extra, dict) else extra)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ENTRIES,
    ENTRIES,
    st.integers(1, 6),
    st.one_of(st.none(), st.lists(st.sampled_from(list(ChangeKind)), max_size=3)),
    st.one_of(st.none(), PATHS),
)
def test_random_manifests_diff_exactly_like_diff_manifests(old_entries, new_entries, page_size, kinds, needle) -> None:
    with tempfile.TemporaryDirectory() as directory:
        files = [write(Path(directory), [_row(e) for e in entries]) for entries in (old_entries, new_entries)]
        reference = diff_manifests(*(Manifest.from_parquet_bytes(f.read_bytes()) for f in files))
        diff = diff_manifest_files(*files)
        assert diff.summary == reference.summary
        assert all(diff.count(k) == len(reference.of_kind(k)) for k in ChangeKind)
        assert shape(every_change(diff, page_size)) == shape(reference.changes)

        def wanted(change: Change) -> bool:
            paths = [change.path] + ([change.old.path] if change.kind is ChangeKind.RENAMED else [])
            return (kinds is None or change.kind in kinds) and (
                needle is None or any(needle.lower() in p.lower() for p in paths)
            )

        filtered = every_change(diff, page_size, kinds=kinds, path_contains=needle)
        assert shape(filtered) == shape([c for c in reference.changes if wanted(c)])


def test_the_equivalence_test_sees_differences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Guard against a vacuous comparison: pairing renames in the opposite path order must be caught.
    old = write(tmp_path, [("a1", "same", 1), ("a2", "same", 1)])
    new = write(tmp_path, [("b1", "same", 1), ("b2", "same", 1)])
    monkeypatch.setattr(versiondiff, "_build_sql", _reversed_pairing(versiondiff._build_sql))
    diff = diff_manifest_files(old, new)
    reference = diff_manifests(*(Manifest.from_parquet_bytes(f.read_bytes()) for f in (old, new)))
    assert kinds_and_paths(reference.changes) == [("renamed", "a1", "b1"), ("renamed", "a2", "b2")]
    assert kinds_and_paths(every_change(diff)) == [("renamed", "a2", "b1"), ("renamed", "a1", "b2")]


def _reversed_pairing(build_sql):
    def sql(*args):
        text = build_sql(*args)
        assert text.count("ORDER BY old_path)") == 1
        return text.replace("ORDER BY old_path)", "ORDER BY old_path DESC)")

    return sql


def test_the_library_does_not_import_streamlit() -> None:
    code = "import sys, shanty.diff.manifest_files; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
