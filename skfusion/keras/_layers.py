"""skfusion's Keras layers for trainable text branches: a BERT-family
transformer's embeddings and layers, and the pooling of its token states.

Registered as ``skfusion>BertEmbeddings``, ``skfusion>BertBlock`` and
``skfusion>TokenPooling``, so ``.keras`` files that hold them load once this
module is imported. It imports Keras, so skfusion imports it only when a
model is built or loaded.
"""

import keras
from keras import ops

from ._compat import dense_kernel


@keras.saving.register_keras_serializable(package="skfusion")
class BertEmbeddings(keras.layers.Layer):
    """Token + position + segment-0 embeddings, then LayerNorm and dropout.

    Parameters
    ----------
    vocab_size : int
        Rows of the token table.

    hidden_size : int
        Width of every embedding.

    max_positions : int
        Rows of the position table: the longest sequence it takes.

    epsilon : float, default=1e-12
        The LayerNorm's epsilon.

    dropout : float, default=0.0
        Dropout rate on the normalised embeddings, while training.

    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``trainable`` ...).
    """

    def __init__(self, vocab_size, hidden_size, max_positions, epsilon=1e-12,
                 dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_positions = max_positions
        self.epsilon = epsilon
        self.dropout = dropout
        self.norm = keras.layers.LayerNormalization(epsilon=epsilon, name="norm")
        self.drop = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        self.tokens = self.add_weight(shape=(self.vocab_size, self.hidden_size), name="tokens")
        self.positions = self.add_weight(shape=(self.max_positions, self.hidden_size),
                                         name="positions")
        self.segment = self.add_weight(shape=(1, self.hidden_size), name="segment")
        self.norm.build((None, None, self.hidden_size))

    def load(self, weights):
        """Set the checkpoint's weights: ``[tokens, positions, segment,
        norm gamma, norm beta]``, as ``_checkpoint.embedding_weights``
        gives them."""
        tokens, positions, segment, gamma, beta = weights
        for variable, value in ((self.tokens, tokens), (self.positions, positions),
                                (self.segment, segment)):
            variable.assign(value)
        self.norm.set_weights([gamma, beta])

    def call(self, ids, training=None):
        length = ops.shape(ids)[1]
        x = ops.take(self.tokens, ops.cast(ids, "int32"), axis=0)
        x = x + self.positions[None, :length] + self.segment[None]
        return self.drop(self.norm(x), training=training)

    def compute_output_shape(self, ids_shape):
        return (*ids_shape, self.hidden_size)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "hidden_size": self.hidden_size, "max_positions": self.max_positions,
                "epsilon": self.epsilon, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="skfusion")
