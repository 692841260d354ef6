"""The Keras objects of learned homoscedastic task weighting (Kendall, Gal
& Cipolla, 2018): a layer that holds one log-variance per task and the loss
that reads it.

Registered as ``skfusion>TaskUncertainty`` and
``skfusion>UncertaintyWeightedLoss``, so ``.keras`` files that hold them
load once this module is imported. It imports Keras, so skfusion imports it
only when a model is built or loaded.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="skfusion")
class TaskUncertainty(keras.layers.Layer):
    """Holds one learned log-variance ``s_i`` per task.

    It passes its input through unchanged: it sits in the model only so
    that its weights are trained, saved and restored with it. The task
    losses read them (see :class:`UncertaintyWeightedLoss`).

    Parameters
    ----------
    n_tasks : int
        How many log-variances it holds (initially 0: every task weighs 1).

    **kwargs
        Passed to ``keras.layers.Layer`` (``name`` ...).
    """

    def __init__(self, n_tasks, **kwargs):
        super().__init__(**kwargs)
        self.n_tasks = n_tasks
        self.log_vars = self.add_weight(
            shape=(n_tasks,), initializer="zeros", name="log_vars", trainable=True
        )

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "n_tasks": self.n_tasks}


@keras.saving.register_keras_serializable(package="skfusion")
class UncertaintyWeightedLoss(keras.losses.Loss):
    """``factor * exp(-s_i) * loss_i + s_i / 2`` (Kendall et al. 2018,
    with ``s_i = log sigma_i^2``): noisy tasks learn a large ``s_i`` and
    weigh less, and the ``s_i / 2`` term stops every weight going to 0.

    The weighting layer is attached after construction (``bind``): a
    loss read back from a file has none and must be rebuilt with its
    model.

    Parameters
    ----------
    loss : str
        The task's own loss, a name ``keras.losses.get`` knows.

    index : int
        The task's position among the layer's log-variances.

    factor : float
        1/2 for a Gaussian likelihood (regression), 1 for a softmax or
        sigmoid likelihood.

    name : str, default=None
        The loss's name (default: ``uncertainty_<index>``).

    **kwargs
        Passed to ``keras.losses.Loss``.
    """

    def __init__(self, loss, index, factor, name=None, **kwargs):
        super().__init__(name=name or f"uncertainty_{index}", **kwargs)
        self.inner = loss
        self.index = index
        self.factor = factor
        self._fn = keras.losses.get(loss)
        self._layer = None

    def bind(self, layer):
        """Read the log-variance from ``layer`` (a :class:`TaskUncertainty`)."""
        self._layer = layer
        return self

    def call(self, y_true, y_pred):
        s = self._layer.log_vars[self.index]
        value = self._fn(y_true, y_pred)
        return self.factor * ops.exp(-s) * value + 0.5 * s

    def get_config(self):
        return {"loss": self.inner, "index": self.index, "factor": self.factor,
                "name": self.name}


#: the custom objects of a multi-task model, by class name
CUSTOM_OBJECTS = {cls.__name__: cls for cls in (TaskUncertainty, UncertaintyWeightedLoss)}
