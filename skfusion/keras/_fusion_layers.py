"""skfusion's Keras layers that fuse branches: a gated multimodal unit, a
learned weighted sum and a small transformer over one token per branch (or
over a text branch's every token); and the learned embeddings of a missing
modality.

Each fusion takes the list of the branches' feature tensors, ``(batch,
width_i)`` (token attention: a text branch's states and mask too), projects
every branch to ``units`` and returns one ``(batch, units)`` tensor. All are
registered in the ``skfusion`` package of Keras serializables, so ``.keras``
files that hold them load once this module is imported. It imports Keras,
so skfusion imports it only when a model is built or loaded.
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
        self._build_blocks(len(input_shape), input_shape[0][0])

    def _build_blocks(self, n_branches, batch):
        """The modality embeddings and the transformer blocks."""
        token = (batch, None, self.units)
        self.modality_embedding = self.add_weight(
            shape=(n_branches, self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
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
        return ops.mean(self._encode(x, None, training), axis=1)

    def _encode(self, x, mask, training):
        """The blocks over tokens ``x`` ``(batch, tokens, units)``; ``mask``
        ``(batch, tokens)`` (1 for a real token) or None for all."""
        attention_mask = None if mask is None else ops.cast(
            ops.expand_dims(mask, 1) * ops.expand_dims(mask, 2), "bool")
        for i in range(self.layers):
            h = self.attention_norms[i](x)
            h = self.attentions[i](h, h, attention_mask=attention_mask, training=training)
            x = x + self.dropouts[i](h, training=training)
            h = self.ffn_output[i](self.ffn_hidden[i](self.ffn_norms[i](x)))
            x = x + self.dropouts[i](h, training=training)
        return x

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "layers": self.layers,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="skfusion")
class TokenAttentionFusion(AttentionFusion):
    """:class:`AttentionFusion` over every token of the branches that give
    token states (a trainable text branch's, before pooling) and one token
    per other branch: each branch's tokens projected to ``units`` plus the
    branch's modality embedding, padding masked out of the attention and of
    the final mean.

    Called on a flat list: ``states, mask`` (``(batch, tokens, width)`` and
    ``(batch, tokens)``, 1 for a real token) for each branch that
    ``sequences`` marks, the ``(batch, width)`` features for the others.

    Parameters
    ----------
    units : int
        Width of the tokens and of the output.

    sequences : list of bool
        Per branch, in order, whether it comes as token states and a mask.

    heads, layers, dropout
        As in :class:`AttentionFusion`.

    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def __init__(self, units, sequences, heads=2, layers=1, dropout=0.0, **kwargs):
        super().__init__(units, heads=heads, layers=layers, dropout=dropout, **kwargs)
        self.sequences = [bool(s) for s in sequences]

    def build(self, input_shape):
        shapes = [shape for shape, _ in self._branches(input_shape)]
        _Projections.build(self, shapes)
        self._build_blocks(len(shapes), shapes[0][0])

    def _branches(self, inputs):
        """``(features or states, mask or None)`` per branch."""
        branches, i = [], 0
        for sequence in self.sequences:
            branches.append((inputs[i], inputs[i + 1]) if sequence else (inputs[i], None))
            i += 2 if sequence else 1
        return branches

    def call(self, inputs, training=None):
        tokens, masks = [], []
        for j, ((x, mask), dense) in enumerate(zip(self._branches(inputs), self.projections)):
            h = dense(x)
            if mask is None:
                h = ops.expand_dims(h, 1)
                mask = ops.ones((ops.shape(h)[0], 1), dtype=h.dtype)
            tokens.append(h + self.modality_embedding[j][None, None])
            masks.append(ops.cast(mask, h.dtype))
        x, mask = ops.concatenate(tokens, axis=1), ops.concatenate(masks, axis=1)
        x = self._encode(x, mask, training)
        weights = ops.expand_dims(mask, -1)
        return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        return {**super().get_config(), "sequences": self.sequences}


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
        present = self._present(present, features.dtype, training)
        # a where, not a blend: a missing row's placeholder features never
        # reach the output nor its gradient
        embedding = ops.broadcast_to(ops.expand_dims(self.embedding, 0), ops.shape(features))
        return ops.where(present > 0.5, features, embedding)

    def _present(self, present, dtype, training):
        """1 where the row has the modality and (while training) modality
        dropout keeps it, else 0; ``(batch, 1)``."""
        present = ops.cast(present > 0.5, dtype)
        if training and self.rate > 0:
            keep = keras.random.uniform(ops.shape(present), seed=self.seed_generator) >= self.rate
            present = present * ops.cast(keep, dtype)
        return present

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="skfusion")
class MissingTokens(MissingModality):
    """:class:`MissingModality` for a branch that enters the fusion as token
    states: a row without the modality (or whose branch modality dropout
    drops) has its tokens masked out and gets one learned "missing" token
    instead.

    Called on ``[states, mask, present]``: ``(batch, tokens, width)``,
    ``(batch, tokens)`` and ``(batch, 1)``; returns ``[states, mask]`` with
    the missing token first, masked out where the row has the modality.

    Parameters
    ----------
    rate, seed
        As in :class:`MissingModality`.

    **kwargs
        Passed to ``keras.layers.Layer``.
    """

    def call(self, inputs, training=None):
        states, mask, present = inputs
        present = self._present(present, states.dtype, training)
        batch = ops.shape(states)[0]
        token = ops.broadcast_to(self.embedding[None, None], (batch, 1, ops.shape(states)[-1]))
        mask = ops.cast(mask, states.dtype)
        return [ops.concatenate([token, states], axis=1),
                ops.concatenate([1.0 - present, mask * present], axis=1)]

    def compute_output_shape(self, input_shape):
        states, mask = input_shape[0], input_shape[1]
        longer = None if states[1] is None else states[1] + 1
        return [(states[0], longer, states[2]), (mask[0], longer)]


#: the fusion layers, by class name
CUSTOM_OBJECTS = {cls.__name__: cls for cls in (GatedFusion, WeightedFusion, AttentionFusion,
                                                TokenAttentionFusion, MissingModality,
                                                MissingTokens)}
