"""End-to-end multi-modal Keras models over ``(name, encoder, columns)``
branches: each branch its own model input, fused inside the network."""

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._columns import check_columns_present, check_X, resolve_columns
from ..utils._modalities import ModalityInputMixin
from ..utils._sklearn_compat import StrOptions
from ._base import import_keras, layer_tag
from ._branches import TrainableBranches, check_branches, trains
from ._mlp import KerasMLPClassifier, KerasMLPRegressor


class _KerasFusion(ModalityInputMixin, TrainableBranches):
    """What the fusion models add to the MLPs: X through the branches' encoders
    into one model input per branch, and the fusion of those inputs.

    Placed before the MLP class in the bases, so its ``_prepare_X``,
    ``_build_model`` and checks are the ones that run.
    """

    _fusion_constraints: dict = {
        "inputs": [list],
        "fusion": [StrOptions({"concat", "shared"})],
    }

    def _check_params(self, keras):
        super()._check_params(keras)
        owner = type(self).__name__
        for name, encoder, _ in check_branches(owner, self.inputs):
            if isinstance(encoder, str) and encoder == "passthrough":
                continue
            if isinstance(encoder, type) or not (hasattr(encoder, "fit")
                                                 and hasattr(encoder, "transform")):
                raise TypeError(
                    f"{owner}: branch {name!r} must have a scikit-learn transformer "
                    f"(fit and transform) or 'passthrough' as its encoder, got {encoder!r}."
                )

    def _prepare_X(self, X, *, reset):
        """One float32 matrix per branch: the branch's columns of X through
        its encoder (fitted here when ``reset``), keyed by branch."""
        owner = type(self).__name__
        if not reset:
            check_is_fitted(self, "named_encoders_")
        X = check_X(owner, X)
        if reset:
            self._columns_ = [resolve_columns(owner, b, X, kind="branch") for b in self.inputs]
            self._reset_trainable_branches()
            encoders = {}
        else:
            fitted = list(self.n_branch_features_)
            if [b[0] for b in self.inputs] != fitted or any(
                (isinstance(e, str)) != (name not in self.named_encoders_)
                for name, e, _ in self.inputs
            ):
                raise ValueError(
                    f"{owner}: inputs changed since fit (the model was fitted on "
                    f"branches {fitted}); set warm_start=False to fit afresh."
                )
            # a branch's missing column, named, before scikit-learn's generic check
            for (name, _, _), columns in zip(self.inputs, self._columns_):
                check_columns_present(owner, f"branch {name!r}", columns, X, when="predict")
        validate_data(self, X, skip_check_array=True, reset=reset)
        blocks = {}
        for (name, encoder, _), columns in zip(self.inputs, self._columns_):
            part = self._modality_input(X, name, columns)
            if isinstance(encoder, str) and encoder == "passthrough":
                block = part
            elif trains(encoder):
                if reset:
                    encoders[name] = encoder = self._fit_trainable_branch(owner, name, encoder, part)
                else:
                    encoder = self.named_encoders_[name]
                blocks[layer_tag(f"branch{len(blocks)}", name)] = self._trainable_inputs(
                    owner, name, encoder, part)
                continue
            elif reset:
                encoder = clone(encoder)
                block = encoder.fit_transform(part)
                encoders[name] = encoder
            else:
                block = self.named_encoders_[name].transform(part)
            blocks[layer_tag(f"branch{len(blocks)}", name)] = _as_input(owner, name, block, reset)
        if reset:
            self.named_encoders_ = Bunch(**encoders)
            self.n_branch_features_ = {
                name: encoders[name].n_features_out_ if trains(encoder) else block.shape[1]
                for (name, encoder, _), block in zip(self.inputs, blocks.values())
            }
        return blocks

    def _build_model(self, x, y):
        keras = import_keras(type(self).__name__)
        inputs = {}
        branches = [self._branch_input(keras, inputs, name, self.named_encoders_.get(name), key, block)
                    for (name, _, _), (key, block) in zip(self.inputs, x.items())]
        hidden_layers = [int(u) for u in self.hidden_layers]
        if self.fusion == "shared":
            widths = dict(self.n_branch_features_)
            if len(set(widths.values())) > 1:
                raise ValueError(
                    f"{type(self).__name__}: fusion='shared' applies one Dense layer to "
                    f"every branch, which needs branches of one width; got {widths}. Use "
                    "fusion='concat', or encoders with outputs of the same width."
                )
            units = hidden_layers.pop(0) if hidden_layers else widths[next(iter(widths))]
            shared = keras.layers.Dense(units, activation=self.activation, name="shared")
            branches = [shared(branch) for branch in branches]
        fused = branches[0] if len(branches) == 1 else keras.layers.Concatenate()(branches)
        return keras.Model(inputs, self._dense_head(keras, fused, hidden_layers, y))

    def _trains_branches(self):
        return any(trains(encoder) for _, encoder, _ in self._triples())

    def get_modalities(self):
        """The columns of X each branch sees, by branch name.

        :func:`~skfusion.inspection.modality_importance` asks it which
        columns make each modality.

        Returns
        -------
        modalities : dict of str to column spec
            ``{branch: columns}`` in the order of ``inputs``, as resolved in
            ``fit``.
        """
        check_is_fitted(self, "_columns_")
        return {name: columns for (name, _, _), columns in zip(self.inputs, self._columns_)}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        string = False
        # malformed inputs are fit's to report, with a clear message
        for branch in self.inputs if isinstance(self.inputs, list) else []:
            encoder = branch[1] if isinstance(branch, (tuple, list)) and len(branch) > 1 else None
            if hasattr(encoder, "__sklearn_tags__") and not isinstance(encoder, type):
                string = string or encoder.__sklearn_tags__().input_tags.string
        tags.input_tags.string = string
        tags.input_tags.allow_nan = False
        return tags


