"""The dtype policy of a run: mixed precision picks the half type the hardware wants."""

import keras


def has_gpu():
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return jax.default_backend() == "gpu"
    if backend == "torch":
        import torch

        return torch.cuda.is_available()
    return False


def policy(mixed_precision):
    """bfloat16 on CPUs (no loss scaling needed), float16 on GPUs, else float32."""
    if not mixed_precision:
        return "float32"
    return "mixed_float16" if has_gpu() else "mixed_bfloat16"
