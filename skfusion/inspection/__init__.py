"""Inspection of fitted estimators: how much each modality matters."""

from ._display import ModalityImportanceDisplay
from ._importance import modality_importance

__all__ = ["ModalityImportanceDisplay", "modality_importance"]
