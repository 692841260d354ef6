"""Stacking: a final estimator learns to combine the members' out-of-fold
outputs, with per-modality members, missing modalities and passthrough
features beside the predictions. What the classifier and the regressor share."""

import numpy as np
from scipy import sparse
from sklearn.base import (
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.compose import ColumnTransformer
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import (
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import check_is_fitted

from ..utils._columns import as_matrix, check_columns_present, check_X
from ..utils._cache import CACHE_CONSTRAINT
from ..utils._sklearn_compat import (
    HasMethods,
    StrOptions,
    _check_feature_names_in,
    _check_response_method,
    _routing_enabled,
    _VisualBlock,
)
from ._base import N_JOBS, _is_drop, fit_one, validate_members
from ._members import _BaseMemberFusion
from ._oof import oof_blocks

_AUTO = ("predict_proba", "decision_function", "predict")

def _refuses_nan(estimator):
    """Whether ``estimator`` surely fails on NaN: its ``allow_nan`` tag is
    False and nothing it wraps says otherwise. A Pipeline is judged by its
    first step and a wrapper (``GridSearchCV``, ``CalibratedClassifierCV``,
    ``OneVsRestClassifier``) by its ``estimator``, whose tags theirs do not
    follow; an ensemble or a ColumnTransformer, whose parts may impute or
    take NaN, is not refused (a failure in its fit names the final
    estimator)."""
    if get_tags(estimator).input_tags.allow_nan:
        return False
    steps = [step for _, step in getattr(estimator, "steps", [])
             if step is not None and not isinstance(step, str)]
    if steps:
        return _refuses_nan(steps[0])
    inner = getattr(estimator, "estimator", None)
    if hasattr(inner, "fit"):
        return _refuses_nan(inner)
    return not (hasattr(estimator, "estimators") or hasattr(estimator, "transformers"))


class _BaseStackingFusion(_BaseMemberFusion):
    """Out-of-fold member outputs, the passthrough block and the final
    estimator fitted on them."""

    _parameter_constraints: dict = {
        "estimators": [list],
        "final_estimator": [None, HasMethods("fit")],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "passthrough": ["boolean", list],
        "missing": [StrOptions({"error", "indicator"})],
        "n_jobs": N_JOBS,
        "memory": CACHE_CONSTRAINT,
        "verbose": ["verbose"],
    }

    _missing_fix = (
        "missing='indicator' to give the final estimator NaN member outputs and a "
        "missing-modality indicator for them"
    )
    _log_name = "Stacking"
    _final_param = "final_estimator"

    def _fit(self, X, target, fit_params):
        """Fit the members, then the final estimator on their out-of-fold
        outputs (the members' own outputs with ``cv="prefit"``)."""
        self._target_ = target
        self.final_estimator_ = self._check_final_estimator()
        members = validate_members(self, self.estimators)
        active = [m for m in members if not _is_drop(m.estimator)]
        methods = [self._stack_method(m) for m in active]
        data = self._fit_members(
            X, target.y_, fit_params, members, multilabel=target.multilabel,
            prefit_all=self._prefit_cv(),
        )
        self.stack_method_ = methods
        if self._prefit_cv():
            blocks, available = self._member_blocks(X, methods, self._meta_block)
        else:
            blocks, available = oof_blocks(
                self, X, target.y_, data, methods, self._meta_block,
                multilabel=target.multilabel,
            )
        self._meta_widths_ = [b.shape[1] for b in blocks]
        self._indicators_ = (~available).any(axis=1)
        self.passthrough_ = self._fit_passthrough(X, target.y_)
        Z = self._meta_features(X, blocks, available)
        fit_one(self.final_estimator_, Z, target.y_, fit_params,
                {"owner": type(self).__name__, "name": "final_estimator",
                 "what": "final_estimator"})
        return self

    def _prefit_cv(self):
        return isinstance(self.cv, str) and self.cv == "prefit"

    def _check_final_estimator(self):
        final = clone(self.final_estimator if self.final_estimator is not None
                      else self._default_final_estimator())
        kind, check = ("classifier", is_classifier) if is_classifier(self) else ("regressor", is_regressor)
        if not check(final):
            raise ValueError(
                f"'final_estimator' parameter should be a {kind}. Got {final}"
            )
        if self.missing == "indicator" and _refuses_nan(final):
            raise ValueError(
                f"{type(self).__name__}: missing='indicator' gives the final estimator "
                f"NaN member outputs for rows without a modality, but "
                f"{type(final).__name__} does not take NaN (its allow_nan tag is False); "
                f"use one that does, such as HistGradientBoosting{kind.capitalize()}(), "
                "or a Pipeline that imputes first."
            )
        return final

    def _stack_method(self, member):
        method = getattr(self, "stack_method", "predict")
        wanted = list(_AUTO) if method == "auto" else method
        try:
            return _check_response_method(member.estimator, wanted).__name__
        except AttributeError as exc:
            raise ValueError(
                f"Underlying estimator {member.name} does not implement the method "
                f"{wanted}. {type(self).__name__} asks each member for "
                "stack_method; pick one every member has, or 'auto'."
            ) from exc

    def _meta_block(self, i, fitted, raw, n_rows, method):
        """A member's output as meta-features: the target's block, without
        the redundant first probability of a binary target."""
        block = self._target_.block(fitted, raw, n_rows, method, prefit=self._prefit_[i])
        if method == "predict_proba" and not self._target_.multilabel and block.shape[1] == 2:
            # binary probabilities sum to one: the second column says it all
            block = block[:, 1:]
        return block

    def _fit_passthrough(self, X, y):
        """The fitted passthrough transformer: ``"passthrough"`` for
        ``passthrough=True``, a ``ColumnTransformer`` over the triples,
        or None."""
        spec = self.passthrough
        if spec is False:
            return None
        if spec is True:
            return "passthrough"
        transformer = ColumnTransformer(list(spec), remainder="drop")
        transformer.fit(X, y)
        return transformer

    def _meta_features(self, X, blocks, available):
        """What the final estimator sees: each member's outputs (NaN where
        its modality is missing), an indicator per member whose modality was
        missing in fit (``missing="indicator"``), then the passthrough
        features."""
        n = X.shape[0]
        blocks = [np.full((n, width), np.nan) if b is None else b
                  for b, width in zip(blocks, self._meta_widths_)]
        parts = [*blocks]
        if self._indicators_.any():
            parts.append((~available[self._indicators_]).T.astype(float))
        Z = np.hstack(parts)
        if self.passthrough_ is None:
            return Z
        if isinstance(self.passthrough_, str):
            extra = X
        else:
            extra = self.passthrough_.transform(X)
        if sparse.issparse(extra):
            return sparse.hstack([Z, extra], format=getattr(X, "format", "csr"))
        try:
            return np.hstack([Z, as_matrix(extra)])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{type(self).__name__}: the passthrough columns are not numeric "
                f"({exc}); give passthrough as (name, transformer, columns) "
                "triples, e.g. [('tab', TabularEncoder(), columns)], to encode them."
            ) from exc

    # -- predict ---------------------------------------------------------------

    def transform(self, X):
        """The meta-features of X: what the final estimator predicts from.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        X_meta : {ndarray, sparse matrix} of shape (n_samples, n_meta_features)
            Each member's outputs (``stack_method_``; one probability column
            for a binary target), NaN where its modality is missing; then the
            missing-modality indicators; then the passthrough features
            (sparse when they are).

        See Also
        --------
        skfusion.fusion.StackingFusionClassifier.get_feature_names_out : The names of these columns.
        sklearn.ensemble.StackingClassifier.transform : Its counterpart on shared columns.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from sklearn.tree import DecisionTreeRegressor
        >>> from skfusion.fusion import StackingFusionRegressor
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(40, 2))
        >>> y = 3 * X[:, 0] + X[:, 1] ** 2
        >>> reg = StackingFusionRegressor(
        ...     [("a", LinearRegression(), [0]), ("b", DecisionTreeRegressor(max_depth=2), [1])],
        ...     final_estimator=LinearRegression(),
        ... ).fit(X, y)
        >>> reg.transform(X[:3]).shape
        (3, 2)
        """
        check_is_fitted(self, "final_estimator_")
        X = check_X(self, X)
        if isinstance(self.passthrough, list):
            # before the members' checks, so a missing column is named as ours
            for name, _, columns in self.passthrough:
                check_columns_present(self, f"passthrough {name!r}", columns, X, when="predict")
        blocks, available = self._member_blocks(X, self.stack_method_, self._meta_block)
        return self._meta_features(X, blocks, available)

    def _final(self, method, X, **params):
        check_is_fitted(self, "final_estimator_")
        return getattr(self.final_estimator_, method)(self.transform(X), **params)

    def _routed_predict_params(self, predict_params):
        if _routing_enabled():
            return process_routing(self, "predict", **predict_params).final_estimator_["predict"]
        return predict_params

    def get_feature_names_out(self, input_features=None):
        """Names of the meta-features ``transform`` returns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names, used for ``passthrough=True``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<classname>_<member>`` for a one-column member,
            ``<classname>_<member><k>`` otherwise, ``<classname>_<member>_missing``
            per indicator, then the passthrough names.

        See Also
        --------
        skfusion.fusion.StackingFusionClassifier.transform : The columns these names describe.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from sklearn.tree import DecisionTreeRegressor
        >>> from skfusion.fusion import StackingFusionRegressor
        >>> rng = np.random.RandomState(0)
        >>> X = rng.normal(size=(40, 2))
        >>> y = 3 * X[:, 0] + X[:, 1] ** 2
        >>> reg = StackingFusionRegressor(
        ...     [("a", LinearRegression(), [0]), ("b", DecisionTreeRegressor(max_depth=2), [1])],
        ...     final_estimator=LinearRegression(),
        ... ).fit(X, y)
        >>> reg.get_feature_names_out().tolist()
        ['stackingfusionregressor_a', 'stackingfusionregressor_b']
        """
        check_is_fitted(self, "n_features_in_")
        input_features = _check_feature_names_in(
            self, input_features, generate_names=self.passthrough is True
        )
        prefix = type(self).__name__.lower()
        names = []
        for name, width in zip(self._member_names_, self._meta_widths_):
            if width == 1:
                names.append(f"{prefix}_{name}")
            else:
                names.extend(f"{prefix}_{name}{k}" for k in range(width))
        names.extend(f"{prefix}_{name}_missing"
                     for name, ind in zip(self._member_names_, self._indicators_) if ind)
        if self.passthrough_ is None:
            return np.asarray(names, dtype=object)
        extra = (input_features if isinstance(self.passthrough_, str)
                 else self.passthrough_.get_feature_names_out())
        return np.concatenate([np.asarray(names, dtype=object), np.asarray(extra, dtype=object)])

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        ``fit`` routes metadata to each member's ``fit`` (as late fusion
        does); ``predict`` routes it to the final estimator's ``predict``.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.

        See Also
        --------
        sklearn.utils.metadata_routing.get_routing_for_object : Routing of any object.
        sklearn.ensemble.StackingClassifier.get_metadata_routing : The same routing in scikit-learn.

        Examples
        --------
        >>> import sklearn
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import StackingFusionRegressor
        >>> with sklearn.config_context(enable_metadata_routing=True):
        ...     member = LinearRegression().set_fit_request(sample_weight=True)
        ...     reg = StackingFusionRegressor([("a", member, [0]), ("b", LinearRegression(), [1])])
        ...     routing = reg.get_metadata_routing()
        >>> sorted(routing.consumes("fit", ["sample_weight"]))
        ['sample_weight']
        """
        router = super().get_metadata_routing()
        final = self.__dict__.get("final_estimator_", self.final_estimator)
        if final is None:
            final = self._default_final_estimator()
        router.add(
            final_estimator_=final,
            method_mapping=MethodMapping().add(caller="predict", callee="predict"),
        )
        return router

    def _sk_visual_block_(self):
        final = self.final_estimator if self.final_estimator is not None else self._default_final_estimator()
        names, estimators = zip(*[(item[0], item[1]) for item in self.estimators])
        members = _VisualBlock("parallel", estimators, names=names, dash_wrapped=False)
        final_block = _VisualBlock("parallel", [final], names=["final_estimator"],
                                   dash_wrapped=False)
        return _VisualBlock("serial", (members, final_block), dash_wrapped=False)

    def __sklearn_tags__(self):
        tags = self._with_member_tags(super().__sklearn_tags__())
        if isinstance(self.passthrough, list):
            try:
                passed = [get_tags(item[1]) for item in self.passthrough
                          if not isinstance(item[1], str)]
            except Exception:
                # malformed passthrough: fit raises a clear error about it
                return tags
            tags.input_tags.sparse = tags.input_tags.sparse and all(
                t.input_tags.sparse for t in passed)
            tags.input_tags.allow_nan = tags.input_tags.allow_nan and all(
                t.input_tags.allow_nan for t in passed)
        return tags
