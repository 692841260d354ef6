"""The one base of skfusion's Keras estimators: a scikit-learn estimator that
owns a Keras 3 model, with routed parameters, leak-free seeding, thread
limits, a fast predict path whose rows do not depend on each other, and
pickles in Keras' own format."""

import contextlib
import difflib
import functools
import inspect
import os
import random
import re
import tempfile
import weakref
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from ..utils._cache import take_rows
from ..utils._doc_link import DocLinkMixin
from ..utils._fitting import fit_rollback
from ..utils._optional import import_optional
from ..utils._runtime import thread_budget, torch_threads
from ..utils._sklearn_compat import HasMethods, Interval, _check_sample_weight, _fit_context
from ._compat import scale_learning_rates, tensorflow_global_seed
from ._sequences import batch_inputs, length_batches, read_by_batch, row_lengths

# Rows per model call at predict time, the last batch padded up to it. float32
# matmul kernels block and reduce in an order that depends on the batch shape
# (one row may even take a matrix-vector path), so only a constant shape makes
# a row's prediction independent of the rows predicted with it. At 1024 rows,
# padding a single row costs little next to the per-call overhead, and a large
# input needs few calls.
_PREDICT_BATCH = 1024

# Epochs without improvement before early_stopping=True stops training.
_PATIENCE = 5
# train steps (batches x epochs) up to which a TensorFlow fit runs eagerly
_EAGER_STEPS = 64

# Routed prefix -> what it reaches, as messages name it; the signature of
# that callable lists the names a prefix accepts, less those the estimator
# passes itself (or that are no arguments).
_ROUTES = {
    "optimizer": "the optimizer",
    "compile": "Model.compile",
    "fit": "Model.fit",
}
_NOT_ROUTABLE = {
    "compile": {"self", "optimizer"},
    "fit": {"self", "x", "y", "sample_weight"},
    "optimizer": {"self", "kwargs"},
}


def import_keras(owner):
    """Keras 3, or an ImportError naming the extra that installs it."""
    return import_optional("keras", owner=owner)


