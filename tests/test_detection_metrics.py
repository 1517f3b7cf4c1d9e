"""keras_resnets.metrics.coco_map: hand-computed cases, and pycocotools as an optional reference."""

import contextlib
import io

import numpy as np
import pytest

from keras_resnets.metrics import coco_map
from helpers import shared_data


def ground_truth(boxes, crowd=(), categories=("cat", "dog")):
    """One image (id 1): `boxes` of category 1 ("cat"), `crowd` crowd regions of category 1."""
    annotations = [
        {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b, "area": b[2] * b[3], "iscrowd": int(i >= len(boxes))}
        for i, b in enumerate([*boxes, *crowd])
    ]
    return {
        "images": [{"id": 1, "width": 640, "height": 480}],
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(categories)],
    }


def detection(bbox, score, category=1):
    return {"image_id": 1, "category_id": category, "bbox": bbox, "score": score}


BOX_A, BOX_B = [10, 10, 100, 100], [300, 200, 120, 80]


def test_perfect_detections_score_one():
    result = coco_map(ground_truth([BOX_A, BOX_B]), [detection(BOX_A, 0.9), detection(BOX_B, 0.8)])
    assert result["map"] == pytest.approx(1.0) and result["map50"] == pytest.approx(1.0)
    assert result["per_class"] == {"cat": pytest.approx(1.0), "dog": None}  # no dog: left out


def test_a_miss_and_a_false_positive():
    # Ranked: a hit (recall .5, precision 1), then a false positive (recall .5, precision .5).
    # Precision 1 holds for the 51 recall points 0, .01, ..., .50; the other 50 are never reached.
    result = coco_map(ground_truth([BOX_A, BOX_B]), [detection(BOX_A, 0.9), detection([500, 10, 50, 50], 0.8)])
    assert result["map"] == pytest.approx(51 / 101) and result["map50"] == pytest.approx(51 / 101)


def test_iou_thresholds():
    # IoU 0.72: a hit at .50, .55, .60, .65, .70 and a miss at the five thresholds above.
    result = coco_map(ground_truth([[0, 0, 100, 100]]), [detection([0, 0, 100, 72], 0.9)])
    assert result["map50"] == pytest.approx(1.0)
    assert result["map75"] == pytest.approx(0.0)
    assert result["map"] == pytest.approx(0.5)


def test_crowd_regions_are_ignored():
    crowd_box, inside = [400, 300, 200, 150], [420, 320, 60, 60]
    detections = [detection(inside, 0.95), detection(BOX_A, 0.9)]
    assert coco_map(ground_truth([BOX_A], crowd=[crowd_box]), detections)["map"] == pytest.approx(1.0)
    # The same region as an ordinary box: the first-ranked detection (IoU .12 with it) is a
    # false positive and the box is missed, so precision is .5 up to recall .5, then nothing.
    as_box = coco_map(ground_truth([BOX_A, crowd_box]), detections)
    assert as_box["map50"] == pytest.approx(0.5 * 51 / 101)


def test_detections_of_a_category_without_ground_truth_do_not_count():
    detections = [detection(BOX_A, 0.9), detection(BOX_B, 0.99, category=2)]
    result = coco_map(ground_truth([BOX_A]), detections)
    assert result["map"] == pytest.approx(1.0) and result["per_class"]["dog"] is None


def test_at_most_100_detections_per_image_and_category():
    # 100 better-scored false positives push the hit out of the kept 100.
    misses = [detection([600, 400, 10, 10], 0.9) for _ in range(100)]
    assert coco_map(ground_truth([BOX_A]), [*misses, detection(BOX_A, 0.5)])["map"] == 0.0
    assert coco_map(ground_truth([BOX_A]), [*misses[:99], detection(BOX_A, 0.5)])["map"] > 0.0


def test_unknown_image_ids_are_refused():
    with pytest.raises(ValueError, match="not in the ground truth"):
        coco_map(ground_truth([BOX_A]), [{**detection(BOX_A, 0.9), "image_id": 7}])


def noisy_detections(truth, seed):
    """Jittered copies of the boxes (some dropped, wrong classes), plus random false positives."""
    rng = np.random.default_rng(seed)
    sizes = {image["id"]: (image["width"], image["height"]) for image in truth["images"]}
    categories = [c["id"] for c in truth["categories"]]
    detections = []
    for annotation in truth["annotations"]:
        if rng.random() < 0.2:
            continue
        x, y, w, h = annotation["bbox"]
        jitter = rng.normal(0, 0.12, 4) * [w, h, w, h]
        category = annotation["category_id"] if rng.random() < 0.85 else int(rng.choice(categories))
        box = [x + jitter[0], y + jitter[1], max(1.0, w + jitter[2]), max(1.0, h + jitter[3])]
        detections.append({"image_id": annotation["image_id"], "category_id": category, "bbox": box,
                           "score": float(rng.random())})  # fmt: skip
    for image_id, (width, height) in sizes.items():
        for _ in range(rng.integers(0, 6)):
            w, h = rng.uniform(5, width / 2), rng.uniform(5, height / 2)
            detections.append({"image_id": image_id, "category_id": int(rng.choice(categories)),
                               "bbox": [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h],
                               "score": float(rng.random())})  # fmt: skip
    return detections


def test_matches_pycocotools_on_real_annotations():
    """Every summary number as pycocotools computes it (optional: skips without pycocotools)."""
    coco_lib = pytest.importorskip("pycocotools.coco")
    eval_lib = pytest.importorskip("pycocotools.cocoeval")
    path = shared_data("detection-mini") / "annotations.json"
    reference_gt = coco_lib.COCO(str(path))
    truth = reference_gt.dataset
    for annotation in truth["annotations"][::9]:
        annotation["iscrowd"] = 1  # some crowd regions too
    detections = noisy_detections(truth, seed=0)
    with contextlib.redirect_stdout(io.StringIO()):
        reference_gt.createIndex()
        evaluation = eval_lib.COCOeval(reference_gt, reference_gt.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    ours = coco_map(truth, detections)
    names = ["map", "map50", "map75", "map_small", "map_medium", "map_large"]
    assert [ours[n] for n in names] == pytest.approx(list(evaluation.stats[:6]), abs=1e-12)
