"""The branches of a Keras model of skfusion: ``(name, encoder, columns)``
triples, each its own model input, frozen (the encoder's ``transform``) or
trainable (the encoder's :class:`~skfusion.keras.KerasBranch`). One
component, :class:`Branches`, fits and applies them for
:class:`~skfusion.keras.KerasFusionClassifier`,
:class:`~skfusion.keras.KerasFusionRegressor` and
:class:`~skfusion.multitask.MultiTaskKerasEstimator` alike, with one set of
fitted names and one error wording. Imports Keras only in ``build``."""

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._columns import (check_columns_present, check_X, present_mask, resolve_columns,
                              take_rows)
from ._base import layer_tag
from ._protocol import KerasBranch
from ._sequences import TokenSequences


def _is_triples(inputs):
    return isinstance(inputs, list) and all(
        isinstance(b, (tuple, list)) and len(b) == 3 and isinstance(b[0], str) for b in inputs)


def _passthrough(encoder):
    return isinstance(encoder, str) and encoder == "passthrough"


def check_branches(owner, inputs):
    """``inputs`` as a non-empty list of (name, encoder, columns) triples
    with unique names and transformers (or ``"passthrough"``) as encoders,
    or a clear error."""
    if isinstance(inputs, dict):
        triples = [(name, spec[1], spec[0]) if isinstance(spec, tuple) and len(spec) > 1
                   else (name, "...", spec) for name, spec in inputs.items()]
        raise TypeError(
            f"{owner}: inputs is a dict; the {{branch: (columns, encoder)}} spelling was "
            "removed. Write a list of (name, encoder, columns) triples, as in a "
            f"ColumnTransformer: {triples!r}."
        )
    if not inputs or not _is_triples(inputs):
        raise ValueError(
            f"{owner}: inputs must be a non-empty list of (name, encoder, columns) "
            f"triples, as in a ColumnTransformer; got {inputs!r}."
        )
    names = [b[0] for b in inputs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"{owner}: inputs names must be unique, but {duplicated} appear more "
            f"than once in {names}."
        )
    for name, encoder, _ in inputs:
        if not _passthrough(encoder) and (isinstance(encoder, type) or not (
                hasattr(encoder, "fit") and hasattr(encoder, "transform"))):
            raise TypeError(
                f"{owner}: branch {name!r} must have a scikit-learn transformer "
                f"(fit and transform) or 'passthrough' as its encoder, got {encoder!r}."
            )
    return inputs


