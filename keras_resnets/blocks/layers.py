"""Small custom layers of the shortcut variants (serializable, pure keras.ops).

    ChannelPad       option-A shortcut: zero channels padded before and after
    ResidualWeight   weighted residual networks: one learnable scalar on the branch
    Highway          highway merge: gate * transform + (1 - gate) * carry
    DropPathAdd      shortcut + branch, the branch dropped per sample at training
"""

import keras
from keras import layers
from keras import ops

from keras_resnets.blocks.ops import channel_axis


@keras.saving.register_keras_serializable(package="keras_resnets")
class ChannelPad(layers.Layer):
    """Adds `before` zero channels in front of the input's channels and `after` behind.

    He et al. 2015's option A pads the shortcut's missing channels with zeros; the
    akamaster CIFAR checkpoints put half of them in front (`F.pad(..., (0, 0, 0, 0, p, p))`),
    so the existing channels sit in the middle, not first.
    """

    def __init__(self, before, after, **kwargs):
        super().__init__(**kwargs)
        self.before = before
        self.after = after

    def call(self, x):
        widths = [[0, 0]] * len(x.shape)
        widths[channel_axis()] = [self.before, self.after]
        return ops.pad(x, widths)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[channel_axis()] += self.before + self.after
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "before": self.before, "after": self.after}


@keras.saving.register_keras_serializable(package="keras_resnets")
class ResidualWeight(layers.Layer):
    """Multiplies the residual branch by one learnable scalar, lambda (Shen & Zeng 2016).

    Initialisation: lambda = 0, so every weighted block starts as the identity and a deep
    network starts as a shallow one, which is the paper's cure for the initialisation
    problem of very deep nets. The paper trains lambda by projected SGD; `limit` keeps it
    in [-limit, limit] after each update (a Keras constraint is exactly that projection);
    `limit=None` leaves it free. (We could read only the abstract and summaries of
    arXiv:1605.08831 here; the zero start and the [-1, 1] range are our reading of them.)
    """

    def __init__(self, initial_value=0.0, limit=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_value = initial_value
        self.limit = limit

    def build(self, input_shape):
        limit = self.limit
        self.weight = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_value),
            constraint=None if limit is None else (lambda w: ops.clip(w, -limit, limit)),
            name="weight",
        )

    def call(self, x):
        return x * ops.cast(self.weight, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "initial_value": self.initial_value, "limit": self.limit}


def drop_path(x, rate, seed_generator, training):
    """Stochastic depth (Huang et al. 2016), as timm's `drop_path`: at training, each
    sample's `x` is zeroed with probability `rate` and the kept ones scaled by
    1 / (1 - rate), so the expected sum is unchanged; at inference, `x` itself (an
    inference or exported graph holds no random op)."""
    if not training or not rate:
        return x
    noise_shape = (None,) + (1,) * (len(x.shape) - 1)  # one draw per sample; None: the batch
    return keras.random.dropout(x, rate, noise_shape=noise_shape, seed=seed_generator)


class _DropPathMerge(layers.Layer):
    """A merge whose added term may be dropped per sample (`rate`, `drop_path`).

    The drop sits inside the merge, not in a layer of its own on the branch: that would
    change the graph's depths, hence the order of the model's layers, by which Keras loads
    legacy `.h5` files (keras.applications' own weights).
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"{self.name}: a drop-path rate is in [0, 1); got {rate}.")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if rate else None

    def dropped(self, x, training):
        return drop_path(x, self.rate, self.seed_generator, training)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_resnets")
class Highway(_DropPathMerge):
    """`[carry, transform, gate]` -> `gate * transform + (1 - gate) * carry`.

    Written as `carry + gate * (transform - carry)`: one multiply fewer, same value. With
    a drop-path `rate`, the gated term is what gets dropped: the carry alone is the block
    skipped.
    """

    def call(self, inputs, training=False):
        carry, transform, gate = inputs
        return carry + self.dropped(gate * (transform - carry), training)


@keras.saving.register_keras_serializable(package="keras_resnets")
class DropPathAdd(_DropPathMerge):
    """`[shortcut, branch]` -> `shortcut + branch`, the branch dropped per sample at
    training with probability `rate` (stochastic depth), the identity sum at inference."""

    def call(self, inputs, training=False):
        shortcut, branch = inputs
        return shortcut + self.dropped(branch, training)
