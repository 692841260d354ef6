"""Save fitted estimators and load them back without running code from the
file: skops' format (scikit-learn's secure persistence) for scikit-learn
and skfusion estimators, Keras models as ``.keras`` members read with
``safe_mode=True``, and optionally the encoders' model files.

Pickle and joblib fit files that never leave trusted hands (a cache, a
cluster's workers); :func:`dump` and :func:`load` are for a model that is
shared, published or stored where others can write. skops is an optional
dependency: ``pip install "skfusion[io]"``.
"""

from ._persist import (
    InconsistentVersionWarning,
    UntrustedTypesError,
    dump,
    get_untrusted_types,
    load,
)

__all__ = ["InconsistentVersionWarning", "UntrustedTypesError", "dump", "get_untrusted_types",
           "load"]
