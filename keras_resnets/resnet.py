"""ResNet v1 (He et al. 2015, "Deep Residual Learning for Image Recognition"), keras.applications' layout.

ResNet50/101/152 reproduce keras.applications' layout exactly (stride in the first 1x1,
biased convolutions), so the official Keras ImageNet files load, and they take its
"caffe" preprocessing: `preprocess_input` here. The torchvision-layout ResNets
(ResNet18/34, ResNet-B/D) are in `keras_resnets.resnet_bd`, with "torch" preprocessing.
"""

from keras_resnets import imagenet
from keras_resnets.core.entrypoint import entrypoint
from keras_resnets.core.specs import Spec

PAPER = "He et al. 2015, arXiv:1512.03385"

ResNet50 = entrypoint(Spec("ResNet50", depths=(3, 4, 6, 3), paper=PAPER), __name__)
ResNet101 = entrypoint(Spec("ResNet101", depths=(3, 4, 23, 3), paper=PAPER), __name__)
ResNet152 = entrypoint(Spec("ResNet152", depths=(3, 8, 36, 3), paper=PAPER), __name__)

preprocess_input = imagenet.preprocessor("caffe")
decode_predictions = imagenet.decode_predictions
