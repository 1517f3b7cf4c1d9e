"""What every study leaves behind: `runs/study-<name>/results.json`, PNG figures, a summary.

The summary says in words whether the paper's claim held in this run and by how much;
`results.json` holds the same numbers with the settings, data and machine that gave them.
"""

import os
import platform
import sys
from pathlib import Path

import keras

from keras_resnets.training import checkpoints, plots


def study_dir(output_dir, study):
    folder = Path(output_dir) / f"study-{study}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def machine():
    return {
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
    }


def verdict(held):
    return "HELD" if held else "DID NOT HOLD"


def finish(folder, study, claim, held, lines, results, figures):
    """Writes results.json and prints the summary; returns the results."""
    results = {
        "study": study,
        "claim": claim,
        "held": held,
        "summary": lines,
        "figures": [str(folder / f) for f in figures],
        "machine": machine(),
        **results,
    }
    checkpoints.write_json(folder / "results.json", results)
    print(f"\n== {study}: {claim}")
    for line in lines:
        print(f"   {line}")
    print(f"   Claim {verdict(held)} in this run.")
    print(f"   Results: {folder / 'results.json'}; figures: {', '.join(results['figures'])}")
    return results


def save_figure(fig, folder, name):
    fig.tight_layout()
    fig.savefig(Path(folder) / name, dpi=110)
    plots.pyplot().close(fig)
    return name
