"""The types skfusion.io loads without being told to trust them, besides
what skops trusts itself (scikit-learn's estimators, numpy's and scipy's
arrays and functions): each is built with ``cls.__new__`` and its saved
attributes, and none of them runs code from the file when it is built or
used. Anything else in a file is refused, by name, unless the user
trusts it."""

#: skfusion's own types that fitted estimators hold: built as plain objects
#: (``__new__``, then their saved ``__dict__``), as skops builds scikit-learn's
VETTED = [
    # estimators without a Keras model
    "skfusion.fusion._early_classifier.EarlyFusionClassifier",
    "skfusion.fusion._early_regressor.EarlyFusionRegressor",
    "skfusion.fusion._late_classifier.LateFusionClassifier",
    "skfusion.fusion._late_regressor.LateFusionRegressor",
    "skfusion.fusion._stacking_classifier.StackingFusionClassifier",
    "skfusion.fusion._stacking_regressor.StackingFusionRegressor",
    "skfusion.encoders._tabular.TabularEncoder",
    # what they hold once fitted
    "skfusion.fusion._early._BlockScaler",
    "skfusion.fusion._targets.LabelTarget",
    "skfusion.fusion._targets.MultilabelTarget",
    "skfusion.fusion._targets.RegressionTarget",
    "skfusion.multitask._heads.BinaryHead",
    "skfusion.multitask._heads.MulticlassHead",
    "skfusion.multitask._heads.MultilabelHead",
    "skfusion.multitask._heads.RegressionHead",
    "skfusion.keras._branches.Branches",
    "skfusion.keras._text_branch.TextBranch",
    "skfusion.keras._image_branch.ImageBranch",
    # a memory= or cache= that shares a cache on purpose (a path string)
    "skfusion.utils._trust.SharedCache",
    # TabularEncoder's FunctionTransformer function
    "skfusion.encoders._tabular._as_strings",
    # scikit-learn and numpy types skops leaves out of its defaults, which
    # skfusion's estimators hold: a Bunch of fitted parts, a dtype (an empty
    # array read without pickle), a column selector as triples take
    "sklearn.utils._bunch.Bunch",
    "numpy.dtype",
    "sklearn.compose._column_transformer.make_column_selector",
]

#: estimators that own a Keras model: only read by their own loader, which
#: takes their ``model_`` from a ``.keras`` member and nothing else
KERAS_ESTIMATORS = [
    "skfusion.keras._mlp.KerasMLPClassifier",
    "skfusion.keras._mlp.KerasMLPRegressor",
    "skfusion.keras._fusion.KerasFusionClassifier",
    "skfusion.keras._fusion.KerasFusionRegressor",
    "skfusion.multitask._estimator.MultiTaskKerasEstimator",
]

#: encoders whose model files a file may carry: read by their own loader
ENCODERS = [
    "skfusion.encoders._text.TextEncoder",
    "skfusion.encoders._image.ImageEncoder",
]

#: Keras models, read from ``.keras`` members with ``safe_mode=True``,
#: which builds only Keras' own and registered classes (a subclassed model
#: of the user's is listed as untrusted, by its name)
KERAS_MODELS = [
    "keras.src.models.functional.Functional",
    "keras.src.models.sequential.Sequential",
]

#: pandas objects, stored as their values, labels and dtype names
PANDAS = ["pandas.Index"]
