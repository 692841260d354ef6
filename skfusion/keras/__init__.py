"""scikit-learn estimators on Keras 3 models, and the branch protocol by
which an encoder trains inside them.

Keras is imported when a model is built, never when this package is: the
estimators construct, clone and show their parameters without it.
"""

from ._fusion import KerasFusionClassifier, KerasFusionRegressor
from ._image_branch import ImageBranch
from ._mlp import KerasMLPClassifier, KerasMLPRegressor
from ._protocol import KerasBranch
from ._sequences import TokenSequences
from ._text_branch import TextBranch

__all__ = [
    "ImageBranch",
    "KerasBranch",
    "KerasFusionClassifier",
    "KerasFusionRegressor",
    "KerasMLPClassifier",
    "KerasMLPRegressor",
    "TextBranch",
    "TokenSequences",
]
