"""Gradient flow: per-layer gradient norms of plain, highway, residual, pre-activation and
weighted residual nets of one depth, at initialisation and after each training epoch.

The survey's claim: shortcuts keep the gradient from vanishing in the early layers. The
measure is the norm of the loss gradient with respect to each convolution kernel (the
stem and every branch convolution, in depth order; highway gates left out), on one fixed
batch of training images, with BatchNorm on the batch's statistics as in training. The
model's state is not touched (`stateless_call`), so measuring changes no weights and no
BatchNorm statistics.

The summary compares, per net, the mean gradient norm of the first stage (stem
included) with that of the last stage: a small early/late ratio is a gradient that
vanishes on its way to the early layers. The claim is taken to hold when every net with
shortcuts has a larger ratio than the plain net, both at initialisation and after
training. The weighted residual net's branches get no gradient at all at
initialisation (their scalar starts at 0, so each block starts as the identity); its
ratio there is undefined and left out.
"""

import dataclasses

import keras
import numpy as np

from keras_resnets.studies import data as data_lib
from keras_resnets.studies import nets, report
from keras_resnets.studies import recipe as recipe_lib
from keras_resnets.training import plots

CLAIM = "Shortcuts keep the gradient from vanishing in the early layers"
FIGURE = "gradients.png"
COLORS = {"plainnet": "tab:red", "highwaynet": "tab:orange", "resnet": "tab:blue",
          "preactresnet": "tab:green", "weightedresnet": "tab:purple"}  # fmt: skip


def measured_layers(model):
    """The stem and branch convolutions in depth order (highway gates are not on the path)."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and not layer.name.endswith("_gate")
    ]


def loss_gradients(model, images, labels):
    """Gradients of the mean cross-entropy w.r.t. `model.trainable_variables`, training mode."""
    trainable = [keras.ops.convert_to_tensor(v.value) for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    cross_entropy = keras.losses.SparseCategoricalCrossentropy()

    def loss(values):
        probs, _ = model.stateless_call(values, non_trainable, images, training=True)
        return cross_entropy(labels, probs)

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.grad(loss)(trainable)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(trainable)
            value = loss(trainable)
        return tape.gradient(value, trainable)
    if backend == "torch":
        import torch

        trainable = [t.detach().requires_grad_() for t in trainable]
        return torch.autograd.grad(loss(trainable), trainable)
    raise ValueError(f"No gradient for the {backend!r} backend; use tensorflow, jax or torch.")


def kernel_gradient_norms(model, images, labels):
    """{layer name: L2 norm of the loss gradient w.r.t. its kernel}, in depth order."""
    grads = loss_gradients(model, images, labels)
    by_path = {v.path: g for v, g in zip(model.trainable_variables, grads)}
    return {
        layer.name: float(np.linalg.norm(keras.ops.convert_to_numpy(by_path[layer.kernel.path])))
        for layer in measured_layers(model)
    }


def early_late_ratio(norms):
    """Mean norm over the stem and first stage, over the mean over the last stage."""
    stages = [name.split("_")[0] for name in norms]
    early = [n for n, s in zip(norms.values(), stages) if s in ("conv1", "conv2")]
    late = [n for n, s in zip(norms.values(), stages) if s == stages[-1]]
    return float(np.mean(early) / np.mean(late)) if np.mean(late) > 0 else None


def plot(histories, folder):
    plt = plots.pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, (init_ax, end_ax, ratio_ax) = plt.subplots(1, 3, figsize=(17, 4.6))
    for name, rows in histories.items():
        family, depth = nets.parse(name)
        color = COLORS[family]
        label = f"{nets.FAMILIES[family][0]}-{depth}"
        for ax, row in ((init_ax, rows[0]), (end_ax, rows[-1])):
            values = list(row["gradient_norms"].values())
            ax.plot(range(1, len(values) + 1), values, ".-", color=color, label=label)
        ratios = [(r["epoch"], early_late_ratio(r["gradient_norms"])) for r in rows]
        ratio_ax.plot(*zip(*[(e, v) for e, v in ratios if v is not None]), "o-", color=color, label=label)
    init_ax.set_title("At initialisation")
    end_ax.set_title(f"After {rows[-1]['epoch']} epochs of training")
    for ax in (init_ax, end_ax):
        ax.set_xlabel("convolution layer (1 = stem, input side)")
        ax.set_ylabel("||dL/dW|| of the layer's kernel")
    ratio_ax.set_title("Early/late ratio: first stage over last stage")
    ratio_ax.set_xlabel("epoch (0 = initialisation)")
    ratio_ax.set_ylabel("mean gradient norm ratio")
    ratio_ax.axhline(1, color="gray", linestyle=":")
    for ax in (init_ax, end_ax, ratio_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_yscale("log", nonpositive="mask")  # the weighted net's zeros at init
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    return report.save_figure(fig, folder, FIGURE)


def run(
    families=("plainnet", "highwaynet", "resnet", "preactresnet", "weightedresnet"),
    depth=20,
    probe_images=256,
    data="../shared/data/cifar10-test",
    limit=None,
    recipe=recipe_lib.Recipe(epochs=3),
    output_dir="runs",
):
    folder = report.study_dir(output_dir, "gradients")
    study_data = data_lib.load(data).limited(limit)
    print(study_data.note)
    probe_x, probe_y = (a[:probe_images] for a in study_data.training())

    def snapshot(model):
        return {"gradient_norms": kernel_gradient_norms(model, probe_x, probe_y)}

    names = nets.family_nets(families, depth)
    plain = f"plainnet{depth}"
    if plain not in names:
        raise ValueError("The claim is judged against a plain net: include plainnet in --model.")
    histories = {name: recipe_lib.train(name, recipe, study_data, folder, snapshot)[1] for name in names}
    figure = plot(histories, folder)
    ratios = {
        name: {"init": early_late_ratio(rows[0]["gradient_norms"]), "trained": early_late_ratio(rows[-1]["gradient_norms"])}
        for name, rows in histories.items()
    }  # fmt: skip
    held = all(
        r[when] is None or r[when] > ratios[plain][when]
        for name, r in ratios.items()
        if name != plain
        for when in ("init", "trained")
    )
    lines = [
        f"{name}: early/late gradient ratio {_show(r['init'])} at initialisation, "
        f"{_show(r['trained'])} after {histories[name][-1]['epoch']} epochs"
        for name, r in ratios.items()
    ]
    lines.append(
        "A ratio below 1 is a gradient that shrinks towards the input (vanishing); above 1, "
        "one that grows towards it (exploding)."
    )
    train_count = len(study_data.training(recipe.train_images)[1])
    lines.append(f"Gradients on {len(probe_y)} training images; recipe: {recipe.describe(train_count)}.")
    settings = {"data": study_data.note, "depth": depth, "probe_images": len(probe_y),
                "recipe": dataclasses.asdict(recipe)}  # fmt: skip
    results = {"settings": settings, "early_late_ratio": ratios, "histories": histories}
    return report.finish(folder, "gradients", CLAIM, held, lines, results, [figure])


def _show(ratio):
    return "undefined (no gradient reaches the last stage)" if ratio is None else f"{ratio:.3g}"
