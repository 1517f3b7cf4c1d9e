"""Ensemble behaviour: delete blocks at test time (Veit et al. 2016, arXiv:1605.06431).

Veit et al.: "Residual networks behave like ensembles of relatively shallow networks".
Deleting any single block of a trained residual net, downsampling blocks aside, costs it
little, while deleting a layer of a plain net collapses it to chance; accuracy then
degrades smoothly with the number of random blocks deleted.

Two nets are lesioned (`studies.graph.lesioned`): a residual one, by default the real
pretrained CIFAR-10 ResNet56 (no training needed; it is evaluated on test images it never
saw), and a plain one, trained here by the shared recipe unless weights are given (then
evaluated on the images held out from its training). For each: every single deletable
block (the residual net's downsampling blocks too, marked in the figure; a plain net
has no way around those), then k = 1..k_max random downsampling-free blocks, `samples`
draws each.

The claim is taken to hold when, over the single downsampling-free deletions, the
residual net loses on average less than a quarter of its margin over chance and the
plain net more than half of its own.
"""

import dataclasses
import os

import numpy as np

from keras_resnets.studies import data as data_lib
from keras_resnets.studies import graph, nets, report
from keras_resnets.studies import recipe as recipe_lib
from keras_resnets.training import plots

CLAIM = (
    "Deleting a single downsampling-free block costs a residual net little, "
    "while it collapses a plain net (Veit et al. 2016)"
)
FIGURE = "lesion.png"


def obtain(name, weights, study_data, recipe, folder):
    """(model, trained_here): net `name` with `weights`, or trained here when weights is None."""
    if weights is not None:
        # A weights file has the width of the run that wrote it; a tag, the papers' width.
        width = recipe.width if os.path.exists(weights) else nets.PAPER_WIDTH
        return nets.build(name, weights, width, classes=len(study_data.class_names)), False
    model, _ = recipe_lib.train(name, recipe, study_data, folder)
    return model, True


def lesion_curves(model, images, labels, k_max, samples, seed):
    """Accuracies: none deleted, each single block deleted, k random blocks deleted."""
    full = recipe_lib.accuracy(graph.lesioned(model, []), images, labels)
    single = {}
    for block in graph.removable(model, downsampling=True):
        single[block] = recipe_lib.accuracy(graph.lesioned(model, [block]), images, labels)
        print(f"{model.name} without {block}: {single[block]:.2%} (all blocks: {full:.2%})", flush=True)
    pool = graph.removable(model)
    rng = np.random.default_rng(seed)
    random_k = {}
    for k in range(1, min(k_max, len(pool)) + 1):
        draws = [sorted(rng.choice(pool, k, replace=False)) for _ in range(samples)]
        random_k[k] = [recipe_lib.accuracy(graph.lesioned(model, d), images, labels) for d in draws]
        print(f"{model.name} without {k} random blocks: mean {np.mean(random_k[k]):.2%}", flush=True)
    return {
        "full": full,
        "single": single,
        "downsampling": [b for b in single if graph.downsamples(model, b)],
        "blocks": graph.blocks(model),
        "random_k": random_k,
    }


def damage(curves, chance):
    """Mean accuracy lost by single downsampling-free deletions, as a fraction of the
    margin over chance, and the mean and worst accuracy after such a deletion."""
    kept = [a for b, a in curves["single"].items() if b not in curves["downsampling"]]
    margin = curves["full"] - chance
    lost = (curves["full"] - np.mean(kept)) / margin if margin > 0 else float("nan")
    return float(lost), float(np.mean(kept)), float(np.min(kept))


def plot(results, chance, folder):
    plt = plots.pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (single_ax, random_ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    for (name, r), color in zip(results.items(), ("tab:blue", "tab:red")):
        c = r["curves"]
        index = {b: i + 1 for i, b in enumerate(c["blocks"])}
        xs = [index[b] for b in c["single"]]
        single_ax.plot(xs, [100 * a for a in c["single"].values()], "o-", color=color,
                       label=f"{name}: one block deleted")  # fmt: skip
        down = c["downsampling"]
        if down:
            single_ax.plot([index[b] for b in down], [100 * c["single"][b] for b in down], "kx",
                           markersize=9, label=f"{name}: downsampling block")  # fmt: skip
        single_ax.axhline(100 * c["full"], color=color, linestyle="--", label=f"{name}: no deletion")
        ks = [0, *c["random_k"]]
        means = [c["full"], *(np.mean(v) for v in c["random_k"].values())]
        stds = [0, *(np.std(v) for v in c["random_k"].values())]
        random_ax.errorbar(ks, [100 * m for m in means], [100 * s for s in stds], fmt="o-",
                           color=color, capsize=3, label=f"{name} ({r['evaluated_on']})")  # fmt: skip
    for ax in (single_ax, random_ax):
        ax.axhline(100 * chance, color="gray", linestyle=":", label="chance")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
    single_ax.set_xlabel("deleted block (1 = first)")
    single_ax.set_title("Deleting one block at test time")
    random_ax.set_xlabel("number of random downsampling-free blocks deleted")
    random_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    random_ax.set_title("Deleting k random blocks (mean and s.d. over draws)")
    single_ax.legend(fontsize=7)
    random_ax.legend(fontsize=7)
    return report.save_figure(fig, folder, FIGURE)


def run(
    model="resnet56",
    weights="cifar10",
    plain="plainnet20",
    plain_weights=None,
    data="../shared/data/cifar10-test",
    limit=2000,
    k_max=10,
    samples=3,
    recipe=recipe_lib.Recipe(epochs=8),
    output_dir="runs",
):
    """Lesions `model` (residual) and `plain` (None: no plain net); returns the results dict."""
    folder = report.study_dir(output_dir, "lesion")
    study_data = data_lib.load(data).limited(limit)
    print(study_data.note)
    chance = 1 / len(study_data.class_names)
    results, lines = {}, []
    for name, w in ((model, weights), (plain, plain_weights)):
        if name is None:
            continue
        net, trained_here = obtain(name, w, study_data, recipe, folder)
        images, labels, described = study_data.evaluation(trained_here)
        print(f"{name}: lesions on {described}", flush=True)
        curves = lesion_curves(net, images, labels, k_max, samples, recipe.seed)
        lost, mean_kept, worst = damage(curves, chance)
        train_count = len(study_data.training(recipe.train_images)[1])
        results[name] = {
            "weights": w if w is not None else f"trained here: {recipe.describe(train_count)}",
            "evaluated_on": described,
            "lost_fraction_of_margin": lost,
            "curves": curves,
        }
        lines.append(
            f"{name} ({described}): {curves['full']:.2%} with every block; one "
            f"downsampling-free block deleted: mean {mean_kept:.2%}, worst {worst:.2%} "
            f"({lost:.0%} of its margin over chance lost)"
        )
    figure = plot(results, chance, folder)
    fractions = [results[n]["lost_fraction_of_margin"] for n in (model, plain) if n in results]
    held = len(fractions) == 2 and fractions[0] < 0.25 and fractions[1] > 0.5
    if len(fractions) < 2:
        lines.append("No plain net was lesioned, so the comparison is not made.")
    settings = {"data": study_data.note, "limit": limit, "k_max": k_max, "samples": samples,
                "recipe": dataclasses.asdict(recipe)}  # fmt: skip
    return report.finish(folder, "lesion", CLAIM, held, lines, {"settings": settings, "nets": results}, [figure])
