"""An ImageEncoder as a trainable branch: a copy of its backbone whose top
blocks train. Imports Keras only where a backbone is read or built."""

import re

from ._protocol import KerasBranch

# a Keras application's named blocks: conv5_block3_*, block_16_*, block7a_*
_BLOCK = re.compile(r"^(conv\d+_block\d+|block_?\d+[a-z]?|stage\d+_unit\d+|stage\d+_block\d+)_")


class ImageBranch(KerasBranch):
    """An :class:`~skfusion.encoders.ImageEncoder`'s backbone inside a Keras
    model, its top ``trainable`` blocks training with the model.

    What :meth:`~skfusion.encoders.ImageEncoder.keras_branch` returns when
    ``trainable`` is set. The model gets the images as preprocessed pixels
    (:meth:`~skfusion.encoders.ImageEncoder.pixels`) and holds a copy of the
    backbone with its weights, pooled as the encoder pools. A block is a
    Keras application's named block (``conv5_block3``, ``block_16``,
    ``block7a``); any other layer with weights is a block of its own.
    Batch-normalisation layers stay frozen, hence in inference mode, as
    Keras' fine-tuning guide advises: small batches would wreck their
    statistics. The trainable weights learn at the model's learning rate
    times ``learning_rate_multiplier``.

    Parameters
    ----------
    encoder : ImageEncoder
        The branch's (cloned) encoder, ``trainable`` set.

    Attributes
    ----------
    n_blocks_ : int
        Blocks of the backbone.
    """

    def fit(self, X):
        """Fit the encoder and check that its backbone has the blocks
        ``trainable`` asks for.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's image column.

        Returns
        -------
        self : ImageBranch
        """
        encoder = self.encoder.fit(X)
        blocks = backbone_blocks(encoder.backbone())
        if encoder.trainable is not True and int(encoder.trainable) > len(blocks):
            raise ValueError(
                f"asks for trainable={int(encoder.trainable)} blocks, but its backbone has "
                f"{len(blocks)}; use trainable<={len(blocks)}, or True to train all of it."
            )
        self.n_blocks_ = len(blocks)
        return self

    def transform(self, X):
        """The images as preprocessed float32 pixels.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's image column.

        Returns
        -------
        pixels : ndarray of shape (n_samples, height, width, 3), float32
        """
        return self.encoder.pixels(X)

    def build(self, name):
        """The pixel input and the backbone copy, its top blocks trainable,
        pooled.

        Parameters
        ----------
        name : str
            The model input's name.

        Returns
        -------
        inputs : dict of str to keras.KerasTensor
        output : keras.KerasTensor of shape (batch, channels)
        """
        import keras

        encoder = self.encoder
        loaded = encoder.backbone()
        backbone = keras.models.clone_model(loaded)
        backbone.set_weights(loaded.get_weights())
        backbone.name = f"{name}_backbone"  # a name of its own in the fused model
        blocks = backbone_blocks(backbone)
        k = len(blocks) if encoder.trainable is True else int(encoder.trainable)
        frozen = {id(layer) for block in blocks[:len(blocks) - k] for layer in block}
        for layer in backbone.layers:
            # a call with training=False would not keep batch norms in
            # inference mode: the outer model's training flag overrides it
            if id(layer) in frozen or isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        pixels = keras.Input(shape=(*encoder.image_size, 3), name=name)
        features = backbone(pixels)
        if len(features.shape) > 2:
            pool = keras.layers.GlobalAveragePooling2D if encoder.pooling == "avg" \
                else keras.layers.GlobalMaxPooling2D
            features = pool(name=f"{name}_pooling")(features)
        rate = encoder.learning_rate_multiplier
        self.learning_rates_ = {} if rate == 1.0 else {
            v.path: rate for v in backbone.trainable_weights}
        return {name: pixels}, features

    def learning_rates(self):
        """Per trainable backbone weight, ``learning_rate_multiplier`` (none
        when it is 1.0).

        Returns
        -------
        multipliers : dict of str to float
        """
        return dict(getattr(self, "learning_rates_", {}))


def backbone_blocks(model):
    """The backbone's layers with weights, grouped into blocks, bottom to
    top, or a clear error for a backbone that is no ``keras.Model``."""
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(
            f"cannot train {type(model).__name__!r}: a trainable image branch needs a "
            "keras.Model backbone (a backbone name of ImageEncoder, a saved .keras model "
            "or a keras.Model); use trainable=False for a callable."
        )
    groups = []
    for layer in model.layers:
        if not layer.weights:
            continue
        match = _BLOCK.match(layer.name)
        key = match.group(1) if match else layer.name
        if groups and groups[-1][0] == key:
            groups[-1][1].append(layer)
        else:
            groups.append((key, [layer]))
    return [layers for _, layers in groups]
