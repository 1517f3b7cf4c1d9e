"""Semantic-segmentation decoders on a backbone's feature pyramid, in plain Keras layers.

Each head takes `{"P<level>": feature map}` (what `keras_resnets.features` outputs; level =
log2 of the stride) and returns per-pixel class logits at `output_size`, so it runs on
every backend and exports to SavedModel and TFLite with builtin ops only.

- `deeplab_v3_plus` (Chen et al. 2018, arXiv:1802.02611): atrous spatial pyramid pooling
  on the deepest map (best at stride 16: `create_model(..., output_stride=16)`), then a
  decoder that fuses it, upsampled, with a projected stride-4 map to recover edges.
- `fpn`: a light feature-pyramid decoder (top-down path with lateral 1x1 convolutions,
  one 3x3 convolution on the finest merged map): a fraction of DeepLab's compute, for
  CPUs and quick trials.

`segmenter` puts a head on a backbone: Input -> Preprocess -> backbone -> head -> float32
softmax. Resizing uses each tensor's static spatial size, so the model's input size must be
fixed (the task models have a square input of `image_size`).
"""

import keras
from keras import layers

from keras_resnets.heads.inputs import image_features

# DeepLab's atrous rates (6, 12, 18) are for stride 16; they scale inversely with the
# stride of the map they run on (the paper doubles them at stride 8).
RATE_MULTIPLES = (1, 2, 3)
RATE_AT_STRIDE_16 = 6


def atrous_rates(stride):
    base = max(1, RATE_AT_STRIDE_16 * 16 // stride)
    return tuple(base * m for m in RATE_MULTIPLES)


def conv_bn_relu(x, filters, kernel, name, dilation=1):
    x = layers.Conv2D(
        filters, kernel, padding="same", dilation_rate=dilation, use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(epsilon=1e-5, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def resize_to(x, reference, name):
    """`x` bilinearly resized to the spatial size of `reference` (a tensor or an (h, w) pair)."""
    height, width = reference if isinstance(reference, tuple) else reference.shape[1:3]
    if tuple(x.shape[1:3]) == (height, width):
        return x
    return layers.Resizing(height, width, interpolation="bilinear", name=name)(x)


def levels_of(features):
    return sorted(features, key=lambda level: int(level[1:]))


def deeplab_levels(levels):
    """(low, high): the deepest level, and the stride-4 one (P2) for the decoder; the CIFAR
    nets, whose deepest level is P2, give their shallowest level instead."""
    levels = levels_of(levels)
    return ("P2" if "P2" in levels[:-1] else levels[0]), levels[-1]


def stride_of(x, output_size):
    return max(1, round(output_size[0] / x.shape[1]))


def aspp(x, filters, rates, name, dropout=0.1):
    """Atrous spatial pyramid pooling: 1x1, three dilated 3x3 and an image-level branch."""
    branches = [conv_bn_relu(x, filters, 1, f"{name}_1x1")]
    branches += [conv_bn_relu(x, filters, 3, f"{name}_rate{r}", dilation=r) for r in rates]
    # Image pooling: the global context, broadcast back over the map.
    pooled = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_pool")(x)
    pooled = conv_bn_relu(pooled, filters, 1, f"{name}_pool")
    branches.append(resize_to(pooled, x, f"{name}_pool_resize"))
    x = layers.Concatenate(name=f"{name}_concat")(branches)
    x = conv_bn_relu(x, filters, 1, f"{name}_project")
    return layers.Dropout(dropout, name=f"{name}_dropout")(x) if dropout else x


def classify(x, num_classes, output_size, name):
    """1x1 class logits, upsampled to the input size."""
    x = layers.Conv2D(num_classes, 1, name=f"{name}_logits")(x)
    return resize_to(x, output_size, f"{name}_upsample")


def deeplab_v3_plus(features, num_classes, output_size, filters=256, low_filters=48, name="deeplab"):
    """DeepLabV3+ logits: ASPP on the deepest level, decoder with the stride-4 level
    (`deeplab_levels`)."""
    low, high = (features[level] for level in deeplab_levels(features))
    x = aspp(high, filters, atrous_rates(stride_of(high, output_size)), f"{name}_aspp")
    x = resize_to(x, low, f"{name}_aspp_upsample")
    skip = conv_bn_relu(low, low_filters, 1, f"{name}_low")
    x = layers.Concatenate(name=f"{name}_fuse")([x, skip])
    x = conv_bn_relu(x, filters, 3, f"{name}_decoder1")
    x = conv_bn_relu(x, filters, 3, f"{name}_decoder2")
    return classify(x, num_classes, output_size, name)


def fpn(features, num_classes, output_size, filters=128, name="fpn"):
    """FPN-style logits: top-down sum of lateral 1x1 projections, 3x3 on the finest map."""
    levels = levels_of(features)
    x = None
    for level in reversed(levels):
        lateral = layers.Conv2D(filters, 1, name=f"{name}_lateral_{level}")(features[level])
        if x is not None:
            lateral = layers.Add(name=f"{name}_merge_{level}")(
                [lateral, resize_to(x, lateral, f"{name}_upsample_{level}")]
            )
        x = lateral
    x = conv_bn_relu(x, filters, 3, f"{name}_smooth")
    return classify(x, num_classes, output_size, name)


HEADS = {"deeplabv3plus": deeplab_v3_plus, "fpn": fpn}


def head_levels(head, available):
    """The pyramid levels `head` reads, out of the backbone's `available` ones."""
    check_head(head)
    return tuple(levels_of(available)) if head == "fpn" else deeplab_levels(available)


def check_head(head):
    if head not in HEADS:
        raise ValueError(f"Unknown segmentation head {head!r}; use one of {tuple(HEADS)}.")


def segmentation_logits(head, features, num_classes, output_size):
    check_head(head)
    return HEADS[head](features, num_classes, output_size)


def segmenter(backbone, num_classes, preprocessing, pretrained, head):
    """Input (RGB [0, 255]) -> Preprocess -> `backbone` ({level: map}) -> `head` -> softmax;
    `preprocessing` and `pretrained` as in `inputs.image_features` (the head's BatchNorm
    trains either way)."""
    inputs, features = image_features(backbone, preprocessing, pretrained)
    logits = segmentation_logits(head, features, num_classes, tuple(backbone.input_shape[1:3]))
    # float32: softmax and the loss need it under mixed precision.
    outputs = layers.Activation("softmax", dtype="float32", name="segmentation")(logits)
    return keras.Model(inputs, outputs, name=f"{backbone.name}_{head}")
