"""A TextEncoder as a trainable branch: its BERT checkpoint's top layers
ported to Keras, fed the frozen bottom's token states. Imports Keras only
in ``build``."""

import numpy as np

from ..utils._columns import one_column
from . import _checkpoint
from ._protocol import KerasBranch
from ._sequences import TokenSequences


class TextBranch(KerasBranch):
    """A :class:`~skfusion.encoders.TextEncoder`'s transformer inside a Keras
    model, its top ``trainable`` layers training with the model.

    What :meth:`~skfusion.encoders.TextEncoder.keras_branch` returns when
    ``trainable`` is set. The layers below the trainable ones run once per
    distinct text, on torch, through the encoder's ``cache``
    (:meth:`~skfusion.encoders.TextEncoder.token_states`); the trainable
    layers are skfusion's Keras port of the checkpoint's BERT layers
    (``model_type`` ``"bert"``, a local directory with ``config.json`` and
    safetensors weights), loaded with its weights, with the encoder's
    pooling. Each trainable pretrained layer learns at the model's learning
    rate times ``learning_rate_multiplier`` times ``layer_decay`` to the
    power of its depth below the top.

    Parameters
    ----------
    encoder : TextEncoder
        The branch's (cloned) encoder, ``trainable`` set.

    Attributes
    ----------
    first_layer_ : int
        The first transformer layer that trains (0: the token embeddings
        train too, and the model gets token ids).

    See Also
    --------
    skfusion.encoders.TextEncoder : The encoder, its ``trainable`` set.
    skfusion.keras.KerasBranch : The protocol this class implements.
    skfusion.keras.ImageBranch : The same for an image encoder.

    Examples
    --------
    A two-layer, 8-wide BERT made and saved in place (no download):

    >>> import tempfile, transformers
    >>> from skfusion.encoders import TextEncoder
    >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small"]
    >>> bert = tempfile.TemporaryDirectory()
    >>> with open(f"{bert.name}/vocab.txt", "w") as f:
    ...     _ = f.write("\\n".join(words))
    >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
    >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8,
    ...                                  num_hidden_layers=2, num_attention_heads=2,
    ...                                  intermediate_size=16)
    >>> transformers.BertModel(config).save_pretrained(bert.name)
    >>> encoder = TextEncoder(bert.name, max_length=16, trainable=1)
    >>> import numpy as np, pandas as pd
    >>> from skfusion.keras import KerasFusionRegressor, TextBranch
    >>> isinstance(encoder.keras_branch(), TextBranch)
    True
    >>> X = pd.DataFrame({"review": ["soft dress", "runs small", "small dress", "soft"] * 2})
    >>> reg = KerasFusionRegressor([("review", encoder, "review")], hidden_layers=(4,),
    ...                            epochs=1, random_state=0).fit(X, np.arange(8.0))
    >>> reg.predict(X[:2]).shape, reg.n_branch_features_
    ((2,), {'review': 8})
    >>> bert.cleanup()
    """

    def fit(self, X):
        """Check the checkpoint against the encoder's parameters, then fit
        the encoder.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's text column.

        Returns
        -------
        self : TextBranch
            The fitted branch.

        See Also
        --------
        transform : The model's input, once fitted.

        Examples
        --------
        A two-layer, 8-wide BERT made and saved in place (no download):

        >>> import tempfile, transformers
        >>> from skfusion.encoders import TextEncoder
        >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small"]
        >>> bert = tempfile.TemporaryDirectory()
        >>> with open(f"{bert.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(words))
        >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
        >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8,
        ...                                  num_hidden_layers=2, num_attention_heads=2,
        ...                                  intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(bert.name)
        >>> encoder = TextEncoder(bert.name, max_length=16, trainable=1)
        >>> branch = encoder.keras_branch().fit(["soft dress", "runs small"])
        >>> branch.first_layer_
        1
        >>> bert.cleanup()
        """
        encoder = self.encoder
        config, _ = _checkpoint.read_checkpoint(encoder.model, weights=False)
        _checkpoint.check_positions(encoder, config)
        first_layer = _checkpoint.bottom_layer(encoder, config)
        encoder.fit(X)
        self.first_layer_ = first_layer
        return self

    def transform(self, X):
        """Per text, its token ids (when the embeddings train) or the frozen
        bottom's token states.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's text column.

        Returns
        -------
        sequences : TokenSequences
            Per text, an int32 array of its token ids, or a float32 array
            of shape (length, hidden_size) of its token states.

        See Also
        --------
        skfusion.encoders.TextEncoder.token_states : The frozen bottom's
            states.
        skfusion.encoders.TextEncoder.token_ids : The token ids.

        Examples
        --------
        A two-layer, 8-wide BERT made and saved in place (no download):

        >>> import tempfile, transformers
        >>> from skfusion.encoders import TextEncoder
        >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small"]
        >>> bert = tempfile.TemporaryDirectory()
        >>> with open(f"{bert.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(words))
        >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
        >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8,
        ...                                  num_hidden_layers=2, num_attention_heads=2,
        ...                                  intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(bert.name)
        >>> encoder = TextEncoder(bert.name, max_length=16, trainable=1)
        >>> branch = encoder.keras_branch().fit(["soft dress", "runs small"])
        >>> sequences = branch.transform(["soft dress", "runs small dress"])
        >>> sequences.lengths(), sequences.arrays[0].shape
        (array([4, 5]), (4, 8))
        >>> bert.cleanup()
        """
        texts = one_column(X, "TextEncoder")
        if self.first_layer_ == 0:
            arrays = [np.asarray(ids, dtype=np.int32) for ids in self.encoder.token_ids(texts)]
        else:
            arrays = self.encoder.token_states(texts, self.first_layer_)
        return TokenSequences(arrays, self.encoder.max_length)

    def build(self, name):
        """The token input and its mask, the trainable layers with the
        checkpoint's weights, and the pooling.

        Parameters
        ----------
        name : str
            The model input's name.

        Returns
        -------
        inputs : dict of str to keras.KerasTensor
            ``{name: tokens, name + "_mask": mask}``.

        output : keras.KerasTensor of shape (batch, hidden_size)
            The pooled states of the top layer.

        See Also
        --------
        build_tokens : The same before pooling.

        Examples
        --------
        A two-layer, 8-wide BERT made and saved in place (no download):

        >>> import tempfile, transformers
        >>> from skfusion.encoders import TextEncoder
        >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small"]
        >>> bert = tempfile.TemporaryDirectory()
        >>> with open(f"{bert.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(words))
        >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
        >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8,
        ...                                  num_hidden_layers=2, num_attention_heads=2,
        ...                                  intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(bert.name)
        >>> encoder = TextEncoder(bert.name, max_length=16, trainable=1)
        >>> branch = encoder.keras_branch().fit(["soft dress", "runs small"])
        >>> inputs, output = branch.build("review")
        >>> sorted(inputs), tuple(output.shape)
        (['review', 'review_mask'], (None, 8))
        >>> bert.cleanup()
        """
        inputs, pooled, _ = self._tower(name, pool=True)
        return inputs, pooled

    def build_tokens(self, name):
        """The token input and its mask, and the trainable layers' token
        states before pooling (for ``token_attention=True``).

        Parameters
        ----------
        name : str
            The model input's name.

        Returns
        -------
        inputs : dict of str to keras.KerasTensor
            ``{name: tokens, name + "_mask": mask}``.

        states : keras.KerasTensor of shape (batch, length, hidden_size)
            The top layer's state per token.

        mask : keras.KerasTensor of shape (batch, length)
            1 for a real token, 0 for padding.

        See Also
        --------
        build : The same, pooled.

        Examples
        --------
        A two-layer, 8-wide BERT made and saved in place (no download):

        >>> import tempfile, transformers
        >>> from skfusion.encoders import TextEncoder
        >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small"]
        >>> bert = tempfile.TemporaryDirectory()
        >>> with open(f"{bert.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(words))
        >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
        >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8,
        ...                                  num_hidden_layers=2, num_attention_heads=2,
        ...                                  intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(bert.name)
        >>> encoder = TextEncoder(bert.name, max_length=16, trainable=1)
        >>> branch = encoder.keras_branch().fit(["soft dress", "runs small"])
        >>> inputs, states, mask = branch.build_tokens("review")
        >>> tuple(states.shape), tuple(mask.shape)
        ((None, None, 8), (None, None))
        >>> bert.cleanup()
        """
        return self._tower(name, pool=False)

    def _tower(self, name, *, pool):
        import keras

        from ._tower import text_tower

        encoder = self.encoder
        config, weights = _checkpoint.read_checkpoint(encoder.model)
        if self.first_layer_ == 0:
            tokens = keras.Input(shape=(None,), dtype="int32", name=name)
        else:
            tokens = keras.Input(shape=(None, encoder.n_features_out_), name=name)
        mask = keras.Input(shape=(None,), name=f"{name}_mask")
        output, self.learning_rates_ = text_tower(
            encoder, name, tokens, mask, config, weights, self.first_layer_, pool=pool)
        return {name: tokens, f"{name}_mask": mask}, output, mask

    def learning_rates(self):
        """Per pretrained weight that trains, its learning-rate multiplier
        (those of 1.0 left out).

        Returns
        -------
        multipliers : dict of str to float
            ``{variable.path: multiplier}``, after :meth:`build`.

        See Also
        --------
        build : Makes the weights.

        Examples
        --------
        A two-layer, 8-wide BERT made and saved in place (no download):

        >>> import tempfile, transformers
        >>> from skfusion.encoders import TextEncoder
        >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small"]
        >>> bert = tempfile.TemporaryDirectory()
        >>> with open(f"{bert.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(words))
        >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
        >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8,
        ...                                  num_hidden_layers=2, num_attention_heads=2,
        ...                                  intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(bert.name)
        >>> encoder = TextEncoder(bert.name, max_length=16, trainable=1,
        ...                       learning_rate_multiplier=0.5)
        >>> branch = encoder.keras_branch().fit(["soft dress", "runs small"])
        >>> _ = branch.build("review")
        >>> rates = branch.learning_rates()
        >>> len(rates), set(rates.values())
        (16, {0.5})
        >>> bert.cleanup()
        """
        return dict(getattr(self, "learning_rates_", {}))
