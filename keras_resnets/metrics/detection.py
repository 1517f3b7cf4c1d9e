"""COCO's box mAP, from its definition, on plain Python and NumPy data.

    coco_map(ground_truth, detections) -> {"map", "map50", "map75", "map_small", ...,
                                           "per_class": {name: AP or None}}

`ground_truth` is a COCO annotations dict (or the path of its JSON file): `images`
(`id`), `annotations` (`image_id`, `category_id`, `bbox` [x, y, w, h] in pixels,
optional `area` and `iscrowd`) and `categories` (`id`, `name`). `detections` is a list of
COCO result dicts: `image_id`, `category_id`, `bbox` [x, y, w, h] in pixels, `score`.

The definition, as COCO's evaluation applies it:
- Per image and category, detections are sorted by score (stable) and the best
  `max_detections` (100) kept; each, in that order, takes the unmatched ground-truth box
  of highest IoU at or above the threshold, preferring boxes that are not ignored. A crowd
  box (`iscrowd` 1) is ignored, can match any number of detections, and its IoU is the
  intersection over the detection's own area; detections matched to an ignored box do
  not count. IoU thresholds are .50:.05:.95.
- Per category and threshold, all images' kept detections are pooled and sorted by score;
  precision is made monotone (each value is the best precision at any higher recall) and
  read at the 101 recall points 0:.01:1 (the first detection reaching each recall; 0 where
  none does); AP is their mean.
- `map` averages over thresholds and categories; `map50` and `map75` use one threshold.
  Categories without a ground-truth box that is not ignored are left out (their AP is
  None). Size ranges (small < 32², medium < 96², large) ignore the ground truth outside
  them by its `area` (w*h when absent) and the unmatched detections outside them.
"""

import json
import os
from collections import defaultdict

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)
MAX_DETECTIONS = 100
AREA_RANGES = {"": (0, 1e10), "_small": (0, 32**2), "_medium": (32**2, 96**2), "_large": (96**2, 1e10)}


