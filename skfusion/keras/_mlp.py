"""Multi-layer perceptrons on Keras 3: a classifier (binary, multiclass,
multi-label) and a regressor (one or several outputs)."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from ..utils._fitting import check_indicator, check_two_classes
from ..utils._sklearn_compat import Interval, StrOptions
from ._base import BaseKerasEstimator, _did_you_mean, import_keras, target_array


class _BaseKerasMLP(BaseKerasEstimator):
    """Dense hidden layers (with optional dropout) and an output layer whose
    width, activation and loss the subclass gives."""

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "hidden_layers": ["array-like"],
        "activation": [str, callable],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def _check_params(self, keras):
        super()._check_params(keras)
        owner = type(self).__name__
        layers = list(self.hidden_layers)
        if not all(isinstance(u, (int, np.integer)) and not isinstance(u, bool) and u > 0
                   for u in layers):
            raise ValueError(
                f"{owner}: hidden_layers must be a sequence of positive ints (units of "
                f"each hidden layer), got {self.hidden_layers!r}."
            )
        if isinstance(self.activation, str):
            try:
                keras.activations.get(self.activation)
            except ValueError:
                names = [n for n in dir(keras.activations) if not n.startswith("_")]
                raise ValueError(
                    f"{owner}: activation={self.activation!r} is not a Keras activation; "
                    "expected a name such as 'relu', 'tanh' or 'gelu', or a callable"
                    f"{_did_you_mean(self.activation, names, quote=True)}"
                ) from None

    def _build_model(self, x, y):
        keras = import_keras(type(self).__name__)
        inputs = keras.Input(shape=(x.shape[1],))
        return keras.Model(inputs, self._dense_head(keras, inputs, self.hidden_layers, y))

    def _dense_head(self, keras, hidden, hidden_layers, y):
        """``hidden_layers`` dense layers (each followed by dropout) and the
        output layer the target ``y`` needs, on top of ``hidden``."""
        for units in hidden_layers:
            hidden = keras.layers.Dense(int(units), activation=self.activation)(hidden)
            if self.dropout:
                hidden = keras.layers.Dropout(self.dropout)(hidden)
        bias = self._output_bias(y)
        return keras.layers.Dense(
            self._output_units(), activation=self._output_activation(),
            bias_initializer="zeros" if bias is None else keras.initializers.Constant(bias),
        )(hidden)

    def _output_bias(self, y):
        """The output layer's initial bias, None for zeros."""
        return None


