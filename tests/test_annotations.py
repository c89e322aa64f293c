"""Image annotations (W&B's boxes, masks and classes): stored with the cell, logged, read back intact."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import shanty
from shanty.errors import InvalidInputError

BOXES = {
    "predictions": {
        "box_data": [
            {
                "position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
                "class_id": 1,
                "box_caption": "car",
                "scores": {"acc": 0.2, "loss": 1.2},
            },
            {"position": {"middle": [150, 20], "width": 68, "height": 112}, "domain": "pixel", "class_id": 3},
        ],
        "class_labels": {1: "car", 3: "building"},
    }
}
CLASSES = [{"id": 3, "name": "building"}, {"id": 1, "name": "car"}]


def mask(seed: int) -> np.ndarray:
    data = np.zeros((20, 30), np.uint8)
    data[seed:, : 10 + seed] = 1
    data[:5, 20:] = 3
    return data


def annotated(seed: int) -> shanty.Image:
    picture = np.random.default_rng(seed).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    masks = {"ground_truth": {"mask_data": mask(seed), "class_labels": {0: "bg", 1: "car", 3: "building"}}}
    return shanty.Image(picture, boxes=BOXES, masks=masks, classes=shanty.Classes(CLASSES), caption=f"#{seed}")


def test_boxes_masks_and_classes_round_trip_through_a_logged_table(tmp_path: Path) -> None:
    table = shanty.Table(columns=["id", "img"], data=[[n, annotated(n)] for n in range(3)])
    table.add_data(3, shanty.Image(np.zeros((20, 30), np.uint8)))  # no annotations: all None
    with shanty.init(project="p", root=str(tmp_path / "registry")) as run:
        artifact = shanty.Artifact("seg", type="dataset")
        artifact.add(table, "t")
        version = run.log_artifact(artifact)
    back = shanty.Api(str(tmp_path / "registry")).artifact("p/seg:v0").get("t")
    cells = back.get_column("img")
    first = cells[0].annotations()
    boxes = first["boxes"]["predictions"]
    assert boxes["class_labels"] == {"1": "car", "3": "building"}
    assert boxes["box_data"][0] == {
        "position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4},
        "domain": None,
        "class_id": 1,
        "box_caption": "car",
        "scores": {"acc": 0.2, "loss": 1.2},
    }
    assert boxes["box_data"][1]["position"] == {"middle": [150, 20], "width": 68, "height": 112}
    assert first["classes"] == [{"id": 1, "name": "car"}, {"id": 3, "name": "building"}]  # sorted by id
    assert cells[3].annotations() == {"boxes": None, "masks": None, "classes": None}
    # Every mask PNG is a manifest entry, stored by value, and decodes to the class ids given.
    for seed, cell in enumerate(cells[:3]):
        group = cell.annotations()["masks"]["ground_truth"]
        assert group["class_labels"] == {"0": "bg", "1": "car", "3": "building"}
        assert group["entry"] in version.manifest.entries and version.manifest.entries[group["entry"]].ref is None
        assert group["entry"] in back.media_entries() and group["uri"] in back.media_uris()
        local = version.get_entry(group["entry"]).download(root=tmp_path / "dl")
        decoded = PILImage.open(io.BytesIO(Path(local).read_bytes()))
        assert decoded.mode == "L" and np.array_equal(np.asarray(decoded), mask(seed))
    # Rows as dicts (the query engine's rows) carry the same canonical JSON.
    result = shanty.run_query(shanty.Query(), {"t": version.table_file("t")})
    assert json.loads(result.rows[0]["img"]["boxes"]) == first["boxes"]
    assert json.loads(result.rows[0]["img"]["classes"]) == first["classes"]


def test_a_mask_given_by_path_is_referenced(tmp_path: Path) -> None:
    png = tmp_path / "masks" / "m.png"
    png.parent.mkdir()
    PILImage.fromarray(mask(2), mode="L").save(png)
    image = shanty.Image("s3://b/a.png", masks={"pred": {"path": str(png)}})
    table = shanty.Table(columns=["img"], data=[[image]])
    assert table.media_uris() == ["s3://b/a.png", f"file://{png}"]
    bound = table.with_entries({"s3://b/a.png": "media/s3/b/a.png", f"file://{png}": "media/local/m.png"})
    group = bound.get_column("img")[0].annotations()["masks"]["pred"]
    assert group == {"uri": f"file://{png}", "entry": "media/local/m.png", "class_labels": {}}


def test_wandb_mask_data_defaults_its_labels_to_the_ids_present() -> None:
    image = shanty.Image("gs://b/a.png", masks={"g": {"mask_data": mask(1)}})
    assert image.annotations()["masks"]["g"]["class_labels"] == {"0": "class_0", "1": "class_1", "3": "class_3"}


def bad_box(**changes: Any) -> dict[str, Any]:
    box = {"position": {"minX": 0, "maxX": 1, "minY": 0, "maxY": 1}, "class_id": 1, **changes}
    return {"g": {"box_data": [{k: v for k, v in box.items() if v is not None}]}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"boxes": bad_box(position=None)}, "Box 0 of the group 'g' has no position"),
        ({"boxes": bad_box(position={"minX": 0, "maxX": 1})}, "incomplete position"),
        ({"boxes": bad_box(class_id="cat")}, "class_id must be an integer"),
        ({"boxes": bad_box(domain="percent")}, "domain must be 'pixel' or left out"),
        ({"boxes": bad_box(scores={"acc": "high"})}, "must be a finite number"),
        ({"boxes": bad_box(box_caption=3)}, "box_caption must be text"),
        ({"boxes": {"g": {"boxes": []}}}, "has no box_data"),
        ({"boxes": [1, 2]}, "boxes= must be a dict of box groups"),
        ({"boxes": {"g": {"box_data": [], "class_labels": {"cat": 1}}}}, "class_labels maps class ids"),
        ({"masks": {"g": {"mask_data": np.zeros((2, 2, 2))}}}, "mask_data must be a 2-D array"),
        ({"masks": {"g": {"mask_data": np.full((2, 2), 300)}}}, "whole numbers from 0 to 255"),
        ({"masks": {"g": {"class_labels": {}}}}, "neither mask_data .* nor a path"),
        ({"masks": {"g": "m.png"}}, "must be a dict with mask_data"),
        ({"classes": [{"id": "1", "name": "cat"}]}, "class ids must be integers"),
        ({"classes": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]}, "appears twice"),
        ({"classes": "not json"}, "not JSON"),
    ],
)
def test_each_annotation_mistake_is_one_sentence(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as caught:
        shanty.Image("gs://b/a.png", **kwargs)
    text = str(caught.value)
    assert text.endswith(".") and "\n" not in text


def test_classes_is_wandb_shaped() -> None:
    classes = shanty.Classes([{"name": "car", "id": 1}, {"name": "bg", "id": 0}])
    assert classes.class_set == [{"id": 0, "name": "bg"}, {"id": 1, "name": "car"}] and len(classes) == 2
    assert classes.to_json()["_type"] == "classes" and classes.names() == {0: "bg", 1: "car"}
    assert shanty.Image("gs://b/a.png", classes=classes) == shanty.Image("gs://b/a.png", classes=classes.class_set)


def test_image_takes_the_layouts_wandb_table_json_holds() -> None:
    # W&B's exported table keeps a group's boxes as a bare list and a classes file's body as {"class_set": ...};
    # the importer resolves mask paths to URIs and passes the labels it found.
    image = shanty.Image(
        "s3://bucket/export/media/images/abc.png",
        caption="street",
        boxes={"predictions": [BOXES["predictions"]["box_data"][0]]},
        masks={
            "ground_truth": {"path": "s3://bucket/export/media/images/mask/m1.mask.png", "class_labels": {"1": "car"}}
        },
        classes={"_type": "classes", "class_set": CLASSES},
    )
    parsed = image.annotations()
    assert parsed["boxes"]["predictions"]["class_labels"] == {}  # names then come from classes
    assert parsed["boxes"]["predictions"]["box_data"][0]["class_id"] == 1
    assert parsed["masks"]["ground_truth"] == {
        "uri": "s3://bucket/export/media/images/mask/m1.mask.png",
        "entry": None,
        "class_labels": {"1": "car"},
    }
    assert parsed["classes"] == [{"id": 1, "name": "car"}, {"id": 3, "name": "building"}]
