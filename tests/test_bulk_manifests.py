"""Manifests without a Python object per entry: streamed listings, stored manifests read on demand,
engine diffs and batched downloads give what the small path gives, on every backend.

Memory is checked deterministically: the tests count the ManifestEntry / ObjectInfo objects alive at
once (construction wrapped, a weakref finalizer on each) with the size thresholds patched small.
"""

from __future__ import annotations

import json
import threading
import weakref
from pathlib import Path

import pytest

import shanty
import shanty.artifact_reference as reference_module
import shanty.download as download_module
import shanty.registry as registry_module
import shanty.storage.budget as budget_module
import shanty.storage.s3 as s3_module
from shanty.diff.manifests import diff_manifests
from shanty.errors import InvalidInputError
from shanty.manifest import BulkEntries, Manifest, ManifestEntry
from shanty.storage import storage_for
from shanty.storage.base import ColumnListing, ObjectInfo, object_batches

FILES = {f"set/{f}/{i:03d}.wav": f"clip {f} {i} ".encode() * (3 + i % 5) for f in "abc" for i in range(30)}
FILES["set/top.txt"] = b"top level"


class Alive:
    """Counts objects of ``cls`` made (``made``) and the most alive at once (``peak``) while patched in."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type):
        self.made = self.alive = self.peak = 0
        self._lock = threading.Lock()
        original = cls.__init__

        def counting(obj, *args, **kwargs):
            original(obj, *args, **kwargs)
            with self._lock:
                self.made += 1
                self.alive += 1
                self.peak = max(self.peak, self.alive)
            weakref.finalize(obj, self._gone)

        monkeypatch.setattr(cls, "__init__", counting)

    def _gone(self) -> None:
        with self._lock:
            self.alive -= 1


@pytest.fixture
def small_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thresholds of millions scaled to tens, so a few dozen objects take the large paths."""
    monkeypatch.setattr(reference_module, "BULK_REFERENCE_OBJECTS", 8)
    monkeypatch.setattr(reference_module, "LISTED_BATCH_ROWS", 8)
    monkeypatch.setattr(budget_module, "STREAM_CHUNK", 4)
    monkeypatch.setattr(budget_module, "_QUEUE_CHUNKS", 2)
    monkeypatch.setattr(registry_module, "LAZY_MANIFEST_ENTRIES", 10)
    monkeypatch.setattr(download_module, "DOWNLOAD_BATCH", 6)


def _bucket(kit) -> str:
    bucket = kit.new_bucket()
    for key, data in FILES.items():
        kit.put(f"{bucket}/{key}", data)
    return bucket


def _log(root: str, uri: str, name: str, **kwargs) -> shanty.ArtifactVersion:
    with shanty.init(project="bulk", job_type="upload", root=root) as run:
        artifact = shanty.Artifact(name, type="dataset")
        artifact.add_reference(uri, **kwargs)
        return run.log_artifact(artifact)


def _rows(manifest: Manifest) -> list[tuple]:
    return [
        (e.path, e.digest, e.size, e.ref, e.object_version, dict(e.extra))
        for batch in manifest.entry_batches()
        for e in batch
    ]


