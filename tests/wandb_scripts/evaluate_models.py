"""W&B's "Evaluate models" pattern: numpy images with predicted and ground-truth boxes and masks,
wandb.Classes, a predictions table logged to the run, scalars in the summary."""

import json
import sys

import numpy as np

import shanty as wandb

bucket = sys.argv[1]  # unused here: every image is made in memory
class_labels = {1: "circle", 2: "square"}
class_set = wandb.Classes([{"id": k, "name": v} for k, v in class_labels.items()])

run = wandb.init(project="evaluate", job_type="eval", config={"model": "toy-detector", "threshold": 0.5})
table = wandb.Table(columns=["id", "image", "truth", "prediction", "score"])
rng = np.random.default_rng(0)
for index in range(4):
    pixels = np.zeros((48, 64, 3), dtype=np.uint8)
    shape = 1 + index % 2
    x0, y0 = 8 + 4 * index, 10
    pixels[y0 : y0 + 20, x0 : x0 + 20] = (200, 60 + 40 * index, 30)
    mask = np.zeros((48, 64), dtype=np.uint8)
    mask[y0 : y0 + 20, x0 : x0 + 20] = shape
    score = float(rng.uniform(0.4, 0.99))
    boxes = {
        "predictions": {
            "box_data": [
                {
                    "position": {"minX": x0, "maxX": x0 + 20, "minY": y0, "maxY": y0 + 20},
                    "domain": "pixel",
                    "class_id": shape,
                    "box_caption": f"{class_labels[shape]} {score:.2f}",
                    "scores": {"confidence": score},
                }
            ],
            "class_labels": class_labels,
        },
        "ground_truth": {
            "box_data": [
                {
                    "position": {"middle": [(x0 + 10) / 64, 20 / 48], "width": 20 / 64, "height": 20 / 48},
                    "class_id": shape,
                }
            ],
            "class_labels": class_labels,
        },
    }
    masks = {"ground_truth": {"mask_data": mask, "class_labels": class_labels}}
    image = wandb.Image(pixels, boxes=boxes, masks=masks, classes=class_set, caption=f"sample {index}")
    table.add_data(index, image, class_labels[shape], class_labels[shape] if score > 0.5 else "none", score)

accuracy = sum(1 for row in table.data if row[2] == row[3]) / len(table.data)
run.log({"eval_table": table, "accuracy": accuracy})
run.summary["accuracy"] = accuracy
artifact = wandb.Artifact("eval_results", type="evaluation")
artifact.add(table, "predictions")
run.log_artifact(artifact)
run.finish()

back = wandb.Api().artifact("evaluate/eval_results:latest").get("predictions")
first = back.data[0][1]
summary = wandb.Api().run(f"evaluate/{run.id}").summary
print(
    json.dumps(
        {
            "rows": len(back.data),
            "boxes": sorted(json.loads(first.boxes)),
            "masks": sorted(json.loads(first.masks)),
            "accuracy": summary["accuracy"],
        }
    )
)
