"""Preprocessing per family and offline ImageNet label decoding."""

import csv

import numpy as np
import pytest
from keras.applications import resnet as keras_resnet
from keras.applications import resnet_v2 as keras_resnet_v2

import keras_resnets as kr
from helpers import shared_data


def test_preprocessing_matches_the_weights_training_mode():
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(
        kr.resnet.preprocess_input(images.copy()), keras_resnet.preprocess_input(images.copy())
    )
    np.testing.assert_allclose(
        kr.resnet_v2.preprocess_input(images.copy()), keras_resnet_v2.preprocess_input(images.copy())
    )
    np.testing.assert_allclose(
        kr.preprocess_input(images.copy(), "resnet50v2"), images / 127.5 - 1.0, atol=1e-6
    )
    with pytest.raises(ValueError, match="Unknown preprocessing mode"):
        kr.imagenet.preprocess_input(images, mode="bgr")


def test_decode_predictions_offline():
    preds = np.zeros((2, 1000), "float32")
    preds[0, 0], preds[0, 1] = 0.9, 0.1
    preds[1, 999] = 1.0
    top = kr.decode_predictions(preds, top=2)
    assert top[0] == [("n01440764", "tench", pytest.approx(0.9)), ("n01443537", "goldfish", pytest.approx(0.1))]
    assert top[1][0][:2] == ("n15075141", "toilet_tissue")
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        kr.decode_predictions(np.zeros((2, 10)))


def test_class_index_agrees_with_the_imagenet_sample_labels():
    folder = shared_data("imagenet-sample")
    index = kr.imagenet.class_index()
    with open(folder / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 200
    for row in rows:
        assert index[int(row["class_index"])][0] == row["synset"]
