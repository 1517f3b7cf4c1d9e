"""torchvision's COCO detectors (RetinaNet v1/v2, FCOS) as Keras models; see SPECS."""

SPECS = ()
