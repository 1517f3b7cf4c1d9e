"""Whether a run keeps its decoded images in memory or streams them from their files.

Caching decodes every image once and keeps it (shrunk to `images.cache_side`) for all later
epochs: the fastest when it fits, but its memory grows with the dataset (100,000 images at
224 px are about 20 GB). Streaming decodes each image again every epoch (in parallel,
prefetched), so memory stays flat whatever the dataset's size; the shuffle then moves file
names, not pixels. Both give the same batches for the same seed (`images.examples`).

`cache="auto"` (the default) caches when the estimate fits `BUDGET_FRACTION` of the memory
available when the run starts, else streams, and logs which and why; "memory" and
"stream" force one. The estimate assumes 4:3 images: each cached image has its shorter
side at `cache_side(image_size)` (smaller images are kept as they are, so it is an upper
bound for those) and `bytes_per_pixel` bytes per pixel (3 for RGB; segmentation adds the
1-byte mask). Available memory is the kernel's MemAvailable, or what the cgroup
(container) limit leaves, whichever is smaller.
"""

import logging
import os
from pathlib import Path

from keras_resnets.tasks.images import cache_side
from keras_resnets.training.options import CACHE_MODES

log = logging.getLogger(__name__)

# Half: the model, the optimizer, TensorFlow's own buffers and the prefetch queues need the rest.
BUDGET_FRACTION = 0.5
ASPECT = 4 / 3
CGROUP_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current")


def available_memory():
    """Bytes this process can still use: MemAvailable, capped by a cgroup limit; None
    where neither can be read."""
    candidates = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                candidates.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        limit, used = (Path(p).read_text().strip() for p in CGROUP_FILES)
        if limit != "max":
            candidates.append(int(limit) - int(used))
    except (OSError, ValueError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            return None
    return max(0, min(candidates))


def estimated_bytes(count, image_size, bytes_per_pixel=3):
    """What caching `count` images for inputs of `image_size` takes (see the module docstring)."""
    side = cache_side(image_size)
    return count * side * round(side * ASPECT) * bytes_per_pixel


def gigabytes(n):
    return f"{n / 1e9:.2f} GB"


def decide(mode, count, image_size, bytes_per_pixel=3, available=None):
    """True to cache in memory, False to stream; logs the choice with its numbers."""
    if mode not in CACHE_MODES:
        raise ValueError(f"cache must be one of {CACHE_MODES}, not {mode!r}")
    need = estimated_bytes(count, image_size, bytes_per_pixel)
    what = f"{count} images at {image_size} px need about {gigabytes(need)} cached"
    if mode != "auto":
        log.info("Images: %s (cache=%s; %s).", "kept in memory" if mode == "memory" else "streamed from their files", mode, what)
        return mode == "memory"
    available = available_memory() if available is None else available
    if available is None:
        log.info("Images: kept in memory (%s; available memory unknown, cache=stream to stream them).", what)
        return True
    budget = BUDGET_FRACTION * available
    cache = need <= budget
    log.info(
        "Images: %s (%s; the budget is %s, %d%% of the %s available).",
        "kept in memory after the first epoch" if cache else "streamed from their files every epoch",
        what, gigabytes(budget), round(100 * BUDGET_FRACTION), gigabytes(available),
    )  # fmt: skip
    return cache
