"""Check the survey's claims about why residual networks work, on real data, with figures.

    python apps/study.py degradation --depths 20,56       # He et al. 2015, Figure 6
    python apps/study.py gradients --depth 20             # per-layer gradient norms
    python apps/study.py lesion                           # Veit et al. 2016, real ResNet56
    python apps/study.py gates --model highwaynet20       # Srivastava et al. 2015

Each writes results.json and PNG figures to <output-dir>/study-<name>/ and prints whether
the claim held in this run, and by how much. Nets train with one shared recipe
(keras_resnets.studies.recipe), checkpointed every epoch: the same command run again
resumes. Here only the 10,000 CIFAR-10 test images exist: training studies use 8,000 of
them and evaluate on the other 2,000 (--data cifar10 takes tensorflow-datasets' full set
where the network allows). The lesion study's default ResNet56 loads the real CIFAR-10
weights: put resnet56-4bfd9763.th (../shared/data/cifar10-pretrained/) in ~/.keras/models/.

Exit status: 0 done (whether or not the claim held), 2 bad options or data.
"""

import argparse
import sys

# Parsing only: TensorFlow loads once the arguments have been read.
from keras_resnets.training import cli
from keras_resnets.training.errors import OptionError, RunConfigError

ALL_FAMILIES = "plainnet,highwaynet,resnet,preactresnet,weightedresnet"


def weights(value):
    return None if value.lower() == "none" else value


def names(value):
    return [v.strip() for v in value.split(",") if v.strip()]


def common(parser, limit=None):
    add = parser.add_argument
    add("--data", default="../shared/data/cifar10-test",
        help="cifar10 (tensorflow-datasets), a folder with the CIFAR-10 test-set .npz, or a "
        "folder of <class>/<image> photos (default: %(default)s)")
    add("--limit", type=int, default=limit, help="evaluate on the first N images (0: all; default: %(default)s)")
    add("--output-dir", default="runs", help="results go to <dir>/study-<name>/ (default: runs)")
    add("--epochs", type=int, default=10, help="training epochs per net (default: %(default)s)")
    add("--width", type=int, default=16, help="filters of the first stage (default: the papers' 16)")
    add("--train-images", type=int, help="train on the first N training images only")
    add("--batch-size", type=int, default=128, help="(default: %(default)s)")
    add("--lr", type=float, default=0.1, help="peak learning rate (default: %(default)s)")
    add("--seed", type=int, default=0, help="(default: %(default)s)")


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="study", required=True)
    p = sub.add_parser("degradation", help="plain vs residual nets of growing depth: error against epochs")
    p.add_argument("--model", type=names, default=["plainnet", "resnet"],
                   help="families, plainnet among them (default: plainnet,resnet)")
    p.add_argument("--depths", type=lambda v: [int(d) for d in names(v)], default=[20, 56],
                   help="6n+2 depths (default: 20,56)")
    common(p)
    p = sub.add_parser("gradients", help="per-layer gradient norms at initialisation and during training")
    p.add_argument("--model", type=names, default=names(ALL_FAMILIES), help=f"families (default: {ALL_FAMILIES})")
    p.add_argument("--depth", type=int, default=20, help="one 6n+2 depth for all (default: %(default)s)")
    p.add_argument("--probe-images", type=int, default=256,
                   help="training images the gradients are taken on (default: %(default)s)")
    common(p, limit=None)
    p = sub.add_parser("lesion", help="delete blocks at test time: residual vs plain net")
    p.add_argument("--model", default="resnet56", help="the residual net (default: %(default)s)")
    p.add_argument("--weights", type=weights, default="cifar10",
                   help="its weights: a tag, a file, or none to train it here (default: %(default)s)")
    p.add_argument("--plain", type=weights, default="plainnet20", help="the plain net, or none (default: %(default)s)")
    p.add_argument("--plain-weights", type=weights, help="its weights file; by default it is trained here")
    p.add_argument("--k-max", type=int, default=10, help="delete up to k random blocks (default: %(default)s)")
    p.add_argument("--samples", type=int, default=3, help="random draws per k (default: %(default)s)")
    common(p, limit=2000)
    p = sub.add_parser("gates", help="transform-gate statistics of a trained highway net, per block")
    p.add_argument("--model", default="highwaynet20", help="a highway net (default: %(default)s)")
    p.add_argument("--weights", type=weights, help="trained weights file; by default it is trained here")
    common(p)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    cli.import_backend()
    from keras_resnets import studies
    from keras_resnets.studies.recipe import Recipe

    recipe = Recipe(epochs=args.epochs, width=args.width, batch_size=args.batch_size, lr=args.lr,
                    train_images=args.train_images, seed=args.seed)  # fmt: skip
    shared = dict(data=args.data, limit=args.limit or None, recipe=recipe, output_dir=args.output_dir)
    try:
        if args.study == "degradation":
            studies.degradation.run(families=args.model, depths=args.depths, **shared)
        elif args.study == "gradients":
            studies.gradients.run(
                families=args.model, depth=args.depth, probe_images=args.probe_images, **shared
            )
        elif args.study == "lesion":
            studies.lesion.run(
                model=args.model, weights=args.weights, plain=args.plain, plain_weights=args.plain_weights,
                k_max=args.k_max, samples=args.samples, **shared,
            )  # fmt: skip
        else:
            studies.gates.run(model=args.model, weights=args.weights, **shared)
    except RunConfigError as exc:
        sys.exit(f"error: {exc} Delete that folder to start again, or pick another --output-dir.")
    except (OptionError, ValueError) as exc:
        sys.exit(f"error: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
