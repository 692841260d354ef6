"""Every private scikit-learn import skfusion relies on, in one place.

scikit-learn may move or rename these between releases; keeping them here
means a new release needs one file changed, not a hunt through the package.
"""

from sklearn.base import _fit_context
from sklearn.utils._indexing import _get_column_indices, _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils._repr_html.estimator import _VisualBlock
from sklearn.utils._user_interface import _print_elapsed_time
from sklearn.utils.metadata_routing import _raise_for_params, _routing_enabled
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.validation import (
    _check_feature_names_in,
    _check_method_params,
    _check_response_method,
    _check_sample_weight,
    _num_samples,
)

__all__ = [
    "HasMethods",
    "Interval",
    "RealNotInt",
    "StrOptions",
    "_BaseComposition",
    "_VisualBlock",
    "_check_feature_names_in",
    "_check_method_params",
    "_check_response_method",
    "_check_sample_weight",
    "_fit_context",
    "_get_column_indices",
    "_num_samples",
    "_print_elapsed_time",
    "_raise_for_params",
    "_routing_enabled",
    "_safe_indexing",
]