def _as_input(owner, name, block, reset):
    """A branch's encoder output as a finite float32 matrix."""
    if sparse.issparse(block):
        block = block.toarray()
    if hasattr(block, "to_numpy"):
        block = block.to_numpy()
    try:
        block = np.asarray(block, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{owner}: branch {name!r} gives values that are not numbers ({exc}); give "
            "it an encoder (TextEncoder, TabularEncoder, OneHotEncoder, ...) instead of "
            "'passthrough'."
        ) from None
    block = block.reshape(len(block), -1)
    if not np.isfinite(block).all():
        raise ValueError(
            f"{owner}: branch {name!r} has NaN or infinite values at "
            f"{'fit' if reset else 'predict'} time; impute them in its encoder "
            "(TabularEncoder does) or drop those rows."
        )
    return block


_FUSION_DOC = """
    inputs : list of (name, encoder, columns) triples
        The branches, written as a :class:`~sklearn.compose.ColumnTransformer`'s
        transformers: ``columns`` of X (names, positions, a slice or a
        callable) through ``encoder`` (any scikit-learn transformer, such as
        :class:`~skfusion.encoders.TextEncoder`, or ``"passthrough"`` for
        numeric columns; ``"drop"`` is not accepted), each branch its own
        input of the Keras model. The encoders are fitted on the training
        rows and frozen, except a :class:`~skfusion.encoders.TextEncoder` or
        :class:`~skfusion.encoders.ImageEncoder` with ``trainable`` set: its
        transformer (a Keras port of the BERT checkpoint) or backbone then
        sits inside the model and its top layers train with the rest. The
        encoders' parameters are searchable as ``<branch>__<param>``.

    fusion : {"concat", "shared"}, default="concat"
        How the branches meet: ``"concat"`` concatenates them before the
        hidden layers; ``"shared"`` first applies one Dense layer, the same
        weights for every branch, then concatenates (branches of one width
        only). That shared layer takes the first entry of ``hidden_layers``
        (without dropout); the other entries follow the concatenation.
"""


