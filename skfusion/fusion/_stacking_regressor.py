"""StackingFusionRegressor: a final regressor learns to combine the
members' out-of-fold predictions."""


from sklearn.base import RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import column_or_1d

from ..utils._columns import check_X
from ..utils._fitting import fit_rollback
from ..utils._sklearn_compat import (
    _fit_context,
    _raise_for_params,
)
from ._base import final_has
from ._stacking import _BaseStackingFusion
from ._targets import RegressionTarget, check_regression_y, check_y_given


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

    n_outputs_ : int
        Number of columns of y: 1 for a 1-D y.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
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

        See Also
        --------
        StackingFusionRegressor.predict : The final estimator on the members' predictions.
        sklearn.ensemble.StackingRegressor.fit : Its counterpart on shared columns.

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
        >>> reg.final_estimator_.coef_.round(2).tolist()
        [1.08, 0.55]
        """
        with fit_rollback(self):
            _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
            check_y_given(self, y)
            X = check_X(self, X, y)
            y = check_regression_y(self, y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
            return self._fit(X, RegressionTarget(y), fit_params)

    @final_has("predict")
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

        See Also
        --------
        StackingFusionRegressor.transform : The members' predictions it reads.
        sklearn.ensemble.StackingRegressor.predict : Its counterpart on shared columns.

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
        >>> reg.predict(X[:3]).round(2).tolist()
        [6.63, 7.97, 6.97]
        """
        return self._final("predict", X, **self._routed_predict_params(predict_params))