def test_streamed_reference_equals_the_small_path(kit, registry_root, monkeypatch, small_thresholds) -> None:
    bucket = _bucket(kit)
    monkeypatch.setattr(reference_module, "BULK_REFERENCE_OBJECTS", 10_000)
    small = shanty.Artifact("small", "dataset")
    listed = small.add_reference(f"{bucket}/set", name="media")
    assert isinstance(listed, list) and len(listed) == len(FILES)
    monkeypatch.setattr(reference_module, "BULK_REFERENCE_OBJECTS", 8)

    entries = Alive(monkeypatch, ManifestEntry)
    infos = Alive(monkeypatch, ObjectInfo)
    # Pages of 1000 would hold every object at once: the stream's bound is a few pages.
    if kit.name == "gcs":
        monkeypatch.setattr(type(storage_for(bucket)), "page_size", 5)
    if kit.name == "s3":
        monkeypatch.setattr(s3_module, "PAGE_SIZE", 5)
    big = shanty.Artifact("big", "dataset")
    bulk = big.add_reference(f"{bucket}/set", name="media")
    assert isinstance(bulk, BulkEntries) and bulk.count == len(FILES)
    # Entries are built as batches arrive until the listing turns out large, then dropped: never more
    # than BULK_REFERENCE_OBJECTS of them (one batch past it, here up to STREAM_CHUNK = 4 more).
    made_before_bulk = entries.made
    assert made_before_bulk <= 8 + 4 and entries.alive == 0
    if isinstance(storage_for(bucket), ColumnListing):  # pages become Arrow columns: no object per object
        assert infos.made == 0
    else:
        assert infos.made >= len(FILES) and infos.peak <= 40 < len(FILES), infos.peak
    assert (len(big.manifest), big.manifest.digest, big.manifest.total_size) == (
        len(small.manifest),
        small.manifest.digest,
        small.manifest.total_size,
    )
    assert big.manifest.to_arrow().equals(small.manifest.to_arrow())
    assert entries.made == made_before_bulk  # the bulk manifest itself builds none


def test_stored_large_manifest_is_read_on_demand(kit, registry_root, monkeypatch, small_thresholds) -> None:
    bucket = _bucket(kit)
    version = _log(registry_root, f"{bucket}/set", "clips")
    eager = Manifest.from_parquet_bytes(version.manifest_file().read_bytes())
    entries = Alive(monkeypatch, ManifestEntry)
    stored = shanty.Api(registry_root).artifact("bulk/clips:v0")
    manifest = stored.manifest
    assert (len(manifest), manifest.digest, manifest.total_size) == (len(eager), eager.digest, eager.total_size)
    assert "a/000.wav" in manifest.entries and "nope.wav" not in manifest.entries
    assert manifest.entries.get("nope.wav") is None
    assert stored.get_entry("b/003.wav").entry == eager.entries["b/003.wav"]
    assert entries.made == 1, "a lookup reads one entry"
    with pytest.raises(shanty.NotFoundError):
        stored.get_entry("nope.wav")
    assert sorted(manifest.entries) == sorted(eager.entries)
    assert entries.made == 1, "iterating paths builds no entry"
    assert _rows(manifest) == _rows(eager)
    assert [f.entry for f in stored.files()] == sorted(eager, key=lambda e: e.path)
    with pytest.raises(InvalidInputError, match="new_draft"):
        manifest.add(ManifestEntry("x.txt", "abc", 1))

    made = entries.made
    draft = stored.new_draft()
    assert entries.made == made, "a draft of a large version copies its manifest file"
    assert draft.manifest.digest == manifest.digest and len(draft.manifest) == len(manifest)


def test_large_versions_diff_and_download_like_small_ones(
    kit, registry_root, monkeypatch, small_thresholds, tmp_path: Path
) -> None:
    bucket = _bucket(kit)
    old = _log(registry_root, f"{bucket}/set", "clips")
    kit.put(f"{bucket}/set/a/000.wav", b"changed")
    kit.put(f"{bucket}/set/d/new.wav", b"new file")
    kit.delete(f"{bucket}/set/top.txt")
    new = _log(registry_root, f"{bucket}/set", "clips")
    eager = [Manifest.from_parquet_bytes(v.manifest_file().read_bytes()) for v in (old, new)]

    api = shanty.Api(registry_root)
    engine = api.diff("bulk/clips:v0", "bulk/clips:v1")
    assert engine == diff_manifests(*eager)
    assert api.diff_pages(old, new).summary == engine.summary

    entries = Alive(monkeypatch, ManifestEntry)
    stored = api.artifact("bulk/clips:v1")
    folder = Path(stored.download(tmp_path / "large"))
    assert entries.made >= len(FILES) and entries.peak <= 24 < len(FILES), entries.peak
    for entry in eager[1]:
        assert (folder / entry.path).read_bytes() == (
            b"changed" if entry.path == "a/000.wav" else FILES.get(f"set/{entry.path}", b"new file")
        )
    stored.verify(folder)


