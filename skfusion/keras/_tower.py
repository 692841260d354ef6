"""The trainable top of a text branch, assembled from skfusion's BERT
layers with a checkpoint's weights: which layers, their learning rates
(layer decay) and the pooling. Its frozen bottom runs on torch in
:class:`~skfusion.encoders.TextEncoder` (once per distinct text); the
layers that train run here, on any Keras backend. Imports Keras."""

from . import _checkpoint
from ._layers import BertBlock, BertEmbeddings, TokenPooling


def text_tower(encoder, tag, states, mask, config, weights, start, *, pool=True):
    """The trainable top of a text branch on Keras tensors: the token
    embeddings when ``start`` is 0 (``states`` are then token ids), the
    transformer layers ``start..L-1`` with the checkpoint's weights, and
    the encoder's pooling (``pool=False``: none).

    Returns the pooled tensor (or the top layer's token states) and
    ``{variable path: learning-rate multiplier}`` for the pretrained weights
    that train.
    """
    shape = _checkpoint.architecture(config)
    n_layers = shape["n_layers"]
    top = encoder.learning_rate_multiplier
    decay = encoder.layer_decay
    lora = encoder.lora_rank
    multipliers = {}
    x = states
    if start == 0:
        embeddings = BertEmbeddings(**shape["embeddings"], name=f"{tag}_embeddings",
                                    trainable=not lora)
        x = embeddings(x)
        embeddings.load(_checkpoint.embedding_weights(weights))
        rate = top * decay ** n_layers
        multipliers.update({v.path: rate for v in embeddings.trainable_weights})
    for index in range(start, n_layers):
        block = BertBlock(**shape["block"], lora_rank=lora, name=f"{tag}_layer{index}")
        x = block(x, mask)
        block.load(_checkpoint.block_weights(weights, index))
        rate = top * decay ** (n_layers - 1 - index)
        multipliers.update({v.path: rate for v in block.trainable_weights})
    if pool:
        x = TokenPooling(encoder.pooling, encoder.normalize, name=f"{tag}_pooling")(x, mask)
    return x, {path: rate for path, rate in multipliers.items() if rate != 1.0}
