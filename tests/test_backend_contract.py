"""One backend suite, run unchanged against file, S3 (moto server) and GCS (fake-gcs-server).

Each test gets a ``kit`` for one backend; it changes the bucket the way an
outside user would and checks what shanty makes of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import shanty
from shanty.errors import ChangedObjectError, InvalidInputError, NotFoundError

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
