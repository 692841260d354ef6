"""Early (feature-level) fusion: per-modality features, scaled per block,
concatenated, one estimator on top. What the classifier and the regressor
share."""

from functools import partial
from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import (
    MetaEstimatorMixin,
    TransformerMixin,
    clone,
)
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch, get_tags
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._cache import CACHE_CONSTRAINT, member_cache
from ..utils._columns import (
    as_matrix,
    check_columns_present,
    check_X,
    concat_blocks,
    resolve_columns,
    select,
    selected_names,
)
from ..utils._fitting import check_indicator, n_outputs
from ..utils._sklearn_compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_feature_names_in,
    _print_elapsed_time,
    _VisualBlock,
)
from ._base import (
    N_JOBS,
    _BaseMemberComposition,
    _is_drop,
    describe,
    raise_named,
    validate_members,
)
from ._targets import check_y_present
from ._weights import resolve_weights


def _is_passthrough(transformer):
    return isinstance(transformer, str) and transformer == "passthrough"


def _fit_transform_block(transformer, X_part, y, failure, message=None):
    """Fit one block's transformer (a clone) and return it with its output:
    the unit ``memory`` caches, like a step of a
    :class:`~sklearn.pipeline.Pipeline`. A failure is raised again under
    ``failure`` (the estimator and block); ``message`` is printed with the
    time taken when given."""
    with _print_elapsed_time("EarlyFusion", message):
        try:
            if hasattr(transformer, "fit_transform"):
                output = transformer.fit_transform(X_part, y)
            else:
                output = transformer.fit(X_part, y).transform(X_part)
        except Exception as exc:
            raise_named(exc, failure)
        return transformer, as_matrix(output)


def _fit_block(transformer, X_part, y, cache, failure, message=None):
    """A block's fitted transformer and its output on its training rows,
    from ``cache`` when the same block met the same data before."""
    if _is_passthrough(transformer):
        with _print_elapsed_time("EarlyFusion", message):
            return transformer, as_matrix(X_part)
    return cache.fit_transform(
        transformer, X_part, y,
        partial(_fit_transform_block, failure=failure, message=message),
    )


def _transform_block(transformer, X_part):
    if _is_passthrough(transformer):
        return as_matrix(X_part)
    return as_matrix(transformer.transform(X_part))


class _BlockScaler:
    """What a block goes through after its transformer: an optional
    projection, then per-block scaling, then its weight.

    ``"l2"`` divides the block by its mean row norm on the training data, so
    every block enters with an average row norm of one (times its weight)
    whatever its width; ``"standard"`` standardises each column and divides
    by the square root of the width, which gives the block an expected
    squared row norm of one.
    """

    def __init__(self, scaling, weight, projection):
        self.scaling = scaling
        self.weight = weight
        self.projection = projection

    def fit_transform(self, Z):
        if self.projection is not None:
            Z = as_matrix(self.projection.fit_transform(Z))
        self.scaler_ = None
        self.factor_ = float(self.weight)
        if self.scaling == "standard":
            self.scaler_ = StandardScaler(with_mean=not sparse.issparse(Z)).fit(Z)
            self.factor_ /= np.sqrt(Z.shape[1])
        elif self.scaling == "l2":
            norms = (
                np.sqrt(np.asarray(Z.multiply(Z).sum(axis=1)).ravel())
                if sparse.issparse(Z)
                else np.linalg.norm(Z, axis=1)
            )
            mean_norm = norms.mean()
            # an all-zero block has nothing to drown; leave it as it is
            self.factor_ /= mean_norm if mean_norm > 0 else 1.0
        return self._scale(Z)

    def transform(self, Z):
        if self.projection is not None:
            Z = as_matrix(self.projection.transform(Z))
        return self._scale(Z)

    def _scale(self, Z):
        if self.scaler_ is not None:
            Z = self.scaler_.transform(Z)
        return Z * self.factor_ if self.factor_ != 1.0 else Z


