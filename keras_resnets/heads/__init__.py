"""Task heads on any keras_resnets backbone: the classifier (`classifier`), segmentation
decoders (`segmentation`) and detectors (`retinanet`), each behind the same input side
(`inputs.image_features`: Input -> Preprocess -> backbone). keras-cv, where a head uses it,
is imported in one module only (`keras_cv_parts`), so that it can be swapped for
keras-hub's maintained equivalents."""