class KerasFusionClassifier(_KerasFusion, KerasMLPClassifier):
    __doc__ = f"""End-to-end multi-modal Keras classifier over per-branch inputs.

    Each ``(name, encoder, columns)`` branch becomes its own model input; the
    branches are fused inside the network, followed by dense layers and the
    head the target needs: softmax and cross-entropy for class labels, one
    sigmoid per label and binary cross-entropy for a 2-D 0/1 y
    (multi-label). Everything else
    is :class:`~skfusion.keras.KerasMLPClassifier`'s (routed ``optimizer__``
    / ``compile__`` / ``fit__`` parameters, ``random_state``, early stopping,
    pickling, thread limits).

    Parameters
    ----------{_FUSION_DOC}
    hidden_layers : sequence of int, default=(128,)
        Units of each dense layer after the fusion (with ``fusion="shared"``,
        the first is the shared layer's).

    activation, dropout, optimizer, learning_rate, epochs, batch_size, \
validation_split, early_stopping, class_weight, warm_start, random_state, \
verbose, **routed_params
        As in :class:`~skfusion.keras.KerasMLPClassifier`.

    Attributes
    ----------
    named_encoders_ : Bunch
        The fitted encoder of each branch (not ``"passthrough"`` ones).

    n_branch_features_ : dict of str to int
        Width of each branch's model input.

    model_ : keras.Model
        The fitted network, one input per branch.

    classes_ : ndarray
        Class labels (label indices for multi-label y).

    n_outputs_ : int
        1, or the number of labels of a multi-label y.

    history_ : dict of list
        Per-epoch losses and metrics.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of str
        Column names of X, when X is a DataFrame.

    See Also
    --------
    EarlyFusionClassifier : Per-modality features concatenated for any
        scikit-learn classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfusion.keras import KerasFusionClassifier
    >>> X = np.random.default_rng(0).normal(size=(40, 4))
    >>> y = (X[:, 0] + X[:, 3] > 0).astype(int)
    >>> clf = KerasFusionClassifier(
    ...     [("left", StandardScaler(), [0, 1]), ("right", "passthrough", [2, 3])],
    ...     hidden_layers=(8,), epochs=3, random_state=0,
    ... ).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        **KerasMLPClassifier._parameter_constraints,
        **_KerasFusion._fusion_constraints,
    }

    def __init__(
        self,
        inputs,
        *,
        fusion="concat",
        hidden_layers=(128,),
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
        self.inputs = inputs
        self.fusion = fusion
        super().__init__(
            hidden_layers, activation=activation, dropout=dropout, optimizer=optimizer,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size,
            validation_split=validation_split, early_stopping=early_stopping,
            class_weight=class_weight, warm_start=warm_start, random_state=random_state,
            verbose=verbose, **routed_params,
        )


class KerasFusionRegressor(_KerasFusion, KerasMLPRegressor):
    __doc__ = f"""End-to-end multi-modal Keras regressor over per-branch inputs.

    Each ``(name, encoder, columns)`` branch becomes its own model input; the
    branches are fused inside the network, followed by dense layers and a
    linear output per target column. Everything else is
    :class:`~skfusion.keras.KerasMLPRegressor`'s.

    Parameters
    ----------{_FUSION_DOC}
    hidden_layers : sequence of int, default=(128,)
        Units of each dense layer after the fusion (with ``fusion="shared"``,
        the first is the shared layer's).

    activation, dropout, optimizer, learning_rate, epochs, batch_size, \
validation_split, early_stopping, warm_start, random_state, verbose, \
**routed_params
        As in :class:`~skfusion.keras.KerasMLPRegressor`.

    Attributes
    ----------
    named_encoders_ : Bunch
        The fitted encoder of each branch (not ``"passthrough"`` ones).

    n_branch_features_ : dict of str to int
        Width of each branch's model input.

    model_ : keras.Model
        The fitted network, one input per branch.

    history_ : dict of list
        Per-epoch losses and metrics.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of str
        Column names of X, when X is a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.keras import KerasFusionRegressor
    >>> X = np.random.default_rng(0).normal(size=(40, 4))
    >>> reg = KerasFusionRegressor(
    ...     [("a", "passthrough", [0, 1]), ("b", "passthrough", [2, 3])],
    ...     fusion="shared", hidden_layers=(8,), epochs=3, random_state=0,
    ... ).fit(X, X.sum(axis=1))
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **KerasMLPRegressor._parameter_constraints,
        **_KerasFusion._fusion_constraints,
    }

    def __init__(
        self,
        inputs,
        *,
        fusion="concat",
        hidden_layers=(128,),
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
        self.inputs = inputs
        self.fusion = fusion
        super().__init__(
            hidden_layers, activation=activation, dropout=dropout, optimizer=optimizer,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size,
            validation_split=validation_split, early_stopping=early_stopping,
            warm_start=warm_start, random_state=random_state, verbose=verbose,
            **routed_params,
        )

