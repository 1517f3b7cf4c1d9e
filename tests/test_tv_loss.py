"""torchvision's RetinaNet loss in keras.ops equals torchvision's own `compute_loss`."""

import numpy as np
import pytest

from helpers import reference_folder
from keras_resnets.heads import torchvision_retinanet_loss as tv_loss

pytestmark = pytest.mark.backend
@pytest.fixture(scope="module")
def case(request, tmp_path_factory):
    """tests/torch_reference_loss.py's case and torchvision's results, kept for the other backends."""
    folder = reference_folder(request, tmp_path_factory, "torch_reference_loss.py")
    return np.load(folder / "case.npz"), np.load(folder / "torchvision.npz")


@pytest.mark.parametrize("box_loss", tv_loss.BOX_LOSSES)
def test_loss_equals_torchvision(box_loss, case):
    import keras

    inputs, torchvision_losses = case
    anchors, truth, predictions = inputs["anchors"], inputs["truth"], inputs["predictions"]
    boxes, classes = truth[..., :4], truth[..., 4]
    ours_matched = keras.ops.convert_to_numpy(tv_loss.match(boxes, classes >= 0, anchors))
    np.testing.assert_array_equal(ours_matched, torchvision_losses["matched"])
    assert (ours_matched[0] >= 0).sum() > 5 and (ours_matched == tv_loss.IGNORED).any()
    loss = tv_loss.TorchvisionRetinaNetLoss(anchors, box_loss=box_loss)
    got = float(keras.ops.convert_to_numpy(loss(truth, predictions)))
    assert got == pytest.approx(float(torchvision_losses[box_loss]), rel=1e-5)


def test_decode_inverts_encode(case):
    import keras

    anchors, truth = case[0]["anchors"], case[0]["truth"]
    boxes = np.broadcast_to(truth[0, 0, :4], anchors.shape)
    decoded = tv_loss.decode(tv_loss.encode(boxes, anchors), anchors)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(decoded), boxes, atol=1e-4)


def test_unknown_box_loss_is_refused():
    with pytest.raises(ValueError, match="box_loss must be one of"):
        tv_loss.TorchvisionRetinaNetLoss(np.zeros((1, 4), "float32"), box_loss="smooth")
