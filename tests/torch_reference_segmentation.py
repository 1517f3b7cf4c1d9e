"""Reference side of the segmenter tests, run in its own process (torch only, no Keras).

    python tests/torch_reference_segmentation.py OUT_DIR

For each torchvision segmenter (`NAMES`) it builds the model with its auxiliary head,
random weights and random BatchNorm statistics (`torch_reference.randomize_batch_norm`),
in eval mode, saves its state dict as `<name>.pth` (the published files' layout) and
the "out" and "aux" logits, channels last, of a fixed batch of real photos of the
shared segmentation-mini set resized to SIZE x SIZE (`images_nhwc.npy`, uint8 RGB, the
Keras side's input; torchvision gets the same pixels normalised). `counts.json` holds
each model's parameter count.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image

from torch_reference import randomize_batch_norm

NAMES = ("deeplabv3_resnet50", "fcn_resnet50", "deeplabv3_resnet101", "fcn_resnet101")
SIZE = 96
PHOTOS = 2
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "segmentation-mini" / "images"
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def photos():
    paths = sorted(DATA.glob("*.jpg"))[:PHOTOS]
    return np.stack([np.asarray(Image.open(p).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)) for p in paths])


def write_cases(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = photos()
    np.save(out_dir / "images_nhwc.npy", images)
    normalised = ((images / 255.0 - MEAN) / STD).astype("float32").transpose(0, 3, 1, 2)
    counts = {}
    for name in NAMES:
        torch.manual_seed(0)
        model = torchvision.models.get_model(name, weights=None, weights_backbone=None, aux_loss=True)
        model = randomize_batch_norm(model, torch.Generator().manual_seed(1))
        counts[name] = sum(p.numel() for p in model.parameters())
        torch.save(model.state_dict(), out_dir / f"{name}.pth")
        with torch.no_grad():
            result = model(torch.from_numpy(normalised))
        for key in ("out", "aux"):
            np.save(out_dir / f"{name}_{key}.npy", result[key].numpy().transpose(0, 2, 3, 1))
    (out_dir / "counts.json").write_text(json.dumps(counts))


if __name__ == "__main__":
    write_cases(sys.argv[1])
