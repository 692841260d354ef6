"""An ImageEncoder as a trainable branch: the top of its backbone above a
frozen bottom computed once per image, or a copy of the whole backbone.
Imports Keras only where a backbone is read or built."""

import inspect
import re

import numpy as np

from ._protocol import KerasBranch

# a Keras application's named blocks: conv5_block3_*, block_16_*, block7a_*
_BLOCK = re.compile(r"^(conv\d+_block\d+|block_?\d+[a-z]?|stage\d+_unit\d+|stage\d+_block\d+)_")


class ImageBranch(KerasBranch):
    """An :class:`~skfusion.encoders.ImageEncoder`'s backbone inside a Keras
    model, its top ``trainable`` blocks training with the model.

    What :meth:`~skfusion.encoders.ImageEncoder.keras_branch` returns when
    ``trainable`` is set. A block is a Keras application's named block
    (``conv5_block3``, ``block_16``, ``block7a``); any other layer with
    weights is a block of its own.

    With ``trainable=k`` smaller than the backbone's blocks, the backbone is
    cut at the first layer of its top k blocks: the model gets, per image,
    the activations there (:meth:`~skfusion.encoders.ImageEncoder.bottom`,
    computed once per distinct image and kept within the encoder's
    ``memory_budget``, in its ``cache`` beyond) and holds a copy of the
    layers above only, so no epoch runs the frozen bottom again. The cut is
    the one tensor that the layers from there on take from the layers
    before; where there is not exactly one (a skip connection across, a
    layer called twice), where the backbone is no functional or sequential
    ``keras.Model``, with ``trainable=True`` or all the blocks, and with
    ``augment`` (which changes the pixels below the bottom), the model gets
    preprocessed pixels (:meth:`~skfusion.encoders.ImageEncoder.pixels`)
    instead and holds a copy of the whole backbone, its bottom frozen and
    computed again in every step. Either way it is pooled as the encoder
    pools.

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

    cut_ : str or None
        The backbone layer whose output the model takes, or None where it
        takes pixels.

    See Also
    --------
    skfusion.encoders.ImageEncoder : The encoder, its ``trainable`` set.
    skfusion.keras.KerasBranch : The protocol this class implements.
    skfusion.keras.TextBranch : The same for a text encoder.

    Examples
    --------
    A two-block backbone (no pretrained weights), its top block training
    with a fusion model.

    >>> import keras, numpy as np, pandas as pd
    >>> from skfusion.encoders import ImageEncoder
    >>> from skfusion.keras import ImageBranch, KerasFusionClassifier
    >>> pixels = keras.Input((8, 8, 3))
    >>> x = keras.layers.Conv2D(4, 3, name="block1_conv")(pixels)
    >>> backbone = keras.Model(pixels, keras.layers.Conv2D(6, 3, name="block2_conv")(x))
    >>> encoder = ImageEncoder(backbone, image_size=(8, 8), trainable=1)
    >>> isinstance(encoder.keras_branch(), ImageBranch)
    True
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"photo": list(rng.integers(0, 256, (8, 8, 8, 3), dtype=np.uint8))})
    >>> clf = KerasFusionClassifier([("photo", encoder, "photo")], hidden_layers=(4,),
    ...                             epochs=1, random_state=0).fit(X, [0, 1] * 4)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def fit(self, X):
        """Fit the encoder, check that its backbone has the blocks
        ``trainable`` asks for, and find the cut.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's image column.

        Returns
        -------
        self : ImageBranch
            The fitted branch.

        See Also
        --------
        transform : The model's input, once fitted.

        Examples
        --------
        >>> import keras, numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> pixels = keras.Input((8, 8, 3))
        >>> x = keras.layers.Conv2D(4, 3, name="block1_conv")(pixels)
        >>> backbone = keras.Model(pixels, keras.layers.Conv2D(6, 3, name="block2_conv")(x))
        >>> encoder = ImageEncoder(backbone, image_size=(8, 8), trainable=1)
        >>> images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
        >>> branch = encoder.keras_branch().fit(images)
        >>> branch.n_blocks_, branch.cut_
        (2, 'block1_conv')
        """
        import keras

        encoder = self.encoder.fit(X)
        backbone = encoder.backbone()
        blocks = backbone_blocks(backbone)
        if encoder.trainable is not True and int(encoder.trainable) > len(blocks):
            raise ValueError(
                f"asks for trainable={int(encoder.trainable)} blocks, but its backbone has "
                f"{len(blocks)}; use trainable<={len(blocks)}, or True to train all of it."
            )
        if encoder.augment is True and "value_range" not in inspect.signature(
                keras.layers.RandomContrast).parameters:
            raise ValueError(
                f"augment=True needs Keras 3.8 or later, whose RandomContrast keeps the "
                f"preprocessed pixels' range (value_range), but this is Keras "
                f"{keras.__version__}; upgrade Keras, or pass augment a list of layers."
            )
        self.n_blocks_ = len(blocks)
        top = self._top_blocks()
        self.cut_ = None
        if top < len(blocks) and not encoder.augment:
            self.cut_ = bottom_cut(backbone, blocks[-top][0])
        return self

    def transform(self, X):
        """The model's input: each image's activations at the cut, or its
        preprocessed pixels where there is none.

        Parameters
        ----------
        X : DataFrame, ndarray or list
            The branch's image column.

        Returns
        -------
        inputs : ndarray of shape (n_samples, ...), float32
            :meth:`~skfusion.encoders.ImageEncoder.bottom` at ``cut_``
            (possibly a memory-mapped file), or
            :meth:`~skfusion.encoders.ImageEncoder.pixels`.

        See Also
        --------
        skfusion.encoders.ImageEncoder.bottom : The activations at a cut.
        skfusion.encoders.ImageEncoder.pixels : The preprocessed pixels.

        Examples
        --------
        >>> import keras, numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> pixels = keras.Input((8, 8, 3))
        >>> x = keras.layers.Conv2D(4, 3, name="block1_conv")(pixels)
        >>> backbone = keras.Model(pixels, keras.layers.Conv2D(6, 3, name="block2_conv")(x))
        >>> encoder = ImageEncoder(backbone, image_size=(8, 8), trainable=1)
        >>> images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
        >>> branch = encoder.keras_branch().fit(images)
        >>> branch.transform(images).shape
        (4, 6, 6, 4)
        """
        if self.cut_ is None:
            return self.encoder.pixels(X)
        return self.encoder.bottom(X, self.cut_)

    def build(self, name):
        """The branch's input and a copy of the backbone above it, its top
        blocks trainable, pooled.

        Parameters
        ----------
        name : str
            The model input's name.

        Returns
        -------
        inputs : dict of str to keras.KerasTensor
            ``{name: keras.Input(...)}``, shaped as :meth:`transform`'s rows.

        output : keras.KerasTensor of shape (batch, channels)
            The pooled features of the backbone's top.

        See Also
        --------
        learning_rates : The multipliers of the weights built.

        Examples
        --------
        >>> import keras, numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> pixels = keras.Input((8, 8, 3))
        >>> x = keras.layers.Conv2D(4, 3, name="block1_conv")(pixels)
        >>> backbone = keras.Model(pixels, keras.layers.Conv2D(6, 3, name="block2_conv")(x))
        >>> encoder = ImageEncoder(backbone, image_size=(8, 8), trainable=1)
        >>> images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
        >>> branch = encoder.keras_branch().fit(images)
        >>> inputs, output = branch.build("photo")
        >>> tuple(inputs["photo"].shape), tuple(output.shape)
        ((None, 6, 6, 4), (None, 6))
        """
        import keras

        encoder = self.encoder
        loaded = encoder.backbone()
        backbone = keras.models.clone_model(loaded)
        backbone.set_weights(loaded.get_weights())
        blocks = backbone_blocks(backbone)
        frozen = {id(layer) for block in blocks[:len(blocks) - self._top_blocks()] for layer in block}
        for layer in backbone.layers:
            # a call with training=False would not keep batch norms in
            # inference mode: the outer model's training flag overrides it
            if id(layer) in frozen or isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
        if self.cut_ is None:
            backbone.name = f"{name}_backbone"  # a name of its own in the fused model
            held = backbone
            inputs = keras.Input(shape=(*encoder.image_size, 3), name=name)
            pixels = inputs
            for layer in augmentation(encoder, name):
                pixels = layer(pixels)
            features = backbone(pixels)
        else:
            # Keras builds a model from an inner tensor: the layers above it
            # (outputs: a cloned Sequential has no ``output`` until called)
            held = keras.Model(backbone.get_layer(self.cut_).output, backbone.outputs[0],
                               name=f"{name}_backbone")
            inputs = keras.Input(shape=held.inputs[0].shape[1:], name=name)
            features = held(inputs)
        if len(features.shape) > 2:
            pool = keras.layers.GlobalAveragePooling2D if encoder.pooling == "avg" \
                else keras.layers.GlobalMaxPooling2D
            features = pool(name=f"{name}_pooling")(features)
        rate = encoder.learning_rate_multiplier
        self.learning_rates_ = {} if rate == 1.0 else {
            v.path: rate for v in held.trainable_weights}
        return {name: inputs}, features

    def learning_rates(self):
        """Per trainable backbone weight, ``learning_rate_multiplier`` (none
        when it is 1.0).

        Returns
        -------
        multipliers : dict of str to float
            ``{variable.path: learning_rate_multiplier}``, after
            :meth:`build`.

        See Also
        --------
        build : Makes the weights.

        Examples
        --------
        >>> import keras, numpy as np
        >>> from skfusion.encoders import ImageEncoder
        >>> pixels = keras.Input((8, 8, 3))
        >>> x = keras.layers.Conv2D(4, 3, name="block1_conv")(pixels)
        >>> backbone = keras.Model(pixels, keras.layers.Conv2D(6, 3, name="block2_conv")(x))
        >>> encoder = ImageEncoder(backbone, image_size=(8, 8), trainable=1,
        ...                        learning_rate_multiplier=0.1)
        >>> images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
        >>> branch = encoder.keras_branch().fit(images)
        >>> _ = branch.build("photo")
        >>> branch.learning_rates()
        {'block2_conv/kernel': 0.1, 'block2_conv/bias': 0.1}
        """
        return dict(getattr(self, "learning_rates_", {}))

    def _top_blocks(self):
        trainable = self.encoder.trainable
        return self.n_blocks_ if trainable is True else int(trainable)


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


def bottom_cut(model, first):
    """The name of the layer whose output is the one tensor that ``first``
    and the layers after it (in the model's order) take from the layers
    before, or None where there is not exactly one such tensor, or it is the
    model's input."""
    import keras

    layers = list(model.layers)
    start = next(i for i, layer in enumerate(layers) if layer is first)
    if isinstance(model, keras.Sequential):
        # a stack: the layer below. (A copied Sequential's layers keep the
        # tensors of their first call, which its graph no longer holds.)
        return layers[start - 1].name if start else None
    below = {id(t): None for t in getattr(model, "inputs", None) or []}
    for layer in layers[:start]:
        try:
            outputs = keras.tree.flatten(layer.output)
        except (AttributeError, ValueError):  # never called, or called more than once
            return None
        below.update((id(t), layer if len(outputs) == 1 else None) for t in outputs)
    crossing = {}
    for layer in layers[start:]:
        try:
            inputs = keras.tree.flatten(layer.input)
        except (AttributeError, ValueError):
            return None
        crossing.update((id(t), below[id(t)]) for t in inputs if id(t) in below)
    if len(crossing) != 1:
        return None
    (layer,) = crossing.values()
    return None if layer is None else layer.name


def augmentation(encoder, name):
    """Fresh copies of the preprocessing layers ``encoder.augment`` asks
    for, named after the branch: their seeds, unless given, are drawn from
    Python's ``random``, which a seeded fit seeds while it builds the model."""
    import keras

    if encoder.augment is True:
        # the contrast is kept within the pixels' range after preprocessing
        extremes = encoder.pixels([np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 255, np.uint8)])
        value_range = (float(extremes.min()), float(extremes.max()))
        layers = [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.05),
            keras.layers.RandomZoom((-0.1, 0.0)),
            keras.layers.RandomContrast(0.2, value_range=value_range),
        ]
    else:
        layers = [type(layer).from_config(layer.get_config()) for layer in encoder.augment or []]
    for i, layer in enumerate(layers):
        layer.name = f"{name}_augment{i}"
    return layers
