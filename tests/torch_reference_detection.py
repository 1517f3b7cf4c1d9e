"""Reference side of the detector tests, run in its own process (torch only, no Keras).

    python tests/torch_reference_detection.py OUT_DIR

For torchvision's RetinaNet v1 and v2 and its FCOS it builds the model with seeded random weights,
BatchNorm statistics included (v1 with BatchNorm eps 0, as torchvision's COCO weights run),
and class-logit biases spread so that real detections pass the 0.05 threshold; saves its
state dict (`<name>.pth`), its raw head outputs on the first `RAW_IMAGES` photos and its
`eval()` detections on all `IMAGES` photos of ../shared/data/detection-mini, each pasted at
the top left of a SIZE x SIZE canvas (the photos' longer side is 320: nothing is resized,
and the transform is set to min_size = max_size = SIZE so that torchvision does not resize
either). A separate process: torchvision crashes when imported after TensorFlow.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

SIZE = 320
IMAGES = 6
RAW_IMAGES = 2
# Class-logit bias means: tens of detections per photo, under the caps (1000 per level, then
# 300 per photo for RetinaNet, 100 for FCOS, whose scores are sqrt(p x centre-ness) above 0.2).
BIAS = {"retinanet_resnet50_fpn": 9.0, "retinanet_resnet50_fpn_v2": 9.0, "fcos_resnet50_fpn": 8.5}
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "detection-mini"
NAMES = tuple(BIAS)


def photos():
    """(ids, uint8 (IMAGES, SIZE, SIZE, 3)): the first photos by id, zero-padded."""
    annotations = json.loads((DATA / "annotations.json").read_text())
    chosen = sorted(annotations["images"], key=lambda image: image["id"])[:IMAGES]
    canvas = np.zeros((len(chosen), SIZE, SIZE, 3), "uint8")
    for i, image in enumerate(chosen):
        pixels = np.asarray(Image.open(DATA / "images" / image["file_name"]).convert("RGB"))
        canvas[i, : pixels.shape[0], : pixels.shape[1]] = pixels
    return [image["id"] for image in chosen], canvas


def randomized(name, seed, batch):
    """The model with seeded random weights; its BatchNorm statistics are those of `batch`
    (a random ResNet's activations grow block by block otherwise), then perturbed."""
    torch.manual_seed(seed)
    model = torchvision.models.get_model(name, weights=None, weights_backbone=None, num_classes=91,
                                         min_size=SIZE, max_size=SIZE)  # fmt: skip
    generator = torch.Generator().manual_seed(seed)

    def draw(shape, low, high):
        return low + (high - low) * torch.rand(shape, generator=generator)

    norms = [m for m in model.modules() if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm))]
    batch_norms = [m for m in norms if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for module in norms:
            module.weight.copy_(draw(module.weight.shape, 0.5, 1.5))
            module.bias.copy_(draw(module.bias.shape, -0.2, 0.2))
        for module in batch_norms:
            module.reset_running_stats()
            module.momentum = None  # a cumulative average over the calibration batch
        model.train()
        model.backbone(model.transform(batch)[0].tensors)
        model.eval()
        for module in batch_norms:
            module.running_mean.add_(draw(module.running_mean.shape, -0.1, 0.1))
            module.running_var.mul_(draw(module.running_var.shape, 0.8, 1.2))
            if name == "retinanet_resnet50_fpn":
                module.eps = 0.0  # torchvision's overwrite_eps(model, 0.0) for its COCO weights
        head = model.head
        # Scaled so that the logits vary by about 1 over the image and the deltas by 0.3 (the
        # N(0, 0.01) initialisation gives near-constant outputs on random features); the spread
        # class biases leave some dozens of detections per photo above the 0.05 threshold.
        outputs = head(list(model.backbone(model.transform(batch)[0].tensors).values()))
        head.classification_head.cls_logits.weight.mul_(1.0 / outputs["cls_logits"].std())
        cls_bias = head.classification_head.cls_logits.bias
        cls_bias.copy_(torch.randn(cls_bias.shape, generator=generator) - BIAS[name])
        regression = head.regression_head
        if name.startswith("fcos"):
            # Distances of a few anchor sides (after FCOS's ReLU), centre-ness logits of spread 1.
            regression.bbox_reg.weight.mul_(1.0 / outputs["bbox_regression"].std().clamp(min=1e-6))
            regression.bbox_reg.bias.fill_(1.5)
            regression.bbox_ctrness.weight.mul_(1.0 / outputs["bbox_ctrness"].std())
        else:
            regression.bbox_reg.weight.mul_(0.3 / outputs["bbox_regression"].std())
    return model


def main(out):
    out = Path(out)
    ids, images = photos()
    np.save(out / "images.npy", images)
    (out / "image_ids.json").write_text(json.dumps(ids))
    batch = [torch.from_numpy(image).permute(2, 0, 1).float() / 255 for image in images]
    for seed, name in enumerate(NAMES):
        model = randomized(name, seed, batch)
        torch.save(model.state_dict(), out / f"{name}.pth")
        with torch.no_grad():
            transformed, _ = model.transform(batch[:RAW_IMAGES])
            assert transformed.image_sizes == [(SIZE, SIZE)] * RAW_IMAGES, transformed.image_sizes
            head = model.head(list(model.backbone(transformed.tensors).values()))
            for key, value in head.items():
                np.save(out / f"{name}_head_{key}.npy", value.numpy())
            detections = model(batch)
        arrays = {}
        for i, found in enumerate(detections):
            for key in ("boxes", "scores", "labels"):
                arrays[f"{key}_{i}"] = found[key].numpy()
        np.savez(out / f"{name}_detections.npz", **arrays)
        counts = {
            "params": sum(p.numel() for p in model.parameters()),
            # torchvision's published figure: its COCO v1 model's FrozenBatchNorm2d has no parameters
            "bn_affine": sum(m.weight.numel() * 2 for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)),
        }
        (out / f"{name}_counts.json").write_text(json.dumps(counts))
        print(name, [len(d["scores"]) for d in detections])


if __name__ == "__main__":
    main(sys.argv[1])
