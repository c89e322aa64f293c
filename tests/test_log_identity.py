"""A version's identity survives damage and repair (issue 15 item 3), and reading a long log costs a
few requests (item 4): stored numbers and record ids, read-only damaged logs, ``shanty doctor``,
snapshots, the fresh-state window."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import shanty
from shanty.cli import main
from shanty.doctor import check_registry
from shanty.errors import MalformedError
from shanty.log_store import SNAPSHOT_EVERY
from shanty.media.server import MediaServer
from shanty.registry import Registry
from shanty.storage import storage_for

SECRET = b"s" * 32


class CountingStorage:
    """A real backend that counts the requests made through it (by method)."""

    def __init__(self, inner) -> None:
        self.inner, self.calls = inner, Counter()

    def __getattr__(self, name: str):
        method = getattr(self.inner, name)
        if not callable(method):
            return method

        def counted(*args, **kwargs):
            self.calls[name] += 1
            return method(*args, **kwargs)

        return counted


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHANTY_ROOT", str(tmp_path / "registry"))
    return tmp_path / "registry"


def log_files(tmp_path: Path, count: int, name: str = "songs", **kwargs) -> list[shanty.ArtifactVersion]:
    """``count`` new versions of one artifact (a file added each time)."""
    bucket = tmp_path / f"bucket-{name}"
    bucket.mkdir(exist_ok=True)
    out = []
    start = len(list(bucket.iterdir()))
    for i in range(start, start + count):
        (bucket / f"{i}.wav").write_bytes(f"audio {i}".encode())
        with shanty.init(project="p", job_type="upload") as run:
            artifact = shanty.Artifact(name, type="raw_data")
            artifact.add_reference(str(bucket))
            out.append(run.log_artifact(artifact, **kwargs))
    return out


def log_dir(root: Path, name: str = "songs") -> Path:
    return root / "projects" / "p" / "artifacts" / name / "log"


def test_numbers_and_ids_are_stored_in_the_records(root: Path, tmp_path: Path) -> None:
    v0, v1 = log_files(tmp_path, 2)
    records = [json.loads(p.read_text()) for p in sorted(log_dir(root).iterdir())]
    assert [r["number"] for r in records] == [0, 1]
    assert v0.info.id and v1.info.id and v0.info.id != v1.info.id
    v1.aliases.append("prod")
    v1.save()
    alias = json.loads(sorted(log_dir(root).iterdir())[-1].read_text())
    assert (alias["op"], alias["version"], alias["version_id"]) == ("alias", 1, v1.info.id)


def test_a_damaged_version_record_leaves_the_others_their_numbers(root: Path, tmp_path: Path) -> None:
    log_files(tmp_path, 3)
    v2 = shanty.Api().artifact("p/songs:v2")
    v2.aliases.append("prod")
    v2.save()
    record = log_dir(root) / "0000000001.json"
    damaged = b'{"op": "version", "number": 1, "type": '  # a torn write
    record.write_bytes(damaged)
    api = shanty.Api()
    assert api.artifact("p/songs:v2").id == v2.id  # a pinned number of an intact record reads
    for read in (
        lambda: api.artifact("p/songs:prod"),
        lambda: api.artifact("p/songs:latest"),
        lambda: api.versions("p/songs"),
    ):
        with pytest.raises(MalformedError, match=r"0000000001\.json is not valid JSON; .*read-only.*shanty doctor"):
            read()
    with pytest.raises(MalformedError, match="nothing can be written"):
        log_files(tmp_path, 1)  # the next version would be logged on a log nobody can read whole
    assert sorted(p.name for p in log_dir(root).iterdir())[-1] == "0000000003.json"  # nothing appended

    findings = check_registry(Registry(root), repair=True)
    assert [f.where for f in findings] == ["projects/p/artifacts/songs/log/0000000001.json"]
    assert findings[0].repaired and "not valid JSON" in findings[0].problem
    assert (root / "projects/p/artifacts/songs/damaged/0000000001.json").read_bytes() == damaged  # kept
    api = shanty.Api()
    assert [v.version for v in api.versions("p/songs")] == ["v0", "v2"]  # v2 is still v2
    assert api.artifact("p/songs:prod").id == v2.id and api.artifact("p/songs:latest").id == v2.id
    (new,) = log_files(tmp_path, 1)
    assert new.version == "v3"  # v1's number is never given to other bytes
    assert check_registry(Registry(root)) == []


def test_a_missing_record_is_named_and_filled(root: Path, tmp_path: Path) -> None:
    log_files(tmp_path, 2)
    for text in ("a note", "the second note"):
        v1 = shanty.Api().artifact("p/songs:v1")
        v1.description = text
        v1.save()
    (log_dir(root) / "0000000002.json").unlink()  # "restore it from a backup or remove it", someone did
    with pytest.raises(MalformedError, match=r"0000000002\.json is missing from the log"):
        shanty.Api().artifact("p/songs:latest")
    assert main(["doctor"]) == 1
    assert main(["doctor", "--repair"]) == 0
    void = json.loads((log_dir(root) / "0000000002.json").read_text())
    assert (void["op"], void["was"]) == ("void", "other")
    assert shanty.Api().artifact("p/songs:latest").version == "v1"
    assert shanty.Api().artifact("p/songs:v1").description == "the second note"


def test_a_note_naming_a_version_by_another_id_is_damage_not_a_retarget(root: Path, tmp_path: Path) -> None:
    v0, _ = log_files(tmp_path, 2)
    stray = {
        "op": "alias",
        "version": 1,
        "version_id": v0.info.id,
        "aliases": ["prod"],
        "time": "2026-01-01T00:00:00+00:00",
    }
    (log_dir(root) / "0000000002.json").write_text(json.dumps(stray))
    later = {"op": "note", "version": 0, "version_id": v0.info.id, "text": "later", "time": "2026-01-01T00:00:01+00:00"}
    (log_dir(root) / "0000000003.json").write_text(json.dumps(later))  # the stray is not the last record
    long_lived = Registry(root)  # a dashboard's, say: it has read the damaged log before the repair
    with pytest.raises(MalformedError, match=r"0000000002\.json names version v1, which its log does not hold"):
        long_lived.resolve(shanty.names.parse_artifact_ref("p/songs:prod"))
    findings = check_registry(Registry(root), repair=True)
    assert long_lived.versions("p", "songs")  # it sees the repair without a restart
    assert len(findings) == 1 and "names version v1" in findings[0].problem
    with pytest.raises(shanty.NotFoundError, match="no alias 'prod'"):
        shanty.Api().artifact("p/songs:prod")


def test_a_replaced_last_record_reads_the_same_everywhere_and_old_links_die(root: Path, tmp_path: Path) -> None:
    _, v1 = log_files(tmp_path, 2)
    server = MediaServer(Registry(root), SECRET, prefix="/media")
    old_link = server.url_for(v1.info, "0.wav").split("/")[-2]
    long_lived = Registry(root)
    assert long_lived.version("p", "songs", 1).id == v1.info.id
    (log_dir(root) / "0000000001.json").unlink()  # the last record removed, then the slot reused
    (tmp_path / "bucket-songs" / "9.wav").write_bytes(b"other bytes")
    with shanty.init(project="p", job_type="upload") as run:
        artifact = shanty.Artifact("songs", type="raw_data")
        artifact.add_reference(str(tmp_path / "bucket-songs"))
        reused = run.log_artifact(artifact)
    assert reused.version == "v1" and reused.info.id != v1.info.id
    assert long_lived.version("p", "songs", 1).id == Registry(root).version("p", "songs", 1).id == reused.info.id
    with pytest.raises(shanty.errors.MediaDeniedError):
        server.resolve(old_link)


def test_a_long_log_reads_in_a_few_requests(root: Path, tmp_path: Path) -> None:
    log_files(tmp_path, 1)
    registry = Registry(root)
    info = registry.version("p", "songs", 0)
    records = 3 * SNAPSHOT_EVERY + 5
    for i in range(records):
        info = registry.set_note(info, f"note {i}")
    snapshots = sorted(p.name for p in (root / "projects/p/artifacts/songs/snapshots").iterdir())
    assert snapshots == [f"{s:010d}.json" for s in (63, 127, 191)]
    cold = Registry(root, storage=CountingStorage(storage_for(str(root))))
    assert cold.version("p", "songs", 0).description == f"note {records - 1}"
    # two listings, the newest snapshot, the records after it
    assert cold.storage.calls["list_names"] == 2
    assert cold.storage.calls["read_bytes"] == 1 + (records + 1) - 3 * SNAPSHOT_EVERY
    cold.storage.calls.clear()
    cold.version("p", "songs", 0)
    assert cold.storage.calls == Counter(list_names=2, read_bytes=1)  # warm: only the last record again
    assert check_registry(Registry(root)) == []


def test_an_old_long_log_gets_a_snapshot_when_read_and_a_bad_snapshot_is_passed_over(
    root: Path, tmp_path: Path
) -> None:
    log_files(tmp_path, 1)
    folder = log_dir(root)
    for i in range(1, 2 * SNAPSHOT_EVERY):  # written as an older shanty wrote them: no snapshots, no ids
        record = {"op": "note", "version": 0, "text": f"note {i}", "time": "2026-01-01T00:00:00+00:00"}
        (folder / f"{i:010d}.json").write_text(json.dumps(record))
    assert Registry(root).version("p", "songs", 0).description == f"note {2 * SNAPSHOT_EVERY - 1}"
    snap = root / "projects/p/artifacts/songs/snapshots" / f"{2 * SNAPSHOT_EVERY - 1:010d}.json"
    assert snap.is_file()
    snap.write_text("{garbage")
    assert Registry(root).version("p", "songs", 0).description == f"note {2 * SNAPSHOT_EVERY - 1}"
    findings = check_registry(Registry(root), repair=True)
    assert [f.problem for f in findings] == ["the snapshot does not match the records before it"]
    assert json.loads(snap.read_text())["last_seq"] == 2 * SNAPSHOT_EVERY - 1
    aside = root / "projects/p/artifacts/songs/damaged" / f"snapshots-{2 * SNAPSHOT_EVERY - 1:010d}.json"
    assert aside.read_text() == "{garbage"  # what it held is never lost


def test_records_written_before_numbers_were_stored_keep_their_numbers(root: Path, tmp_path: Path) -> None:
    log_files(tmp_path, 2)
    for path in sorted(log_dir(root).iterdir()):  # as an older shanty wrote them
        record = json.loads(path.read_text())
        record.pop("number")
        path.write_text(json.dumps(record, sort_keys=True))
    old_alias = {"op": "alias", "version": 0, "aliases": ["prod"], "time": "2026-01-01T00:00:00+00:00"}
    (log_dir(root) / "0000000002.json").write_text(json.dumps(old_alias))
    api = shanty.Api()
    assert [v.version for v in api.versions("p/songs")] == ["v0", "v1"]
    assert api.artifact("p/songs:prod").version == "v0"
    (new,) = log_files(tmp_path, 1)
    assert new.version == "v2"


def test_a_fresh_window_answers_reruns_without_requests_and_sees_its_own_writes(root: Path, tmp_path: Path) -> None:
    log_files(tmp_path, 1)
    registry = Registry(root, storage=CountingStorage(storage_for(str(root))), fresh_seconds=60)
    info = registry.version("p", "songs", 0)
    registry.storage.calls.clear()
    for _ in range(5):
        registry.version("p", "songs", 0)
        registry.versions("p", "songs")
    assert sum(registry.storage.calls.values()) == 0
    registry.set_note(info, "changed here")
    assert registry.version("p", "songs", 0).description == "changed here"
    assert Registry(root, fresh_seconds=0).version("p", "songs", 0).description == "changed here"


def test_doctor_on_a_healthy_registry_says_so(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    log_files(tmp_path, 2)
    assert main(["doctor"]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_on_every_store_a_long_log_reads_in_a_few_requests_and_doctor_repairs_it(
    registry_root: str, tmp_path: Path
) -> None:
    media = tmp_path / "a.wav"
    media.write_bytes(b"RIFF")
    with shanty.init(project="p", job_type="upload", root=registry_root) as run:
        artifact = shanty.Artifact("songs", type="raw_data")
        artifact.add_reference(str(media))
        run.log_artifact(artifact)
    registry = Registry(registry_root)
    info = registry.version("p", "songs", 0)
    for i in range(SNAPSHOT_EVERY + 3):
        info = registry.set_note(info, f"note {i}")
    cold = Registry(registry_root, storage=CountingStorage(storage_for(registry_root)))
    assert cold.version("p", "songs", 0).description == f"note {SNAPSHOT_EVERY + 2}"
    assert cold.storage.calls["list_names"] == 2 and cold.storage.calls["read_bytes"] == 1 + 4
    # a record damaged in place: read-only, then repaired with its bytes kept
    key = registry.logs.artifact_dir("p", "songs", "log", "0000000067.json")
    registry.storage.write_bytes(key, b"{torn")
    with pytest.raises(MalformedError, match=r"0000000067\.json is not valid JSON"):
        Registry(registry_root).versions("p", "songs")
    findings = check_registry(Registry(registry_root), repair=True)
    assert [f.where for f in findings] == ["projects/p/artifacts/songs/log/0000000067.json"]
    assert registry.storage.read_bytes(key.replace("/log/", "/damaged/")) == b"{torn"
    assert Registry(registry_root).version("p", "songs", 0).description == f"note {SNAPSHOT_EVERY + 1}"
