"""EarlyFusionClassifier: per-modality features, scaled per block,
concatenated, one classifier on top."""


from sklearn.base import (
    ClassifierMixin,
    clone,
    is_classifier,
)
from sklearn.utils import get_tags

from ..utils._columns import (
    check_X,
)
from ..utils._fitting import fit_rollback
from ..utils._sklearn_compat import (
    HasMethods,
    _fit_context,
    _raise_for_params,
)
from ._base import final_has
from ._early import _BaseEarlyFusion, _check_target


class EarlyFusionClassifier(ClassifierMixin, _BaseEarlyFusion):
    """Feature-level fusion: per-modality features, scaled, one classifier on top.

    Each block is a ``(name, transformer, columns)`` triple, exactly like a
    :class:`~sklearn.compose.ColumnTransformer`: an encoder turns its columns
    into features (a :class:`~skfusion.encoders.TextEncoder` for a review, a
    :class:`~skfusion.encoders.TabularEncoder` for the table, any scikit-learn
    transformer). Each block's output is optionally projected to a fixed
    width, scaled so that no block drowns another (a 384-d text embedding
    next to four tabular columns), weighted, and concatenated; ``classifier``
    is fitted on the result. Multi-label ``y`` (a 2-D 0/1 indicator) works end
    to end with a classifier that supports it, such as
    :class:`~skfusion.keras.KerasMLPClassifier` (one sigmoid per label,
    binary cross-entropy) or :class:`~sklearn.neighbors.KNeighborsClassifier`.

    Parameters
    ----------
    encoders : list of (str, transformer, columns) or (str, transformer) tuples
        The blocks. ``columns`` selects what the transformer sees (a name, a
        list of names, ints, a slice, a boolean mask or a callable such as
        :func:`~sklearn.compose.make_column_selector`); a pair means all
        columns. A transformer can be ``"passthrough"`` (its columns, as
        floats) or ``"drop"``. Transformers are cloned before fitting.

    classifier : estimator
        The classifier fitted on the fused features (cloned), e.g.
        :class:`~sklearn.linear_model.LogisticRegression` or
        :class:`~skfusion.keras.KerasMLPClassifier`. Its parameters are
        searchable as ``classifier__<param>``.

    block_scaling : {"l2", "standard"} or None, default="l2"
        How each block is scaled after its transformer (and projection):
        ``"l2"`` divides it by its mean row L2 norm on the training data, so
        every block enters with an average row norm of one; ``"standard"``
        standardises each column (without centring sparse blocks) and
        divides by the square root of the block's width; ``None`` leaves the
        blocks as the transformers return them.

    block_weights : dict or array-like of shape (n_blocks,), default=None
        Multiplies each block after scaling: a dict by block name (blocks it
        omits weigh 1) or one weight per entry of ``encoders``. ``None``
        weighs every block 1.

    projection : int or transformer, default=None
        Reduce blocks to a common width before scaling: an int ``k`` projects
        every block wider than ``k`` onto ``k`` components with
        :class:`~sklearn.decomposition.TruncatedSVD` (``random_state=0``); a
        transformer with ``n_components`` (such as
        :class:`~sklearn.decomposition.PCA`) is cloned per block and applied
        to every block wider than ``n_components``. ``None`` keeps every
        block's width.

    n_jobs : int, default=None
        Number of blocks fitted in parallel through joblib; ``None`` means 1
        unless in a :func:`joblib.parallel_backend` context.

    memory : str, joblib.Memory or None, default=None
        Cache for the block transformers' fits and outputs, as
        :class:`~sklearn.pipeline.Pipeline`'s ``memory`` caches its steps: a
        grid search over the classifier's parameters then encodes each
        fold's blocks once. The same cache as the ``memory`` of late fusion
        and stacking, under ``<location>/skfusion``.

    verbose : bool, default=False
        Print the time taken to fit each block (a block read from ``memory``
        prints nothing); encoders with ``progress=True`` also show their own
        progress bars.

    Attributes
    ----------
    encoders_ : list of transformers
        The fitted block transformers (``"passthrough"`` as it is), in
        order, without the dropped ones.

    named_encoders_ : :class:`~sklearn.utils.Bunch`
        Fitted block transformers by name.

    classifier_ : estimator
        The classifier fitted on the fused features.

    classes_ : ndarray of shape (n_classes,) or list of such arrays
        The classifier's ``classes_``.

    output_indices_ : dict
        Block name to the slice of the fused features it occupies (an empty
        slice for dropped blocks).

    n_outputs_ : int
        Number of columns of y: 1 for class labels, one per label for
        multi-label y.

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    EarlyFusionRegressor : The regression sibling.
    LateFusionClassifier : Fusion of per-modality predictions instead of
        features; its members can be early-fusion models (hybrid fusion).
    sklearn.compose.ColumnTransformer : Concatenation without per-block
        scaling.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfusion import EarlyFusionClassifier
    >>> from skfusion.datasets import load_clothing_reviews
    >>> from skfusion.encoders import TabularEncoder
    >>> X, y = load_clothing_reviews(return_X_y=True)
    >>> X = X.dropna(subset=["Review Text"]).iloc[:500]
    >>> y = y.loc[X.index]
    >>> fusion = EarlyFusionClassifier(
    ...     [
    ...         ("text", TfidfVectorizer(min_df=2), "Review Text"),
    ...         ("tab", TabularEncoder(), ["Age", "Department Name"]),
    ...     ],
    ...     LogisticRegression(),
    ... ).fit(X, y)
    >>> fusion.predict_proba(X.iloc[:3]).shape
    (3, 2)
    >>> fusion.get_feature_names_out()[-2:].tolist()
    ['tab__tabular_Department Name_Tops', 'tab__tabular_Department Name_Trend']
    """

    _final_param = "classifier"

    _parameter_constraints: dict = {
        **_BaseEarlyFusion._parameter_constraints,
        "classifier": [HasMethods(["fit", "predict"])],
    }

    def __init__(
        self,
        encoders,
        classifier,
        *,
        block_scaling="l2",
        block_weights=None,
        projection=None,
        n_jobs=None,
        memory=None,
        verbose=False,
    ):
        super().__init__(
            encoders,
            classifier,
            block_scaling=block_scaling,
            block_weights=block_weights,
            projection=projection,
            n_jobs=n_jobs,
            memory=memory,
            verbose=verbose,
        )

    @_fit_context(
        # the blocks and the classifier are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit every block, then the classifier on the fused features.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; a DataFrame when blocks select columns by name.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multi-label targets.

        **fit_params : dict
            ``sample_weight``, passed to the classifier's ``fit``.

        Returns
        -------
        self : object
            The fitted estimator.

        See Also
        --------
        EarlyFusionClassifier.predict_proba : The final estimator on the fused features.
        sklearn.pipeline.Pipeline.fit : A single block's counterpart.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = EarlyFusionClassifier(
        ...     [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])], LogisticRegression()
        ... ).fit(X, y)
        >>> clf.classes_.tolist(), clf.classifier_.coef_.shape
        ([0, 1], (1, 4))
        """
        with fit_rollback(self):
            _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
            owner = type(self).__name__
            y = _check_target(owner, y, classifier=True)
            X = check_X(self, X, y)
            if not is_classifier(self.classifier):
                raise TypeError(
                    f"{owner}: classifier must be a classifier, got "
                    f"{type(self.classifier).__name__}; use EarlyFusionRegressor for "
                    "a regressor."
                )
            Z = self._fit_blocks(X, y)
            params = {k: v for k, v in fit_params.items() if v is not None}
            self.classifier_ = clone(self.classifier).fit(Z, y, **params)
            self.classes_ = self.classifier_.classes_
            return self

    def predict(self, X):
        """Predict class labels (or a label indicator matrix) for X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.

        See Also
        --------
        EarlyFusionClassifier.predict_proba : The probabilities behind these labels.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = EarlyFusionClassifier(
        ...     [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])], LogisticRegression()
        ... ).fit(X, y)
        >>> clf.predict(X[:4]).tolist()
        [1, 0, 0, 0]
        """
        Z = self._fused_features(X)
        return self.classifier_.predict(Z)

    @final_has("predict_proba")
    def predict_proba(self, X):
        """Class probabilities for X, from the classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), or what the classifier \
                returns for multi-label y
            For multi-label y, :class:`~skfusion.keras.KerasMLPClassifier`
            returns ``(n_samples, n_labels)``; scikit-learn's tree and
            neighbour classifiers a list of ``(n_samples, 2)`` arrays, one per
            label.

        See Also
        --------
        EarlyFusionClassifier.transform : The fused features the classifier reads.
        EarlyFusionClassifier.predict_log_proba : Their logarithm.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = EarlyFusionClassifier(
        ...     [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])], LogisticRegression()
        ... ).fit(X, y)
        >>> clf.predict_proba(X[:2]).round(2).tolist()
        [[0.36, 0.64], [0.81, 0.19]]
        """
        Z = self._fused_features(X)
        return self.classifier_.predict_proba(Z)

    @final_has("predict_log_proba")
    def predict_log_proba(self, X):
        """The classifier's log-probabilities for X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The logarithm of the class probabilities, in the order of ``classes_``.

        See Also
        --------
        EarlyFusionClassifier.predict_proba : The probabilities themselves.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = EarlyFusionClassifier(
        ...     [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])], LogisticRegression()
        ... ).fit(X, y)
        >>> clf.predict_log_proba(X[:2]).round(2).tolist()
        [[-1.03, -0.44], [-0.21, -1.66]]
        """
        Z = self._fused_features(X)
        return self.classifier_.predict_log_proba(Z)

    @final_has("decision_function")
    def decision_function(self, X):
        """The classifier's decision function on the fused features of X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The classifier's decision values.

        See Also
        --------
        EarlyFusionClassifier.predict_proba : The classifier's probabilities.

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.fusion import EarlyFusionClassifier
        >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
        >>> clf = EarlyFusionClassifier(
        ...     [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])], LogisticRegression()
        ... ).fit(X, y)
        >>> clf.decision_function(X[:2]).round(2).tolist()
        [0.6, -1.46]
        """
        Z = self._fused_features(X)
        return self.classifier_.decision_function(Z)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            tags.classifier_tags.multi_label = get_tags(self.classifier).classifier_tags.multi_label
        except Exception:
            pass
        return tags
