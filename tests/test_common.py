"""scikit-learn's estimator checks over every public skfusion estimator.

Estimators are discovered by walking the package; each needs an entry in
``INSTANCES`` (how to build a small one), so a new estimator without one
fails here instead of going unchecked. ``EXPECTED_FAILURES`` lists each check
an estimator is known to fail, with the reason; it only ever shrinks.
"""

import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfusion.utils import all_estimators

INSTANCES = {
    "LateFusionClassifier": lambda cls: [
        cls([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]),
        cls(
            [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))],
            voting="hard",
            weights=[2, 1],
        ),
        cls(
            [("lr", LogisticRegression(), [0, 1]), ("tree", DecisionTreeClassifier(random_state=0))],
            weights="auto",
            combiner="geometric",
            cv=3,
        ),
    ],
    "LateFusionRegressor": lambda cls: [
        cls([("lr", LinearRegression()), ("tree", DecisionTreeRegressor(random_state=0))]),
        cls(
            [("lr", LinearRegression(), [0, 1]), ("tree", DecisionTreeRegressor(random_state=0))],
            weights="auto",
            cv=3,
        ),
    ],
}

EXPECTED_FAILURES = {}


def _instances():
    for name, cls in all_estimators():
        if name not in INSTANCES:
            raise AssertionError(
                f"{name} is a public estimator without an entry in INSTANCES; add "
                "one so scikit-learn's checks cover it."
            )
        yield from INSTANCES[name](cls)


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked():
    names = {name for name, _ in all_estimators()}
    assert names == set(INSTANCES), "INSTANCES must match the public estimators"
    assert {"LateFusionClassifier", "LateFusionRegressor"} <= names