class _BaseEarlyFusion(TransformerMixin, MetaEstimatorMixin, _BaseMemberComposition):
    """Blocks, scaling, projection and the final estimator for early fusion."""

    _members_attr = "encoders"
    _names_attr = "_block_names_"

    _parameter_constraints: dict = {
        "encoders": [list],
        "block_scaling": [StrOptions({"l2", "standard"}), None],
        "block_weights": [dict, "array-like", None],
        "projection": [None, Interval(Integral, 1, None, closed="left"),
                       HasMethods(["fit_transform", "transform"])],
        "n_jobs": N_JOBS,
        "memory": CACHE_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        encoders,
        estimator,
        *,
        block_scaling="l2",
        block_weights=None,
        projection=None,
        n_jobs=None,
        memory=None,
        verbose=False,
    ):
        self.encoders = encoders
        self.block_scaling = block_scaling
        self.block_weights = block_weights
        self.projection = projection
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        setattr(self, self._final_param, estimator)

    # -- fit ---------------------------------------------------------------

    def _fit_blocks(self, X, y):
        """Fit every block; return the fused training features."""
        owner = type(self).__name__
        self.n_outputs_ = n_outputs(y)
        members = validate_members(self, self.encoders, param="encoders", passthrough=True)
        active = [m for m in members if not _is_drop(m.estimator)]
        for m in active:
            if not (_is_passthrough(m.estimator) or hasattr(m.estimator, "transform")):
                raise TypeError(
                    f"{owner}: block {m.name!r} needs a transformer (with "
                    f"transform), 'passthrough' or 'drop'; got "
                    f"{type(m.estimator).__name__}."
                )
        weights = self._check_block_weights(members)
        projection = self._check_projection()
        validate_data(self, X, skip_check_array=True, reset=True)

        columns = [resolve_columns(self, m, X, kind="block") for m in active]
        parts = [select(X, cols) for cols in columns]
        for m, cols, part in zip(active, columns, parts):
            if part.ndim == 2 and part.shape[1] == 0:
                raise ValueError(
                    f"{owner}: block {m.name!r} selects no columns of X "
                    f"(columns={cols!r}); give it at least one column or set it "
                    "to 'drop'."
                )

        cache = member_cache(self.memory, type(self).__name__)
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_block)(
                m.estimator, part, y, cache,
                f"{owner}: {describe('block', m.name, cols)} failed to fit",
                f"({i} of {len(active)}) Processing {m.name}" if self.verbose else None,
            )
            for i, (m, part, cols) in enumerate(zip(active, parts, columns), start=1)
        )
        blocks, scalers = [], []
        for m, (_, output) in zip(active, results):
            self._check_block_output(m.name, output, when="fit")
            scaler = _BlockScaler(
                self.block_scaling,
                weights[m.name],
                None if projection is None or output.shape[1] <= _width(projection)
                else clone(projection),
            )
            try:
                blocks.append(scaler.fit_transform(output))
            except ValueError as exc:
                if scaler.projection is None:
                    raise
                raise ValueError(
                    f"{owner}: projecting block {m.name!r} ({output.shape[1]} "
                    f"features, {output.shape[0]} sample(s)) with "
                    f"{type(scaler.projection).__name__} failed: {exc}"
                ) from exc
            scalers.append(scaler)

        self.encoders_ = [fitted for fitted, _ in results]
        self._block_names_ = [m.name for m in active]
        self._all_names_ = [m.name for m in members]
        fitted = dict(zip(self._block_names_, self.encoders_))
        self.named_encoders_ = Bunch(**{
            name: fitted.get(name, "drop") for name in self._all_names_
        })
        self._columns_ = columns
        self._scalers_ = scalers
        self._block_widths_ = [output.shape[1] for _, output in results]
        self.output_indices_ = {}
        start = 0
        for name, block in zip(self._block_names_, blocks):
            self.output_indices_[name] = slice(start, start + block.shape[1])
            start += block.shape[1]
        for name in self._all_names_:
            self.output_indices_.setdefault(name, slice(0, 0))
        return self._concat(blocks)

    def _concat(self, blocks):
        """Blocks side by side; dense unless the final estimator takes sparse
        input (a TF-IDF block next to dense ones, before a Keras head)."""
        fused = concat_blocks(blocks)
        if sparse.issparse(fused) and not get_tags(getattr(self, self._final_param)).input_tags.sparse:
            fused = fused.toarray()
        return fused

    def _check_block_weights(self, members):
        names = [m.name for m in members]
        values = resolve_weights(
            type(self).__name__, self.block_weights, names, param="block_weights", kind="block"
        )
        return dict(zip(names, values.tolist()))

    def _check_projection(self):
        projection = self.projection
        if projection is None or hasattr(projection, "fit_transform"):
            return projection
        if isinstance(projection, Integral) and not isinstance(projection, bool) and projection > 0:
            from sklearn.decomposition import TruncatedSVD

            # a fixed seed: the same data always gives the same projection
            return TruncatedSVD(n_components=int(projection), random_state=0)
        raise ValueError(
            f"{type(self).__name__}: projection must be None, a positive int (the "
            "width every wider block is reduced to with TruncatedSVD) or a "
            f"transformer, got {projection!r}."
        )

    def _check_block_output(self, name, output, *, when):
        data = output.data if sparse.issparse(output) else output
        bad = ~np.isfinite(data)
        if bad.any():
            rows = (
                np.unique(output.tocoo().row[~np.isfinite(output.tocoo().data)])
                if sparse.issparse(output)
                else np.flatnonzero(bad.any(axis=1))
            )
            raise ValueError(
                f"{type(self).__name__}: the output of block {name!r} holds NaN or "
                f"infinite values in {rows.size} row(s) at {when} time (first row: "
                f"{int(rows[0])}); impute the block's columns (e.g. a "
                "SimpleImputer in its transformer) or give it a transformer that "
                "handles missing values."
            )

    # -- the fused features ------------------------------------------------------

    def _fused_features(self, X):
        check_is_fitted(self, "encoders_")
        X = check_X(self, X)
        for name, cols in zip(self._block_names_, self._columns_):
            check_columns_present(self, f"block {name!r}", cols, X, when="predict")
        validate_data(self, X, skip_check_array=True, reset=False)
        blocks = []
        for name, transformer, cols, scaler in zip(
            self._block_names_, self.encoders_, self._columns_, self._scalers_
        ):
            output = _transform_block(transformer, self._modality_input(X, name, cols))
            self._check_block_output(name, output, when="predict")
            blocks.append(scaler.transform(output))
        return self._concat(blocks)

    def transform(self, X):
        """The fused features of X: every block transformed, scaled,
        weighted and concatenated (what the final estimator sees).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        X_fused : {ndarray, sparse matrix} of shape (n_samples, n_fused_features)
            Sparse when any block's output is sparse and the final estimator
            takes sparse input; ``output_indices_`` maps each block to its
            columns.

        See Also
        --------
        skfusion.fusion.EarlyFusionClassifier.get_feature_names_out : The names of these columns.
        sklearn.compose.ColumnTransformer.transform : Concatenation without per-block scaling.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import Ridge
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionRegressor
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(30, 3))
        >>> y = X[:, 0] + 10 * X[:, 2]
        >>> reg = EarlyFusionRegressor(
        ...     [("wide", StandardScaler(), [0, 1]), ("narrow", "passthrough", [2])], Ridge()
        ... ).fit(X, y)
        >>> reg.transform(X[:4]).shape
        (4, 3)
        """
        return self._fused_features(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the fused features, ``<block>__<feature>``.

        A block's feature names come from its transformer's
        ``get_feature_names_out`` (its input column names for
        ``"passthrough"``); a projected block's are ``<block>__proj<k>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<block>__<feature>`` for each column of ``transform``.

        See Also
        --------
        skfusion.fusion.EarlyFusionClassifier.transform : The columns these names describe.
        sklearn.compose.ColumnTransformer.get_feature_names_out : Its names, ``<name>__<feature>`` too.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import Ridge
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionRegressor
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(30, 3))
        >>> y = X[:, 0] + 10 * X[:, 2]
        >>> reg = EarlyFusionRegressor(
        ...     [("wide", StandardScaler(), [0, 1]), ("narrow", "passthrough", [2])], Ridge()
        ... ).fit(X, y)
        >>> reg.get_feature_names_out().tolist()
        ['wide__x0', 'wide__x1', 'narrow__x2']
        """
        check_is_fitted(self, "encoders_")
        input_features = _check_feature_names_in(self, input_features)
        names = []
        for name, transformer, cols, scaler, width in zip(
            self._block_names_, self.encoders_, self._columns_, self._scalers_,
            self._block_widths_,
        ):
            if scaler.projection is not None:
                inner = [f"proj{k}" for k in range(_width(scaler.projection))]
            elif _is_passthrough(transformer):
                inner = list(selected_names(input_features, cols))
            elif hasattr(transformer, "get_feature_names_out"):
                try:
                    inner = list(transformer.get_feature_names_out())
                except (AttributeError, TypeError, ValueError):
                    inner = [f"x{k}" for k in range(width)]
            else:
                inner = [f"x{k}" for k in range(width)]
            names.extend(f"{name}__{feature}" for feature in inner)
        return np.asarray(names, dtype=object)

    def _sk_visual_block_(self):
        names, transformers = zip(*[(item[0], item[1]) for item in self.encoders])
        blocks = _VisualBlock("parallel", transformers, names=names)
        final = getattr(self, self._final_param)
        return _VisualBlock(
            "serial", [blocks, final], names=["blocks", self._final_param],
            dash_wrapped=False,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            final_tags = get_tags(getattr(self, self._final_param))
            block_tags = [
                get_tags(item[1]) for item in self.encoders
                if not (_is_drop(item[1]) or _is_passthrough(item[1]))
            ]
            passthrough = any(_is_passthrough(item[1]) for item in self.encoders)
        except Exception:
            # malformed parameters: fit raises a clear error about them
            return tags
        # NaN reaches the final estimator only through a passthrough block,
        # and fit refuses NaN in a block's output either way
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = all(t.input_tags.sparse for t in block_tags) and (
            not passthrough or final_tags.input_tags.sparse
        )
        tags.input_tags.string = any(t.input_tags.string for t in block_tags)
        tags.target_tags.multi_output = final_tags.target_tags.multi_output
        tags.target_tags.single_output = final_tags.target_tags.single_output
        tags.transformer_tags.preserves_dtype = []
        return tags


def _width(projection):
    return int(getattr(projection, "n_components", None) or 0)


def _check_target(owner, y, *, classifier):
    """Refuse targets no final estimator can take, with a clear message."""
    if y is None:
        raise ValueError(f"{owner} requires y to be passed, but the target y is None.")
    check_y_present(owner, y)
    y_array = np.asarray(y)
    if y_array.ndim > 2:
        raise ValueError(
            f"{owner}: y must be 1-D, or 2-D for multi-label or multi-output "
            f"targets; got a {y_array.ndim}-D y of shape {y_array.shape}."
        )
    if classifier and y_array.ndim == 2 and y_array.shape[1] > 1:
        check_indicator(owner, y)
    return y
