"""The measured rows as JSON, a markdown table with ratios ours/peer, and a bar chart."""

import json
from pathlib import Path

from keras_resnets.benchmark import hardware
from keras_resnets.benchmark.peers import OURS, is_torch, where

COLUMNS = (
    "model", "implementation", "where", "mode", "precision", "batch", "img/s", "ms/batch",
    "build s", "first step s", "peak MB", "GFLOP/s", "of peak", "ours/peer",
)  # fmt: skip


def _key(row):
    return (row["model"], row["mode"], row["batch_size"], row["image_size"], row["precision"], _jit(row))


def _jit(row):
    return bool(row.get("jit_compile"))


def add_derived(rows, peaks):
    """Achieved FLOP/s (a training step is about 3 forward passes), its fraction of the
    machine's measured peak for the row's device and dtype (`peak.machine_peak`), and for
    each peer the ratio of ours (same backend for keras.applications, our best backend for
    the PyTorch peers; for inference the faster of ours and ours_folded) to it."""
    macs = {_key(r): r["macs_per_image"] for r in rows if r.get("macs_per_image")}
    ours = [r for r in rows if r["implementation"] in OURS and "error" not in r]
    for row in rows:
        if "error" in row:
            continue
        per_image = macs.get(_key(row))
        peak = peaks.get(row.get("device", "cpu"), {}).get(row["precision"], {}).get("measured_flops")
        if per_image:
            passes = 3 if row["mode"] == "train" else 1
            row["flops"] = 2 * per_image * passes * row["images_per_s"]
            if peak:
                row["fraction_of_peak"] = row["flops"] / peak
        if row["implementation"] in OURS:
            continue
        mine = [r for r in ours if _key(r) == _key(row)]
        if not is_torch(row["implementation"]):
            mine = [r for r in mine if r["backend"] == row["backend"]]
        if mine:
            best = max(mine, key=lambda r: r["images_per_s"])
            row["ours_over_peer"] = best["images_per_s"] / row["images_per_s"]
            row["ours_backend"] = best["backend"] + (" folded" if best["implementation"] == "ours_folded" else "")
    return rows


def _cells(row):
    base = [row["model"], row["implementation"], where(row), row["mode"], row["precision"], row["batch_size"]]
    if "error" in row:
        return base + [f"failed: {row['error'][:80]}"] + [""] * (len(COLUMNS) - len(base) - 1)
    ratio = row.get("ours_over_peer")
    return base + [
        f"{row['images_per_s']:.1f}", f"{row['ms_per_batch']:.0f}", f"{row['build_s']:.1f}",
        f"{row['first_step_s']:.1f}", f"{row['peak_memory_mb']:.0f}",
        f"{row['flops'] / 1e9:.0f}" if "flops" in row else "",
        f"{row['fraction_of_peak']:.2f}" if "fraction_of_peak" in row else "",
        f"{ratio:.2f} ({row['ours_backend']})" if ratio else "",
    ]  # fmt: skip


def markdown(rows, machine, peaks):
    lines = [f"Machine: {machine}.", ""]
    for device, by_dtype in peaks.items():
        for dtype, peak in by_dtype.items():
            measured = ", ".join(f"{name} {value / 1e9:.0f}" for name, value in peak["frameworks"].items()
                                 if isinstance(value, float))  # fmt: skip
            best = f"{peak['measured_flops'] / 1e9:.0f} GFLOP/s" if peak["measured_flops"] else "not measured"
            theory = f"{peak['theoretical_flops'] / 1e9:.0f} GFLOP/s" if peak["theoretical_flops"] else "unknown"
            lines.append(f"Machine peak, {device} {dtype}: {best} measured (best {peak['matmul_size']}-square matmul; "
                         f"GFLOP/s by framework: {measured or 'none'}); theoretical {theory} ({peak['theoretical']}). "
                         "Every \"of peak\" is against the measured figure.")  # fmt: skip
            lines.append("")
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(map(str, _cells(r))) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in rows if "error" not in r]
    modes = sorted({r["mode"] for r in measured})
    fig, axes = plt.subplots(len(modes), 1, figsize=(9, 0.35 * len(measured) + 1.5), squeeze=False)
    for ax, mode in zip(axes[:, 0], modes):
        these = [r for r in measured if r["mode"] == mode]
        labels = [
            f"{r['model']} {r['implementation']} "
            f"({where(r)}, {r['precision']}, b{r['batch_size']})"
            for r in these
        ]
        colors = ["tab:blue" if r["implementation"] in OURS else "tab:gray" for r in these]
        ax.barh(labels, [r["images_per_s"] for r in these], color=colors)
        ax.invert_yaxis()
        ax.set_xlabel("images/s (higher is better; blue: keras_resnets)")
        ax.set_title(f"{mode}")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


CONFIG_FIELDS = ("model", "implementation", "backend", "mode", "batch_size", "image_size", "precision")


def previous_rows(out_dir):
    """The rows already in `out_dir/results.json` (none if there is no such file)."""
    path = Path(out_dir) / "results.json"
    return json.loads(path.read_text())["rows"] if path.exists() else []


def merge(old, new):
    """`old` rows, each replaced by the `new` row of the same configuration, then the other new ones."""
    fields = lambda r: (*(r.get(f) for f in CONFIG_FIELDS), _jit(r))  # noqa: E731
    fresh = {fields(r): r for r in new}
    kept = [fresh.pop(fields(r), r) for r in old]
    return kept + list(fresh.values())


def write(rows, out_dir, peaks, machine=None):
    """Writes `results.json` (with the machine's peaks), `results.md` and `results.png`
    into `out_dir`; returns the table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = machine or hardware.describe()
    rows = add_derived(rows, peaks)
    results = {"machine": machine, "machine_peak": peaks, "rows": rows}
    (out_dir / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(rows, machine, peaks)
    (out_dir / "results.md").write_text(table)
    if any("error" not in r for r in rows):
        chart(rows, out_dir / "results.png")
    return table
