"""DenseNet (Huang et al. 2017, "Densely Connected Convolutional Networks").

Not a residual stack: each layer's output is concatenated to its input, and transition
layers (BN-ReLU-1x1 conv halving the channels, 2x2 average pool) join the stages
(`keras_resnets.blocks.dense`). It goes through the same builder as the ResNets:
`stem="densenet"` and `block="dense"` select those functions.

DenseNet121/169/201 reproduce keras.applications' layout (names, creation order and
the `[input, new features]` concatenation order), so the official Keras `.h5` files
load by order and by name. The trainable parameters are exactly torchvision's (the same
layers); keras.applications' totals add the BatchNorm moving statistics.
"""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

GROWTH = 32
DENSENET = dict(
    block="dense",
    stem="densenet",
    widths=(4 * GROWTH,) * 4,  # the 1x1 bottleneck widths
    growth_rates=(GROWTH,) * 4,
    use_bias=False,
    preprocessing="torch",
    family="densenet",
    paper="Huang et al. 2017, arXiv:1608.06993",
)

DenseNet121 = entrypoint(Spec("DenseNet121", depths=(6, 12, 24, 16), **DENSENET), __name__)
DenseNet169 = entrypoint(Spec("DenseNet169", depths=(6, 12, 32, 32), **DENSENET), __name__)
DenseNet201 = entrypoint(Spec("DenseNet201", depths=(6, 12, 48, 32), **DENSENET), __name__)
DenseNet264 = entrypoint(Spec("DenseNet264", depths=(6, 12, 64, 48), **DENSENET), __name__)

preprocess_input = imagenet.preprocessor("torch")
decode_predictions = imagenet.decode_predictions
