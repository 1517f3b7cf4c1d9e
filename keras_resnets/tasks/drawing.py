"""Predictions drawn over the photo at its own size (Pillow): boxes with class names and
scores, and class masks blended with a legend, saved as PNG (`tasks.prediction`).

Colours are a fixed palette by class index (matplotlib's 20 "tab20" colours, dark
shades first), so a class has the same colour in every picture.
"""

import numpy as np

from keras_resnets.tasks.segmentation_report import blend

LEGEND_WIDTH = 220  # pixels of the legend strip right of a segmentation picture
LEGEND_ROW = 18


def palette(count):
    """(count, 3) uint8: a fixed colour per class index."""
    from matplotlib import colormaps

    table = (np.asarray(colormaps["tab20"].colors) * 255).astype(np.uint8)
    return np.stack([table[(2 * i + i // 10) % 20] for i in range(count)]) if count else np.zeros((0, 3), np.uint8)


def read_photo(path):
    """The photo as (H, W, 3) uint8 RGB, oriented as TensorFlow decodes it (no EXIF turn)."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _font(size):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one size
        return ImageFont.load_default()


def draw_detections(photo, detections, path):
    """`photo` with each COCO result's box ([x, y, w, h] in its pixels) outlined in its
    class's colour and labelled "name score"; saved as PNG at `path`."""
    from PIL import Image, ImageDraw

    picture = Image.fromarray(photo)
    draw = ImageDraw.Draw(picture)
    line = max(2, round(min(photo.shape[:2]) / 200))
    font = _font(max(11, round(min(photo.shape[:2]) / 40)))
    colours = palette(max([d["category_id"] for d in detections], default=0) + 1)
    for d in sorted(detections, key=lambda d: d["score"]):  # the best drawn last, on top
        x, y, w, h = d["bbox"]
        colour = tuple(int(c) for c in colours[d["category_id"]])
        draw.rectangle([x, y, x + w, y + h], outline=colour, width=line)
        text = f"{d['category_name']} {d['score']:.2f}"
        anchor = "lb"  # above the box ...
        if draw.textbbox((x, y), text, font=font, anchor=anchor)[1] < 0:
            anchor = "lt"  # ... or, without room there, just inside its top
        left, top, right, bottom = draw.textbbox((x, y), text, font=font, anchor=anchor)
        draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=colour)
        draw.text((x, y), text, fill="black", font=font, anchor=anchor)
    picture.save(path, format="PNG")


def draw_segmentation(photo, mask, class_names, path):
    """`photo` with `mask`'s class colours blended over it and, on its right, a legend of
    the classes present (largest first); saved as PNG at `path`."""
    from PIL import Image, ImageDraw

    colours = palette(len(class_names))
    blended = blend(photo, mask, colours)
    counts = np.bincount(mask.ravel(), minlength=len(class_names))
    present = [int(i) for i in np.argsort(-counts, kind="stable") if counts[i]]
    height, width = mask.shape
    rows = max(height, LEGEND_ROW * (len(present) + 1))
    picture = Image.new("RGB", (width + LEGEND_WIDTH, rows), "white")
    picture.paste(Image.fromarray(blended), (0, 0))
    draw = ImageDraw.Draw(picture)
    font = _font(12)
    for row, index in enumerate(present):
        top = 6 + row * LEGEND_ROW
        draw.rectangle([width + 8, top, width + 22, top + 12], fill=tuple(int(c) for c in colours[index]))
        share = counts[index] / mask.size
        draw.text((width + 28, top), f"{class_names[index]} {share:.1%}", fill="black", font=font)
    picture.save(path, format="PNG")
