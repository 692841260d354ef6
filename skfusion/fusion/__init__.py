"""Fusion estimators: early (feature-level) fusion, late (decision-level)
fusion by voting or stacking, and the combiners voting uses."""

from ._combiners import available_combiners, get_combiner, register_combiner
from ._early_classifier import EarlyFusionClassifier
from ._early_regressor import EarlyFusionRegressor
from ._late_classifier import LateFusionClassifier
from ._late_regressor import LateFusionRegressor
from ._stacking_classifier import StackingFusionClassifier
from ._stacking_regressor import StackingFusionRegressor

__all__ = [
    "EarlyFusionClassifier",
    "EarlyFusionRegressor",
    "LateFusionClassifier",
    "LateFusionRegressor",
    "StackingFusionClassifier",
    "StackingFusionRegressor",
    "available_combiners",
    "get_combiner",
    "register_combiner",
]
