"""Fusion estimators: early (feature-level) fusion, late (decision-level)
fusion by voting or stacking, and the combiners voting uses."""

from ._combiners import available_combiners, get_combiner, register_combiner
from ._early import EarlyFusionClassifier, EarlyFusionRegressor
from ._late import LateFusionClassifier, LateFusionRegressor
from ._stacking import StackingFusionClassifier, StackingFusionRegressor

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