class Branches:
    """The fitted branches of one Keras model, owned by the estimator as
    ``branches_``.

    ``fit_transform(X, select)`` clones and fits each branch's encoder on its
    columns of X, and gives the model's inputs; ``transform(X, select)`` the
    inputs of other rows; ``build(keras, x)`` the Keras inputs and each
    branch's output tensor. ``select(X, name, columns)`` picks a branch's
    columns (the estimator's, which honours
    :meth:`~skfusion.keras.KerasFusionClassifier.with_modality_input`).

    Parameters
    ----------
    owner : str
        The estimator's class name, which errors name.

    inputs : list of (name, encoder, columns)
        The branches, checked.

    Attributes
    ----------
    named_encoders : Bunch
        Per branch (not ``"passthrough"``), its fitted encoder.

    trainable : dict of str to KerasBranch
        Per trainable branch, its fitted :class:`KerasBranch`.

    widths : dict of str to int
        Per branch, the width of its features in the model: a frozen
        branch's input width (known after ``fit_transform``), a trainable
        branch's output width (known after ``build``).

    learning_rates : dict of str to float
        Learning-rate multipliers by variable path, after ``build``.
    """

    def __init__(self, owner, inputs, *, missing="error", modality_dropout=0.0):
        self.owner = owner
        self.inputs = [tuple(b) for b in check_branches(owner, inputs)]
        self.names = [name for name, _, _ in self.inputs]
        self.keys = [layer_tag(f"branch{i}", name) for i, name in enumerate(self.names)]
        self.missing = missing
        self.modality_dropout = modality_dropout
        self.named_encoders = Bunch()
        self.trainable = {}
        self.widths = {}
        self.learning_rates = {}
        self.columns = None
        # per branch, with missing="learned": the input of a missing row
        self.placeholders = {}

    @property
    def trains(self):
        """Whether a branch trains inside the model."""
        return bool(self.trainable)

    def fit_transform(self, X, select):
        """Resolve each branch's columns of X, fit its encoder there, and
        return the model's inputs by input name."""
        self.columns = [resolve_columns(self.owner, b, X, kind="branch") for b in self.inputs]
        parts, present = self._parts(X, select, "fit")
        x = {}
        for (name, encoder, _), key in zip(self.inputs, self.keys):
            part, rows = parts[name], present[name]
            if rows is not None:
                part = take_rows(part, rows)
            branch = None
            if not _passthrough(encoder):
                encoder = clone(encoder)
                make = getattr(encoder, "keras_branch", None)
                branch = make() if callable(make) else None
            if branch is not None:
                if not isinstance(branch, KerasBranch):
                    raise TypeError(
                        f"{self.owner}: branch {name!r}: {type(encoder).__name__}.keras_branch() "
                        f"returned {type(branch).__name__}; expected a skfusion.keras.KerasBranch "
                        "(or None for a frozen branch)."
                    )
                self._call(name, branch.fit, part)
                self.trainable[name] = branch
                self.named_encoders[name] = branch.encoder
                block = self._trainable_input(name, branch, part)
            else:
                if _passthrough(encoder):
                    block = part
                else:
                    block = self._call(name, encoder.fit_transform, part)
                    self.named_encoders[name] = encoder
                block = self._frozen_input(name, block, "fit")
                self.widths[name] = block.shape[1]
            self._add_input(x, name, key, block, rows)
        return x

    def transform(self, X, select):
        """The model's inputs for the rows of X, by input name."""
        self.check_columns(X)
        parts, present = self._parts(X, select, "predict")
        x = {}
        for (name, encoder, _), key in zip(self.inputs, self.keys):
            part, rows = parts[name], present[name]
            if rows is not None:
                part = take_rows(part, rows)
            self._add_input(x, name, key, self._encode(name, encoder, part, rows), rows)
        return x

    def _parts(self, X, select, when):
        """Each branch's columns of X and, with ``missing="learned"``, the
        rows where the branch has a value (None: all of them); a clear error
        for a row without any branch, or a branch without any row at fit."""
        parts = {name: select(X, name, columns)
                 for (name, _, _), columns in zip(self.inputs, self.columns)}
        if self.missing != "learned":
            return parts, dict.fromkeys(parts)
        present = {name: present_mask(part) for name, part in parts.items()}
        if when == "fit":
            empty = [name for name, rows in present.items() if not rows.any()]
            if empty:
                raise ValueError(
                    f"{self.owner}: branch(es) {empty} have no value in any training row; "
                    "a missing embedding needs rows with the modality to learn beside."
                )
        nowhere = np.flatnonzero(~np.any(list(present.values()), axis=0))
        if nowhere.size:
            raise ValueError(
                f"{self.owner}: {nowhere.size} row(s) of X at {when} time (rows "
                f"{nowhere[:10].tolist()}{' ...' if nowhere.size > 10 else ''}) have no value "
                f"in any branch ({self.names}); a row needs at least one modality. Drop those "
                "rows, or impute one of their branches."
            )
        return parts, {name: None if rows.all() else rows for name, rows in present.items()}

    def _add_input(self, x, name, key, block, rows):
        """The branch's block as model input ``key`` (its missing rows
        filled with a placeholder) and, with ``missing="learned"``, which
        rows have the modality as input ``key + "_present"``."""
        if self.missing != "learned":
            x[key] = block
            return
        if block is not None and name not in self.placeholders:
            self.placeholders[name] = (_placeholder(block), isinstance(block, TokenSequences),
                                       getattr(block, "limit", None))
        n = len(block) if rows is None else len(rows)
        if rows is not None:
            block = _fill_missing(block, rows, *self.placeholders[name])
        x[key] = block
        x[f"{key}_present"] = (np.ones(n) if rows is None else rows).astype(np.float32)[:, None]

    def _encode(self, name, encoder, part, rows):
        """A fitted branch's input for ``part`` (its present rows), None when
        no row has the modality."""
        if rows is not None and not rows.any():
            return None
        if name in self.trainable:
            return self._trainable_input(name, self.trainable[name], part)
        block = part if _passthrough(encoder) else self._call(
            name, self.named_encoders[name].transform, part)
        block = self._frozen_input(name, block, "predict")
        if block.shape[1] != self.widths[name]:
            raise ValueError(
                f"{self.owner}: branch {name!r} gives {block.shape[1]} features at "
                f"predict time, not {self.widths[name]} as in fit; its encoder changes "
                "its output width between fit and transform."
            )
        return block

    def check_columns(self, X):
        """A clear error naming the branch whose fitted columns X lacks."""
        for (name, _, _), columns in zip(self.inputs, self.columns):
            check_columns_present(self.owner, f"branch {name!r}", columns, X, when="predict")

    def check_unchanged(self, inputs):
        """A clear error when ``inputs`` no longer has the fitted branches (a
        warm start would feed the old model other inputs)."""
        names = [b[0] for b in inputs] if _is_triples(inputs) else None
        kinds = [_passthrough(b[1]) for b in inputs] if names else None
        if names != self.names or kinds != [_passthrough(e) for _, e, _ in self.inputs]:
            raise ValueError(
                f"{self.owner}: inputs changed since fit (the model was fitted on "
                f"branches {self.names}); set warm_start=False to fit afresh."
            )

    def build(self, keras, x, *, tokens=False):
        """The model's inputs by name, and each branch's output tensor by
        branch name (a frozen branch's is its input).

        With ``tokens``, a trainable branch that defines
        :meth:`~skfusion.keras.KerasBranch.build_tokens` gives its token
        states and mask, a ``(states, mask)`` pair, instead of its pooled
        output; a ValueError when no branch does."""
        inputs, outputs = {}, {}
        self.learning_rates = {}
        for name, key in zip(self.names, self.keys):
            branch = self.trainable.get(name)
            if branch is None:
                inputs[key] = outputs[name] = keras.Input(shape=(x[key].shape[1],), name=key)
                continue
            built = branch.build_tokens(key) if tokens else None
            method = "build_tokens" if built is not None else "build"
            made, output = (built[0], built[1:]) if built is not None else branch.build(key)
            self._check_built(name, branch, method, key, x, made, output)
            inputs.update(made)
            outputs[name] = output
            self.widths[name] = int(output[0].shape[-1] if built else output.shape[-1])
            self.learning_rates.update(branch.learning_rates())
        if tokens and not any(isinstance(o, tuple) for o in outputs.values()):
            raise ValueError(
                f"{self.owner}: token_attention=True attends over the token states of "
                "trainable branches that give them (a TextEncoder with trainable set), but "
                f"no branch of {self.names} does; set token_attention=False."
            )
        if self.missing == "learned":
            from ._fusion_layers import MissingModality, MissingTokens

            for name, key in zip(self.names, self.keys):
                inputs[f"{key}_present"] = present = keras.Input(shape=(1,), name=f"{key}_present")
                output = outputs[name]
                if isinstance(output, tuple):
                    outputs[name] = tuple(MissingTokens(
                        self.modality_dropout, name=f"{key}_missing")([*output, present]))
                else:
                    outputs[name] = MissingModality(self.modality_dropout,
                                                    name=f"{key}_missing")([output, present])
        return inputs, outputs

    def _check_built(self, name, branch, method, key, x, made, output):
        """What a branch's build or build_tokens returned has the inputs
        its transform feeds and outputs of the right rank."""
        expected = {key, f"{key}_mask"} if isinstance(x[key], TokenSequences) else {key}
        if not isinstance(made, dict) or set(made) != expected:
            raise ValueError(
                f"{self.owner}: branch {name!r}: {type(branch).__name__}.{method}({key!r}) "
                f"must return ({{input name: keras.Input}}, "
                f"{'states, mask' if method == 'build_tokens' else 'output'}) with inputs "
                f"named {sorted(expected)}; got inputs "
                f"{sorted(made) if isinstance(made, dict) else made!r}."
            )
        if method == "build" and len(output.shape) != 2:
            raise ValueError(
                f"{self.owner}: branch {name!r}: {type(branch).__name__}.build() must "
                f"return an output of shape (batch, width); got {tuple(output.shape)}. "
                "Pool or flatten it in the branch."
            )
        if method == "build_tokens" and (len(output) != 2 or len(output[0].shape) != 3
                                         or len(output[1].shape) != 2):
            raise ValueError(
                f"{self.owner}: branch {name!r}: {type(branch).__name__}.build_tokens() "
                "must return (inputs, states of shape (batch, length, width), mask of "
                "shape (batch, length))."
            )

    def _trainable_input(self, name, branch, part):
        inputs = self._call(name, branch.transform, part)
        if not isinstance(inputs, TokenSequences):
            inputs = np.asarray(inputs)
            if inputs.ndim < 2 or len(inputs) != len(part):
                raise ValueError(
                    f"{self.owner}: branch {name!r}: {type(branch).__name__}.transform gave "
                    f"an array of shape {inputs.shape} for {len(part)} rows; expected one row "
                    "per row of X, (n_samples, ...) or a TokenSequences."
                )
        return inputs

    def _frozen_input(self, name, block, when):
        """A frozen branch's encoder output as a finite float32 matrix."""
        if sparse.issparse(block):
            block = block.toarray()
        if hasattr(block, "to_numpy"):
            block = block.to_numpy()
        try:
            block = np.asarray(block, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.owner}: branch {name!r} gives values that are not numbers ({exc}); "
                "give it an encoder (TextEncoder, TabularEncoder, OneHotEncoder, ...) "
                "instead of 'passthrough'."
            ) from None
        block = block.reshape(len(block), -1)
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            raise ValueError(
                f"{self.owner}: branch {name!r} has NaN or infinite values in "
                f"{int((~finite).sum())} row(s) at {when} time; impute them in its "
                "encoder (TabularEncoder does) or drop those rows."
            )
        return block

    def _call(self, name, method, part):
        """``method(part)``, its ValueError or TypeError prefixed with the
        estimator and the branch."""
        try:
            return method(part)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            if message.startswith(f"{self.owner}:"):
                raise
            message = f"{self.owner}: branch {name!r}: {message}"
            try:  # the same class (InvalidParameterError, ...), when it takes a message
                named = type(exc)(message)
            except Exception:
                named = None
            if named is None or str(named) != message:
                named = (ValueError if isinstance(exc, ValueError) else TypeError)(message)
            raise named from exc


