"""Stacking: a final estimator learns to combine the members' out-of-fold
outputs, with per-modality members, missing modalities and passthrough
features beside the predictions."""

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.base import ClassifierMixin, RegressorMixin, clone, is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..utils._columns import as_matrix, check_columns_present, check_X
from ..utils._sklearn_compat import (
    HasMethods,
    StrOptions,
    _check_feature_names_in,
    _check_response_method,
    _estimator_has,
    _fit_context,
    _raise_for_params,
    _routing_enabled,
    _VisualBlock,
)
from ._base import _is_drop, fit_one, validate_members
from ._late import _check_y_given, check_regression_y
from ._members import _BaseMemberFusion
from ._oof import oof_blocks
from ._targets import RegressionTarget, label_target

_AUTO = ("predict_proba", "decision_function", "predict")

_final_has = {
    name: available_if(_estimator_has(name, delegates=("final_estimator_", "final_estimator")))
    for name in ("predict", "predict_proba", "predict_log_proba", "decision_function")
}


class _BaseStackingFusion(_BaseMemberFusion):
    """Out-of-fold member outputs, the passthrough block and the final
    estimator fitted on them."""

    _parameter_constraints: dict = {
        "estimators": [list],
        "final_estimator": [None, HasMethods("fit")],
        "cv": ["cv_object", StrOptions({"prefit"})],
        "passthrough": ["boolean", list],
        "missing": [StrOptions({"error", "indicator"})],
        "n_jobs": [None, Integral],
        "memory": [None, str, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    _missing_fix = (
        "missing='indicator' to give the final estimator NaN member outputs and a "
        "missing-modality indicator for them"
    )
    _log_name = "Stacking"

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
                {"owner": type(self).__name__, "name": "final_estimator"})
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

        ``fit`` routes metadata to each member's ``fit``; ``predict``
        routes it to the final estimator's ``predict``.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        router = MetadataRouter(owner=self)
        for name, estimator in self._estimators:
            router.add(
                **{name: estimator},
                method_mapping=MethodMapping().add(callee="fit", caller="fit"),
            )
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


class StackingFusionClassifier(ClassifierMixin, _BaseStackingFusion):
    """Stacked generalisation over per-modality members: a final classifier
    learns to combine the members' out-of-fold outputs.

    Each member is fitted on its own columns; a final estimator is fitted on
    the members' cross-validated outputs (``stack_method``) and, with
    ``passthrough``, some features of X. Prediction runs the members refitted
    on all of X, then the final estimator. With ``(name, estimator)`` pairs
    it is a drop-in replacement for
    :class:`sklearn.ensemble.StackingClassifier`, and it adds per-modality
    columns, rows with a missing modality, encoded passthrough features and
    the member cache shared with :class:`LateFusionClassifier`.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) or (str, estimator) tuples
        The members, as in :class:`LateFusionClassifier`: any classifier (or
        regressor, for an ordinal target), each on its own columns; a member
        can be ``"drop"``. Members are fitted on integer-encoded labels.

    final_estimator : estimator, default=None
        The classifier fitted on the meta-features; ``None`` means
        :class:`~sklearn.linear_model.LogisticRegression`. Its parameters are
        searchable as ``final_estimator__<param>``.

    cv : int, cross-validation generator, iterable, "prefit" or None, default=None
        Folds for the members' out-of-fold outputs: ``None`` is 5-fold
        (stratified), as in :func:`~sklearn.model_selection.cross_val_predict`.
        ``"prefit"``: the members are already fitted (on the original
        labels) and are used as they are, their outputs on the training
        data feeding the final estimator; members wrapped in
        :class:`~sklearn.frozen.FrozenEstimator` are also used as they are.

    stack_method : {"auto", "predict_proba", "decision_function", "predict"}, \
            default="auto"
        What each member gives the final estimator. ``"auto"`` takes, per
        member, the first of ``predict_proba``, ``decision_function`` and
        ``predict`` it has, so a :class:`~sklearn.svm.LinearSVC` or
        :class:`~sklearn.linear_model.RidgeClassifier` member stacks its
        decision values. A binary target keeps one probability column per
        member.

    passthrough : bool or list of (str, transformer, columns), default=False
        Features of X handed to the final estimator beside the member
        outputs: ``True`` for every column as it is (sparse stays sparse), or
        ``(name, transformer, columns)`` triples, as in a
        :class:`~sklearn.compose.ColumnTransformer`, whose outputs are
        appended (``"passthrough"`` keeps numeric columns as they are): the
        hybrid that combines some features early and merges predictions
        late.

    missing : {"error", "indicator"}, default="error"
        Rows where every column of a member's modality is null: ``"error"``
        raises, naming the modality; ``"indicator"`` fits each member on the
        rows where its modality is present, gives the final estimator NaN in
        that member's outputs elsewhere and a 0/1 column saying the modality
        is missing (for each member whose modality was missing in ``fit``).
        Pick a final estimator that takes NaN, such as
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.

    n_jobs : int, default=None
        Number of jobs fitting members and folds in parallel through joblib.

    memory : str, joblib.Memory or None, default=None
        The member cache of :class:`LateFusionClassifier`: fitted members and
        their out-of-fold outputs are read back when the same member meets
        the same data, so a grid search over the final estimator refits no
        member.

    verbose : int, default=0
        Print the time taken to fit each member.

    Attributes
    ----------
    estimators_ : list of estimators
        The members fitted on all of X (as given, with ``cv="prefit"``).

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        Fitted members by name (``"drop"`` for dropped ones).

    final_estimator_ : estimator
        The fitted final classifier.

    stack_method_ : list of str
        The method each fitted member is stacked with.

    passthrough_ : "passthrough", ColumnTransformer or None
        What appends the passthrough features.

    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels; for multi-label y one ``array([0, 1])`` per label, as
        :class:`~sklearn.ensemble.StackingClassifier` gives.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    StackingFusionRegressor : The regression sibling.
    LateFusionClassifier : Weighted voting over the same members.
    sklearn.ensemble.StackingClassifier : Stacking members that all see X.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.svm import LinearSVC
    >>> from skfusion import StackingFusionClassifier
    >>> from skfusion.datasets import load_clothing_reviews
    >>> X, y = load_clothing_reviews(return_X_y=True)
    >>> X, y = X.iloc[:2000], y.iloc[:2000]
    >>> stack = StackingFusionClassifier(
    ...     [
    ...         ("text", make_pipeline(TfidfVectorizer(), LinearSVC()), "Review Text"),
    ...         ("tab", HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ...          ["Age", "Positive Feedback Count"]),
    ...     ],
    ...     final_estimator=HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ...     missing="indicator",
    ... ).fit(X, y)
    >>> stack.stack_method_
    ['decision_function', 'predict_proba']
    >>> stack.get_feature_names_out().tolist()
    ['stackingfusionclassifier_text', 'stackingfusionclassifier_tab', \
'stackingfusionclassifier_text_missing']
    """

    _parameter_constraints: dict = {
        **_BaseStackingFusion._parameter_constraints,
        "stack_method": [StrOptions({"auto", "predict_proba", "decision_function", "predict"})],
    }

    def __init__(
        self,
        estimators,
        final_estimator=None,
        *,
        cv=None,
        stack_method="auto",
        passthrough=False,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.stack_method = stack_method
        self.passthrough = passthrough
        self.missing = missing
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    @staticmethod
    def _default_final_estimator():
        return LogisticRegression()

    @_fit_context(
        # members are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit the members on their columns and the final estimator on
        their out-of-fold outputs.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; a DataFrame when members select columns by name.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multi-label targets.

        **fit_params : dict
            ``sample_weight``, passed to every member and to the final
            estimator; with metadata routing enabled, any metadata the
            members request.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
        _check_y_given(self, y)
        X = check_X(self, X)
        target = label_target(type(self).__name__, y)
        return self._fit_or_reset(self._fit_labels, X, target, fit_params)

    def _fit_labels(self, X, target, fit_params):
        self.classes_ = (
            [np.array([0, 1])] * len(target.classes_) if target.multilabel else target.classes_
        )
        return self._fit(X, target, fit_params)

    @_final_has["predict"]
    def predict(self, X, **predict_params):
        """Predict labels for X with the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        **predict_params : dict
            Passed to the final estimator's ``predict`` (routed, with
            metadata routing enabled).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.
        """
        params = self._routed_predict_params(predict_params)
        codes = self._final("predict", X, **params)
        return self._target_.decode_codes(codes)

    @_final_has["predict_proba"]
    def predict_proba(self, X):
        """Class probabilities for X from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            In the order of ``classes_``; for multi-label y, the probability
            of each label.
        """
        proba = self._final("predict_proba", X)
        # the final estimator knows the codes: columns in the order of classes_
        n_rows = len(proba[0]) if isinstance(proba, list) else len(proba)
        return self._target_.block(self.final_estimator_, proba, n_rows,
                                   "predict_proba", prefit=False)

    @_final_has["predict_log_proba"]
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return self._final("predict_log_proba", X)

    @_final_has["decision_function"]
    def decision_function(self, X):
        """Decision values for X from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        decisions : ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        return self._final("decision_function", X)


class StackingFusionRegressor(RegressorMixin, _BaseStackingFusion):
    """Stacked generalisation over per-modality regressors: a final
    regressor learns to combine the members' out-of-fold predictions.

    A drop-in replacement for :class:`sklearn.ensemble.StackingRegressor`
    with everything :class:`StackingFusionClassifier` adds.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) or (str, estimator) tuples
        The member regressors, as in :class:`StackingFusionClassifier`.

    final_estimator : estimator, default=None
        The regressor fitted on the meta-features; ``None`` means
        :class:`~sklearn.linear_model.RidgeCV`.

    cv : int, cross-validation generator, iterable, "prefit" or None, default=None
        As in :class:`StackingFusionClassifier` (plain k-fold).

    passthrough : bool or list of (str, transformer, columns), default=False
        As in :class:`StackingFusionClassifier`.

    missing : {"error", "indicator"}, default="error"
        As in :class:`StackingFusionClassifier`.

    n_jobs : int, default=None
        Number of jobs fitting members and folds in parallel through joblib.

    memory : str, joblib.Memory or None, default=None
        The member cache shared with :class:`LateFusionRegressor`.

    verbose : int, default=0
        Print the time taken to fit each member.

    Attributes
    ----------
    estimators_ : list of estimators
        The members fitted on all of X.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        Fitted members by name.

    final_estimator_ : estimator
        The fitted final regressor.

    stack_method_ : list of str
        ``"predict"`` for every fitted member.

    passthrough_ : "passthrough", ColumnTransformer or None
        What appends the passthrough features.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    StackingFusionClassifier : The classification sibling.
    LateFusionRegressor : A weighted mean of the same members.
    sklearn.ensemble.StackingRegressor : Stacking members that all see X.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from skfusion import StackingFusionRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 2))
    >>> y = 3 * X[:, 0] + X[:, 1] ** 2
    >>> reg = StackingFusionRegressor(
    ...     [("a", LinearRegression(), [0]), ("b", DecisionTreeRegressor(max_depth=3), [1])],
    ...     final_estimator=LinearRegression(),
    ... ).fit(X, y)
    >>> reg.transform(X).shape
    (60, 2)
    """

    def __init__(
        self,
        estimators,
        final_estimator=None,
        *,
        cv=None,
        passthrough=False,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=0,
    ):
        self.estimators = estimators
        self.final_estimator = final_estimator
        self.cv = cv
        self.passthrough = passthrough
        self.missing = missing
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    @staticmethod
    def _default_final_estimator():
        return RidgeCV()

    @_fit_context(
        # members are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit the members on their columns and the final estimator on
        their out-of-fold predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        **fit_params : dict
            ``sample_weight``, passed to every member and to the final
            estimator; with metadata routing enabled, any metadata the
            members request.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
        _check_y_given(self, y)
        X = check_X(self, X)
        y = check_regression_y(self, y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return self._fit_or_reset(self._fit, X, RegressionTarget(y), fit_params)

    @_final_has["predict"]
    def predict(self, X, **predict_params):
        """Predict with the final estimator from the members' predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        **predict_params : dict
            Passed to the final estimator's ``predict``, such as
            ``return_std=True`` for a Bayesian final regressor (routed, with
            metadata routing enabled).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values (a tuple with what ``predict_params`` ask for).
        """
        return self._final("predict", X, **self._routed_predict_params(predict_params))

