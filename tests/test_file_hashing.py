"""Referencing local folders on every core (issue 16, item 2): the worker processes give exactly what a
plain single-threaded loop gives (W&B's base64 MD5, sizes, last_modified, link targets, relative-path
order), in both listing shapes, and a file that vanishes or turns into a link mid-listing is one
sentence."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import shanty
from shanty.errors import InvalidInputError, StorageError
from shanty.progress import Progress
from shanty.storage import file_listing, file_pool
from shanty.storage.file import FileStorage
from shanty.storage.file_hashing import last_modified


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Nested folders whose files and sub-folders interleave by name ("b.wav" sorts before "b/"),
    empty files, a file streamed in chunks (over 1 MiB), odd names and a link to a file inside."""
    root = tmp_path / "bucket"
    rng = random.Random(7)
    names = ["a.wav", "b.wav", "b/x.wav", "b/y/z.wav", "b0.wav", "c d #1?.wav", "é/ü.wav", "line\nbreak.wav"]
    names += [f"many/{i:03d}.wav" for i in range(150)] + [f"many/sub/{i}.bin" for i in range(12)]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(rng.randbytes(rng.randrange(0, 5000)))
    (root / "empty.wav").write_bytes(b"")
    (root / "many" / "empty.wav").write_bytes(b"")
    (root / "big.bin").write_bytes(rng.randbytes((1 << 20) + 12345))
    os.symlink(root / "b" / "x.wav", root / "alias.wav")
    os.utime(root / "a.wav", (0, 1_700_000_000.0000005))  # a rounding edge of last_modified
    return root


def serial_loop(root: Path) -> list[tuple]:
    """What a reference of ``root`` must hold, by the simplest correct loop (os.walk + hashlib)."""
    rows = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            real = os.path.realpath(path) if os.path.islink(path) else path
            data = Path(real).read_bytes()
            stamp = datetime.fromtimestamp(os.stat(real).st_mtime, UTC).isoformat()
            digest = base64.b64encode(hashlib.md5(data).digest()).decode()
            rows.append((os.path.relpath(path, root), digest, len(data), f"file://{real}", stamp))
    return sorted(rows)


