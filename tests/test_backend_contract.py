"""One backend suite, run unchanged against file, S3 (moto server) and GCS (fake-gcs-server).

Each test gets a ``kit`` for one backend; it changes the bucket the way an
outside user would and checks what shanty makes of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import shanty
from shanty.errors import ChangedObjectError, InvalidInputError, MalformedError, NotFoundError, StorageError
from shanty.storage import lists_metadata_only, local_path, open_range, parse_location
from shanty.storage.cache import cached_file

SONGS = {f"whalesong/{i:02d}_song.wav": f"song {i} ".encode() * (50 + i) for i in range(5)}


def fill(kit, bucket: str, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        kit.put(f"{bucket}/{key}", data)


def log_reference(uri: str, root: str, **kwargs) -> shanty.ArtifactVersion:
    with shanty.init(project="songs", job_type="upload", root=root) as run:
        artifact = shanty.Artifact("sample_songs", type="raw_data")
        artifact.add_reference(uri, **kwargs)
        return run.log_artifact(artifact)


def test_seed_workflow_v0_v1_no_v2_diff_download(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket()
    fill(kit, bucket, SONGS)
    v0 = log_reference(f"{bucket}/whalesong", registry_root)
    assert (v0.version, v0.file_count) == ("v0", 5)

    fill(kit, bucket, {"whalesong/05_new.wav": b"new five", "whalesong/06_new.wav": b"new six"})
    v1 = log_reference(f"{bucket}/whalesong", registry_root)
    assert (v1.version, v1.file_count) == ("v1", 7)
    again = log_reference(f"{bucket}/whalesong", registry_root)
    assert again.version == "v1"
    assert [v.version for v in shanty.Api(registry_root).versions("songs/sample_songs")] == ["v0", "v1"]

    diff = shanty.Api(registry_root).diff("songs/sample_songs:v0", "songs/sample_songs:v1")
    assert [c.path for c in diff.of_kind(shanty.ChangeKind.ADDED)] == ["05_new.wav", "06_new.wav"]
    assert diff.summary.unchanged.count == 5

    with shanty.init(project="songs", job_type="show_samples", root=registry_root) as run:
        folder = Path(run.use_artifact("sample_songs:latest").download(tmp_path / "dl"))
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [Path(k).name for k in SONGS] + ["05_new.wav", "06_new.wav"]
    )
    assert (folder / "00_song.wav").read_bytes() == SONGS["whalesong/00_song.wav"]


def test_single_object_versus_prefix_boundary(kit, registry_root: str) -> None:
    bucket = kit.new_bucket()
    fill(kit, bucket, {"song": b"the object itself", "songs2/a.wav": b"a"})
    artifact = shanty.Artifact("x", type="raw_data")
    single = artifact.add_reference(f"{bucket}/song")
    assert [(e.path, e.size) for e in single] == [("song", len(b"the object itself"))]

    fill(kit, bucket, {"dir/one.wav": b"1", "dir/sub/two.wav": b"22", "dirx/three.wav": b"333"})
    entries = shanty.Artifact("y", type="raw_data").add_reference(f"{bucket}/dir")
    assert sorted(e.path for e in entries) == ["one.wav", "sub/two.wav"]
    named = shanty.Artifact("z", type="raw_data").add_reference(f"{bucket}/dir", name="media")
    assert sorted(e.path for e in named) == ["media/one.wav", "media/sub/two.wav"]


def test_unicode_and_space_keys(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket()
    files = {"set/chant de baleine.wav": b"espace", "set/鯨の歌.wav": b"unicode", "set/ünïcödé mix.wav": b"mixed"}
    fill(kit, bucket, files)
    version = log_reference(f"{bucket}/set", registry_root)
    assert sorted(version.manifest.entries) == sorted(Path(k).name for k in files)
    folder = Path(version.download(tmp_path / "dl"))
    for key, data in files.items():
        assert (folder / Path(key).name).read_bytes() == data


def test_max_objects_overflow_is_an_error(kit) -> None:
    bucket = kit.new_bucket()
    fill(kit, bucket, {f"many/{i}.wav": b"x" for i in range(6)})
    with pytest.raises(InvalidInputError, match="max_objects"):
        shanty.Artifact("m", type="raw_data").add_reference(f"{bucket}/many", max_objects=5)
    assert len(shanty.Artifact("m", type="raw_data").add_reference(f"{bucket}/many", max_objects=6)) == 6


def test_missing_location_is_not_found(kit) -> None:
    bucket = kit.new_bucket()
    fill(kit, bucket, {"present/a.wav": b"a"})
    with pytest.raises(NotFoundError):
        shanty.Artifact("m", type="raw_data").add_reference(f"{bucket}/absent")


def test_overwrite_then_download_old_version(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=True)
    fill(kit, bucket, {"d/a.wav": b"original a", "d/b.wav": b"original b"})
    v0 = log_reference(f"{bucket}/d", registry_root)
    kit.put(f"{bucket}/d/a.wav", b"overwritten a")
    if kit.supports_versions(bucket):
        folder = Path(v0.download(tmp_path / "old"))
        assert (folder / "a.wav").read_bytes() == b"original a"
    else:
        with pytest.raises(ChangedObjectError) as info:
            v0.download(tmp_path / "old")
        assert info.value.paths == ["a.wav"]
        assert "a.wav" in str(info.value)
        report = v0.download_report(tmp_path / "skip", skip_changed=True)
        assert (report.changed, report.downloaded) == (("a.wav",), ("b.wav",))


def test_delete_then_download(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=True)
    fill(kit, bucket, {"d/a.wav": b"will be deleted", "d/b.wav": b"stays"})
    v0 = log_reference(f"{bucket}/d", registry_root)
    kit.delete(f"{bucket}/d/a.wav")
    if kit.supports_versions(bucket):
        assert (Path(v0.download(tmp_path / "dl")) / "a.wav").read_bytes() == b"will be deleted"
    else:
        with pytest.raises(ChangedObjectError, match=r"a\.wav"):
            v0.download(tmp_path / "dl")


def test_unversioned_change_is_detected(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"d/a.wav": b"first", "d/b.wav": b"stays"})
    v0 = log_reference(f"{bucket}/d", registry_root)
    kit.put(f"{bucket}/d/a.wav", b"second")
    with pytest.raises(ChangedObjectError) as info:
        v0.download(tmp_path / "dl")
    assert info.value.paths == ["a.wav"]


def test_download_skips_present_files(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket()
    fill(kit, bucket, {"d/a.wav": b"aaa", "d/b.wav": b"bbb"})
    version = log_reference(f"{bucket}/d", registry_root)
    first = version.download_report(tmp_path / "dl")
    (tmp_path / "dl" / "b.wav").write_bytes(b"tampered")
    second = version.download_report(tmp_path / "dl")
    assert (sorted(first.downloaded), second.present, second.downloaded) == (["a.wav", "b.wav"], ("a.wav",), ("b.wav",))
    assert (tmp_path / "dl" / "b.wav").read_bytes() == b"bbb"


def test_storage_primitives(kit) -> None:
    base = kit.new_bucket(versioned=False) + "/reg"
    storage = kit.storage
    assert storage.create_if_absent(f"{base}/a/one.json", b"1") is True
    assert storage.create_if_absent(f"{base}/a/one.json", b"2") is False
    assert storage.read_bytes(f"{base}/a/one.json") == b"1"
    storage.write_bytes(f"{base}/a/two.json", b"x")
    storage.write_bytes(f"{base}/a/two.json", b"y")
    storage.write_bytes(f"{base}/a/sub/three.json", b"z")
    assert storage.read_bytes(f"{base}/a/two.json") == b"y"
    assert storage.list_names(f"{base}/a") == ["one.json", "sub", "two.json"]
    assert storage.list_names(f"{base}/nothing") == []
    # a log's tail: only the names after the one given (a name that is not there works too)
    assert storage.list_names(f"{base}/a", start_after="one.json") == ["sub", "two.json"]
    assert storage.list_names(f"{base}/a", start_after="p") == ["sub", "two.json"]
    assert storage.list_names(f"{base}/a", start_after="two.json") == []
    assert storage.exists(f"{base}/a/one.json") and not storage.exists(f"{base}/a/nope.json")
    with pytest.raises(NotFoundError):
        storage.read_bytes(f"{base}/a/nope.json")


WRITER = textwrap.dedent(
    """
    import sys, shanty
    root, bucket, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run = shanty.init(project="race", job_type="writer", root=root)
    artifact = shanty.Artifact("contended", type="raw_data")
    artifact.add_reference(f"{bucket}/w{index}")
    print(run.log_artifact(artifact).version)
    """
)


def test_eight_concurrent_writers_get_distinct_consecutive_versions(kit, registry_root: str) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {f"w{i}/file.bin": f"content {i}".encode() for i in range(8)})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, registry_root, bucket, str(i)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(8)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err.decode()[-500:] for _, err in outputs]
    claimed = sorted(int(out.decode().strip()[1:]) for out, _ in outputs)
    assert claimed == list(range(8))
    api = shanty.Api(registry_root)
    versions = api.versions("race/contended")
    assert [v.version for v in versions] == [f"v{i}" for i in range(8)]
    assert len({v.digest for v in versions}) == 8
    for version in versions:
        assert len(version.manifest) == 1


def test_registry_layout_is_json_and_parquet(kit, registry_root: str) -> None:
    bucket = kit.new_bucket()
    fill(kit, bucket, {"d/a.wav": b"a"})
    log_reference(f"{bucket}/d", registry_root)
    storage = kit.storage
    log = f"{registry_root}/projects/songs/artifacts/sample_songs/log"
    assert storage.list_names(log) == ["0000000000.json"]
    record = json.loads(storage.read_bytes(f"{log}/0000000000.json"))
    assert record["op"] == "version" and record["file_count"] == 1
    assert storage.read_bytes(f"{registry_root}/{record['manifest']}")[:4] == b"PAR1"


def test_concurrent_alias_moves_leave_one_owner(kit, registry_root: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {f"w{i}/file.bin": f"content {i}".encode() for i in range(4)})
    for i in range(4):
        with shanty.init(project="race", root=registry_root) as run:
            artifact = shanty.Artifact("aliased", type="raw_data")
            artifact.add_reference(f"{bucket}/w{i}")
            run.log_artifact(artifact)

    def move(index: int) -> None:
        api = shanty.Api(registry_root)  # one registry client per writer, as separate processes would have
        api.registry.set_aliases(api.artifact(f"race/aliased:v{index % 4}").info, ["best", f"mark{index}"])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(move, range(8)))
    versions = shanty.Api(registry_root).versions("race/aliased")
    owners = [v.version for v in versions if "best" in v.aliases]
    assert len(owners) == 1
    marks = sorted(a for v in versions for a in v.aliases if a.startswith("mark"))
    assert marks == [f"mark{i}" for i in range(8)]


# --- listing ---------------------------------------------------------------------------------------
def test_folder_markers_are_skipped_and_names_are_one_level(kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"m/": b"", "m/a.wav": b"a", "m/sub/": b"", "m/sub/b.wav": b"bb", "empty/x/": b""})
    listed = kit.storage.list_objects(f"{bucket}/m")
    assert [(o.relpath, o.size) for o in listed] == [("a.wav", 1), ("sub/b.wav", 2)]
    assert kit.storage.list_names(f"{bucket}/m") == ["a.wav", "sub"]
    with pytest.raises(NotFoundError) as info:
        kit.storage.list_objects(f"{bucket}/empty")
    text = str(info.value)
    assert f"{bucket}/empty" in text and text.endswith(".") and ". " not in text.rstrip(".")  # one sentence
    fill(kit, bucket, {"r/b.json": b"1", "r/a/x.json": b"2", "r/a/y/z.json": b"3", "r/": b"", "r2/no.json": b"4"})
    fill(kit, bucket, {"r/c/": b""})
    assert kit.storage.list_names(f"{bucket}/r") == ["a", "b.json", "c"]
    assert kit.storage.list_names(f"{bucket}/r/") == ["a", "b.json", "c"]
    assert kit.storage.list_names(bucket) == ["empty", "m", "r", "r2"]


def test_whole_bucket_is_listed_with_keys_as_paths(kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    fill(kit, bucket, {"top.wav": b"t", "x/y.wav": b"y"})
    for uri in (bucket, bucket + "/"):
        assert [i.relpath for i in kit.storage.list_objects(uri)] == ["top.wav", "x/y.wav"]


def test_a_pinned_version_is_listed_logged_and_downloaded(kit, registry_root: str, tmp_path: Path) -> None:
    bucket = kit.new_bucket(versioned=True)
    uri = f"{bucket}/clips/k.wav"
    kit.put(uri, b"first take")
    if not kit.supports_versions(bucket):  # file names may hold ? and #: a file URI never pins a version
        kit.put(f"{uri}#1", b"a file named k.wav#1")
        kit.put(f"{uri}?versionId=1", b"a file named k.wav?versionId=1")
        for name in ("k.wav#1", "k.wav?versionId=1"):
            [info] = kit.storage.list_objects(f"{bucket}/clips/{name}")
            assert (info.relpath, info.object_version, info.uri) == (name, None, f"{bucket}/clips/{name}")
        return
    first = kit.current_version(uri)
    kit.put(uri, b"second take")
    pinned = kit.pinned(uri, first)
    [info] = kit.storage.list_objects(pinned)
    assert (info.uri, info.relpath, info.object_version) == (uri, "k.wav", first)
    [current] = kit.storage.list_objects(uri)
    assert current.object_version != first and current.digest != info.digest
    assert kit.storage.stat(pinned) == info
    kit.storage.download(pinned, None, tmp_path / "pinned")
    assert (tmp_path / "pinned").read_bytes() == b"first take"

    with shanty.init(project="pins", job_type="upload", root=registry_root) as run:
        artifact = shanty.Artifact("takes", type="raw_data")
        [entry] = artifact.add_reference(pinned)
        assert (entry.path, entry.object_version, entry.ref) == ("k.wav", first, uri)
        folder = Path(run.log_artifact(artifact).download(tmp_path / "dl"))
    assert (folder / "k.wav").read_bytes() == b"first take"
    with pytest.raises(NotFoundError) as missing:
        kit.storage.list_objects(kit.pinned(uri, "1"))
    assert kit.name != "gcs" or "no generation 1" in str(missing.value)


# --- registry primitives ----------------------------------------------------------------------------
def test_create_if_absent_race_has_exactly_one_winner(kit) -> None:
    base = kit.new_bucket(versioned=False)
    for round_ in range(3):
        uri = f"{base}/log/{round_:010d}.json"
        barrier = threading.Barrier(12)

        def claim(index: int, uri: str = uri, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()
            return kit.storage.create_if_absent(uri, f"writer {index}".encode())

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(claim, range(12)))
        assert results.count(True) == 1
        assert kit.storage.read_bytes(uri) == f"writer {results.index(True)}".encode()


# --- reading bytes: signed URLs, ranges, local paths, the cache ---------------------------------------
def first_ten(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=0-9"}), timeout=10) as response:
        return response.status, response.read()


def test_signed_url_serves_ranges_of_the_recorded_version(kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    uri = f"{bucket}/song one.wav"
    kit.put(uri, b"0123456789 old take")
    old = kit.storage.list_objects(uri)[0].object_version
    kit.put(uri, b"abcdefghij new take")
    if kit.name == "file":  # the app serves local files itself, behind its own tokens
        assert kit.storage.signed_url(uri, None, 300) is None
        return
    assert first_ten(kit.storage.signed_url(uri, old, 300)) == (206, b"0123456789")
    assert first_ten(kit.storage.signed_url(kit.pinned(uri, old), None, 300)) == (206, b"0123456789")
    assert first_ten(kit.storage.signed_url(uri, None, 300)) == (206, b"abcdefghij")


def read_range(uri: str, version: str | None, start: int, end: int, **kwargs) -> bytes:
    with open_range(uri, version, start, end, **kwargs) as stream:
        data = stream.read()
    assert len(data) == stream.length == end - start
    return data


def test_open_range_streams_the_asked_bytes_of_the_recorded_version(kit) -> None:
    bucket = kit.new_bucket(versioned=True)
    uri = f"{bucket}/r/song.bin"
    data = bytes(range(256)) * 40
    kit.put(uri, data)
    [info] = kit.storage.list_objects(uri)
    for start, end in [(0, 10), (100, len(data)), (len(data) - 1, len(data)), (0, len(data)), (5, 5)]:
        assert read_range(uri, info.object_version, start, end) == data[start:end]
    kit.put(uri, b"other bytes, same name")
    if kit.supports_versions(bucket):
        assert read_range(uri, info.object_version, 3, 13) == data[3:13]
    kit.delete(uri)
    for start, end in [(0, 4), (0, 0)]:
        with pytest.raises(NotFoundError):
            open_range(uri, None, start, end).close()


def test_open_range_refuses_an_object_replaced_in_an_unversioned_store(kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    uri = f"{bucket}/song.bin"
    kit.put(uri, b"the recorded bytes")
    [info] = kit.storage.list_objects(uri)
    kit.put(uri, b"replaced, same name")
    if kit.name == "file":  # neither versions nor ETags: the media server compares local digests itself
        assert read_range(uri, None, 0, 8) == b"replaced"
        return
    with pytest.raises(NotFoundError):  # S3: If-Match on the recorded ETag; GCS: the generation is gone
        open_range(uri, info.object_version, 0, 8, etag=info.extra.get("etag")).close()


def test_open_range_of_a_short_object_is_a_storage_error(kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    uri = f"{bucket}/short.bin"
    kit.put(uri, b"only twelve!")
    with pytest.raises(StorageError, match="fewer bytes"), open_range(uri, None, 4, 40) as stream:
        stream.read()


def test_only_local_files_have_a_local_path(kit) -> None:
    bucket = kit.new_bucket(versioned=False)
    kit.put(f"{bucket}/a b#1.wav", b"x")
    path = local_path(f"{bucket}/a b#1.wav")
    if kit.name == "file":
        assert path is not None and path.read_bytes() == b"x" and path.name == "a b#1.wav"
    else:
        assert path is None
    assert lists_metadata_only(bucket) is (kit.name != "file")


def test_the_cache_keeps_one_verified_copy(kit, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = kit.new_bucket(versioned=True)
    uri = f"{bucket}/t/table.parquet"
    kit.put(uri, b"PAR1 immutable bytes")
    [info] = kit.storage.list_objects(uri)
    copy = cached_file(uri, info.object_version, info.digest, info.extra)
    assert copy.read_bytes() == b"PAR1 immutable bytes" and copy.suffix == ".parquet"
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]  # no temp file left behind
    monkeypatch.setattr(kit.storage, "download", lambda *a, **k: pytest.fail("downloaded twice"))
    assert cached_file(uri, info.object_version, info.digest, info.extra) == copy
    monkeypatch.undo()
    kit.put(uri, b"PAR1 replaced in place")
    with pytest.raises(ChangedObjectError):  # the current bytes are not the recorded ones: no copy is kept
        cached_file(uri, None, info.digest, info.extra)
    if kit.supports_versions(bucket):  # a recorded version that returns other bytes: the store is damaged
        with pytest.raises(MalformedError):
            cached_file(uri, kit.current_version(uri), info.digest, info.extra)
    assert [p.name for p in copy.parent.iterdir()] == [copy.name]


def test_threads_filling_the_cache_at_once_all_get_the_copy(
    kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15, item 7: temp names unique per process made threads of one process collide.
    from concurrent.futures import ThreadPoolExecutor

    bucket = kit.new_bucket(versioned=False)
    uri = f"{bucket}/m/manifest.parquet"
    kit.put(uri, b"PAR1 " + b"x" * 200_000)
    [info] = kit.storage.list_objects(uri)
    for round_ in range(5):
        monkeypatch.setenv("SHANTY_CACHE", str(tmp_path / f"cache{round_}"))  # cold each round
        with ThreadPoolExecutor(8) as pool:
            copies = list(pool.map(lambda _: cached_file(uri, None, info.digest, info.extra), range(8)))
        assert len(set(copies)) == 1 and copies[0].read_bytes() == b"PAR1 " + b"x" * 200_000
        assert [p.name for p in copies[0].parent.iterdir()] == [copies[0].name]  # no temp file left


# --- locations: each scheme's pin syntax (no store is touched) ----------------------------------------
@pytest.mark.parametrize(
    ("uri", "bucket", "key", "version"),
    [
        ("s3://b/a/k.wav?versionId=V%2F1", "b", "a/k.wav", "V/1"),
        ("s3://b/a/k.wav#12", "b", "a/k.wav#12", None),  # another scheme's pin is part of the key
        ("gs://b/a/k.wav#12", "b", "a/k.wav", "12"),
        ("gs://b/a/k.wav?versionId=V", "b", "a/k.wav?versionId=V", None),
        ("gs://b/a/k.wav#latest", "b", "a/k.wav#latest", None),  # generations are numbers
        ("file:///d/k.wav#12", "", "/d/k.wav#12", None),  # file names may hold ? and #
        ("file:///d/k.wav?versionId=V", "", "/d/k.wav?versionId=V", None),
        ("https://h:8/a/k.wav?sig=x#t", "h:8", "a/k.wav?sig=x#t", None),  # a URL's query is its own
        ("gs://b", "b", "", None),
    ],
)
def test_pins_are_parsed_by_the_scheme_that_owns_them(uri: str, bucket: str, key: str, version: str | None) -> None:
    location = parse_location(uri)
    assert (location.bucket, location.key, location.object_version) == (bucket, key, version)
    assert location.pinned_uri == uri  # written back exactly


def test_locations_compare_names_and_know_their_paths(tmp_path: Path) -> None:
    pinned = parse_location("s3://b/dir/?versionId=V")
    assert pinned.same_object(parse_location("s3://b/dir")) and not pinned.same_object(parse_location("s3://b/dir2"))
    assert parse_location("gs://b/k").at("7").pinned_uri == "gs://b/k#7"
    assert parse_location("https://h/a/song.wav?sig=x").path == "a/song.wav"
    assert parse_location("https://h/a/song.wav?sig=x").name == "song.wav"
    assert parse_location(tmp_path / "x.wav") == parse_location(f"file://{tmp_path}/x.wav")
    with pytest.raises(InvalidInputError, match="version"):
        _ = parse_location("file:///d/k.wav").at("1").pinned_uri
    for bad in ("", "file://relative/x", "s3:///key"):
        with pytest.raises(InvalidInputError):
            parse_location(bad)
