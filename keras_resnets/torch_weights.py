"""Pretrained rows for the PyTorch-trained ResNets: torchvision's and timm's ImageNet weights.

Tags:
    "tv_in1k"    torchvision IMAGENET1K_V1 (the original recipes)
    "tv2_in1k"   torchvision IMAGENET1K_V2 (the 2021 "new training recipe")
    "timm_<tag>" timm's `<model>.<tag>` weights on Hugging Face (e.g. "timm_a1_in1k")

Files are converted by `keras_resnets.convert` on first use and cached as `.weights.h5`.
torchvision's URLs carry the first 8 hex digits of the file's SHA-256, which is checked;
timm's Hugging Face files publish no hash in timm's metadata, so none is checked.

The rows list every ImageNet-1k weight of torchvision 0.29.1's `get_model_weights` and
timm 1.0.31's `list_pretrained` for our architectures, keeping only those with the
standard ImageNet mean/std (preprocessing "torch") and 1000 classes; timm's copies of
torchvision files (`.tv_in1k`, `.tv2_in1k`) are left to the torchvision rows.
Resolution is the evaluation size: timm's `test_input_size`, else its `input_size`.
"""

from keras_resnets import weights
import keras_resnets.convert  # noqa: F401 (registers the "torchvision" and "timm" loaders)

TORCHVISION_URL = "https://download.pytorch.org/models/"
HF_URL = "https://huggingface.co/timm/{}/resolve/main/model.safetensors"
TV_LICENSE = "BSD-3-Clause (pytorch/vision)"
TIMM_LICENSE = "Apache-2.0 (huggingface/pytorch-image-models)"
NC = "CC-BY-NC-4.0 (Facebook semi-/weakly-supervised ImageNet models)"

# (our model, torchvision file, tag); the file name ends with its SHA-256 prefix.
# fmt: off
TORCHVISION = [
    ("resnet18", "resnet18-f37072fd.pth", "tv_in1k"),
    ("resnet34", "resnet34-b627a593.pth", "tv_in1k"),
    ("resnet50b", "resnet50-0676ba61.pth", "tv_in1k"),
    ("resnet50b", "resnet50-11ad3fa6.pth", "tv2_in1k"),
    ("resnet101b", "resnet101-63fe2227.pth", "tv_in1k"),
    ("resnet101b", "resnet101-cd907fc2.pth", "tv2_in1k"),
    ("resnet152b", "resnet152-394f9c45.pth", "tv_in1k"),
    ("resnet152b", "resnet152-f82ba261.pth", "tv2_in1k"),
    ("wideresnet50_2", "wide_resnet50_2-95faca4d.pth", "tv_in1k"),
    ("wideresnet50_2", "wide_resnet50_2-9ba9bcbe.pth", "tv2_in1k"),
    ("wideresnet101_2", "wide_resnet101_2-32ee1156.pth", "tv_in1k"),
    ("wideresnet101_2", "wide_resnet101_2-d733dc28.pth", "tv2_in1k"),
    ("resnext50_32x4d", "resnext50_32x4d-7cdf4587.pth", "tv_in1k"),
    ("resnext50_32x4d", "resnext50_32x4d-1a0047aa.pth", "tv2_in1k"),
    ("resnext101_32x8d", "resnext101_32x8d-8ba56ff5.pth", "tv_in1k"),
    ("resnext101_32x8d", "resnext101_32x8d-110c445d.pth", "tv2_in1k"),
    # Trained with the V2 recipe, but torchvision only calls it IMAGENET1K_V1.
    ("resnext101_64x4d", "resnext101_64x4d-173b62eb.pth", "tv_in1k"),
]

