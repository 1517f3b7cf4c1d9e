"""torchvision's RetinaNet loss on a fixed case, for `tests/test_tv_loss.py`, in a torch-only process.

    python tests/torch_reference_loss.py FOLDER

FOLDER/case.npz gets the case: anchors (A, 4), truth (N, M, 5) [x1, y1, x2, y2, class] with
class -1 padding, predictions (N, A, 4 + C); FOLDER/torchvision.npz torchvision's matched
indices (N, A) and, per box loss, the total of `RetinaNetHead.compute_loss`.
"""

import sys

import numpy as np
import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.retinanet import RetinaNetHead
from torchvision.ops import box_iou


CLASSES = 6


def make_case(seed=0):
    """Anchors on a 64 px image, a batch of three images: crowded, one small box, none."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 64, (400, 2))
    sizes = rng.uniform(4, 40, (400, 2))
    anchors = np.concatenate([centers - sizes / 2, centers + sizes / 2], 1).astype("float32")
    truth = np.full((3, 5, 5), -1.0, "float32")
    for i, count in enumerate((5, 1, 0)):
        low = rng.uniform(0, 40, (count, 2))
        high = low + rng.uniform(2 if i == 1 else 8, 24, (count, 2))
        truth[i, :count, :4] = np.concatenate([low, high], 1)
        truth[i, :count, 4] = rng.integers(0, CLASSES, count)
    # Two equal anchors: where they are a box's best, both keep the match (ties).
    anchors[1] = anchors[0]
    predictions = rng.normal(0, 1, (3, 400, 4 + CLASSES)).astype("float32")
    return {"anchors": anchors, "truth": truth, "predictions": predictions}


def main(folder):
    case = make_case()
    np.savez(f"{folder}/case.npz", **case)
    anchors = torch.from_numpy(case["anchors"])
    outputs = torch.from_numpy(case["predictions"])
    matcher = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)
    targets, matched = [], []
    for rows in case["truth"]:
        rows = torch.from_numpy(rows[rows[:, 4] >= 0])
        targets.append({"boxes": rows[:, :4], "labels": rows[:, 4].long()})
        if len(rows):
            matched.append(matcher(box_iou(rows[:, :4], anchors)))
        else:  # RetinaNet.compute_loss's rule for an image without boxes
            matched.append(torch.full((len(anchors),), -1, dtype=torch.int64))
    head_outputs = {"bbox_regression": outputs[..., :4], "cls_logits": outputs[..., 4:]}
    head = RetinaNetHead(in_channels=8, num_anchors=1, num_classes=outputs.shape[-1] - 4)
    results = {"matched": torch.stack(matched).numpy()}
    for box_loss in ("l1", "giou"):
        head.regression_head._loss_type = box_loss
        losses = head.compute_loss(targets, head_outputs, [anchors] * len(targets), matched)
        results[box_loss] = np.float64(sum(float(v) for v in losses.values()))
    np.savez(f"{folder}/torchvision.npz", **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
