"""Every pretrained file the package knows, as one literal table, read top to bottom.

Order matters only within a model: its first row is the first tag `model_info` lists, and
its default weights unless it has an "imagenet" row (`keras_resnets.weights.select`).

Sources:
    "imagenet"    keras.applications' official `.h5` files (ResNet, ResNetV2, DenseNet) and
                  keras_applications' (Keras 2) ResNeXt files; same URLs and MD5s as Keras
    "tv_in1k"     torchvision IMAGENET1K_V1 (the original recipes)
    "tv2_in1k"    torchvision IMAGENET1K_V2 (the 2021 "new training recipe")
    "timm_<tag>"  timm's `<model>.<tag>` weights on Hugging Face (e.g. "timm_a1_in1k")
    "tv_coco_voc" torchvision COCO_WITH_VOC_LABELS_V1 (its DeepLabV3 and FCN segmenters)
    "tv_coco"     torchvision's COCO detection weights (COCO_V1)
    "cifar10"     akamaster/pytorch_resnet_cifar10's checkpoints (commit d5489e8)

The torchvision and timm rows are every ImageNet-1k weight of torchvision 0.29.1's
`get_model_weights` and timm 1.0.31's `list_pretrained` for our architectures, keeping only
those with 1000 classes and the standard ImageNet mean/std ("torch" preprocessing; DPN's
MXNet weights: "dpn"); timm's copies of torchvision files (`.tv_in1k`, `.tv2_in1k`) are left
to the torchvision rows. Resolution is the evaluation size: timm's `test_input_size`, else
its `input_size`. ResNet110/1202 have akamaster checkpoints too, but their full hashes could
not be verified here, so they have no row.
"""

from keras_resnets.weights.entry import (
    NC,
    akamaster_row,
    keras_applications_row,
    timm_row,
    torchvision_row,
)

SEGMENTER = dict(layout="tv_segmentation", classes=21, resolution=520, labels="voc")

