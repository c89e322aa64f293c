"""The ``shanty`` command: each command, and user mistakes as one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shanty.cli import main


@pytest.fixture
def bucket(tmp_path: Path) -> Path:
    path = tmp_path / "bucket"
    path.mkdir()
    for name in ("a", "b", "c", "d", "e"):
        (path / f"{name}.wav").write_bytes(name.encode() * 100)
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def add(capsys, bucket: Path, *extra: str) -> tuple[int, str, str]:
    return cli(
        capsys,
        "ref",
        "add",
        f"file://{bucket}",
        "--project",
        "songs",
        "--name",
        "sample_songs",
        "--type",
        "raw_data",
        *extra,
    )


def test_ref_add_versions_and_no_change(capsys, bucket: Path) -> None:
    code, out, _ = add(capsys, bucket, "--alias", "first", "--note", "five songs")
    assert code == 0 and "songs/sample_songs:v0  5 files" in out and "new version" in out
    (bucket / "f.wav").write_bytes(b"f")
    (bucket / "g.wav").write_bytes(b"g")
    assert "v1  7 files" in add(capsys, bucket)[1]
    code, out, _ = add(capsys, bucket)
    assert code == 0 and "v1" in out and "unchanged, no new version" in out

    code, out, _ = cli(capsys, "versions", "songs/sample_songs")
    lines = out.splitlines()
    assert lines[1].startswith("v0") and "first" in lines[1] and "five songs" in lines[1]
    assert lines[2].startswith("v1") and "latest" in lines[2]
    assert cli(capsys, "projects")[1].split() == ["songs"]
    assert "sample_songs  raw_data  2" in cli(capsys, "artifacts", "songs")[1]


def test_files_search_and_json(capsys, bucket: Path) -> None:
    add(capsys, bucket)
    code, out, _ = cli(capsys, "files", "songs/sample_songs:v0", "--search", "C.WAV", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["path"] for r in rows] == ["c.wav"] and rows[0]["ref"] == f"file://{bucket}/c.wav"
    assert len(cli(capsys, "files", "songs/sample_songs:latest", "--limit", "2")[1].splitlines()) == 3


def test_diff_text_json_markdown(capsys, bucket: Path) -> None:
    add(capsys, bucket)
    (bucket / "f.wav").write_bytes(b"f")
    (bucket / "g.wav").write_bytes(b"g")
    (bucket / "a.wav").write_bytes(b"edited")
    add(capsys, bucket)
    code, out, _ = cli(capsys, "diff", "songs/sample_songs:v0", "songs/sample_songs:v1")
    assert code == 0 and "+ f.wav" in out and "+ g.wav" in out and "~ a.wav" in out
    data = json.loads(cli(capsys, "diff", "songs/sample_songs:v0", "songs/sample_songs:v1", "--json")[1])
    assert sorted((c["kind"], c["path"]) for c in data["changes"]) == [
        ("added", "f.wav"),
        ("added", "g.wav"),
        ("modified", "a.wav"),
    ]
    assert "| added | f.wav |" in cli(capsys, "diff", "songs/sample_songs:v0", "songs/sample_songs:v1", "--markdown")[1]


def test_alias_note_and_download(capsys, bucket: Path, tmp_path: Path) -> None:
    add(capsys, bucket)
    assert cli(capsys, "alias", "set", "songs/sample_songs:v0", "prod", "best")[0] == 0
    assert cli(capsys, "note", "songs/sample_songs:prod", "checked by ear")[0] == 0
    assert "checked by ear" in cli(capsys, "versions", "songs/sample_songs")[1]
    assert cli(capsys, "alias", "rm", "songs/sample_songs", "best")[0] == 0
    code, out, _ = cli(capsys, "download", "songs/sample_songs:prod", "--root", str(tmp_path / "dl"))
    assert code == 0 and "5 downloaded" in out
    assert "5 already present" in cli(capsys, "download", "songs/sample_songs:prod", "--root", str(tmp_path / "dl"))[1]
    (bucket / "a.wav").write_bytes(b"changed in place")
    code, _, err = cli(capsys, "download", "songs/sample_songs:v0", "--root", str(tmp_path / "dl2"))
    assert code == 1 and "a.wav" in err and "--skip-changed" in err
    code, out, err = cli(capsys, "download", "songs/sample_songs:v0", "--root", str(tmp_path / "dl3"), "--skip-changed")
    assert code == 0 and "4 downloaded" in out and "a.wav" in err


def test_manifest_export_import_round_trip(capsys, bucket: Path, tmp_path: Path) -> None:
    add(capsys, bucket)
    out_file = tmp_path / "wandb_manifest.json"
    assert cli(capsys, "manifest", "export", "songs/sample_songs:v0", "--out", str(out_file))[0] == 0
    assert json.loads(out_file.read_text())["contents"]["a.wav"]["ref"] == f"file://{bucket}/a.wav"
    importing = ["manifest", "import", str(out_file), "--project", "imported", "--name", "copy", "--type", "raw_data"]
    code, _, err = cli(capsys, *importing)  # local files are named: only the user's own manifest may do that
    assert code == 1 and "--allow-local-files" in err
    code, out, _ = cli(capsys, *importing, "--allow-local-files")
    assert code == 0 and "imported/copy:v0  5 files" in out
    original = json.loads(cli(capsys, "diff", "songs/sample_songs:v0", "imported/copy:v0", "--json")[1])
    assert original["changes"] == [] and original["summary"]["unchanged"]["count"] == 5


@pytest.mark.parametrize(
    "args, message",
    [
        (["versions", "songs/nothing"], "No artifact songs/nothing"),
        (["diff", "songs/x:v0", "songs/x:v1"], "No artifact songs/x"),
        (["ref", "add", "ftp://x/y", "--project", "p", "--name", "n", "--type", "t"], "Unknown URI scheme"),
        (["ref", "add", "/does/not/exist", "--project", "p", "--name", "n", "--type", "t"], "Nothing exists"),
        (["ref", "add", "/tmp", "--project", "bad name", "--name", "n", "--type", "t"], "Project name 'bad name'"),
        (["alias", "set", "songs/sample_songs:v0", "latest"], "reserved"),
        (["manifest", "import", "/does/not/exist.json", "--project", "p", "--name", "n", "--type", "t"], "No file"),
    ],
)
def test_user_mistakes_are_one_line_errors(capsys, bucket: Path, args: list[str], message: str) -> None:
    add(capsys, bucket)
    code, _, err = cli(capsys, *args)
    assert code == 1 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_malformed_manifest_import_keeps_registry(capsys, bucket: Path, tmp_path: Path) -> None:
    add(capsys, bucket)
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "contents": {"x": {}}}')
    code, _, err = cli(
        capsys, "manifest", "import", str(bad), "--project", "songs", "--name", "sample_songs", "--type", "raw_data"
    )
    assert code == 1 and "no digest" in err
    bad.write_text("{")
    assert (
        "not valid JSON"
        in cli(capsys, "manifest", "import", str(bad), "--project", "p", "--name", "n", "--type", "t")[2]
    )
    assert len(cli(capsys, "versions", "songs/sample_songs")[1].splitlines()) == 2


def test_console_script_help_and_usage_errors() -> None:
    done = subprocess.run([sys.executable, "-m", "shanty.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "diff" in done.stdout and "download" in done.stdout
    done = subprocess.run([sys.executable, "-m", "shanty.cli", "diff"], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_import_wandb_command(capsys, tmp_path: Path) -> None:
    from tests.test_tables import write_wandb_export

    bucket = tmp_path / "b"
    bucket.mkdir()
    (bucket / "s2_sax.wav").write_bytes(b"sax")
    export = tmp_path / "export"
    export.mkdir()
    write_wandb_export(export, bucket)
    code, out, _ = cli(
        capsys, "import-wandb", str(export), "--project", "imp", "--name", "synth", "--type", "synth_ddsp"
    )
    assert code == 0 and "imp/synth:v0" in out
    assert "synth_song_samples.table.parquet" in cli(capsys, "files", "imp/synth:v0")[1]
    code, _, err = cli(
        capsys, "import-wandb", str(tmp_path / "missing"), "--project", "imp", "--name", "x", "--type", "t"
    )
    assert code == 1 and "wandb_manifest.json" in err


def test_demo_command(capsys, tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "--registry", str(tmp_path / "reg"), "demo", "--media", str(tmp_path / "media"))
    assert code == 0 and "cshanty" in out
    assert "sample_songs" in cli(capsys, "--registry", str(tmp_path / "reg"), "artifacts", "cshanty")[1]
    assert (tmp_path / "media" / "bucket" / "song_metadata.csv").is_file()
