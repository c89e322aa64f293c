"""Bad input gets one plain sentence and changes nothing: the red-team cases of issue 15 (item 11), as a table.

CLI cases run ``shanty`` in-process (``main``): exit 1, a one-line ``shanty: error:`` sentence, no
traceback, and the registry's files exactly as before. Registry cases damage one log record the way
the red team did and read the artifact through the API.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import shanty
from shanty.cli import main
from shanty.errors import MalformedError


def log_bucket(bucket: Path, file_name: str = "a.wav", aliases: object = None) -> shanty.ArtifactVersion:
    """p/songs referencing a bucket folder that holds one file called ``file_name``."""
    bucket.mkdir()
    (bucket / file_name).write_bytes(b"RIFF a")
    with shanty.init(project="p") as run:
        artifact = shanty.Artifact("songs", type="raw_data")
        artifact.add_reference(str(bucket))
        return run.log_artifact(artifact, aliases=aliases)


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    """A registry with p/songs:v0 (one referenced file); returns the registry folder."""
    log_bucket(tmp_path / "bucket")
    return tmp_path / "registry"


def snapshot(root: Path) -> dict[str, bytes]:
    """Every registry file except run records (a run that fails still records itself)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file() and "/runs/" not in str(p)}


def wandb_manifest(contents: dict) -> str:
    return json.dumps({"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": contents})


FILES = {
    "folder": None,  # a folder, not a file
    "binary.json": b"\xff\xfe not text",
    "size-true.json": wandb_manifest({"a.wav": {"digest": "x", "size": True}}).encode(),
    "ref-number.json": wandb_manifest({"a.wav": {"digest": "x", "size": 1, "ref": 5}}).encode(),
    "extra-list.json": wandb_manifest({"a.wav": {"digest": "x", "size": 1, "extra": [1]}}).encode(),
    "ref-ftp.json": wandb_manifest({"a.wav": {"digest": "x", "size": 1, "ref": "ftp://host/a.wav"}}).encode(),
    "no-path.json": wandb_manifest({"": {"digest": "x", "size": 1}}).encode(),
    "ref-passwd.json": wandb_manifest({"a.wav": {"digest": "x", "size": 1, "ref": "file:///etc/passwd"}}).encode(),
}

CLI_CASES = [
    (["manifest", "import", "folder", "--project", "p", "--name", "m", "--type", "t"], "is a folder"),
    (["manifest", "import", "binary.json", "--project", "p", "--name", "m", "--type", "t"], "not UTF-8"),
    (["manifest", "import", "missing.json", "--project", "p", "--name", "m", "--type", "t"], "No file at"),
    (["manifest", "import", "size-true.json", "--project", "p", "--name", "m", "--type", "t"], "invalid size True"),
    (
        ["manifest", "import", "ref-number.json", "--project", "p", "--name", "m", "--type", "t"],
        "ref that is not a URI",
    ),
    (["manifest", "import", "extra-list.json", "--project", "p", "--name", "m", "--type", "t"], "'extra' that is not"),
    (
        ["manifest", "import", "ref-ftp.json", "--project", "p", "--name", "m", "--type", "t"],
        "Unknown URI scheme ftp://",
    ),
    (["manifest", "import", "no-path.json", "--project", "p", "--name", "m", "--type", "t"], ""),
    (
        ["manifest", "import", "ref-passwd.json", "--project", "p", "--name", "m", "--type", "t"],
        "references a file on this machine (file:///etc/passwd)",
    ),
    (
        [
            "manifest",
            "import",
            "ref-passwd.json",
            "--project",
            "p",
            "--name",
            "m",
            "--type",
            "t",
            "--allow-local-files",
        ],
        "which does not hold the bytes the manifest records",
    ),
    (["manifest", "export", "p/songs:v0", "--out", "missing-folder/m.json"], "missing-folder/m.json"),
    (["download", "p/songs:v0", "--root", "/proc/not-here"], "pick a folder you can write to"),
]


@pytest.mark.parametrize(("argv", "said"), CLI_CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_the_cli_says_one_sentence_and_changes_nothing(
    logged: Path, tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str], said: str
) -> None:
    for name, data in FILES.items():
        (tmp_path / name).mkdir() if data is None else (tmp_path / name).write_bytes(data)
    before = snapshot(logged)
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("shanty: error: ") and said in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert snapshot(logged) == before


RECORD_CASES = [
    ({"op": "alias", "version": 99, "aliases": ["x"]}, "names version v99"),
    ({"op": "alias", "version": "0", "aliases": ["x"]}, "version of the wrong type"),
    ({"op": "alias", "version": 0, "aliases": [["x"]]}, "aliases of the wrong type"),
    ({"op": "alias", "version": 0, "aliases": "prod"}, "aliases of the wrong type"),
    ({"op": "note", "version": 0, "text": {"a": 1}}, "text of the wrong type"),
]


@pytest.mark.parametrize(
    ("record", "said"), RECORD_CASES, ids=[r["op"] + str(i) for i, (r, _) in enumerate(RECORD_CASES)]
)
def test_a_damaged_log_record_is_named_in_one_sentence(logged: Path, record: dict, said: str) -> None:
    log = logged / "projects" / "p" / "artifacts" / "songs" / "log"
    (log / "0000000001.json").write_text(json.dumps({**record, "time": "2026-01-01T00:00:00+00:00"}))
    with pytest.raises(MalformedError, match=said) as raised:
        shanty.Api().artifact("p/songs:latest")
    assert "0000000001.json" in str(raised.value)


@pytest.mark.parametrize(
    "record",
    [
        {"op": "version", "type": "t", "digest": "d", "manifest": "m", "file_count": 1, "total_size": 1, "time": 5},
        {
            "op": "version",
            "type": "t",
            "digest": "d",
            "manifest": "m",
            "file_count": True,
            "total_size": 1,
            "time": "t",
        },
        {
            "op": "version",
            "type": "t",
            "digest": "d",
            "manifest": "m",
            "file_count": 1,
            "total_size": 1,
            "time": "t",
            "run": "x",
        },
    ],
)
def test_a_damaged_version_record_is_named(logged: Path, record: dict) -> None:
    log = logged / "projects" / "p" / "artifacts" / "songs" / "log"
    (log / "0000000001.json").write_text(json.dumps(record))
    with pytest.raises(MalformedError, match="wrong type"):
        shanty.Api().versions("p/songs")


def test_a_single_alias_is_one_alias_not_its_letters(tmp_path: Path) -> None:
    logged = log_bucket(tmp_path / "b", aliases="prod")
    assert sorted(logged.aliases) == ["latest", "prod"]
    version = shanty.Api().artifact("p/songs:prod")
    version.aliases = "best"
    version.save()
    assert sorted(shanty.Api().artifact("p/songs:v0").aliases) == ["best", "latest"]
    with pytest.raises(shanty.InvalidInputError, match="a name or a list of names"), shanty.init(project="p") as run:
        run.log_artifact(shanty.Artifact("other", type="t"), aliases=5)


def test_v01_is_no_name_of_v1(logged: Path) -> None:
    assert shanty.Api().artifact("p/songs:v0").version == "v0"
    with pytest.raises(shanty.NotFoundError, match="not a version name"):
        shanty.Api().artifact("p/songs:v00")


def test_object_names_with_terminal_escapes_are_printed_not_obeyed(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    log_bucket(tmp_path / "b", "a\x1b[2Jcleared.wav")
    assert main(["files", "p/songs:v0"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "a\\x1b[2Jcleared.wav" in out
