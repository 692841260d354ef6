"""Table columns to numbers, chosen from their dtypes."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._doc_link import DocLinkMixin
from ..utils._sklearn_compat import Interval, RealNotInt, StrOptions, _fit_context
from ._base import register_encoder


class TabularEncoder(DocLinkMixin, TransformerMixin, BaseEstimator):
    """Impute, scale and one-hot a mixed table, each column by its dtype.

    Numeric and boolean columns are imputed (median, with a missing-value
    indicator where a column had gaps in ``fit``) and standardised; every
    other column (strings, categories, objects) is imputed with a constant
    and one-hot encoded, rare and unseen categories sharing an "infrequent"
    column. Built from scikit-learn parts: ``transformer_`` is the fitted
    :class:`~sklearn.compose.ColumnTransformer`.

    Parameters
    ----------
    scale : {"standard", None}, default="standard"
        Standardise numeric columns, or pass them through (after imputation).

    max_categories : int or None, default=20
        At most this many one-hot columns per categorical column; the rarest
        categories are grouped.

    min_frequency : int, float or None, default=None
        Categories rarer than this (count, or fraction of rows) are grouped.

    Attributes
    ----------
    transformer_ : ColumnTransformer
        The fitted column transformer.

    numeric_columns_ : list
        Columns treated as numeric.

    categorical_columns_ : list
        Columns treated as categorical.

    n_features_in_ : int
        Number of columns seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit``, for a DataFrame.

    See Also
    --------
    TextEncoder : Text embeddings.

    Examples
    --------
    >>> import pandas as pd
    >>> from skfusion.encoders import TabularEncoder
    >>> X = pd.DataFrame({"age": [30, None, 50], "dept": ["Tops", "Dresses", None]})
    >>> encoder = TabularEncoder().fit(X)
    >>> encoder.get_feature_names_out().tolist()
    ['tabular_age', 'tabular_missingindicator_age', 'tabular_dept_Dresses', 'tabular_dept_Tops', 'tabular_dept_missing']
    >>> encoder.transform(X).shape
    (3, 5)
    """

    _parameter_constraints: dict = {
        "scale": [StrOptions({"standard"}), None],
        "max_categories": [Interval(Integral, 2, None, closed="left"), None],
        "min_frequency": [Interval(Integral, 1, None, closed="left"),
                          Interval(RealNotInt, 0.0, 1.0, closed="neither"), None],
    }

    def __init__(self, *, scale="standard", max_categories=20, min_frequency=None):
        self.scale = scale
        self.max_categories = max_categories
        self.min_frequency = min_frequency

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose each column's treatment from its dtype and fit it.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted encoder.

        See Also
        --------
        TabularEncoder.transform : Apply the treatments chosen here.
        sklearn.compose.make_column_selector : Select columns by dtype by hand.

        Examples
        --------
        >>> import pandas as pd
        >>> from skfusion.encoders import TabularEncoder
        >>> X = pd.DataFrame({"age": [30, None, 50], "dept": ["Tops", "Dresses", "Tops"]})
        >>> encoder = TabularEncoder().fit(X)
        >>> encoder.numeric_columns_, encoder.categorical_columns_
        (['age'], ['dept'])
        """
        X = self._check_X(X, reset=True)
        numeric, categorical = _split_columns(X)
        self.numeric_columns_, self.categorical_columns_ = numeric, categorical
        numeric_steps = [SimpleImputer(strategy="median", add_indicator=True)]
        if self.scale == "standard":
            numeric_steps.append(StandardScaler())
        categorical_steps = [
            FunctionTransformer(_as_strings, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value="missing"),
            OneHotEncoder(handle_unknown="infrequent_if_exist", sparse_output=False,
                          max_categories=self.max_categories,
                          min_frequency=self.min_frequency),
        ]
        frame = _as_frame(X)
        # boolean masks, not labels: integer column labels would be read as positions
        self.transformer_ = ColumnTransformer(
            [("num", make_pipeline(*numeric_steps), frame.columns.isin(numeric)),
             ("cat", make_pipeline(*categorical_steps), frame.columns.isin(categorical))],
            verbose_feature_names_out=False,
        ).fit(frame)
        return self

    def transform(self, X):
        """Encode X with the treatments chosen in ``fit``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table, with the columns seen in ``fit``.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features_out)
            The encoded table, float64.

        See Also
        --------
        TabularEncoder.get_feature_names_out : The names of the output columns.

        Examples
        --------
        >>> import pandas as pd
        >>> from skfusion.encoders import TabularEncoder
        >>> X = pd.DataFrame({"age": [30, None, 50], "dept": ["Tops", "Dresses", "Tops"]})
        >>> encoder = TabularEncoder().fit(X)
        >>> encoder.transform(X).round(2).tolist()
        [[-1.22, -0.71, 0.0, 1.0], [0.0, 1.41, 1.0, 0.0], [1.22, -0.71, 0.0, 1.0]]
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return self.transformer_.transform(_as_frame(X)).astype(np.float64)

    def _check_X(self, X, *, reset):
        """DataFrames keep their dtypes (they choose the treatment); anything
        else becomes a 2-D array."""
        if hasattr(X, "columns"):
            return validate_data(self, X, skip_check_array=True, reset=reset)
        return validate_data(self, X, dtype=None, ensure_all_finite="allow-nan", reset=reset)

    def get_feature_names_out(self, input_features=None):
        """Output names, prefixed ``tabular_``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of ``transform``'s columns.

        See Also
        --------
        TabularEncoder.transform : The columns these names describe.

        Examples
        --------
        >>> import pandas as pd
        >>> from skfusion.encoders import TabularEncoder
        >>> X = pd.DataFrame({"age": [30, None, 50], "dept": ["Tops", "Dresses", "Tops"]})
        >>> encoder = TabularEncoder().fit(X)
        >>> encoder.get_feature_names_out().tolist()
        ['tabular_age', 'tabular_missingindicator_age', 'tabular_dept_Dresses', 'tabular_dept_Tops']
        """
        check_is_fitted(self)
        names = self.transformer_.get_feature_names_out()
        return np.asarray([f"tabular_{n}" for n in names], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags


def _split_columns(X):
    """(numeric, categorical) column names of a DataFrame or positions of an array."""
    if hasattr(X, "columns"):
        numeric = make_column_selector(dtype_include=["number", "bool"])(X)
        return numeric, [c for c in X.columns if c not in numeric]
    if X.dtype.kind in "biuf":
        return [f"x{i}" for i in range(X.shape[1])], []
    return [], [f"x{i}" for i in range(X.shape[1])]


def _as_strings(X):
    """Categories as strings, missing values kept missing, so booleans,
    numbers, mixed types and numeric categoricals one-hot encode alike."""
    import pandas as pd

    frame = pd.DataFrame(X)
    return frame.astype(str).astype(object).mask(frame.isna(), np.nan)


def _as_frame(X):
    import pandas as pd

    if hasattr(X, "columns"):
        return X
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])


register_encoder("tabular", TabularEncoder)
