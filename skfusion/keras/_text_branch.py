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
        output : keras.KerasTensor of shape (batch, hidden_size)
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
        states : keras.KerasTensor of shape (batch, length, hidden_size)
        mask : keras.KerasTensor of shape (batch, length)
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
        """
        return dict(getattr(self, "learning_rates_", {}))
