"""Whether an exported artifact computes what the Keras model does, on the same inputs.

The max abs difference of the outputs must be within the tolerance, and the top-1 entry
of the last axis must agree on every input whose reference top-1/top-2 margin is wider
than that tolerance (closer calls may flip legitimately).
"""

import numpy as np

DEFAULT_TOLERANCE = 1e-3


class ExportVerificationError(RuntimeError):
    """An exported artifact does not reproduce the Keras model."""


def compare(outputs, reference, tolerance):
    outputs = np.asarray(outputs, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if outputs.shape != reference.shape:
        return {"ok": False, "error": f"output shape {outputs.shape} != {reference.shape}"}
    top2 = np.sort(reference, axis=-1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > tolerance
    agree = np.argmax(outputs, axis=-1) == np.argmax(reference, axis=-1)
    diff = float(np.max(np.abs(outputs - reference)))
    return {
        "ok": bool(diff <= tolerance and agree[clear].all()),
        "max_abs_diff": diff,
        "top1_agreement": float(agree.mean()),
        "images": int(len(reference)),
    }
