"""A BERT-family transformer as Keras 3 layers (any backend), with the
weights of a local Hugging Face checkpoint: the trainable part of a text
branch. Its frozen bottom runs on torch in :class:`~skfusion.encoders.TextEncoder`
(once per distinct text); the layers that train run here."""

import functools
import json
from pathlib import Path

import numpy as np

# model_type values of config.json whose weights and forward are BERT's
SUPPORTED = ("bert",)
_ACTIVATIONS = {"gelu": False, "gelu_new": True, "gelu_pytorch_tanh": True}


def read_checkpoint(owner, branch, path, *, weights=True):
    """config.json and the safetensors weights (None unless ``weights``) of a
    local BERT checkpoint, keys without the ``bert.`` prefix of a task
    model; or a clear error."""
    path = Path(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(
            f"{owner}: branch {branch!r} cannot train model {str(path)!r}: a trainable "
            "text branch needs a local checkpoint directory (config.json and "
            "model.safetensors, as save_pretrained writes them)."
        )
    config = json.loads(config_file.read_text())
    kind = config.get("model_type")
    activation = config.get("hidden_act", "gelu")
    if (kind not in SUPPORTED or activation not in _ACTIVATIONS
            or config.get("position_embedding_type", "absolute") != "absolute"):
        raise ValueError(
            f"{owner}: branch {branch!r} cannot train model {str(path)!r}, a "
            f"{kind!r} model (hidden_act={activation!r}); trainable text branches "
            f"support BERT-family checkpoints (model_type {', '.join(map(repr, SUPPORTED))} "
            "with absolute positions and a GELU activation, such as all-MiniLM-L6-v2). "
            "Use trainable=False to get frozen features from any transformers model."
        )
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise ValueError(
            f"{owner}: branch {branch!r} needs the weights of {str(path)!r} as "
            "safetensors (model.safetensors); save the model with "
            "save_pretrained(..., safe_serialization=True)."
        )
    if not weights:
        return config, None
    from safetensors.numpy import load_file

    arrays = {}
    for file in files:
        for key, value in load_file(str(file)).items():
            arrays[key.removeprefix("bert.")] = value
    return config, arrays


def block_weights(weights, index):
    """One transformer layer's weights, as the Keras block's sub-layers take
    them (a torch Linear stores ``(out, in)``; a Keras Dense ``(in, out)``)."""
    prefix = f"encoder.layer.{index}."

    def dense(name):
        return [weights[prefix + name + ".weight"].T, weights[prefix + name + ".bias"]]

    def norm(name):
        return [weights[prefix + name + ".weight"], weights[prefix + name + ".bias"]]

    return {
        "query": dense("attention.self.query"),
        "key": dense("attention.self.key"),
        "value": dense("attention.self.value"),
        "attention_output": dense("attention.output.dense"),
        "attention_norm": norm("attention.output.LayerNorm"),
        "intermediate": dense("intermediate.dense"),
        "output": dense("output.dense"),
        "output_norm": norm("output.LayerNorm"),
    }


def embedding_weights(weights):
    return [weights["embeddings.word_embeddings.weight"],
            weights["embeddings.position_embeddings.weight"],
            weights["embeddings.token_type_embeddings.weight"][:1],
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"]]


@functools.cache
def keras_objects():
    """The custom layers, defined (and registered for ``.keras`` files) on
    first use, so that importing skfusion never imports Keras."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="skfusion")
    class BertEmbeddings(keras.layers.Layer):
        """Token + position + segment-0 embeddings, then LayerNorm and dropout."""

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
        self-attention and a GELU feed-forward, each with a residual."""

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
            """The sub-layers by the names of :func:`block_weights`."""
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
            """Set the checkpoint's weights (``block_weights``), LoRA or not."""
            for name, values in weights.items():
                layer = self.sublayers()[name]
                if isinstance(layer, keras.layers.Dense):
                    # the pretrained kernel itself, under any adapter
                    layer._kernel.assign(values[0])
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
        :class:`~skfusion.encoders.TextEncoder` pools)."""

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

    return BertEmbeddings, BertBlock, TokenPooling


def text_tower(keras, encoder, tag, states, mask, config, weights, start):
    """The trainable top of a text branch on Keras tensors: the token
    embeddings when ``start`` is 0 (``states`` are then token ids), the
    transformer layers ``start..L-1`` with the checkpoint's weights, and
    the encoder's pooling.

    Returns the pooled tensor and ``{variable path: learning-rate
    multiplier}`` for the pretrained weights that train.
    """
    BertEmbeddings, BertBlock, TokenPooling = keras_objects()
    n_layers = int(config["num_hidden_layers"])
    epsilon = float(config.get("layer_norm_eps", 1e-12))
    dropout = float(config.get("hidden_dropout_prob", 0.0))
    top = encoder.learning_rate_multiplier
    decay = encoder.layer_decay
    lora = encoder.lora_rank
    multipliers = {}
    x = states
    if start == 0:
        embeddings = BertEmbeddings(
            int(config["vocab_size"]), int(config["hidden_size"]),
            int(config["max_position_embeddings"]), epsilon, dropout,
            name=f"{tag}_embeddings", trainable=not lora,
        )
        x = embeddings(x)
        tokens, positions, segment, gamma, beta = embedding_weights(weights)
        for variable, value in ((embeddings.tokens, tokens), (embeddings.positions, positions),
                                (embeddings.segment, segment)):
            variable.assign(value)
        embeddings.norm.set_weights([gamma, beta])
        rate = top * decay ** n_layers
        multipliers.update({v.path: rate for v in embeddings.trainable_weights})
    for index in range(start, n_layers):
        block = BertBlock(
            int(config["hidden_size"]), int(config["num_attention_heads"]),
            int(config["intermediate_size"]), epsilon, dropout,
            _ACTIVATIONS[config.get("hidden_act", "gelu")], lora, name=f"{tag}_layer{index}",
        )
        x = block(x, mask)
        block.load(block_weights(weights, index))
        rate = top * decay ** (n_layers - 1 - index)
        multipliers.update({v.path: rate for v in block.trainable_weights})
    pooled = TokenPooling(encoder.pooling, encoder.normalize, name=f"{tag}_pooling")(x, mask)
    return pooled, {path: rate for path, rate in multipliers.items() if rate != 1.0}


def scale_learning_rates(optimizer, multipliers):
    """Make ``optimizer`` update each variable in ``multipliers`` (by path)
    at its learning rate times the multiplier.

    Keras optimizers have one learning rate; each backend applies it to the
    variables in one collective update step, which this splits into one call
    per multiplier. The optimizer's state and configuration are its own, so
    it saves and loads as usual (a loaded model trains at one rate).
    """
    if not multipliers:
        return optimizer
    update = optimizer._backend_update_step

    def scaled_update(grads, variables, learning_rate):
        groups = {}
        for grad, variable in zip(grads, variables):
            rate = multipliers.get(variable.path, 1.0)
            group = groups.setdefault(rate, ([], []))
            group[0].append(grad)
            group[1].append(variable)
        for rate, (group_grads, group_variables) in groups.items():
            update(group_grads, group_variables,
                   learning_rate if rate == 1.0 else learning_rate * rate)

    optimizer._backend_update_step = scaled_update
    return optimizer


def bottom_layer(owner, branch, encoder, config):
    """The index of the first trainable layer of ``encoder``'s branch, or a
    clear error when ``trainable`` asks for more layers than the model has."""
    n_layers = int(config["num_hidden_layers"])
    trainable = encoder.trainable
    if trainable is True:
        return 0
    if int(trainable) > n_layers:
        raise ValueError(
            f"{owner}: branch {branch!r} asks for trainable={int(trainable)} layers, but "
            f"model {str(encoder.model)!r} has {n_layers} transformer layers; use "
            f"trainable<={n_layers}, or True to train them all and the embeddings."
        )
    return n_layers - int(trainable)


def check_positions(owner, branch, encoder, config):
    positions = int(config.get("max_position_embeddings", 512))
    if encoder.max_length > positions:
        raise ValueError(
            f"{owner}: branch {branch!r} has max_length={encoder.max_length}, above the "
            f"{positions} positions of model {str(encoder.model)!r}; use "
            f"max_length<={positions}."
        )


def pad_batch(arrays, limit, multiple=8):
    """Ragged per-text arrays (ids, or token states) as one zero-padded
    batch and its mask, the length rounded up to ``multiple`` but at most
    ``limit`` (a few shapes for a traced step to meet, not one per length)."""
    longest = max(len(a) for a in arrays)
    length = max(longest, min(limit, -(-longest // multiple) * multiple))
    first = arrays[0]
    padded = np.zeros((len(arrays), length, *first.shape[1:]), dtype=first.dtype)
    mask = np.zeros((len(arrays), length), dtype=np.float32)
    for row, array in enumerate(arrays):
        padded[row, :len(array)] = array
        mask[row, :len(array)] = 1.0
    return padded, mask
