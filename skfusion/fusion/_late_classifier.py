"""LateFusionClassifier: weighted voting over per-modality classifiers."""


import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..utils._columns import check_X
from ..utils._fitting import fit_rollback
from ..utils._sklearn_compat import (
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    _raise_for_params,
)
from ._base import _is_drop
from ._combiners import checked, get_combiner
from ._late import _BaseLateFusion
from ._targets import check_y_given, label_target


class LateFusionClassifier(ClassifierMixin, _BaseLateFusion):
    """Decision-level fusion: each modality's classifier votes, weighted.

    Each member is a classifier (any scikit-learn classifier or Pipeline,
    XGBoost, a Keras-based estimator, or a prefit model wrapped in
    :class:`sklearn.frozen.FrozenEstimator`) fitted on its own columns. Soft
    voting fuses their class probabilities with a weighted ``combiner``; hard
    voting takes the weighted majority of their labels. With ``(name,
    estimator)`` pairs every member sees every column, so this is a drop-in
    replacement for :class:`sklearn.ensemble.VotingClassifier` that adds
    per-modality columns, learned weights, missing modalities, multi-label
    targets and cached members. To learn how to combine the members with a
    model instead of weights, use :class:`StackingFusionClassifier`.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) or (str, estimator) tuples
        The members. ``columns`` selects what the member sees, exactly like
        :class:`~sklearn.compose.ColumnTransformer` (a name, a list of names,
        ints, a slice, a boolean mask or a callable such as
        :func:`~sklearn.compose.make_column_selector`); a pair means all
        columns. A member can be set to ``"drop"``. Members are cloned and
        fitted on integer-encoded labels (see ``le_``), except
        ``FrozenEstimator`` members, which are used as they are.

    weights : array-like of shape (n_estimators,), dict, "auto" or None, \
            default=None
        Member weights. ``None`` weighs members equally; a list gives one
        weight per entry of ``estimators`` (dropped ones included); a dict
        maps member names to weights (members it omits weigh 1); ``"auto"``
        learns them from out-of-fold member predictions (folds from ``cv``)
        for ``scoring`` (see ``weight_selection_``). With ``memory`` a refit
        for new weights refits no member.

    voting : {"soft", "hard"}, default="soft"
        ``"soft"`` fuses predicted probabilities with ``combiner``;
        ``"hard"`` predicts the weighted majority of the members' labels
        (ties go to the smaller class). ``predict_proba`` only exists for
        soft voting.

    combiner : str or callable, default=None
        Soft-voting rule: ``None`` or ``"mean"`` (weighted arithmetic mean),
        ``"geometric"`` (weighted geometric mean, renormalised), any name
        registered with :func:`register_combiner` or through the
        ``skfusion.combiners`` entry-point group, or a callable with the same
        signature. Ignored by hard voting.

    scoring : str, callable or None, default=None
        What ``weights="auto"`` optimises on the out-of-fold predictions.
        ``None``: the log loss of the fused probabilities (soft voting) or
        the Brier score of the fused votes (hard voting), minimised over the
        simplex. A scorer name or callable, as in
        :func:`~sklearn.model_selection.cross_val_score`: smooth ones
        (``"neg_log_loss"``, ``"neg_brier_score"``) are optimised over the
        simplex, any other (``"f1_macro"``, ``"roc_auc"``, ...) by bagged
        greedy ensemble selection (Caruana et al., 2004, 2006): selection
        with replacement, from the best member alone, on each of 20
        bootstrap samples of the out-of-fold rows (within each class), the
        bags' weights averaged; the average is kept only when the bags'
        weights beat equal weights on the rows each bag left out (the
        out-of-bag estimate of the gain, positive by at least two of its
        Monte Carlo standard errors), and equal weights are used otherwise:
        selecting on the out-of-fold predictions alone overfits them and
        can lose to equal weights on new data. The bootstrap is seeded, so
        a fit is repeatable. Like ``cv``, checked in ``fit`` whatever
        ``weights`` is.

    cv : int, cross-validation generator or iterable, default=5
        Folds for the out-of-fold predictions that learn ``weights="auto"``;
        an int gives (stratified) k-fold as in
        :func:`~sklearn.model_selection.cross_val_predict`.

    missing : {"error", "renormalize"}, default="error"
        What to do with rows where every column of a member's modality is
        null. ``"error"`` raises, naming the modality and the number of such
        rows. ``"renormalize"`` fits each member only on rows where its
        modality is present and predicts such rows from the other members,
        with their weights renormalised (shared equally when they all weigh
        zero).

    n_jobs : int, default=None
        Number of jobs fitting members (and out-of-fold folds) in parallel
        through joblib; ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context (Dask included), -1 every
        core. 0 is refused.

    memory : str, joblib.Memory or None, default=None
        Cache for fitted members and their predictions, keyed on each
        member's parameters (and the model files of skfusion encoders inside
        it) and a fingerprint of its data, under ``<location>/skfusion``: the
        same cache as every skfusion estimator's ``memory``. A grid search
        over ``weights``, ``voting`` or ``combiner`` then fits each member
        once per fold and reads every prediction it needs for scoring from
        the cache. Fitted members found there are shared, within a process,
        by every fit that finds them: refit the fusion rather than a member
        of ``estimators_`` in place. ``Memory.clear()`` does not remove it.

    verbose : bool, default=False
        Print the time taken to fit each member.

    flatten_transform : bool, default=True
        With soft voting, ``transform`` returns ``(n_samples, n_members *
        n_classes)`` if True and ``(n_members, n_samples, n_classes)`` if
        False, as in ``VotingClassifier``.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members that are not ``"drop"``.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        Fitted members by name (``"drop"`` for dropped ones).

    weights_ : ndarray of shape (n_fitted_members,)
        The weights used, aligned with ``estimators_`` and summing to one.

    weight_selection_ : dict
        How ``weights_`` came about: ``{"method": "given"}`` for the user's
        weights, ``{"method": "simplex"}`` for a smooth loss; for bagged
        ensemble selection, ``method``, ``n_bags``, ``n_scored`` (bags
        scored out of bag: only those whose left-out rows hold every class
        they drew), ``bag_weights`` (one row per bag), ``gain`` (the mean
        out-of-bag gain of the bags' weights over equal weights, in the
        scorer's units), ``gain_se`` (its standard error over the bags) and
        ``fallback`` (True when that gain was too small and equal weights
        are used).

    le_ : :class:`~sklearn.preprocessing.LabelEncoder` or None
        Encodes the labels the members are fitted on; None for multi-label y.

    classes_ : ndarray of shape (n_classes,)
        Class labels, or ``arange(n_labels)`` for multi-label y.

    n_outputs_ : int
        Number of columns of y: 1 for class labels, one per label for
        multi-label y.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    LateFusionRegressor : The regression sibling.
    StackingFusionClassifier : A final estimator learns to combine the members.
    sklearn.ensemble.VotingClassifier : Voting over members that all see X.

    Notes
    -----
    Multi-label ``y`` (a 2-D 0/1 indicator) is fused label by label: each
    label's probability is a two-class distribution combined like any other.
    ``predict_proba`` then returns ``(n_samples, n_labels)`` positive-class
    probabilities. A member that cannot fit multi-label y raises an error
    that names it.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skfusion import LateFusionClassifier
    >>> from skfusion.datasets import load_clothing_reviews
    >>> X, y = load_clothing_reviews(return_X_y=True)
    >>> X, y = X.iloc[:2000], y.iloc[:2000]
    >>> fusion = LateFusionClassifier(
    ...     [
    ...         ("text", make_pipeline(TfidfVectorizer(), LogisticRegression()),
    ...          "Review Text"),
    ...         ("tab", HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ...          ["Age", "Positive Feedback Count"]),
    ...     ],
    ...     weights={"text": 2, "tab": 1},
    ...     missing="renormalize",
    ... ).fit(X, y)
    >>> fusion.weights_.round(3).tolist()
    [0.667, 0.333]
    >>> fusion.predict_proba(X.iloc[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseLateFusion._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
        "combiner": [None, str, callable],
        "flatten_transform": ["boolean"],
    }

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        voting="soft",
        combiner=None,
        scoring=None,
        cv=5,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=False,
        flatten_transform=True,
    ):
        self.estimators = estimators
        self.weights = weights
        self.voting = voting
        self.combiner = combiner
        self.scoring = scoring
        self.cv = cv
        self.missing = missing
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.flatten_transform = flatten_transform

    @_fit_context(
        # members are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit every member on its columns and settle the weights.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; a DataFrame when members select columns by name.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multi-label targets.

        **fit_params : dict
            ``sample_weight``, passed to every member (and used by the weight
            search); with metadata routing enabled, any metadata the members
            request.

        Returns
        -------
        self : object
            The fitted estimator.

        See Also
        --------
        LateFusionClassifier.predict_proba : The fused probabilities of the fitted members.
        sklearn.ensemble.VotingClassifier.fit : Its counterpart on shared columns.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import LateFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = LateFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.classes_.tolist(), clf.weights_.tolist()
        ([0, 1], [0.5, 0.5])
        """
        with fit_rollback(self):
            _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
            check_y_given(self, y)
            X = check_X(self, X, y)
            target = label_target(type(self).__name__, y)
            self._check_combiner()
            return self._fit_labels(X, target, fit_params)

    def _fit_labels(self, X, target, fit_params):
        self.classes_, self.le_ = target.classes_, target.le_
        self._fit(X, target, fit_params)
        self._check_prefit_classes()
        return self

    def _check_prefit_classes(self):
        """A prefit member must know only classes that y has."""
        if self._target_.multilabel:
            return
        for name, est, prefit in zip(self._member_names_, self.estimators_, self._prefit_):
            extra = np.setdiff1d(getattr(est, "classes_", self.classes_), self.classes_) if prefit else []
            if len(extra):
                raise ValueError(
                    f"{type(self).__name__}: prefit member {name!r} predicts classes "
                    f"{extra.tolist()} that y does not have (y has {self.classes_.tolist()}); "
                    "fit the fusion on y with every class the member knows."
                )

    def _check_combiner(self):
        """The soft-voting combiner, its output checked (an unknown name
        raises here, at the start of ``fit``)."""
        if callable(self.combiner):
            name = getattr(self.combiner, "__name__", repr(self.combiner))
            return checked(type(self).__name__, name, self.combiner)
        name = "mean" if self.combiner is None else self.combiner
        return checked(type(self).__name__, name, get_combiner(name))

    def _check_members(self, members):
        if self.voting != "soft":
            return
        for m in members:
            if not _is_drop(m.estimator) and not hasattr(m.estimator, "predict_proba"):
                raise AttributeError(
                    f"{type(self).__name__}: member {m.name!r} "
                    f"({type(m.estimator).__name__}) has no predict_proba, which "
                    "voting='soft' needs; use voting='hard', enable probabilities "
                    "(e.g. SVC(probability=True)), wrap it in "
                    "sklearn.calibration.CalibratedClassifierCV, or stack it with "
                    "StackingFusionClassifier, which also takes decision_function."
                )

    def _fused_method(self):
        return "predict_proba" if self.voting == "soft" else "predict"

    def _score_array(self, blocks):
        scores = super()._score_array(blocks)
        return self._target_.one_hot(scores) if self.voting == "hard" else scores

    def _fuse(self, scores, weights):
        combine = self._check_combiner() if self.voting == "soft" else get_combiner("mean")
        return self._target_.fuse(scores, weights, combine)

    def predict(self, X):
        """Predict class labels (or a label indicator matrix) for X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.

        See Also
        --------
        LateFusionClassifier.predict_proba : The fused probabilities these labels maximise.
        sklearn.ensemble.VotingClassifier.predict : Its counterpart on shared columns.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import LateFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = LateFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.predict(X[:4]).tolist()
        [1, 0, 0, 0]
        """
        fused = self._fused(X)
        return self._target_.decode(fused)

    def _check_voting(self):
        if self.voting == "hard":
            raise AttributeError(
                f"predict_proba is not available when voting={self.voting!r}"
            )
        return True

    @available_if(_check_voting)
    def predict_proba(self, X):
        """Fused class probabilities for X (soft voting only).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Class probabilities in the order of ``classes_``; for multi-label
            y, the probability of each label.

        See Also
        --------
        LateFusionClassifier.transform : Each member's probabilities before fusion.
        skfusion.fusion.get_combiner : The rules that fuse them (``combiner``).

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import LateFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = LateFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> proba = clf.predict_proba(X[:2])
        >>> proba.shape, proba.sum(axis=1).round(6).tolist()
        ((2, 2), [1.0, 1.0])
        """
        return self._fused(X)

    def transform(self, X):
        """Each member's output for X, side by side.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        member_outputs : ndarray
            Soft voting: member probabilities, ``(n_samples, n_members *
            n_classes)``, or ``(n_members, n_samples, n_classes)`` when
            ``flatten_transform=False`` (per label for multi-label y). Hard
            voting: ``(n_samples, n_members)`` integer-encoded labels (one
            column per member and label for multi-label y). Rows a member
            cannot see (missing modality) are NaN in its columns.

        See Also
        --------
        LateFusionClassifier.get_feature_names_out : The names of these columns.
        LateFusionClassifier.predict_proba : The fused probabilities.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import LateFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = LateFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.transform(X[:2]).shape
        (2, 4)
        """
        scores, _ = self._member_scores(X, self._fused_method())
        if self.voting == "hard" and not self._target_.multilabel:
            votes = np.where(np.isnan(scores).any(axis=2), np.nan, scores.argmax(axis=2))
            return votes.T if not np.isnan(votes).any() else votes.T.astype(float)
        if self.voting == "soft" and not self.flatten_transform:
            return scores
        return np.hstack(scores)

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of ``transform``'s output.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<classname>_<member><k>`` per class (or label) for soft voting,
            ``<classname>_<member>`` for hard voting.

        See Also
        --------
        LateFusionClassifier.transform : The columns these names describe.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import LateFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = LateFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.get_feature_names_out().tolist()
        ['latefusionclassifier_a0', 'latefusionclassifier_a1', 'latefusionclassifier_b0', 'latefusionclassifier_b1']
        """
        check_is_fitted(self, "n_features_in_")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        if self.voting == "soft" and not self.flatten_transform:
            raise ValueError(
                "get_feature_names_out is not supported when `voting='soft'` and "
                "`flatten_transform=False`"
            )
        per_member = len(self.classes_) if (self.voting == "soft" or self._target_.multilabel) else 0
        names = []
        for name in self._member_names_:
            if per_member:
                names.extend(f"{prefix}_{name}{k}" for k in range(per_member))
            else:
                names.append(f"{prefix}_{name}")
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        return self._with_member_tags(super().__sklearn_tags__())