class BaseKerasEstimator(DocLinkMixin, BaseEstimator):
    """A scikit-learn estimator that builds, trains and predicts with a Keras 3
    model; everything that is not specific to one architecture lives here.

    ``fit(X, y, sample_weight=None)`` runs these steps, each a method a
    subclass overrides where its model needs it:

    1. ``_check_params(keras)``: checks across parameters, after the constraints
       in ``_parameter_constraints``; call ``super()._check_params(keras)`` to keep
       the check of routed parameters.
    2. ``_prepare_X(X, reset)``: X as the model takes it (default: a float32
       array via ``validate_data``); also used by every predict method.
    3. ``_prepare_y(y, reset)`` (required): y as the model's targets; sets
       the target attributes (``classes_``, ``n_outputs_`` ...). With
       ``reset=False`` (warm start) it checks y against them instead.
    4. ``_sample_weight(y, sample_weight)``: per-row weights or None
       (a classifier folds ``class_weight`` in here).
    5. ``_build_model(x, y)`` (required): a new, uncompiled ``keras.Model``
       for the prepared inputs and targets; runs seeded.
    6. ``_loss()`` (required) and ``_metrics()``: what ``Model.compile``
       gets, with ``_build_optimizer()`` and the ``compile__*`` parameters.
    7. ``_fit_kwargs(keras, x, y, sample_weight)``: the arguments of ``Model.fit``
       (epochs, batch size, verbosity, early stopping, a random validation
       split, then the ``fit__*`` parameters); ``history_`` collects what it
       reports.

    ``_forward(X)`` is the predict path: checks, ``_prepare_X`` and
    :func:`predict_batch` on batches of one constant shape, the last one
    padded, so that a row's outputs do not depend on the rows predicted with
    it (``Model.predict`` costs milliseconds per call, ruinous for one row);
    it returns the outputs as numpy float64, in the structure the model
    outputs. ``_custom_objects()`` names the custom
    layers a pickle needs to load the model.

    Parameters every subclass declares in its ``__init__``: ``optimizer``,
    ``learning_rate``, ``epochs``, ``batch_size``, ``validation_split``,
    ``early_stopping``, ``random_state``, ``verbose``; optionally
    ``warm_start`` (absent: every fit starts afresh). ``**routed_params``
    in ``__init__`` (stored with ``vars(self).update``) takes the routed
    ``optimizer__*``, ``compile__*`` and ``fit__*`` parameters, which
    ``get_params``/``set_params`` (and hence ``clone`` and grid search)
    understand; ``fit`` reports any other name with a did-you-mean.
    """

    _parameter_constraints: dict = {
        "optimizer": [str, type, HasMethods(["apply_gradients", "get_config"])],
        "learning_rate": [Interval(Real, 0, None, closed="neither"),
                          HasMethods(["__call__", "get_config"])],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean", Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # -- routed parameters ------------------------------------------------

    def get_params(self, deep=True):
        """Parameters of this estimator, routed ones (``fit__shuffle``) included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.

        See Also
        --------
        set_params : Set these parameters.

        Examples
        --------
        >>> from skfusion.keras import KerasMLPClassifier
        >>> clf = KerasMLPClassifier(hidden_layers=(8,), fit__shuffle=False)
        >>> params = clf.get_params()
        >>> params["hidden_layers"], params["fit__shuffle"]
        ((8,), False)
        """
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params):
        """Set parameters, routed ones (``optimizer__beta_1``) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters; a name starting with ``optimizer__``,
            ``compile__`` or ``fit__`` is passed to the optimizer,
            ``Model.compile`` or ``Model.fit``, checked when fitting.

        Returns
        -------
        self : estimator instance
            This estimator, its parameters set.

        See Also
        --------
        get_params : The parameters, routed ones included.

        Examples
        --------
        >>> from skfusion.keras import KerasMLPRegressor
        >>> reg = KerasMLPRegressor().set_params(epochs=5, optimizer__beta_1=0.8)
        >>> reg.epochs, reg.get_params()["optimizer__beta_1"]
        (5, 0.8)
        """
        routed = {k: params.pop(k) for k in list(params) if k.split("__")[0] in _ROUTES}
        super().set_params(**params)
        vars(self).update(routed)
        return self

    def _extra_params(self):
        """What ``**routed_params`` stored: attributes that are neither
        constructor parameters nor fitted (``model_``) or private state."""
        own = set(self._get_param_names())
        return {k: v for k, v in vars(self).items()
                if k not in own and not k.startswith("_") and not k.endswith("_")}

    def _routed(self, prefix):
        """The ``prefix__*`` parameters, without the prefix."""
        start = f"{prefix}__"
        return {k[len(start):]: v for k, v in vars(self).items() if k.startswith(start)}

    def _check_routed_params(self, keras):
        """Every extra parameter is routed to a real argument; did-you-mean otherwise."""
        owner = type(self).__name__
        for key in sorted(self._extra_params()):
            prefix, _, name = key.partition("__")
            if prefix not in _ROUTES:
                options = self._get_param_names() + [f"{p}__{name}" for p in _ROUTES]
                hint = _did_you_mean(key, options) or "."
                raise ValueError(
                    f"{owner}: {key} is not a parameter{hint} Routed parameters start with "
                    f"{', '.join(p + '__' for p in _ROUTES)}."
                )
            valid = self._routable_names(keras, prefix)
            if name not in valid:
                target = _ROUTES[prefix]
                if prefix == "optimizer":
                    target = f"the optimizer {self._optimizer_class(keras).__name__}"
                hint = _did_you_mean(name, valid, prefix=f"{prefix}__") or (
                    f"; expected one of {', '.join(f'{prefix}__{v}' for v in valid)}."
                )
                raise ValueError(f"{owner}: {key} is not a parameter of {target}{hint}")

    def _routable_names(self, keras, prefix):
        if prefix == "optimizer":
            function = self._optimizer_class(keras)
        else:
            function = getattr(keras.Model, prefix)
        names = inspect.signature(function).parameters
        return [n for n in names if n not in _NOT_ROUTABLE[prefix]]

    # -- fit ----------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Build (or, with ``warm_start``, keep) the model and train it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like
            Targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        keras = import_keras(type(self).__name__)
        warm = getattr(self, "warm_start", False) and hasattr(self, "model_")
        with fit_rollback(self, warm=warm):
            self._check_params(keras)
            return self._fit(keras, X, y, sample_weight, warm)

    def _fit(self, keras, X, y, sample_weight, warm):
        x = self._prepare_X(X, reset=not warm)
        target = self._prepare_y(y, reset=not warm)
        # x is one matrix, or one per input of a multi-input model
        check_consistent_length(*keras.tree.flatten(x), *keras.tree.flatten(target))
        sample_weight = self._sample_weight(y, sample_weight)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, keras.tree.flatten(x)[0],
                                                 dtype=np.float32)
        with _seeded(keras, self.random_state), _limited_threads(keras):
            if not warm:
                model = self._build_model(x, target)
                model.compile(**self._compile_kwargs(keras))
                self.model_ = model
                self.history_ = {}
            eager = self._eager_training(keras, _n_rows(keras, x))
            if eager:
                self.model_.run_eagerly = True
            try:
                history = self.model_.fit(**self._fit_kwargs(keras, x, target, sample_weight))
            finally:
                if eager:
                    # predictions are traced whatever the fit was, so a model
                    # predicts the same before and after a pickle round trip;
                    # Keras keeps the functions it made, so a later (warm
                    # start) fit decides afresh only without them
                    self.model_.run_eagerly = False
                    self.model_.train_function = self.model_.test_function = None
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        return self

    def _eager_training(self, keras, n_rows):
        """Whether to train without tracing: on TensorFlow, tracing a train
        step costs about as much as fifty small eager steps, so a fit of at
        most ``_EAGER_STEPS`` steps in all (a grid search over a few hundred
        rows, a cross-validation fold of a small table) runs eagerly unless
        ``compile__run_eagerly`` says otherwise."""
        if keras.backend.backend() != "tensorflow" or "run_eagerly" in self._routed("compile"):
            return False
        if self._trains_branch():
            return False  # a pretrained sub-model's step is dear enough that tracing pays
        fit = self._routed("fit")
        epochs = int(fit.get("epochs", self.epochs))
        per_epoch = fit.get("steps_per_epoch") or -(-n_rows // int(fit.get("batch_size", self.batch_size)))
        return int(per_epoch) * epochs <= _EAGER_STEPS

    def _check_params(self, keras):
        """Checks across parameters; the routed ones by default."""
        self._check_routed_params(keras)

    def _prepare_X(self, X, *, reset):
        """X as the model takes it: a float32 array."""
        if not reset and _is_plain_matrix(X, self):
            # what validate_data would pass, checked in a few microseconds
            # instead of ~80: it matters for one-row predictions
            with np.errstate(over="ignore"):  # validate_data reports it below
                x = X.astype(np.float32, copy=False)
            if np.isfinite(x).all():
                return x
        return validate_data(self, X, reset=reset, dtype=np.float32)

    def _prepare_y(self, y, *, reset):
        raise NotImplementedError

    def _sample_weight(self, y, sample_weight):
        return sample_weight

    def _build_model(self, x, y):
        raise NotImplementedError

    def _loss(self):
        raise NotImplementedError

    def _metrics(self):
        return None

    def _compile_kwargs(self, keras):
        kwargs = {"optimizer": self._build_optimizer(keras), "loss": self._loss(),
                  "metrics": self._metrics()}
        kwargs.update(self._routed("compile"))
        return kwargs

    def _optimizer_class(self, keras):
        optimizer = self.optimizer
        if isinstance(optimizer, type):
            return optimizer
        if not isinstance(optimizer, str):
            return type(optimizer)
        try:
            return type(keras.optimizers.get(optimizer))
        except ValueError:
            names = [n.lower() for n in dir(keras.optimizers)
                     if isinstance(getattr(keras.optimizers, n), type) and not n.startswith("_")]
            raise ValueError(
                f"{type(self).__name__}: optimizer={optimizer!r} is not a Keras optimizer; "
                "expected a name such as 'adam', 'sgd' or 'rmsprop', an optimizer "
                f"class or an instance{_did_you_mean(optimizer.lower(), names, quote=True)}"
            ) from None

    def _build_optimizer(self, keras):
        """A fresh optimizer each fit: clones and refits never share its state.
        ``learning_rate`` and ``optimizer__*`` apply on top of an instance's
        own configuration."""
        cls = self._optimizer_class(keras)
        config = {}
        if not isinstance(self.optimizer, (str, type)):
            config = self.optimizer.get_config()
        config.update(learning_rate=self.learning_rate, **self._routed("optimizer"))
        return scale_learning_rates(cls.from_config(config), self._learning_rates())

    # -- branches that train inside the model --------------------------------

    def _trains_branch(self):
        """Whether a branch of the model (the ``branches_`` of the
        estimators with ``inputs``) trains a sub-model: its rows then go
        through the model ``batch_size`` at a time."""
        branches = getattr(self, "branches_", None)
        return branches is not None and branches.trains

    def _learning_rates(self):
        """Learning-rate multipliers by variable path, from the branches."""
        branches = getattr(self, "branches_", None)
        return branches.learning_rates if branches is not None else {}

    def _fit_kwargs(self, keras, x, y, sample_weight):
        callbacks = []
        validation = None
        if self.validation_split:
            x, y, sample_weight, validation = _split_validation(
                keras, x, y, sample_weight, self.validation_split
            )
        if self.early_stopping:
            patience = _PATIENCE if self.early_stopping is True else self.early_stopping
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss" if validation else "loss",
                patience=patience,
                restore_best_weights=True,
            ))
        kwargs = {
            "x": x,
            "y": y,
            "sample_weight": sample_weight,
            "validation_data": validation,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "verbose": int(self.verbose),
        }
        routed = self._routed("fit")
        kwargs["callbacks"] = callbacks + list(routed.pop("callbacks", None) or [])
        kwargs.update(routed)
        if read_by_batch(kwargs["x"]):
            # rows of different lengths (batches of alike lengths, padded per
            # batch), or rows on disk (read a batch at a time)
            from ._batches import LengthBatches

            batch_size = kwargs.pop("batch_size")
            shuffle = kwargs.pop("shuffle", True)
            kwargs["x"] = LengthBatches(kwargs["x"], kwargs.pop("y"), kwargs.pop("sample_weight"),
                                        batch_size, shuffle)
            if kwargs.get("validation_data"):
                x_val, y_val, *weights = kwargs["validation_data"]
                kwargs["validation_data"] = LengthBatches(
                    x_val, y_val, weights[0] if weights else None, batch_size, False)
        return kwargs

    # -- predict -------------------------------------------------------------

    def _forward(self, X):
        """The model's outputs on X as float64 numpy arrays (same structure
        as the model's outputs); each row's are the same whatever rows come
        with it."""
        check_is_fitted(self, "model_")
        keras = import_keras(type(self).__name__)
        x = self._prepare_X(X, reset=False)
        if self._trains_branch():
            return self._forward_in_batches(keras, x)
        n_rows = _n_rows(keras, x)
        with _limited_threads(keras):
            parts = []
            for start in range(0, n_rows, _PREDICT_BATCH):
                batch = _take(keras, x, slice(start, start + _PREDICT_BATCH))
                out = predict_batch(keras, self.model_, _pad_rows(keras, batch, _PREDICT_BATCH))
                parts.append(_take(keras, out, slice(0, min(_PREDICT_BATCH, n_rows - start))))
        return _map(keras, lambda *blocks: np.concatenate(blocks).astype(np.float64), *parts)

    def _forward_in_batches(self, keras, x):
        """The outputs of a model whose branch trains a sub-model: rows in
        batches of ``batch_size`` of alike lengths (a backbone's activations
        for ``_PREDICT_BATCH`` rows would not fit), each padded to
        ``batch_size`` rows: one row count, one trace."""
        parts, order = [], []
        with _limited_threads(keras):
            for rows in length_batches(row_lengths(x), self.batch_size, shuffle=False):
                batch = _pad_rows(keras, batch_inputs(x, rows), self.batch_size)
                parts.append(_take(keras, predict_batch(keras, self.model_, batch),
                                   slice(0, len(rows))))
                order.append(rows)
        inverse = np.argsort(np.concatenate(order))
        return _map(keras, lambda *blocks: np.concatenate(blocks).astype(np.float64)[inverse],
                    *parts)

    # -- pickling -------------------------------------------------------------

    def _custom_objects(self):
        """Custom layers, losses ... the saved model needs to load: skfusion's
        own layers."""
        from ._fusion_layers import CUSTOM_OBJECTS as FUSION_LAYERS
        from ._layers import CUSTOM_OBJECTS

        return {**CUSTOM_OBJECTS, **FUSION_LAYERS}

    def __getstate__(self):
        # the model travels as the bytes of a .keras archive: Keras' own
        # format, portable across backends and free of pickled graph objects
        state = dict(super().__getstate__())
        if "model_" in state:
            state["model_"] = _model_to_bytes(state["model_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            keras = import_keras(type(self).__name__)
            state = dict(state)
            state["model_"] = _model_from_bytes(keras, state["model_"], self._custom_objects())
        super().__setstate__(state)
        # the optimizer comes back from the .keras file with one learning
        # rate: a warm-start fit after unpickling keeps the per-layer ones
        optimizer = getattr(getattr(self, "model_", None), "optimizer", None)
        if optimizer is not None and self._learning_rates():
            scale_learning_rates(optimizer, self._learning_rates())


def layer_tag(prefix, name):
    """A layer name Keras accepts on every backend, made unique by ``prefix``
    and readable by the (sanitised) task or branch name."""
    return f"{prefix}_" + re.sub(r"\W+", "_", str(name)).strip("_")[:40]


def target_array(y, owner, expected="1-D (one target) or 2-D (one column per output)"):
    """y as a numpy array of at most two dimensions, or a clear error."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    if hasattr(y, "toarray"):
        y = y.toarray()
    y = np.asarray(y)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(
            f"{owner}: y must be {expected}, got an array of shape {y.shape}."
        )
    return y


def predict_batch(keras, model, batch):
    """``model``'s outputs on ``batch``, as numpy arrays in the structure of
    its outputs. An estimator predicts batches of one row count (the last
    padded up to it), so on TensorFlow the model is traced once per row
    count, into a graph that takes any length where the model does (a text
    branch's tokens), and that graph is called directly: cheaper per call
    than calling the model eagerly, and never traced again. A model
    compiled with ``run_eagerly`` (``compile__run_eagerly=True``) runs
    eagerly here too, as Keras runs it.

    ``Model.predict_on_batch`` traces a ``tf.function`` that TensorFlow's
    retracing detector keys by its code, which Keras shares between all
    models: five models' first predictions within ten calls (folds of a
    cross-validation, a model per label) logged "5 out of the last 14 calls
    ... triggered tf.function retracing", and a text branch's batches of
    other lengths traced its model again.
    """
    if keras.backend.backend() != "tensorflow" or model.run_eagerly:
        return model.predict_on_batch(batch)
    rows = _n_rows(keras, batch)
    graphs = _PREDICT_GRAPHS.setdefault(model, {})
    if rows not in graphs:
        graphs[rows] = _trace_predict(keras, model, rows)
    # the dtypes of the model's inputs, as Keras casts them: the graph takes no other
    batch = _map(keras, lambda a, spec: np.asarray(a, dtype=spec.dtype), batch, model.input)
    return _map(keras, np.asarray, graphs[rows](batch))


# model -> {rows: its traced predict step}; a model's graphs go with it
_PREDICT_GRAPHS = weakref.WeakKeyDictionary()


def _trace_predict(keras, model, rows):
    import tensorflow as tf

    model_ref = weakref.ref(model)  # the graph must not keep its model alive
    specs = _map(keras, lambda t: tf.TensorSpec((rows, *t.shape[1:]), t.dtype), model.input)
    return tf.function(lambda x: model_ref()(x, training=False)).get_concrete_function(specs)


def _is_plain_matrix(X, estimator):
    """A float ndarray of the fitted width, fitted without feature names."""
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in (np.float32, np.float64)
        and X.shape[0] > 0
        and X.shape[1] == estimator.n_features_in_
        and not hasattr(estimator, "feature_names_in_")
    )


def _did_you_mean(word, options, *, prefix="", quote=False):
    close = difflib.get_close_matches(word, options, n=1)
    if not close:
        return ""
    guess = prefix + close[0]
    return f"; did you mean {guess!r}?" if quote else f"; did you mean {guess}?"


def _split_validation(keras, x, y, sample_weight, fraction):
    """Hold out a random ``fraction`` of rows (Keras' own ``validation_split``
    takes the last rows, which are one class when y is sorted)."""
    n = _n_rows(keras, x)
    order = np.random.permutation(n)
    n_val = min(n - 1, max(1, int(round(n * fraction))))
    train, val = order[n_val:], order[:n_val]
    validation = (_take(keras, x, val), _take(keras, y, val))
    if sample_weight is not None:
        validation += (sample_weight[val],)
    return (_take(keras, x, train), _take(keras, y, train),
            _take(keras, sample_weight, train), validation)


# Inputs, targets and outputs are an array or, for a model with several, a
# list/dict of them. keras.tree handles both, at tens of microseconds per
# call on torch: too much for one-row predictions, so plain arrays skip it.

def _map(keras, function, *structures):
    if isinstance(structures[0], (list, tuple, dict)):
        return keras.tree.map_structure(function, *structures)
    return function(*structures)


def _take(keras, data, rows):
    return None if data is None else _map(keras, lambda a: take_rows(a, rows), data)


def _n_rows(keras, data):
    return len(keras.tree.flatten(data)[0] if isinstance(data, (list, tuple, dict)) else data)


def _pad_rows(keras, data, n_rows):
    """``data`` with its last row repeated up to ``n_rows`` rows: a copy of a
    real row is an input that every layer accepts."""

    def pad(array):
        missing = n_rows - len(array)
        if not missing:
            return array
        return np.concatenate([array, np.repeat(array[-1:], missing, axis=0)])

    return _map(keras, pad, data)


@contextlib.contextmanager
def _seeded(keras, random_state):
    """Seed Python, NumPy and the backend for one fit, then put every global
    random state back: a seeded fit neither fixes nor replays the randomness
    of the fits after it. Layers draw their initial weights and dropout seeds
    from Python's ``random``; Keras shuffles with NumPy (JAX), torch's
    generator (torch) or TensorFlow's global seed (TensorFlow)."""
    if random_state is None:
        yield
        return
    if isinstance(random_state, Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    python_state, numpy_state = random.getstate(), np.random.get_state()
    backend = keras.backend.backend()
    random.seed(seed)
    np.random.seed(seed)
    if backend == "torch":
        import torch

        torch_state = torch.get_rng_state()
        torch.manual_seed(seed)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf_seed = tensorflow_global_seed()
        tf.random.set_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if backend == "torch":
            torch.set_rng_state(torch_state)
        elif backend == "tensorflow":
            tf.random.set_seed(tf_seed)


@contextlib.contextmanager
def _limited_threads(keras):
    """Keep the backend's intra-op threads to this process' budget (the
    worker's share on a cluster, the cores it may use otherwise): on a
    shared machine the default of every core in the box collapses."""
    cores = thread_budget()
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        with torch_threads(torch, cores, at_most_current=True):
            yield
        return
    if backend == "tensorflow":
        _cap_tensorflow_threads(cores)
    yield


@functools.cache
def _cap_tensorflow_threads(cores):
    """Once per process: TensorFlow can set its thread pools only before its
    runtime starts, and reading them back costs tens of microseconds."""
    import tensorflow as tf

    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() or cores >= (os.cpu_count() or cores):
        return
    try:
        threading.set_intra_op_parallelism_threads(cores)
        threading.set_inter_op_parallelism_threads(cores)
    except RuntimeError:  # the runtime has started: the cap is best effort
        pass


def _model_to_bytes(model):
    with tempfile.TemporaryDirectory(prefix="skfusion-keras-") as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with open(path, "rb") as file:
            return file.read()


def _model_from_bytes(keras, data, custom_objects):
    with tempfile.TemporaryDirectory(prefix="skfusion-keras-") as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as file:
            file.write(data)
        return keras.saving.load_model(path, custom_objects=custom_objects)