def rows_of(infos) -> list[tuple]:
    return [(i.relpath, i.digest, i.size, i.uri, i.extra["last_modified"]) for i in infos]


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Listings use two worker processes from the first file, in batches of 7: several batches, runs
    cut between them. Yields the worker counts asked for (to check the workers were used)."""
    monkeypatch.setattr(file_listing, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(file_listing, "MAX_BATCH_FILES", 7)
    monkeypatch.setattr(file_listing, "_SAMPLE", 5)
    monkeypatch.setattr(file_listing, "cores", lambda: 2)
    monkeypatch.setattr(file_pool, "cores", lambda: 2)  # two kept idle between listings
    file_pool._end_idle()  # none left by other tests
    asked: list[int] = []
    acquire = file_pool._acquire

    def spy(count: int):
        asked.append(count)
        return acquire(count)

    monkeypatch.setattr(file_pool, "_acquire", spy)
    return asked


@pytest.fixture
def serial(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_listing, "cores", lambda: 1)


def test_workers_give_what_the_serial_loop_gives(tree: Path, workers: list[int]) -> None:
    expected = serial_loop(tree)
    storage = FileStorage()
    listed = storage.list_objects(f"file://{tree}")
    assert rows_of(listed) == expected  # same digests, sizes, stamps and link targets, in relpath order
    assert workers == [2]
    chunks = list(storage.list_object_batches(f"file://{tree}"))
    assert len(chunks) > 10 and max(len(c) for c in chunks) <= 7
    assert rows_of(i for c in chunks for i in c) == expected
    columns = [row for batch in storage.list_object_columns(f"file://{tree}") for row in batch.to_pylist()]
    assert [
        (r["relpath"], r["digest"], r["size"], r["uri"], json.loads(r["extra"])["last_modified"]) for r in columns
    ] == expected
    assert all(r["object_version"] is None and r["extra"] == json.dumps(json.loads(r["extra"])) for r in columns)
    assert len(workers) == 3 and len(file_pool._idle) == 2  # the two workers served all three listings


def test_the_serial_path_gives_the_same(tree: Path, serial: None) -> None:
    assert rows_of(FileStorage().list_objects(f"file://{tree}")) == serial_loop(tree)


@pytest.mark.parametrize("how", ["workers", "serial"])
def test_add_reference_records_the_loops_digests(tree: Path, how: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(how)
    artifact = shanty.Artifact("songs", type="raw_data")
    entries = artifact.add_reference(f"file://{tree}", name="media")
    expected = serial_loop(tree)
    assert [(e.path, e.digest, e.size, e.ref) for e in entries] == [(f"media/{r[0]}", *r[1:4]) for r in expected]
    assert [e.extra for e in entries] == [{"last_modified": r[4]} for r in expected]


def changed_after_the_walk(tree: Path, monkeypatch, change) -> Path:
    """``tree/zz/last.wav``, listed by the walk and then changed by ``change(last)`` before it is read."""
    monkeypatch.setattr(file_listing, "MAX_BATCH_FILES", 512)  # the last file waits for the walk to end
    last = tree / "zz" / "last.wav"
    last.parent.mkdir()
    last.write_bytes(b"a song")
    walk = file_listing._walk

    def walk_then_change(*args):
        yield from walk(*args)
        change(last)  # listed, not read yet

    monkeypatch.setattr(file_listing, "_walk", walk_then_change)
    return last


@pytest.mark.parametrize("how", ["workers", "serial"])
def test_a_file_removed_mid_listing_is_one_sentence(tree: Path, how: str, request, monkeypatch) -> None:
    request.getfixturevalue(how)
    last = changed_after_the_walk(tree, monkeypatch, Path.unlink)
    with pytest.raises(StorageError, match=rf"^{re.escape(str(last))} vanished while it was being read; retry when"):
        shanty.Artifact("songs", type="raw_data").add_reference(str(tree))


@pytest.mark.parametrize("how", ["workers", "serial"])
def test_a_file_replaced_by_a_link_mid_listing_is_not_followed(tree: Path, how: str, request, monkeypatch) -> None:
    request.getfixturevalue(how)
    secret = tree.parent / "secret.txt"
    secret.write_bytes(b"not yours")

    def to_a_link(last: Path) -> None:
        last.unlink()
        os.symlink(secret, last)

    changed_after_the_walk(tree, monkeypatch, to_a_link)
    with pytest.raises(StorageError, match=r"was replaced by a symbolic link while it was being read"):
        FileStorage().list_objects(str(tree))


@pytest.mark.parametrize("how", ["workers", "serial"])
def test_a_file_replaced_by_a_fifo_mid_listing_is_not_waited_on(tree: Path, how: str, request, monkeypatch) -> None:
    request.getfixturevalue(how)

    def to_a_fifo(last: Path) -> None:
        last.unlink()
        os.mkfifo(last)  # opening it to read would block until a writer came

    changed_after_the_walk(tree, monkeypatch, to_a_fifo)
    with pytest.raises(StorageError, match=r"last\.wav vanished while it was being read; retry when the folder"):
        FileStorage().list_objects(str(tree))


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        (errno.EACCES, "Permission denied reading /d/a.wav; fix its permissions."),
        (errno.ENOENT, "/d/a.wav vanished while it was being read; retry when the folder is stable."),
        (errno.EIO, "Could not read /d/a.wav (Input/output error); check the file and retry."),
    ],
)
def test_read_failures_are_one_sentence(code: int, sentence: str) -> None:
    assert str(file_listing._read_error("/d/a.wav", code, os.strerror(code))) == sentence


def test_max_objects_and_progress_with_workers(tree: Path, workers: list[int]) -> None:
    with pytest.raises(InvalidInputError, match=r"holds more than max_objects=20 objects; .* narrower folder"):
        FileStorage().list_objects(f"file://{tree}", max_objects=20)
    seen: list[tuple[int, int | None]] = []
    found = FileStorage().list_objects(
        f"file://{tree}", progress=Progress("x", sink=lambda d, t, _: seen.append((d, t)))
    )
    assert seen[-1] == (len(found), None) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(serial_loop(tree)) == len(found)


def test_an_abandoned_listing_ends_its_workers(tree: Path, workers: list[int]) -> None:
    chunks = FileStorage().list_object_batches(f"file://{tree}")
    first = next(chunks)
    held = [p.popen for p in file_pool._idle]
    assert len(first) == 5 and held == []  # both workers are busy with this listing
    chunks.close()
    assert file_pool._idle == []  # they may hold half a batch: ended, not kept
    assert rows_of(FileStorage().list_objects(f"file://{tree}")) == serial_loop(tree)  # new ones start


def test_a_worker_that_dies_fails_the_listing_in_one_sentence(tree: Path, workers, monkeypatch) -> None:
    started: list = []
    acquire = file_pool._acquire

    def spy(count: int) -> list:
        taken = acquire(count)
        started.extend(taken)
        return taken

    monkeypatch.setattr(file_pool, "_acquire", spy)
    walk = file_listing._walk

    def walk_and_kill(*args):
        runs = walk(*args)
        yield next(runs)
        for process in started[:2]:  # this listing's: the batches after this run find no worker
            process.popen.kill()
        yield from runs

    monkeypatch.setattr(file_listing, "_walk", walk_and_kill)
    with pytest.raises(StorageError, match=r"^A file hashing process failed \(exit code -9\); retry the listing"):
        FileStorage().list_objects(f"file://{tree}")
    assert all(p not in file_pool._idle for p in started)
    assert rows_of(FileStorage().list_objects(f"file://{tree}")) == serial_loop(tree)  # started[2:] live


def test_large_files_are_dealt_out_one_or_two_at_a_time(tmp_path: Path, workers, monkeypatch) -> None:
    monkeypatch.setattr(file_listing, "MAX_BATCH_FILES", 512)
    monkeypatch.setattr(file_listing, "BATCH_BYTES", 3 << 20)
    rng = random.Random(3)
    for i in range(9):
        (tmp_path / "big" / f"{i}.bin").parent.mkdir(exist_ok=True)
        (tmp_path / "big" / f"{i}.bin").write_bytes(rng.randbytes((1 << 20) + i))
    chunks = list(FileStorage().list_object_batches(f"file://{tmp_path / 'big'}"))
    assert [len(c) for c in chunks] == [2, 2, 2, 2, 1]  # 3 MiB a batch: the workers share the bytes
    assert rows_of(i for c in chunks for i in c) == serial_loop(tmp_path / "big")


def test_last_modified_is_datetimes_isoformat() -> None:
    rng = random.Random(11)
    stamps = [rng.uniform(-2e9, 4e9) for _ in range(20_000)]
    stamps += [rng.randrange(0, 2**31) + (rng.randrange(0, 10**6) + 0.5) / 1e6 for _ in range(20_000)]
    stamps += [0.0, -0.5, -1e-7, 1.0000005, 2.0000015, 1_700_000_000.9999996, 1_700_000_000.0000005]
    assert [last_modified(s) for s in stamps] == [datetime.fromtimestamp(s, UTC).isoformat() for s in stamps]
