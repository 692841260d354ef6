"""The branch protocol: how an encoder enters skfusion's Keras models as a
sub-model that trains with them. Imports no Keras."""


class KerasBranch:
    """An encoder's trainable sub-model inside a Keras model of skfusion.

    Every ``(name, encoder, columns)`` branch of
    :class:`~skfusion.keras.KerasFusionClassifier`,
    :class:`~skfusion.keras.KerasFusionRegressor` and
    :class:`~skfusion.multitask.MultiTaskKerasEstimator` enters the model in
    one of two ways:

    - **frozen**, the default for any scikit-learn transformer: the
      encoder is fitted on the branch's columns, and its ``transform``
      output (a dense or sparse matrix, finite) is a model input;
    - **trainable**: the encoder has a method ``keras_branch()`` that
      returns an instance of a subclass of this class (``None`` means
      frozen, so one encoder class can do both, for example by a
      ``trainable`` parameter). The model then holds the branch's layers,
      and they train with the rest.

    The estimator calls ``keras_branch()`` on its own clone of the encoder,
    before fitting it; the branch keeps that clone as ``encoder``. Then:

    1. :meth:`fit` with the branch's columns of the training rows;
    2. :meth:`transform` with the branch's columns, at fit and at every
       predict, for the model's input;
    3. :meth:`build` once per fresh fit, for the branch's Keras inputs and
       output;
    4. :meth:`learning_rates` right after :meth:`build`.

    What :meth:`transform` computes is computed outside the model, so that is
    where the frozen bottom of a partly trainable encoder goes (computed once
    per distinct item, through a cache where the encoder has one), and
    :meth:`build` holds only the layers that train, and those above them.
    Which layers train is their ``trainable`` flag.

    Errors raised by :meth:`fit` and :meth:`transform` (``ValueError``,
    ``TypeError``) reach the user prefixed with the estimator and the branch
    name; say which row and what was expected.

    The model is saved in Keras' format when the estimator is pickled, so
    custom layers must be registered serializables
    (:func:`keras.saving.register_keras_serializable`), imported by the
    module that defines the encoder.

    Parameters
    ----------
    encoder : scikit-learn transformer
        The (cloned) encoder this branch belongs to.

    See Also
    --------
    skfusion.keras.TextBranch : A text encoder's trainable BERT layers.
    skfusion.keras.ImageBranch : An image encoder's trainable backbone.
    skfusion.keras.KerasFusionClassifier : A model whose branches these are.

    Examples
    --------
    A character-level branch: the encoder's ``transform`` gives frozen
    character counts, its ``keras_branch`` a trainable embedding of the
    first 32 characters.

    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, TransformerMixin
    >>> from skfusion.keras import KerasBranch
    >>> class CharIds(KerasBranch):
    ...     def fit(self, X):
    ...         self.encoder.fit(X)
    ...         return self
    ...     def transform(self, X):
    ...         ids = np.zeros((len(X), 32), dtype="int32")
    ...         for row, text in enumerate(np.asarray(X).ravel()):
    ...             codes = [min(ord(c), 255) for c in text[:32]]
    ...             ids[row, :len(codes)] = codes
    ...         return ids
    ...     def build(self, name):
    ...         import keras
    ...         ids = keras.Input(shape=(32,), dtype="int32", name=name)
    ...         x = keras.layers.Embedding(256, 8, name=f"{name}_chars")(ids)
    ...         return {name: ids}, keras.layers.GlobalAveragePooling1D()(x)
    >>> class CharEncoder(TransformerMixin, BaseEstimator):
    ...     def __init__(self, trainable=False):
    ...         self.trainable = trainable
    ...     def fit(self, X, y=None):
    ...         return self
    ...     def transform(self, X):
    ...         texts = np.asarray(X).ravel()
    ...         return np.array([[len(t), t.count(" ")] for t in texts], dtype=float)
    ...     def keras_branch(self):
    ...         return CharIds(self) if self.trainable else None
    """

    def __init__(self, encoder):
        self.encoder = encoder

    def fit(self, X):
        """Fit the encoder (and anything the branch learns from the data).

        The default fits the encoder on X.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's columns of the training rows.

        Returns
        -------
        self : KerasBranch
            The fitted branch.

        See Also
        --------
        transform : The model's input, once fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.keras import KerasBranch
        >>> branch = KerasBranch(StandardScaler()).fit(np.array([[1.0], [3.0]]))
        >>> branch.encoder.mean_
        array([2.])
        """
        self.encoder.fit(X)
        return self

    def transform(self, X):
        """The model's input for the rows of X.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's columns.

        Returns
        -------
        inputs : ndarray of shape (n_samples, ...) or TokenSequences
            One array, its first axis the rows, fed to the Keras input that
            :meth:`build` names ``name``. A
            :class:`~skfusion.keras.TokenSequences` holds rows of
            different lengths (per row, an array of shape (length, ...)):
            the model then gets them in batches of alike lengths, each
            zero-padded to its longest row, as input ``name`` of shape
            (batch, length, ...) and a float mask of shape (batch, length)
            as input ``name + "_mask"``.

        See Also
        --------
        build : The Keras input this output feeds.
        skfusion.keras.TokenSequences : Rows of different lengths.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skfusion.keras import KerasBranch
        >>> class Scaled(KerasBranch):
        ...     def transform(self, X):
        ...         return self.encoder.transform(X).astype("float32")
        >>> X = np.array([[1.0], [3.0]])
        >>> Scaled(StandardScaler()).fit(X).transform(X)
        array([[-1.],
               [ 1.]], dtype=float32)
        """
        raise NotImplementedError(f"{type(self).__name__} must define transform(X)")

    def build(self, name):
        """The branch's Keras inputs and output, built anew.

        Parameters
        ----------
        name : str
            The name of the branch's model input: a sanitised, unique form
            of the branch's name. Prefix the branch's layer names with it,
            so that they are unique in the model.

        Returns
        -------
        inputs : dict of str to keras.KerasTensor
            ``{name: keras.Input(...)}``, and ``{name + "_mask": ...}`` when
            :meth:`transform` gives :class:`~skfusion.keras.TokenSequences`.

        output : keras.KerasTensor of shape (batch, width)
            The branch's features, which the model fuses with the other
            branches'.

        See Also
        --------
        build_tokens : The same before pooling, for token attention.
        transform : What feeds the inputs.

        Examples
        --------
        >>> import keras
        >>> from skfusion.keras import KerasBranch
        >>> class Dense(KerasBranch):
        ...     def build(self, name):
        ...         x = keras.Input(shape=(2,), name=name)
        ...         return {name: x}, keras.layers.Dense(4, name=f"{name}_dense")(x)
        >>> inputs, output = Dense(None).build("tab")
        >>> list(inputs), tuple(output.shape)
        (['tab'], (None, 4))
        """
        raise NotImplementedError(f"{type(self).__name__} must define build(name)")

    def build_tokens(self, name):
        """The branch's Keras inputs and its output before pooling, built
        anew, for the models' ``token_attention=True``; optional.

        A branch whose :meth:`transform` gives token sequences may define it
        so that ``fusion="attention"`` attends over its every token rather
        than its pooled vector. The default, None, means the branch has no
        token states: it enters the attention as one token.

        Parameters
        ----------
        name : str
            As in :meth:`build`.

        Returns
        -------
        None, or a tuple of
        inputs : dict of str to keras.KerasTensor
            As in :meth:`build`.
        states : keras.KerasTensor of shape (batch, length, width)
            A state per token.
        mask : keras.KerasTensor of shape (batch, length)
            1 for a real token, 0 for padding.

        See Also
        --------
        build : The branch's pooled output.
        skfusion.keras.KerasFusionClassifier : Its ``token_attention``.

        Examples
        --------
        >>> import keras
        >>> from skfusion.keras import KerasBranch
        >>> print(KerasBranch(None).build_tokens("review"))
        None
        >>> class Words(KerasBranch):
        ...     def build_tokens(self, name):
        ...         ids = keras.Input(shape=(None,), dtype="int32", name=name)
        ...         mask = keras.Input(shape=(None,), name=f"{name}_mask")
        ...         states = keras.layers.Embedding(100, 8, name=f"{name}_words")(ids)
        ...         return {name: ids, f"{name}_mask": mask}, states, mask
        >>> inputs, states, mask = Words(None).build_tokens("review")
        >>> sorted(inputs), tuple(states.shape)
        (['review', 'review_mask'], (None, None, 8))
        """
        return None

    def learning_rates(self):
        """Learning-rate multipliers of the weights :meth:`build` made.

        Returns
        -------
        multipliers : dict of str to float
            ``{variable.path: multiplier}``: each such weight learns at the
            model's learning rate times its multiplier; weights left out
            learn at the model's rate. The default is ``{}``.

        See Also
        --------
        build : Makes the weights.

        Examples
        --------
        >>> import keras
        >>> from skfusion.keras import KerasBranch
        >>> class Slow(KerasBranch):
        ...     def build(self, name):
        ...         x = keras.Input(shape=(2,), name=name)
        ...         self.dense = keras.layers.Dense(4, name=f"{name}_dense")
        ...         return {name: x}, self.dense(x)
        ...     def learning_rates(self):
        ...         return {v.path: 0.1 for v in self.dense.weights}
        >>> branch = Slow(None)
        >>> _ = branch.build("tab")
        >>> branch.learning_rates()
        {'tab_dense/kernel': 0.1, 'tab_dense/bias': 0.1}
        """
        return {}
