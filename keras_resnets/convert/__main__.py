"""Converts a local torchvision/timm checkpoint into a Keras `.weights.h5`, offline.

    python -m keras_resnets.convert --model resnet50b \\
        --checkpoint resnet50-11ad3fa6.pth --output resnet50b.weights.h5

The output loads with `keras_resnets.create_model("resnet50b", weights="out.weights.h5")`
(or `model.load_weights`); with `--include-top false` it fits `include_top=False` models.
Task models (e.g. deeplabv3_resnet50: `keras_resnets.list_models(task="segmentation")`)
take their checkpoint's classes and structure, so they need neither flag:

    python -m keras_resnets.convert --model deeplabv3_resnet50 \\
        --checkpoint deeplabv3_resnet50_coco-cd0a2569.pth --output deeplabv3_resnet50.weights.h5

loads with `create_model("deeplabv3_resnet50", weights="deeplabv3_resnet50.weights.h5")`
(the auxiliary head is left out, as `create_model` builds it by default).
"""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m keras_resnets.convert",
        description=(__doc__ or "").partition("\n\n")[0],  # no docstring under python -OO
        epilog="Models with a PyTorch layout: " + ", ".join(_convertible()),
    )
    parser.add_argument("--model", required=True, help="registry name, e.g. resnet50b")
    parser.add_argument(
        "--checkpoint", required=True, help="torchvision .pth or timm .safetensors file"
    )
    parser.add_argument("--output", required=True, help="file to write, ending in .weights.h5")
    parser.add_argument(
        "--include-top",
        default="true",
        choices=["true", "false"],
        help="keep the classifier (default true)",
    )
    parser.add_argument(
        "--classes",
        type=int,
        default=None,
        help="classifier size of the checkpoint (default: the model's, e.g. 10 for resnet20)",
    )
    args = parser.parse_args(argv)
    if not args.output.endswith(".weights.h5"):
        parser.error("--output must end in .weights.h5")

    from keras_resnets import convert, registry, task_models
    from keras_resnets.core import builder

    spec = registry.get_spec(args.model)
    include_top = args.include_top == "true"
    if isinstance(spec, task_models.TaskModelSpec):
        if args.classes is not None or not include_top:
            parser.error(f"{args.model} is a task model: it takes its checkpoint's classes and head, "
                         "so drop --classes and --include-top.")  # fmt: skip
        model = task_models.build(spec, weights=None)
    else:
        classes = args.classes or spec.classes
        model = builder.build_model(spec, weights=None, include_top=include_top, classes=classes)
    try:
        convert.load_checkpoint(model, args.checkpoint, spec)
    except convert.CheckpointMismatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    model.save_weights(args.output)
    print(f"wrote {args.output} ({spec.registry_name}, include_top={include_top})")
    return 0


def _convertible():
    from keras_resnets import registry

    # The keras.applications layouts (ResNet50, the V2 nets) have biased convolutions;
    # PyTorch-trained ones have none (a BN follows every convolution).
    backbones = [n for n in registry.list_models() if not registry.get_spec(n).use_bias]
    return backbones + registry.list_models(task="segmentation")


if __name__ == "__main__":
    sys.exit(main())