def test_stream_stops_when_closed_early(file_kit, small_thresholds) -> None:
    bucket = file_kit.new_bucket()
    for key, data in FILES.items():
        file_kit.put(f"{bucket}/{key}", data)
    chunks = object_batches(storage_for(bucket), f"{bucket}/set", checksum=False)
    first = next(chunks)
    assert 0 < len(first) <= 4 * 8  # a chunk (STREAM_CHUNK) hashed in BATCH slices
    chunks.close()  # the listing thread ends instead of waiting on a full queue
    assert not [t for t in threading.enumerate() if t.name.startswith("listing ")]


def test_streamed_listing_keeps_max_objects(kit, small_thresholds) -> None:
    bucket = _bucket(kit)
    with pytest.raises(InvalidInputError, match="max_objects=20"):
        shanty.Artifact("big", "dataset").add_reference(f"{bucket}/set", max_objects=20)
    assert isinstance(shanty.Artifact("big", "dataset").add_reference(f"{bucket}/set", max_objects=100), BulkEntries)


@pytest.mark.parametrize(
    "extra",
    [
        {"etag": 'a"b\\c', "last_modified": "2026-11-01T00:00:00+00:00", "content_type": "audio/wav"},
        {"z": "é\n\t", "a": "☃", "m": ""},
        {"size": 3, "flag": None, "nested": {"x": [1]}},
        {},
    ],
)
def test_extra_json_is_what_the_small_path_stores(extra) -> None:
    expected = json.dumps(extra, sort_keys=True) if extra else None
    assert reference_module._extra_json(extra) == expected


def test_a_draft_with_bulk_entries_takes_files_without_loading_them(
    file_kit, tmp_path: Path, monkeypatch, small_thresholds
) -> None:
    bucket = _bucket(file_kit)
    note = tmp_path / "note.txt"
    note.write_text("hello")
    entries = Alive(monkeypatch, ManifestEntry)
    with shanty.init(project="bulk", job_type="upload", root=str(tmp_path / "registry")) as run:
        draft = shanty.Artifact("mixed", type="dataset")
        assert isinstance(draft.add_reference(f"{bucket}/set"), BulkEntries)
        draft.add_file(note)
        with draft.new_file("extra.txt", mode="w") as handle:
            handle.write("more")
        assert draft.get_entry("a/001.wav").ref.endswith("set/a/001.wav")
        with pytest.raises(InvalidInputError, match="already has a file"), draft.new_file("b/002.wav", mode="w"):
            pass
        draft.remove("extra.txt")
        version = run.log_artifact(draft)
    # a few files added and looked up, and the listing's first batches before it turned out large (the
    # bulk threshold, 8 here, plus one batch of up to 4): none of the referenced ones loaded afterwards
    assert entries.made <= 6 + 8 + 4, entries.made
    assert entries.alive <= 6
    assert version.file_count == len(FILES) + 1
    stored = shanty.Api(str(tmp_path / "registry")).artifact("bulk/mixed:v0")
    assert stored.get_entry("note.txt").digest == draft.manifest.get("note.txt").digest
    assert "extra.txt" not in stored.manifest.entries


def test_listing_in_batches_finds_what_list_objects_finds(kit, small_thresholds, monkeypatch) -> None:
    bucket = _bucket(kit)
    storage = storage_for(bucket)
    if kit.name == "gcs":  # pages of 1000 would hold every object at once
        monkeypatch.setattr(type(storage), "page_size", 5)
    if kit.name == "s3":
        monkeypatch.setattr(s3_module, "PAGE_SIZE", 5)
    for uri in (f"{bucket}/set", f"{bucket}/set/a", f"{bucket}/set/top.txt"):
        chunks = list(object_batches(storage, uri))
        streamed = sorted((info for chunk in chunks for info in chunk), key=lambda info: info.relpath)
        assert streamed == storage.list_objects(uri)
        # A chunk is what waited (under STREAM_CHUNK = 4) plus one page (5 objects, or a folder of files:
        # at most 30 here).
        assert max(len(chunk) for chunk in chunks) <= 3 + 30 < len(FILES)
    with pytest.raises(shanty.NotFoundError):
        list(object_batches(storage, f"{bucket}/nothing-here"))