class KerasMLPClassifier(ClassifierMixin, _BaseKerasMLP):
    """Multi-layer perceptron classifier on Keras 3.

    Softmax outputs and cross-entropy for binary and multiclass y (labels of
    any type); sigmoid outputs and binary cross-entropy for a 2-D 0/1 y
    (multi-label). Runs on any Keras backend (TensorFlow by default, torch,
    JAX). Parameters routed to the optimizer, ``Model.compile`` and
    ``Model.fit`` (``optimizer__beta_1=0.8``, ``fit__shuffle=False``) work in
    the constructor, ``set_params`` and grid searches.

    Parameters
    ----------
    hidden_layers : sequence of int, default=(100,)
        Units of each hidden layer; ``()`` gives a linear model.

    activation : str or callable, default="relu"
        Activation of the hidden layers (a ``keras.activations`` name).

    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden layer.

    optimizer : str, optimizer class or instance, default="adam"
        A ``keras.optimizers`` name, class or instance (whose configuration is
        copied: every fit starts from a fresh optimizer).

    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, \
            default=1e-3
        Learning rate of the optimizer (also for an optimizer instance).

    epochs : int, default=20
        Passes over the training data.

    batch_size : int, default=32
        Rows per gradient step.

    validation_split : float in [0, 1), default=0.0
        Fraction of the training rows, drawn at random, held out to report
        ``val_loss`` and to decide early stopping.

    early_stopping : bool or int, default=False
        Stop when the validation loss (the training loss without
        ``validation_split``) has not improved for 5 epochs, or for this many
        epochs when an int, and keep the best weights.

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss: ``{label: weight}`` or
        ``"balanced"`` (inversely proportional to class frequencies; per label
        for multi-label y).

    warm_start : bool, default=False
        Continue training the fitted model on the next ``fit`` instead of
        building a new one.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, dropout, shuffling and the validation
        split. The global random states (Python, NumPy, the backend's) are
        put back after fitting.

    verbose : int, default=0
        Keras' progress output: 0 silent, 1 a bar, 2 a line per epoch.

    **routed_params : dict
        ``optimizer__<name>``, ``compile__<name>`` and ``fit__<name>``: passed
        to the optimizer, ``Model.compile`` and ``Model.fit``, over what the
        estimator sets itself (``fit__callbacks`` are added to its own).

    Attributes
    ----------
    model_ : keras.Model
        The trained network; its last layer outputs probabilities.

    classes_ : ndarray of shape (n_classes,)
        Class labels; for multi-label y, the label indices ``0 … n_labels-1``.

    n_outputs_ : int
        1, or the number of labels for multi-label y.

    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``, metrics), continued by warm
        starts.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    KerasMLPRegressor : The regression sibling.
    sklearn.neural_network.MLPClassifier : scikit-learn's own perceptron.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.keras import KerasMLPClassifier
    >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 0.9], [0.9, 1.0]])
    >>> y = np.array(["no", "no", "yes", "yes"])
    >>> clf = KerasMLPClassifier(hidden_layers=(4,), epochs=2, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['no', 'yes'], dtype='<U3')
    >>> clf.predict_proba(X[:1]).shape
    (1, 2)
    """

    _parameter_constraints: dict = {
        **_BaseKerasMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layers=(100,),
        *,
        activation="relu",
        dropout=0.0,
        optimizer="adam",
        learning_rate=1e-3,
        epochs=20,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        **routed_params,
    ):
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed_params)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator per label (multi-label).

        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of the loss (multiplied by ``class_weight``).

        Returns
        -------
        self : object
            The fitted classifier.

        See Also
        --------
        sklearn.neural_network.MLPClassifier.fit : The same for
            scikit-learn's network.

        Examples
        --------
        A multi-label fit: a 0/1 column per label.

        >>> import numpy as np
        >>> from skfusion.keras import KerasMLPClassifier
        >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 0.9], [0.9, 1.0]])
        >>> Y = np.array([[1, 0], [1, 1], [0, 1], [0, 1]])
        >>> clf = KerasMLPClassifier(hidden_layers=(4,), epochs=2, random_state=0).fit(X, Y)
        >>> clf.n_outputs_, clf.predict(X).shape
        (2, (4, 2))
        """
        return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities (label probabilities for multi-label y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Always 2-D, one row per input row (even a single one).

        See Also
        --------
        predict : The most likely class.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import KerasMLPClassifier
        >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 0.9], [0.9, 1.0]])
        >>> y = np.array(["no", "no", "yes", "yes"])
        >>> clf = KerasMLPClassifier(hidden_layers=(4,), epochs=2, random_state=0).fit(X, y)
        >>> proba = clf.predict_proba(X[:1])
        >>> proba.shape, bool(np.isclose(proba.sum(), 1.0))
        ((1, 2), True)
        """
        proba = self._forward(X)
        if self._multilabel:
            return proba
        # softmax sums to one in float32; renormalise in float64
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels (a 0/1 indicator row for multi-label y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The class with the highest probability, or per label whether
            its probability exceeds 0.5.

        See Also
        --------
        predict_proba : The class probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import KerasMLPClassifier
        >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 0.9], [0.9, 1.0]])
        >>> y = np.array(["no", "no", "yes", "yes"])
        >>> clf = KerasMLPClassifier(hidden_layers=(4,), epochs=2, random_state=0).fit(X, y)
        >>> pred = clf.predict(X)
        >>> pred.shape, set(pred) <= {"no", "yes"}
        ((4,), True)
        """
        proba = self.predict_proba(X)
        if self._multilabel:
            return (proba > 0.5).astype(self.classes_.dtype)
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def _multilabel(self):
        return self.n_outputs_ > 1

    def _prepare_y(self, y, *, reset):
        owner = type(self).__name__
        y = target_array(y, owner, "1-D (class labels) or 2-D (a 0/1 column per label)")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if y.ndim == 2:
            y = check_array(y, dtype=None, input_name="y")
            check_indicator(owner, y)
            classes, encoded = np.arange(y.shape[1]), y.astype(np.float32)
        else:
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            check_classification_targets(y)
            classes, encoded = np.unique(y, return_inverse=True)
            check_two_classes(owner, classes)
        if reset:
            self.classes_ = classes
            self.n_outputs_ = y.shape[1] if y.ndim == 2 else 1
            return encoded
        self._check_warm_start_classes(classes, y.ndim == 2)
        if y.ndim == 1:
            encoded = np.searchsorted(self.classes_, classes)[encoded]
        return encoded

    def _check_warm_start_classes(self, classes, multilabel):
        owner = type(self).__name__
        if multilabel != self._multilabel or (multilabel and len(classes) != self.n_outputs_):
            raise ValueError(
                f"{owner}: warm_start=True but y has {len(classes) if multilabel else 1} "
                f"output(s) while the model was fitted on {self.n_outputs_}; set "
                "warm_start=False to fit afresh."
            )
        unseen = np.setdiff1d(classes, self.classes_)
        if len(unseen):
            raise ValueError(
                f"{owner}: warm_start=True but y has classes {unseen.tolist()} that the "
                f"model was not fitted on (it knows {self.classes_.tolist()}); set "
                "warm_start=False to fit afresh."
            )

    def _sample_weight(self, y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        y = target_array(y, type(self).__name__)
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * np.asarray(sample_weight)

    def _output_units(self):
        return self.n_outputs_ if self._multilabel else len(self.classes_)

    def _output_activation(self):
        return "sigmoid" if self._multilabel else "softmax"

    def _loss(self):
        return "binary_crossentropy" if self._multilabel else "sparse_categorical_crossentropy"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class KerasMLPRegressor(RegressorMixin, _BaseKerasMLP):
    """Multi-layer perceptron regressor on Keras 3.

    Linear outputs and mean squared error, for one target or several
    (a 2-D y). Runs on any Keras backend (TensorFlow by default, torch, JAX).
    Parameters routed to the optimizer, ``Model.compile`` and ``Model.fit``
    work in the constructor, ``set_params`` and grid searches. Scale y (e.g.
    with ``sklearn.compose.TransformedTargetRegressor``) when it is far from
    unit variance.

    Parameters
    ----------
    hidden_layers : sequence of int, default=(100,)
        Units of each hidden layer; ``()`` gives a linear model.

    activation : str or callable, default="relu"
        Activation of the hidden layers (a ``keras.activations`` name).

    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden layer.

    optimizer : str, optimizer class or instance, default="adam"
        A ``keras.optimizers`` name, class or instance (whose configuration is
        copied: every fit starts from a fresh optimizer).

    learning_rate : float or keras.optimizers.schedules.LearningRateSchedule, \
            default=1e-3
        Learning rate of the optimizer (also for an optimizer instance).

    epochs : int, default=20
        Passes over the training data.

    batch_size : int, default=32
        Rows per gradient step.

    validation_split : float in [0, 1), default=0.0
        Fraction of the training rows, drawn at random, held out to report
        ``val_loss`` and to decide early stopping.

    early_stopping : bool or int, default=False
        Stop when the validation loss (the training loss without
        ``validation_split``) has not improved for 5 epochs, or for this many
        epochs when an int, and keep the best weights.

    warm_start : bool, default=False
        Continue training the fitted model on the next ``fit`` instead of
        building a new one.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, dropout, shuffling and the validation
        split. The global random states (Python, NumPy, the backend's) are
        put back after fitting.

    verbose : int, default=0
        Keras' progress output: 0 silent, 1 a bar, 2 a line per epoch.

    **routed_params : dict
        ``optimizer__<name>``, ``compile__<name>`` and ``fit__<name>``: passed
        to the optimizer, ``Model.compile`` and ``Model.fit``, over what the
        estimator sets itself (``fit__callbacks`` are added to its own).

    Attributes
    ----------
    model_ : keras.Model
        The trained network.

    n_outputs_ : int
        Number of targets (columns of a 2-D y).

    history_ : dict of str to list of float
        Per-epoch ``loss`` (and ``val_loss``, metrics), continued by warm
        starts.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    KerasMLPClassifier : The classification sibling.
    sklearn.neural_network.MLPRegressor : scikit-learn's own perceptron.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.keras import KerasMLPRegressor
    >>> X = np.array([[0.0], [0.5], [1.0], [1.5]])
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> reg = KerasMLPRegressor(hidden_layers=(4,), epochs=2, random_state=0).fit(X, y)
    >>> reg.predict(X).shape
    (4,)
    >>> len(reg.history_["loss"])
    2
    """

    def __init__(
        self,
        hidden_layers=(100,),
        *,
        activation="relu",
        dropout=0.0,
        optimizer="adam",
        learning_rate=1e-3,
        epochs=20,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        warm_start=False,
        random_state=None,
        verbose=0,
        **routed_params,
    ):
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed_params)

    def fit(self, X, y, sample_weight=None):
        """Fit the network to X and y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of the loss.

        Returns
        -------
        self : object
            The fitted regressor.

        See Also
        --------
        sklearn.neural_network.MLPRegressor.fit : The same for
            scikit-learn's network.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import KerasMLPRegressor
        >>> X = np.array([[0.0], [0.5], [1.0], [1.5]])
        >>> reg = KerasMLPRegressor(hidden_layers=(4,), epochs=2, random_state=0)
        >>> reg.fit(X, np.array([0.0, 1.0, 2.0, 3.0])).n_outputs_
        1
        >>> len(reg.history_["loss"])
        2
        """
        return super().fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            1-D when y was 1-D at fit.

        See Also
        --------
        sklearn.neural_network.MLPRegressor.predict : The same for
            scikit-learn's network.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import KerasMLPRegressor
        >>> X = np.array([[0.0], [0.5], [1.0], [1.5]])
        >>> reg = KerasMLPRegressor(hidden_layers=(4,), epochs=2, random_state=0)
        >>> Y = np.column_stack([X[:, 0], -X[:, 0]])
        >>> reg.fit(X, Y).predict(X[:3]).shape
        (3, 2)
        """
        out = self._forward(X)
        return out[:, 0] if self._y_1d else out

    def _prepare_y(self, y, *, reset):
        owner = type(self).__name__
        y = target_array(y, owner)
        y = check_array(y, ensure_2d=False, dtype=np.float32, input_name="y")
        n_outputs = y.shape[1] if y.ndim == 2 else 1
        if reset:
            self.n_outputs_ = n_outputs
            self._y_1d = y.ndim == 1
        elif n_outputs != self.n_outputs_:
            raise ValueError(
                f"{owner}: warm_start=True but y has {n_outputs} output(s) while the "
                f"model was fitted on {self.n_outputs_}; set warm_start=False to fit afresh."
            )
        return y

    def _output_units(self):
        return self.n_outputs_

    def _output_activation(self):
        return None

    def _output_bias(self, y):
        # predictions start at the targets' mean, not at 0: a rating of 1-5
        # is learned in a few steps instead of a few epochs
        return [float(v) for v in np.atleast_1d(np.mean(y, axis=0))]

    def _loss(self):
        return "mean_squared_error"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
