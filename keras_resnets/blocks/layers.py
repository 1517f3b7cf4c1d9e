"""Small custom layers of the shortcut variants (serializable, pure keras.ops).

    ChannelPad       option-A shortcut: zero channels padded before and after
    ResidualWeight   weighted residual networks: one learnable scalar on the branch
    Highway          highway merge: gate * transform + (1 - gate) * carry
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


@keras.saving.register_keras_serializable(package="keras_resnets")
class Highway(layers.Layer):
    """`[carry, transform, gate]` -> `gate * transform + (1 - gate) * carry`.

    Written as `carry + gate * (transform - carry)`: one multiply fewer, same value.
    """

    def call(self, inputs):
        carry, transform, gate = inputs
        return carry + gate * (transform - carry)

    def compute_output_shape(self, input_shape):
        return input_shape[0]
