"""ImageEncoder against the bare Keras model it wraps.

MobileNetV2 with random weights (``weights=None``: nothing is downloaded) at
96x96, batch 32, on the CPU, 256 synthetic uint8 images:

1. ``ImageEncoder.transform`` without a cache: each array converted to RGB
   float32 pixels, ``mobilenet_v2.preprocess_input``, the forward pass and the
   pooled output copied out, batch by batch.
2. The same loaded model called directly, ``model(batch, training=False)``,
   on the same batches, converted and preprocessed before the clock starts:
   the ceiling of any encoder built on this model.

Both run alternately, best of ``--repeats``; their outputs are checked equal.
For scale, a third row times the encoder on the same images given as PNG
bytes at 128x128, so each one is decoded and resized (not in the ratio).

Run: ``python benchmarks/image_encoder.py`` (about a minute on 2 cores).

Measured by the session of 2026-11-23 (closing note, stop 6) on 2 x86_64
cores (Python 3.11.7, scikit-learn 1.9.1, TensorFlow 2.21, Keras 3.15.1):
the encoder at 1.03x the throughput of the direct ``model(batch)`` call,
0.98x in a second run by a helper of that session. Not measured again since
the script reaches the bare model through ``ImageEncoder.backbone()``
(2026-12-07).

"""

import argparse
import io
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from skfusion.encoders import ImageEncoder


def seconds(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    size = (args.image_size, args.image_size)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(args.n_images, *size, 3), dtype=np.uint8)
    encoder = ImageEncoder("mobilenet_v2", weights=None, image_size=size,
                           batch_size=args.batch_size).fit(images[:1])
    model = encoder.backbone()
    batches = [
        keras.applications.mobilenet_v2.preprocess_input(images[i:i + args.batch_size].astype(np.float32))
        for i in range(0, args.n_images, args.batch_size)
    ]

    def direct():
        return np.concatenate([np.asarray(model(batch, training=False)) for batch in batches])

    pngs = []
    for array in rng.integers(0, 256, size=(args.n_images, 128, 128, 3), dtype=np.uint8):
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())

    encoder.transform(images[: args.batch_size]), direct()  # warm up both
    t_encoder, t_direct, t_png = [], [], []
    for _ in range(args.repeats):
        t, Z = seconds(lambda: encoder.transform(images))
        t_encoder.append(t)
        t, D = seconds(direct)
        t_direct.append(t)
        t_png.append(seconds(lambda: encoder.transform(pngs))[0])
    diff = float(np.abs(Z - D).max() / np.abs(D).max())

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, keras {keras.__version__} "
          f"({keras.backend.backend()} backend), tensorflow {tf.__version__}, "
          f"Python {platform.python_version()}")
    print(f"\n{args.n_images} images, MobileNetV2 (weights=None) at {size[0]}x{size[1]}, "
          f"batch {args.batch_size}, CPU, best of {args.repeats}")
    rows = [
        ("direct model(batch, training=False), preprocessed", args.n_images / min(t_direct)),
        ("skfusion ImageEncoder.transform, uint8 arrays", args.n_images / min(t_encoder)),
        ("skfusion ImageEncoder.transform, 128x128 PNG bytes", args.n_images / min(t_png)),
    ]
    print(f"{'':<52}{'images/s':>10}")
    for name, rate in rows:
        print(f"{name:<52}{rate:>10.1f}")
    print(f"ratio ImageEncoder / direct (arrays): {rows[1][1] / rows[0][1]:.3f}x "
          f"(max relative |difference| {diff:.1e})")


if __name__ == "__main__":
    main()
