"""skfusion: multi-modal fusion and multi-task learning for scikit-learn.

Public names are resolved lazily (PEP 562) so that ``import skfusion`` stays
fast and never imports scikit-learn, TensorFlow or torch until a name that
needs them is used.
"""

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "EarlyFusionClassifier": "skfusion.fusion",
    "EarlyFusionRegressor": "skfusion.fusion",
    "LateFusionClassifier": "skfusion.fusion",
    "LateFusionRegressor": "skfusion.fusion",
    "StackingFusionClassifier": "skfusion.fusion",
    "StackingFusionRegressor": "skfusion.fusion",
    "register_combiner": "skfusion.fusion",
    "get_combiner": "skfusion.fusion",
    "available_combiners": "skfusion.fusion",
    "TextEncoder": "skfusion.encoders",
    "ImageEncoder": "skfusion.encoders",
    "TabularEncoder": "skfusion.encoders",
    "make_encoder": "skfusion.encoders",
    "register_encoder": "skfusion.encoders",
    "KerasFusionClassifier": "skfusion.keras",
    "KerasFusionRegressor": "skfusion.keras",
    "KerasMLPClassifier": "skfusion.keras",
    "KerasMLPRegressor": "skfusion.keras",
    "modality_importance": "skfusion.inspection",
    "ModalityImportanceDisplay": "skfusion.inspection",
    "MultiTaskKerasEstimator": "skfusion.multitask",
    "task_scorer": "skfusion.multitask",
}

_SUBMODULES = ["datasets", "encoders", "fusion", "inspection", "io", "keras", "multitask", "utils"]

__all__ = sorted([*_LAZY, *_SUBMODULES, "__version__"])


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"skfusion.{name}")
    raise AttributeError(f"module 'skfusion' has no attribute {name!r}")


def __dir__():
    return __all__
