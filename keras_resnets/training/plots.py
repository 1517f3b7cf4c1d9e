"""PNG plots of a run: the training curves here, and matplotlib set up for tasks' own plots."""


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers and CI
    import matplotlib.pyplot as plt

    return plt


def plot_curves(history, path, panels):
    """One panel per (history key, title): train vs val per epoch, phase changes marked."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (key, title) in zip(axes[0], panels):
        ax.plot(epochs, [h.get(key) for h in history], "o-", label=f"train {key}")
        ax.plot(epochs, [h.get(f"val_{key}") for h in history], "o-", label=f"val {key}")
        for before, after in zip(history, history[1:]):
            if before["phase"] != after["phase"]:
                ax.axvline(before["epoch"] + 0.5, color="gray", linestyle="--")
                ax.text(before["epoch"] + 0.6, ax.get_ylim()[1], after["phase"], va="top", fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
