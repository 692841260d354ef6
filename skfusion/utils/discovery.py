"""Find skfusion's public estimators by walking the package."""

import importlib
import inspect
import pkgutil


def all_estimators(type_filter=None):
    """Every public estimator class that skfusion defines.

    Walks the package like :func:`sklearn.utils.discovery.all_estimators`,
    skipping private modules and classes, so a new estimator is picked up by
    the common tests without being listed anywhere.

    Parameters
    ----------
    type_filter : {"classifier", "regressor", "transformer"} or None
        Keep only estimators of that kind.

    Returns
    -------
    estimators : list of (name, class) tuples
        Each estimator's class under its name, sorted by name.

    See Also
    --------
    sklearn.utils.discovery.all_estimators : The same walk over scikit-learn.
    sklearn.utils.estimator_checks.parametrize_with_checks : The common checks they go through.

    Examples
    --------
    >>> from skfusion.utils import all_estimators
    >>> "LateFusionRegressor" in [name for name, _ in all_estimators("regressor")]
    True
    """
    from sklearn.base import (
        BaseEstimator,
        ClassifierMixin,
        RegressorMixin,
        TransformerMixin,
    )

    import skfusion

    found = {}
    for info in pkgutil.walk_packages(skfusion.__path__, prefix="skfusion."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or "tests" in parts:
            continue
        if parts[-1] == "demo":
            continue
        # optional frameworks are imported inside methods, so importing a
        # module never needs them: any import error here is a real bug
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and not name.startswith("_")
                and cls.__module__.startswith("skfusion.")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls

    mixins = {
        "classifier": ClassifierMixin,
        "regressor": RegressorMixin,
        "transformer": TransformerMixin,
    }
    if type_filter is not None:
        if type_filter not in mixins:
            raise ValueError(
                f"all_estimators: type_filter must be one of {sorted(mixins)} or "
                f"None, got {type_filter!r}."
            )
        found = {n: c for n, c in found.items() if issubclass(c, mixins[type_filter])}
    return sorted(found.items())
