"""LateFusionRegressor: a weighted mean of per-modality regressors."""


import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..utils._columns import check_X
from ..utils._fitting import fit_rollback
from ..utils._sklearn_compat import (
    _check_feature_names_in,
    _fit_context,
    _raise_for_params,
)
from ._late import _BaseLateFusion
from ._targets import RegressionTarget, check_regression_y, check_y_given


class LateFusionRegressor(RegressorMixin, _BaseLateFusion):
    """Decision-level fusion for regression: a weighted mean of member predictions.

    Each member is a regressor fitted on its own columns; predictions are
    averaged with ``weights`` (renormalised per row over the members whose
    modality is present when ``missing="renormalize"``). With ``(name,
    estimator)`` pairs it is a drop-in replacement for
    :class:`sklearn.ensemble.VotingRegressor`.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) or (str, estimator) tuples
        The members, as in :class:`LateFusionClassifier`.

    weights : array-like of shape (n_estimators,), dict, "auto" or None, \
            default=None
        Member weights as in :class:`LateFusionClassifier`; ``"auto"``
        learns them from out-of-fold predictions for ``scoring``.

    scoring : str, callable or None, default=None
        What ``weights="auto"`` optimises: ``None`` minimises the squared
        error over the simplex; smooth scorers (``"r2"``,
        ``"neg_mean_squared_error"``, ``"neg_root_mean_squared_error"``) are
        optimised over the simplex, any other (``"neg_mean_absolute_error"``,
        ...) by bagged greedy ensemble selection with the fallback to equal
        weights that :class:`LateFusionClassifier` describes.

    cv : int, cross-validation generator or iterable, default=5
        Folds for the out-of-fold predictions that learn ``weights="auto"``.

    missing : {"error", "renormalize"}, default="error"
        As in :class:`LateFusionClassifier`.

    n_jobs : int, default=None
        Number of jobs fitting members in parallel through joblib.

    memory : str, joblib.Memory or None, default=None
        Cache for fitted members and their predictions, as in
        :class:`LateFusionClassifier`.

    verbose : bool, default=False
        Print the time taken to fit each member.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members that are not ``"drop"``.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        Fitted members by name.

    weights_ : ndarray of shape (n_fitted_members,)
        The weights used, summing to one.

    weight_selection_ : dict
        How ``weights_`` came about, as in :class:`LateFusionClassifier`.

    n_outputs_ : int
        Number of columns of y: 1 for a 1-D y.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    LateFusionClassifier : The classification sibling.
    StackingFusionRegressor : A final estimator learns to combine the members.
    sklearn.ensemble.VotingRegressor : Averaging members that all see X.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from skfusion import LateFusionRegressor
    >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
    >>> y = np.array([1.0, 4.0, 4.0, 8.0])
    >>> reg = LateFusionRegressor(
    ...     [("a", LinearRegression(), [0]), ("b", DecisionTreeRegressor(random_state=0), [1])],
    ...     weights=[3, 1],
    ... ).fit(X, y)
    >>> reg.predict(X).round(2).tolist()
    [1.08, 3.4, 4.97, 7.55]
    """

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        scoring=None,
        cv=5,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=False,
    ):
        self.estimators = estimators
        self.weights = weights
        self.scoring = scoring
        self.cv = cv
        self.missing = missing
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    @_fit_context(
        # members are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit every member on its columns and settle the weights.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        **fit_params : dict
            ``sample_weight``, passed to every member; with metadata routing
            enabled, any metadata the members request.

        Returns
        -------
        self : object
            The fitted estimator.

        See Also
        --------
        LateFusionRegressor.predict : The weighted mean of the fitted members.
        sklearn.ensemble.VotingRegressor.fit : Its counterpart on shared columns.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
        >>> y = np.array([1.0, 4.0, 4.0, 8.0])
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), [0]), ("b", LinearRegression(), [1])], weights=[3, 1]
        ... ).fit(X, y)
        >>> reg.weights_.tolist()
        [0.75, 0.25]
        """
        with fit_rollback(self):
            _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
            check_y_given(self, y)
            X = check_X(self, X, y)
            y = check_regression_y(self, y)
            return self._fit(X, RegressionTarget(y), fit_params)

    def _fused_method(self):
        return "predict"

    def predict(self, X):
        """Weighted mean of the member predictions for X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.

        See Also
        --------
        LateFusionRegressor.transform : Each member's predictions before fusion.
        sklearn.ensemble.VotingRegressor.predict : Its counterpart on shared columns.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
        >>> y = np.array([1.0, 4.0, 4.0, 8.0])
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), [0]), ("b", LinearRegression(), [1])], weights=[3, 1]
        ... ).fit(X, y)
        >>> reg.predict(X).round(2).tolist()
        [1.18, 3.56, 4.73, 7.53]
        """
        return self._fused(X)

    def transform(self, X):
        """Each member's predictions for X, side by side.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_members * n_outputs)
            NaN where a member cannot see a row (missing modality).

        See Also
        --------
        LateFusionRegressor.get_feature_names_out : The names of these columns.
        LateFusionRegressor.predict : Their weighted mean.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
        >>> y = np.array([1.0, 4.0, 4.0, 8.0])
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), [0]), ("b", LinearRegression(), [1])], weights=[3, 1]
        ... ).fit(X, y)
        >>> reg.transform(X[:2]).round(2).tolist()
        [[1.1, 1.4], [3.2, 4.66]]
        """
        return np.hstack(self._member_scores(X, "predict")[0])

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of ``transform``'s output: ``<classname>_<member>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<classname>_<member>`` for each member.

        See Also
        --------
        LateFusionRegressor.transform : The columns these names describe.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
        >>> y = np.array([1.0, 4.0, 4.0, 8.0])
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), [0]), ("b", LinearRegression(), [1])], weights=[3, 1]
        ... ).fit(X, y)
        >>> reg.get_feature_names_out().tolist()
        ['latefusionregressor_a', 'latefusionregressor_b']
        """
        check_is_fitted(self, "n_features_in_")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}_{name}" for name in self._member_names_], dtype=object)

    def __sklearn_tags__(self):
        return self._with_member_tags(super().__sklearn_tags__())
