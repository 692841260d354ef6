"""Fusion estimators: late (decision-level) fusion and its combiners."""

from ._combiners import available_combiners, get_combiner, register_combiner
from ._late import LateFusionClassifier, LateFusionRegressor

__all__ = [
    "LateFusionClassifier",
    "LateFusionRegressor",
    "available_combiners",
    "get_combiner",
    "register_combiner",
]
