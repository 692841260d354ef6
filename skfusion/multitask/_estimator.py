"""One Keras model, a shared trunk and one head per task."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..keras._base import BaseKerasEstimator, import_keras
from ..keras._branches import BranchesMixin, check_branches
from ..keras._fusion import LEARNED_FUSIONS, check_token_attention, fuse
from ..utils._fitting import fit_rollback
from ..utils._modalities import ModalityInputMixin
from ..utils._sklearn_compat import Interval, StrOptions, _num_samples
from ._heads import KINDS, check_loss_weights, parse_tasks, single_task_frame

#: short names of the per-task metrics in ``history_``
_METRIC_NAMES = {
    "binary_accuracy": "accuracy",
    "sparse_categorical_accuracy": "accuracy",
    "mean_absolute_error": "mae",
}


def _task_kinds(estimator):
    """The kind of each task of ``tasks``, or None when ``tasks`` is
    malformed (``fit`` reports it)."""
    try:
        return [spec if isinstance(spec, str) else spec[0] for spec in estimator.tasks.values()]
    except (AttributeError, TypeError, IndexError):
        return None


def _has_classification_task(estimator):
    """``predict_proba`` exists when a task classifies (or when ``tasks`` is
    malformed, so that calling it reports the problem)."""
    kinds = _task_kinds(estimator)
    if kinds is None:
        return True
    return any(kind != "regression" for kind in kinds) or not set(kinds) <= set(KINDS)


class MultiTaskKerasEstimator(ModalityInputMixin, BranchesMixin, BaseKerasEstimator):
    """One Keras model that learns several targets at once.

    A shared trunk of dense layers feeds one head per task: binary (a sigmoid
    unit, binary cross-entropy), multiclass (softmax, cross-entropy),
    multilabel (one sigmoid per label, binary cross-entropy) or regression (a
    linear unit, mean squared error on the standardised target). With
    ``inputs``, each modality gets its own transformer and dense encoder and
    the trunk reads their concatenation: the multi-modal multi-task model.
    Class labels of any type are encoded in ``fit`` and decoded in
    ``predict``.

    ``Y`` is a DataFrame with one column per task (several for a multilabel
    task), so cross-validation and grid search split it like ``X``. A model
    with a single binary, multiclass or regression task also takes a 1-D
    ``y``, that task's targets: it is then a scikit-learn classifier or
    regressor (``predict`` returns a 1-D array, ``predict_proba`` an array,
    ``classes_`` the task's classes).

    Parameters
    ----------
    tasks : dict
        ``{name: kind}``, ``{name: (kind, columns)}`` or ``{name: (kind,
        columns, branch)}``. ``kind`` is ``"binary"``, ``"multiclass"``,
        ``"multilabel"`` or ``"regression"``; ``columns`` the task's Y column
        (default, or None: the column named like the task; a multilabel task
        names a list of 0/1 columns); ``branch`` a key of ``inputs`` whose
        encoder output the head reads beside the shared trunk (default: the
        trunk only), so a task can lean on the modality that matters to it.

    inputs : list of (name, encoder, columns) triples or None, default=None
        The branches, written as a :class:`~sklearn.compose.ColumnTransformer`'s
        transformers (as in :class:`~skfusion.keras.KerasFusionClassifier`),
        each its own input of the model. Each branch's encoder (any
        scikit-learn transformer, such as
        :class:`~skfusion.encoders.TabularEncoder`, or ``"passthrough"``) is
        cloned and fitted on its columns of X, and frozen, except an encoder
        whose ``keras_branch()`` gives a :class:`~skfusion.keras.KerasBranch`
        (a :class:`~skfusion.encoders.TextEncoder` or
        :class:`~skfusion.encoders.ImageEncoder` with ``trainable`` set, or a
        third party's encoder): its layers then sit inside the model and
        train with the heads (the seed's fine-tuned shared text extractor).
        The branch's output goes through one dense layer as wide as the
        first shared layer (64 without shared layers) before the trunk. The
        encoders' parameters are searchable as ``<branch>__<param>``. None:
        X is numeric and feeds the trunk directly. (The ``{branch: (columns,
        encoder)}`` spelling of earlier releases is gone.)

    shared_layers : tuple of int, default=(128, 64)
        Widths of the trunk's dense (ReLU) layers.

    task_layers : tuple of int, default=()
        Widths of the dense (ReLU) layers of each head before its output.

    dropout : float, default=0.0
        Dropout rate after every hidden layer.

    fusion : {"concat", "gated", "weighted", "attention"}, default="concat"
        How the branches of ``inputs`` meet before the trunk, each after its
        dense layer: concatenated, or through a learned fusion as in
        :class:`~skfusion.keras.KerasFusionClassifier` (a gated multimodal
        unit, a learned weighted sum, or a transformer over one token per
        branch). Without ``inputs`` there is nothing to fuse.

    fusion_units, attention_heads, attention_layers, token_attention, missing, \
modality_dropout
        As in :class:`~skfusion.keras.KerasFusionClassifier`: with
        ``missing="learned"``, a row without a branch's input gets that
        branch's learned missing embedding (before the branch's dense
        layer), and ``modality_dropout`` drops branches while training;
        with ``token_attention=True`` a trainable text branch's dense layer
        applies to each token state.

    loss_weights : dict, "uncertainty" or None, default=None
        Weight of each task's loss in the sum that is trained: None for 1.0
        each, a dict by task name (tasks left out get 1.0), or
        ``"uncertainty"`` for weights learned with the model (Kendall et al.
        2018): the loss is ``sum_i c_i exp(-s_i) L_i + s_i / 2`` with a
        learned log-variance ``s_i`` per task, ``c_i = 1/2`` for regression
        and 1 for classification.

    optimizer : str, class or instance, default="adam"
        A Keras optimizer: a name, a class or an instance (whose
        configuration is kept; a fresh copy trains each fit).

    learning_rate : float, default=1e-3
        The optimizer's learning rate.

    epochs : int, default=20
        Passes over the training data.

    batch_size : int, default=32
        Rows per gradient step.

    validation_split : float, default=0.0
        Fraction of the rows, drawn at random, held out to report validation
        losses and, with ``early_stopping``, to decide when to stop.

    early_stopping : bool or int, default=False
        Stop when the validation loss (the training loss without a
        validation split) has not improved for 5 epochs, or for this many
        epochs when an int, and keep the best weights.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, dropout, shuffling and the validation
        split. The global random states (Python, NumPy, the backend's) are
        put back after fitting.

    verbose : int, default=0
        Keras' progress output: 0 silent, 1 a bar, 2 a line per epoch.

    **routed_params : dict
        ``optimizer__<name>``, ``compile__<name>`` and ``fit__<name>``: passed
        to the optimizer, ``Model.compile`` and ``Model.fit``, over what the
        estimator sets itself (``compile__loss_weights`` included).

    Attributes
    ----------
    model_ : keras.Model
        The fitted model: one input per branch (``branch<i>_<name>``; a
        trainable text branch also has ``branch<i>_<name>_mask``), or one
        input without ``inputs``, and one output per task, in the order of
        ``tasks``.

    tasks_ : list of str
        Task names, in model output order.

    classes_ : dict or ndarray of shape (n_classes,)
        Per classification task, its classes (for a multilabel task, its
        label columns); fitted on a single task's 1-D ``y``, that task's
        classes (none for a regression task).

    branches_ : Branches
        With ``inputs``, the fitted branches: their encoders, columns and
        widths.

    named_encoders_ : Bunch
        With ``inputs``, the fitted encoder of each branch (not
        ``"passthrough"`` ones).

    n_branch_features_ : dict of str to int
        With ``inputs``, the width of each branch's features in the model.

    history_ : dict of list
        Per epoch: ``loss``, and per task ``<task>_loss`` (its term of the
        trained loss, unweighted for fixed weights) and ``<task>_accuracy``
        or ``<task>_mae``; ``val_``-prefixed with a validation split, and
        ``<task>_weight`` (``c_i exp(-s_i)``) with ``"uncertainty"``.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X seen in ``fit``, for a DataFrame.

    See Also
    --------
    task_scorer : Score (and search on) one task.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from skfusion.multitask import MultiTaskKerasEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3))
    >>> Y = pd.DataFrame({"price": X[:, 0] * 2.0, "big": np.where(X[:, 1] > 0, "yes", "no")})
    >>> model = MultiTaskKerasEstimator({"price": "regression", "big": "binary"},
    ...                                 shared_layers=(8,), epochs=2, random_state=0)
    >>> model.fit(X, Y).predict(X[:2]).columns.tolist()
    ['price', 'big']
    >>> model.predict_proba(X[:2])["big"].shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "tasks": [dict],
        "inputs": [list, dict, None],  # a dict: the removed spelling, named in fit
        "shared_layers": [tuple, list],
        "task_layers": [tuple, list],
        "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
        "fusion": [StrOptions({"concat", *LEARNED_FUSIONS})],
        "fusion_units": [Interval(Integral, 1, None, closed="left"), None],
        "attention_heads": [Interval(Integral, 1, None, closed="left")],
        "attention_layers": [Interval(Integral, 1, None, closed="left")],
        "token_attention": ["boolean"],
        "missing": [StrOptions({"error", "learned"})],
        "modality_dropout": [Interval(Real, 0, 1, closed="left")],
        "loss_weights": [dict, StrOptions({"uncertainty"}), None],
    }

    def __init__(
        self,
        tasks,
        *,
        inputs=None,
        shared_layers=(128, 64),
        task_layers=(),
        dropout=0.0,
        fusion="concat",
        fusion_units=None,
        attention_heads=2,
        attention_layers=1,
        token_attention=False,
        missing="error",
        modality_dropout=0.0,
        loss_weights=None,
        optimizer="adam",
        learning_rate=1e-3,
        epochs=20,
        batch_size=32,
        validation_split=0.0,
        early_stopping=False,
        random_state=None,
        verbose=0,
        **routed_params,
    ):
        self.tasks = tasks
        self.inputs = inputs
        self.shared_layers = shared_layers
        self.task_layers = task_layers
        self.dropout = dropout
        self.fusion = fusion
        self.fusion_units = fusion_units
        self.attention_heads = attention_heads
        self.attention_layers = attention_layers
        self.token_attention = token_attention
        self.missing = missing
        self.modality_dropout = modality_dropout
        self.loss_weights = loss_weights
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(routed_params)

    def fit(self, X, Y, sample_weight=None):
        """Fit the transformers of ``inputs`` and the model on every task.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Numeric features, or (with ``inputs``) the columns the branches
            select.

        Y : DataFrame of shape (n_samples, n_columns) or array-like of shape (n_samples,)
            One column per task (a multilabel task: one 0/1 column per
            label), named as in ``tasks``; for a single binary, multiclass
            or regression task, also a 1-D array, list or Series of its
            targets (a column vector is raveled, with a
            ``DataConversionWarning``).

        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of every task's loss.

        Returns
        -------
        self : object
            The fitted estimator.

        See Also
        --------
        skfusion.keras.KerasFusionClassifier.fit : The same for one
            classification target.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skfusion.multitask import MultiTaskKerasEstimator
        >>> X = np.random.RandomState(0).normal(size=(40, 2))
        >>> Y = pd.DataFrame({"price": X[:, 0], "big": np.where(X[:, 1] > 0, "yes", "no")})
        >>> model = MultiTaskKerasEstimator({"price": "regression", "big": "binary"},
        ...                                 shared_layers=(4,), epochs=1, random_state=0)
        >>> model.fit(X, Y).classes_["big"].tolist()
        ['no', 'yes']
        >>> sorted(model.history_)
        ['big_accuracy', 'big_loss', 'loss', 'price_loss', 'price_mae']
        """
        # tasks, loss weights and Y are checked, and the target encodings
        # learnt, before the branches encode X, which can take minutes
        self._validate_params()
        # a failed refit must not leave new task encodings over an old model
        with fit_rollback(self):
            Y = self._configure(X, Y)
            return super().fit(X, Y, sample_weight=sample_weight)

    def _configure(self, X, Y):
        """Parse ``inputs``, ``tasks`` and ``loss_weights``, check Y and fit
        each task's target encoding on it; returns Y as a DataFrame."""
        owner = type(self).__name__
        branches = self._check_inputs()
        check_token_attention(self)
        heads = parse_tasks(owner, self.tasks, branches)
        weights = check_loss_weights(owner, self.loss_weights, heads)
        for param in ("shared_layers", "task_layers"):
            _check_widths(owner, param, getattr(self, param))
        self._target_1d_ = not isinstance(Y, pd.DataFrame)
        Y = self._check_Y(X, Y, heads)
        for head in heads:
            head.fit(Y)
        self._heads_, self._loss_weights_ = heads, weights
        self.tasks_ = [head.name for head in heads]
        classes = {
            head.name: head.classes_ if head.kind != "multilabel" else np.asarray(head.column_list)
            for head in heads if head.is_classifier
        }
        vars(self).pop("classes_", None)  # a regressor's has none
        if not self._target_1d_:
            self.classes_ = classes
        elif classes:
            self.classes_ = classes[self.tasks_[0]]
        return Y

    def _check_inputs(self):
        """The branch names of ``inputs`` (none for None), after its checks."""
        if self.inputs is None:
            return []
        if isinstance(self.inputs, list) and not self.inputs:
            raise ValueError(
                f"{type(self).__name__}: inputs is empty; give at least one (name, encoder, "
                "columns) branch, or None to use X as it is."
            )
        return [name for name, _, _ in check_branches(type(self).__name__, self.inputs)]

    def _check_Y(self, X, Y, heads=None):
        """Y as a DataFrame of one row per row of X, a single task's 1-D y
        as its column; ``heads``: those being fitted (default: the fitted)."""
        owner = type(self).__name__
        if not isinstance(Y, pd.DataFrame):
            Y = single_task_frame(owner, self._heads_ if heads is None else heads, Y)
        n_rows = _num_samples(X)  # X is not validated yet: sparse, or only array-like
        if len(Y) != n_rows:
            raise ValueError(
                f"{owner}: X has {n_rows} rows but Y has {len(Y)}; give one Y row "
                "per row of X."
            )
        return Y

    # -- the steps of the base's fit -------------------------------------

    def _prepare_X(self, X, *, reset):
        """X as the model takes it: with ``inputs``, one model input per
        branch (``branches_``), keyed by input name; else a float32 array."""
        if self.inputs is not None:
            return self._branch_inputs(X, reset=reset)
        if reset:
            vars(self).pop("branches_", None)  # of an earlier fit with inputs
        return super()._prepare_X(X, reset=reset)

    def _prepare_y(self, Y, *, reset):
        """One target array per task, encoded for its head."""
        return [head.encode(head.select(Y)) for head in self._heads_]

    def _build_model(self, x, y):
        """The functional model: per branch its input (a trainable text
        branch: its transformer layers, pooled) and a dense encoder, the
        shared trunk on their concatenation, a head per task."""
        keras = import_keras(type(self).__name__)
        layers = keras.layers

        def dense_stack(h, sizes, prefix):
            for i, size in enumerate(sizes):
                h = layers.Dense(size, activation="relu", name=f"{prefix}_dense{i}")(h)
                if self.dropout:
                    h = layers.Dropout(self.dropout, name=f"{prefix}_dropout{i}")(h)
            return h

        encoded = {}
        if self.inputs is not None:
            inputs, outputs = self.branches_.build(keras, x, tokens=self.token_attention)
            width = (self.shared_layers[0] if len(self.shared_layers) else 64,)
            for (name, output), key in zip(outputs.items(), self.branches_.keys):
                # a (states, mask) pair of token_attention: each token's state
                encoded[name] = (dense_stack(output[0], width, key), output[1]) \
                    if isinstance(output, tuple) else dense_stack(output, width, key)
            parts = list(encoded.values())
            h = fuse(keras, parts, self)
        else:
            inputs = h = keras.Input(shape=(x.shape[1],), name="features")
        trunk = dense_stack(h, self.shared_layers, "shared")
        if self._loss_weights_ == "uncertainty":
            from ._layers import TaskUncertainty

            # the losses read this layer's log-variances; _loss() takes it
            self._uncertainty_layer = TaskUncertainty(len(self._heads_), name="task_uncertainty")
            trunk = self._uncertainty_layer(trunk)
        outputs = []
        for i, head in enumerate(self._heads_):
            h = trunk
            if head.on is not None:
                branch = encoded[head.on]
                if isinstance(branch, tuple):
                    # token_attention: the task reads the mean of the branch's tokens
                    from ..keras._layers import TokenPooling

                    branch = TokenPooling("mean", name=f"task{i}_branch_pooling")(*branch)
                h = layers.Concatenate(name=f"task{i}_with_branch")([trunk, branch])
            h = dense_stack(h, self.task_layers, f"task{i}")
            outputs.append(layers.Dense(head.units, activation=head.activation,
                                        name=head.layer_name(i))(h))
        return keras.Model(inputs, outputs)

    def _loss(self):
        """Each task's loss; with ``"uncertainty"``, wrapped with its learned
        log-variance from the model just built."""
        losses = [head.loss for head in self._heads_]
        if self._loss_weights_ != "uncertainty":
            return losses
        from ._layers import UncertaintyWeightedLoss

        layer = vars(self).pop("_uncertainty_layer")
        return [UncertaintyWeightedLoss(loss, i, head.uncertainty_factor).bind(layer)
                for i, (loss, head) in enumerate(zip(losses, self._heads_))]

    def _metrics(self):
        return [[head.metric] for head in self._heads_]

    def _compile_kwargs(self, keras):
        kwargs = super()._compile_kwargs(keras)
        if self._loss_weights_ != "uncertainty":
            kwargs.setdefault("loss_weights", self._loss_weights_)
        return kwargs

    def _fit_kwargs(self, keras, x, y, sample_weight):
        kwargs = super()._fit_kwargs(keras, x, y, sample_weight)
        kwargs["callbacks"].append(_task_history(keras, self.model_, self._heads_))
        return kwargs

    def _custom_objects(self):
        from ._layers import CUSTOM_OBJECTS

        return {**super()._custom_objects(), **CUSTOM_OBJECTS}

    # -- prediction ------------------------------------------------------

    def _outputs(self, X):
        """The model's raw output per task, as numpy arrays."""
        outputs = self._forward(X)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]  # a one-task model returns its output bare
        return dict(zip(self.tasks_, outputs))

    def _head(self, task):
        check_is_fitted(self)
        for head in self._heads_:
            if head.name == task:
                return head
        raise ValueError(
            f"{type(self).__name__}: unknown task {task!r}; the tasks are "
            f"{self.tasks_}."
        )

    def _predict_task(self, X, task, how):
        head = self._head(task)
        return getattr(head, how)(self._outputs(X)[task])

    def predict(self, X):
        """Predict every task.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Samples, with the columns seen in ``fit``.

        Returns
        -------
        Y_pred : DataFrame of shape (n_samples, n_columns) or ndarray of shape (n_samples,)
            The columns of Y each task was fitted on: class labels,
            numbers, or 0/1 per label of a multilabel task. Indexed like
            ``X`` when ``X`` is a DataFrame. Fitted on a single task's 1-D
            ``y``: that task's predictions, as a 1-D array.

        See Also
        --------
        predict_proba : Class probabilities of the classification tasks.
        get_output_meta : The columns and dtypes of this output.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skfusion.multitask import MultiTaskKerasEstimator
        >>> X = np.random.RandomState(0).normal(size=(40, 2))
        >>> Y = pd.DataFrame({"price": X[:, 0], "big": np.where(X[:, 1] > 0, "yes", "no")})
        >>> model = MultiTaskKerasEstimator({"price": "regression", "big": "binary"},
        ...                                 shared_layers=(4,), epochs=1, random_state=0)
        >>> pred = model.fit(X, Y).predict(X[:3])
        >>> pred.shape, pred["price"].dtype, set(pred["big"]) <= {"no", "yes"}
        ((3, 2), dtype('float64'), True)
        """
        outputs = self._outputs(X)
        if self._target_1d_:
            head = self._heads_[0]
            return head.decode(outputs[head.name])
        columns = {}
        for head in self._heads_:
            decoded = head.decode(outputs[head.name])
            if head.kind == "multilabel":
                columns.update(zip(head.column_list, decoded.T))
            else:
                columns[head.columns] = decoded
        return pd.DataFrame(columns, index=getattr(X, "index", None))

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of every classification task.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Samples, with the columns seen in ``fit``.

        Returns
        -------
        proba : dict or ndarray of shape (n_samples, n_classes)
            Per classification task, an array of shape (n_samples,
            n_classes) in the order of ``classes_[task]`` (a multilabel
            task: the probability of each label). Fitted on a single task's
            1-D ``y``: that task's array, in the order of ``classes_``.

        See Also
        --------
        predict : Every task's prediction.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skfusion.multitask import MultiTaskKerasEstimator
        >>> X = np.random.RandomState(0).normal(size=(40, 2))
        >>> Y = pd.DataFrame({"price": X[:, 0], "big": np.where(X[:, 1] > 0, "yes", "no")})
        >>> model = MultiTaskKerasEstimator({"price": "regression", "big": "binary"},
        ...                                 shared_layers=(4,), epochs=1, random_state=0)
        >>> proba = model.fit(X, Y).predict_proba(X[:3])
        >>> list(proba), proba["big"].shape
        (['big'], (3, 2))
        """
        outputs = self._outputs(X)
        if self._target_1d_:
            head = self._heads_[0]
            return head.proba(outputs[head.name])
        return {head.name: head.proba(outputs[head.name])
                for head in self._heads_ if head.is_classifier}

    def get_output_meta(self, method="predict"):
        """The columns and dtypes of ``method``'s output as one table, with
        no rows: declared from the fitted heads, without running the model.

        :func:`skfusion.distributed.predict` asks for it, to declare the
        output of every partition before any of them runs.

        Parameters
        ----------
        method : {"predict", "predict_proba"}, default="predict"
            The method whose output is described.

        Returns
        -------
        meta : DataFrame of shape (0, n_columns)
            For ``"predict"``, the frame ``predict`` returns: one column per
            Y column a task was fitted on, labels in their own dtype,
            numbers as float64, 0/1 as int for each label of a multilabel
            task. For ``"predict_proba"``, its dict of arrays side by side:
            a float64 column ``<task>_<class>`` per class of each
            classification task (a multilabel task: ``<task>_<label
            column>``), tasks in their order and classes in the order of
            ``classes_[task]``.

        See Also
        --------
        skfusion.distributed.predict : Predicts partition by partition with
            this table as the output's declaration.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skfusion.multitask import MultiTaskKerasEstimator
        >>> X = np.random.RandomState(0).normal(size=(40, 2))
        >>> Y = pd.DataFrame({"price": X[:, 0], "big": np.where(X[:, 1] > 0, "yes", "no")})
        >>> model = MultiTaskKerasEstimator({"price": "regression", "big": "binary"},
        ...                                 shared_layers=(4,), epochs=1, random_state=0)
        >>> model.fit(X, Y).get_output_meta("predict_proba").columns.tolist()
        ['big_no', 'big_yes']
        """
        check_is_fitted(self, "_heads_")
        methods = [m for m in ("predict", "predict_proba") if hasattr(self, m)]
        if method not in methods:
            raise ValueError(
                f"{type(self).__name__}: get_output_meta got method={method!r}; "
                f"expected one of {methods}, the methods of this model whose output "
                "is a table; pass one of them."
            )
        columns = {}
        for head in self._heads_:
            if method == "predict":
                if head.kind == "multilabel":
                    columns.update((c, np.dtype(int)) for c in head.column_list)
                elif head.is_classifier:
                    # what pandas makes of the labels (str for strings in pandas 3)
                    columns[head.columns] = pd.Series(head.classes_).dtype
                else:
                    columns[head.columns] = np.dtype("float64")
            elif head.is_classifier:
                labels = head.column_list if head.kind == "multilabel" else head.classes_
                columns.update((f"{head.name}_{c}", np.dtype("float64")) for c in labels)
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in columns.items()})

    def score(self, X, y, sample_weight=None):
        """Mean of the tasks' scores: accuracy for a classification task
        (subset accuracy for a multilabel one), R² for a regression task.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Samples.

        y : DataFrame or array-like of shape (n_samples,)
            True targets, with the columns of every task; for a single
            binary, multiclass or regression task, also its 1-D targets.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights of every task's score.

        Returns
        -------
        score : float
            The unweighted mean over tasks; use :func:`task_scorer` for one.

        See Also
        --------
        task_scorer : A scorer of one task, for a grid search.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from skfusion.multitask import MultiTaskKerasEstimator
        >>> X = np.random.RandomState(0).normal(size=(40, 2))
        >>> Y = pd.DataFrame({"price": X[:, 0], "big": np.where(X[:, 1] > 0, "yes", "no")})
        >>> model = MultiTaskKerasEstimator({"price": "regression", "big": "binary"},
        ...                                 shared_layers=(4,), epochs=1, random_state=0)
        >>> score = model.fit(X, Y).score(X, Y)
        >>> isinstance(score, float) and score <= 1.0
        True
        """
        outputs = self._outputs(X)
        Y = self._check_Y(X, y)
        return float(np.mean([
            head.score(head.select(Y).to_numpy(), outputs[head.name], sample_weight)
            for head in self._heads_
        ]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        kinds = _task_kinds(self)
        if kinds in (["binary"], ["multiclass"], ["regression"]):
            # a single task takes a 1-D y: a classifier or a regressor
            tags.target_tags.single_output, tags.target_tags.multi_output = True, False
            if kinds == ["regression"]:
                tags.estimator_type, tags.regressor_tags = "regressor", RegressorTags()
            else:
                tags.estimator_type = "classifier"
                tags.classifier_tags = ClassifierTags(multi_class=kinds == ["multiclass"])
        return tags



def _check_widths(owner, param, widths):
    if not all(isinstance(w, Integral) and not isinstance(w, bool) and w >= 1 for w in widths):
        raise ValueError(
            f"{owner}: {param} must be a tuple of layer widths (ints >= 1), got "
            f"{widths!r}."
        )


def _task_history(keras, model, heads):
    """A callback that renames Keras' per-output entries of each epoch's
    logs (``task0_Rating_mean_absolute_error``) by task (``Rating_mae``)
    before ``History`` records them, and adds each task's learned weight
    with uncertainty weighting."""
    renames = {}
    for i, head in enumerate(heads):
        layer = head.layer_name(i)
        for metric in ("loss", head.metric):
            renames[f"{layer}_{metric}"] = f"{head.name}_{_METRIC_NAMES.get(metric, metric)}"
    renames.update({f"val_{k}": f"val_{v}" for k, v in renames.items()})
    uncertainty = next((layer for layer in model.layers if layer.name == "task_uncertainty"), None)
    factors = np.array([head.uncertainty_factor for head in heads])

    def on_epoch_end(epoch, logs):
        for old, new in renames.items():
            if old in logs:
                logs[new] = logs.pop(old)
        if uncertainty is not None:
            log_vars = keras.ops.convert_to_numpy(uncertainty.log_vars)
            for head, weight in zip(heads, factors * np.exp(-log_vars)):
                logs[f"{head.name}_weight"] = float(weight)

    return keras.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)
