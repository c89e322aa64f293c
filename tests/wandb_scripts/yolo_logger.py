"""A condensed YOLOv5 W&B logger (utils/loggers/wandb/wandb_utils.py): resume by id, config updates, a
dataset artifact with an image table and boxes, model checkpoints with aliases, per-epoch metrics."""

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import shanty as wandb

bucket, run_id, start_epoch, end_epoch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = {0: "person", 1: "bicycle"}


class WandbLogger:
    def __init__(self, opt, run_id=None, job_type="Training"):
        self.job_type = job_type
        self.wandb_run = wandb.init(
            config=opt, resume="allow", project=opt["project"], name=opt["name"], job_type=job_type, id=run_id
        )
        self.log_dict = {}
        self.bbox_media_panel_images = []
        if self.job_type == "Training":
            self.wandb_run.config.update({"hyp": opt["hyp"]}, allow_val_change=True)
            if self.wandb_run.resumed:
                self.wandb_run.config.update({"resumed_at": start_epoch}, allow_val_change=True)

    def create_dataset_table(self, folder, class_to_id, name="dataset"):
        artifact = wandb.Artifact(name=name, type="dataset")
        artifact.add_dir(folder, name="data/images")
        class_set = wandb.Classes([{"id": id, "name": name} for id, name in class_to_id.items()])
        table = wandb.Table(columns=["id", "train_image", "Classes", "name"])
        for si, img_file in enumerate(sorted(Path(folder).glob("*.png"))):
            box_data = [
                {
                    "position": {"middle": [0.5, 0.5], "width": 0.4, "height": 0.6},
                    "class_id": si % 2,
                    "box_caption": class_to_id[si % 2],
                }
            ]
            boxes = {"ground_truth": {"box_data": box_data, "class_labels": class_to_id}}
            table.add_data(
                si,
                wandb.Image(str(img_file), classes=class_set, boxes=boxes),
                list({class_to_id[si % 2]}),
                img_file.name,
            )
        artifact.add(table, name)
        return artifact

    def log_model(self, path, epoch, fitness_score, best_model=False):
        model_artifact = wandb.Artifact(
            f"run_{self.wandb_run.id}_model",
            type="model",
            metadata={"original_url": str(path), "epochs_trained": epoch + 1, "fitness_score": fitness_score},
        )
        model_artifact.add_file(str(path / "last.pt"), name="last.pt")
        wandb.log_artifact(
            model_artifact, aliases=["latest", "last", f"epoch {epoch + 1}", "best" if best_model else ""]
        )

    def log(self, log_dict):
        for key, value in log_dict.items():
            self.log_dict[key] = value

    def end_epoch(self, epoch):
        if self.bbox_media_panel_images:
            self.log_dict["BoundingBoxDebugger"] = self.bbox_media_panel_images
        wandb.log(self.log_dict, step=epoch)
        self.log_dict = {}
        self.bbox_media_panel_images = []

    def finish_run(self):
        if self.log_dict:
            wandb.log(self.log_dict)
        wandb.run.finish()


opt = {"project": "yolo", "name": "exp", "hyp": {"lr0": 0.01, "momentum": 0.937}, "epochs": end_epoch}
logger = WandbLogger(opt, run_id=run_id)
work = Path(tempfile.mkdtemp())
if start_epoch == 0:
    images = work / "images"
    images.mkdir()
    for index in range(3):  # the training images on disk
        Image.fromarray(np.full((32, 32, 3), 40 * index, dtype=np.uint8)).save(images / f"img{index}.png")
    logger.wandb_run.log_artifact(logger.create_dataset_table(images, names))
best = 0.0
for epoch in range(start_epoch, end_epoch):
    fitness = 1 - 1 / (epoch + 2)
    logger.log({"train/box_loss": 0.1 / (epoch + 1), "metrics/mAP_0.5": fitness, "x/lr0": 0.01})
    preview = np.zeros((32, 32, 3), dtype=np.uint8)
    boxes = {
        "predictions": {
            "box_data": [
                {
                    "position": {"minX": 4, "maxX": 20, "minY": 4, "maxY": 28},
                    "domain": "pixel",
                    "class_id": 0,
                    "scores": {"conf": fitness},
                }
            ],
            "class_labels": names,
        }
    }
    logger.bbox_media_panel_images.append(wandb.Image(preview, boxes=boxes, caption=f"epoch {epoch}"))
    logger.end_epoch(epoch)
    (work / "last.pt").write_bytes(f"weights after epoch {epoch}".encode())
    logger.log_model(work, epoch, fitness, best_model=fitness > best)
    best = max(best, fitness)
wandb.run.summary["best/mAP_0.5"] = best
logger.finish_run()
print(os.environ.get("SHANTY_ROOT", ""), run_id)
