"""Why residual networks work, checked on real data: the survey's claims as runnable studies.

    from keras_resnets import studies
    studies.lesion.run()                            # Veit et al. 2016, the real CIFAR-10 ResNet56
    studies.degradation.run(depths=(20, 56))        # He et al. 2015, Figure 6
    studies.gradients.run(depth=20)                 # gradient norms per layer, five shortcut kinds
    studies.gates.run(model="highwaynet20")         # Srivastava et al. 2015, transform gates

Each `run` writes `<output_dir>/study-<name>/results.json` and PNG figures, prints whether
the claim held in this run and by how much, and returns the results. `apps/study.py` is
their command line.

data: the images (the CIFAR-10 test set split 8,000/2,000 here, tfds CIFAR-10, photos).
nets: the compared nets by name (plainnet20, resnet56, preactresnet20, ...) at any width.
recipe: the one shared, resumable training recipe.
graph: blocks of a model, and the model with blocks deleted.
report: results.json, the printed summary, figures.
"""

from keras_resnets.studies import degradation, gates, gradients, lesion  # noqa: F401
