"""One row of the weights table, and the constructors of each source's rows.

A row says where a file comes from, its hash, its layout (how its tensors map onto our
layers, which picks the loader), the classifier it carries, its preprocessing and the
resolution it was evaluated at. Layouts:

    keras_h5         a legacy Keras `.h5` of keras.applications, loaded by layer order
    keras2_resnext   keras_applications' (Keras 2) ResNeXt `.h5`, depthwise kernels regrouped
    torch_resnet     torchvision/timm ResNet, ResNet-B/D, wide, ResNeXt, SE and CBAM names
    torch_densenet   torchvision/timm DenseNet names (both of torchvision's spellings)
    timm_dpn         timm's Dual Path Network names (shared kernels split per path)
    akamaster_cifar  akamaster/pytorch_resnet_cifar10's CIFAR ResNets (classifier `linear`)
    tv_segmentation  torchvision's DeepLabV3 / FCN segmenters (backbone, classifier, aux_classifier)
    tv_retinanet     torchvision's RetinaNet v1/v2 (backbone.body/backbone.fpn/head names)
    tv_fcos          torchvision's FCOS (the same, with flat head towers and a centre-ness output)

Every layout but `keras_h5` is converted by `keras_resnets.convert` on first use.
"""

import dataclasses
from typing import Optional

KERAS_APPLICATIONS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"
TORCHVISION_URL = "https://download.pytorch.org/models/"
HF_URL = "https://huggingface.co/timm/{}/resolve/main/model.safetensors"
AKAMASTER_URL = (
    "https://raw.githubusercontent.com/akamaster/pytorch_resnet_cifar10/"
    "d5489e8995e81e91ce6b1d69dcc98ad579b0b153/pretrained_models/"
)
TV_LICENSE = "BSD-3-Clause (pytorch/vision)"
TIMM_LICENSE = "Apache-2.0 (huggingface/pytorch-image-models)"
NC = "CC-BY-NC-4.0 (Facebook semi-/weakly-supervised ImageNet models)"


@dataclasses.dataclass(frozen=True)
class WeightsEntry:
    model: str  # registry name
    tag: str  # what users pass as `weights=`
    url: str  # file with the classifier
    # md5 (32 hex) or sha256 (64 hex) of that file, or a sha256 prefix (torchvision's
    # file names carry the first 8 hex digits); None where the source publishes none.
    file_hash: Optional[str]
    notop_url: Optional[str] = None  # file without the classifier, when the source has one
    notop_hash: Optional[str] = None
    layout: str = "keras_h5"
    classes: int = 1000
    resolution: int = 224
    preprocessing: str = "caffe"
    source: str = "keras.applications"
    license: str = "MIT (keras-team/keras)"
    # Task models: the label set of the outputs (`keras_resnets.labels.LABEL_SETS`), and the
    # source's own published figure for the file, quoted as the source states it.
    labels: Optional[str] = None
    published: str = ""

    def file_for(self, include_top):
        if include_top or self.notop_url is None:
            return self.url, self.file_hash
        return self.notop_url, self.notop_hash


def keras_applications_row(model, top_hash, notop_hash, preprocessing, folder="resnet", layout="keras_h5"):
    base = KERAS_APPLICATIONS_URL + folder + "/" + model
    return WeightsEntry(
        model=model,
        tag="imagenet",
        url=base + "_weights_tf_dim_ordering_tf_kernels.h5",
        file_hash=top_hash,
        notop_url=base + "_weights_tf_dim_ordering_tf_kernels_notop.h5",
        notop_hash=notop_hash,
        layout=layout,
        preprocessing=preprocessing,
    )


def torchvision_row(model, filename, tag, layout="torch_resnet", **task):
    """torchvision's `.pth`: its name ends with the first 8 hex digits of its SHA-256.
    `task`: a task model's `classes`, `resolution`, `labels` and `published` figure."""
    return WeightsEntry(
        model=model,
        tag=tag,
        url=TORCHVISION_URL + filename,
        file_hash=filename.rsplit("-", 1)[1].split(".")[0],
        layout=layout,
        preprocessing="torch",
        source="torchvision",
        license=TV_LICENSE,
        **task,
    )


def timm_row(model, name, resolution, layout="torch_resnet", preprocessing="torch", license=TIMM_LICENSE):
    """timm's `<model>.<tag>` safetensors; timm's metadata publishes no hash, so none is checked."""
    return WeightsEntry(
        model=model,
        tag="timm_" + name.split(".", 1)[1],
        url=HF_URL.format(name),
        file_hash=None,
        layout=layout,
        resolution=resolution,
        preprocessing=preprocessing,
        source="timm",
        license=license,
    )


def akamaster_row(model, filename, sha256):
    return WeightsEntry(
        model=model,
        tag="cifar10",
        url=AKAMASTER_URL + filename,
        file_hash=sha256,
        layout="akamaster_cifar",
        classes=10,
        resolution=32,
        preprocessing="torch",
        source="akamaster/pytorch_resnet_cifar10",
        license="BSD-2-Clause (Yerlan Idelbayev)",
    )
