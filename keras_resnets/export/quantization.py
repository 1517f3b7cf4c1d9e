"""Whether a quantized file is quantized: its tensor types and its size, not only agreement.

A converter can fall back to float without failing: full int8 given no calibration image
writes float32 kernels under the name `model_int8.tflite`, which then agrees perfectly
with the Keras model. So every quantized file is also judged by what it holds:

- most of its weight values (constant tensors, biases and shapes aside) are of the
  quantized type: float16 for "float16", int8 for "dynamic" and "int8" (dynamic range
  leaves weights of up to 1,024 values in float32, so tiny layers may stay float);
- for full "int8", most activation tensors are integers too (only the float input and
  output, or the cast of raw pixels, stay float);
- it is at most `max_size_ratio` of the float32 file's size (real models: 25-55%).

A detector's full-int8 file keeps its decoding and NMS in float32 (`float_scopes`: the
layers `heads.nms.POSTPROCESSING_LAYERS`, and the signature's outputs): quantized to int8,
box coordinates of a whole image and IoUs lose the precision NMS needs. Measured on a
RetinaNet trained on 8 photos (README, "On a phone"; mAP@.5 on those photos): float32 46.1%,
int8 with the post-processing float 46.5%; all int8 0.0% (by hand, before the change). Those
tensors are left out of the integer activation share.
"""

import dataclasses
import math
import re

QUANTIZED_WEIGHTS = {"float16": "float16", "dynamic": "int8", "int8": "int8"}
INTEGER = ("int8", "uint8", "int16")
NUMERIC = ("float32", "float16", *INTEGER)  # int32/int64 tensors hold biases, shapes, indices
MOST = 0.5


@dataclasses.dataclass(frozen=True)
class TensorTypes:
    weights: dict  # dtype name -> values held in constant tensors
    activations: dict  # dtype name -> number of computed tensors


def kept_float(name, float_scopes):
    """Whether a TFLite tensor named `name` is one that full int8 keeps float32: of a layer
    in `float_scopes` (TensorFlow names it "<model>/<layer>[_<n>]/...") or an output of the
    serving signature; none without `float_scopes`."""
    if not float_scopes:
        return False
    layers = "|".join(map(re.escape, float_scopes))
    return name.startswith("StatefulPartitionedCall") or re.search(rf"/({layers})(_\d+)?/", name) is not None


def tflite_tensor_types(path, float_scopes=()):
    """The `TensorTypes` of a `.tflite` file, read from its flatbuffer (nothing is run);
    activations `kept_float` in `float_scopes` are not counted."""
    from ai_edge_litert import schema_py_generated as schema

    names = {value: name.lower() for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    with open(path, "rb") as f:
        model = schema.Model.GetRootAs(f.read(), 0)
    weights, activations = {}, {}
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            dtype, buffer = names[tensor.Type()], model.Buffers(tensor.Buffer())
            if buffer.DataLength() or buffer.Size():  # large models keep constants past the flatbuffer
                weights[dtype] = weights.get(dtype, 0) + math.prod(tensor.ShapeAsNumpy().tolist() or [1])
            elif not kept_float(tensor.Name().decode(), float_scopes):
                activations[dtype] = activations.get(dtype, 0) + 1
    return TensorTypes(weights, activations)


def _share(counts, kinds):
    total = sum(counts.get(k, 0) for k in NUMERIC)
    return sum(counts.get(k, 0) for k in kinds) / total if total else 0.0


def check_quantized(types, quantize, size, float_size, max_size_ratio):
    """{"ok", "weight_share", "size_ratio", ... "error"} of a file quantized as `quantize`,
    `size` bytes against `float_size` bytes of its float32 file."""
    wanted = QUANTIZED_WEIGHTS[quantize]
    result = {
        "weight_share": _share(types.weights, (wanted,)),
        "weights": types.weights,
        "activations": types.activations,
        "size_ratio": size / float_size,
    }
    problems = []
    if result["weight_share"] < MOST:
        problems.append(
            f"only {result['weight_share']:.0%} of its weight values are {wanted} ({types.weights}): "
            "the converter fell back to float"
        )
    if quantize == "int8":
        result["integer_activation_share"] = _share(types.activations, INTEGER)
        if result["integer_activation_share"] < MOST:
            problems.append(
                f"only {result['integer_activation_share']:.0%} of its activations are integers "
                f"({types.activations}): it was not calibrated"
            )
    if result["size_ratio"] > max_size_ratio:
        problems.append(f"{result['size_ratio']:.0%} of the float32 file's size (at most {max_size_ratio:.0%})")
    result["ok"] = not problems
    if problems:
        result["error"] = f"not {quantize}-quantized: " + "; ".join(problems)
    return result
