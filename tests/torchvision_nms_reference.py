"""torchvision RetinaNet's detection selection (postprocess_detections: per-level threshold
and top-k, then batched_nms, then the best detections_per_img), for tests/test_nms.py.

Run in a torch-only process (torchvision crashes when imported after TensorFlow):
    python torchvision_nms_reference.py inputs.npz outputs.npz '{"score_threshold": .05, ...}'
Each `<case>_boxes` (N, A, 4) / `<case>_scores` (N, A, C) / `<case>_levels` (anchors per
level) of inputs.npz gives `<case>_<n>_{boxes,scores,classes}` in outputs.npz, one per image n.
"""

import json
import sys

import numpy as np
import torch
from torchvision.ops import batched_nms


def select(boxes, scores, level_sizes, score_threshold, candidates, iou_threshold, max_detections):
    """One image's (boxes, scores, classes) as RetinaNet.postprocess_detections keeps them."""
    boxes, scores = torch.from_numpy(boxes), torch.from_numpy(scores)
    num_classes = scores.shape[1]
    picked = []
    start = 0
    for size in level_sizes:
        flat = scores[start : start + size].flatten()
        index = torch.where(flat > score_threshold)[0]
        best, order = flat[index].topk(min(candidates, index.numel()))
        index = index[order]
        picked.append((boxes[start : start + size][index // num_classes], best, index % num_classes))
        start += size
    boxes, scores, classes = (torch.cat(parts) for parts in zip(*picked))
    keep = batched_nms(boxes, scores, classes, iou_threshold)[:max_detections]
    return boxes[keep].numpy(), scores[keep].numpy(), classes[keep].numpy()


def main(inputs, outputs, settings):
    inputs, settings = np.load(inputs), json.loads(settings)
    results = {}
    for key in inputs.files:
        if not key.endswith("_boxes"):
            continue
        case = key[: -len("_boxes")]
        levels = inputs[f"{case}_levels"].tolist()
        for n, (boxes, scores) in enumerate(zip(inputs[key], inputs[f"{case}_scores"])):
            for name, value in zip(("boxes", "scores", "classes"), select(boxes, scores, levels, **settings)):
                results[f"{case}_{n}_{name}"] = value
    np.savez(outputs, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
