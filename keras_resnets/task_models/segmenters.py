"""torchvision's COCO-VOC segmenters (DeepLabV3, FCN on ResNet-50/101) as Keras models; see SPECS."""

SPECS = ()
