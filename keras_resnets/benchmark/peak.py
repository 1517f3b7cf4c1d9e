"""One compute peak per machine, so that every row's "of peak" is on one scale.

The measured peak of a device and dtype is the best square-matmul rate that any installed
framework reaches there (NumPy's BLAS, TensorFlow, JAX, PyTorch), each measured once per
run in a fresh process (`python -m keras_resnets.benchmark.peak '<json>'`), so that no
framework's threads slow another's. Beside it stands a theoretical figure, named as such:
for a CPU, cores x clock x float32 lanes x 2 (FMA) x FMA units; for a GPU, the datasheet's
dense figure (`DATASHEET`).
"""

import importlib.util
import json
import os
import subprocess
import sys

from keras_resnets.benchmark import hardware

FRAMEWORKS = ("numpy", "tensorflow", "jax", "torch")
MATMUL_SIZE = 2048
# Dense (no sparsity) FLOP/s from NVIDIA's datasheets, SXM parts unless named; the first
# name contained in the device's name counts.
DATASHEET = {
    "H100 PCIe": {"float32": 51e12, "bfloat16": 756e12},
    "H200": {"float32": 67e12, "bfloat16": 989e12},
    "H100": {"float32": 67e12, "bfloat16": 989e12},
    "A100": {"float32": 19.5e12, "bfloat16": 312e12},
    "L4": {"float32": 30.3e12, "bfloat16": 121e12},
}
# Two FMA pipes per core: x86 cores since Haswell and Zen 2 (some AVX-512 Xeons have one
# 512-bit pipe, which halves the figure; the measured peak shows which).
FMA_UNITS = 2


def matmul_flops(framework, dtype, device, size, repeats=5):
    """FLOP/s of a `size` x `size` matmul in `dtype` on `device` ("cpu" or "gpu") in this
    process, the best of `repeats` after one untimed call."""
    import numpy as np

    values = np.random.default_rng(0).normal(size=(size, size)).astype(np.float32)
    if framework == "numpy":
        if dtype != "float32" or device != "cpu":
            raise ValueError("NumPy multiplies float32 on the CPU only")
        step = lambda: float((values @ values).sum())  # noqa: E731
    elif framework == "tensorflow":
        import tensorflow as tf

        with tf.device("/GPU:0" if device == "gpu" else "/CPU:0"):
            a = tf.cast(tf.constant(values), dtype)
        step = lambda: float(tf.reduce_sum(tf.cast(tf.matmul(a, a), "float32")))  # noqa: E731
    elif framework == "jax":
        import jax
        import jax.numpy as jnp

        a = jax.device_put(jnp.asarray(values, dtype), jax.devices("gpu" if device == "gpu" else "cpu")[0])
        multiply = jax.jit(lambda x: jnp.sum((x @ x).astype(jnp.float32)))
        step = lambda: float(multiply(a))  # noqa: E731
    else:
        import torch

        a = torch.from_numpy(values).to(device="cuda" if device == "gpu" else "cpu", dtype=getattr(torch, dtype))
        step = lambda: float((a @ a).float().sum())  # noqa: E731
    return 2 * size**3 / min(hardware.step_seconds(step, 0, repeats)[1])


def installed():
    return [name for name in FRAMEWORKS if importlib.util.find_spec(name) is not None]


def _measure_in_subprocess(framework, dtype, device, size, timeout_s):
    request = json.dumps({"framework": framework, "dtype": dtype, "device": device, "size": size})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if device == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
    try:
        done = subprocess.run([sys.executable, "-m", __name__, request], env=env, capture_output=True, text=True,
                              timeout=timeout_s)  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"took over {timeout_s} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:200]}
    return json.loads(lines[-1])


def theoretical(device, dtype, gpu_name=""):
    """(FLOP/s, how it was derived) of the device's arithmetic, or (None, why not)."""
    if device == "gpu":
        for name, figures in DATASHEET.items():
            if name in gpu_name:
                return figures.get(dtype), f"NVIDIA datasheet, {name}, dense {dtype}"
        return None, f"{gpu_name or 'this GPU'} is not in the datasheet table"
    flags = hardware.cpu_flags()
    bits = 512 if "avx512f" in flags else 256 if {"avx2", "avx"} & flags else 128
    hertz = _cpu_hertz()
    if hertz is None or not flags:
        return None, "the CPU's clock or flags are unknown (no /proc/cpuinfo)"
    cores = len(os.sched_getaffinity(0))
    per_cycle = bits // 32 * 2 * FMA_UNITS * (2 if dtype == "bfloat16" and "avx512_bf16" in flags else 1)
    how = (f"{cores} logical CPUs x {hertz / 1e9:.2f} GHz x {bits // 32} float32 lanes ({bits}-bit) x 2 (FMA) x "
           f"{FMA_UNITS} FMA units" + (" x 2 (AVX512-BF16 pairs)" if per_cycle > bits // 32 * 2 * FMA_UNITS else "")
           + "; hyperthreads share their core's units, AMX tiles are not counted")  # fmt: skip
    if dtype == "bfloat16" and "avx512_bf16" not in flags:
        how += "; no native bfloat16: it is emulated through float32"
    return cores * hertz * per_cycle, how


def _cpu_hertz():
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") as f:
            return int(f.read()) * 1e3  # kHz
    except (OSError, ValueError):
        pass
    try:
        with open("/proc/cpuinfo") as f:
            return next(float(line.split(":")[1]) * 1e6 for line in f if line.startswith("cpu MHz"))
    except (OSError, StopIteration, ValueError):
        return None


def machine_peak(devices=("cpu",), dtypes=("float32",), size=MATMUL_SIZE, timeout_s=300, echo=None):
    """{device: {dtype: {"measured_flops", "measured_by", "frameworks": {name: FLOP/s or
    error}, "theoretical_flops", "theoretical"}}} for every device and dtype."""
    frameworks = installed()
    gpu = hardware.gpu_name()
    peaks = {}
    for device in devices:
        for dtype in dtypes:
            found = {}
            for framework in frameworks:
                if framework == "numpy" and (dtype != "float32" or device != "cpu"):
                    continue
                result = _measure_in_subprocess(framework, dtype, device, size, timeout_s)
                found[framework] = result.get("flops", result.get("error"))
                if echo:
                    echo(f"    matmul peak {device} {dtype} {framework}: " + (
                        f"{result['flops'] / 1e9:.0f} GFLOP/s" if "flops" in result else result["error"]))  # fmt: skip
            rates = {name: value for name, value in found.items() if isinstance(value, float)}
            best = max(rates, key=rates.get) if rates else None
            flops, how = theoretical(device, dtype, gpu)
            peaks.setdefault(device, {})[dtype] = {
                "measured_flops": rates.get(best), "measured_by": best, "matmul_size": size, "frameworks": found,
                "theoretical_flops": flops, "theoretical": how,
            }  # fmt: skip
    return peaks


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    print(json.dumps({"flops": matmul_flops(request["framework"], request["dtype"], request["device"], request["size"])}))
