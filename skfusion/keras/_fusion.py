"""End-to-end multi-modal Keras models over ``(name, encoder, columns)``
branches: each branch its own model input, fused inside the network."""

from numbers import Integral, Real

from ..utils._modalities import ModalityInputMixin
from ..utils._sklearn_compat import Interval, StrOptions
from ._base import import_keras, layer_tag
from ._branches import BranchesMixin, check_branches
from ._mlp import KerasMLPClassifier, KerasMLPRegressor

#: fusions that learn how to weigh the branches, each a layer of _fusion_layers
LEARNED_FUSIONS = ("gated", "weighted", "attention")


class _KerasFusion(ModalityInputMixin, BranchesMixin):
    """What the fusion models add to the MLPs: X through the branches
    (``branches_``) into one model input per branch, and the fusion of
    those inputs.

    Placed before the MLP class in the bases, so its ``_prepare_X``,
    ``_build_model`` and checks are the ones that run.
    """

    _fusion_constraints: dict = {
        "inputs": [list],
        "fusion": [StrOptions({"concat", "shared", *LEARNED_FUSIONS})],
        "fusion_units": [Interval(Integral, 1, None, closed="left"), None],
        "attention_heads": [Interval(Integral, 1, None, closed="left")],
        "attention_layers": [Interval(Integral, 1, None, closed="left")],
        "token_attention": ["boolean"],
        "missing": [StrOptions({"error", "learned"})],
        "modality_dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def _check_params(self, keras):
        super()._check_params(keras)
        check_branches(type(self).__name__, self.inputs)
        check_token_attention(self)

    def _prepare_X(self, X, *, reset):
        """One model input per branch, keyed by input name."""
        if not reset and hasattr(self, "branches_"):
            self.branches_.check_unchanged(self.inputs)
        return self._branch_inputs(X, reset=reset)

    def _build_model(self, x, y):
        keras = import_keras(type(self).__name__)
        inputs, outputs = self.branches_.build(keras, x, tokens=self.token_attention)
        branches = list(outputs.values())
        hidden_layers = [int(u) for u in self.hidden_layers]
        if self.fusion in LEARNED_FUSIONS:
            fused = fuse(keras, branches, self)
            return keras.Model(inputs, self._dense_head(keras, fused, hidden_layers, y))
        if self.fusion == "shared":
            widths = self.n_branch_features_
            if self.fusion_units is not None:
                # each branch first projected (linearly, its own weights) to
                # one width, so that branches of any widths share the layer
                branches = [keras.layers.Dense(self.fusion_units,
                                               name=layer_tag(f"project{i}", name))(branch)
                            for i, (name, branch) in enumerate(outputs.items())]
                widths = dict.fromkeys(widths, self.fusion_units)
            elif len(set(widths.values())) > 1:
                raise ValueError(
                    f"{type(self).__name__}: fusion='shared' applies one Dense layer to "
                    f"every branch, which needs branches of one width; got {widths}. Set "
                    "fusion_units to project each branch to that width first, use "
                    "fusion='concat', or encoders with outputs of the same width."
                )
            units = hidden_layers.pop(0) if hidden_layers else widths[next(iter(widths))]
            shared = keras.layers.Dense(units, activation=self.activation, name="shared")
            branches = [shared(branch) for branch in branches]
        fused = branches[0] if len(branches) == 1 else keras.layers.Concatenate()(branches)
        return keras.Model(inputs, self._dense_head(keras, fused, hidden_layers, y))

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


def fuse(keras, branches, estimator):
    """The branches' tensors fused by ``estimator.fusion``, one of
    ``LEARNED_FUSIONS`` (or ``"concat"``), with its ``fusion_units``,
    ``attention_heads`` and ``attention_layers``. A branch may be a
    ``(states, mask)`` pair (``token_attention=True``), which only
    ``"attention"`` takes."""
    if estimator.fusion == "concat":
        return branches[0] if len(branches) == 1 else keras.layers.Concatenate(
            name="fusion")(branches)
    from ._fusion_layers import AttentionFusion, GatedFusion, TokenAttentionFusion, WeightedFusion

    units = estimator.fusion_units
    if units is None:
        units = min(128, max(int((b[0] if isinstance(b, tuple) else b).shape[-1])
                             for b in branches))
    if estimator.fusion == "gated":
        return GatedFusion(units, name="fusion")(branches)
    if estimator.fusion == "weighted":
        return WeightedFusion(units, name="fusion")(branches)
    attention = {"heads": estimator.attention_heads, "layers": estimator.attention_layers,
                 "dropout": getattr(estimator, "dropout", 0.0), "name": "fusion"}
    sequences = [isinstance(b, tuple) for b in branches]
    if any(sequences):
        flat = [t for b in branches for t in (b if isinstance(b, tuple) else (b,))]
        return TokenAttentionFusion(units, sequences, **attention)(flat)
    return AttentionFusion(units, **attention)(branches)


def check_token_attention(estimator):
    """``token_attention=True`` only with ``fusion="attention"``."""
    if estimator.token_attention and estimator.fusion != "attention":
        raise ValueError(
            f"{type(estimator).__name__}: token_attention=True attends over a text "
            f"branch's tokens inside fusion='attention'; got fusion={estimator.fusion!r}. "
            "Set fusion='attention' or token_attention=False."
        )


_FUSION_DOC = """
    inputs : list of (name, encoder, columns) triples
        The branches, written as a :class:`~sklearn.compose.ColumnTransformer`'s
        transformers: ``columns`` of X (names, positions, a slice or a
        callable) through ``encoder`` (any scikit-learn transformer, such as
        :class:`~skfusion.encoders.TextEncoder`, or ``"passthrough"`` for
        numeric columns; ``"drop"`` is not accepted), each branch its own
        input of the Keras model. The encoders are fitted on the training
        rows and frozen, except an encoder whose ``keras_branch()`` gives a
        :class:`~skfusion.keras.KerasBranch` (the branch protocol): a
        :class:`~skfusion.encoders.TextEncoder` or
        :class:`~skfusion.encoders.ImageEncoder` with ``trainable`` set, or
        a third party's encoder. Its layers (a Keras port of the BERT
        checkpoint, a copy of the backbone) then sit inside the model and
        the trainable ones train with the rest. The encoders' parameters
        are searchable as ``<branch>__<param>``.

    fusion : {"concat", "shared", "gated", "weighted", "attention"}, \
default="concat"
        How the branches meet before the hidden layers: ``"concat"``
        concatenates them; ``"shared"`` first applies one Dense layer, the
        same weights for every branch, then concatenates (that layer takes
        the first entry of ``hidden_layers``, without dropout, and the other
        entries follow; branches of different widths need
        ``fusion_units``, which projects each to one width first). The learned
        fusions project each branch to ``fusion_units``: ``"gated"`` sums
        them through a sigmoid gate per branch and unit computed from all
        branches (a gated multimodal unit, Arevalo et al. 2017);
        ``"weighted"`` sums them with learned softmax weights, one per
        branch; ``"attention"`` makes each a token (plus a learned modality
        embedding), runs ``attention_layers`` transformer blocks of
        ``attention_heads`` heads over the tokens and averages them.

    fusion_units : int or None, default=None
        Width of the learned fusions' projections and output; None: the
        widest branch's, at most 128. With ``fusion="shared"``: each branch
        is first projected to this width by a linear Dense layer of its own
        (None: no projection, and the branches must be of one width).

    attention_heads : int, default=2
        Heads of ``fusion="attention"``'s self-attention.

    attention_layers : int, default=1
        Transformer blocks of ``fusion="attention"``.

    token_attention : bool, default=False
        With ``fusion="attention"``, a trainable text branch enters the
        attention as its every token state (the top trainable layer's,
        before pooling; padding masked out), each projected and tagged with
        the branch's modality embedding, rather than as one pooled token;
        the fused output is the mean of every real token. A branch of the
        :class:`~skfusion.keras.KerasBranch` protocol takes part when it
        defines ``build_tokens``. Costs attention over the text's length:
        mind ``max_length``.

    missing : {"error", "learned"}, default="error"
        What a row without a branch's input gets (a None/NaN text or
        image, every column of the branch NaN): ``"error"`` leaves it to
        the branch's encoder, which refuses it; ``"learned"`` gives the
        branch a learned "missing" embedding for that row instead of its
        features (its encoder never sees the row), so the rows that lack a
        modality are fitted and predicted. A row with no branch at all is
        an error either way.

    modality_dropout : float, default=0.0
        With ``missing="learned"``, the probability of dropping a branch of
        a training row (its missing embedding stands in; seeded by
        ``random_state``), so that the model learns to predict without it.
        Never at predict time.
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
    branches_ : Branches
        The fitted branches: their encoders, columns and widths.

    named_encoders_ : Bunch
        The fitted encoder of each branch (not ``"passthrough"`` ones).

    n_branch_features_ : dict of str to int
        Width of each branch's features in the model (a frozen branch's
        input, a trainable branch's output).

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
    KerasFusionRegressor : The regression sibling.
    skfusion.fusion.EarlyFusionClassifier : Per-modality features
        concatenated for any scikit-learn classifier.
    skfusion.multitask.MultiTaskKerasEstimator : One such model, several
        targets.

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
        fusion_units=None,
        attention_heads=2,
        attention_layers=1,
        token_attention=False,
        missing="error",
        modality_dropout=0.0,
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
        self.fusion_units = fusion_units
        self.attention_heads = attention_heads
        self.attention_layers = attention_layers
        self.token_attention = token_attention
        self.missing = missing
        self.modality_dropout = modality_dropout
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
    branches_ : Branches
        The fitted branches: their encoders, columns and widths.

    named_encoders_ : Bunch
        The fitted encoder of each branch (not ``"passthrough"`` ones).

    n_branch_features_ : dict of str to int
        Width of each branch's features in the model (a frozen branch's
        input, a trainable branch's output).

    model_ : keras.Model
        The fitted network, one input per branch.

    history_ : dict of list
        Per-epoch losses and metrics.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of str
        Column names of X, when X is a DataFrame.

    See Also
    --------
    KerasFusionClassifier : The classification sibling.
    skfusion.fusion.EarlyFusionRegressor : Per-modality features
        concatenated for any scikit-learn regressor.
    skfusion.multitask.MultiTaskKerasEstimator : One such model, several
        targets.

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
        fusion_units=None,
        attention_heads=2,
        attention_layers=1,
        token_attention=False,
        missing="error",
        modality_dropout=0.0,
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
        self.fusion_units = fusion_units
        self.attention_heads = attention_heads
        self.attention_layers = attention_layers
        self.token_attention = token_attention
        self.missing = missing
        self.modality_dropout = modality_dropout
        super().__init__(
            hidden_layers, activation=activation, dropout=dropout, optimizer=optimizer,
            learning_rate=learning_rate, epochs=epochs, batch_size=batch_size,
            validation_split=validation_split, early_stopping=early_stopping,
            warm_start=warm_start, random_state=random_state, verbose=verbose,
            **routed_params,
        )

