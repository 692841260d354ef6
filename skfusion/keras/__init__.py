"""scikit-learn estimators on Keras 3 models.

Keras is imported when a model is built, never when this package is: the
estimators construct, clone and show their parameters without it.
"""

from ._fusion import KerasFusionClassifier, KerasFusionRegressor
from ._mlp import KerasMLPClassifier, KerasMLPRegressor

__all__ = ["KerasFusionClassifier", "KerasFusionRegressor", "KerasMLPClassifier", "KerasMLPRegressor"]
