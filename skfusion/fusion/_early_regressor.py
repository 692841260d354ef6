"""EarlyFusionRegressor: per-modality features, scaled per block,
concatenated, one regressor on top."""


from sklearn.base import (
    RegressorMixin,
    clone,
)

from ..utils._columns import (
    check_X,
)
from ..utils._fitting import fit_rollback
from ..utils._sklearn_compat import (
    HasMethods,
    _fit_context,
    _raise_for_params,
)
from ._early import _BaseEarlyFusion, _check_target


class EarlyFusionRegressor(RegressorMixin, _BaseEarlyFusion):
    """Feature-level fusion for regression: per-modality features, scaled,
    one regressor on top.

    Parameters
    ----------
    encoders : list of (str, transformer, columns) or (str, transformer) tuples
        The blocks, as in :class:`EarlyFusionClassifier`.

    regressor : estimator
        The regressor fitted on the fused features (cloned); its parameters
        are searchable as ``regressor__<param>``.

    block_scaling : {"l2", "standard"} or None, default="l2"
        Per-block scaling, as in :class:`EarlyFusionClassifier`.

    block_weights : dict or array-like of shape (n_blocks,), default=None
        Per-block weights, as in :class:`EarlyFusionClassifier`.

    projection : int or transformer, default=None
        Per-block projection, as in :class:`EarlyFusionClassifier`.

    n_jobs : int, default=None
        Number of blocks fitted in parallel through joblib.

    memory : str, joblib.Memory or None, default=None
        Cache for the block transformers' fits.

    verbose : bool, default=False
        Print the time taken to fit each block.

    Attributes
    ----------
    encoders_ : list of transformers
        The fitted block transformers, without the dropped ones.

    named_encoders_ : :class:`~sklearn.utils.Bunch`
        Fitted block transformers by name.

    regressor_ : estimator
        The regressor fitted on the fused features.

    output_indices_ : dict
        Block name to the slice of the fused features it occupies.

    n_outputs_ : int
        Number of columns of y: 1 for a 1-D y.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    EarlyFusionClassifier : The classification sibling.
    LateFusionRegressor : Fusion of per-modality predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfusion import EarlyFusionRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(50, 5))
    >>> y = X[:, 0] + 10 * X[:, 4]
    >>> reg = EarlyFusionRegressor(
    ...     [("wide", StandardScaler(), [0, 1, 2, 3]), ("narrow", "passthrough", [4])],
    ...     Ridge(alpha=1e-3),
    ... ).fit(X, y)
    >>> reg.output_indices_
    {'wide': slice(0, 4, None), 'narrow': slice(4, 5, None)}
    >>> round(reg.score(X, y), 3)
    1.0
    """

    _final_param = "regressor"

    _parameter_constraints: dict = {
        **_BaseEarlyFusion._parameter_constraints,
        "regressor": [HasMethods(["fit", "predict"])],
    }

    def __init__(
        self,
        encoders,
        regressor,
        *,
        block_scaling="l2",
        block_weights=None,
        projection=None,
        n_jobs=None,
        memory=None,
        verbose=False,
    ):
        super().__init__(
            encoders,
            regressor,
            block_scaling=block_scaling,
            block_weights=block_weights,
            projection=projection,
            n_jobs=n_jobs,
            memory=memory,
            verbose=verbose,
        )

    @_fit_context(
        # the blocks and the regressor are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit every block, then the regressor on the fused features.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        **fit_params : dict
            ``sample_weight``, passed to the regressor's ``fit``.

        Returns
        -------
        self : object
            The fitted estimator.

        See Also
        --------
        EarlyFusionRegressor.predict : The final estimator on the fused features.
        sklearn.pipeline.Pipeline.fit : A single block's counterpart.

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
        >>> reg.output_indices_
        {'wide': slice(0, 2, None), 'narrow': slice(2, 3, None)}
        """
        with fit_rollback(self):
            _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
            y = _check_target(type(self).__name__, y, classifier=False)
            X = check_X(self, X, y)
            Z = self._fit_blocks(X, y)
            params = {k: v for k, v in fit_params.items() if v is not None}
            self.regressor_ = clone(self.regressor).fit(Z, y, **params)
            return self

    def predict(self, X):
        """Predict targets for X.

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
        EarlyFusionRegressor.transform : The fused features it predicts from.

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
        >>> reg.predict(X[:3]).round(2).tolist()
        [11.23, -7.36, -0.14]
        """
        Z = self._fused_features(X)
        return self.regressor_.predict(Z)
