"""How well a classifier does: split metrics, per-class precision/recall, the confusion
matrix (numbers and PNG) and the printed summary."""

import numpy as np

from keras_resnets.training.plots import pyplot

EPSILON = 1e-7


def predict(model, dataset):
    """(true class indices, predicted probabilities) over a batched (images, one-hot) dataset."""
    labels, probs = [], []
    for images, onehot in dataset.as_numpy_iterator():  # numpy: every backend takes it
        probs.append(np.asarray(model.predict_on_batch(images)))
        labels.append(np.argmax(onehot, axis=-1))
    return np.concatenate(labels), np.concatenate(probs).astype(np.float64)


def split_metrics(labels, probs):
    """Accuracy and plain cross-entropy (no label smoothing, so splits compare)."""
    picked = probs[np.arange(len(labels)), labels]
    return {
        "accuracy": float(np.mean(np.argmax(probs, axis=-1) == labels)),
        "loss": float(np.mean(-np.log(np.clip(picked, EPSILON, 1.0)))),
        "images": int(len(labels)),
    }


def confusion_matrix(labels, predicted, num_classes):
    """Rows: true class; columns: predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def per_class(matrix, class_names):
    true_positive = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros_like(true_positive), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(actual[i]),
        }
        for i, name in enumerate(class_names)
    }


def plot_confusion(matrix, class_names, path, title):
    plt = pyplot()
    size = max(4, 0.6 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    if len(class_names) <= 30:
        for i in ticks:
            for j in ticks:
                color = "white" if matrix[i, j] > threshold else "black"
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def format_summary(splits, classes, matrix, class_names):
    """The end-of-run tables as text."""
    lines = ["", f"{'split':<8}{'images':>8}{'accuracy':>10}{'loss':>8}"]
    for name, m in splits.items():
        lines.append(f"{name:<8}{m['images']:>8}{m['accuracy']:>10.2%}{m['loss']:>8.3f}")
    width = max(len(n) for n in class_names) + 2
    lines += ["", f"{'test class':<{width}}{'precision':>10}{'recall':>8}{'f1':>7}{'n':>6}"]
    for name, m in classes.items():
        lines.append(
            f"{name:<{width}}{m['precision']:>10.2%}{m['recall']:>8.2%}{m['f1']:>7.3f}{m['support']:>6}"
        )
    lines += ["", "test confusion matrix (rows: true, columns: predicted)"]
    for name, row in zip(class_names, matrix):
        lines.append(f"{name:<{width}}" + "".join(f"{int(v):>6}" for v in row))
    return "\n".join(lines)
