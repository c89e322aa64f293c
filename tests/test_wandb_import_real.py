"""``shanty import-wandb`` on what the real W&B client (wandb 0.31, offline) writes.

The fixtures come from :mod:`tests.kits.wandb_client`: an artifact folder laid
out as ``artifact.download()`` writes it (tables with image cells carrying boxes
and masks, audio cells, list and dict cells, a JoinedTable, a PartitionedTable,
media objects, a reference) and an offline run directory (history, config,
summary, a logged table, an image with boxes). Every row, cell, annotation and
file is compared with what the client was given.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import shanty
from shanty.cli import main as cli_main
from shanty.errors import InvalidInputError, MalformedError, NotFoundError
from shanty.query import Query, Sort, read_schema, run_query
from tests.kits.wandb_client import PROJECT, RUN_ID, build_wandb_output, run_folder

pytest.importorskip("wandb")  # the test extra pins it; the fixtures are made by the real client
Image = pytest.importorskip("PIL.Image")

LABELS = {"0": "background", "1": "cat", "2": "dog"}
CLASSES = [{"id": 0, "name": "background"}, {"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}]
CONVERTED = (".table.json", ".joined-table.json", ".partitioned-table.json", ".image-file.json", ".audio-file.json")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("wandb")
    return folder, build_wandb_output(folder)


def pixels(data: bytes) -> list:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image).tolist()


def entry_bytes(version: shanty.ArtifactVersion, path: str, into: Path) -> bytes:
    return Path(version.get_entry(path).download(str(into))).read_bytes()


def assert_boxes(stored: str | None, given: dict) -> None:
    boxes = json.loads(stored)
    assert set(boxes) == set(given)
    for group, layer in given.items():
        assert boxes[group]["class_labels"] == {str(k): v for k, v in layer["class_labels"].items()}
        assert len(boxes[group]["box_data"]) == len(layer["box_data"])
        for out, box in zip(boxes[group]["box_data"], layer["box_data"], strict=True):
            assert {k: out[k] for k in box} == box  # every field given arrives (absent ones are null)


def check_main_table(version: shanty.ArtifactVersion, given: dict, sources: Path, into: Path) -> None:
    table = version.get("main")
    assert table.columns == ["id", "img", "aud", "tags", "meta"]
    assert len(table) == len(given["rows"])
    for row, want in zip(table.data, given["rows"], strict=True):
        ident, image, audio, tags, meta = row
        assert (ident, tags, meta) == (want["id"], want["tags"], want["meta"])  # a list and a struct, not text
        assert image.caption == want["caption"] and image.entry in version.manifest.entries
        assert pixels(entry_bytes(version, image.entry, into)) == want["pixels"]
        assert_boxes(image.boxes, want["boxes"])
        masks = json.loads(image.masks)
        assert list(masks) == ["gt"] and masks["gt"]["class_labels"] == LABELS
        assert pixels(entry_bytes(version, masks["gt"]["entry"], into)) == want["mask"]
        assert json.loads(image.classes) == CLASSES
        if want["audio"] is None:
            assert audio is None
        else:
            assert audio.caption == want["caption"].replace("image", "audio")
            assert entry_bytes(version, audio.entry, into) == (sources / want["audio"]).read_bytes()


def check_artifact(version: shanty.ArtifactVersion, given: dict, export: Path, sources: Path, into: Path) -> None:
    files = {p.relative_to(export).as_posix() for p in export.rglob("*") if p.is_file()}
    plain = {p for p in files if not p.endswith(CONVERTED) and p != "wandb_manifest.json"}
    entries = version.manifest.entries
    assert plain <= set(entries)
    for path in sorted(plain):
        assert entry_bytes(version, path, into) == (export / path).read_bytes(), path
    assert {"main.table.parquet", "scores.table.parquet", "partitioned.table.parquet"} <= set(entries)
    check_main_table(version, given, sources, into)
    assert version.get("scores").data == [[f"s{i}", i / 4] for i in range(3)]
    joined = version.get("joined")
    assert isinstance(joined, shanty.JoinedTable) and joined.join_key == "id"
    assert joined.table1.get_column("id") == ["s0", "s1", "s2"] and joined.table2.columns == ["id", "score"]
    partitioned = version.get("partitioned")  # the parts as one table, in W&B's order
    assert [r[:2] for r in partitioned.data] == [[p["id"], p["value"]] for p in given["parts"]]
    for cell, part in zip(partitioned.get_column("thumb"), given["parts"], strict=True):
        assert pixels(entry_bytes(version, cell.entry, into)) == part["pixels"]
    cover = version.get("cover")
    assert isinstance(cover, shanty.Image) and cover.caption == "the cover"
    assert pixels(entry_bytes(version, cover.entry, into)) == given["standalone"]["cover"]
    jingle = version.get("jingle")
    assert isinstance(jingle, shanty.Audio) and jingle.caption == "jingle"
    assert entry_bytes(version, jingle.entry, into) == (sources / "jingle.wav").read_bytes()


def test_downloaded_artifact_without_manifest_imports_intact(tmp_path: Path) -> None:
    folder = tmp_path / "made"
    given = build_wandb_output(folder)
    export = tmp_path / "evalset:v0"  # as W&B names the download folder
    shutil.copytree(folder / "export", export)
    version = shanty.import_wandb(export, "imported", type="dataset")
    assert version.qualified_name == "imported/evalset:v0"
    assert version.manifest.entries["refs/ref.wav"].ref is None  # download() copied it in: by value now
    shutil.rmtree(export)  # imported media are the registry's own copies
    check_artifact(version, given, folder / "export", folder / "sources", tmp_path / "read")
    shutil.rmtree(folder)
    again = shanty.Api().artifact("imported/evalset:v0")
    table = again.get("main")
    assert Path(again.download(str(tmp_path / "all"))).is_dir()  # every entry downloads, verified
    assert all(cell.uri.startswith(shanty.Api().root) for cell in table.get_column("img"))


def test_manifest_keeps_references_and_tables_query(made: tuple[Path, dict], tmp_path: Path) -> None:
    folder, given = made
    version = shanty.import_wandb_artifact(folder / "export_manifest", "withref", "evalset", "dataset")
    ref = version.manifest.entries["refs/ref.wav"]
    assert ref.ref == (folder / "bucket" / "ref.wav").resolve().as_uri()
    check_artifact(version, given, folder / "export_manifest", folder / "sources", tmp_path / "read")
    # The query engine (DuckDB) sees list and struct columns as such.
    path = version.table_file("main")
    schema = read_schema(path)
    assert schema.columns["tags"].endswith("[]") and schema.columns["meta"].startswith("STRUCT")
    rows = run_query(Query(sort=(Sort("id", descending=True),)), {"main": path}).rows
    assert [(r["id"], r["tags"], r["meta"]) for r in rows] == [
        (w["id"], w["tags"], w["meta"]) for w in reversed(given["rows"])
    ]


def test_import_into_a_bucket_registry(made: tuple[Path, dict], registry_root: str, tmp_path: Path) -> None:
    folder, given = made
    done = shanty.import_wandb(run_folder(folder), "inbucket", root=registry_root)
    version = shanty.Api(registry_root).artifact("inbucket/evalset:latest")
    assert version.logged_by().id == done.run_id
    check_main_table(version, given, folder / "sources", tmp_path / "read")
    image = version.get("main").get_column("img")[0]
    assert image.uri.startswith(shanty.Api(registry_root).root)  # the registry's own copy: playable by whoever reads it
    rows = list(shanty.Api(registry_root).run(f"inbucket/{RUN_ID}").scan_history())
    assert [r["loss"] for r in rows] == [r["loss"] for r in given["history"]]


def test_the_wandb_folder_itself_is_refused(made: tuple[Path, dict]) -> None:
    folder, _ = made
    with pytest.raises(InvalidInputError, match="one at a time"):
        shanty.import_wandb(folder / "wandb", "p", type="dataset")
    assert shanty.Api().projects() == []


def test_offline_run_is_recreated(tmp_path: Path) -> None:
    folder = tmp_path / "made"
    given = build_wandb_output(folder)
    done = shanty.import_wandb(run_folder(folder), "runs")
    assert (done.project, done.run_id, done.steps) == ("runs", RUN_ID, 5)
    shutil.rmtree(folder)  # the run folder and W&B's staging folder: imported media are copies
    run = shanty.Api().run(f"runs/{RUN_ID}")
    assert run.job_type == "train"
    assert dict(run.config) == {"lr": 0.01, "layers": [64, 32], "optimizer": {"name": "adam", "beta": 0.9}}
    assert run.summary["best_acc"] == 0.4 and run.summary["loss"] == given["history"][-1]["loss"]
    rows = list(run.scan_history())
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4]
    for row, want in zip(rows, given["history"], strict=True):
        assert {k: row.get(k) for k in want} == want  # every scalar of every step
    examples = rows[2]["examples"]
    assert examples["_type"] == "table-file" and examples["table"] == "examples"
    table_version = shanty.Api().artifact(examples["artifact"])
    assert table_version.type == "run_table" and table_version.source_name == f"run-{RUN_ID}-examples"
    table = table_version.get("examples")
    assert table.get_column("tags") == [[1, 2], []] and table.get_column("img")[1] is None
    image = table.get_column("img")[0]
    assert len(pixels(entry_bytes(table_version, image.entry, tmp_path / "read"))) == 6
    sample = shanty.Api().artifact(f"runs/run-{RUN_ID}-sample:latest").get("sample")
    assert sample.get_column("step") == [3]
    cell = sample.get_column("sample")[0]
    assert cell.caption == "sample" and rows[3]["sample"]["table"] == f"run-{RUN_ID}-sample"
    assert pixels(entry_bytes(sample.source[0], cell.entry, tmp_path / "read")) == given["sample"]
    assert_boxes(cell.boxes, given["sample_boxes"])  # read from W&B's boxes2D files
    gallery = shanty.Api().artifact(f"runs/run-{RUN_ID}-gallery:latest").get("gallery")
    assert gallery.get_column("step") == [4, 4] and rows[4]["gallery"]["count"] == 2
    cells = gallery.get_column("gallery")
    assert [c.caption for c in cells] == ["first", "second"] and cells[0].boxes is None
    assert [pixels(entry_bytes(gallery.source[0], c.entry, tmp_path / "read")) for c in cells] == given["gallery"]
    assert_boxes(cells[1].boxes, given["gallery_boxes"])
    logged = shanty.Api().artifact("runs/evalset:latest")
    assert logged.logged_by().id == RUN_ID and logged.get("partitioned").columns == ["id", "value", "thumb"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli_main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_detects_run_and_artifact_folders(made: tuple[Path, dict], capsys: pytest.CaptureFixture[str]) -> None:
    folder, _ = made
    code, out, _ = cli(capsys, "import-wandb", str(run_folder(folder)), "--project", "cliruns")
    assert code == 0 and f"run cliruns/{RUN_ID}  5 history rows" in out and "cliruns/evalset:v0" in out
    code, out, _ = cli(capsys, "import-wandb", str(folder / "export"), "--project", "cliart", "--type", "dataset")
    assert code == 0 and out.startswith("cliart/export:v0")
    code, _, err = cli(capsys, "import-wandb", str(run_folder(folder)), "--project", "cliruns")
    assert code == 1 and "already in the registry" in err  # a second import of the same run is refused


def damaged_copies(folder: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Bad inputs, each with the words its one-sentence error must hold."""
    cases: dict[str, tuple[Path, str]] = {"empty": (tmp_path / "empty", "holds no files")}
    (tmp_path / "empty").mkdir()
    broken = tmp_path / "broken"
    shutil.copytree(folder / "export", broken)
    (broken / "main.table.json").write_text('{"columns": ["a"], "data": [[')
    cases["damaged json"] = (broken, "not valid JSON")
    missing = tmp_path / "missing"
    shutil.copytree(folder / "export", missing)
    mask = next((missing / "media" / "images" / "mask").iterdir())
    mask.unlink()
    cases["missing file"] = (missing, mask.name)
    bad_run = tmp_path / "offline-run-x"
    bad_run.mkdir()
    (bad_run / "run-x.wandb").write_bytes(b"not a run")
    cases["bad run file"] = (bad_run, "not a W&B run file")
    cut = tmp_path / "offline-run-cut"
    shutil.copytree(run_folder(folder), cut)
    run_file = next(cut.glob("run-*.wandb"))
    data = bytearray(run_file.read_bytes())
    data[200] ^= 0xFF
    run_file.write_bytes(bytes(data))
    cases["damaged run file"] = (cut, "damaged")
    return cases


