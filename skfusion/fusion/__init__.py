"""Fusion estimators: early (feature-level) and late (decision-level)
fusion, and the combiners late fusion uses."""

from ._combiners import available_combiners, get_combiner, register_combiner
from ._early import EarlyFusionClassifier, EarlyFusionRegressor
from ._late import LateFusionClassifier, LateFusionRegressor

__all__ = [
    "EarlyFusionClassifier",
    "EarlyFusionRegressor",
    "LateFusionClassifier",
    "LateFusionRegressor",
    "available_combiners",
    "get_combiner",
    "register_combiner",
]
