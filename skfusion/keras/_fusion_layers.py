"""skfusion's Keras layers that fuse branches: a gated multimodal unit, a
learned weighted sum and a small transformer over one token per branch.

Each takes the list of the branches' feature tensors, ``(batch, width_i)``,
projects every branch to ``units`` and returns one ``(batch, units)``
tensor. Registered as ``skfusion>GatedFusion``, ``skfusion>WeightedFusion``
and ``skfusion>AttentionFusion``, so ``.keras`` files that hold them load
once this module is imported. It imports Keras, so skfusion imports it
only when a model is built or loaded.
"""

import keras
from keras import ops


class _Projections(keras.layers.Layer):
    """A fusion layer's per-branch projections to ``units``."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activation

    def build(self, input_shape):
        self.projections = [
            keras.layers.Dense(self.units, activation=self.activation, name=f"projection{i}")
            for i in range(len(input_shape))
        ]
        for dense, shape in zip(self.projections, input_shape):
            dense.build(shape)

    def _project(self, inputs):
        return [dense(x) for dense, x in zip(self.projections, inputs)]

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation}


@keras.saving.register_keras_serializable(package="skfusion")
class GatedFusion(_Projections):
    """A gated multimodal unit (Arevalo et al. 2017): each branch projected
    to ``units`` with a tanh, a sigmoid gate per branch and unit computed
    from every branch, and the gated sum ``sum_i z_i * h_i``.

    Parameters
    ----------
    units : int
        Width of the projections and of the output.

    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, units, **kwargs):
        kwargs.pop("activation", None)
        super().__init__(units, activation="tanh", **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        width = sum(int(shape[-1]) for shape in input_shape)
        self.gates = keras.layers.Dense(self.units * len(input_shape), activation="sigmoid",
                                        name="gates")
        self.gates.build((input_shape[0][0], width))

    def call(self, inputs):
        projected = ops.stack(self._project(inputs), axis=1)  # (batch, branches, units)
        gates = self.gates(ops.concatenate(inputs, axis=-1))
        gates = ops.reshape(gates, (-1, len(inputs), self.units))
        return ops.sum(gates * projected, axis=1)

    def get_config(self):
        config = super().get_config()
        config.pop("activation")
        return config


@keras.saving.register_keras_serializable(package="skfusion")
class WeightedFusion(_Projections):
    """A learned weighted sum: each branch projected to ``units``, summed
    with softmax weights (one per branch) that train with the model.

    Parameters
    ----------
    units : int
        Width of the projections and of the output.

    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.logits = self.add_weight(shape=(len(input_shape),), initializer="zeros",
                                      name="branch_logits")

    def call(self, inputs):
        projected = ops.stack(self._project(inputs), axis=1)
        weights = ops.softmax(self.logits)
        return ops.sum(projected * ops.reshape(weights, (1, -1, 1)), axis=1)

    def branch_weights(self):
        """The branches' current weights (they sum to one).

        Returns
        -------
        weights : ndarray of shape (n_branches,)
        """
        return ops.convert_to_numpy(ops.softmax(self.logits))


@keras.saving.register_keras_serializable(package="skfusion")
class AttentionFusion(_Projections):
    """A small transformer encoder over one token per branch: each branch
    projected to a token of ``units`` plus a learned modality embedding,
    ``layers`` pre-norm blocks of multi-head self-attention and a feed
    forward network (twice as wide), then the tokens' mean.

    Parameters
    ----------
    units : int
        Width of the tokens and of the output.

    heads : int, default=2
        Attention heads (each ``units // heads`` wide, at least 1).

    layers : int, default=1
        Transformer blocks.

    dropout : float, default=0.0
        Dropout in the blocks, while training.

    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, units, heads=2, layers=1, dropout=0.0, **kwargs):
        super().__init__(units, **kwargs)
        self.heads = int(heads)
        self.layers = int(layers)
        self.dropout = float(dropout)

    def build(self, input_shape):
        super().build(input_shape)
        n = len(input_shape)
        token = (input_shape[0][0], n, self.units)
        self.modality_embedding = self.add_weight(
            shape=(n, self.units), initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="modality_embedding")
        # per block: pre-norm self-attention, pre-norm feed-forward (lists of
        # layers, which Keras tracks, so their weights save and load)
        self.attention_norms, self.attentions, self.ffn_norms = [], [], []
        self.ffn_hidden, self.ffn_output, self.dropouts = [], [], []
        for i in range(self.layers):
            self.attention_norms.append(keras.layers.LayerNormalization(name=f"block{i}_norm1"))
            self.attentions.append(keras.layers.MultiHeadAttention(
                self.heads, max(1, self.units // self.heads), dropout=self.dropout,
                name=f"block{i}_attention"))
            self.ffn_norms.append(keras.layers.LayerNormalization(name=f"block{i}_norm2"))
            self.ffn_hidden.append(keras.layers.Dense(2 * self.units, activation="gelu",
                                                      name=f"block{i}_hidden"))
            self.ffn_output.append(keras.layers.Dense(self.units, name=f"block{i}_output"))
            self.dropouts.append(keras.layers.Dropout(self.dropout, name=f"block{i}_dropout"))
            self.attention_norms[i].build(token)
            self.attentions[i].build(token, token)
            self.ffn_norms[i].build(token)
            self.ffn_hidden[i].build(token)
            self.ffn_output[i].build((*token[:2], 2 * self.units))

    def call(self, inputs, training=None):
        x = ops.stack(self._project(inputs), axis=1) + self.modality_embedding[None]
        for i in range(self.layers):
            h = self.attention_norms[i](x)
            h = self.attentions[i](h, h, training=training)
            x = x + self.dropouts[i](h, training=training)
            h = self.ffn_output[i](self.ffn_hidden[i](self.ffn_norms[i](x)))
            x = x + self.dropouts[i](h, training=training)
        return ops.mean(x, axis=1)

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "layers": self.layers,
                "dropout": self.dropout}




@keras.saving.register_keras_serializable(package="skfusion")
class MissingModality(keras.layers.Layer):
    """A branch's features, or a learned "missing" embedding for the rows
    where the branch has no input; with ``rate``, whole branches are
    dropped at random while training (modality dropout), so that the model
    learns to predict without them.

    Called on ``[features, present]``: the branch's ``(batch, width)``
    features and a ``(batch, 1)`` float, 1 where the row has the modality.

    Parameters
    ----------
    rate : float, default=0.0
        Probability of dropping the branch of a row while training.

    seed : int or None, default=None
        Seed of the dropout draws (None: drawn from Python's ``random``,
        which a seeded fit seeds).

    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, rate=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.embedding = self.add_weight(shape=(int(input_shape[0][-1]),), initializer="zeros",
                                         name="missing_embedding")

    def call(self, inputs, training=None):
        features, present = inputs
        present = ops.cast(present > 0.5, features.dtype)
        if training and self.rate > 0:
            keep = keras.random.uniform(ops.shape(present), seed=self.seed_generator) >= self.rate
            present = present * ops.cast(keep, features.dtype)
        # a where, not a blend: a missing row's placeholder features never
        # reach the output nor its gradient
        embedding = ops.broadcast_to(ops.expand_dims(self.embedding, 0), ops.shape(features))
        return ops.where(present > 0.5, features, embedding)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


#: the fusion layers, by class name
CUSTOM_OBJECTS = {cls.__name__: cls for cls in (GatedFusion, WeightedFusion, AttentionFusion,
                                                MissingModality)}
