"""A local Hugging Face BERT checkpoint as skfusion's Keras layers take it:
reading ``config.json`` and the safetensors weights, what a checkpoint
allows a text branch (which models, how many layers, how long a text),
the layers' arguments from its configuration, and its weights by the
layers' names (a converter, as keras-hub keeps them). Imports no Keras."""

import json
from pathlib import Path

# model_type values of config.json whose weights and forward are BERT's
SUPPORTED = ("bert",)
# hidden_act values, and whether Keras' GELU is then the tanh approximation
_ACTIVATIONS = {"gelu": False, "gelu_new": True, "gelu_pytorch_tanh": True}


def read_checkpoint(path, *, weights=True):
    """config.json and the safetensors weights (None unless ``weights``) of a
    local BERT checkpoint, keys without the ``bert.`` prefix of a task
    model; or a clear error."""
    path = Path(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ValueError(
            f"cannot train model {str(path)!r}: a trainable "
            "text branch needs a local checkpoint directory (config.json and "
            "model.safetensors, as save_pretrained writes them)."
        )
    config = json.loads(config_file.read_text())
    kind = config.get("model_type")
    activation = config.get("hidden_act", "gelu")
    if (kind not in SUPPORTED or activation not in _ACTIVATIONS
            or config.get("position_embedding_type", "absolute") != "absolute"):
        raise ValueError(
            f"cannot train model {str(path)!r}, a "
            f"{kind!r} model (hidden_act={activation!r}); trainable text branches "
            f"support BERT-family checkpoints (model_type {', '.join(map(repr, SUPPORTED))} "
            "with absolute positions and a GELU activation, such as all-MiniLM-L6-v2). "
            "Use trainable=False to get frozen features from any transformers model."
        )
    files = sorted(path.glob("*.safetensors"))
    if not files:
        raise ValueError(
            f"needs the weights of {str(path)!r} as "
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


def architecture(config):
    """The checkpoint's shape as the layers' arguments: ``n_layers``, and
    the keyword arguments of ``BertEmbeddings`` (``embeddings``) and of
    every ``BertBlock`` (``block``)."""
    common = {"hidden_size": int(config["hidden_size"]),
              "epsilon": float(config.get("layer_norm_eps", 1e-12)),
              "dropout": float(config.get("hidden_dropout_prob", 0.0))}
    return {
        "n_layers": int(config["num_hidden_layers"]),
        "embeddings": {**common, "vocab_size": int(config["vocab_size"]),
                       "max_positions": int(config["max_position_embeddings"])},
        "block": {**common, "num_heads": int(config["num_attention_heads"]),
                  "intermediate_size": int(config["intermediate_size"]),
                  "approximate_gelu": _ACTIVATIONS[config.get("hidden_act", "gelu")]},
    }


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
    """The embeddings' weights as ``BertEmbeddings.load`` takes them."""
    return [weights["embeddings.word_embeddings.weight"],
            weights["embeddings.position_embeddings.weight"],
            weights["embeddings.token_type_embeddings.weight"][:1],
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"]]


def bottom_layer(encoder, config):
    """The index of the first trainable layer of ``encoder``'s branch, or a
    clear error when ``trainable`` asks for more layers than the model has."""
    n_layers = int(config["num_hidden_layers"])
    trainable = encoder.trainable
    if trainable is True:
        return 0
    if int(trainable) > n_layers:
        raise ValueError(
            f"asks for trainable={int(trainable)} layers, but "
            f"model {str(encoder.model)!r} has {n_layers} transformer layers; use "
            f"trainable<={n_layers}, or True to train them all and the embeddings."
        )
    return n_layers - int(trainable)


def check_positions(encoder, config):
    """A clear error when the encoder's ``max_length`` exceeds the
    checkpoint's positions."""
    positions = int(config.get("max_position_embeddings", 512))
    if encoder.max_length > positions:
        raise ValueError(
            f"has max_length={encoder.max_length}, above the "
            f"{positions} positions of model {str(encoder.model)!r}; use "
            f"max_length<={positions}."
        )
