"""Losses normalised by a count from the batch (positive anchors, non-void pixels), made to
train alike on one device and data parallel: the one place with backend-specific code
outside export.

Such a loss is the batch's summed loss over the batch's count. Data parallel must divide by
the global batch's count. JAX's `keras.distribution.DataParallel` runs one SPMD program over
the global batch, so its count is global already. TensorFlow's MirroredStrategy runs the
loss once per replica on that replica's share, and Keras 3.15 then divides each replica's
loss by the number of replicas before summing their gradients, but only for a loss that
is a vector: a scalar loss skips that step (`keras.losses.loss.reduce_values`), which
would multiply the gradients by the replica count. So these losses return one value per
image (`per_image_share`), each divided by the replicas' mean count (an all-reduce,
`mean_over_replicas`), and Keras' mean over the batch then gives the global figure.
"""

import keras
from keras import ops


def mean_over_replicas(x):
    """`x` averaged over the replicas of a TensorFlow MirroredStrategy step; `x` itself
    outside one (one device, JAX, PyTorch)."""
    if keras.backend.backend() != "tensorflow":
        return x
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, x)


def per_image_share(per_image_sum, count):
    """(N,) values whose mean over the batch is the batch's summed loss over its `count`
    (at least 1), the global batch's under data parallel; `per_image_sum` is each image's
    summed loss and `count` this batch's (or replica's) total."""
    batch = ops.cast(ops.shape(per_image_sum)[0], per_image_sum.dtype)
    return per_image_sum * batch / ops.maximum(mean_over_replicas(count), 1.0)
