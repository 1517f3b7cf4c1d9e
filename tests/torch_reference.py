"""Reference side of the converter tests, run in its own process (torch only, no Keras).

    python tests/torch_reference.py OUT_DIR

For every case it builds the torchvision/timm model with random weights (BatchNorm
statistics included), saves its state dict the way that library publishes it (`.pth`
or `.safetensors`), and the logits of one fixed batch. A separate process because
importing torchvision after TensorFlow crashes the interpreter (segfault, torch 2.14.1 /
TF 2.21.0), and so that every Keras backend compares against the same files.

    python tests/torch_reference.py --counts

prints the parameter counts of all references (`REFERENCES`) as JSON.
"""

import json
import sys
from pathlib import Path

import numpy as np
import timm
import torch
import torchvision
from safetensors.torch import save_file
from timm.models.resnet import Bottleneck, ResNet

SIZE = 72  # odd maps (9, 5, 3) after the stem, so padding and ceil-mode pooling matter
BATCH = 2


def cbam_resnet50():
    # timm publishes no CBAM ResNet; its ResNet class takes CBAM as a block option.
    return ResNet(Bottleneck, [3, 4, 6, 3], block_args={"attn_layer": "cbam"})


def _torchvision(name):
    return lambda: torchvision.models.get_model(name)


def _timm(name):
    return lambda: timm.create_model(name)


# our name -> the reference model of every entrypoint with a torchvision/timm counterpart
REFERENCES = {
    "resnet18": _torchvision("resnet18"),
    **{f"resnet{d}b": _torchvision(f"resnet{d}") for d in (50, 101, 152)},
    **{f"resnet{d}d": _timm(f"resnet{d}d") for d in (18, 26, 34, 50, 101, 152)},
    "wideresnet50_2": _torchvision("wide_resnet50_2"),
    "wideresnet101_2": _torchvision("wide_resnet101_2"),
    **{n: _torchvision(n) for n in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d")},
    **{f"seresnet{d}": _timm(f"seresnet{d}") for d in (18, 34, 50, 101, 152)},
    "seresnext50_32x4d": _timm("seresnext50_32x4d"),
    "seresnext101_32x4d": _timm("seresnext101_32x4d"),
    "cbamresnet50": cbam_resnet50,
}
# The converter cases (the smallest depth of each family), saved as each library does.
CASES = {
    "resnet18": ".pth",
    "resnet50b": ".pth",
    "wideresnet50_2": ".pth",
    "resnext50_32x4d": ".pth",
    "resnet50d": ".safetensors",
    "seresnet18": ".safetensors",
    "seresnet50": ".safetensors",
    "cbamresnet50": ".safetensors",
}


def randomize_batch_norm(model, generator):
    """Non-trivial BN statistics, scaled so that the logits stay of order one."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) * 0.3 + 0.2)
                module.bias.copy_(torch.rand(n, generator=generator) * 0.4 - 0.2)
                module.running_mean.copy_(torch.rand(n, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(n, generator=generator) + 1.0)
    return model.eval()


def write_cases(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = np.random.default_rng(0).normal(size=(BATCH, 3, SIZE, SIZE)).astype("float32")
    np.save(out_dir / "images_nchw.npy", images)
    for name, suffix in CASES.items():
        torch.manual_seed(0)
        model = randomize_batch_norm(REFERENCES[name](), torch.Generator().manual_seed(1))
        state = model.state_dict()
        if suffix == ".pth":
            torch.save(state, out_dir / f"{name}.pth")
        else:
            save_file({k: v.contiguous() for k, v in state.items()}, out_dir / f"{name}.safetensors")
        with torch.no_grad():
            np.save(out_dir / f"{name}_logits.npy", model(torch.from_numpy(images)).numpy())


if __name__ == "__main__":
    if sys.argv[1] == "--counts":
        print(json.dumps({n: sum(p.numel() for p in b().parameters()) for n, b in REFERENCES.items()}))
    else:
        write_cases(sys.argv[1])
