"""Multi-task learning: one Keras model, a shared trunk and a head per task."""

from ._estimator import MultiTaskKerasEstimator
from ._scoring import task_scorer

__all__ = ["MultiTaskKerasEstimator", "task_scorer"]