def _placeholder(block):
    """What a missing row of a branch gets as input, which the missing
    embedding replaces in the model: zeros of one row (one zero token of
    a TokenSequences)."""
    first = block.arrays[0] if isinstance(block, TokenSequences) else block[0]
    shape = first.shape[1:] if isinstance(block, TokenSequences) else first.shape
    return np.zeros((1, *shape) if isinstance(block, TokenSequences) else shape, dtype=first.dtype)


def _fill_missing(block, rows, placeholder, sequences, limit):
    """A block of the present rows (None: there are none) spread over all
    rows, each missing row the placeholder."""
    if sequences:
        arrays = [placeholder] * len(rows)
        for row, array in zip(np.flatnonzero(rows), [] if block is None else block.arrays):
            arrays[row] = array
        return TokenSequences(arrays, limit)
    full = np.zeros((len(rows), *placeholder.shape), dtype=placeholder.dtype)
    if block is not None:
        full[rows] = block
    return full


class BranchesMixin:
    """What an estimator with ``inputs`` branches has: X through its
    ``branches_`` (``_branch_inputs``), the branches' nested parameters, as
    ColumnTransformer has them (``<branch>`` for a branch's encoder,
    ``<branch>__<param>`` for its parameters), ``get_modalities`` and the
    fitted names ``named_encoders_`` and ``n_branch_features_``."""

    def _branch_inputs(self, X, *, reset):
        """One model input per branch, keyed by input name: the branch's
        columns of X through its encoder, the branches fitted anew when
        ``reset``."""
        owner = type(self).__name__
        if not reset:
            check_is_fitted(self, "branches_")
        X = check_X(owner, X)
        if reset:
            self.branches_ = Branches(owner, self.inputs, missing=self.missing,
                                      modality_dropout=self.modality_dropout)
        else:
            # a branch's missing column, named, before scikit-learn's generic check
            self.branches_.check_columns(X)
        validate_data(self, X, skip_check_array=True, reset=reset)
        if reset:
            return self.branches_.fit_transform(X, self._modality_input)
        return self.branches_.transform(X, self._modality_input)

    def get_modalities(self):
        """The columns of X each branch sees, by branch name.

        :func:`~skfusion.inspection.modality_importance` asks it which
        columns make each modality.

        Returns
        -------
        modalities : dict of str to column spec
            ``{branch: columns}`` in the order of ``inputs``, as resolved in
            ``fit``; empty for a model without ``inputs``, which sees X as
            one block.

        See Also
        --------
        skfusion.inspection.modality_importance : Importance of each modality.

        Examples
        --------
        >>> import numpy as np
        >>> from skfusion.keras import KerasFusionClassifier
        >>> X = np.random.default_rng(0).normal(size=(20, 4))
        >>> y = (X[:, 0] > 0).astype(int)
        >>> clf = KerasFusionClassifier(
        ...     [("left", "passthrough", [0, 1]), ("right", "passthrough", [2, 3])],
        ...     hidden_layers=(4,), epochs=1, random_state=0,
        ... ).fit(X, y)
        >>> clf.get_modalities()
        {'left': [0, 1], 'right': [2, 3]}
        """
        check_is_fitted(self)
        branches = getattr(self, "branches_", None)
        return {} if branches is None else dict(zip(branches.names, branches.columns))

    def _triples(self):
        """``inputs`` when it is a list of triples, else nothing (malformed
        inputs are fit's to report)."""
        inputs = getattr(self, "inputs", None)
        return inputs if _is_triples(inputs) else []

    def get_params(self, deep=True):
        """Parameters of this estimator; with ``deep``, each branch's encoder
        as ``<branch>`` and its parameters as ``<branch>__<param>``
        (``review__trainable``), so a grid search can reach them.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of the branches' encoders.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.

        See Also
        --------
        set_params : Set these parameters.
        sklearn.compose.ColumnTransformer.get_params : The same nesting of
            a transformer's parameters.

        Examples
        --------
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.keras import KerasFusionClassifier
        >>> clf = KerasFusionClassifier([("tab", StandardScaler(), [0, 1])])
        >>> params = clf.get_params()
        >>> params["tab"], params["tab__with_mean"]
        (StandardScaler(), True)
        """
        params = super().get_params(deep=deep)
        if deep:
            for name, encoder, _ in self._triples():
                params[name] = encoder
                if hasattr(encoder, "get_params") and not isinstance(encoder, type):
                    params.update((f"{name}__{k}", v)
                                  for k, v in encoder.get_params(deep=True).items())
        return params

    def set_params(self, **params):
        """Set parameters, a branch's encoder (``review=...``) or its
        parameters (``review__trainable=2``) included.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            This estimator, its parameters set.

        See Also
        --------
        get_params : The parameters, nested ones included.

        Examples
        --------
        >>> from sklearn.preprocessing import MinMaxScaler, StandardScaler
        >>> from skfusion.keras import KerasFusionClassifier
        >>> clf = KerasFusionClassifier([("tab", StandardScaler(), [0, 1])])
        >>> clf.set_params(tab=MinMaxScaler(), tab__clip=True).inputs
        [('tab', MinMaxScaler(clip=True), [0, 1])]
        """
        if "inputs" in params:
            super().set_params(inputs=params.pop("inputs"))
        # a branch's encoder replaced by name; its nested parameters
        # (``review__trainable``) are BaseEstimator's to set, in place
        names = {b[0] for b in self._triples()}
        replaced = {k: params.pop(k) for k in list(params) if k in names}
        if replaced:
            super().set_params(inputs=[(name, replaced.get(name, encoder), columns)
                                       for name, encoder, columns in self._triples()])
        return super().set_params(**params) if params else self

    # fitted names shared by every estimator with branches

    @property
    def named_encoders_(self):
        """Bunch: per branch (not ``"passthrough"``), its fitted encoder.

        See Also
        --------
        n_branch_features_ : The width of each branch's features.
        sklearn.compose.ColumnTransformer.named_transformers_ : The same
            for a ColumnTransformer.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.keras import KerasFusionRegressor
        >>> X = np.random.default_rng(0).normal(size=(20, 3))
        >>> reg = KerasFusionRegressor(
        ...     [("tab", StandardScaler(), [0, 1]), ("raw", "passthrough", [2])],
        ...     hidden_layers=(4,), epochs=1, random_state=0,
        ... ).fit(X, X.sum(axis=1))
        >>> list(reg.named_encoders_)
        ['tab']
        >>> reg.named_encoders_.tab.mean_.shape
        (2,)
        """
        return self.branches_.named_encoders

    @property
    def n_branch_features_(self):
        """dict: per branch, the width of its features in the model.

        See Also
        --------
        named_encoders_ : Each branch's fitted encoder.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.preprocessing import OneHotEncoder
        >>> from skfusion.keras import KerasFusionRegressor
        >>> X = np.array([[0, 1.0, 2.0], [1, 0.5, 1.0], [2, 0.0, 3.0]] * 4)
        >>> reg = KerasFusionRegressor(
        ...     [("kind", OneHotEncoder(sparse_output=False), [0]),
        ...      ("size", "passthrough", [1, 2])],
        ...     hidden_layers=(4,), epochs=1, random_state=0,
        ... ).fit(X, X[:, 1])
        >>> reg.n_branch_features_
        {'kind': 3, 'size': 2}
        """
        return dict(self.branches_.widths)
