"""StackingFusionClassifier: a final classifier learns to combine the
members' out-of-fold outputs."""


import numpy as np
from sklearn.base import (
    ClassifierMixin,
)
from sklearn.linear_model import LogisticRegression

from ..utils._columns import check_X
from ..utils._fitting import fit_rollback
from ..utils._sklearn_compat import (
    StrOptions,
    _fit_context,
    _raise_for_params,
)
from ._base import final_has
from ._stacking import _BaseStackingFusion
from ._targets import check_y_given, label_target


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
        The final estimator must take NaN (its ``allow_nan`` tag), as
        :class:`~sklearn.ensemble.HistGradientBoostingClassifier` or a
        Pipeline that imputes first does; ``fit`` refuses one that does not,
        the default included.

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

    n_outputs_ : int
        Number of columns of y: 1 for class labels, one per label for
        multi-label y.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
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

        See Also
        --------
        StackingFusionClassifier.predict_proba : The final estimator on the fitted members.
        sklearn.ensemble.StackingClassifier.fit : Its counterpart on shared columns.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import StackingFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = StackingFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.classes_.tolist(), clf.stack_method_
        ([0, 1], ['predict_proba', 'predict_proba'])
        """
        with fit_rollback(self):
            _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
            check_y_given(self, y)
            X = check_X(self, X, y)
            target = label_target(type(self).__name__, y)
            return self._fit_labels(X, target, fit_params)

    def _fit_labels(self, X, target, fit_params):
        self.classes_ = (
            [np.array([0, 1])] * len(target.classes_) if target.multilabel else target.classes_
        )
        return self._fit(X, target, fit_params)

    @final_has("predict")
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

        See Also
        --------
        StackingFusionClassifier.predict_proba : The probabilities behind these labels.
        sklearn.ensemble.StackingClassifier.predict : Its counterpart on shared columns.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import StackingFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = StackingFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.predict(X[:4]).tolist()
        [1, 0, 0, 0]
        """
        params = self._routed_predict_params(predict_params)
        codes = self._final("predict", X, **params)
        return self._target_.decode_codes(codes)

    @final_has("predict_proba")
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

        See Also
        --------
        StackingFusionClassifier.transform : The members' outputs the final estimator reads.
        StackingFusionClassifier.predict_log_proba : Their logarithm.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import StackingFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = StackingFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.predict_proba(X[:2]).round(2).tolist()
        [[0.38, 0.62], [0.74, 0.26]]
        """
        proba = self._final("predict_proba", X)
        # the final estimator knows the codes: columns in the order of classes_
        n_rows = len(proba[0]) if isinstance(proba, list) else len(proba)
        return self._target_.block(self.final_estimator_, proba, n_rows,
                                   "predict_proba", prefit=False)

    @final_has("predict_log_proba")
    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The logarithm of the class probabilities, in the order of ``classes_``.

        See Also
        --------
        StackingFusionClassifier.predict_proba : The probabilities themselves.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import StackingFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = StackingFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.predict_log_proba(X[:2]).round(2).tolist()
        [[-0.97, -0.48], [-0.3, -1.35]]
        """
        return self._final("predict_log_proba", X)

    @final_has("decision_function")
    def decision_function(self, X):
        """Decision values for X from the final estimator.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        decisions : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The final estimator's decision values.

        See Also
        --------
        StackingFusionClassifier.predict_proba : The final estimator's probabilities.
        sklearn.ensemble.StackingClassifier.decision_function : Its counterpart on shared columns.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from skfusion.fusion import StackingFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = StackingFusionClassifier(
        ...     [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
        ... ).fit(X, y)
        >>> clf.decision_function(X[:2]).round(2).tolist()
        [0.49, -1.05]
        """
        return self._final("decision_function", X)