def test_bad_input_is_one_sentence_and_writes_nothing(
    made: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = made
    for label, (path, words) in damaged_copies(folder, tmp_path).items():
        with pytest.raises((MalformedError, NotFoundError), match=None) as caught:
            shanty.import_wandb(path, "bad", name="n", type="t")
        message = str(caught.value)
        assert words in message and message.count(". ") == 0 and "\n" not in message, (label, message)
        code, _, err = cli(capsys, "import-wandb", str(path), "--project", "bad", "--type", "t")
        assert code == 1 and "Traceback" not in err and words in err, label
        assert shanty.Api().projects() == [], label  # nothing written: no project, no run, no object
        assert not (Path(shanty.Api().root.removeprefix("file://")) / "objects").exists()
    code, _, err = cli(capsys, "import-wandb", str(folder / "export"), "--project", "bad")
    assert code == 1 and "--type" in err


def test_reading_a_run_without_the_client_names_the_extra(made: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = made
    code = (
        "import sys\n"
        "sys.modules['wandb'] = None  # as if the client were not installed\n"
        "from shanty.cli import main\n"
        f"sys.exit(main(['--registry', {str(tmp_path / 'reg')!r}, 'import-wandb', {str(run_folder(folder))!r}, "
        "'--project', 'p']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent
    )
    assert done.returncode == 1 and "pip install 'shanty[wandb]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "reg").exists()
    assert PROJECT == "wbproj"  # the run's own project, used when none is given