def box_iou(detections, truths, crowd):
    """IoU of [x, y, w, h] boxes (D, 4) x (G, 4); against a crowd box, intersection over the
    detection's area."""
    d, g = np.asarray(detections, np.float64).reshape(-1, 4), np.asarray(truths, np.float64).reshape(-1, 4)
    left = np.maximum(d[:, None, 0], g[None, :, 0])
    top = np.maximum(d[:, None, 1], g[None, :, 1])
    right = np.minimum(d[:, None, 0] + d[:, None, 2], g[None, :, 0] + g[None, :, 2])
    bottom = np.minimum(d[:, None, 1] + d[:, None, 3], g[None, :, 1] + g[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    d_area, g_area = d[:, 2] * d[:, 3], g[:, 2] * g[:, 3]
    union = np.where(np.asarray(crowd, bool)[None, :], d_area[:, None], d_area[:, None] + g_area[None, :] - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def match(detections, truths, area_range):
    """One image and category: (scores, matched (T, D), ignored (T, D), ground truth counted).

    `detections` and `truths` are lists of annotation dicts, the detections already sorted
    and cut to `MAX_DETECTIONS`.
    """
    low, high = area_range
    gt_area = np.array([t.get("area", t["bbox"][2] * t["bbox"][3]) for t in truths], np.float64)
    crowd = np.array([bool(t.get("iscrowd", 0)) for t in truths], bool)
    gt_ignored = crowd | (gt_area < low) | (gt_area > high)
    order = np.argsort(gt_ignored, kind="stable")  # counted boxes first
    gt_ignored, crowd = gt_ignored[order], crowd[order]
    ious = box_iou([d["bbox"] for d in detections], [truths[i]["bbox"] for i in order], crowd)
    n_t, n_d = len(IOU_THRESHOLDS), len(detections)
    matched, ignored = np.zeros((n_t, n_d), bool), np.zeros((n_t, n_d), bool)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        taken = np.zeros(len(truths), bool)
        for d in range(n_d):
            best, best_iou = -1, min(threshold, 1 - 1e-10)
            for g in range(len(truths)):
                if taken[g] and not crowd[g]:
                    continue
                if best > -1 and not gt_ignored[best] and gt_ignored[g]:
                    break  # counted boxes come first: an ignored one cannot beat a counted match
                if ious[d, g] < best_iou:
                    continue
                best, best_iou = g, ious[d, g]
            if best > -1:
                matched[t, d], ignored[t, d], taken[best] = True, gt_ignored[best], True
    d_area = np.array([d["bbox"][2] * d["bbox"][3] for d in detections], np.float64).reshape(1, -1)
    ignored |= ~matched & ((d_area < low) | (d_area > high))
    scores = np.array([d["score"] for d in detections], np.float64)
    return scores, matched, ignored, int(np.sum(~gt_ignored))


def precision_at_recalls(scores, matched, ignored, counted):
    """(T, 101) interpolated precision of one category's pooled detections."""
    order = np.argsort(-scores, kind="mergesort")
    matched, ignored = matched[:, order], ignored[:, order]
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=np.float64)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=np.float64)
    result = np.zeros((len(IOU_THRESHOLDS), len(RECALL_POINTS)))
    for t in range(len(IOU_THRESHOLDS)):
        recall = tp[t] / counted
        precision = tp[t] / (tp[t] + fp[t] + np.spacing(1))
        precision = np.maximum.accumulate(precision[::-1])[::-1]  # best precision at any higher recall
        first = np.searchsorted(recall, RECALL_POINTS, side="left")
        reached = first < len(recall)
        result[t, reached] = precision[first[reached]]
    return result


def load_ground_truth(ground_truth):
    if isinstance(ground_truth, (str, os.PathLike)):
        with open(ground_truth) as f:
            return json.load(f)
    return ground_truth


def coco_map(ground_truth, detections, max_detections=MAX_DETECTIONS):
    """COCO box mAP of `detections` against `ground_truth` (see the module docstring)."""
    ground_truth = load_ground_truth(ground_truth)
    image_ids = sorted(image["id"] for image in ground_truth["images"])  # COCO pools in this order
    strangers = {d["image_id"] for d in detections} - set(image_ids)
    if strangers:
        raise ValueError(
            f"Detections for {len(strangers)} image id(s) not in the ground truth, e.g. "
            f"{sorted(strangers)[:5]}; evaluate against the annotations of the same images."
        )
    truths, found = defaultdict(list), defaultdict(list)
    for annotation in ground_truth["annotations"]:
        truths[annotation["image_id"], annotation["category_id"]].append(annotation)
    for detection in detections:
        found[detection["image_id"], detection["category_id"]].append(detection)
    for key, items in found.items():
        items.sort(key=lambda d: -d["score"])  # stable, as COCO's mergesort
        del items[max_detections:]

    results, per_class = {}, {}
    for suffix, area_range in AREA_RANGES.items():
        curves = []  # (T, 101) per category with ground truth
        for category in ground_truth["categories"]:
            pooled = [
                match(found.get((image, category["id"]), []), truths.get((image, category["id"]), []), area_range)
                for image in image_ids
                if (image, category["id"]) in truths or (image, category["id"]) in found
            ]
            counted = sum(p[3] for p in pooled)
            if not counted:
                per_class.setdefault(category["name"], None)
                continue
            curve = precision_at_recalls(
                *(np.concatenate([p[i] for p in pooled], axis=-1) for i in range(3)), counted
            )
            curves.append(curve)
            if not suffix:
                per_class[category["name"]] = float(curve.mean())
        curves = np.array(curves).reshape(-1, len(IOU_THRESHOLDS), len(RECALL_POINTS))
        results[f"map{suffix}"] = _mean(curves)
        if not suffix:
            results["map50"] = _mean(curves[:, 0])
            results["map75"] = _mean(curves[:, 5])
    results["per_class"] = per_class
    return results


def _mean(curves):
    return float(curves.mean()) if curves.size else None