# fmt: off
ROWS = [
    # keras.applications (legacy .h5, loaded by layer order)
    keras_applications_row("resnet50", "2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626", "caffe"),
    keras_applications_row("resnet101", "f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21", "caffe"),
    keras_applications_row("resnet152", "100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c", "caffe"),
    keras_applications_row("resnet50v2", "3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917", "tf"),
    keras_applications_row("resnet101v2", "6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5", "tf"),
    keras_applications_row("resnet152v2", "a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33", "tf"),
    keras_applications_row("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738", "torch", folder="densenet"),
    keras_applications_row("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b", "torch", folder="densenet"),
    keras_applications_row("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1", "torch", folder="densenet"),
    # keras_applications' ResNeXt-32x4d (Keras 2; "torch" preprocessing, unlike its ResNets)
    keras_applications_row("resnext50", "67a5b30d522ed92f75a1f16eef299d1a", "62527c363bdd9ec598bed41947b379fc", "torch", layout="keras2_resnext"),
    keras_applications_row("resnext101", "34fb605428fcc7aa4d62f44404c11509", "0f678c91647380debd923963594981b3", "torch", layout="keras2_resnext"),
    # torchvision (the SHA-256 prefix in each file name is checked)
    # resnext101_64x4d was trained with the V2 recipe, but torchvision only calls it IMAGENET1K_V1.
    torchvision_row("resnet18", "resnet18-f37072fd.pth", "tv_in1k"),
    torchvision_row("resnet34", "resnet34-b627a593.pth", "tv_in1k"),
    torchvision_row("resnet50b", "resnet50-0676ba61.pth", "tv_in1k"),
    torchvision_row("resnet50b", "resnet50-11ad3fa6.pth", "tv2_in1k"),
    torchvision_row("resnet101b", "resnet101-63fe2227.pth", "tv_in1k"),
    torchvision_row("resnet101b", "resnet101-cd907fc2.pth", "tv2_in1k"),
    torchvision_row("resnet152b", "resnet152-394f9c45.pth", "tv_in1k"),
    torchvision_row("resnet152b", "resnet152-f82ba261.pth", "tv2_in1k"),
    torchvision_row("wideresnet50_2", "wide_resnet50_2-95faca4d.pth", "tv_in1k"),
    torchvision_row("wideresnet50_2", "wide_resnet50_2-9ba9bcbe.pth", "tv2_in1k"),
    torchvision_row("wideresnet101_2", "wide_resnet101_2-32ee1156.pth", "tv_in1k"),
    torchvision_row("wideresnet101_2", "wide_resnet101_2-d733dc28.pth", "tv2_in1k"),
    torchvision_row("resnext50_32x4d", "resnext50_32x4d-7cdf4587.pth", "tv_in1k"),
    torchvision_row("resnext50_32x4d", "resnext50_32x4d-1a0047aa.pth", "tv2_in1k"),
    torchvision_row("resnext101_32x8d", "resnext101_32x8d-8ba56ff5.pth", "tv_in1k"),
    torchvision_row("resnext101_32x8d", "resnext101_32x8d-110c445d.pth", "tv2_in1k"),
    torchvision_row("resnext101_64x4d", "resnext101_64x4d-173b62eb.pth", "tv_in1k"),
    torchvision_row("densenet121", "densenet121-a639ec97.pth", "tv_in1k", layout="torch_densenet"),
    torchvision_row("densenet169", "densenet169-b2777c0a.pth", "tv_in1k", layout="torch_densenet"),
    torchvision_row("densenet201", "densenet201-c1103571.pth", "tv_in1k", layout="torch_densenet"),
    # torchvision's segmenters, trained on the COCO train2017 images of the 20 VOC classes
    # (`tv_coco_voc`); num_params and the figures are torchvision's meta (aux head included).
    torchvision_row("deeplabv3_resnet50", "deeplabv3_resnet50_coco-cd0a2569.pth", "tv_coco_voc", **SEGMENTER, published="COCO val2017 (20 VOC classes) mIoU 66.4, pixel acc 92.4; 42,004,074 params (torchvision)"),
    torchvision_row("deeplabv3_resnet101", "deeplabv3_resnet101_coco-586e9e4e.pth", "tv_coco_voc", **SEGMENTER, published="COCO val2017 (20 VOC classes) mIoU 67.4, pixel acc 92.4; 60,996,202 params (torchvision)"),
    torchvision_row("fcn_resnet50", "fcn_resnet50_coco-1167a1af.pth", "tv_coco_voc", **SEGMENTER, published="COCO val2017 (20 VOC classes) mIoU 60.5, pixel acc 91.4; 35,322,218 params (torchvision)"),
    torchvision_row("fcn_resnet101", "fcn_resnet101_coco-7ecb50ca.pth", "tv_coco_voc", **SEGMENTER, published="COCO val2017 (20 VOC classes) mIoU 63.7, pixel acc 91.9; 54,314,346 params (torchvision)"),
    # torchvision's COCO detectors; it evaluates them resized to a shorter side of 800 (longer <= 1333)
    torchvision_row("retinanet_resnet50_fpn", "retinanet_resnet50_fpn_coco-eeacb38b.pth", "tv_coco", layout="tv_retinanet",
                    classes=91, resolution=800, labels="coco", published="COCO val2017 box AP 36.4 (torchvision)"),
    torchvision_row("retinanet_resnet50_fpn_v2", "retinanet_resnet50_fpn_v2_coco-5905b1c5.pth", "tv_coco", layout="tv_retinanet",
                    classes=91, resolution=800, labels="coco", published="COCO val2017 box AP 41.5 (torchvision)"),
    torchvision_row("fcos_resnet50_fpn", "fcos_resnet50_fpn_coco-99b0c9b7.pth", "tv_coco", layout="tv_fcos",
                    classes=91, resolution=800, labels="coco", published="COCO val2017 box AP 39.2 (torchvision)"),
    # timm `<model>.<tag>` on Hugging Face, at its evaluation resolution
    timm_row("resnet18", "resnet18.a1_in1k", 288),
    timm_row("resnet18", "resnet18.a2_in1k", 288),
    timm_row("resnet18", "resnet18.a3_in1k", 224),
    timm_row("resnet18", "resnet18.fb_ssl_yfcc100m_ft_in1k", 224, license=NC),
    timm_row("resnet18", "resnet18.fb_swsl_ig1b_ft_in1k", 224, license=NC),
    timm_row("resnet18", "resnet18.gluon_in1k", 224),
    timm_row("resnet34", "resnet34.a1_in1k", 288),
    timm_row("resnet34", "resnet34.a2_in1k", 288),
    timm_row("resnet34", "resnet34.a3_in1k", 224),
    timm_row("resnet34", "resnet34.bt_in1k", 288),
    timm_row("resnet34", "resnet34.gluon_in1k", 224),
    timm_row("resnet50b", "resnet50.a1_in1k", 288),
    timm_row("resnet50b", "resnet50.a1h_in1k", 224),
    timm_row("resnet50b", "resnet50.a2_in1k", 288),
    timm_row("resnet50b", "resnet50.a3_in1k", 224),
    timm_row("resnet50b", "resnet50.am_in1k", 224),
    timm_row("resnet50b", "resnet50.b1k_in1k", 288),
    timm_row("resnet50b", "resnet50.b2k_in1k", 288),
    timm_row("resnet50b", "resnet50.bt_in1k", 288),
    timm_row("resnet50b", "resnet50.c1_in1k", 288),
    timm_row("resnet50b", "resnet50.c2_in1k", 288),
    timm_row("resnet50b", "resnet50.d_in1k", 288),
    timm_row("resnet50b", "resnet50.fb_ssl_yfcc100m_ft_in1k", 224, license=NC),
    timm_row("resnet50b", "resnet50.fb_swsl_ig1b_ft_in1k", 224, license=NC),
    timm_row("resnet50b", "resnet50.gluon_in1k", 224),
    timm_row("resnet50b", "resnet50.ra_in1k", 288),
    timm_row("resnet50b", "resnet50.ram_in1k", 288),
    timm_row("resnet101b", "resnet101.a1_in1k", 288),
    timm_row("resnet101b", "resnet101.a1h_in1k", 288),
    timm_row("resnet101b", "resnet101.a2_in1k", 288),
    timm_row("resnet101b", "resnet101.a3_in1k", 224),
    timm_row("resnet101b", "resnet101.gluon_in1k", 224),
    timm_row("resnet152b", "resnet152.a1_in1k", 288),
    timm_row("resnet152b", "resnet152.a1h_in1k", 288),
    timm_row("resnet152b", "resnet152.a2_in1k", 288),
    timm_row("resnet152b", "resnet152.a3_in1k", 224),
    timm_row("resnet152b", "resnet152.gluon_in1k", 224),
    timm_row("resnet18d", "resnet18d.ra2_in1k", 288),
    timm_row("resnet26d", "resnet26d.bt_in1k", 288),
    timm_row("resnet34d", "resnet34d.ra2_in1k", 288),
    timm_row("resnet50d", "resnet50d.a1_in1k", 288),
    timm_row("resnet50d", "resnet50d.a2_in1k", 288),
    timm_row("resnet50d", "resnet50d.a3_in1k", 224),
    timm_row("resnet50d", "resnet50d.gluon_in1k", 224),
    timm_row("resnet50d", "resnet50d.ra2_in1k", 288),
    timm_row("resnet101d", "resnet101d.gluon_in1k", 224),
    timm_row("resnet101d", "resnet101d.ra2_in1k", 320),
    timm_row("resnet152d", "resnet152d.gluon_in1k", 224),
    timm_row("resnet152d", "resnet152d.ra2_in1k", 320),
    timm_row("wideresnet50_2", "wide_resnet50_2.racm_in1k", 288),
    timm_row("resnext50_32x4d", "resnext50_32x4d.a1_in1k", 288),
    timm_row("resnext50_32x4d", "resnext50_32x4d.a1h_in1k", 288),
    timm_row("resnext50_32x4d", "resnext50_32x4d.a2_in1k", 288),
    timm_row("resnext50_32x4d", "resnext50_32x4d.a3_in1k", 224),
    timm_row("resnext50_32x4d", "resnext50_32x4d.fb_ssl_yfcc100m_ft_in1k", 224, license=NC),
    timm_row("resnext50_32x4d", "resnext50_32x4d.fb_swsl_ig1b_ft_in1k", 224, license=NC),
    timm_row("resnext50_32x4d", "resnext50_32x4d.gluon_in1k", 224),
    timm_row("resnext50_32x4d", "resnext50_32x4d.ra_in1k", 288),
    timm_row("resnext101_32x8d", "resnext101_32x8d.fb_ssl_yfcc100m_ft_in1k", 224, license=NC),
    timm_row("resnext101_32x8d", "resnext101_32x8d.fb_swsl_ig1b_ft_in1k", 224, license=NC),
    timm_row("resnext101_32x8d", "resnext101_32x8d.fb_wsl_ig1b_ft_in1k", 224, license=NC),
    timm_row("resnext101_64x4d", "resnext101_64x4d.c1_in1k", 288),
    timm_row("resnext101_64x4d", "resnext101_64x4d.gluon_in1k", 224),
    timm_row("seresnet50", "seresnet50.a1_in1k", 288),
    timm_row("seresnet50", "seresnet50.a2_in1k", 288),
    timm_row("seresnet50", "seresnet50.a3_in1k", 224),
    timm_row("seresnet50", "seresnet50.ra2_in1k", 288),
    timm_row("seresnext50_32x4d", "seresnext50_32x4d.gluon_in1k", 224),
    timm_row("seresnext50_32x4d", "seresnext50_32x4d.racm_in1k", 288),
    timm_row("seresnext101_32x4d", "seresnext101_32x4d.gluon_in1k", 224),
    timm_row("densenet121", "densenet121.ra_in1k", 288, layout="torch_densenet"),
    timm_row("dpn68", "dpn68.mx_in1k", 224, layout="timm_dpn", preprocessing="dpn"),
    timm_row("dpn68b", "dpn68b.mx_in1k", 224, layout="timm_dpn", preprocessing="dpn"),
    timm_row("dpn68b", "dpn68b.ra_in1k", 288, layout="timm_dpn"),
    timm_row("dpn92", "dpn92.mx_in1k", 224, layout="timm_dpn", preprocessing="dpn"),
    timm_row("dpn98", "dpn98.mx_in1k", 224, layout="timm_dpn", preprocessing="dpn"),
    timm_row("dpn107", "dpn107.mx_in1k", 224, layout="timm_dpn", preprocessing="dpn"),
    timm_row("dpn131", "dpn131.mx_in1k", 224, layout="timm_dpn", preprocessing="dpn"),
    # akamaster CIFAR-10 (full SHA-256; the file name carries its first 8 hex digits)
    akamaster_row("resnet20", "resnet20-12fca82f.th", "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8"),
    akamaster_row("resnet32", "resnet32-d509ac18.th", "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850"),
    akamaster_row("resnet44", "resnet44-014dd654.th", "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4"),
    akamaster_row("resnet56", "resnet56-4bfd9763.th", "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"),
]
# fmt: on
