"""What the machine can do: its matmul peak in a dtype, and native bfloat16 support."""

import time

import numpy as np

MATMUL_SIZE = 2048


def describe():
    """The CPU as this machine names it, its cores and bfloat16 support, and any GPU."""
    import os
    import platform

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    bf16 = "native bfloat16" if native_bfloat16_cpu() else "no native bfloat16"
    return f"{name}, {os.cpu_count()} cores, {bf16}{_gpu_name()}"


def _gpu_name():
    # nvidia-smi rather than a framework: importing torch or TensorFlow here would fix the
    # import order of the process (torchvision after TensorFlow crashes).
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return ""
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True
    )
    names = done.stdout.strip().splitlines()
    return f"; GPU {names[0]}" if done.returncode == 0 and names else ""


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def native_bfloat16_cpu():
    """True where the CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX); elsewhere
    bfloat16 is emulated and usually slower than float32."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def step_seconds(step, warmup, repeats):
    """(seconds of the first call, which compiles, and of each of `repeats` calls after
    `warmup` more)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return first, times


def matmul_peak(framework, dtype="float32", device=None, size=MATMUL_SIZE, repeats=5):
    """FLOP/s of a `size` x `size` matmul in `dtype`, the best of `repeats`: the ceiling a
    convolutional network's compute can approach on this device."""
    flops = 2 * size**3
    if framework == "torch":
        import torch

        a = torch.randn(size, size, dtype=getattr(torch, dtype), device=device or "cpu")

        def step():
            (a @ a).sum().item()

    else:  # the Keras backend in this process
        import keras

        a = keras.ops.cast(np.random.default_rng(0).normal(size=(size, size)), dtype)

        def step():
            keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.matmul(a, a)))

    return flops / min(step_seconds(step, 0, repeats)[1])
