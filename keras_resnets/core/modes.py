"""The preprocessing modes of `keras_resnets.imagenet.preprocess_input` (keras' imagenet_utils
modes and DPN's), in a module that imports nothing, so that specs, weights rows and command
lines name them without loading Keras."""

PREPROCESSING_MODES = ("caffe", "tf", "torch", "dpn")