class BertBlock(keras.layers.Layer):
    """One post-LayerNorm transformer layer of BERT: masked multi-head
    self-attention and a GELU feed-forward, each with a residual.

    Parameters
    ----------
    hidden_size : int
        Width of the token states in and out.

    num_heads : int
        Attention heads; ``hidden_size`` is a multiple of it.

    intermediate_size : int
        Width of the feed-forward's hidden layer.

    epsilon : float, default=1e-12
        The LayerNorms' epsilon.

    dropout : float, default=0.0
        Dropout rate on the attention and feed-forward outputs, while training.

    approximate_gelu : bool, default=False
        Whether the GELU is the tanh approximation.

    lora_rank : int or None, default=None
        With a rank, only low-rank adapters on the query and value
        projections train; every pretrained weight of the layer stays.

    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``trainable`` ...).
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, epsilon=1e-12,
                 dropout=0.0, approximate_gelu=False, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        self.lora_rank = lora_rank
        self.hidden_size = hidden_size
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.epsilon = epsilon
        self.dropout = dropout
        self.approximate_gelu = approximate_gelu
        dense = keras.layers.Dense
        self.query = dense(hidden_size, name="query")
        self.key = dense(hidden_size, name="key")
        self.value = dense(hidden_size, name="value")
        self.attention_output = dense(hidden_size, name="attention_output")
        self.attention_norm = keras.layers.LayerNormalization(epsilon=epsilon,
                                                              name="attention_norm")
        self.intermediate = dense(intermediate_size, name="intermediate")
        self.output_dense = dense(hidden_size, name="output")
        self.output_norm = keras.layers.LayerNormalization(epsilon=epsilon,
                                                           name="output_norm")
        self.drop = keras.layers.Dropout(dropout)

    def sublayers(self):
        """The sub-layers by the names of ``_checkpoint.block_weights``."""
        return {"query": self.query, "key": self.key, "value": self.value,
                "attention_output": self.attention_output,
                "attention_norm": self.attention_norm,
                "intermediate": self.intermediate, "output": self.output_dense,
                "output_norm": self.output_norm}

    def build(self, input_shape):
        hidden = (None, None, self.hidden_size)
        for name, layer in self.sublayers().items():
            if not layer.built:
                layer.build((None, None, self.intermediate_size) if name == "output"
                            else hidden)
            if self.lora_rank:
                # low-rank adapters on the query and value projections
                # train; every pretrained weight of the layer stays
                if name in ("query", "value"):
                    if not layer.lora_enabled:
                        layer.enable_lora(self.lora_rank)
                    layer.bias.trainable = False
                else:
                    layer.trainable = False

    def load(self, weights):
        """Set the checkpoint's weights (``_checkpoint.block_weights``),
        LoRA or not."""
        for name, values in weights.items():
            layer = self.sublayers()[name]
            if isinstance(layer, keras.layers.Dense):
                # the pretrained kernel itself, under any adapter
                dense_kernel(layer).assign(values[0])
                layer.bias.assign(values[1])
            else:
                layer.set_weights(values)

    def call(self, x, mask, training=None):
        heads, width = self.num_heads, self.hidden_size // self.num_heads
        batch, length = ops.shape(x)[0], ops.shape(x)[1]

        def split(t):
            return ops.reshape(t, (batch, length, heads, width))

        attended = ops.dot_product_attention(
            split(self.query(x)), split(self.key(x)), split(self.value(x)),
            mask=ops.cast(mask, "bool")[:, None, None, :],
        )
        attended = self.attention_output(ops.reshape(attended, (batch, length, self.hidden_size)))
        x = self.attention_norm(x + self.drop(attended, training=training))
        hidden = keras.activations.gelu(self.intermediate(x), approximate=self.approximate_gelu)
        return self.output_norm(x + self.drop(self.output_dense(hidden), training=training))

    def compute_output_shape(self, x_shape, mask_shape=None):
        return x_shape

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size,
                "num_heads": self.num_heads, "intermediate_size": self.intermediate_size,
                "epsilon": self.epsilon, "dropout": self.dropout,
                "approximate_gelu": self.approximate_gelu, "lora_rank": self.lora_rank}


@keras.saving.register_keras_serializable(package="skfusion")
class TokenPooling(keras.layers.Layer):
    """Token states to one vector per text: the masked mean, the first
    token or the masked maximum, optionally L2-normalised (as
    :class:`~skfusion.encoders.TextEncoder` pools).

    Parameters
    ----------
    pooling : {"mean", "cls", "max"}, default="mean"
        How the real tokens (``mask`` 1) become one vector.

    normalize : bool, default=False
        Whether the pooled vector is scaled to unit length.

    **kwargs
        Passed to ``keras.layers.Layer`` (``name`` ...).
    """

    def __init__(self, pooling="mean", normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.pooling = pooling
        self.normalize = normalize

    def call(self, x, mask):
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            weights = ops.cast(mask, x.dtype)[:, :, None]
            if self.pooling == "mean":
                pooled = ops.sum(x * weights, axis=1) / ops.maximum(
                    ops.sum(weights, axis=1), 1e-9)
            else:
                pooled = ops.max(ops.where(weights > 0, x, ops.full_like(x, -3.0e38)), axis=1)
        if self.normalize:
            pooled = pooled / ops.maximum(
                ops.sqrt(ops.sum(ops.square(pooled), axis=-1, keepdims=True)), 1e-12)
        return pooled

    def compute_output_shape(self, x_shape, mask_shape=None):
        return (x_shape[0], x_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pooling": self.pooling, "normalize": self.normalize}


#: the custom objects of a model with a trainable text branch, by class name
CUSTOM_OBJECTS = {cls.__name__: cls for cls in (BertEmbeddings, BertBlock, TokenPooling)}
