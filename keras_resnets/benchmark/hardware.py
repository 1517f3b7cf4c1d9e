"""What the machine is: its CPU, GPU and native bfloat16 support, and timing a step."""

import time


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
    return f"{name}, {os.cpu_count()} cores, {bf16}{'; GPU ' + gpu_name() if gpu_name() else ''}"


def gpu_name():
    """The first NVIDIA GPU's name, or "" without one."""
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
    return names[0] if done.returncode == 0 and names else ""


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
