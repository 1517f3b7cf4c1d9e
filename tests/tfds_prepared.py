"""Real prepared tensorflow-datasets sets, made offline from the workplace's shared photos.

tfds' own mock data cannot stand in for the detection and segmentation sets once their
images stay encoded (its generator draws boxes with min > max, and its voc/coco mocks have
no metadata offline). So these run tfds' real builders (`oxford_iiit_pet`, `voc/2007`) over
a small folder laid out as the official download unpacks, with only tfds'
`download_and_extract` pointed at that folder: the tfrecord files, dataset_info.json and
features are tfds' own, and `tasks.data.prepared_builder` finds them prepared.

The content is real photos with labels carried over from COCO: detection-mini's boxes of
the 20 COCO classes that VOC also has, and segmentation-mini's masks as pets' trimaps (a
COCO "thing" pixel is "pet", a "stuff" pixel "background", a void pixel "border").
"""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

# COCO names of the VOC classes, where they differ.
VOC_NAMES = {
    "airplane": "aeroplane", "motorcycle": "motorbike", "dining table": "diningtable",
    "potted plant": "pottedplant", "couch": "sofa", "tv": "tvmonitor",
}  # fmt: skip
VOC_CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable",
    "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip
COCO_THINGS = 80  # segmentation-mini's classes 0-79 are COCO's things, 80-132 its stuff


def prepare(name, download, data_dir, monkeypatch):
    """tfds' builder of `name` prepared in `data_dir` from the unpacked `download` folder."""
    import tensorflow_datasets as tfds

    monkeypatch.setattr(
        tfds.download.DownloadManager, "download_and_extract", lambda self, urls: {key: str(download) for key in urls}
    )  # fmt: skip
    builder = tfds.builder(name, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    return builder


def voc_download(detection_mini, folder, count):
    """VOCdevkit/VOC2007 of the first `count` detection-mini photos with a VOC class: every
    image in train, val and test (a split's order is tfds', not the files')."""
    import json
    import shutil

    coco = json.loads((detection_mini / "annotations.json").read_text())
    names = {c["id"]: VOC_NAMES.get(c["name"], c["name"]) for c in coco["categories"]}
    boxes = {}
    for a in coco["annotations"]:
        if names[a["category_id"]] in VOC_CLASSES and not a["iscrowd"]:
            boxes.setdefault(a["image_id"], []).append((names[a["category_id"]], a["bbox"]))
    root = Path(folder) / "VOCdevkit" / "VOC2007"
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    ids = []
    for image in coco["images"]:
        if image["id"] not in boxes or len(ids) == count:
            continue
        stem = Path(image["file_name"]).stem
        shutil.copy(detection_mini / "images" / image["file_name"], root / "JPEGImages" / f"{stem}.jpg")
        _voc_annotation(root / "Annotations" / f"{stem}.xml", image, boxes[image["id"]])
        ids.append(stem)
    for split in ("train", "val", "test"):
        (root / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
    return ids


def _voc_annotation(path, image, objects):
    annotation = ET.Element("annotation")
    size = ET.SubElement(annotation, "size")
    for key in ("width", "height"):
        ET.SubElement(size, key).text = str(image[key])
    for name, (x, y, w, h) in objects:
        obj = ET.SubElement(annotation, "object")
        for key, text in (("name", name), ("pose", "Unspecified"), ("truncated", "0"), ("difficult", "0")):
            ET.SubElement(obj, key).text = text
        box = ET.SubElement(obj, "bndbox")
        for key, value in (("xmin", x), ("ymin", y), ("xmax", x + w), ("ymax", y + h)):
            ET.SubElement(box, key).text = f"{value:.2f}"
    ET.ElementTree(annotation).write(path)


def pets_download(segmentation_mini, folder, count):
    """images/ and annotations/ (trainval.txt, test.txt, trimaps/) of the first `count`
    segmentation-mini photos, each in both splits; returns their stems."""
    import shutil

    from PIL import Image

    images = Path(folder) / "images"
    trimaps = Path(folder) / "annotations" / "trimaps"
    images.mkdir(parents=True)
    trimaps.mkdir(parents=True)
    stems = sorted(p.stem for p in (segmentation_mini / "images").glob("*.jpg"))[:count]
    for stem in stems:
        shutil.copy(segmentation_mini / "images" / f"{stem}.jpg", images / f"{stem}.jpg")
        mask = np.asarray(Image.open(segmentation_mini / "masks" / f"{stem}.png"))
        Image.fromarray(trimap(mask)).save(trimaps / f"{stem}.png")
    lines = "".join(f"{stem} 1 1 1\n" for stem in stems)  # name, breed, species, breed id
    for split in ("trainval", "test"):
        (Path(folder) / "annotations" / f"{split}.txt").write_text(lines)
    return stems


def trimap(mask):
    """A COCO class map as pets' trimap values: 1 pet (thing), 2 background (stuff), 3 border (void)."""
    return np.where(mask == 255, 3, np.where(mask < COCO_THINGS, 1, 2)).astype(np.uint8)
