"""Prints timm's per-block drop-path rates of a ResNet as JSON, keyed by our block names.

Run by tests/test_drop_path.py in a torch-only process (`helpers.run_reference`):
timm and torchvision crash when imported after TensorFlow.
    python tests/timm_drop_path.py resnet50 0.1
"""

import json
import sys

import timm


def main(name, rate):
    model = timm.create_model(name, pretrained=False, drop_path_rate=rate)
    rates = {}
    for stage in range(1, 5):
        for i, block in enumerate(getattr(model, f"layer{stage}")):
            drop = block.drop_path
            rates[f"conv{stage + 1}_block{i + 1}"] = 0.0 if drop is None else drop.drop_prob
    print(json.dumps(rates))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
