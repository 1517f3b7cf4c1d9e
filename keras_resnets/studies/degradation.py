"""Degradation (He et al. 2015, arXiv:1512.03385, Figure 6).

He et al.: on CIFAR-10 a deeper *plain* net has higher training error than a shallower
one (plain-56 above plain-20 throughout training), which is no overfitting but an
optimisation problem, while ResNets of the same depths improve with depth.

Each family (plainnet among them) is trained at each depth with the same recipe;
the figure has the paper's layout: one panel per family, error against epochs, dashed
training error and bold test error, one colour per depth. The claim is taken to hold
when, after the last epoch, the deepest plain net's training error is above the
shallowest one's and every other family's deepest net is not above its shallowest.
"""

import dataclasses

from keras_resnets.studies import data as data_lib
from keras_resnets.studies import nets, report
from keras_resnets.studies import recipe as recipe_lib
from keras_resnets.training import plots

CLAIM = "Deeper plain nets train worse than shallower ones; residual nets of the same depths do not (He et al. 2015)"
FIGURE = "degradation.png"
COLORS = ("tab:orange", "tab:red", "tab:purple", "tab:blue", "tab:green")


def plot(histories, families, depths, folder):
    plt = plots.pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(families), figsize=(5.5 * len(families), 4.2), sharey=True, squeeze=False)
    for ax, family in zip(axes[0], families):
        for depth, color in zip(depths, COLORS):
            rows = [r for r in histories[f"{family}{depth}"] if r["epoch"] > 0]
            epochs = [r["epoch"] for r in rows]
            label = f"{nets.FAMILIES[family][0]}-{depth}"
            ax.plot(epochs, [100 * r["train_error"] for r in rows], "--", color=color, label=f"{label} train")
            ax.plot(epochs, [100 * r["test_error"] for r in rows], "-", color=color, linewidth=2.2, label=f"{label} test")
        ax.set_title(f"{nets.FAMILIES[family][0]}, " + " vs ".join(f"{d} layers" for d in depths))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("error (%)  (dashed: training, bold: test)")
    return report.save_figure(fig, folder, FIGURE)


def compare(histories, family, shallow, deep):
    """(change of training error from the shallow to the deep net, summary line)."""
    a, b = histories[f"{family}{shallow}"][-1], histories[f"{family}{deep}"][-1]
    change = b["train_error"] - a["train_error"]
    title = nets.FAMILIES[family][0]
    line = (
        f"{title}-{deep} vs {title}-{shallow} after {b['epoch']} epochs: training error "
        f"{b['train_error']:.1%} vs {a['train_error']:.1%} ({100 * change:+.1f} points), "
        f"test error {b['test_error']:.1%} vs {a['test_error']:.1%} "
        f"({100 * (b['test_error'] - a['test_error']):+.1f} points)"
    )
    return change, line


def run(
    families=("plainnet", "resnet"),
    depths=(20, 56),
    data="../shared/data/cifar10-test",
    limit=None,
    recipe=recipe_lib.Recipe(),
    output_dir="runs",
):
    folder = report.study_dir(output_dir, "degradation")
    study_data = data_lib.load(data).limited(limit)
    print(study_data.note)
    depths = sorted(depths)
    families = [f.strip().lower() for f in families]
    if "plainnet" not in families or len(depths) < 2:
        raise ValueError("Degradation compares depths against a plain net: give two depths or more and plainnet.")
    histories = {}
    for depth in depths:
        for name in nets.family_nets(families, depth):
            _, histories[name] = recipe_lib.train(name, recipe, study_data, folder)
    figure = plot(histories, families, depths, folder)
    changes, lines = {}, []
    for family in families:
        changes[family], line = compare(histories, family, depths[0], depths[-1])
        lines.append(line)
    held = changes["plainnet"] > 0 and all(changes[f] <= 0 for f in families if f != "plainnet")
    train_count = len(study_data.training(recipe.train_images)[1])
    lines.append(f"Recipe: {recipe.describe(train_count)}. {study_data.note}")
    settings = {"data": study_data.note, "limit": limit, "recipe": dataclasses.asdict(recipe)}
    results = {"settings": settings, "training_error_change": changes, "histories": histories}
    return report.finish(folder, "degradation", CLAIM, held, lines, results, [figure])
