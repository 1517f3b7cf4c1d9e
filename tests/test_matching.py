"""The detection matcher both export checks use (keras_resnets.metrics.matching)."""

import numpy as np

from keras_resnets.metrics.matching import found_both_ways, found_in


def run(*rows):
    """One image's (boxes, scores, classes) from (x1, y1, x2, y2, score, class) rows."""
    rows = np.asarray(rows, np.float32).reshape(-1, 6)
    return rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int32)


def test_a_box_flat_against_the_edge_is_found_by_its_corners():
    flat = run((0, 10, 0, 40, 0.8, 1))  # no area, so no IoU
    assert found_in(flat, run((0, 10.3, 0, 40, 0.8, 1)), 0.1, same_iou=0.95, corner_px=0.5)[:2] == (1, 1)
    assert found_in(flat, run((0, 12, 0, 40, 0.8, 1)), 0.1, same_iou=0.95, corner_px=0.5)[:2] == (0, 1)


def test_tolerances_are_the_callers():
    mine, theirs = run((10, 10, 50, 50, 0.8, 2)), run((11, 11, 51, 51, 0.805, 2))  # IoU 0.905
    strict = found_in(mine, theirs, 0.1, same_iou=0.95, corner_px=0.5)
    loose = found_in(mine, theirs, 0.1, same_iou=0.9, corner_px=0.5, score_tolerance=0.01)
    assert strict[0] == 0 and loose[0] == 1 and abs(loose[2][0].iou - 0.905) < 1e-3
    assert found_in(mine, theirs, 0.1, same_iou=0.9, corner_px=0.5, score_tolerance=0.001)[0] == 0
    assert found_in(mine, run((11, 11, 51, 51, 0.8, 3)), 0.1, same_iou=0.5, corner_px=2)[0] == 0  # another class


def test_both_ways_and_a_near_tie_at_the_capacity_is_not_counted():
    full = run((0, 0, 10, 10, 0.9, 1), (20, 20, 30, 30, 0.30, 1))  # holds as many as the file keeps (2)
    other = run((0, 0, 10, 10, 0.9, 1), (40, 40, 50, 50, 0.31, 1))  # its last place went to a near tie
    found, counted, _ = found_both_ways([full], [other], capacity=2, margin=0.05, threshold=0.05,
                                        same_iou=0.95, corner_px=0.5)  # fmt: skip
    assert (found, counted) == (2, 2)  # each run's best, found in the other; the tied ones left out
    found, counted, _ = found_both_ways([full], [other], capacity=3, margin=0.05, threshold=0.05,
                                        same_iou=0.95, corner_px=0.5)  # fmt: skip
    assert (found, counted) == (2, 4)