# (our model, timm `<model>.<tag>`, evaluation resolution[, license when not timm's own]).
TIMM = [
    ("resnet18", "resnet18.a1_in1k", 288),
    ("resnet18", "resnet18.a2_in1k", 288),
    ("resnet18", "resnet18.a3_in1k", 224),
    ("resnet18", "resnet18.fb_ssl_yfcc100m_ft_in1k", 224, NC),
    ("resnet18", "resnet18.fb_swsl_ig1b_ft_in1k", 224, NC),
    ("resnet18", "resnet18.gluon_in1k", 224),
    ("resnet34", "resnet34.a1_in1k", 288),
    ("resnet34", "resnet34.a2_in1k", 288),
    ("resnet34", "resnet34.a3_in1k", 224),
    ("resnet34", "resnet34.bt_in1k", 288),
    ("resnet34", "resnet34.gluon_in1k", 224),
    ("resnet50b", "resnet50.a1_in1k", 288),
    ("resnet50b", "resnet50.a1h_in1k", 224),
    ("resnet50b", "resnet50.a2_in1k", 288),
    ("resnet50b", "resnet50.a3_in1k", 224),
    ("resnet50b", "resnet50.am_in1k", 224),
    ("resnet50b", "resnet50.b1k_in1k", 288),
    ("resnet50b", "resnet50.b2k_in1k", 288),
    ("resnet50b", "resnet50.bt_in1k", 288),
    ("resnet50b", "resnet50.c1_in1k", 288),
    ("resnet50b", "resnet50.c2_in1k", 288),
    ("resnet50b", "resnet50.d_in1k", 288),
    ("resnet50b", "resnet50.fb_ssl_yfcc100m_ft_in1k", 224, NC),
    ("resnet50b", "resnet50.fb_swsl_ig1b_ft_in1k", 224, NC),
    ("resnet50b", "resnet50.gluon_in1k", 224),
    ("resnet50b", "resnet50.ra_in1k", 288),
    ("resnet50b", "resnet50.ram_in1k", 288),
    ("resnet101b", "resnet101.a1_in1k", 288),
    ("resnet101b", "resnet101.a1h_in1k", 288),
    ("resnet101b", "resnet101.a2_in1k", 288),
    ("resnet101b", "resnet101.a3_in1k", 224),
    ("resnet101b", "resnet101.gluon_in1k", 224),
    ("resnet152b", "resnet152.a1_in1k", 288),
    ("resnet152b", "resnet152.a1h_in1k", 288),
    ("resnet152b", "resnet152.a2_in1k", 288),
    ("resnet152b", "resnet152.a3_in1k", 224),
    ("resnet152b", "resnet152.gluon_in1k", 224),
    ("resnet18d", "resnet18d.ra2_in1k", 288),
    ("resnet34d", "resnet34d.ra2_in1k", 288),
    ("resnet50d", "resnet50d.a1_in1k", 288),
    ("resnet50d", "resnet50d.a2_in1k", 288),
    ("resnet50d", "resnet50d.a3_in1k", 224),
    ("resnet50d", "resnet50d.gluon_in1k", 224),
    ("resnet50d", "resnet50d.ra2_in1k", 288),
    ("resnet101d", "resnet101d.gluon_in1k", 224),
    ("resnet101d", "resnet101d.ra2_in1k", 320),
    ("resnet152d", "resnet152d.gluon_in1k", 224),
    ("resnet152d", "resnet152d.ra2_in1k", 320),
    ("wideresnet50_2", "wide_resnet50_2.racm_in1k", 288),
    ("resnext50_32x4d", "resnext50_32x4d.a1_in1k", 288),
    ("resnext50_32x4d", "resnext50_32x4d.a1h_in1k", 288),
    ("resnext50_32x4d", "resnext50_32x4d.a2_in1k", 288),
    ("resnext50_32x4d", "resnext50_32x4d.a3_in1k", 224),
    ("resnext50_32x4d", "resnext50_32x4d.fb_ssl_yfcc100m_ft_in1k", 224, NC),
    ("resnext50_32x4d", "resnext50_32x4d.fb_swsl_ig1b_ft_in1k", 224, NC),
    ("resnext50_32x4d", "resnext50_32x4d.gluon_in1k", 224),
    ("resnext50_32x4d", "resnext50_32x4d.ra_in1k", 288),
    ("resnext101_32x8d", "resnext101_32x8d.fb_ssl_yfcc100m_ft_in1k", 224, NC),
    ("resnext101_32x8d", "resnext101_32x8d.fb_swsl_ig1b_ft_in1k", 224, NC),
    ("resnext101_32x8d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k", 224, NC),
    ("resnext101_64x4d", "resnext101_64x4d.c1_in1k", 288),
    ("resnext101_64x4d", "resnext101_64x4d.gluon_in1k", 224),
    ("seresnet50", "seresnet50.a1_in1k", 288),
    ("seresnet50", "seresnet50.a2_in1k", 288),
    ("seresnet50", "seresnet50.a3_in1k", 224),
    ("seresnet50", "seresnet50.ra2_in1k", 288),
    ("seresnext50_32x4d", "seresnext50_32x4d.gluon_in1k", 224),
    ("seresnext50_32x4d", "seresnext50_32x4d.racm_in1k", 288),
    ("seresnext101_32x4d", "seresnext101_32x4d.gluon_in1k", 224),
]
# fmt: on


def torchvision_row(model, filename, tag):
    return weights.WeightsEntry(
        model=model,
        tag=tag,
        url=TORCHVISION_URL + filename,
        file_hash=filename.rsplit("-", 1)[1].split(".")[0],
        layout="torchvision",
        preprocessing="torch",
        source="torchvision",
        license=TV_LICENSE,
    )


def timm_row(model, name, resolution, license=TIMM_LICENSE):
    return weights.WeightsEntry(
        model=model,
        tag="timm_" + name.split(".", 1)[1],
        url=HF_URL.format(name),
        file_hash=None,
        layout="timm",
        resolution=resolution,
        preprocessing="torch",
        source="timm",
        license=license,
    )


for _row in TORCHVISION:
    weights.register(torchvision_row(*_row))
for _row in TIMM:
    weights.register(timm_row(*_row))
