"""Reference side of the DenseNet and DPN converter tests (torch only, no Keras).

    python tests/torch_reference_dense.py OUT_DIR
    python tests/torch_reference_dense.py --counts

Same protocol as `torch_reference.py` (whose batch, size and BatchNorm randomisation it
uses): a separate process, because torchvision crashes when imported after TensorFlow.
The torchvision DenseNet121 checkpoint is written with the key names of torchvision's
published files (`norm.1`, `conv.1`, ...), which its loader renames on the fly.
"""

import json
import re
import sys
from pathlib import Path

import timm
import torch
import torchvision

import torch_reference

# our name -> reference model (parameter counts for all; checkpoints for CASES)
REFERENCES = {
    **{f"densenet{d}": (lambda d=d: torchvision.models.get_model(f"densenet{d}")) for d in (121, 169, 201)},
    **{n: (lambda n=n: timm.create_model(n)) for n in ("dpn68", "dpn68b", "dpn92", "dpn98", "dpn107", "dpn131")},
    "timm_densenet121": lambda: timm.create_model("densenet121"),
}
CASES = {"densenet121": ".pth", "timm_densenet121": ".safetensors", "dpn68": ".safetensors", "dpn68b": ".safetensors"}
_NEW_KEY = re.compile(r"(denselayer\d+\.(?:norm|conv))([12])\.")


def published_densenet_keys(state):
    """torchvision's DenseNet state dict under the names of its published `.pth` files."""
    return {_NEW_KEY.sub(r"\1.\2.", k): v for k, v in state.items()}


def write_cases(out_dir):
    """torch_reference's cases, for our families."""
    torch_reference.REFERENCES, torch_reference.CASES = REFERENCES, CASES
    torch_reference.write_cases(out_dir)
    path = Path(out_dir) / "densenet121.pth"
    torch.save(published_densenet_keys(torch.load(path, weights_only=True)), path)


if __name__ == "__main__":
    if sys.argv[1] == "--counts":
        print(json.dumps({n: sum(p.numel() for p in b().parameters()) for n, b in REFERENCES.items()}))
    else:
        write_cases(sys.argv[1])
