"""Task heads on the feature pyramid of any keras_resnets backbone (`keras_resnets.features`):
segmentation decoders (`segmentation`) and detectors (`retinanet`). keras-cv, where a head
uses it, is imported in one module only (`keras_cv_parts`), so that it can be swapped for
keras-hub's maintained equivalents."""
