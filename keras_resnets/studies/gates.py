"""Highway vs residual gates: what the transform gates of a trained highway net learn
(Srivastava et al. 2015, arXiv:1507.06228, section 4.1 and Figure 2).

A residual block always adds its branch to an ungated identity; a highway block
y = T(x) F(x) + (1 - T(x)) x learns per unit and per input how much to transform and how
much to carry. Srivastava et al. found the trained gates selective: closed (carrying) for
most units on average, open for a few units and inputs, so that the identity carry that
a residual net hard-wires is what a highway net mostly chooses.

Per block, on the evaluation images, before and after training: the mean of T (the
sigmoid gate, `{block}_gate`), its 10th and 90th percentiles over all units and images,
the share of gate values above 0.5, and the mean bias of the gate (initialised to -2,
T about 0.12). The claim is taken to hold when, after training, most blocks have a mean
T below 0.5 (carry dominates) and yet a share of their gate values above 0.5 (the gates
open selectively) of at least 1%.
"""

import dataclasses

import keras
import numpy as np

from keras_resnets.studies import data as data_lib
from keras_resnets.studies import graph, nets, report
from keras_resnets.studies import recipe as recipe_lib
from keras_resnets.training import plots

CLAIM = (
    "Trained highway gates are selective: mostly closed (carrying, as a residual shortcut "
    "does) yet open for some units and inputs (Srivastava et al. 2015)"
)
FIGURE = "gates.png"
OPEN = 0.5
SELECTIVE_SHARE = 0.01


def gate_statistics(model, images):
    """{block: mean, p10, p90, open share, mean bias} of every highway gate."""
    blocks = graph.blocks(model)
    gate_layers = [model.get_layer(f"{b}_gate") for b in blocks]
    probe = keras.Model(model.inputs, [layer.output for layer in gate_layers])
    outputs = probe.predict(images, batch_size=recipe_lib.EVAL_BATCH, verbose=0)
    stats = {}
    for block, layer, gates in zip(blocks, gate_layers, outputs):
        p10, p90 = np.percentile(gates, [10, 90])
        stats[block] = {
            "mean": float(np.mean(gates)),
            "p10": float(p10),
            "p90": float(p90),
            "open_share": float(np.mean(gates > OPEN)),
            "bias": float(np.mean(keras.ops.convert_to_numpy(layer.bias))),
        }
    return stats


def plot(initial, trained, name, folder):
    plt = plots.pyplot()
    fig, (gate_ax, bias_ax) = plt.subplots(1, 2, figsize=(12, 4.3))
    blocks = list(trained)
    xs = range(1, len(blocks) + 1)
    for stats, label, color in ((initial, "at initialisation", "gray"), (trained, "trained", "tab:orange")):
        gate_ax.plot(xs, [stats[b]["mean"] for b in blocks], "o-", color=color, label=f"mean T, {label}")
        bias_ax.plot(xs, [stats[b]["bias"] for b in blocks], "o-", color=color, label=label)
    gate_ax.fill_between(xs, [trained[b]["p10"] for b in blocks], [trained[b]["p90"] for b in blocks],
                         color="tab:orange", alpha=0.2, label="trained: 10th-90th percentile")  # fmt: skip
    gate_ax.plot(xs, [trained[b]["open_share"] for b in blocks], "s--", color="tab:brown",
                 label=f"trained: share of gates > {OPEN}")  # fmt: skip
    gate_ax.axhline(OPEN, color="black", linestyle=":", linewidth=0.8)
    gate_ax.set_ylim(0, 1)
    gate_ax.set_ylabel("transform gate T (0: carry, 1: transform)")
    gate_ax.set_title(f"{name}: transform gates per block")
    bias_ax.set_ylabel("mean gate bias")
    bias_ax.set_title("Gate biases per block")
    for ax in (gate_ax, bias_ax):
        ax.set_xlabel("block (1 = input side)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return report.save_figure(fig, folder, FIGURE)


def run(
    model="highwaynet20",
    weights=None,
    data="../shared/data/cifar10-test",
    limit=None,
    recipe=recipe_lib.Recipe(),
    output_dir="runs",
):
    """Gate statistics of highway net `model`: with `weights` (a file), or trained here."""
    if nets.parse(model)[0] != "highwaynet":
        raise ValueError(f"{model} has no transform gates; use a highwaynet<depth>, e.g. highwaynet20.")
    folder = report.study_dir(output_dir, "gates")
    study_data = data_lib.load(data).limited(limit)
    print(study_data.note)
    classes = len(study_data.class_names)
    images, _, described = study_data.evaluation(trained_here=True)
    keras.utils.set_random_seed(recipe.seed)
    initial = gate_statistics(nets.build(model, width=recipe.width, classes=classes), images)
    if weights is None:
        net, _ = recipe_lib.train(model, recipe, study_data, folder)
        train_count = len(study_data.training(recipe.train_images)[1])
        source = f"trained here: {recipe.describe(train_count)}"
    else:
        net, source = nets.build(model, weights, width=recipe.width, classes=classes), weights
    trained = gate_statistics(net, images)
    figure = plot(initial, trained, model, folder)
    closed = [b for b, s in trained.items() if s["mean"] < OPEN]
    selective = [b for b in closed if trained[b]["open_share"] >= SELECTIVE_SHARE]
    held = len(selective) > len(trained) / 2
    means = [s["mean"] for s in trained.values()]
    lines = [
        f"{model} ({source}), on {described}:",
        f"mean gate T per block from {min(means):.3f} to {max(means):.3f} (at initialisation "
        f"{np.mean([s['mean'] for s in initial.values()]):.3f} on average); {len(closed)} of "
        f"{len(trained)} blocks mostly carry (mean T < {OPEN}), {len(selective)} of those open "
        f"at least {SELECTIVE_SHARE:.0%} of their gates",
        "per block mean T: " + ", ".join(f"{s['mean']:.2f}" for s in trained.values()),
    ]
    settings = {"data": study_data.note, "limit": limit, "weights": source, "recipe": dataclasses.asdict(recipe)}
    results = {"settings": settings, "initial": initial, "trained": trained}
    return report.finish(folder, "gates", CLAIM, held, lines, results, [figure])
