"""The dtype policy of a run: mixed precision where the hardware computes in a half type.

`mixed_precision=None` (the default of `RunConfig` and the training apps) decides by the
machine: on where the device multiplies half-precision numbers in hardware (a CPU with
AVX512-BF16 or AMX, a GPU of compute capability 7.0 or later), off elsewhere, because
emulated bfloat16 is usually slower than float32 (measured on this project's CPUs:
`benchmarks/results/precision_speed.md`; the agreement with float32 on real images:
`benchmarks/results/precision-tensorflow.md`).
"""

import keras

from keras_resnets.benchmark import hardware

MIN_TENSOR_CORE_CAPABILITY = (7, 0)  # Volta: float16 matrix units


def gpu_capability():
    """(major, minor) CUDA compute capability of the first GPU the backend sees, or None."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") if gpus else None
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "gpu":
            return None
        return tuple(int(p) for p in str(getattr(device, "compute_capability", "0.0")).split("."))
    if backend == "torch":
        import torch

        return torch.cuda.get_device_capability() if torch.cuda.is_available() else None
    return None


def auto_mixed_precision():
    """(whether to train in mixed precision here, why)."""
    capability = gpu_capability()
    if capability is not None:
        native = tuple(capability) >= MIN_TENSOR_CORE_CAPABILITY
        return native, f"GPU of compute capability {'.'.join(map(str, capability))}"
    if hardware.native_bfloat16_cpu():
        return True, "CPU with native bfloat16 (AVX512-BF16/AMX)"
    return False, "CPU without native bfloat16 (it would be emulated, slower than float32)"


def policy(mixed_precision):
    """bfloat16 on CPUs (no loss scaling needed), float16 on GPUs, else float32."""
    if not mixed_precision:
        return "float32"
    return "mixed_float16" if gpu_capability() is not None else "mixed_bfloat16"
